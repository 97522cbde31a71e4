"""Compiled loops of batch normalization (see layerwise.jit): two passes over a channel's values
for the forward (the statistics, then the output) and two for the backward (the two sums, then
grad_x), where the NumPy path makes about ten. Each works on the channels-last rows (M, C) of
layerwise.ops.normalization, with the per-channel sums in float64.

x_hat is not kept between forward and backward: the backward computes it again from x, the mean
and 1 / sqrt(var + eps), which saves writing and reading an array the size of x.

The sums run in another order than NumPy's, so the compiled and the NumPy paths agree to the
rounding of the input's dtype, not bit for bit (tests/test_window_loops.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from layerwise.jit import compile_loop


def _statistics_loop(rows: np.ndarray, mean: np.ndarray, variance: np.ndarray) -> None:
    """The biased variance from the deviations (two passes), not from E[x^2] - mean^2."""
    count, channels = rows.shape
    for j in range(channels):
        mean[j] = 0.0
        variance[j] = 0.0
    for i in range(count):
        for j in range(channels):
            mean[j] += rows[i, j]
    for j in range(channels):
        mean[j] /= count
    for i in range(count):
        for j in range(channels):
            deviation = rows[i, j] - mean[j]
            variance[j] += deviation * deviation
    for j in range(channels):
        variance[j] /= count


def _normalize_loop(rows: np.ndarray, mean: np.ndarray, scale: np.ndarray, shift: np.ndarray,
                    out: np.ndarray) -> None:
    """out = (x - mean) scale + shift, scale = gamma / sqrt(var + eps), shift = beta."""
    count, channels = rows.shape
    for i in range(count):
        for j in range(channels):
            out[i, j] = (rows[i, j] - mean[j]) * scale[j] + shift[j]


def _backward_sums_loop(delta: np.ndarray, rows: np.ndarray, mean: np.ndarray,
                        inverse_std: np.ndarray, sum_delta: np.ndarray,
                        sum_delta_x_hat: np.ndarray) -> None:
    count, channels = rows.shape
    for j in range(channels):
        sum_delta[j] = 0.0
        sum_delta_x_hat[j] = 0.0
    for i in range(count):
        for j in range(channels):
            sum_delta[j] += delta[i, j]
            sum_delta_x_hat[j] += delta[i, j] * ((rows[i, j] - mean[j]) * inverse_std[j])


def _backward_input_loop(delta: np.ndarray, rows: np.ndarray, mean: np.ndarray,
                         inverse_std: np.ndarray, gamma: np.ndarray, offset: np.ndarray,
                         slope: np.ndarray, grad_x: np.ndarray) -> None:
    """grad_x = (delta gamma - offset - x_hat slope) / sqrt(var + eps)."""
    count, channels = rows.shape
    for i in range(count):
        for j in range(channels):
            x_hat = (rows[i, j] - mean[j]) * inverse_std[j]
            grad_x[i, j] = (delta[i, j] * gamma[j] - offset[j] - x_hat * slope[j]) \
                * inverse_std[j]


@functools.cache
def _compiled(name: str) -> Callable[..., Any]:
    loops: dict[str, Callable[..., None]] = {
        "statistics": _statistics_loop, "normalize": _normalize_loop,
        "backward_sums": _backward_sums_loop, "backward_input": _backward_input_loop}
    return compile_loop(loops[name])


def statistics(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each channel's mean and biased variance, in float64."""
    mean = np.empty(rows.shape[1])
    variance = np.empty(rows.shape[1])
    _compiled("statistics")(rows, mean, variance)
    return mean, variance


def normalize(rows: np.ndarray, mean: np.ndarray, scale: np.ndarray,
              shift: np.ndarray) -> np.ndarray:
    out = np.empty_like(rows)
    _compiled("normalize")(rows, mean.astype(rows.dtype), scale.astype(rows.dtype),
                           shift.astype(rows.dtype), out)
    return out


def backward_sums(delta: np.ndarray, rows: np.ndarray, mean: np.ndarray,
                  inverse_std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: sum of delta (grad_beta) and sum of delta x_hat (grad_gamma), in float64."""
    sum_delta = np.empty(rows.shape[1])
    sum_delta_x_hat = np.empty(rows.shape[1])
    _compiled("backward_sums")(delta, rows, mean.astype(rows.dtype),
                               inverse_std.astype(rows.dtype), sum_delta, sum_delta_x_hat)
    return sum_delta, sum_delta_x_hat


def backward_input(delta: np.ndarray, rows: np.ndarray, mean: np.ndarray,
                   inverse_std: np.ndarray, gamma: np.ndarray, offset: np.ndarray,
                   slope: np.ndarray) -> np.ndarray:
    grad_x = np.empty_like(rows)
    dtype = rows.dtype
    _compiled("backward_input")(delta, rows, mean.astype(dtype), inverse_std.astype(dtype),
                                gamma.astype(dtype), offset.astype(dtype), slope.astype(dtype),
                                grad_x)
    return grad_x
