"""Convolutions: the fully connected layer y = W x applied to every window of the input.

Written as im2col, a 2-D convolution is one matrix product: each window of the (padded) input
becomes a row of X_col (N H_out W_out rows of k_h k_w C_in values), the kernel becomes a matrix
W_col (C_out rows of k_h k_w C_in), and Y = X_col W_col^T + b. Backward is Linear's backward on
those matrices, with the window rows folded back (col2im) for the input:

    grad_W_col = delta^T X_col,    grad_X_col = delta W_col,    grad_x = col2im(grad_X_col).

The arrays are channels-last inside (see layerwise.ops.windows); the ops take and return
(N, C, H, W) arrays as PyTorch does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from layerwise.ops.base import Op
from layerwise.ops.windows import (
    Padding,
    Pair,
    col2im,
    im2col,
    output_length,
    pair,
    same_padding,
    single,
    symmetric,
    to_nchw,
    to_nhwc,
    top_left,
)


class Conv2d(Op):
    """y[n, o, i, j] = b[o] + sum over c, u, v of W[o, c, u, v] x_pad[n, g C_g + c,
    i s_h + u d_h, j s_w + v d_w], where g = o // (C_out / groups) is the group of output
    channel o and x_pad is x with zeros around it.

    Shape: x (N, C_in, H, W), W (C_out, C_in / groups, k_h, k_w), b (C_out,) ->
        y (N, C_out, H_out, W_out), H_out = floor((H + pad_h - d_h (k_h - 1) - 1) / s_h) + 1.
    Backward, per group, with delta = grad_y as (N H_out W_out, C_out) and X_col the windows:
        grad_W = delta^T X_col;  grad_x = col2im(delta W_col);  grad_b = sum of delta over
        N, H_out and W_out.

    Args:
        stride, dilation: an int or an (h, w) pair, at least 1.
        padding: zeros added on each side, an int or an (h, w) pair; "valid" (none); "same"
            (the output has the input's size, stride 1 only; an odd total puts the extra row
            and column at the bottom and right, as PyTorch does); or ((top, bottom), (left,
            right)).
        groups: split the channels into this many independent convolutions.
    """

    label = "conv2d"

    def __init__(self, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                 groups: int = 1) -> None:
        self.stride = pair(stride, "stride", self.label)
        self.dilation = pair(dilation, "dilation", self.label)
        self.groups = single(groups, "groups", self.label)
        self.padding_option = check_padding(padding, self.stride, self.label)

    def forward(self, x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        check_conv_shapes(self.label, x.shape, W.shape, b, self.groups, transposed=False)
        kernel: Pair = W.shape[2:4]
        padding = resolve_padding(self.padding_option, kernel, self.dilation)
        out_size = conv_output_size(self.label, x.shape[2:4], kernel, self.stride, padding,
                                    self.dilation)
        x_nhwc = to_nhwc(x)
        self.input_shape, self.corner = x_nhwc.shape, top_left(padding)
        self.out_size, self.has_bias, self.weight_shape = out_size, b is not None, W.shape
        kk = kernel[0] * kernel[1]
        # With one group, the bias is the weight of a constant input 1 (a column of ones in
        # X_col): the matrix product adds it, and grad_W's last column is grad_b.
        self.bias_folded = b is not None and self.groups == 1
        cols = im2col(x_nhwc, kernel, self.stride, self.dilation, self.corner, out_size,
                      ones_column=self.bias_folded)
        self.weight_rows = weight_rows(W, self.groups)  # (G, C_out / G, k_h k_w C_g)
        if self.bias_folded:
            assert b is not None
            self.weight_rows = np.concatenate([self.weight_rows[0], b[:, np.newaxis]],
                                              axis=1)[np.newaxis]
        self.cols = by_group(cols, self.groups, kk)  # (G, P, k_h k_w C_g (+ 1))
        y = from_groups(group_matmul(self.cols, self.weight_rows.transpose(0, 2, 1)))
        if b is not None and not self.bias_folded:
            y += b
        return to_nchw(y.reshape(x.shape[0], *out_size, W.shape[0]))

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray | None, ...]:
        delta = by_group(to_nhwc(grad_y).reshape(-1, grad_y.shape[1]), self.groups)
        kernel = self.weight_shape[2:4]
        width = kernel[0] * kernel[1] * self.weight_shape[1]  # of a window row, without the 1
        grad_x = grad_W = grad_b = None
        if self.wants_grad(0):
            grad_cols = from_groups(group_matmul(delta, self.weight_rows[:, :, :width]),
                                    kernel[0] * kernel[1])
            grad_x = to_nchw(col2im(grad_cols, self.out_size, kernel, self.input_shape,
                                    self.stride, self.dilation, self.corner))
        want_b = self.has_bias and self.wants_grad(2)
        if self.wants_grad(1) or (want_b and self.bias_folded):
            grad_rows = group_matmul(delta.transpose(0, 2, 1), self.cols)
            if self.wants_grad(1):
                grad_W = weight_from_rows(grad_rows[:, :, :width], self.weight_shape)
            if want_b and self.bias_folded:
                grad_b = grad_rows[0, :, width].copy()
        if want_b and not self.bias_folded:
            grad_b = grad_y.sum(axis=(0, 2, 3))
        return (grad_x, grad_W, grad_b) if self.has_bias else (grad_x, grad_W)


class Conv1d(Op):
    """The 1-D convolution: Conv2d on (N, C, 1, L) with a (1, k) kernel.

    y[n, o, i] = b[o] + sum over c, v of W[o, c, v] x_pad[n, g C_g + c, i s + v d].
    Shape: x (N, C_in, L), W (C_out, C_in / groups, k), b (C_out,) -> y (N, C_out, L_out).
    Backward: Conv2d's, with the inserted axis of length 1 removed again.

    Args: as Conv2d, each an int (or "same"/"valid" for padding).
    """

    label = "conv1d"

    def __init__(self, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                 groups: int = 1) -> None:
        stride = single(stride, "stride", self.label)
        if not isinstance(padding, str):
            padding = (0, single(padding, "padding", self.label, minimum=0))
        self.conv = Conv2d((1, stride), padding, (1, single(dilation, "dilation", self.label)),
                           groups)
        self.conv.label = self.label

    def forward(self, x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        if x.ndim != 3 or W.ndim != 3:
            raise ValueError(f"conv1d expects input (N, C, L) and a weight (C_out, C_in / "
                             f"groups, k); got shapes {x.shape} and {W.shape}")
        self.conv.needs_grad = self.needs_grad
        return self.conv.forward(x[:, :, np.newaxis], W[:, :, np.newaxis], b)[:, :, 0]

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray | None, ...]:
        grad_x, grad_W, *grad_b = self.conv.backward(grad_y[:, :, np.newaxis])
        return (None if grad_x is None else grad_x[:, :, 0],
                None if grad_W is None else grad_W[:, :, 0], *grad_b)


class ConvTranspose2d(Op):
    """The adjoint of Conv2d: each input value scatters W times itself into the output.

    y = col2im(X W_col) + b, where X is x as (N H W, C_in) and W_col holds each input channel's
    (C_out / groups, k_h, k_w) kernel as a row; the output is then cropped by `padding` on each
    side. It is Conv2d's backward for the input, which is why it upsamples.

    Shape: x (N, C_in, H, W), W (C_in, C_out / groups, k_h, k_w), b (C_out,) ->
        y (N, C_out, H_out, W_out), H_out = (H - 1) s_h - 2 p_h + d_h (k_h - 1) +
        output_padding_h + 1.
    Backward (per group), with Y_col the windows of grad_y padded back by `padding`:
        grad_x = Y_col W_col^T;  grad_W = X^T Y_col;  grad_b = sum of grad_y over N, H, W.

    Args:
        stride, padding, dilation: as Conv2d's (padding an int or a pair).
        output_padding: rows and columns added at the bottom and right of the output, to
            choose among the input sizes that a strided Conv2d maps to the same size; smaller
            than the stride or the dilation.
        groups: as Conv2d's.
    """

    label = "conv_transpose2d"

    def __init__(self, stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                 dilation: Any = 1, groups: int = 1) -> None:
        self.stride = pair(stride, "stride", self.label)
        self.dilation = pair(dilation, "dilation", self.label)
        self.padding = symmetric(pair(padding, "padding", self.label, minimum=0))
        self.output_padding = pair(output_padding, "output_padding", self.label, minimum=0)
        self.groups = single(groups, "groups", self.label)
        for axis in range(2):
            if self.output_padding[axis] >= max(self.stride[axis], self.dilation[axis]):
                raise ValueError(
                    f"{self.label}: output_padding must be smaller than the stride or the "
                    f"dilation, got output_padding {self.output_padding}, stride "
                    f"{self.stride} and dilation {self.dilation}")

    def forward(self, x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        check_conv_shapes(self.label, x.shape, W.shape, b, self.groups, transposed=True)
        kernel: Pair = W.shape[2:4]
        n, _, *size = x.shape
        out_size = tuple((size[axis] - 1) * self.stride[axis] + self.dilation[axis] * (
            kernel[axis] - 1) + 1 + self.output_padding[axis] - 2 * self.padding[axis][0]
            for axis in range(2))
        if min(out_size) < 1:
            raise ValueError(f"{self.label}: the output would be {out_size[0]}x{out_size[1]} "
                             f"for an input of {size[0]}x{size[1]} (padding {self.padding[0][0]},"
                             f" {self.padding[1][0]} removes more than the kernel adds)")
        c_out = W.shape[1] * self.groups
        kk = kernel[0] * kernel[1]
        rows = to_nhwc(x).reshape(-1, x.shape[1])
        self.rows = by_group(rows, self.groups)  # (G, N H W, C_in / G)
        self.weight_rows = weight_rows(W, self.groups)  # (G, C_in/G, k k C_out/G)
        self.weight_shape, self.input_size, self.out_size = W.shape, tuple(size), out_size
        self.has_bias = b is not None
        cols = from_groups(group_matmul(self.rows, self.weight_rows), kk)
        y = col2im(cols, (size[0], size[1]), kernel, (n, *out_size, c_out), self.stride,
                   self.dilation, top_left(self.padding))
        if b is not None:
            y = y + b
        return to_nchw(np.ascontiguousarray(y))

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray | None, ...]:
        kernel = self.weight_shape[2:4]
        cols = im2col(to_nhwc(grad_y), kernel, self.stride, self.dilation,
                      top_left(self.padding), self.input_size)
        cols = by_group(cols, self.groups, kernel[0] * kernel[1])
        grad_x = grad_W = None
        if self.wants_grad(0):
            grad_rows = from_groups(group_matmul(cols, self.weight_rows.transpose(0, 2, 1)))
            grad_x = to_nchw(grad_rows.reshape(grad_y.shape[0], *self.input_size,
                                                self.weight_shape[0]))
        if self.wants_grad(1):
            grad_W = weight_from_rows(
                group_matmul(self.rows.transpose(0, 2, 1), cols), self.weight_shape)
        if not self.has_bias:
            return grad_x, grad_W
        grad_b = grad_y.sum(axis=(0, 2, 3)) if self.wants_grad(2) else None
        return grad_x, grad_W, grad_b


# --- the matrices of a convolution ---------------------------------------------------------


def by_group(rows: np.ndarray, groups: int, kernel_size: int = 1) -> np.ndarray:
    """Channels-last rows (P, k C) (offset-major, channel-minor) as (G, P, k C / G): each
    group's channels of every offset, side by side. A view when there is one group."""
    if groups == 1:
        return rows[np.newaxis]
    count, width = rows.shape[0], rows.shape[1] // (kernel_size * groups)
    return (rows.reshape(count, kernel_size, groups, width).transpose(2, 0, 1, 3)
            .reshape(groups, count, kernel_size * width))


