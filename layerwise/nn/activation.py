"""Activation functions as modules, for Sequential: each applies its functional twin."""

from __future__ import annotations

from typing import Any

import numpy as np

from layerwise import functional as F
from layerwise.nn.module import Module
from layerwise.tensor import Tensor


def _number(owner: str, name: str, value: Any) -> Any:
    """`value` when it is a real number, else a ValueError naming the hyperparameter."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{owner}: {name} must be a number, got {value!r}")
    return value


def _axis(owner: str, value: Any) -> Any:
    """`value` when it is an integer, else a ValueError naming the module."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{owner}: axis must be an integer, got {value!r}")
    return value


class ReLU(Module):
    """max(x, 0); the gradient at 0 is 0. inplace=True changes the input tensor itself."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Any) -> Tensor:
        return F.relu(x, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = _number("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, x: Any) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x for x > 0, alpha (e^x - 1) otherwise."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = _number("ELU", "alpha", alpha)

    def forward(self, x: Any) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    """x Phi(x); approximate="tanh" for the tanh formula."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Any) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """1 / (1 + e^-x)."""

    def forward(self, x: Any) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """tanh x."""

    def forward(self, x: Any) -> Tensor:
        return F.tanh(x)


class Softplus(Module):
    """log(1 + e^(beta x)) / beta."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = _number("Softplus", "beta", beta)
        self.threshold = _number("Softplus", "threshold", threshold)
        if not self.beta > 0:
            raise ValueError(f"Softplus: beta must be positive, got {beta}")

    def forward(self, x: Any) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """Probabilities along `dim` (PyTorch's name; `axis` works too; the last dim by default)."""

    def __init__(self, dim: int | None = None, axis: int | None = None) -> None:
        super().__init__()
        self.axis = _axis("Softmax", dim if dim is not None else -1 if axis is None else axis)

    def forward(self, x: Any) -> Tensor:
        return F.softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"dim={self.axis}"


class LogSoftmax(Module):
    """Log-probabilities along `dim` (PyTorch's name; `axis` works too; the last dim by default)."""

    def __init__(self, dim: int | None = None, axis: int | None = None) -> None:
        super().__init__()
        self.axis = _axis("LogSoftmax", dim if dim is not None else -1 if axis is None else axis)

    def forward(self, x: Any) -> Tensor:
        return F.log_softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"dim={self.axis}"
