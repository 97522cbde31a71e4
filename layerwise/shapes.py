"""Shapes and indexing with PyTorch's arguments: view/reshape, flatten, squeeze/unsqueeze,
permute/transpose, expand/repeat, chunk/split, cat/stack, gather/scatter_add/index_select,
masked_fill and where.

Each is an op of the registry (Reshape, Transpose, GetItem, Gather...) or a few of them; this
module checks the arguments first, so a mistake is reported in PyTorch's terms (which dim,
what length) rather than by NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from layerwise import dtypes, ops
from layerwise.ops.base import normalize_dim
from layerwise.tensor import Tensor, as_array


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _sizes(owner: str, sizes: tuple[Any, ...]) -> tuple[int, ...]:
    """Sizes given as separate ints (x.view(2, 3)) or as one sequence (x.view((2, 3)))."""
    if len(sizes) == 1 and isinstance(sizes[0], Sequence | np.ndarray | Tensor):
        sizes = tuple(sizes[0].tolist() if isinstance(sizes[0], np.ndarray | Tensor)
                      else sizes[0])
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int | np.integer):
            raise TypeError(f"{owner}: sizes must be integers, got {sizes!r}")
    return tuple(int(size) for size in sizes)


def _target_shape(owner: str, shape: tuple[int, ...], x: Tensor) -> tuple[int, ...]:
    """`shape` with its -1 worked out, or ValueError when it cannot hold x's values."""
    count = x.numel()
    if shape.count(-1) > 1:
        raise ValueError(f"{owner}: only one dimension can be -1 (inferred), got {shape}")
    if any(size < -1 for size in shape):
        raise ValueError(f"{owner}: invalid shape {shape}: sizes must be >= 0 (or -1)")
    known = math.prod(size for size in shape if size != -1)
    fits = (known != 0 and count % known == 0) if -1 in shape else known == count
    if not fits:
        raise ValueError(f"{owner}: cannot reshape {x.shape} ({count} values) to {shape}")
    return tuple(count // known if size == -1 else size for size in shape)


def reshape(input: Any, *shape: Any) -> Tensor:
    """The same values in a new shape (one size may be -1); a view when memory allows."""
    x = _tensor(input)
    return ops.Reshape.apply(x, shape=_target_shape("reshape", _sizes("reshape", shape), x))


def view(input: Any, *shape: Any) -> Tensor:
    """A view with a new shape, sharing memory; like PyTorch, refused where the memory layout
    does not allow it (after transpose or permute): use reshape() or contiguous() then."""
    x = _tensor(input)
    target = _target_shape("view", _sizes("view", shape), x)
    reshaped = x.data.reshape(target)
    if x.numel() and not np.may_share_memory(reshaped, x.data):
        raise ValueError(f"view: a tensor of shape {x.shape} whose memory is not laid out in "
                         f"order (after transpose or permute) cannot be viewed as {target}; "
                         f"use reshape(), or contiguous() first")
    return ops.Reshape.apply(x, shape=target)


def flatten(input: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one: (N, 1, 28, 28) -> (N, 784) for start_dim=1."""
    x = _tensor(input)
    if x.ndim == 0:
        return ops.Reshape.apply(x, shape=(1,))
    if isinstance(start_dim, int | np.integer) and not -x.ndim <= start_dim < x.ndim:
        raise ValueError(f"flatten: start_axis {start_dim} is out of range for a tensor of "
                         f"shape {x.shape} ({x.ndim} axes)")
    start = normalize_dim(start_dim, x.ndim, "flatten")
    end = normalize_dim(end_dim, x.ndim, "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a "
                         f"tensor of shape {x.shape}")
    shape = (*x.shape[:start], math.prod(x.shape[start:end + 1]), *x.shape[end + 1:])
    return ops.Reshape.apply(x, shape=shape)


def unflatten(input: Any, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dim into `sizes` (one may be -1): (N, 784) -> (N, 1, 28, 28) with (1, 28, 28)."""
    x = _tensor(input)
    axis = normalize_dim(dim, x.ndim, "unflatten")
    length = x.shape[axis]
    parts = _sizes("unflatten", (tuple(sizes),))
    known = math.prod(size for size in parts if size != -1)
    if parts.count(-1) > 1 or (-1 in parts and (known == 0 or length % known)) or (
            -1 not in parts and known != length):
        raise ValueError(f"unflatten: sizes {parts} do not multiply to dimension {dim}'s "
                         f"length {length}")
    parts = tuple(length // known if size == -1 else size for size in parts)
    return ops.Reshape.apply(x, shape=x.shape[:axis] + parts + x.shape[axis + 1:])


def squeeze(input: Any, dim: Any = None) -> Tensor:
    """Drop dims of length 1 (all of them, or those of `dim` that have length 1)."""
    x = _tensor(input)
    if dim is None:
        chosen = {axis for axis, size in enumerate(x.shape) if size == 1}
    else:
        listed = dim if isinstance(dim, tuple | list) else (dim,)
        chosen = {axis for axis in (normalize_dim(one, x.ndim, "squeeze") for one in listed)
                  if x.ndim and x.shape[axis] == 1}
    return ops.Reshape.apply(x, shape=tuple(size for axis, size in enumerate(x.shape)
                                           if axis not in chosen))


def unsqueeze(input: Any, dim: int) -> Tensor:
    """Insert a dim of length 1 at `dim` (from -ndim-1 to ndim)."""
    x = _tensor(input)
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer):
        raise TypeError(f"unsqueeze: dim must be an integer, got {dim!r}")
    if not -x.ndim - 1 <= dim <= x.ndim:
        raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor with {x.ndim} "
                         f"dimensions (expected {-x.ndim - 1} to {x.ndim})")
    axis = int(dim) % (x.ndim + 1)
    return ops.Reshape.apply(x, shape=(*x.shape[:axis], 1, *x.shape[axis:]))


def _permutation(owner: str, dims: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    if len(dims) != ndim:
        raise ValueError(f"{owner}: dims {dims} must name each of the tensor's {ndim} "
                         f"dimensions once")
    normalized = tuple(normalize_dim(one, ndim, owner) for one in dims)
    if sorted(normalized) != list(range(ndim)):
        raise ValueError(f"{owner}: dims {dims} are not a permutation of the {ndim} "
                         f"dimensions (0 to {ndim - 1})")
    return normalized


def permute(input: Any, *dims: Any) -> Tensor:
    """The dims reordered: x.permute(0, 2, 1) swaps the last two of a 3-d tensor."""
    x = _tensor(input)
    order = _permutation("permute", _sizes("permute", dims), x.ndim)
    return ops.Transpose.apply(x, axes=order) if x.ndim else x


def transpose(input: Any, *dims: Any) -> Tensor:
    """transpose(x, d0, d1) swaps two dims (PyTorch); transpose(x) reverses them and
    transpose(x, permutation) permutes them (NumPy, and layerwise before)."""
    x = _tensor(input)
    if not dims:
        return ops.Transpose.apply(x)
    if len(dims) == 2 and all(isinstance(one, int | np.integer) for one in dims):
        first = normalize_dim(dims[0], x.ndim, "transpose")
        second = normalize_dim(dims[1], x.ndim, "transpose")
        order = list(range(x.ndim))
        order[first], order[second] = order[second], order[first]
        return ops.Transpose.apply(x, axes=tuple(order)) if x.ndim else x
    return ops.Transpose.apply(x, axes=_sizes("transpose", dims))


def t(input: Any) -> Tensor:
    """The transpose of a matrix (a vector or a number is returned as it is)."""
    x = _tensor(input)
    if x.ndim > 2:
        raise ValueError(f"t: expects a tensor with at most 2 dimensions, got shape {x.shape}; "
                         f"use transpose(d0, d1) or mT")
    return ops.Transpose.apply(x) if x.ndim == 2 else x


def expand(input: Any, *sizes: Any) -> Tensor:
    """A read-only view of x broadcast to `sizes` (-1 keeps a length; new dims go in front)."""
    x = _tensor(input)
    target = _sizes("expand", sizes)
    if len(target) < x.ndim:
        raise ValueError(f"expand: the target {target} has fewer dimensions than the tensor's "
                         f"shape {x.shape}")
    lead = len(target) - x.ndim
    shape = []
    for axis, size in enumerate(target):
        own = x.shape[axis - lead] if axis >= lead else None
        if size == -1:
            if own is None:
                raise ValueError(f"expand: -1 is not allowed for a new leading dimension "
                                 f"(position {axis} of {target})")
            size = own
        if own is not None and own != 1 and own != size:
            raise ValueError(f"expand: cannot expand shape {x.shape} to {target}: dimension "
                             f"{axis} has length {own} (only length 1 can be expanded)")
        shape.append(size)
    return ops.Expand.apply(x, shape=tuple(shape))


def repeat(input: Any, *sizes: Any) -> Tensor:
    """x tiled sizes[i] times along dim i (more sizes than dims add leading dims)."""
    x = _tensor(input)
    repeats = _sizes("repeat", sizes)
    if len(repeats) < x.ndim:
        raise ValueError(f"repeat: give at least as many repeats ({len(repeats)} given) as the "
                         f"tensor has dimensions ({x.ndim})")
    if any(count < 0 for count in repeats):
        raise ValueError(f"repeat: repeats must be >= 0, got {repeats}")
    return ops.Repeat.apply(x, repeats=repeats)


def _pieces(x: Tensor, axis: int, lengths: list[int]) -> tuple[Tensor, ...]:
    pieces, start = [], 0
    for length in lengths:
        index = (slice(None),) * axis + (slice(start, start + length),)
        pieces.append(ops.GetItem.apply(x, index=index))
        start += length
    return tuple(pieces)


def chunk(input: Any, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most `chunks` pieces along dim, each ceil(length / chunks) long but the last."""
    x = _tensor(input)
    if isinstance(chunks, bool) or not isinstance(chunks, int | np.integer) or chunks < 1:
        raise ValueError(f"chunk: chunks must be a positive integer, got {chunks!r}")
    axis = normalize_dim(dim, x.ndim, "chunk")
    length = x.shape[axis]
    size = max(-(-length // chunks), 1)
    return _pieces(x, axis, [min(size, length - start) for start in range(0, length, size)]
                   or [0])


def split(input: Any, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of split_size along dim (the last may be shorter), or of the listed lengths."""
    x = _tensor(input)
    axis = normalize_dim(dim, x.ndim, "split")
    length = x.shape[axis]
    if isinstance(split_size_or_sections, int | np.integer) and not isinstance(
            split_size_or_sections, bool):
        size = int(split_size_or_sections)
        if size < 1 and length:
            raise ValueError(f"split: split_size must be a positive integer, got {size}")
        return _pieces(x, axis, [min(size, length - start) for start in range(0, length, size)]
                       or [0])
    sections = _sizes("split", (tuple(split_size_or_sections),))
    if sum(sections) != length or any(section < 0 for section in sections):
        raise ValueError(f"split: sections {list(sections)} add up to {sum(sections)} but "
                         f"dimension {dim} has length {length}")
    return _pieces(x, axis, list(sections))


def unbind(input: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along dim, each without that dim."""
    x = _tensor(input)
    axis = normalize_dim(dim, x.ndim, "unbind")
    return tuple(ops.GetItem.apply(x, index=(slice(None),) * axis + (position,))
                 for position in range(x.shape[axis]))


def _joined(owner: str, tensors: Sequence[Any]) -> list[Tensor]:
    if isinstance(tensors, Tensor | np.ndarray) or not isinstance(tensors, Sequence):
        raise TypeError(f"{owner}: expected a list or tuple of tensors, got "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{owner}: expected a non-empty list of tensors")
    joined = [_tensor(one) for one in tensors]
    dtype = dtypes.result_dtype([one.data for one in joined])
    return [one.to(dtype) for one in joined]


def cat(tensors: Sequence[Any], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """The tensors joined along an existing dim; their other dims must match."""
    joined = _joined("cat", tensors)
    chosen = dim if axis is None else axis
    first = joined[0]
    position = normalize_dim(chosen, first.ndim, "cat")
    for index, other in enumerate(joined[1:], start=1):
        if other.ndim != first.ndim or any(
                a != b for k, (a, b) in enumerate(zip(first.shape, other.shape, strict=True))
                if k != position):
            raise ValueError(f"cat: tensors must have the same shape except in dimension "
                             f"{chosen}, got {first.shape} at position 0 and {other.shape} at "
                             f"position {index}")
    return ops.Concatenate.apply(*joined, axis=position)


def stack(tensors: Sequence[Any], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """The tensors (all of one shape) joined along a new dim."""
    joined = _joined("stack", tensors)
    chosen = dim if axis is None else axis
    for index, other in enumerate(joined[1:], start=1):
        if other.shape != joined[0].shape:
            raise ValueError(f"stack: all tensors must have the same shape, got "
                             f"{joined[0].shape} at position 0 and {other.shape} at position "
                             f"{index}")
    ndim = joined[0].ndim + 1
    if isinstance(chosen, bool) or not isinstance(chosen, int | np.integer) \
            or not -ndim <= chosen < ndim:
        raise IndexError(f"stack: dim {chosen} is out of range for stacking tensors with "
                         f"{ndim - 1} dimensions (expected {-ndim} to {ndim - 1})")
    return ops.Stack.apply(*joined, axis=int(chosen) % ndim)


def index_array(index: Any, owner: str) -> np.ndarray:
    """An index tensor's (or list's) array, checked to hold integers."""
    array = as_array(index.data if isinstance(index, Tensor) else index)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{owner}: expected an integer index tensor (int64), got dtype "
                        f"{array.dtype}")
    return array


def gather(input: Any, dim: int, index: Any) -> Tensor:
    """out[i][j] = x[index[i][j]][j] for dim 0 (x[i][index[i][j]] for dim 1, and so on)."""
    x = _tensor(input)
    return ops.Gather.apply(x, index_array(index, "gather"),
                            axis=normalize_dim(dim, x.ndim, "gather"))


def scatter_add(input: Any, dim: int, index: Any, src: Any) -> Tensor:
    """A copy of x with src[i][j] added at x[index[i][j]][j] for dim 0 (and so on)."""
    x = _tensor(input)
    return ops.ScatterAdd.apply(x, index_array(index, "scatter_add"), src,
                                axis=normalize_dim(dim, x.ndim, "scatter_add"))


def index_select(input: Any, dim: int, index: Any) -> Tensor:
    """The entries of x at the positions `index` (1-d, integers) along dim."""
    x = _tensor(input)
    positions = index_array(index, "index_select")
    axis = normalize_dim(dim, x.ndim, "index_select")
    if positions.ndim > 1:
        raise ValueError(f"index_select: index must be 1-d, got shape {positions.shape}")
    length = x.shape[axis] if x.ndim else 1
    bad = (positions < 0) | (positions >= length)
    if bad.any():
        raise IndexError(f"index_select: index {int(positions.reshape(-1)[bad.reshape(-1)][0])} "
                         f"is out of range for dimension {dim} of size {length} (expected 0 to "
                         f"{length - 1})")
    if x.ndim == 0:
        return ops.Reshape.apply(x, shape=(1,))[positions.reshape(-1)]
    return ops.GetItem.apply(x, index=(slice(None),) * axis + (positions.reshape(-1),))


def _bool_mask(mask: Any, owner: str) -> np.ndarray:
    array = as_array(mask.data if isinstance(mask, Tensor) else mask)
    if array.dtype.kind != "b":
        raise TypeError(f"{owner}: the mask must be a bool tensor, got dtype {array.dtype}; "
                        f"compare first, e.g. x > 0")
    return array


def masked_fill_arguments(x: Tensor, mask: Any, value: Any, owner: str
                          ) -> tuple[np.ndarray, Any]:
    """The bool mask broadcast to x's shape, and the value (a number becomes a 0-d array of
    x's dtype), checked as PyTorch checks them."""
    condition = _bool_mask(mask, owner)
    if isinstance(value, Tensor | np.ndarray) and np.ndim(value) != 0:
        raise ValueError(f"{owner}: value must be a number or a 0-d tensor, got shape "
                         f"{np.shape(value)}")
    if not _broadcasts_to(condition.shape, x.shape):
        raise ValueError(f"{owner}: a mask of shape {condition.shape} does not broadcast "
                         f"to the tensor's shape {x.shape}")
    if not isinstance(value, Tensor):
        value = np.asarray(value, dtype=x.dtype)
    return np.broadcast_to(condition, x.shape), value


def masked_fill(input: Any, mask: Any, value: Any) -> Tensor:
    """x with `value` (a number or a 0-d tensor) where the bool `mask` is True."""
    x = _tensor(input)
    condition, value = masked_fill_arguments(x, mask, value, "masked_fill")
    return ops.Where.apply(condition, value, x)


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """`input` where the bool `condition` is True, `other` elsewhere (all three broadcast);
    where(condition) alone gives the indices of its True values, one tensor per dim."""
    condition_array = _bool_mask(condition, "where")
    if input is None and other is None:
        return tuple(Tensor._constant(positions) for positions in np.nonzero(condition_array))
    if input is None or other is None:
        raise TypeError("where: give both input and other, or neither")
    return ops.Where.apply(condition_array, input, other)
