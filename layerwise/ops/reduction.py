"""Reductions along axes: sum, mean, max, min."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from layerwise.ops.base import Op, normalize_axes

Axis = int | tuple[int, ...] | None


class _Reduction(Op):
    """Shared options and the broadcast of grad_y back over the reduced axes."""

    def __init__(self, axis: Axis = None, keepdims: bool = False) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def _setup(self, x: np.ndarray) -> tuple[int, ...]:
        self.shape = x.shape
        self.axes = normalize_axes(self.axis, x.ndim)
        return self.axes

    def _expand(self, grad_y: np.ndarray) -> np.ndarray:
        """grad_y with the reduced axes put back (length 1), ready to broadcast to x's shape."""
        if self.keepdims:
            return grad_y
        return np.expand_dims(grad_y, self.axes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(axis={self.axis}, keepdims={self.keepdims})"


class Sum(_Reduction):
    """y = sum of x over `axis` (all axes when None).

    Shape: x (d_0, ..., d_k) -> y without the reduced axes (kept with length 1 if keepdims).
    Backward: grad_x = grad_y broadcast back over the reduced axes.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.sum(x, axis=self._setup(x), keepdims=self.keepdims)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (np.broadcast_to(self._expand(grad_y), self.shape),)


class Mean(_Reduction):
    """y = mean of x over `axis` (all axes when None).

    Backward: grad_x = grad_y / n broadcast back, n the number of values averaged.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = self._setup(x)
        self.count = int(np.prod([x.shape[axis] for axis in axes]))
        if self.count == 0:  # the mean of no values is NaN, as in PyTorch (without a warning)
            return np.full(np.sum(x, axis=axes, keepdims=self.keepdims).shape, np.nan, x.dtype)
        return np.mean(x, axis=axes, keepdims=self.keepdims)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (np.broadcast_to(self._expand(grad_y) / self.count, self.shape),)


class Max(_Reduction):
    """y = max of x over `axis` (all axes when None).

    Backward: grad_x = grad_y at the position of the maximum, 0 elsewhere. When several values
    tie for the maximum the gradient is split evenly between them (as PyTorch's amax does).
    """

    reduce: Callable[..., np.ndarray] = staticmethod(np.max)

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = self._setup(x)
        y = self.reduce(x, axis=axes, keepdims=True)
        self.is_extreme = x == y
        return y if self.keepdims else np.squeeze(y, axis=axes)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        ties = self.is_extreme.sum(axis=self.axes, keepdims=True).astype(grad_y.dtype)
        return (self.is_extreme * (self._expand(grad_y) / ties),)


class Min(Max):
    """y = min of x over `axis` (all axes when None).

    Backward: grad_x = grad_y at the position of the minimum, split evenly between ties.
    """

    reduce = staticmethod(np.min)


# --- variance, norms, products, running sums ---


class Var(_Reduction):
    """y = sum over `axis` of (x - mean)^2 / (n - correction), n the number of values reduced
    (correction=1 is the unbiased estimate, 0 the population variance).

    Backward: grad_x = grad_y * 2 (x - mean) / (n - correction). With n <= correction the
    divisor is 0 and y is NaN or inf, as in PyTorch.
    """

    def __init__(self, axis: Axis = None, keepdims: bool = False,
                 correction: float = 1) -> None:
        super().__init__(axis, keepdims)
        self.correction = correction

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = self._setup(x)
        count = int(np.prod([x.shape[axis] for axis in axes]))
        self.divisor = max(0, count - self.correction)
        with np.errstate(invalid="ignore"):  # the mean of no values is NaN, as in PyTorch
            self.centered = x - x.mean(axis=axes, keepdims=True)
        squares = np.sum(self.centered * self.centered, axis=axes, keepdims=self.keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            return squares / x.dtype.type(self.divisor)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = 2 / grad_y.dtype.type(self.divisor)
        return (self._expand(grad_y) * scale * self.centered,)


class Norm(_Reduction):
    """y = (sum over `axis` of |x|^p)^(1/p), the vector p-norm (p = 2: Euclidean; p = inf:
    max |x|; p = 0: the number of non-zero values).

    Backward: grad_x = grad_y * sign(x) |x|^(p-1) / y^(p-1) (= grad_y x / y for p = 2);
    for p = inf the gradient goes to the values of largest |x|, split evenly between ties;
    p = 0 has gradient 0. Where y = 0 the gradient is 0 (the subgradient PyTorch picks).
    """

    def __init__(self, axis: Axis = None, keepdims: bool = False, p: float = 2.0) -> None:
        super().__init__(axis, keepdims)
        self.p = p

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = self._setup(x)
        self.x = x
        magnitude = np.abs(x)
        if self.p == np.inf:
            y = magnitude.max(axis=axes, keepdims=True, initial=0)
        elif self.p == 0:
            y = (x != 0).sum(axis=axes, keepdims=True).astype(magnitude.dtype)
        elif self.p == 1:
            y = magnitude.sum(axis=axes, keepdims=True)
        elif self.p == 2:
            y = np.sqrt((magnitude * magnitude).sum(axis=axes, keepdims=True))
        else:
            y = (magnitude**self.p).sum(axis=axes, keepdims=True) ** (1 / self.p)
        self.y = y
        return y if self.keepdims else np.squeeze(y, axis=axes)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        x, y, p = self.x, self.y, self.p
        grad = grad_y if self.keepdims else np.expand_dims(grad_y, self.axes)
        if p == 0:
            return (np.zeros(x.shape, dtype=grad_y.dtype),)
        if p == 1:
            return (grad * np.sign(x),)
        if p == np.inf:
            is_largest = np.abs(x) == y
            ties = is_largest.sum(axis=self.axes, keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(is_largest, grad / np.maximum(ties, 1), 0)
            return (np.sign(x) * share,)
        safe_y = np.where(y == 0, 1, y)
        if p == 2:
            return (np.where(y == 0, 0, grad * x / safe_y),)
        scale = np.where(y == 0, 0, grad / safe_y ** (p - 1))
        return (scale * np.sign(x) * np.abs(x) ** (p - 1),)


class Prod(_Reduction):
    """y = product of x over one `axis` (or over all values when axis is None).

    Backward: grad_x_i = grad_y * prod_{j != i} x_j, computed from running products from both
    ends (no division), so it is exact where x has zeros.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        self.whole = self.axis is None
        work = x.reshape(-1) if self.whole else x
        self.axes = (0,) if self.whole else normalize_axes(self.axis, x.ndim)
        self.work = work
        y = np.prod(work, axis=self.axes[0], keepdims=True)
        if self.whole:
            return y.reshape((1,) * x.ndim if self.keepdims else ())
        return y if self.keepdims else np.squeeze(y, axis=self.axes[0])

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        axis, work = self.axes[0], self.work
        before = _exclusive_cumprod(work, axis)
        after = np.flip(_exclusive_cumprod(np.flip(work, axis), axis), axis)
        if self.whole:
            grad = grad_y.reshape(1)
        else:
            grad = grad_y if self.keepdims else np.expand_dims(grad_y, axis)
        return ((grad * before * after).reshape(self.shape),)


def _exclusive_cumprod(values: np.ndarray, axis: int) -> np.ndarray:
    """The products of the values before each position along `axis` (1 at the first)."""
    shifted = np.ones_like(values)
    leading = [slice(None)] * values.ndim
    trailing = [slice(None)] * values.ndim
    leading[axis], trailing[axis] = slice(1, None), slice(None, -1)
    shifted[tuple(leading)] = values[tuple(trailing)]
    return np.cumprod(shifted, axis=axis)


class Cumsum(Op):
    """y_i = x_0 + ... + x_i along `axis` (the running sum).

    Backward: grad_x_i = grad_y_i + ... + grad_y_last, the running sum taken from the end.
    """

    def __init__(self, axis: int = 0) -> None:
        self.axis = axis

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.position = normalize_axes(self.axis, x.ndim, "cumsum")[0] if x.ndim else None
        if self.position is None:
            return x.astype(np.int64) if x.dtype.kind in "biu" else x.copy()
        dtype = np.int64 if x.dtype.kind in "biu" else x.dtype
        return np.cumsum(x, axis=self.position, dtype=dtype)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        if self.position is None:
            return (grad_y,)
        axis = self.position
        return (np.flip(np.cumsum(np.flip(grad_y, axis), axis=axis), axis),)


# --- tensor math: logsumexp ---


class LogSumExp(_Reduction):
    """y = log of the sum over `axis` of e^x, computed as m + log(sum e^(x - m)) with m the
    largest x (the max trick: no e^x overflows, and the largest term is exactly 1).

    Backward: grad_x = grad_y e^(x - y), the softmax of x over `axis`.
    Where every x is -inf (or the axis is empty) y is -inf; where some x is +inf y is +inf; m
    is taken as 0 for such rows, so they give PyTorch's values, and, as in PyTorch, their
    gradient is NaN (e^(-inf - -inf) is undefined).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = self._setup(x)
        self.x = x
        largest = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
        largest = np.where(np.isfinite(largest), largest, 0).astype(x.dtype, copy=False)
        with np.errstate(divide="ignore"):  # the log of an empty or all -inf sum is -inf
            total = np.log(np.sum(np.exp(x - largest), axis=axes, keepdims=True))
        self.y = total + largest
        return self.y if self.keepdims else np.squeeze(self.y, axis=axes)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        with np.errstate(invalid="ignore"):
            return (self._expand(grad_y) * np.exp(self.x - self.y),)
