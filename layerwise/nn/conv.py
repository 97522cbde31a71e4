"""Convolution layers: Conv1d, Conv2d and ConvTranspose2d, with PyTorch's arguments,
parameter names and shapes, and default initialization."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from layerwise import functional as F
from layerwise import ops
from layerwise.nn import init
from layerwise.nn.layers import converted_input, positive_int
from layerwise.nn.module import Module
from layerwise.nn.parameter import Parameter
from layerwise.ops.conv import check_padding, conv_output_size, resolve_padding
from layerwise.ops.windows import Pair, pair, single, symmetric
from layerwise.settings import get_default_dtype
from layerwise.tensor import Tensor


class _ConvNd(Module):
    """The parameters and checks that the convolution layers share.

    The weight is drawn from U(-bound, bound) with bound = 1 / sqrt(fan_in) (kaiming_uniform
    with a = sqrt(5), PyTorch's default), fan_in being the weight's second axis times the
    kernel size; the bias from the same range.
    """

    spatial_axes = 2
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, ...],
                 groups: int, bias: bool, padding_mode: str, dtype: DTypeLike | None,
                 rng: np.random.Generator | None) -> None:
        super().__init__()
        name = type(self).__name__
        self.in_channels = positive_int(in_channels, "in_channels", name)
        self.out_channels = positive_int(out_channels, "out_channels", name)
        self.kernel_size = kernel_size
        self.groups = single(groups, "groups", name)
        for which, count in (("in_channels", self.in_channels),
                             ("out_channels", self.out_channels)):
            if count % self.groups:
                raise ValueError(f"{name}: {which} ({count}) must be divisible by groups "
                                 f"({self.groups})")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: padding_mode {padding_mode!r} is not supported; "
                             f"layerwise pads with zeros (padding_mode='zeros')")
        self.padding_mode = padding_mode
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        if dtype.kind != "f":
            raise TypeError(f"{name}: dtype must be a floating-point dtype, got {dtype}")
        if self.transposed:
            shape = (self.in_channels, self.out_channels // self.groups, *kernel_size)
        else:
            shape = (self.out_channels, self.in_channels // self.groups, *kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        init.kaiming_uniform(self.weight, a=math.sqrt(5), rng=rng)
        self.bias: Parameter | None = None
        if bias:
            bound = 1.0 / math.sqrt(init.fans(shape)[0])
            self.bias = init.uniform(Parameter(np.empty(self.out_channels, dtype=dtype)),
                                     -bound, bound, rng)

    @property
    def label(self) -> str:
        kernel = "x".join(str(k) for k in self.kernel_size)
        return f"{type(self).__name__}({self.in_channels} -> {self.out_channels}, kernel {kernel})"

    def checked_input(self, x: Any) -> Any:
        """x converted to the weights' dtype, after checking its axes, its channels and (for
        a convolution) that the kernel fits; errors name the layer."""
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        if data.ndim not in (self.spatial_axes + 1, self.spatial_axes + 2):
            axes = "C, H, W" if self.spatial_axes == 2 else "C, L"
            raise ValueError(f"{self.label} expects (N, {axes}) or ({axes}); got shape "
                             f"{data.shape}{self.flat_hint(data.shape)}")
        shape = data.shape if data.ndim == self.spatial_axes + 2 else (1, *data.shape)
        if shape[1] != self.in_channels:
            raise ValueError(f"{self.label} expected input with {self.in_channels} channel"
                             f"{'s' * (self.in_channels != 1)}, got {shape[1]} (input shape "
                             f"{data.shape})")
        if not self.transposed:
            size = (1, shape[2]) if self.spatial_axes == 1 else shape[2:4]
            kernel, stride, dilation, padding = self.as_2d()
            conv_output_size(self.label, size, kernel, stride,
                             resolve_padding(padding, kernel, dilation), dilation)
        if data.dtype != self.weight.data.dtype:
            x = converted_input(self.label, x, data, self.weight.data.dtype)
        return x

    def flat_hint(self, shape: tuple[int, ...]) -> str:
        """For a batch of flat square images, how to give them their axes."""
        side = math.isqrt(shape[-1] // self.in_channels) if len(shape) == 2 else 0
        if self.spatial_axes != 2 or side < 1 or self.in_channels * side * side != shape[-1]:
            return ""
        return (f"; for flat images, give them their axes first: x.reshape(-1, "
                f"{self.in_channels}, {side}, {side})")

    def as_2d(self) -> tuple[Pair, Pair, Pair, Any]:
        """Kernel, stride, dilation and padding option as a 2-D convolution sees them."""
        def two(value: tuple[int, ...]) -> Pair:
            return (1, value[0]) if len(value) == 1 else (value[0], value[1])

        if isinstance(self.padding, str):
            padding: Any = self.padding
        else:
            padding = symmetric(two(self.padding))
            if self.spatial_axes == 1:
                padding = ((0, 0), padding[1])
        return two(self.kernel_size), two(self.stride), two(self.dilation), padding

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * self.spatial_axes:
            text += f", padding={self.padding!r}"
        if self.dilation != (1,) * self.spatial_axes:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text

    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[int, ...] | str


class Conv2d(_ConvNd):
    """The 2-D convolution layer: y = conv2d(x, weight) + bias (see ops.Conv2d for the formula
    and its backward).

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size, stride, dilation: an int or an (h, w) pair.
        padding: an int, an (h, w) pair, "valid" or "same" (stride 1).
        groups: split the channels into independent convolutions (divides both counts).
        bias: learn a bias per output channel.
        padding_mode: "zeros" (the only one).
        dtype: of the parameters (the default dtype when None).
        rng: generator of the initial values (the default generator when None).
    Shape: x (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, H_out, W_out) or without N.
    Parameters: weight (C_out, C_in / groups, k_h, k_w), bias (C_out,).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", dtype: DTypeLike | None = None,
                 rng: np.random.Generator | None = None) -> None:
        kernel = pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = pair(stride, "stride", "Conv2d")
        self.dilation = pair(dilation, "dilation", "Conv2d")
        check_padding(padding, self.stride, "Conv2d")
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding",
                                                                     "Conv2d", minimum=0)
        super().__init__(in_channels, out_channels, kernel, groups, bias, padding_mode, dtype,
                         rng)

    def forward(self, x: Any) -> Tensor:
        return F.conv2d(self.checked_input(x), self.weight, self.bias, self.stride,
                        self.padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """The 1-D convolution layer over sequences (N, C, L); arguments as Conv2d's, each one
    int (padding also "same" or "valid").

    Shape: x (N, C_in, L) or (C_in, L) -> (N, C_out, L_out) or (C_out, L_out).
    Parameters: weight (C_out, C_in / groups, k), bias (C_out,).
    """

    spatial_axes = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", dtype: DTypeLike | None = None,
                 rng: np.random.Generator | None = None) -> None:
        kernel = (single(kernel_size, "kernel_size", "Conv1d"),)
        self.stride = (single(stride, "stride", "Conv1d"),)
        self.dilation = (single(dilation, "dilation", "Conv1d"),)
        check_padding(padding if isinstance(padding, str) else 0, (1, self.stride[0]), "Conv1d")
        self.padding = padding if isinstance(padding, str) else (
            single(padding, "padding", "Conv1d", minimum=0),)
        super().__init__(in_channels, out_channels, kernel, groups, bias, padding_mode, dtype,
                         rng)

    def forward(self, x: Any) -> Tensor:
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(self.checked_input(x), self.weight, self.bias, self.stride[0], padding,
                        self.dilation[0], self.groups)


