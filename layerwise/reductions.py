"""Reductions with PyTorch's arguments: sum, mean, max/min (with indices along a dim),
argmax/argmin, std/var, norm, prod, cumsum, all/any, topk, sort.

PyTorch spells the options `dim` and `keepdim`; NumPy's `axis` and `keepdims` are accepted
too. The one place where the two differ in meaning is max and min: `x.max(dim)` gives
(values, indices) as in PyTorch, `x.max(axis=...)` the values alone as in NumPy.
"""

from __future__ import annotations

import builtins
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import DTypeLike

from layerwise import dtypes, ops
from layerwise.ops.base import normalize_axes, normalize_dim
from layerwise.tensor import Tensor


class ValuesIndices(NamedTuple):
    """What max, min, sort and topk along a dim return: the values and where they were."""

    values: Tensor
    indices: Tensor


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _pick(owner: str, dim: Any, axis: Any, keepdim: bool, keepdims: bool | None
          ) -> tuple[Any, bool]:
    """The dims and keepdim flag from PyTorch's or NumPy's spelling (not both)."""
    if dim is not None and axis is not None:
        raise TypeError(f"{owner}: got both dim={dim!r} and axis={axis!r}; pass one of them")
    return (dim if axis is None else axis), bool(keepdim if keepdims is None else keepdims)


def _dims(owner: str, dim: Any, ndim: int, numpy_spelling: bool = False
          ) -> tuple[int, ...] | None:
    """None for all dims, else the dims as non-negative ints: IndexError when out of range,
    as in PyTorch, or NumPy's ValueError when they were spelled `axis`."""
    if dim is None:
        return None
    if numpy_spelling:
        return normalize_axes(dim, ndim, owner)
    listed = dim if isinstance(dim, tuple | list) else (dim,)
    dims = tuple(normalize_dim(one, ndim, owner) for one in listed)
    if len(set(dims)) != len(dims):
        raise ValueError(f"{owner}: dim {tuple(listed)} names a dimension twice")
    return dims if ndim else None


def _converted(x: Tensor, dtype: DTypeLike | None, owner: str) -> Tensor:
    return x if dtype is None else x.to(dtypes.as_dtype(dtype, owner))


def sum(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
        keepdims: bool | None = None, dtype: DTypeLike | None = None) -> Tensor:
    """The sum over `dim` (an int or a tuple; all dims when None). Bool and integer tensors
    sum to int64."""
    if dim is None and axis is None and dtype is None and isinstance(input, Tensor):
        return ops.Sum.apply(input, keepdims=bool(keepdim or keepdims))  # the common case
    x = _converted(_tensor(input), dtype, "sum")
    chosen, keep = _pick("sum", dim, axis, keepdim, keepdims)
    return ops.Sum.apply(x, axis=_dims("sum", chosen, x.ndim, axis is not None),
                         keepdims=keep)


def mean(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None, dtype: DTypeLike | None = None) -> Tensor:
    """The mean over `dim` (all dims when None); the tensor must be floating point (as in
    PyTorch: x.float().mean() for integers), or give `dtype`."""
    x = _converted(_tensor(input), dtype, "mean")
    if x.dtype.kind not in "fc":
        raise TypeError(f"mean: expected a floating-point tensor, got {x.dtype}; convert it "
                        f"first, e.g. x.float().mean()")
    chosen, keep = _pick("mean", dim, axis, keepdim, keepdims)
    return ops.Mean.apply(x, axis=_dims("mean", chosen, x.ndim, axis is not None),
                          keepdims=keep)


def _extreme(owner: str, op: type[ops.Max], find: Any, input: Any, dim: Any, keepdim: bool,
             axis: Any, keepdims: bool | None) -> Any:
    if isinstance(dim, Tensor | np.ndarray):
        other = ops.Maximum if op is ops.Max else ops.Minimum
        return other.apply(input, dim)
    x = _tensor(input)
    if axis is not None:  # NumPy's spelling: the values alone, ties sharing the gradient
        keep = bool(keepdim if keepdims is None else keepdims)
        return op.apply(x, axis=_dims(owner, axis, x.ndim, True), keepdims=keep)
    if dim is None:
        if x.numel() == 0:
            raise ValueError(f"{owner}: the tensor is empty (shape {x.shape}); there is no "
                             f"{'largest' if op is ops.Max else 'smallest'} value")
        return op.apply(x)
    if isinstance(dim, tuple | list):
        raise TypeError(f"{owner}: dim must be one integer to get indices; for several dims "
                        f"use a{owner}(x, dim)")
    axis_index = normalize_dim(dim, x.ndim, owner)
    if x.ndim and x.shape[axis_index] == 0:
        raise ValueError(f"{owner}: dimension {dim} of shape {x.shape} has length 0; there is "
                         f"no {'largest' if op is ops.Max else 'smallest'} value along it")
    keep = bool(keepdim if keepdims is None else keepdims)
    if x.ndim == 0:
        return _take_along(x, np.zeros(1, np.int64), None, keep)
    return _take_along(x, find(x.data, axis_index), axis_index, keep)