def group_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for each group: (G, n, k) @ (G, k, m) -> (G, n, m). One group, the common case,
    is a plain matrix product: NumPy's batched matmul is slower for it."""
    if a.shape[0] == 1:
        return (a[0] @ b[0])[np.newaxis]
    return np.matmul(a, b)


def from_groups(grouped: np.ndarray, kernel_size: int = 1) -> np.ndarray:
    """The inverse of by_group: (G, P, k C_g) -> (P, k G C_g)."""
    groups, count, width = grouped.shape[0], grouped.shape[1], grouped.shape[2] // kernel_size
    return (grouped.reshape(groups, count, kernel_size, width).transpose(1, 2, 0, 3)
            .reshape(count, kernel_size * groups * width))


def weight_rows(W: np.ndarray, groups: int) -> np.ndarray:
    """A kernel (A, B, k_h, k_w) as one row per first-axis channel and group: (G, A / G,
    k_h k_w B), each row ordered (u, v, b) like the rows of im2col. For Conv2d, A is C_out and
    B is C_in / G (W_col per group); for ConvTranspose2d, A is C_in and B is C_out / G."""
    first, second, k_h, k_w = W.shape
    return (W.reshape(groups, first // groups, second, k_h, k_w).transpose(0, 1, 3, 4, 2)
            .reshape(groups, first // groups, k_h * k_w * second))


def weight_from_rows(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of weight_rows, for the weight's gradient."""
    first, second, k_h, k_w = shape
    groups = rows.shape[0]
    return (rows.reshape(groups, first // groups, k_h, k_w, second).transpose(0, 1, 4, 2, 3)
            .reshape(shape))


# --- options and checks --------------------------------------------------------------------


def check_padding(padding: Any, stride: Pair, owner: str) -> Any:
    """The padding option as given ("same", "valid", a pair, or ((top, bottom), (left,
    right))), after checking it."""
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"{owner}: padding must be an int, a pair of ints, 'same' or "
                             f"'valid', got {padding!r}")
        if padding == "same" and stride != (1, 1):
            raise ValueError(f"{owner}: padding='same' needs stride 1 (the output size of a "
                             f"strided convolution cannot equal its input's), got stride "
                             f"{stride}")
        return padding
    if isinstance(padding, tuple | list) and len(padding) == 2 and all(
            isinstance(side, tuple | list) for side in padding):
        return tuple(pair(tuple(side), "padding", owner, minimum=0) for side in padding)
    return symmetric(pair(padding, "padding", owner, minimum=0))


def resolve_padding(option: Any, kernel: Pair, dilation: Pair) -> Padding:
    if option == "same":
        return same_padding(kernel, dilation)
    if option == "valid":
        return (0, 0), (0, 0)
    padding: Padding = option
    return padding


def check_conv_shapes(owner: str, x_shape: tuple[int, ...], w_shape: tuple[int, ...],
                      b: np.ndarray | None, groups: int, transposed: bool) -> None:
    """ValueError in the user's terms when input, weight and bias do not fit together."""
    if len(x_shape) != 4:
        raise ValueError(f"{owner} expects input (N, C, H, W); got shape {x_shape}")
    kind = "(C_in, C_out / groups, k_h, k_w)" if transposed else "(C_out, C_in / groups, k_h, k_w)"
    if len(w_shape) != 4:
        raise ValueError(f"{owner} expects a weight {kind}; got shape {w_shape}")
    in_channels = w_shape[0] if transposed else w_shape[1] * groups
    out_channels = w_shape[1] * groups if transposed else w_shape[0]
    if w_shape[0] % groups:
        which = "input" if transposed else "output"
        raise ValueError(f"{owner}: groups={groups} must divide the {which} channels "
                         f"({w_shape[0]}, the first axis of the weight {w_shape})")
    if x_shape[1] != in_channels:
        raise ValueError(f"{owner}: expected input with {in_channels} channels (weight "
                         f"{w_shape}, groups={groups}), got {x_shape[1]} channels in input of "
                         f"shape {x_shape}")
    if b is not None and b.shape != (out_channels,):
        raise ValueError(f"{owner}: expected a bias of shape ({out_channels},) for weight "
                         f"{w_shape}, got {b.shape}")


def conv_output_size(owner: str, size: Pair, kernel: Pair, stride: Pair, padding: Padding,
                     dilation: Pair) -> Pair:
    """(H_out, W_out), or a ValueError when the (dilated) kernel does not fit in the padded
    input."""
    padded = tuple(size[axis] + sum(padding[axis]) for axis in range(2))
    reach = tuple(dilation[axis] * (kernel[axis] - 1) + 1 for axis in range(2))
    if reach[0] > padded[0] or reach[1] > padded[1]:
        dilated = f" (dilated to {reach[0]}x{reach[1]})" if reach != kernel else ""
        raise ValueError(f"{owner}: kernel {kernel[0]}x{kernel[1]}{dilated} is larger than the "
                         f"padded input {padded[0]}x{padded[1]} (input {size[0]}x{size[1]})")
    return (output_length(size[0], kernel[0], stride[0], sum(padding[0]), dilation[0]),
            output_length(size[1], kernel[1], stride[1], sum(padding[1]), dilation[1]))
