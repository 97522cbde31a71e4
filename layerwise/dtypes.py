"""Dtype names as PyTorch spells them, and PyTorch's rules for the dtype of a result.

The names are NumPy dtypes: `layerwise.float32 == np.dtype("float32")`, so `x.dtype ==
lw.float` and `x.dtype == np.float32` are both true for a float32 tensor.

PyTorch and NumPy promote dtypes differently, and layerwise follows PyTorch:
- a category (bool < integer < floating < complex) wins over a lower one, but within a
  category the size comes from tensors with dimensions before 0-d tensors, and from 0-d tensors
  before Python numbers: float32 matrix * float64 0-d tensor is float32, where NumPy gives
  float64; float32 * int64 is float32, where NumPy gives float64;
- a Python float meeting integers gives the default dtype (float32), not float64;
- dividing integers, or taking exp, log, sin... of them, gives the default dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from layerwise import settings

# name -> dtype; layerwise/__init__.py makes each a module attribute (lw.float, lw.long, ...)
NAMES: dict[str, np.dtype] = {
    name: np.dtype(numpy_type) for names, numpy_type in (
        (("float16", "half"), np.float16), (("float32", "float"), np.float32),
        (("float64", "double"), np.float64), (("complex64", "cfloat"), np.complex64),
        (("complex128", "cdouble"), np.complex128), (("uint8",), np.uint8),
        (("int8",), np.int8), (("int16", "short"), np.int16), (("int32", "int"), np.int32),
        (("int64", "long"), np.int64), (("bool",), np.bool_),
    ) for name in names
}

# PyTorch's tensor type names, for `Tensor.type()` without an argument.
TYPE_NAMES: dict[np.dtype, str] = {
    NAMES[name]: type_name for name, type_name in (
        ("float16", "HalfTensor"), ("float32", "FloatTensor"), ("float64", "DoubleTensor"),
        ("complex64", "ComplexFloatTensor"), ("complex128", "ComplexDoubleTensor"),
        ("uint8", "ByteTensor"), ("int8", "CharTensor"), ("int16", "ShortTensor"),
        ("int32", "IntTensor"), ("int64", "LongTensor"), ("bool", "BoolTensor"))
}

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def category(dtype: np.dtype) -> int:
    """0 for bool, 1 for integers, 2 for floating point, 3 for complex."""
    return _CATEGORY[dtype.kind]


def as_dtype(dtype: Any, owner: str = "dtype") -> np.dtype:
    """A NumPy dtype from a dtype, a NumPy type, a name ("float32", "long") or a Python type."""
    if isinstance(dtype, str) and dtype in NAMES:
        return NAMES[dtype]
    try:
        chosen = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{owner}: expected a dtype such as layerwise.float32 or np.float64, got "
                        f"{dtype!r}") from None
    if chosen.kind not in _CATEGORY:
        raise TypeError(f"{owner}: expected a numeric dtype (bool, integer, floating or "
                        f"complex), got {chosen}")
    return chosen


def result_dtype(arrays: tuple[np.ndarray, ...] | list[np.ndarray]) -> np.dtype:
    """The dtype PyTorch gives an element-wise op on these arrays (Python numbers have already
    become 0-d arrays, see engine._constant_array). Arrays with dimensions decide within the
    highest category they hold; 0-d arrays decide only when their category is higher."""
    dimensioned = [array.dtype for array in arrays if array.ndim]
    scalars = [array.dtype for array in arrays if not array.ndim]
    top = max(category(dtype) for dtype in dimensioned) if dimensioned else -1
    higher = [dtype for dtype in scalars if category(dtype) > top]
    return _widest(higher or dimensioned or scalars)


def _widest(candidates: list[np.dtype]) -> np.dtype:
    """The smallest dtype holding every candidate of the highest category among them."""
    top = max(category(dtype) for dtype in candidates)
    return np.result_type(*[dtype for dtype in candidates if category(dtype) == top])


def promote(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arrays converted to their PyTorch result dtype (the same objects where they have it)."""
    if len(arrays) == 2 and arrays[0].dtype == arrays[1].dtype:  # the common case, kept fast
        return arrays
    dtype = result_dtype(arrays)
    return tuple(array if array.dtype == dtype else array.astype(dtype) for array in arrays)


def floating(array: np.ndarray) -> np.ndarray:
    """`array` itself when it holds floating or complex numbers, else as the default dtype (what
    PyTorch gives exp, log, sin, division... of integers)."""
    if array.dtype.kind in "fc":
        return array
    return array.astype(settings.default_dtype)
