"""Comparing tensors as wholes: allclose, isclose, equal; and is_tensor, numel."""

from __future__ import annotations

from typing import Any

import numpy as np

from layerwise.tensor import Tensor, as_array


def _values(value: Any) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else as_array(value)


def isclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """Where |input - other| <= atol + rtol |other|, element-wise (a bool tensor)."""
    return Tensor._constant(np.isclose(_values(input), _values(other), rtol=rtol, atol=atol,
                                       equal_nan=equal_nan))


def allclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """Whether every |input - other| <= atol + rtol |other| (shapes broadcast)."""
    return bool(np.allclose(_values(input), _values(other), rtol=rtol, atol=atol,
                            equal_nan=equal_nan))


def equal(input: Any, other: Any) -> bool:
    """Whether both have the same shape and the same values."""
    first, second = _values(input), _values(other)
    return first.shape == second.shape and bool(np.array_equal(first, second))


def is_tensor(value: Any) -> bool:
    """Whether `value` is a layerwise Tensor."""
    return isinstance(value, Tensor)


def numel(input: Any) -> int:
    """The number of values in a tensor."""
    return int(_values(input).size)
