"""Batch normalization: each channel standardized by statistics of the batch (in training) or
of the training set (in evaluation), then scaled and shifted by learned gamma and beta."""

from __future__ import annotations

import numpy as np

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
        axes = (0, *range(2, x.ndim))
        count = x.size // channels if channels else 0
        shape = (1, channels) + (1,) * (x.ndim - 2)
        if self.training:
            if count <= 1:
                raise ValueError(f"batch_norm in training mode needs more than 1 value per "
                                 f"channel to compute a variance, got input of shape {x.shape}")
            mean = x.mean(axis=axes)
            centered = x - mean.reshape(shape)
            variance = np.mean(np.square(centered), axis=axes)
            if self.running_mean is not None and self.running_var is not None:
                self.running_mean *= 1 - self.momentum
                self.running_mean += self.momentum * mean
                self.running_var *= 1 - self.momentum
                self.running_var += self.momentum * variance * (count / (count - 1))
        else:
            assert self.running_mean is not None and self.running_var is not None
            mean, variance = self.running_mean, self.running_var
            centered = x - mean.reshape(shape)
        self.inverse_std = (1.0 / np.sqrt(variance + self.eps)).astype(x.dtype).reshape(shape)
        self.x_hat = centered * self.inverse_std
        self.gamma, self.count = gamma, count
        self.inputs = 1 + (gamma is not None) + (beta is not None)
        if gamma is None:
            return self.x_hat
        y = self.x_hat * gamma.reshape(shape)
        if beta is not None:
            y += beta.reshape(shape)
        return y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x_hat, shape = self.x_hat, self.inverse_std.shape
        axes = (0, *range(2, grad_y.ndim))
        grad_x = grad_gamma = grad_beta = None
        if self.wants_grad(0):
            g = grad_y if self.gamma is None else grad_y * self.gamma.reshape(shape)
            if self.training:
                sum_g = g.sum(axis=axes).reshape(shape)
                sum_g_x_hat = (g * x_hat).sum(axis=axes).reshape(shape)
                grad_x = (g - sum_g / self.count - x_hat * (sum_g_x_hat / self.count)) \
                    * self.inverse_std
            else:
                grad_x = g * self.inverse_std
        if self.inputs > 1 and self.wants_grad(1):
            grad_gamma = (grad_y * x_hat).sum(axis=axes)
        if self.inputs > 2 and self.wants_grad(2):
            grad_beta = grad_y.sum(axis=axes)
        return (grad_x, grad_gamma, grad_beta)[:self.inputs]
