"""Tensor constructors: zeros, ones, full, arange, and random ones from an explicit generator.

Shapes are ints or tuples; dtype defaults to the default floating dtype (see
`set_default_dtype`), except for arange over ints.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from layerwise.rng import default_generator
from layerwise.settings import get_default_dtype
from layerwise.tensor import Tensor

Shape = int | tuple[int, ...]


def _dtype(dtype: DTypeLike | None) -> np.dtype:
    return np.dtype(dtype) if dtype is not None else get_default_dtype()


def zeros(shape: Shape, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros."""
    return Tensor(np.zeros(shape, dtype=_dtype(dtype)), requires_grad=requires_grad)


def ones(shape: Shape, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return Tensor(np.ones(shape, dtype=_dtype(dtype)), requires_grad=requires_grad)


def full(shape: Shape, value: float, dtype: DTypeLike | None = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor filled with `value`."""
    return Tensor(np.full(shape, value, dtype=_dtype(dtype)), requires_grad=requires_grad)


def zeros_like(other: Any, requires_grad: bool = False) -> Tensor:
    """Zeros of another tensor's (or array's) shape and dtype."""
    data = other.data if isinstance(other, Tensor) else np.asarray(other)
    return Tensor(np.zeros_like(data), requires_grad=requires_grad)


def ones_like(other: Any, requires_grad: bool = False) -> Tensor:
    """Ones of another tensor's (or array's) shape and dtype."""
    data = other.data if isinstance(other, Tensor) else np.asarray(other)
    return Tensor(np.ones_like(data), requires_grad=requires_grad)


def arange(start: float, stop: float | None = None, step: float = 1,
           dtype: DTypeLike | None = None) -> Tensor:
    """Evenly spaced values in [start, stop) (int64 for int arguments, as in PyTorch)."""
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is not None:
        return Tensor(values.astype(dtype))
    is_integral = all(isinstance(v, int) for v in (start, stop, step) if v is not None)
    return Tensor(values if is_integral else values.astype(get_default_dtype()))


def randn(shape: Shape, dtype: DTypeLike | None = None, requires_grad: bool = False,
          rng: np.random.Generator | None = None) -> Tensor:
    """Standard normal values from `rng` (the default generator when None)."""
    generator = rng if rng is not None else default_generator()
    values = generator.standard_normal(shape).astype(_dtype(dtype), copy=False)
    return Tensor(values, requires_grad=requires_grad)


def rand(shape: Shape, dtype: DTypeLike | None = None, requires_grad: bool = False,
         rng: np.random.Generator | None = None) -> Tensor:
    """Uniform values in [0, 1) from `rng` (the default generator when None)."""
    generator = rng if rng is not None else default_generator()
    values = generator.random(shape).astype(_dtype(dtype), copy=False)
    return Tensor(values, requires_grad=requires_grad)
