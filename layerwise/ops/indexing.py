"""Ops that pick values by index or write them to indexed places: gather, scatter_add,
indexed assignment (x[index] = value) and the embedding lookup.

Index arrays are inputs that get no gradient (None); they are checked here, so each op works
alone on arrays with the same messages as through a Tensor.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from layerwise.ops.base import Op, unbroadcast
from layerwise.ops.shape import _as_index


def check_index_array(index: np.ndarray, owner: str) -> None:
    """TypeError unless `index` holds integers (PyTorch wants int64; any integer dtype is
    accepted here, bool and floats are not)."""
    if index.dtype.kind not in "iu":
        raise TypeError(f"{owner}: expected an integer index tensor (int64), got dtype "
                        f"{index.dtype}")


def _first_out_of_range(index: np.ndarray, length: int) -> int | None:
    """The first value of `index` outside [0, length), or None (gather and scatter_add take no
    negative indices, as in PyTorch)."""
    bad = (index < 0) | (index >= length)
    return int(index.reshape(-1)[int(np.flatnonzero(bad.reshape(-1))[0])]) if bad.any() else None


def _positions(index: np.ndarray, axis: int) -> tuple[np.ndarray, ...]:
    """The full NumPy index that takes, at each position of `index`, the value `index` names
    along `axis` and the same position along every other axis."""
    grid: list[np.ndarray] = list(np.indices(index.shape, sparse=True))
    grid[axis] = index
    return tuple(grid)


def _check_gather_shapes(owner: str, x_shape: tuple[int, ...], index: np.ndarray, axis: int,
                         what: str = "input") -> None:
    if index.ndim != len(x_shape):
        raise ValueError(f"{owner}: index must have as many dimensions as the {what} "
                         f"({len(x_shape)}), got {index.ndim}")
    for other, (size, limit) in enumerate(zip(index.shape, x_shape, strict=True)):
        if other != axis and size > limit:
            raise ValueError(
                f"{owner}: index has length {size} along dimension {other} but the {what} only "
                f"{limit} (expected at most {limit} everywhere except dimension {axis})")
    wrong = _first_out_of_range(index, x_shape[axis])
    if wrong is not None:
        raise IndexError(f"{owner}: index {wrong} is out of range for dimension {axis} of "
                         f"size {x_shape[axis]} (expected 0 to {x_shape[axis] - 1})")


class Gather(Op):
    """y[i][j][k] = x[index[i][j][k]][j][k] for axis 0 (and likewise along the other axes):
    PyTorch's gather(x, dim, index).

    Shape: x (d_0, ..., d_k), index of as many axes, no longer than x except along `axis`
    -> y of index's shape.
    Backward: grad_x = zeros with grad_y added at the gathered positions (twice where an index
    repeats); the index gets no gradient.
    """

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x: np.ndarray, index: np.ndarray) -> np.ndarray:
        check_index_array(index, "gather")
        _check_gather_shapes("gather", x.shape, index, self.axis)
        self.input_shape = x.shape
        self.positions = _positions(index, self.axis)
        return x[self.positions]

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray, None]:
        grad_x = np.zeros(self.input_shape, dtype=grad_y.dtype)
        np.add.at(grad_x, self.positions, grad_y)
        return grad_x, None


class ScatterAdd(Op):
    """y = x, then y[index[i][j]][j] += src[i][j] for axis 0 (likewise along other axes):
    PyTorch's scatter_add(x, dim, index, src).

    Shape: x (d_0, ..., d_k); index and src of as many axes, index no longer than src
    anywhere nor than x except along `axis` -> y of x's shape.
    Backward: grad_x = grad_y;  grad_src = grad_y gathered at the index (0 where src reaches
    past the index); the index gets no gradient.
    """

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x: np.ndarray, index: np.ndarray, src: np.ndarray) -> np.ndarray:
        check_index_array(index, "scatter_add")
        _check_gather_shapes("scatter_add", x.shape, index, self.axis, "tensor")
        if src.ndim != index.ndim or any(i > s for i, s in zip(index.shape, src.shape,
                                                                strict=True)):
            raise ValueError(f"scatter_add: index of shape {index.shape} must be no longer "
                             f"than src of shape {src.shape} along every dimension")
        self.positions = _positions(index, self.axis)
        self.src_shape = src.shape
        self.used = tuple(slice(0, n) for n in index.shape)
        y = x.astype(np.result_type(x, src), copy=True)
        np.add.at(y, self.positions, src[self.used])
        return y.astype(x.dtype, copy=False)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray, None, np.ndarray | None]:
        grad_src = None
        if self.wants_grad(2):
            grad_src = np.zeros(self.src_shape, dtype=grad_y.dtype)
            grad_src[self.used] = grad_y[self.positions]
        return grad_y, None, grad_src


class SetItem(Op):
    """y = x with y[index] = value (value broadcast to the selected part): `x[index] = value`
    recorded in the graph, and the fill_/copy_ family (index = ...).

    Shape: x any, value broadcastable to x[index] -> y of x's shape and dtype.
    Backward: grad_x = grad_y with 0 at the assigned positions;  grad_value = grad_y[index]
    summed back to value's shape. Where an integer index names a position twice the last
    value written stays (NumPy's order), but each copy of the value gets that position's
    gradient, as in PyTorch's index_put.
    """

    def __init__(self, index: Any) -> None:
        self.index = _as_index(index)

    def forward(self, x: np.ndarray, value: np.ndarray) -> np.ndarray:
        self.value_shape = value.shape
        y = x.copy()
        y[self.index] = value
        return y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        grad_x = grad_y.copy()
        grad_x[self.index] = 0
        grad_value = None
        if self.wants_grad(1):
            selected = grad_y[self.index]
            missing = len(self.value_shape) - selected.ndim
            if missing > 0:  # a value with extra leading 1s, which NumPy drops when assigning
                selected = selected.reshape((1,) * missing + selected.shape)
            grad_value = unbroadcast(selected, self.value_shape)
        return grad_x, grad_value


class Embedding(Op):
    """y = weight[indices]: row i of y is the embedding vector of token indices[i].

    Shape: weight (num_embeddings, embedding_dim), indices any integer shape (*)
    -> y (*, embedding_dim).
    Backward: grad_weight = zeros with each row of grad_y added to the row its index names
    (summed where an index repeats), except the row `padding_idx`, which gets no gradient;
    the indices get none.
    """

    def __init__(self, padding_idx: int | None = None) -> None:
        self.padding_idx = padding_idx

    def forward(self, weight: np.ndarray, indices: np.ndarray) -> np.ndarray:
        if indices.dtype.kind not in "iu":
            raise TypeError(f"embedding: expected integer indices (int64), got dtype "
                            f"{indices.dtype}")
        count = weight.shape[0]
        bad = (indices < 0) | (indices >= count)
        if bad.any():
            position = tuple(int(i) for i in np.argwhere(bad)[0])
            raise IndexError(f"embedding: index {indices[position]} at {position} is out of "
                             f"range for {count} embeddings (expected 0 to {count - 1})")
        self.weight_shape, self.indices = weight.shape, indices
        return weight[indices]

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray, None]:
        grad_weight = np.zeros(self.weight_shape, dtype=grad_y.dtype)
        np.add.at(grad_weight, self.indices.reshape(-1),
                  grad_y.reshape(-1, self.weight_shape[1]))
        if self.padding_idx is not None:
            grad_weight[self.padding_idx] = 0
        return grad_weight, None
