"""Sliding windows over the spatial axes, shared by convolution and pooling.

The spatial ops work on channels-last arrays (N, H, W, C) inside, whatever the layout of the
(N, C, H, W) arrays they are given: a window's values for all channels then sit side by side in
memory, so that im2col copies rows of C values and the convolution's matrix product writes its
output directly as (N * H_out * W_out, C_out), which is (N, H_out, W_out, C_out) in memory. The
ops hand that memory back as an (N, C, H, W) view (`to_nchw`), so the next spatial op finds its
input channels-last again without copying; element-wise ops in between keep the layout, as
NumPy's ufuncs allocate their outputs in their inputs' memory order.

Names: a window of kernel (k_h, k_w) with dilation (d_h, d_w) at output position (i, j) covers
the padded input rows i s_h + u d_h, u < k_h, and columns j s_w + v d_w, v < k_w.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from layerwise import jit
from layerwise.ops import window_loops

Pair = tuple[int, int]
Padding = tuple[Pair, Pair]  # ((top, bottom), (left, right))


def to_nhwc(x: np.ndarray) -> np.ndarray:
    """The (N, H, W, C) C-contiguous array of an (N, C, H, W) one: a view when its memory is
    already channels-last (the output of another spatial op), else a copy."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def to_nchw(x_nhwc: np.ndarray) -> np.ndarray:
    """The (N, C, H, W) view of channels-last memory."""
    return x_nhwc.transpose(0, 3, 1, 2)


def output_length(size: int, kernel: int, stride: int, padding: int, dilation: int,
                  ceil_mode: bool = False) -> int:
    """Windows along one axis of `size` values with `padding` added in all (both sides):
    floor((size + padding - dilation (kernel - 1) - 1) / stride) + 1 (ceil with ceil_mode, where
    the last window must still start inside the input or its leading padding, as in PyTorch)."""
    span = size + padding - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    if not ceil_mode:
        return span // stride + 1
    length = -(-span // stride) + 1
    if (length - 1) * stride >= size + padding // 2:
        length -= 1
    return length


def canvas_size(out_size: Pair, kernel: Pair, stride: Pair, dilation: Pair) -> Pair:
    """The rows and columns, padding included, that out_size windows reach."""
    return (stride[0] * (out_size[0] - 1) + dilation[0] * (kernel[0] - 1) + 1,
            stride[1] * (out_size[1] - 1) + dilation[1] * (kernel[1] - 1) + 1)


def pad(x: np.ndarray, top_left: Pair, size: Pair, value: Any = 0) -> np.ndarray:
    """Channels-last `x` at (top, left) in a canvas of `value` at least `size` (rows, columns)
    large and large enough to hold it; `x` itself when no padding is needed."""
    (top, left), (n, h, w, c) = top_left, x.shape
    rows, columns = max(size[0], top + h), max(size[1], left + w)
    if (rows, columns) == (h, w):
        return x
    padded = np.full((n, rows, columns, c), value, dtype=x.dtype)
    padded[:, top:top + h, left:left + w] = x
    return padded


def windows(padded: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair,
            out_size: Pair) -> np.ndarray:
    """A read-only view (N, H_out, W_out, k_h, k_w, C) of every window of a channels-last
    array; no value is copied."""
    sn, sh, sw, sc = padded.strides
    shape = (padded.shape[0], *out_size, *kernel, padded.shape[3])
    strides = (sn, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1], sc)
    return as_strided(padded, shape, strides, writeable=False)


def im2col(x: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, top_left: Pair,
           out_size: Pair, ones_column: bool = False) -> np.ndarray:
    """Each window of channels-last x as a row: (N H_out W_out, k_h k_w C), ordered (u, v, c)
    within a row; positions in the padding (rows and columns before `top_left`, or past the
    input) are zeros. With ones_column, each row ends in a 1, so that a bias can be the last
    column of the weight matrix (the lecture's x augmented by a constant 1)."""
    n, c = x.shape[0], x.shape[3]
    width = kernel[0] * kernel[1] * c
    cols = np.empty((n * out_size[0] * out_size[1], width + ones_column), dtype=x.dtype)
    if ones_column:
        cols[:, width] = 1
    if jit.enabled:
        window_loops.im2col(x, cols, *kernel, *out_size, *stride, *dilation, *top_left)
        return cols
    padded = pad(x, top_left, canvas_size(out_size, kernel, stride, dilation))
    windows_of_cols = cols[:, :width].reshape(n, *out_size, *kernel, c)
    for u, v, rows in kernel_offsets(padded, kernel, stride, dilation, out_size):
        windows_of_cols[:, :, :, u, v] = rows
    return cols


def col2im(cols: np.ndarray, out_size: Pair, kernel: Pair, input_shape: tuple[int, ...],
           stride: Pair, dilation: Pair, top_left: Pair) -> np.ndarray:
    """The adjoint of im2col: every entry of `cols` (N H_out W_out, k_h k_w C) added back to
    the input position it came from, giving (N, H, W, C); an input value in several windows
    receives the sum of their entries, and entries in the padding are dropped."""
    if jit.enabled:
        grad_x = np.zeros(input_shape, dtype=cols.dtype)
        window_loops.col2im(cols, grad_x, *kernel, *out_size, *stride, *dilation, *top_left)
        return grad_x
    padded = zeros_canvas(input_shape, out_size, kernel, stride, dilation, top_left, cols.dtype)
    windows_of_cols = cols.reshape(input_shape[0], *out_size, *kernel, input_shape[3])
    for u, v, target in kernel_offsets(padded, kernel, stride, dilation, out_size):
        target += windows_of_cols[:, :, :, u, v]
    return inside(padded, input_shape, top_left)


