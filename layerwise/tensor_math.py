"""PyTorch's everyday tensor math with its argument names and dtype rules: rounding (floor,
ceil, round, trunc, frac), tests for NaN and inf (isnan, isinf, isfinite, nan_to_num),
log2/log10/exp2, hyperbolic and inverse trigonometric functions (sinh, cosh, asin, acos,
atan, atan2), logsumexp, flip, roll, tril/triu, bmm, outer, clamp_min/clamp_max, the logical
functions, count_nonzero and diff.

Dtypes as in PyTorch: rounding an integer tensor gives it back unchanged (integers are already
whole), frac refuses integers; log2, sinh, atan2... of integers or bools give the default
floating dtype; isnan and the logical functions give bool tensors, count_nonzero int64, and
none of those carries a gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from layerwise import dtypes, ops, shapes
from layerwise import functional as F
from layerwise.ops.base import normalize_dim
from layerwise.tensor import Tensor, as_array, constant_result

TensorLike = Tensor | np.ndarray | float | int


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _floating(x: Any) -> Tensor:
    """x as a Tensor; integers and bools become the default floating dtype (a constant)."""
    x = _tensor(x)
    return x if x.data.dtype.kind in "fc" else Tensor._constant(dtypes.floating(x.data))


def _dims(owner: str, dim: Any, ndim: int) -> tuple[int, ...]:
    """One dim or a sequence of them as non-negative ints, each at most once."""
    listed = tuple(dim) if isinstance(dim, tuple | list) else (dim,)
    dims = tuple(normalize_dim(one, ndim, owner) for one in listed)
    if len(set(dims)) != len(dims):
        raise ValueError(f"{owner}: dims {listed} name a dimension more than once")
    return dims


# --- rounding ----------------------------------------------------------------------------------


def _rounding(owner: str, op: type[ops.Op], x: Any, **options: Any) -> Tensor:
    x = _tensor(x)
    if x.dtype.kind == "b":
        raise TypeError(f"{owner}: expected a floating-point or integer tensor, got bool")
    if x.dtype.kind in "iu":  # integers are whole already: a copy, as PyTorch returns
        return Tensor._constant(x.data.copy())
    return op.apply(x, **options)


def floor(input: TensorLike) -> Tensor:
    """The largest integer <= x, element-wise; integer tensors come back unchanged. The
    gradient is 0 everywhere (also at the integers, where floor jumps)."""
    return _rounding("floor", ops.Floor, input)


def ceil(input: TensorLike) -> Tensor:
    """The smallest integer >= x, element-wise; gradient 0 (also at the jumps)."""
    return _rounding("ceil", ops.Ceil, input)


def trunc(input: TensorLike) -> Tensor:
    """x rounded towards 0 (its fractional part dropped); gradient 0 (also at the jumps)."""
    return _rounding("trunc", ops.Trunc, input)


fix = trunc


def round(input: TensorLike, *, decimals: int = 0) -> Tensor:
    """x rounded to `decimals` places, halves to even (round(2.5) = 2, round(-0.5) = -0);
    integer tensors come back unchanged with decimals=0 (PyTorch refuses other decimals for
    them). Gradient 0 (also at the halves)."""
    if isinstance(decimals, bool) or not isinstance(decimals, int | np.integer):
        raise TypeError(f"round: decimals must be an integer, got {decimals!r}")
    x = _tensor(input)
    if x.dtype.kind in "iu" and decimals != 0:
        raise TypeError(f"round: decimals={decimals} needs a floating-point tensor, got "
                        f"{x.dtype}; convert it first, e.g. x.float().round(decimals=...)")
    return _rounding("round", ops.Round, x, decimals=int(decimals))


def frac(input: TensorLike) -> Tensor:
    """x - trunc(x), the fractional part with x's sign (frac(-1.5) = -0.5). The gradient is
    1 everywhere (at the integers, where frac jumps, too, as in PyTorch)."""
    x = _tensor(input)
    if x.dtype.kind not in "fc":
        raise TypeError(f"frac: expected a floating-point tensor, got {x.dtype} (the "
                        f"fractional part of an integer is 0)")
    return ops.Frac.apply(x)


# --- NaN and inf -------------------------------------------------------------------------------


def isnan(input: TensorLike) -> Tensor:
    """True where x is NaN (a bool tensor without gradient; all False for integers)."""
    return Tensor._constant(np.isnan(_tensor(input).data))


def isinf(input: TensorLike) -> Tensor:
    """True where x is +inf or -inf (a bool tensor without gradient)."""
    return Tensor._constant(np.isinf(_tensor(input).data))


def isfinite(input: TensorLike) -> Tensor:
    """True where x is neither NaN nor infinite (a bool tensor without gradient)."""
    return Tensor._constant(np.isfinite(_tensor(input).data))


def nan_to_num(input: TensorLike, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """x with NaN replaced by `nan`, +inf by `posinf` and -inf by `neginf` (by default 0 and
    the largest and lowest finite values of x's dtype). The gradient passes where x is finite
    and is 0 where a value was replaced; integer and bool tensors come back unchanged (they
    hold no NaN or inf) without gradient."""
    x = _tensor(input)
    for name, value in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, int | float | np.number)):
            raise TypeError(f"nan_to_num: {name} must be a number, got {value!r}")
    if x.dtype.kind not in "fc":
        return Tensor._constant(x.data.copy())
    return ops.NanToNum.apply(x, nan=nan, posinf=posinf, neginf=neginf)


# --- logarithms, powers, hyperbolic and inverse trigonometric functions ------------------------


def log2(input: TensorLike) -> Tensor:
    """log2 x element-wise (-inf at 0, NaN below)."""
    return ops.Log2.apply(_floating(input))


def log10(input: TensorLike) -> Tensor:
    """log10 x element-wise (-inf at 0, NaN below)."""
    return ops.Log10.apply(_floating(input))


def exp2(input: TensorLike) -> Tensor:
    """2^x element-wise."""
    return ops.Exp2.apply(_floating(input))


def sinh(input: TensorLike) -> Tensor:
    """sinh x = (e^x - e^-x) / 2 element-wise."""
    return ops.Sinh.apply(_floating(input))


def cosh(input: TensorLike) -> Tensor:
    """cosh x = (e^x + e^-x) / 2 element-wise."""
    return ops.Cosh.apply(_floating(input))


def asin(input: TensorLike) -> Tensor:
    """arcsin x element-wise (NaN outside [-1, 1]; the gradient is infinite at +-1)."""
    return ops.Asin.apply(_floating(input))


def acos(input: TensorLike) -> Tensor:
    """arccos x element-wise (NaN outside [-1, 1]; the gradient is infinite at +-1)."""
    return ops.Acos.apply(_floating(input))


def atan(input: TensorLike) -> Tensor:
    """arctan x element-wise."""
    return ops.Atan.apply(_floating(input))


arcsin, arccos, arctan = asin, acos, atan


def atan2(input: TensorLike, other: TensorLike) -> Tensor:
    """The angle of the point (other, input) in (-pi, pi], element-wise (input is the y
    coordinate, as in math.atan2(y, x)); the two broadcast. At the origin the gradients
    are 0."""
    return ops.Atan2.apply(input, other)


arctan2 = atan2


# --- reductions --------------------------------------------------------------------------------


def logsumexp(input: TensorLike, dim: Any, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over `dim` (an int or a tuple), computed stably with the max trick,
    so that logsumexp([1000, 1000]) = 1000 + log 2 rather than inf. A row of -inf (or an
    empty one) gives -inf and a row holding +inf gives +inf, as in PyTorch. Integer input
    gives the default floating dtype."""
    x = _floating(input)
    axes = _dims("logsumexp", dim, x.ndim)
    return ops.LogSumExp.apply(x, axis=axes if x.ndim else None, keepdims=bool(keepdim))


def count_nonzero(input: TensorLike, dim: Any = None) -> Tensor:
    """The number of non-zero values over `dim` (an int or a tuple; all when None), int64."""
    data = _tensor(input).data
    axes = None if dim is None else _dims("count_nonzero", dim, data.ndim)
    if not data.ndim:
        axes = None
    return Tensor._constant(np.asarray(np.count_nonzero(data, axis=axes), dtype=np.int64))


# --- moving values -----------------------------------------------------------------------------


def flip(input: TensorLike, dims: Any) -> Tensor:
    """x with the order of its values reversed along each of `dims` (an int or a sequence)."""
    x = _tensor(input)
    return ops.Flip.apply(x, axes=_dims("flip", dims, x.ndim) if x.ndim else ())


def roll(input: TensorLike, shifts: Any, dims: Any = None) -> Tensor:
    """x shifted cyclically by `shifts` along `dims` (values pushed past the end come back
    at the start); shifts and dims are ints or sequences of one length; without dims the
    flattened tensor is rolled and given back its shape."""
    x = _tensor(input)
    listed = tuple(shifts) if isinstance(shifts, tuple | list) else (shifts,)
    for shift in listed:
        if isinstance(shift, bool) or not isinstance(shift, int | np.integer):
            raise TypeError(f"roll: shifts must be integers, got {shifts!r}")
    if dims is None:
        if len(listed) != 1:
            raise ValueError(f"roll: {len(listed)} shifts {listed} without dims; give one dim "
                             f"per shift (without dims, one shift rolls the flattened tensor)")
        return ops.Roll.apply(x, shifts=(int(listed[0]),), axes=None)
    axes = tuple(normalize_dim(one, x.ndim, "roll")
                 for one in (dims if isinstance(dims, tuple | list) else (dims,)))
    if len(axes) != len(listed):
        raise ValueError(f"roll: {len(listed)} shift{'s' * (len(listed) != 1)} {listed} and "
                         f"{len(axes)} dim{'s' * (len(axes) != 1)} {tuple(axes)}; give one "
                         f"shift per dim")
    if not x.ndim:
        return ops.Roll.apply(x, shifts=(0,), axes=None)
    return ops.Roll.apply(x, shifts=tuple(int(shift) for shift in listed), axes=axes)


def _triangle(owner: str, op: type[ops.Op], input: Any, diagonal: int) -> Tensor:
    x = _tensor(input)
    if x.ndim < 2:
        raise ValueError(f"{owner}: expected a matrix or a batch of matrices (at least 2 "
                         f"dimensions), got shape {x.shape}")
    if isinstance(diagonal, bool) or not isinstance(diagonal, int | np.integer):
        raise TypeError(f"{owner}: diagonal must be an integer, got {diagonal!r}")
    return op.apply(x, diagonal=int(diagonal))


def tril(input: TensorLike, diagonal: int = 0) -> Tensor:
    """The lower triangle of the matrices in the last two dims: values with column - row <=
    `diagonal` kept, the others 0 (diagonal 1 keeps one diagonal above the main one)."""
    return _triangle("tril", ops.Tril, input, diagonal)


def triu(input: TensorLike, diagonal: int = 0) -> Tensor:
    """The upper triangle: values with column - row >= `diagonal` kept, the others 0."""
    return _triangle("triu", ops.Triu, input, diagonal)


def diff(input: TensorLike, n: int = 1, dim: int = -1, prepend: Any = None,
         append: Any = None) -> Tensor:
    """The n-th forward difference along `dim`: out[i] = x[i + 1] - x[i], applied n times
    (bool tensors give x[i + 1] != x[i]); `prepend` and `append` are joined to x along dim
    first. Differentiable: a difference of slices."""
    x = _tensor(input)
    if x.ndim == 0:
        raise ValueError("diff: expected a tensor with at least one dimension, got a 0-d "
                         "tensor")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"diff: n must be an integer >= 0, got {n!r}")
    axis = normalize_dim(dim, x.ndim, "diff")
    parts = [_edge(part, x, axis) for part in (prepend, x, append) if part is not None]
    if len(parts) > 1:
        x = shapes.cat(parts, axis)
    before = (slice(None),) * axis
    for _ in range(n):
        if x.shape[axis] == 0:
            break
        later, earlier = x[(*before, slice(1, None))], x[(*before, slice(None, -1))]
        is_bool = x.dtype.kind == "b"
        x = Tensor._constant(later.data != earlier.data) if is_bool else later - earlier
    return x


