"""Tensor constructors: zeros, ones, full, empty, arange, linspace, eye, the *_like family,
random ones from an explicit or the default generator, and from_numpy / as_tensor.

Sizes are given as PyTorch takes them, separate ints (zeros(2, 3)) or one tuple (zeros((2,
3))); dtype defaults to the default floating dtype (see `set_default_dtype`), except for
arange over ints and randint (int64). dtype may be a NumPy dtype or a PyTorch name such as
layerwise.float32 or "long"; device may only be the CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from layerwise import dtypes
from layerwise.devices import check_device
from layerwise.rng import default_generator
from layerwise.settings import get_default_dtype
from layerwise.tensor import Tensor, as_array

Shape = int | tuple[int, ...]


def _dtype(dtype: DTypeLike | None, owner: str) -> np.dtype:
    return dtypes.as_dtype(dtype, owner) if dtype is not None else get_default_dtype()


def _shape(owner: str, size: tuple[Any, ...]) -> tuple[int, ...]:
    """The shape from sizes given separately or as one sequence; negative sizes refused."""
    if len(size) == 1 and isinstance(size[0], Sequence | np.ndarray):
        size = tuple(size[0])
    for one in size:
        if isinstance(one, bool) or not isinstance(one, int | np.integer):
            raise TypeError(f"{owner}: sizes must be integers, got {size!r}")
        if one < 0:
            raise ValueError(f"{owner}: sizes must be >= 0, got {tuple(size)}")
    return tuple(int(one) for one in size)


def _made(owner: str, values: np.ndarray, requires_grad: bool, device: Any) -> Tensor:
    check_device(device, owner)
    return Tensor(values, requires_grad=requires_grad)


def zeros(*size: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """A tensor of zeros."""
    return _made("zeros", np.zeros(_shape("zeros", size), dtype=_dtype(dtype, "zeros")),
                 requires_grad, device)


def ones(*size: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    """A tensor of ones."""
    return _made("ones", np.ones(_shape("ones", size), dtype=_dtype(dtype, "ones")),
                 requires_grad, device)


def empty(*size: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """A tensor whose values are to be written (zeros here, never stale memory)."""
    return _made("empty", np.zeros(_shape("empty", size), dtype=_dtype(dtype, "empty")),
                 requires_grad, device)


def full(size: Any, fill_value: Any, dtype: DTypeLike | None = None,
         requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor filled with `fill_value`; its dtype follows the value (bool, int64, or the
    default floating dtype) unless given."""
    if dtype is None:
        dtype = as_array(fill_value).dtype
    shape = _shape("full", (size,) if isinstance(size, int | np.integer) else tuple(size))
    return _made("full", np.full(shape, fill_value, dtype=_dtype(dtype, "full")),
                 requires_grad, device)


def _like_dtype(other: Any, dtype: DTypeLike | None) -> tuple[tuple[int, ...], np.dtype]:
    data = other.data if isinstance(other, Tensor) else np.asarray(other)
    return data.shape, (dtypes.as_dtype(dtype) if dtype is not None else data.dtype)


def zeros_like(other: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
               device: Any = None) -> Tensor:
    """Zeros of another tensor's (or array's) shape and dtype."""
    shape, chosen = _like_dtype(other, dtype)
    return _made("zeros_like", np.zeros(shape, chosen), requires_grad, device)


def ones_like(other: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
              device: Any = None) -> Tensor:
    """Ones of another tensor's (or array's) shape and dtype."""
    shape, chosen = _like_dtype(other, dtype)
    return _made("ones_like", np.ones(shape, chosen), requires_grad, device)


def empty_like(other: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
               device: Any = None) -> Tensor:
    """A tensor of another's shape and dtype, to be written (zeros here)."""
    shape, chosen = _like_dtype(other, dtype)
    return _made("empty_like", np.zeros(shape, chosen), requires_grad, device)


def full_like(other: Any, fill_value: Any, dtype: DTypeLike | None = None,
              requires_grad: bool = False, device: Any = None) -> Tensor:
    """`fill_value` in another tensor's shape and dtype."""
    shape, chosen = _like_dtype(other, dtype)
    return _made("full_like", np.full(shape, fill_value, chosen), requires_grad, device)


def rand_like(other: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
              rng: np.random.Generator | None = None) -> Tensor:
    """Uniform values in [0, 1) in another tensor's shape and (floating) dtype."""
    shape, chosen = _like_dtype(other, dtype)
    return rand(shape, dtype=chosen, requires_grad=requires_grad, rng=rng)


