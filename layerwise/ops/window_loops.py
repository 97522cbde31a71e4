"""Compiled loops over windows for im2col, col2im and max pooling (see layerwise.jit).

Each loop walks channels-last arrays once, reading the input where NumPy would first copy it
into a padded canvas and then again into windows: positions outside the input (the padding)
are skipped by a bounds check instead. The loops do the NumPy paths' arithmetic in the same
order, so both give the same numbers.

Names: x (N, H, W, C) the input; windows at output (i, j) read rows i s_h + u d_h - top and
columns j s_w + v d_w - left; cols has a row p = (n H_out + i) W_out + j per window, holding
its values in the order (u, v, c) (and possibly more columns after them, left alone).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from layerwise.jit import compile_loop


def _im2col_loop(x: np.ndarray, cols: np.ndarray, k_h: int, k_w: int, out_h: int, out_w: int,
                 stride_h: int, stride_w: int, dilation_h: int, dilation_w: int, top: int,
                 left: int) -> None:
    n_count, height, width, channels = x.shape
    for n in range(n_count):
        for i in range(out_h):
            for j in range(out_w):
                p = (n * out_h + i) * out_w + j
                for u in range(k_h):
                    row = i * stride_h + u * dilation_h - top
                    for v in range(k_w):
                        column = j * stride_w + v * dilation_w - left
                        start = (u * k_w + v) * channels
                        if 0 <= row < height and 0 <= column < width:
                            for c in range(channels):
                                cols[p, start + c] = x[n, row, column, c]
                        else:
                            for c in range(channels):
                                cols[p, start + c] = 0


def _col2im_loop(cols: np.ndarray, grad_x: np.ndarray, k_h: int, k_w: int, out_h: int,
                 out_w: int, stride_h: int, stride_w: int, dilation_h: int, dilation_w: int,
                 top: int, left: int) -> None:
    n_count, height, width, channels = grad_x.shape
    # Kernel offsets outermost: the additions into each input value come in the order of the
    # NumPy path, one offset after another.
    for u in range(k_h):
        for v in range(k_w):
            start = (u * k_w + v) * channels
            for n in range(n_count):
                for i in range(out_h):
                    row = i * stride_h + u * dilation_h - top
                    if row < 0 or row >= height:
                        continue
                    for j in range(out_w):
                        column = j * stride_w + v * dilation_w - left
                        if 0 <= column < width:
                            p = (n * out_h + i) * out_w + j
                            for c in range(channels):
                                grad_x[n, row, column, c] += cols[p, start + c]


def _max_pool_loop(x: np.ndarray, out: np.ndarray, argmax: np.ndarray, k_h: int, k_w: int,
                   stride_h: int, stride_w: int, dilation_h: int, dilation_w: int, top: int,
                   left: int) -> None:
    """out = the maximum of each window, argmax = its position u k_w + v in the window: the
    first maximum in row-major order, or the first NaN (NumPy's argmax rule)."""
    n_count, out_h, out_w, channels = out.shape
    height, width = x.shape[1], x.shape[2]
    for n in range(n_count):
        for i in range(out_h):
            for j in range(out_w):
                for c in range(channels):
                    out[n, i, j, c] = -np.inf
                    argmax[n, i, j, c] = -1
                for u in range(k_h):
                    row = i * stride_h + u * dilation_h - top
                    for v in range(k_w):
                        column = j * stride_w + v * dilation_w - left
                        position = u * k_w + v
                        inside = 0 <= row < height and 0 <= column < width
                        for c in range(channels):
                            value = x[n, row, column, c] if inside else -np.inf
                            best = out[n, i, j, c]
                            if argmax[n, i, j, c] < 0 or value > best or (
                                    value != value and best == best):
                                out[n, i, j, c] = value
                                argmax[n, i, j, c] = position


def _max_pool_backward_loop(grad_out: np.ndarray, argmax: np.ndarray, grad_x: np.ndarray,
                            k_h: int, k_w: int, stride_h: int, stride_w: int, dilation_h: int,
                            dilation_w: int, top: int, left: int) -> None:
    n_count, out_h, out_w, channels = grad_out.shape
    height, width = grad_x.shape[1], grad_x.shape[2]
    if stride_h > dilation_h * (k_h - 1) and stride_w > dilation_w * (k_w - 1):
        # Windows that do not overlap: each input value gets at most one gradient, so the
        # order of the additions does not matter; go through the input row by row.
        for n in range(n_count):
            for i in range(out_h):
                for u in range(k_h):
                    row = i * stride_h + u * dilation_h - top
                    if row < 0 or row >= height:
                        continue
                    for j in range(out_w):
                        for v in range(k_w):
                            column = j * stride_w + v * dilation_w - left
                            if column < 0 or column >= width:
                                continue
                            position = u * k_w + v
                            for c in range(channels):
                                if argmax[n, i, j, c] == position:
                                    grad_x[n, row, column, c] += grad_out[n, i, j, c]
        return
    # Offset by offset, as the NumPy path adds, so that overlapping windows sum in its order.
    for u in range(k_h):
        for v in range(k_w):
            position = u * k_w + v
            for n in range(n_count):
                for i in range(out_h):
                    row = i * stride_h + u * dilation_h - top
                    if row < 0 or row >= height:
                        continue
                    for j in range(out_w):
                        column = j * stride_w + v * dilation_w - left
                        if column < 0 or column >= width:
                            continue
                        for c in range(channels):
                            if argmax[n, i, j, c] == position:
                                grad_x[n, row, column, c] += grad_out[n, i, j, c]


@functools.cache
def _compiled(name: str) -> Callable[..., Any]:
    loops: dict[str, Callable[..., None]] = {
        "im2col": _im2col_loop, "col2im": _col2im_loop, "max_pool": _max_pool_loop,
        "max_pool_backward": _max_pool_backward_loop}
    return compile_loop(loops[name])


def im2col(x: np.ndarray, cols: np.ndarray, *geometry: int) -> None:
    _compiled("im2col")(x, cols, *geometry)


def col2im(cols: np.ndarray, grad_x: np.ndarray, *geometry: int) -> None:
    _compiled("col2im")(cols, grad_x, *geometry)


def max_pool(x: np.ndarray, out: np.ndarray, argmax: np.ndarray, *geometry: int) -> None:
    _compiled("max_pool")(x, out, argmax, *geometry)


def max_pool_backward(grad_out: np.ndarray, argmax: np.ndarray, grad_x: np.ndarray,
                      *geometry: int) -> None:
    _compiled("max_pool_backward")(grad_out, argmax, grad_x, *geometry)
