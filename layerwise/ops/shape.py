"""Ops that move values without changing them: reshape, transpose, indexing, joining."""

from __future__ import annotations

from typing import Any

import numpy as np

from layerwise.ops.base import Op, normalize_axes, unbroadcast


class Reshape(Op):
    """y = x with a new shape (same values in the same C order; one length may be -1).

    Backward: grad_x = grad_y reshaped to x's shape.
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.input_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(
                f"cannot reshape {x.shape} ({x.size} values) to {self.shape}") from None

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y.reshape(self.input_shape),)


class Transpose(Op):
    """y = x with its axes permuted (reversed when `axes` is None, so a matrix is transposed).

    Backward: grad_x = grad_y permuted by the inverse permutation.
    """

    def __init__(self, axes: tuple[int, ...] | None = None) -> None:
        self.axes = axes

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = tuple(reversed(range(x.ndim))) if self.axes is None else self.axes
        if sorted(normalize_axes(axes, x.ndim)) != list(range(x.ndim)):
            raise ValueError(f"transpose axes {axes} are not a permutation of {x.ndim} axes")
        self.inverse = tuple(np.argsort(normalize_axes(axes, x.ndim)))
        return np.transpose(x, axes)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (np.transpose(grad_y, self.inverse),)


def _as_index(index: Any) -> Any:
    """Tensors inside an index become their arrays."""
    if isinstance(index, tuple):
        return tuple(_as_index(part) for part in index)
    data = getattr(index, "data", None)
    return data if isinstance(data, np.ndarray) else index


def _is_basic(index: Any) -> bool:
    """Basic indexing (ints, slices, None, ...) selects each input value at most once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(part, int | np.integer | slice) or part is None or part is Ellipsis
               for part in parts)


class GetItem(Op):
    """y = x[index], NumPy indexing: basic (ints, slices, None, ...) or integer/boolean arrays.

    Backward: grad_x = zeros of x's shape with grad_y added at the selected positions. An
    integer array may select a value more than once; its gradient is then the sum of the
    selections (np.add.at).
    """

    def __init__(self, index: Any) -> None:
        self.index = _as_index(index)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.input_shape = x.shape
        y = x[self.index]
        if type(y) is not np.ndarray and _is_basic(self.index):
            # An int for every axis gives a NumPy scalar, a copy; with a trailing ... it is a
            # 0-d view, which sees later in-place changes as PyTorch's x[0] does.
            parts = self.index if isinstance(self.index, tuple) else (self.index,)
            y = x[(*parts, Ellipsis)]
        return y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        grad_x = np.zeros(self.input_shape, dtype=grad_y.dtype)
        if _is_basic(self.index):
            grad_x[self.index] = grad_y
        else:
            np.add.at(grad_x, self.index, grad_y)
        return (grad_x,)


class Concatenate(Op):
    """y = the inputs joined along an existing `axis`.

    Shape: inputs equal except along `axis` -> y whose length there is the sum of theirs.
    Backward: each input's gradient is its slice of grad_y along `axis`.
    """

    def __init__(self, axis: int = 0) -> None:
        self.axis = axis

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        if not arrays:
            raise ValueError("concatenate needs at least one array")
        self.splits = np.cumsum([array.shape[self.axis] for array in arrays])[:-1]
        return np.concatenate(arrays, axis=self.axis)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(np.split(grad_y, self.splits, axis=self.axis))


class Stack(Op):
    """y = the inputs (all of one shape) stacked along a new `axis`.

    Backward: each input's gradient is grad_y taken at its position along `axis`.
    """

    def __init__(self, axis: int = 0) -> None:
        self.axis = axis

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        if not arrays:
            raise ValueError("stack needs at least one array")
        return np.stack(arrays, axis=self.axis)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(np.moveaxis(grad_y, self.axis, 0))


# --- expand, repeat, pad ---