def _take_along(x: Tensor, indices: np.ndarray, axis: int | None, keepdim: bool
                ) -> ValuesIndices:
    """(values, indices) of `x` at `indices`, an array with x's dims whose length along `axis`
    may differ; the values come from a Gather, so the gradient goes to those positions."""
    if axis is None:  # a 0-d tensor: the value itself, at index 0
        return ValuesIndices(ops.Gather.apply(x.reshape(1), np.zeros(1, np.int64), axis=0)
                             .reshape(()), Tensor._constant(np.zeros((), np.int64)))
    values = ops.Gather.apply(x, indices, axis=axis)
    if not keepdim:
        values = values.squeeze(axis)
        indices = np.squeeze(indices, axis)
    return ValuesIndices(values, Tensor._constant(indices.astype(np.int64, copy=False)))


def _argmax_keep(data: np.ndarray, axis: int) -> np.ndarray:
    return np.argmax(data, axis=axis, keepdims=True)


def _argmin_keep(data: np.ndarray, axis: int) -> np.ndarray:
    return np.argmin(data, axis=axis, keepdims=True)


def max(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
        keepdims: bool | None = None) -> Any:
    """The largest value (a Tensor), or with `dim` the named tuple (values, indices) of the
    largest along that dim (the first one where several tie, as in PyTorch; the gradient goes
    to it). `max(a, b)` with a tensor b is the element-wise maximum, and `axis=` gives the
    values alone (ties share the gradient, as NumPy-style amax)."""
    return _extreme("max", ops.Max, _argmax_keep, input, dim, keepdim, axis, keepdims)


def min(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
        keepdims: bool | None = None) -> Any:
    """The smallest value, or (values, indices) along `dim`; see `max`."""
    return _extreme("min", ops.Min, _argmin_keep, input, dim, keepdim, axis, keepdims)


