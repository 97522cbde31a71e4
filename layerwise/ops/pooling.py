"""Pooling: each output value summarizes one window of its channel (its maximum or mean).

Pooling has no weights. Its backward hands each output's gradient to the inputs that made it:
max pooling to the one position that held the maximum, average pooling to every position of
the window in equal shares. The arrays are channels-last inside, as in layerwise.ops.conv.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from layerwise.ops.base import Op
from layerwise.ops.windows import (
    Pair,
    canvas_size,
    col2im,
    kernel_offsets,
    max_pool,
    max_pool_backward,
    output_length,
    pad,
    pair,
    to_nchw,
    to_nhwc,
)


class _Pool2d(Op):
    """What max and average pooling share: options, the output size and the padded canvas."""

    label = ""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, ceil_mode: bool = False, owner: str | None = None) -> None:
        self.label = owner or self.label
        self.kernel = pair(kernel_size, "kernel_size", self.label)
        self.stride = self.kernel if stride is None else pair(stride, "stride", self.label)
        self.padding = pair(padding, "padding", self.label, minimum=0)
        self.dilation = pair(dilation, "dilation", self.label)
        self.ceil_mode = bool(ceil_mode)
        reach = [self.dilation[axis] * (self.kernel[axis] - 1) + 1 for axis in range(2)]
        if any(2 * self.padding[axis] > reach[axis] for axis in range(2)):
            raise ValueError(f"{self.label}: padding must be at most half of the (dilated) "
                             f"kernel, got padding {self.padding} for kernel {self.kernel}"
                             + (f" with dilation {self.dilation}" if self.dilation != (1, 1)
                                else ""))

    def output_size(self, shape: tuple[int, ...]) -> Pair:
        """(H_out, W_out) for an (N, C, H, W) input, or a ValueError in the user's terms."""
        if len(shape) != 4:
            raise ValueError(f"{self.label} expects input (N, C, H, W); got shape {shape}")
        out = tuple(output_length(shape[2 + axis], self.kernel[axis], self.stride[axis],
                                  2 * self.padding[axis], self.dilation[axis], self.ceil_mode)
                    for axis in range(2))
        if min(out) < 1:
            padded = (f" with padding {self.padding}" if self.padding != (0, 0) else "")
            raise ValueError(f"{self.label}: the {self.kernel[0]}x{self.kernel[1]} window"
                             f"{padded} is larger than the {shape[2]}x{shape[3]} input (shape "
                             f"{shape})")
        return out[0], out[1]


class MaxPool2d(_Pool2d):
    """y[n, c, i, j] = max over u, v of x_pad[n, c, i s_h + u d_h, j s_w + v d_w], with x_pad
    padded by -inf.

    Shape: x (N, C, H, W) -> y (N, C, H_out, W_out), H_out = floor((H + 2 p_h - d_h (k_h - 1) -
        1) / s_h) + 1 (ceil with ceil_mode; a last window must start inside the input or its
        leading padding).
    Backward: grad_x[position of each window's maximum] += grad_y of that window.

    At a tie (a flat background gives many), the gradient goes to one position only, the
    first in the window in row-major order, as PyTorch does; the maximum is a kink there, and
    this is one valid subgradient (summing over every tied position would multiply the
    gradient by the number of ties).

    Args:
        kernel_size: the window, an int or an (h, w) pair.
        stride: the step between windows (the kernel size when None).
        padding: -inf added on each side, at most half of the (dilated) kernel.
        dilation: the step between a window's positions.
        ceil_mode: round the output size up instead of down.
        owner: the name error messages give (a layer's, by default the function's).
    """

    label = "max_pool2d"

    def forward(self, x: np.ndarray) -> np.ndarray:
        out_size = self.output_size(x.shape)
        if x.dtype.kind != "f":
            raise TypeError(f"{self.label}: expected floating-point input, got {x.dtype}")
        x_nhwc = to_nhwc(x)
        y, self.argmax = max_pool(x_nhwc, self.kernel, self.stride, self.dilation,
                                  self.padding, out_size)
        self.input_shape = x_nhwc.shape
        return to_nchw(y)

    def indices(self) -> np.ndarray:
        """Where each maximum is, as PyTorch's return_indices gives it: the flat index
        (row W + column) in its input channel, (N, C, H_out, W_out) int64."""
        argmax = self.argmax.astype(np.int64)
        out_rows, out_columns = argmax.shape[1:3]
        rows = (np.arange(out_rows)[:, np.newaxis, np.newaxis] * self.stride[0]
                - self.padding[0] + (argmax // self.kernel[1]) * self.dilation[0])
        columns = (np.arange(out_columns)[:, np.newaxis] * self.stride[1] - self.padding[1]
                   + (argmax % self.kernel[1]) * self.dilation[1])
        return to_nchw(rows * self.input_shape[2] + columns)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        grad_x = max_pool_backward(to_nhwc(grad_y), self.argmax, self.input_shape,
                                   self.kernel, self.stride, self.dilation, self.padding)
        return (to_nchw(grad_x),)


class AvgPool2d(_Pool2d):
    """y[n, c, i, j] = (sum over the window of x_pad) / divisor, with x_pad padded by zeros.

    The divisor, as in PyTorch: the window's size within the padded input (count_include_pad,
    the default), or its count of input values (count_include_pad=False), or
    divisor_override. Windows that ceil_mode adds past the padding count only what they cover.

    Shape: x (N, C, H, W) -> y (N, C, H_out, W_out), H_out as for MaxPool2d (no dilation).
    Backward: every position of a window gets grad_y / divisor of that window (summed over the
        windows it lies in).

    Args:
        kernel_size, stride, padding, ceil_mode: as MaxPool2d's.
        count_include_pad: count the zero padding in the divisor.
        divisor_override: divide every window's sum by this instead.
    """

    label = "avg_pool2d"

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None, owner: str | None = None) -> None:
        super().__init__(kernel_size, stride, padding, 1, ceil_mode, owner)
        self.count_include_pad = bool(count_include_pad)
        if divisor_override is not None and (
                isinstance(divisor_override, bool) or not isinstance(divisor_override, int)
                or divisor_override < 1):
            raise ValueError(f"{self.label}: divisor_override must be a positive int or None, "
                             f"got {divisor_override!r}")
        self.divisor_override = divisor_override

    def forward(self, x: np.ndarray) -> np.ndarray:
        out_size = self.output_size(x.shape)
        if x.dtype.kind != "f":
            raise TypeError(f"{self.label}: expected floating-point input, got {x.dtype}")
        padded = pad(to_nhwc(x), self.padding, canvas_size(out_size, self.kernel, self.stride,
                                                           self.dilation))
        total = np.zeros((x.shape[0], *out_size, x.shape[1]), dtype=x.dtype)
        for _, _, values in kernel_offsets(padded, self.kernel, self.stride, self.dilation,
                                           out_size):
            total += values
        self.divisor = self.divisors(x.shape[2:4], out_size).astype(x.dtype)
        self.input_shape = (x.shape[0], *x.shape[2:4], x.shape[1])
        return to_nchw(total / self.divisor)

    def divisors(self, size: Pair, out_size: Pair) -> np.ndarray:
        """(H_out, W_out, 1): what each window's sum is divided by."""
        if self.divisor_override is not None:
            return np.full((*out_size, 1), float(self.divisor_override))
        lengths = []
        for axis in range(2):
            start = np.arange(out_size[axis]) * self.stride[axis] - self.padding[axis]
            end = np.minimum(start + self.kernel[axis], size[axis] + self.padding[axis])
            if not self.count_include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, size[axis])
            lengths.append(end - start)
        return (lengths[0][:, np.newaxis] * lengths[1][np.newaxis, :])[:, :, np.newaxis]

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        share = to_nhwc(grad_y) / self.divisor
        n, out_h, out_w, c = share.shape
        cols = np.broadcast_to(share[:, :, :, np.newaxis, np.newaxis],
                               (n, out_h, out_w, *self.kernel, c))
        cols = cols.reshape(n * out_h * out_w, self.kernel[0] * self.kernel[1] * c)
        return (to_nchw(col2im(cols, (out_h, out_w), self.kernel, self.input_shape,
                               self.stride, self.dilation, self.padding)),)