def _edge(part: Any, x: Tensor, axis: int) -> Tensor:
    """prepend or append of diff as a tensor with x's number of dims (a number is broadcast
    to length 1 along `axis`)."""
    if part is x:
        return x
    edge = _tensor(part)
    if edge.ndim == 0:
        shape = list(x.shape)
        shape[axis] = 1
        return edge.reshape((1,) * x.ndim).expand(*shape)
    if edge.ndim != x.ndim:
        raise ValueError(f"diff: prepend/append of shape {edge.shape} must have the input's "
                         f"{x.ndim} dimensions (input shape {x.shape})")
    return edge


# --- matrix products ---------------------------------------------------------------------------


def bmm(input: TensorLike, mat2: TensorLike) -> Tensor:
    """Batched matrix product of (B, n, m) and (B, m, p) giving (B, n, p); unlike matmul it
    does not broadcast."""
    a, b = _tensor(input), _tensor(mat2)
    for name, value in (("input", a), ("mat2", b)):
        if value.ndim != 3:
            raise ValueError(f"bmm: {name} must be a batch of matrices (3 dimensions: B, n, "
                             f"m), got shape {value.shape}")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ValueError(f"bmm: cannot multiply shapes {a.shape} and {b.shape}: expected mat2 "
                         f"of shape ({a.shape[0]}, {a.shape[2]}, p) (same batch, and its rows "
                         f"as many as input's columns)")
    return ops.MatMul.apply(a, b)