class Expand(Op):
    """y = x broadcast to `shape` without copying (a read-only view): x.expand(*sizes).

    Backward: grad_x = grad_y summed over the axes that broadcasting added or stretched.
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.input_shape = x.shape
        return np.broadcast_to(x, self.shape)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (unbroadcast(grad_y, self.input_shape),)


class Repeat(Op):
    """y = x tiled `repeats` times along each axis (PyTorch's repeat, NumPy's tile); repeats
    may have more entries than x has axes, which adds leading axes.

    Shape: x (d_0, ..., d_k), repeats (r_0, ..., r_m) -> (r_0 d'_0, ..., r_m d'_m), x's shape
    padded with leading 1s to m + 1 axes.
    Backward: grad_x = grad_y cut into the tiles and summed over them.
    """

    def __init__(self, repeats: tuple[int, ...]) -> None:
        self.repeats = tuple(repeats)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.input_shape = x.shape
        return np.tile(x, self.repeats)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        padded = (1,) * (len(self.repeats) - len(self.input_shape)) + self.input_shape
        tiles = grad_y.reshape([n for pair in zip(self.repeats, padded, strict=True)
                                for n in pair])
        summed = tiles.sum(axis=tuple(range(0, tiles.ndim, 2)))
        return (summed.reshape(self.input_shape),)


class Pad(Op):
    """y = x with `value` added around it: `pad` lists (before, after) counts per axis from the
    last axis backwards, as in PyTorch's F.pad; a negative count removes values instead.

    Shape: x (..., d) with pad (left, right) -> (..., d + left + right), and so on.
    Backward: grad_x = the part of grad_y where x's values went (0 for removed values).
    """

    def __init__(self, pad: tuple[int, ...], value: float = 0.0) -> None:
        self.pad = tuple(pad)
        self.value = value

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.input_shape = x.shape
        out_shape = list(x.shape)
        source = [slice(None)] * x.ndim
        target = [slice(None)] * x.ndim
        for pair in range(len(self.pad) // 2):
            axis = x.ndim - 1 - pair
            before, after = self.pad[2 * pair], self.pad[2 * pair + 1]
            length = x.shape[axis]
            out_shape[axis] = length + before + after
            source[axis] = slice(max(-before, 0), length - max(-after, 0))
            target[axis] = slice(max(before, 0), out_shape[axis] - max(after, 0))
        self.source, self.target = tuple(source), tuple(target)
        y = np.full(out_shape, self.value, dtype=x.dtype)
        y[self.target] = x[self.source]
        return y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        grad_x = np.zeros(self.input_shape, dtype=grad_y.dtype)
        grad_x[self.source] = grad_y[self.target]
        return (grad_x,)


# --- tensor math: flip, roll, tril, triu ---


class Flip(Op):
    """y = x with the order of its values reversed along each of `axes`.

    Backward: grad_x = grad_y flipped along the same axes.
    """

    def __init__(self, axes: tuple[int, ...]) -> None:
        self.axes = tuple(axes)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.flip(x, self.axes) if x.ndim else x.copy()

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (np.flip(grad_y, self.axes) if grad_y.ndim else grad_y,)

    def __repr__(self) -> str:
        return f"Flip(axes={self.axes})"


class Roll(Op):
    """y = x shifted cyclically by `shifts[k]` positions along `axes[k]` (values pushed past
    the end come back at the start); with `axes` None x is flattened, rolled and reshaped.

    Backward: grad_x = grad_y rolled back by -shifts.
    """

    def __init__(self, shifts: tuple[int, ...], axes: tuple[int, ...] | None = None) -> None:
        self.shifts, self.axes = tuple(shifts), axes

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.roll(x, self.shifts if self.axes else self.shifts[0], self.axes)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        back = tuple(-shift for shift in self.shifts)
        return (np.roll(grad_y, back if self.axes else back[0], self.axes),)

    def __repr__(self) -> str:
        return f"Roll(shifts={self.shifts}, axes={self.axes})"


class Tril(Op):
    """y = the lower triangle of the matrices in x's last two axes: x[..., i, j] where
    j - i <= `diagonal`, else 0 (diagonal 0 is the main diagonal, 1 the one above it).

    Backward: grad_x = the lower triangle of grad_y.
    """

    upper = False

    def __init__(self, diagonal: int = 0) -> None:
        self.diagonal = diagonal

    def triangle(self, values: np.ndarray) -> np.ndarray:
        if self.upper:
            return np.triu(values, self.diagonal)
        return np.tril(values, self.diagonal)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.triangle(x)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (self.triangle(grad_y),)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(diagonal={self.diagonal})"


class Triu(Tril):
    """y = the upper triangle of the matrices in x's last two axes: x[..., i, j] where
    j - i >= `diagonal`, else 0.

    Backward: grad_x = the upper triangle of grad_y.
    """

    upper = True