class AdaptiveAvgPool2d(Op):
    """y[n, c] = A_h x[n, c] A_w^T: the mean over windows chosen to give a fixed output size.

    Output row i averages input rows floor(i H / H_out) to ceil((i + 1) H / H_out) - 1 (and
    likewise for columns), as in PyTorch; A_h (H_out, H) holds 1 / (window length) on those
    rows. Pooling is then linear, two matrix products, like the lecture's y = W x.

    Shape: x (N, C, H, W) -> y (N, C, H_out, W_out); output_size 1 is global average pooling.
    Backward: grad_x[n, c] = A_h^T grad_y[n, c] A_w.

    Args:
        output_size: (H_out, W_out), an int for both, or None in a place to keep that size.
    """

    label = "adaptive_avg_pool2d"

    def __init__(self, output_size: Any) -> None:
        sizes = (output_size, output_size) if not isinstance(output_size, tuple | list) \
            else tuple(output_size)
        if len(sizes) != 2 or any(
                size is not None and (isinstance(size, bool) or not isinstance(size, int)
                                      or size < 1) for size in sizes):
            raise ValueError(f"{self.label}: output_size must be a positive int, a pair of "
                             f"them (None keeps that size), got {output_size!r}")
        self.output_sizes = sizes

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 4:
            raise ValueError(f"{self.label} expects input (N, C, H, W); got shape {x.shape}")
        if x.dtype.kind != "f":
            raise TypeError(f"{self.label}: expected floating-point input, got {x.dtype}")
        if 0 in x.shape[2:]:
            raise ValueError(f"{self.label}: expected non-empty height and width, got input "
                             f"of shape {x.shape}")
        out_size = [x.shape[2 + axis] if size is None else size
                    for axis, size in enumerate(self.output_sizes)]
        self.rows = averaging_matrix(x.shape[2], out_size[0], x.dtype)
        self.columns = averaging_matrix(x.shape[3], out_size[1], x.dtype)
        return np.matmul(np.matmul(self.rows, x), self.columns.T)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (np.matmul(np.matmul(self.rows.T, grad_y), self.columns),)


def averaging_matrix(size: int, out_size: int, dtype: np.dtype) -> np.ndarray:
    """(out_size, size): row i averages the positions floor(i size / out_size) up to
    ceil((i + 1) size / out_size)."""
    matrix = np.zeros((out_size, size), dtype=dtype)
    for i in range(out_size):
        start, end = (i * size) // out_size, -(-(i + 1) * size // out_size)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix
