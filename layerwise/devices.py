"""Devices and dtype conversion. layerwise computes on the CPU with NumPy, so "cpu" is the
only device: PyTorch code that asks for an accelerator (`torch.cuda.is_available()`) is told
there is none and picks "cpu", and `.to(device)` with "cpu" changes nothing.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from layerwise import dtypes

if TYPE_CHECKING:
    from layerwise.tensor import Tensor


class Device:
    """A device name, as in `torch.device("cpu")` (`layerwise.device`); only the CPU exists."""

    def __init__(self, type: Any = "cpu", index: int | None = None) -> None:
        name = str(type) if isinstance(type, Device) else type
        check_device(name, "device")
        self.type: str = "cpu"
        self.index = index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Device | str) and str(other).split(":")[0] == "cpu"

    def __hash__(self) -> int:
        return hash("cpu")

    def __str__(self) -> str:
        return "cpu"

    def __repr__(self) -> str:
        return "device(type='cpu')"


device = Device


def check_device(name: Any, owner: str) -> None:
    """Accept None, "cpu" ("cpu:0") or a cpu `device`; refuse anything else in words."""
    if name is None or isinstance(name, Device):
        return
    if not isinstance(name, str):
        raise TypeError(f"{owner}: a device is a string such as 'cpu', got {name!r}")
    if name.split(":")[0] != "cpu":
        raise ValueError(f"{owner}: device {name!r} is not available: layerwise runs on the "
                         f"CPU only (use 'cpu', or pick it with "
                         f"'cuda' if layerwise.cuda.is_available() else 'cpu')")


def _no_accelerator() -> bool:
    return False


# PyTorch's availability checks, answered for this CPU-only framework.
cuda = SimpleNamespace(is_available=_no_accelerator, device_count=lambda: 0)
accelerator = SimpleNamespace(is_available=_no_accelerator, current_accelerator=lambda: None)
backends = SimpleNamespace(mps=SimpleNamespace(is_available=_no_accelerator))


def convert(tensor: Tensor, dtype: np.dtype) -> Tensor:
    """`tensor` as `dtype`: itself when it already is; a recorded Cast between floating
    dtypes (so gradients flow back, as with x.double() in PyTorch); a new tensor without
    gradient for integer and bool dtypes."""
    from layerwise import ops
    from layerwise.tensor import Tensor

    if tensor.dtype == dtype:
        return tensor
    if dtype.kind in "fc" and tensor.dtype.kind in "fc":
        return ops.Cast.apply(tensor, dtype=dtype)
    return Tensor._constant(tensor.data.astype(dtype))


def to(tensor: Tensor, *args: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Tensor.to: positional arguments may be a dtype, a device or another tensor (whose dtype
    is taken), in PyTorch's order (device, dtype)."""
    from layerwise.tensor import Tensor

    for argument in args:
        if isinstance(argument, Tensor):
            dtype = argument.dtype
        elif isinstance(argument, Device) or (isinstance(argument, str)
                                               and argument not in dtypes.NAMES):
            device = argument
        else:
            dtype = argument
    check_device(device, "to")
    return tensor if dtype is None else convert(tensor, dtypes.as_dtype(dtype, "to"))
