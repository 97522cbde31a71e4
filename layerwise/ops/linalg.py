"""Matrix products: the fully connected layer of the lectures and general (batched) matmul."""

from __future__ import annotations

import numpy as np

from layerwise.ops.base import Op, broadcast_problem, unbroadcast


class Linear(Op):
    """y = x W^T + b, the fully connected layer (y = W x for one column vector x).

    Shape: x (N, D_in) or (*, D_in), W (D_out, D_in), b (D_out,) -> y (N, D_out) or (*, D_out).
    Backward (delta = grad_y, the lecture's error signal):
        grad_x = delta W            (the lecture's W^T delta, one row per sample);
        grad_W = delta^T x          (the lecture's delta x^T, summed over the batch);
        grad_b = sum over N of delta.
    The bias may be left out: `forward(x, W)` returns y = x W^T and backward gives (grad_x,
    grad_W).
    """

    def forward(self, x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        self.x, self.W, self.has_bias = x, W, b is not None
        y = x @ W.T
        if b is not None:
            y += b
        return y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x, W = self.x, self.W
        grad_x = grad_y @ W if self.wants_grad(0) else None
        grad_W = None
        if self.wants_grad(1):
            if x.ndim == 2:
                grad_W = grad_y.T @ x
            else:
                grad_W = grad_y.reshape(-1, W.shape[0]).T @ x.reshape(-1, W.shape[1])
        if not self.has_bias:
            return grad_x, grad_W
        grad_b = None
        if self.wants_grad(2):
            grad_b = grad_y.sum(axis=tuple(range(grad_y.ndim - 1)))
        return grad_x, grad_W, grad_b


class MatMul(Op):
    """y = a @ b, NumPy's matmul: matrix products over the last two axes, broadcast batches.

    Shape: a (..., n, k), b (..., k, m) -> y (..., n, m); a 1-D a is a row (k,), a 1-D b a
    column (k,), and their axis is dropped from y, as in NumPy.
    Backward: grad_a = grad_y @ b^T;  grad_b = a^T @ grad_y  (batch axes summed back to each
    input's shape).
    """

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return np.matmul(a, b)

    def explain_failure(self, shapes: list[tuple[int, ...]]) -> str | None:
        problem = matmul_problem(*shapes)
        return None if problem is None else f"matmul: {problem}"

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b = self.a, self.b
        if a.ndim == 1 and b.ndim == 1:  # the dot product: grad_y is a scalar
            return grad_y * b, grad_y * a
        # Treat vectors as matrices so that one formula covers every case.
        a2 = a[np.newaxis, :] if a.ndim == 1 else a
        b2 = b[:, np.newaxis] if b.ndim == 1 else b
        grad = grad_y
        if a.ndim == 1:
            grad = np.expand_dims(grad, -2)
        if b.ndim == 1:
            grad = np.expand_dims(grad, -1)
        grad_a = grad_b = None
        if self.wants_grad(0):
            grad_a2 = np.matmul(grad, np.swapaxes(b2, -1, -2))
            grad_a = unbroadcast(grad_a2, a2.shape).reshape(a.shape)
        if self.wants_grad(1):
            grad_b2 = np.matmul(np.swapaxes(a2, -1, -2), grad)
            grad_b = unbroadcast(grad_b2, b2.shape).reshape(b.shape)
        return grad_a, grad_b


def matmul_problem(shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> str | None:
    """Why a @ b fails for these shapes (NumPy's matmul rules), as a sentence; None if it fits."""
    if not shape_a or not shape_b:
        return (f"cannot multiply shapes {shape_a} and {shape_b}: both need at least one axis "
                f"(use * to multiply by a scalar)")
    inner_b, which = (shape_b[-2], "second-to-last") if len(shape_b) >= 2 else (shape_b[0], "only")
    if shape_a[-1] != inner_b:
        return (f"cannot multiply shapes {shape_a} and {shape_b}: the first's last axis has "
                f"length {shape_a[-1]} but the second's {which} axis has {inner_b} (they must "
                f"be equal)")
    batch_a, batch_b = shape_a[:-2], shape_b[:-2]
    batch_problem = broadcast_problem([batch_a, batch_b])
    if batch_problem is not None:
        return (f"cannot multiply shapes {shape_a} and {shape_b}: their batch axes {batch_a} and "
                f"{batch_b} do not broadcast: {batch_problem}")
    return None
