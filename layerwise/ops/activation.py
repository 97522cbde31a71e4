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


# --- activations (SiLU, Hardtanh, LogSigmoid, Softsign, SELU, CELU, Mish, Hardswish,
# Hardsigmoid, Threshold) ---

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class SiLU(Op):
    """y = x sigmoid(x), the swish.

    Backward: grad_x = grad_y s (1 + x (1 - s)), s = sigmoid(x); finite for any x, since
    sigmoid never overflows.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x, self.s = x, stable_sigmoid(x)
        return x * self.s

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        s = self.s
        return (grad_y * s * (1 + self.x * (1 - s)),)


class Hardtanh(Op):
    """y = min(max(x, min_val), max_val); relu6 is hardtanh(x, 0, 6).

    Backward: grad_x = grad_y where min_val < x < max_val, else 0. At both kinks the gradient
    is 0 (as in PyTorch, unlike clamp, whose gradient there is 1). Integer input stays integer.
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.inside = (x > self.min_val) & (x < self.max_val)
        return np.clip(x, self.min_val, self.max_val).astype(x.dtype, copy=False)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * self.inside,)


class LogSigmoid(Op):
    """y = log sigmoid(x) = -softplus(-x), computed as min(x, 0) - log1p(e^-|x|), which is
    exact for large |x| (log sigmoid(-1000) = -1000, log sigmoid(1000) = 0) and never overflows.

    Backward: grad_x = grad_y (1 - sigmoid(x)) = grad_y sigmoid(-x).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * stable_sigmoid(-self.x),)


class Softsign(Op):
    """y = x / (1 + |x|).  Backward: grad_x = grad_y / (1 + |x|)^2 (1 at x = 0, smooth there)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.denominator = 1 + np.abs(x)
        return x / self.denominator

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y / (self.denominator * self.denominator),)


class SELU(Op):
    """y = scale * (x for x > 0, alpha (e^x - 1) otherwise), alpha = 1.6732632423543772,
    scale = 1.0507009873554805 (the self-normalizing constants).

    Backward: grad_x = scale grad_y for x > 0, grad_y (y + scale alpha) otherwise; at x = 0 the
    slope is scale alpha (as in PyTorch). e^x is taken of min(x, 0), so it never overflows.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.positive = x > 0
        self.y = SELU_SCALE * np.where(self.positive, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))
        return self.y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        negative_slope = self.y + SELU_SCALE * SELU_ALPHA
        return (np.where(self.positive, SELU_SCALE * grad_y, grad_y * negative_slope),)


class CELU(Op):
    """y = x for x > 0, alpha (e^(x / alpha) - 1) otherwise (continuously differentiable at
    0 for every alpha, unlike ELU).

    Backward: grad_x = grad_y for x > 0, grad_y e^(x / alpha) = grad_y (y / alpha + 1)
    otherwise; at x = 0 the slope is 1. e^ is taken of min(x, 0) / alpha: no overflow.
    """

    def __init__(self, alpha: float = 1.0) -> None:
        if alpha == 0:
            raise ValueError("celu: alpha must not be 0 (it divides x)")
        self.alpha = alpha

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.positive = x > 0
        self.exp = np.exp(np.minimum(x, 0) / self.alpha)
        return np.where(self.positive, x, self.alpha * (self.exp - 1))

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (np.where(self.positive, grad_y, grad_y * self.exp),)


class Mish(Op):
    """y = x tanh(softplus(x)), softplus(x) = log(1 + e^x) computed without overflow.

    Backward: grad_x = grad_y (t + x sigmoid(x) (1 - t^2)), t = tanh(softplus(x)).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        self.t = np.tanh(np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))))
        return x * self.t

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        t = self.t
        return (grad_y * (t + self.x * stable_sigmoid(self.x) * (1 - t * t)),)


class Hardswish(Op):
    """y = x relu6(x + 3) / 6: 0 for x <= -3, x for x >= 3, x (x + 3) / 6 between.

    Backward: grad_x = grad_y (2x + 3) / 6 for -3 < x < 3, grad_y for x >= 3, 0 for x <= -3;
    at x = -3 the gradient is 0 and at x = 3 it is 1 (as in PyTorch).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x * np.clip(x + 3, 0, 6) / 6

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        x = self.x
        slope = np.where(x >= 3, 1.0, np.where(x > -3, (2 * x + 3) / 6, 0.0))
        return (grad_y * slope,)


class Hardsigmoid(Op):
    """y = relu6(x + 3) / 6: 0 for x <= -3, 1 for x >= 3, x / 6 + 1/2 between.

    Backward: grad_x = grad_y / 6 for -3 < x < 3, else 0; at both kinks the gradient is 0
    (as in PyTorch).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.inside = (x > -3) & (x < 3)
        return np.clip(x + 3, 0, 6) / 6

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * self.inside / 6,)


class Threshold(Op):
    """y = x where x > threshold, else value (both given). Integer input stays integer.

    Backward: grad_x = grad_y where x > threshold, else 0 (0 at x = threshold, as in PyTorch).
    """

    def __init__(self, threshold: float, value: float) -> None:
        self.threshold, self.value = threshold, value

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.above = x > self.threshold
        return np.where(self.above, x, np.asarray(self.value).astype(x.dtype))

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * self.above,)


class PReLU(Op):
    """y = x for x > 0, w x otherwise, with a learned slope w: one for all values (w of shape
    (1,)) or one per channel (w of shape (C,), C = dim 1 of x).

    Backward: grad_x = grad_y for x > 0, w grad_y otherwise (the slope at x = 0 is w, as in
    PyTorch); grad_w = sum of grad_y x over the values with x <= 0 (of each channel).
    """

    def forward(self, x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        self.x, self.weight_shape = x, weight.shape
        self.slope = weight.reshape(()) if weight.size == 1 else weight.reshape(
            (weight.size,) + (1,) * (x.ndim - 2))
        self.positive = x > 0
        return np.where(self.positive, x, self.slope * x)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        grad_x = np.where(self.positive, grad_y, grad_y * self.slope)
        grad_slope = np.where(self.positive, 0, grad_y * self.x)
        if len(self.weight_shape) and self.weight_shape[0] > 1:
            axes = tuple(axis for axis in range(grad_slope.ndim) if axis != 1)
            grad_w = grad_slope.sum(axis=axes)
        else:
            grad_w = np.asarray(grad_slope.sum())
        return grad_x, grad_w.reshape(self.weight_shape)
