"""Parameter: a Tensor that a Module owns and an optimizer updates."""

from __future__ import annotations

from typing import Any

from numpy.typing import DTypeLike

from layerwise.tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad and registers itself on the Module it is assigned to.

    `.data` and `.grad` are plain ndarrays: optimizers write `.data` in place, and `.grad`
    may be read, scaled or replaced between backward and step.
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: DTypeLike | None = None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return f"Parameter containing:\n{super().__repr__()}"
