"""Pooling layers: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d, with PyTorch's arguments."""

from __future__ import annotations

from typing import Any

from layerwise import ops
from layerwise.nn.module import Module
from layerwise.spatial import apply_layer
from layerwise.tensor import Tensor


class MaxPool2d(Module):
    """The maximum of each window of each channel (see ops.MaxPool2d).

    Args:
        kernel_size: the window, an int or an (h, w) pair.
        stride: the step between windows (kernel_size when None).
        padding: -inf added on each side, at most half the kernel.
        dilation: the step between a window's positions.
        return_indices: also return where each maximum is (F.max_pool2d's indices).
        ceil_mode: round the output size up.
    Shape: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out) or (C, H_out, W_out).
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode
        self.make_op()  # the options are checked here, when the layer is built

    def make_op(self) -> ops.MaxPool2d:
        return ops.MaxPool2d(self.kernel_size, self.stride, self.padding, self.dilation,
                             self.ceil_mode, owner="MaxPool2d")

    def forward(self, x: Any) -> Any:
        op = self.make_op()
        y = apply_layer(op, x, 2, "MaxPool2d")
        if not self.return_indices:
            return y
        indices = op.indices()
        return y, Tensor(indices[0] if y.ndim == 3 else indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, "
                f"padding={self.padding}, dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """The mean of each window of each channel (see ops.AvgPool2d for the divisor).

    Args:
        kernel_size, stride, padding, ceil_mode: as MaxPool2d's.
        count_include_pad: count the zero padding in each window's divisor.
        divisor_override: divide every window's sum by this instead.
    Shape: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out) or (C, H_out, W_out).
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override
        self.make_op()

    def make_op(self) -> ops.AvgPool2d:
        return ops.AvgPool2d(self.kernel_size, self.stride, self.padding, self.ceil_mode,
                             self.count_include_pad, self.divisor_override, owner="AvgPool2d")

    def forward(self, x: Any) -> Tensor:
        return apply_layer(self.make_op(), x, 2, "AvgPool2d")

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, "
                f"padding={self.padding}")


class AdaptiveAvgPool2d(Module):
    """Means over the windows that give a fixed output size, whatever the input's size;
    AdaptiveAvgPool2d(1) is global average pooling.

    Args:
        output_size: an int, an (h, w) pair, or None in a place to keep that size.
    Shape: (N, C, H, W) or (C, H, W) -> (N, C, *output_size) or (C, *output_size).
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size
        ops.AdaptiveAvgPool2d(output_size)

    def forward(self, x: Any) -> Tensor:
        return apply_layer(ops.AdaptiveAvgPool2d(self.output_size), x, 2, "AdaptiveAvgPool2d")

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
