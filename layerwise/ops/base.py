"""Op: the forward/backward contract every differentiable operation follows.

An op is one object per use. `forward(*arrays)` computes the output from NumPy arrays and keeps
on `self` what backward will read; `backward(grad_out)` turns dL/d(output) into one dL/d(input)
per input, in order, with None where an input is not differentiable (labels, masks). Options
such as `axis` go to `__init__`. Ops work alone on arrays, exactly as on the lecture slides:

    >>> op = Linear()
    >>> y = op.forward(x, W, b)
    >>> grad_x, grad_W, grad_b = op.backward(grad_y)

and `Linear.apply(x, W, b)` runs the same op inside the autograd graph on Tensors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from layerwise.tensor import Tensor


class Op:
    """Base class of every op; subclass it to add your own.

    A subclass defines `forward(self, *arrays) -> ndarray` and
    `backward(self, grad_out) -> tuple[ndarray | None, ...]`, and puts its options in `__init__`.
    The engine checks that backward returns one gradient per input with the input's shape, and
    names the op when it does not.

    The engine calls `release()` after backward has run, which drops the cached arrays.
    `needs_grad` holds, per input, whether its gradient will be used; the engine sets it before
    forward. It is None when the op runs alone, where every gradient is wanted. An op may use
    it to skip work (a first layer needs no gradient for its input images) but never has to.
    """

    needs_grad: tuple[bool, ...] | None = None
    released = False

    # `*inputs: Any, **unused: Any` lets each op declare its own named inputs (mypy accepts
    # any override of this signature).
    def forward(self, *inputs: Any, **unused: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def backward(self, grad_out: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError(f"{type(self).__name__} does not define backward()")

    def release(self) -> None:
        """Drop everything forward kept (called by the engine once backward has used it).

        The op stays as its output's `grad_fn`, so the graph can still be inspected, but a
        second backward through it raises an error that suggests retain_graph=True.
        """
        vars(self).clear()
        self.released = True

    def explain_failure(self, shapes: list[tuple[int, ...]]) -> str | None:
        """Why forward raised a ValueError on inputs of these shapes, in the user's terms, or
        None to let NumPy's error through. The engine asks when forward fails."""
        return None

    def wants_grad(self, position: int) -> bool:
        """Whether the gradient for input `position` will be used by anyone."""
        return self.needs_grad is None or self.needs_grad[position]

    @classmethod
    def apply(cls, *inputs: Any, **options: Any) -> Tensor:
        """Run this op on Tensors, arrays or numbers and return a Tensor in the graph."""
        return record(cls(**options), inputs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `grad` back down to `shape`, undoing NumPy broadcasting.

    An input of shape `shape` that was broadcast to grad's shape was used once per copy, so its
    gradient is the sum over the copies: over the leading axes broadcasting added, and over
    every axis where the input had length 1.
    """
    if grad.shape == shape:
        return grad
    leading = grad.ndim - len(shape)
    axes = tuple(range(leading)) + tuple(
        leading + axis for axis, length in enumerate(shape)
        if length == 1 and grad.shape[leading + axis] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def broadcast_problem(shapes: list[tuple[int, ...]]) -> str | None:
    """Where `shapes` fail to broadcast together, as a clause; None when they do.

    Broadcasting aligns shapes at their last axis; at each axis the lengths must be equal or 1.
    """
    for axis in range(-1, -max(map(len, shapes), default=0) - 1, -1):
        lengths = [shape[axis] for shape in shapes if len(shape) >= -axis]
        if len({length for length in lengths if length != 1}) > 1:
            return (f"at axis {axis} their lengths are {join_words([str(n) for n in lengths])} "
                    f"(they must be equal, or 1)")
    return None


def join_words(items: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class _Broadcasting(Op):
    """An op whose inputs broadcast against each other: a mismatch names the op and shapes."""

    label = ""

    def explain_failure(self, shapes: list[tuple[int, ...]]) -> str | None:
        problem = broadcast_problem(shapes)
        if problem is None:
            return None
        listed = join_words([str(shape) for shape in shapes])
        return f"{self.label}: cannot broadcast shapes {listed}: {problem}"


def normalize_axes(axis: int | tuple[int, ...] | list[int] | None, ndim: int,
                   owner: str = "") -> tuple[int, ...]:
    """The axes an `axis=` option names, as non-negative ints (all axes for None); `owner`
    prefixes the error message with the function's name."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    normalized = []
    for one in axes:
        if not -ndim <= one < max(ndim, 1):
            prefix = f"{owner}: " if owner else ""
            raise ValueError(
                f"{prefix}axis {one} is out of range for an array with {ndim} dimensions")
        normalized.append(int(one) % max(ndim, 1))
    return tuple(normalized)



def normalize_dim(dim: Any, ndim: int, owner: str) -> int:
    """PyTorch's `dim` argument as a non-negative int, or IndexError in the user's terms.

    A 0-d tensor accepts dim 0 and -1, as in PyTorch.
    """
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer):
        raise TypeError(f"{owner}: dim must be an integer, got {dim!r}")
    limit = max(ndim, 1)
    if not -limit <= dim < limit:
        raise IndexError(f"{owner}: dim {dim} is out of range for a tensor with {ndim} "
                         f"dimension{'s' * (ndim != 1)} (expected {-limit} to {limit - 1})")
    return int(dim) % limit

from layerwise.engine import record  # noqa: E402  (the engine imports Op)