class ConvTranspose2d(_ConvNd):
    """The transposed 2-D convolution layer (a learned upsampling; see ops.ConvTranspose2d).

    Args: as Conv2d's (padding an int or a pair), and output_padding: rows and columns added
        at the bottom and right, smaller than the stride or the dilation.
    Shape: x (N, C_in, H, W) -> (N, C_out, H_out, W_out), H_out = (H - 1) stride - 2 padding +
        dilation (k - 1) + output_padding + 1.
    Parameters: weight (C_in, C_out / groups, k_h, k_w), bias (C_out,); fan_in for the
        initialization is C_out / groups k_h k_w, as in PyTorch.
    """

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                 bias: bool = True, dilation: Any = 1, padding_mode: str = "zeros",
                 dtype: DTypeLike | None = None, rng: np.random.Generator | None = None) -> None:
        kernel = pair(kernel_size, "kernel_size", "ConvTranspose2d")
        self.stride = pair(stride, "stride", "ConvTranspose2d")
        self.dilation = pair(dilation, "dilation", "ConvTranspose2d")
        self.padding = pair(padding, "padding", "ConvTranspose2d", minimum=0)
        self.output_padding = pair(output_padding, "output_padding", "ConvTranspose2d",
                                   minimum=0)
        super().__init__(in_channels, out_channels, kernel, groups, bias, padding_mode, dtype,
                         rng)
        self.options: dict[str, Any] = {"stride": self.stride, "padding": self.padding,
                        "output_padding": self.output_padding, "groups": self.groups,
                        "dilation": self.dilation}
        ops.ConvTranspose2d(**self.options)  # checks output_padding against stride, dilation

    def forward(self, x: Any) -> Tensor:
        return F.conv_transpose2d(self.checked_input(x), self.weight, self.bias, **self.options)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        if self.output_padding != (0, 0):
            text += f", output_padding={self.output_padding}"
        return text