def outer(input: TensorLike, vec2: TensorLike) -> Tensor:
    """The outer product of two vectors: out[i, j] = input[i] * vec2[j], shape (n, m)."""
    a, b = _tensor(input), _tensor(vec2)
    for name, value in (("input", a), ("vec2", b)):
        if value.ndim != 1:
            raise ValueError(f"outer: {name} must be a vector (1 dimension), got shape "
                             f"{value.shape}")
    return ops.Mul.apply(a.reshape(-1, 1), b.reshape(1, -1))


ger = outer


# --- bounds ------------------------------------------------------------------------------------


def clamp_min(input: TensorLike, min: Any) -> Tensor:
    """max(x, min) element-wise (clamp with a lower bound alone; min may be a tensor)."""
    return F.clamp(input, min=min)


def clamp_max(input: TensorLike, max: Any) -> Tensor:
    """min(x, max) element-wise (clamp with an upper bound alone; max may be a tensor)."""
    return F.clamp(input, max=max)


# --- logic ---------------------------------------------------------------------------------------


def _logical(owner: str, function: Callable[..., np.ndarray], a: Any, b: Any) -> Tensor:
    first, second = _tensor(a).data, as_array(b.data if isinstance(b, Tensor) else b)
    return constant_result(owner, function, first, second)


def logical_and(input: TensorLike, other: TensorLike) -> Tensor:
    """True where both are non-zero (any dtypes; a bool tensor without gradient)."""
    return _logical("logical_and", np.logical_and, input, other)


def logical_or(input: TensorLike, other: TensorLike) -> Tensor:
    """True where either is non-zero (a bool tensor without gradient)."""
    return _logical("logical_or", np.logical_or, input, other)


def logical_xor(input: TensorLike, other: TensorLike) -> Tensor:
    """True where exactly one is non-zero (a bool tensor without gradient)."""
    return _logical("logical_xor", np.logical_xor, input, other)


def logical_not(input: TensorLike) -> Tensor:
    """True where x is zero (a bool tensor without gradient)."""
    return Tensor._constant(np.logical_not(_tensor(input).data))
