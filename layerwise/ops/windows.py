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


def pad(x: np.ndarray, padding: Padding, extra: Pair = (0, 0), value: Any = 0) -> np.ndarray:
    """Channels-last `x` with `padding` rows and columns of `value` around it, and `extra`
    more at the bottom and the right (room for ceil_mode's last windows); `x` when none."""
    (top, bottom), (left, right) = padding
    bottom, right = bottom + extra[0], right + extra[1]
    if top == bottom == left == right == 0:
        return x
    n, h, w, c = x.shape
    padded = np.full((n, top + h + bottom, left + w + right, c), value, dtype=x.dtype)
    padded[:, top:top + h, left:left + w] = x
    return padded


def unpad(padded: np.ndarray, padding: Padding, size: Pair) -> np.ndarray:
    """The inside of a padded channels-last array: the `size` rows and columns after the top
    and left padding."""
    (top, _), (left, _) = padding
    if padded.shape[1:3] == size:
        return padded
    return padded[:, top:top + size[0], left:left + size[1]]


def windows(padded: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair,
            out_size: Pair) -> np.ndarray:
    """A read-only view (N, H_out, W_out, k_h, k_w, C) of every window of a channels-last
    array; no value is copied."""
    sn, sh, sw, sc = padded.strides
    shape = (padded.shape[0], *out_size, *kernel, padded.shape[3])
    strides = (sn, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1], sc)
    return as_strided(padded, shape, strides, writeable=False)


def im2col(padded: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair,
           out_size: Pair) -> np.ndarray:
    """Each window as a row: (N H_out W_out, k_h k_w C), ordered (u, v, c) within a row."""
    n, c = padded.shape[0], padded.shape[3]
    cols = np.empty((n, *out_size, *kernel, c), dtype=padded.dtype)
    for u, v, rows in kernel_offsets(padded, kernel, stride, dilation, out_size):
        cols[:, :, :, u, v] = rows
    return cols.reshape(n * out_size[0] * out_size[1], kernel[0] * kernel[1] * c)


def col2im(cols: np.ndarray, padded_shape: tuple[int, ...], stride: Pair,
           dilation: Pair) -> np.ndarray:
    """The adjoint of im2col: every row's values added back where they came from.

    `cols` is (N, H_out, W_out, k_h, k_w, C); an input value that lies in several windows
    receives the sum of their entries. Returns the padded channels-last gradient.
    """
    out_size, kernel = cols.shape[1:3], cols.shape[3:5]
    padded = np.zeros(padded_shape, dtype=cols.dtype)
    for u, v, target in kernel_offsets(padded, kernel, stride, dilation, out_size):
        target += cols[:, :, :, u, v]
    return padded


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

