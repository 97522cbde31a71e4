"""Batch normalization: each channel standardized by statistics of the batch (in training) or
of the training set (in evaluation), then scaled and shifted by learned gamma and beta."""

from __future__ import annotations

import numpy as np

from layerwise import jit
from layerwise.ops import norm_loops
from layerwise.ops.base import Op


class BatchNorm(Op):
    """y = gamma x_hat + beta,  x_hat = (x - mu) / sqrt(sigma^2 + eps), per channel (axis 1).

    In training, mu and sigma^2 are the mean and the biased variance of the channel over the
    batch and every other axis (m values per channel), and the running statistics move towards
    them: running_mean <- (1 - momentum) running_mean + momentum mu, and running_var likewise
    with the unbiased variance sigma^2 m / (m - 1), as PyTorch keeps it. In evaluation (or with
    training=False), mu and sigma^2 are the running statistics and nothing is updated.

    Shape: x (N, C) or (N, C, *), gamma and beta (C,) -> y like x.
    Backward, with g = grad_y gamma and sums over a channel's m values:
        training:   grad_x = (m g - sum(g) - x_hat sum(g x_hat)) / (m sqrt(sigma^2 + eps))
                    (mu and sigma^2 depend on x too);
        evaluation: grad_x = g / sqrt(sigma^2 + eps);
        grad_gamma = sum(grad_y x_hat);  grad_beta = sum(grad_y).
    Without gamma and beta (affine=False), y = x_hat; beta alone needs a gamma (ones).

    The op computes on the channels-last rows (M, C) of x (see layerwise.ops.windows), with
    the compiled loops of layerwise.ops.norm_loops when numba is there (two passes each way,
    per-channel sums in float64), else with NumPy.

    Args:
        training: normalize by the batch's statistics (and update the running ones).
        momentum: the weight of the batch in the running statistics.
        eps: added to the variance, so that a constant channel does not divide by 0.
        running_mean, running_var: (C,) arrays updated in place in training, or None to use
            batch statistics only (track_running_stats=False); evaluation needs them.
    """

    def __init__(self, training: bool = True, momentum: float = 0.1, eps: float = 1e-5,
                 running_mean: np.ndarray | None = None,
                 running_var: np.ndarray | None = None) -> None:
        if (running_mean is None) != (running_var is None):
            raise ValueError("batch_norm: give both running_mean and running_var, or neither")
        if not training and running_mean is None:
            raise ValueError("batch_norm: evaluation (training=False) needs running_mean and "
                             "running_var")
        self.training, self.momentum, self.eps = training, momentum, eps
        self.running_mean, self.running_var = running_mean, running_var

    def forward(self, x: np.ndarray, gamma: np.ndarray | None = None,
                beta: np.ndarray | None = None) -> np.ndarray:
        if x.ndim < 2:
            raise ValueError(f"batch_norm expects input (N, C) or (N, C, *); got shape {x.shape}")
        channels = x.shape[1]
        if beta is not None and gamma is None:
            raise ValueError("batch_norm: a bias (beta) needs a weight (gamma); pass ones")
        for name, array in (("weight", gamma), ("bias", beta), ("running_mean",
                            self.running_mean), ("running_var", self.running_var)):
            if array is not None and array.shape != (channels,):
                raise ValueError(f"batch_norm: {name} must have shape ({channels},) for input "
                                 f"of shape {x.shape} (one value per channel), got {array.shape}")
        rows = channels_last(x)  # (M, C): M values of each channel
        count = rows.shape[0]
        self.compiled = jit.enabled
        if self.training:
            if count <= 1:
                raise ValueError(f"batch_norm in training mode needs more than 1 value per "
                                 f"channel to compute a variance, got input of shape {x.shape}")
            if self.compiled:
                mean, variance = norm_loops.statistics(rows)
            else:
                mean = rows.mean(axis=0)
                centered = rows - mean
                variance = np.einsum("mc,mc->c", centered, centered) / count
            if self.running_mean is not None and self.running_var is not None:
                self.running_mean *= 1 - self.momentum
                self.running_mean += self.momentum * mean
                self.running_var *= 1 - self.momentum
                self.running_var += self.momentum * variance * (count / (count - 1))
        else:
            assert self.running_mean is not None and self.running_var is not None
            mean, variance = self.running_mean, self.running_var
            if not self.compiled:
                centered = rows - mean.astype(rows.dtype)
        self.inverse_std = (1.0 / np.sqrt(variance + self.eps)).astype(rows.dtype)
        self.gamma, self.count, self.shape = gamma, count, x.shape
        self.inputs = 1 + (gamma is not None) + (beta is not None)
        if self.compiled:
            self.rows, self.mean = rows, mean
            scale = self.inverse_std if gamma is None else self.inverse_std * gamma
            shift = np.zeros_like(scale) if beta is None else beta
            return from_channels_last(norm_loops.normalize(rows, mean, scale, shift), x.shape)
        self.x_hat = np.multiply(centered, self.inverse_std, out=centered)
        if gamma is None:
            return from_channels_last(self.x_hat, x.shape)
        y = self.x_hat * gamma
        if beta is not None:
            y += beta
        return from_channels_last(y, x.shape)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray | None, ...]:
        count, delta = self.count, channels_last(grad_y)
        gamma = np.ones_like(self.inverse_std) if self.gamma is None else self.gamma
        if self.compiled:
            sums = norm_loops.backward_sums(delta, self.rows, self.mean, self.inverse_std)
            sum_delta, sum_delta_x_hat = (total.astype(delta.dtype) for total in sums)
        else:
            sum_delta = delta.sum(axis=0)  # grad_beta
            sum_delta_x_hat = np.einsum("mc,mc->c", delta, self.x_hat)  # grad_gamma
        grad_x = None
        if self.wants_grad(0):  # g = delta gamma, so sum(g) = gamma sum(delta), and alike
            offset = gamma * sum_delta / count if self.training else np.zeros_like(gamma)
            slope = gamma * sum_delta_x_hat / count if self.training else np.zeros_like(gamma)
            if self.compiled:
                grad_x = norm_loops.backward_input(delta, self.rows, self.mean,
                                                   self.inverse_std, gamma, offset, slope)
            else:
                grad_x = self.x_hat * slope
                np.subtract(delta * gamma, grad_x, out=grad_x)
                grad_x -= offset
                grad_x *= self.inverse_std
            grad_x = from_channels_last(grad_x.astype(grad_y.dtype, copy=False), self.shape)
        grad_gamma = sum_delta_x_hat if self.inputs > 1 and self.wants_grad(1) else None
        grad_beta = sum_delta if self.inputs > 2 and self.wants_grad(2) else None
        return (grad_x, grad_gamma, grad_beta)[:self.inputs]


def channels_last(x: np.ndarray) -> np.ndarray:
    """(N, C, *) as (M, C), one row per value of a channel: a view when x's memory is
    channels-last already (the output of a spatial op, or (N, C)), else a copy."""
    return np.ascontiguousarray(np.moveaxis(x, 1, -1)).reshape(-1, x.shape[1])


def from_channels_last(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of channels_last: (M, C) back to (N, C, *), as a view."""
    return np.moveaxis(rows.reshape(shape[0], *shape[2:], shape[1]), -1, 1)