def randn_like(other: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
               rng: np.random.Generator | None = None) -> Tensor:
    """Standard normal values in another tensor's shape and (floating) dtype."""
    shape, chosen = _like_dtype(other, dtype)
    return randn(shape, dtype=chosen, requires_grad=requires_grad, rng=rng)


def arange(start: float, end: float | None = None, step: float = 1,
           dtype: DTypeLike | None = None, requires_grad: bool = False,
           device: Any = None) -> Tensor:
    """Evenly spaced values in [start, end) (int64 for int arguments, as in PyTorch)."""
    if step == 0:
        raise ValueError("arange: step must not be 0")
    values = np.arange(start, end, step) if end is not None else np.arange(start)
    if dtype is not None:
        return _made("arange", values.astype(_dtype(dtype, "arange")), requires_grad, device)
    is_integral = all(isinstance(v, int) for v in (start, end, step) if v is not None)
    return _made("arange", values if is_integral else values.astype(get_default_dtype()),
                 requires_grad, device)


def linspace(start: float, end: float, steps: int, dtype: DTypeLike | None = None,
             requires_grad: bool = False, device: Any = None) -> Tensor:
    """`steps` evenly spaced values from start to end, both included."""
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"linspace: steps must be an integer >= 0, got {steps!r}")
    values = np.linspace(float(start), float(end), int(steps))
    return _made("linspace", values.astype(_dtype(dtype, "linspace")), requires_grad, device)


def eye(n: int, m: int | None = None, dtype: DTypeLike | None = None,
        requires_grad: bool = False, device: Any = None) -> Tensor:
    """The n x m identity matrix (m = n by default)."""
    for name, value in (("n", n), ("m", m)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | np.integer)
                                  or value < 0):
            raise ValueError(f"eye: {name} must be an integer >= 0, got {value!r}")
    return _made("eye", np.eye(n, m, dtype=_dtype(dtype, "eye")), requires_grad, device)


def randn(*size: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
          rng: np.random.Generator | None = None, generator: np.random.Generator | None = None,
          device: Any = None) -> Tensor:
    """Standard normal values from `rng` (or `generator`; the default generator when None)."""
    chosen = rng if rng is not None else generator if generator is not None \
        else default_generator()
    values = chosen.standard_normal(_shape("randn", size)).astype(_dtype(dtype, "randn"),
                                                                   copy=False)
    return _made("randn", values, requires_grad, device)


def rand(*size: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
         rng: np.random.Generator | None = None, generator: np.random.Generator | None = None,
         device: Any = None) -> Tensor:
    """Uniform values in [0, 1) from `rng` (or `generator`; the default generator when None)."""
    chosen = rng if rng is not None else generator if generator is not None \
        else default_generator()
    values = chosen.random(_shape("rand", size)).astype(_dtype(dtype, "rand"), copy=False)
    return _made("rand", values, requires_grad, device)


def randint(low: int, high: int | None = None, size: Any = (), dtype: DTypeLike | None = None,
            rng: np.random.Generator | None = None, generator: np.random.Generator | None = None,
            device: Any = None) -> Tensor:
    """Integers uniform in [low, high) (randint(high, size) draws from [0, high)); int64."""
    if high is None:
        low, high = 0, low
    if not low < high:
        raise ValueError(f"randint: expects low < high, got low={low}, high={high}")
    chosen = rng if rng is not None else generator if generator is not None \
        else default_generator()
    shape = _shape("randint", (size,) if isinstance(size, int | np.integer) else tuple(size))
    values = chosen.integers(low, high, shape)
    return _made("randint", values.astype(dtypes.as_dtype(dtype) if dtype else np.int64), False,
                 device)


def randperm(n: int, dtype: DTypeLike | None = None, rng: np.random.Generator | None = None,
             generator: np.random.Generator | None = None, device: Any = None) -> Tensor:
    """A random permutation of 0..n-1 (int64)."""
    chosen = rng if rng is not None else generator if generator is not None \
        else default_generator()
    values = chosen.permutation(int(n))
    return _made("randperm", values.astype(dtypes.as_dtype(dtype) if dtype else np.int64),
                 False, device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing the array's memory and dtype: a change to one shows in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an np.ndarray, got {type(array).__name__}")
    return Tensor(array)


def as_tensor(data: Any, dtype: DTypeLike | None = None, device: Any = None) -> Tensor:
    """`data` as a tensor, sharing memory when it already is an array (or a tensor) of that
    dtype; a tensor of the right dtype is returned as it is."""
    check_device(device, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtypes.as_dtype(dtype)):
        return data
    return Tensor(data.data if isinstance(data, Tensor) else data, dtype=dtype)