def amax(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The largest values over `dim` (an int or a tuple); ties share the gradient evenly."""
    x = _tensor(input)
    return ops.Max.apply(x, axis=_dims("amax", dim, x.ndim), keepdims=keepdim)


def amin(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The smallest values over `dim`; ties share the gradient evenly."""
    x = _tensor(input)
    return ops.Min.apply(x, axis=_dims("amin", dim, x.ndim), keepdims=keepdim)


def _arg(owner: str, find: Any, input: Any, dim: int | None, keepdim: bool,
         axis: int | None) -> Tensor:
    data = _tensor(input).data
    dim, keep = _pick(owner, dim, axis, keepdim, None)
    if dim is None:
        if data.size == 0:
            raise ValueError(f"{owner}: the tensor is empty (shape {data.shape}); give a dim")
        index = np.asarray(find(data), dtype=np.int64)
        return Tensor._constant(index.reshape((1,) * data.ndim) if keep else index)
    axis_index = normalize_dim(dim, data.ndim, owner)
    if data.ndim == 0:
        return Tensor._constant(np.zeros((), np.int64))
    if data.shape[axis_index] == 0:
        raise ValueError(f"{owner}: dimension {dim} of shape {data.shape} has length 0")
    return Tensor._constant(find(data, axis=axis_index, keepdims=keep).astype(np.int64))


def argmax(input: Any, dim: int | None = None, keepdim: bool = False, *,
           axis: int | None = None) -> Tensor:
    """The index of the largest value (of the flattened tensor when dim is None; the first
    where several tie); int64, without gradient."""
    return _arg("argmax", np.argmax, input, dim, keepdim, axis)


def argmin(input: Any, dim: int | None = None, keepdim: bool = False, *,
           axis: int | None = None) -> Tensor:
    """The index of the smallest value; see argmax."""
    return _arg("argmin", np.argmin, input, dim, keepdim, axis)


def var(input: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None, axis: Any = None, keepdims: bool | None = None
        ) -> Tensor:
    """The variance over `dim`: sum (x - mean)^2 / (n - correction). correction=1 (the
    default, as in PyTorch) is the unbiased estimate, 0 the population variance;
    `unbiased=False` is correction=0. A bool first argument is `unbiased` (x.var(False))."""
    x = _tensor(input)
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError("var: got both unbiased and correction; pass one of them")
    if correction is None:
        correction = 0 if unbiased is False else 1
    if x.dtype.kind not in "fc":
        raise TypeError(f"var: expected a floating-point tensor, got {x.dtype}; convert it "
                        f"first, e.g. x.float()")
    chosen, keep = _pick("var", dim, axis, keepdim, keepdims)
    return ops.Var.apply(x, axis=_dims("var", chosen, x.ndim, axis is not None), keepdims=keep,
                         correction=correction)


def std(input: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None, axis: Any = None, keepdims: bool | None = None
        ) -> Tensor:
    """The standard deviation, sqrt(var); see var for the arguments."""
    return ops.Sqrt.apply(var(input, dim, unbiased, keepdim, correction=correction, axis=axis,
                              keepdims=keepdims))


def norm(input: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:
    """The vector p-norm over `dim` (all values when None): p = 2 or "fro" (the default,
    Euclidean), 1, inf (the largest |x|), 0 (the count of non-zeros), or any p > 0."""
    x = _tensor(input)
    order = 2.0 if p == "fro" else p
    if isinstance(order, bool) or not isinstance(order, int | float | np.integer | np.floating) \
            or not order >= 0:
        raise ValueError(f"norm: p must be 'fro' or a number >= 0 (inf for the largest |x|), "
                         f"got {p!r}")
    if x.dtype.kind not in "fc":
        raise TypeError(f"norm: expected a floating-point tensor, got {x.dtype}")
    return ops.Norm.apply(x, axis=_dims("norm", dim, x.ndim), keepdims=keepdim,
                          p=builtins.float(order))


def prod(input: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """The product over one `dim` (all values when None); exact gradient where x has zeros."""
    x = _tensor(input)
    if x.dtype.kind in "bu" or (x.dtype.kind == "i" and x.dtype != np.int64):
        x = x.long()
    axis = None if dim is None else normalize_dim(dim, x.ndim, "prod")
    if axis is not None and x.ndim == 0:
        axis = None
    return ops.Prod.apply(x, axis=axis, keepdims=keepdim)


def cumsum(input: Any, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """The running sum along `dim`; bool and integer tensors give int64."""
    x = _tensor(input)
    chosen, _ = _pick("cumsum", dim, axis, False, None)
    if chosen is None:
        raise TypeError("cumsum: give the dim to sum along (cumsum(x, dim=0))")
    return ops.Cumsum.apply(x, axis=normalize_dim(chosen, x.ndim, "cumsum"))


def _logical(owner: str, reduce: Any, input: Any, dim: Any, keepdim: bool) -> Tensor:
    data = _tensor(input).data
    axes = _dims(owner, dim, data.ndim)
    return Tensor._constant(np.asarray(reduce(data, axis=axes, keepdims=keepdim)))


def all(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where every value over `dim` is non-zero (a bool tensor without gradient)."""
    return _logical("all", np.all, input, dim, keepdim)


def any(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where some value over `dim` is non-zero (a bool tensor without gradient)."""
    return _logical("any", np.any, input, dim, keepdim)


def _order(data: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable sorting indices along `axis`; NaN counts as the largest value, as in PyTorch."""
    if not descending:
        return np.argsort(data, axis=axis, kind="stable")
    if data.dtype.kind in "biu":
        return np.argsort(np.invert(data), axis=axis, kind="stable")  # ~x: no overflow
    is_nan = np.isnan(data)
    return np.lexsort((np.where(is_nan, 0, -data), ~is_nan), axis=axis)


def sort(input: Any, dim: int = -1, descending: bool = False, *, stable: bool = False
         ) -> ValuesIndices:
    """(values, indices) sorted along `dim`; equal values keep their order."""
    x = _tensor(input)
    axis = normalize_dim(dim, x.ndim, "sort")
    if x.ndim == 0:
        return _take_along(x, np.zeros(1, np.int64), None, False)
    return _take_along(x, _order(x.data, axis, descending), axis, True)


def argsort(input: Any, dim: int = -1, descending: bool = False, *, stable: bool = False
            ) -> Tensor:
    """The indices that sort the tensor along `dim` (int64, without gradient)."""
    x = _tensor(input)
    axis = normalize_dim(dim, x.ndim, "argsort")
    if x.ndim == 0:
        return Tensor._constant(np.zeros((), np.int64))
    return Tensor._constant(_order(x.data, axis, descending).astype(np.int64))


def topk(input: Any, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
         ) -> ValuesIndices:
    """(values, indices) of the k largest (or smallest) values along `dim`, largest first."""
    x = _tensor(input)
    axis = normalize_dim(dim, x.ndim, "topk")
    length = x.shape[axis] if x.ndim else 1
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 0 <= k <= length:
        raise ValueError(f"topk: k must be an integer from 0 to {length} (the length of "
                         f"dimension {dim}), got {k!r}")
    if x.ndim == 0:
        return _take_along(x, np.zeros(1, np.int64), None, False)
    order = _order(x.data, axis, descending=largest)
    return _take_along(x, np.take(order, np.arange(k), axis=axis), axis, True)

