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