def max_pool(x: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, top_left: Pair,
             out_size: Pair) -> tuple[np.ndarray, np.ndarray]:
    """The maximum of each window of channels-last x (the padding counts as -inf), and its
    position u k_w + v in the window: the first maximum in row-major order."""
    n, c = x.shape[0], x.shape[3]
    if jit.enabled:
        out = np.empty((n, *out_size, c), dtype=x.dtype)
        argmax = np.empty((n, *out_size, c), dtype=np.int32)
        window_loops.max_pool(x, out, argmax, *kernel, *stride, *dilation, *top_left)
        return out, argmax
    padded = pad(x, top_left, canvas_size(out_size, kernel, stride, dilation), -np.inf)
    flat = windows(padded, kernel, stride, dilation, out_size).reshape(
        n, *out_size, kernel[0] * kernel[1], c)
    argmax = flat.argmax(axis=3)
    return np.take_along_axis(flat, argmax[:, :, :, np.newaxis], axis=3)[:, :, :, 0], argmax


def max_pool_backward(grad_out: np.ndarray, argmax: np.ndarray, input_shape: tuple[int, ...],
                      kernel: Pair, stride: Pair, dilation: Pair,
                      top_left: Pair) -> np.ndarray:
    """Each window's gradient added at the position of its maximum, giving (N, H, W, C)."""
    if jit.enabled:
        grad_x = np.zeros(input_shape, dtype=grad_out.dtype)
        window_loops.max_pool_backward(grad_out, argmax, grad_x, *kernel, *stride, *dilation,
                                       *top_left)
        return grad_x
    out_size = grad_out.shape[1:3]
    padded = zeros_canvas(input_shape, out_size, kernel, stride, dilation, top_left,
                          grad_out.dtype)
    for u, v, target in kernel_offsets(padded, kernel, stride, dilation, out_size):
        target += np.where(argmax == u * kernel[1] + v, grad_out, 0)
    return inside(padded, input_shape, top_left)


def zeros_canvas(input_shape: tuple[int, ...], out_size: Pair, kernel: Pair, stride: Pair,
                 dilation: Pair, top_left: Pair, dtype: np.dtype) -> np.ndarray:
    """Zeros for the input and its padding, as far as the windows reach."""
    n, h, w, c = input_shape
    rows, columns = canvas_size(out_size, kernel, stride, dilation)
    return np.zeros((n, max(rows, top_left[0] + h), max(columns, top_left[1] + w), c),
                    dtype=dtype)


def inside(padded: np.ndarray, input_shape: tuple[int, ...], top_left: Pair) -> np.ndarray:
    """The input's part of a padded canvas (a view)."""
    top, left = top_left
    return padded[:, top:top + input_shape[1], left:left + input_shape[2]]


def kernel_offsets(padded: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair,
                   out_size: Pair) -> Iterator[tuple[int, int, np.ndarray]]:
    """For each kernel offset (u, v), the strided view of `padded` that it reads in every
    window: (N, H_out, W_out, C), element (n, i, j, c) at row i s_h + u d_h, column j s_w + v d_w.
    The views are writable when `padded` is, so a backward can add into them."""
    for u in range(kernel[0]):
        top = u * dilation[0]
        rows = slice(top, top + stride[0] * (out_size[0] - 1) + 1, stride[0])
        for v in range(kernel[1]):
            left = v * dilation[1]
            columns = slice(left, left + stride[1] * (out_size[1] - 1) + 1, stride[1])
            yield u, v, padded[:, rows, columns]


def pair(value: Any, name: str, owner: str, minimum: int = 1) -> Pair:
    """An int or a pair of ints as a pair, each at least `minimum`, else a ValueError that
    names the option and its owner."""
    values = (value, value) if isinstance(value, int | np.integer) else value
    if (not isinstance(values, tuple | list) or len(values) != 2
            or any(isinstance(v, bool) or not isinstance(v, int | np.integer) for v in values)):
        raise ValueError(f"{owner}: {name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{owner}: {name} must be at least {minimum}, got {value!r}")
    return int(values[0]), int(values[1])


def single(value: Any, name: str, owner: str, minimum: int = 1) -> int:
    """An int (or a 1-tuple of one) at least `minimum`, else a ValueError naming the option."""
    if isinstance(value, tuple | list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{owner}: {name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be at least {minimum}, got {value!r}")
    return int(value)


def same_padding(kernel: Pair, dilation: Pair) -> Padding:
    """The padding that keeps the size at stride 1: d (k - 1) in all, the odd one at the bottom
    and the right, as PyTorch pads for padding="same"."""
    totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
    return (totals[0] // 2, totals[0] - totals[0] // 2), (totals[1] // 2,
                                                          totals[1] - totals[1] // 2)


def symmetric(padding: Pair) -> Padding:
    return (padding[0], padding[0]), (padding[1], padding[1])


def top_left(padding: Padding) -> Pair:
    return padding[0][0], padding[1][0]

