"""Non-linearities. Element-wise ones have a diagonal Jacobian, so their backward is
grad_x = grad_y * f'(x); softmax and log_softmax couple the values along one axis."""

from __future__ import annotations

import math

import numpy as np

from layerwise.ops.base import Op, normalize_axes
from layerwise.ops.special import normal_cdf


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) without overflow: e^x / (1 + e^x) is used for negative x."""
    exp_neg_abs = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, exp_neg_abs) / (1 + exp_neg_abs)


class ReLU(Op):
    """y = max(x, 0).

    Backward: grad_x = grad_y where x > 0, else 0. At the kink x = 0 the gradient is 0
    (as in PyTorch).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.positive = x > 0
        return np.maximum(x, 0, dtype=x.dtype)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * self.positive,)


class LeakyReLU(Op):
    """y = x for x > 0, negative_slope * x otherwise.

    Backward: grad_x = grad_y for x > 0, negative_slope * grad_y otherwise; at x = 0 the
    slope is negative_slope (as in PyTorch).
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = negative_slope

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.positive = x > 0
        return np.where(self.positive, x, x * self.negative_slope)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (np.where(self.positive, grad_y, grad_y * self.negative_slope),)


class ELU(Op):
    """y = x for x > 0, alpha (e^x - 1) otherwise.

    Backward: grad_x = grad_y for x > 0, grad_y * alpha e^x = grad_y (y + alpha) otherwise; at
    x = 0 the slope is alpha (as in PyTorch).
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.positive = x > 0
        self.y = np.where(self.positive, x, self.alpha * np.expm1(np.minimum(x, 0)))
        return self.y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (np.where(self.positive, grad_y, grad_y * (self.y + self.alpha)),)


class GELU(Op):
    """y = x Phi(x), Phi the standard normal CDF (approximate="none"), or the tanh form
    y = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (approximate="tanh").

    Backward: grad_x = grad_y (Phi(x) + x phi(x)), phi the normal density; for the tanh form
    grad_x = grad_y (1/2 (1 + t) + x/2 (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)).
    """

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        if self.approximate == "tanh":
            self.t = np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))
            return 0.5 * x * (1 + self.t)
        self.cdf = normal_cdf(x)
        return x * self.cdf

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        x = self.x
        if self.approximate == "tanh":
            t = self.t
            inner = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x**2)
            return (grad_y * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner),)
        density = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return (grad_y * (self.cdf + x * density),)


class Sigmoid(Op):
    """y = 1 / (1 + e^-x), computed without overflow for any x.

    Backward: grad_x = grad_y * y (1 - y), the diagonal of the lecture's sigma(1 - sigma)
    Jacobian.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = stable_sigmoid(x)
        return self.y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * self.y * (1 - self.y),)


class Tanh(Op):
    """y = tanh x.  Backward: grad_x = grad_y (1 - y^2)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = np.tanh(x)
        return self.y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * (1 - self.y * self.y),)


class Softplus(Op):
    """y = log(1 + e^(beta x)) / beta, and y = x where beta x > threshold (as in PyTorch).

    Computed as max(beta x, 0) + log1p(e^-|beta x|), which never overflows.
    Backward: grad_x = grad_y * sigmoid(beta x) (1 above the threshold).
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        if beta <= 0:
            raise ValueError(f"softplus: beta must be positive, got {beta}")
        self.beta, self.threshold = beta, threshold

    def forward(self, x: np.ndarray) -> np.ndarray:
        scaled = self.beta * x
        self.linear = scaled > self.threshold
        self.scaled = scaled
        smooth = (np.maximum(scaled, 0) + np.log1p(np.exp(-np.abs(scaled)))) / self.beta
        return np.where(self.linear, x, smooth)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (np.where(self.linear, grad_y, grad_y * stable_sigmoid(self.scaled)),)


class Softmax(Op):
    """y_i = e^(x_i) / sum_j e^(x_j) along `axis`; x - max(x) is exponentiated, so any
    finite logits (also +-1000) give finite probabilities.

    Backward: grad_x = y * (grad_y - sum_j grad_y_j y_j), the product of grad_y with the
    Jacobian diag(y) - y y^T.
    """

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, x: np.ndarray) -> np.ndarray:
        normalize_axes(self.axis, x.ndim, "softmax")
        exps = np.exp(x - x.max(axis=self.axis, keepdims=True))
        exps /= exps.sum(axis=self.axis, keepdims=True)
        self.y = exps
        return exps

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        y = self.y
        return (y * (grad_y - (grad_y * y).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Op):
    """y_i = x_i - log sum_j e^(x_j) along `axis` (shifted by max(x), so it never overflows).

    Backward: grad_x = grad_y - softmax(x) * sum_j grad_y_j.
    """

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, x: np.ndarray) -> np.ndarray:
        normalize_axes(self.axis, x.ndim, "log_softmax")
        shifted = x - x.max(axis=self.axis, keepdims=True)
        shifted -= np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))
        self.y = shifted
        return shifted

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y - np.exp(self.y) * grad_y.sum(axis=self.axis, keepdims=True),)
