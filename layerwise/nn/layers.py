"""Layers that own parameters or hold state: Linear, Standardize, Dropout, Dropout2d, Flatten,
Identity, Sequential."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, overload

import numpy as np
from numpy.typing import DTypeLike

from layerwise import functional as F
from layerwise.nn import init
from layerwise.nn.module import Module
from layerwise.nn.parameter import Parameter
from layerwise.settings import get_default_dtype
from layerwise.tensor import Tensor


def positive_int(value: Any, name: str, layer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")
    return int(value)


class Linear(Module):
    """The fully connected layer: y = x W^T + b (y = W x for one column vector x).

    Args:
        in_features: D_in, the width of each input row.
        out_features: D_out.
        bias: learn b (True) or not.
        dtype: of the parameters (the default dtype when None).
        rng: generator for the initial values (the default generator when None).
    Shape: x (N, D_in) or (*, D_in) -> (N, D_out) or (*, D_out).
    Parameters: weight (D_out, D_in) and bias (D_out,), both drawn from
        U(-1/sqrt(D_in), 1/sqrt(D_in)) as PyTorch does by default.

    Input of another floating dtype than the weights is converted when it needs no gradient
    (NumPy arrays are float64 by default, the weights float32).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: DTypeLike | None = None, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.in_features = positive_int(in_features, "in_features", "Linear")
        self.out_features = positive_int(out_features, "out_features", "Linear")
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        if dtype.kind != "f":
            raise TypeError(f"Linear: dtype must be a floating-point dtype, got {dtype}")
        bound = 1.0 / math.sqrt(self.in_features)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        init.kaiming_uniform(self.weight, a=math.sqrt(5), rng=rng)  # = U(-bound, bound)
        self.bias: Parameter | None = None
        if bias:
            self.bias = init.uniform(Parameter(np.empty(self.out_features, dtype=dtype)),
                                     -bound, bound, rng)

    @property
    def label(self) -> str:
        return f"Linear({self.in_features} -> {self.out_features})"

    def forward(self, x: Any) -> Tensor:
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        if data.ndim == 0 or data.shape[-1] != self.in_features:
            raise ValueError(
                f"{self.label} expected input (N, {self.in_features}), got {data.shape}")
        if data.dtype != self.weight.data.dtype:
            x = converted_input(self.label, x, data, self.weight.data.dtype)
        if self.bias is None:
            return F.linear(x, self.weight)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


def converted_input(label: str, x: Any, data: np.ndarray, dtype: np.dtype) -> Any:
    """Input of another dtype than the layer's weights, converted to it when that loses no
    gradient: float64 NumPy arrays for float32 weights are the common case. Integer input,
    and input that requires grad, are errors that say what to do."""
    if data.dtype.kind not in "fiub":
        raise TypeError(f"{label} expected numeric input, got dtype {data.dtype}")
    if isinstance(x, Tensor) and x.requires_grad:
        raise TypeError(
            f"{label} has {dtype} weights but got {data.dtype} input that requires "
            f"grad; create the layer with dtype={data.dtype} or convert the input")
    if data.dtype.kind != "f":
        raise TypeError(
            f"{label} expected floating-point input, got {data.dtype}; convert it "
            f"first (e.g. images.astype(np.float32) / 255)")
    return data.astype(dtype)


class Standardize(Module):
    """y = (x - mean) / std, with mean and std fixed (computed from the training set).

    Putting the preprocessing inside the model keeps it in the state_dict: a checkpoint then
    holds everything needed to classify raw inputs.

    Args:
        mean, std: arrays that broadcast against the trailing axes of an input without
            changing them: per value (784,), or per channel of images (C, 1, 1).
        dtype: of the stored statistics (the default dtype when None).
    Shape: any input whose trailing axes match mean and std -> the same.
    """

    mean: np.ndarray
    std: np.ndarray

    def __init__(self, mean: Any, std: Any, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        mean, std = np.asarray(mean, dtype=dtype), np.asarray(std, dtype=dtype)
        if mean.shape != std.shape:
            raise ValueError(f"Standardize: mean has shape {mean.shape} but std {std.shape}")
        not_positive = ~(std > 0)  # NaN too
        if not_positive.any():
            position = tuple(int(i) for i in np.argwhere(not_positive)[0])
            raise ValueError(f"Standardize: std must be positive everywhere, got {std[position]} "
                             f"at {position}")
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: Any) -> Tensor:
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        if data.dtype.kind not in "biuf":
            raise TypeError(f"Standardize expected numeric input, got dtype {data.dtype}")
        trailing = data.shape[data.ndim - self.mean.ndim:] if self.mean.ndim else ()
        if len(trailing) != self.mean.ndim or any(
                size != length and size != 1 for size, length in zip(self.mean.shape, trailing,
                                                                       strict=True)):
            raise ValueError(f"Standardize expected inputs ending in {self.mean.shape}, got "
                             f"{data.shape}")
        if isinstance(x, Tensor) and x.requires_grad:
            return (x - self.mean) / self.std
        return Tensor((data.astype(self.mean.dtype, copy=False) - self.mean) / self.std)

    def extra_repr(self) -> str:
        return f"shape={self.mean.shape}"


class Dropout(Module):
    """Zero each value with probability p and scale the rest by 1 / (1 - p) in training mode;
    pass values through unchanged in eval mode.

    Args:
        p: drop probability in [0, 1].
        rng: generator of the masks (the default generator when None).
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        is_number = isinstance(p, int | float | np.integer | np.floating) \
            and not isinstance(p, bool)
        if not is_number or not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be a probability in [0, 1], got {p!r}")
        self.p = p
        self.rng = rng

    def forward(self, x: Any) -> Tensor:
        return F.dropout(x, self.p, training=self.training, rng=self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout2d(Dropout):
    """Zero whole channels (feature maps) with probability p and scale the rest by 1 / (1 - p)
    in training mode; pass values through in eval mode (see ops.Dropout2d).

    Args: as Dropout's.
    Shape: (N, C, H, W) or (N, C, L) -> the same.
    """

    def forward(self, x: Any) -> Tensor:
        return F.dropout2d(x, self.p, training=self.training, rng=self.rng)


class Flatten(Module):
    """Merge the axes from `start_axis` on: (N, 1, 28, 28) -> (N, 784) by default."""

    def __init__(self, start_axis: int = 1) -> None:
        super().__init__()
        if isinstance(start_axis, bool) or not isinstance(start_axis, int | np.integer):
            raise ValueError(f"Flatten: start_axis must be an integer, got {start_axis!r}")
        self.start_axis = int(start_axis)

    def forward(self, x: Any) -> Tensor:
        tensor = x if isinstance(x, Tensor) else Tensor(x)
        if self.start_axis >= max(tensor.ndim, 1):
            raise ValueError(f"Flatten(start_axis={self.start_axis}) expected input with at "
                             f"least {self.start_axis + 1} axes, got shape {tensor.shape}")
        return tensor.flatten(self.start_axis)

    def extra_repr(self) -> str:
        return f"start_axis={self.start_axis}"


class Identity(Module):
    """y = x (a placeholder, e.g. to switch a layer off)."""

    def forward(self, x: Any) -> Any:
        return x


class Sequential(Module):
    """Modules applied in order, each to the output of the one before.

    Indexable (`model[0]`, `model[-1]`, `model[1:]` gives a Sequential), iterable, `len()`
    and `append(module)`. Sub-modules are named "0", "1", ... in state_dict.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential holds Modules, got {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Module:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        try:
            return modules[index]
        except IndexError:
            raise IndexError(
                f"Sequential index {index} is out of range for {len(modules)} modules") from None

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x
