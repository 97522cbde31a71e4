"""RMSprop: divide the gradient by a running root mean square of its recent values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from layerwise.nn.parameter import Parameter
from layerwise.optim.optimizer import Optimizer, check_range


class RMSprop(Optimizer):
    """RMSprop (Hinton), as in PyTorch.

    Algorithm, for each parameter theta with gradient g:
        g <- g + weight_decay * theta
        s <- alpha s + (1 - alpha) g^2
        if centered:  a <- alpha a + (1 - alpha) g;   d = sqrt(s - a^2) + eps
        else:         d = sqrt(s) + eps
        if momentum > 0:  b <- momentum b + g / d;  theta <- theta - lr * b
        else:             theta <- theta - lr * g / d

    Args:
        params: Parameters or parameter groups.
        lr: learning rate (>= 0).
        alpha: smoothing constant in [0, 1].
        eps: added to the denominator (>= 0).
        weight_decay: L2 penalty (>= 0).
        momentum: momentum factor (>= 0).
        centered: normalize by the variance instead of the second moment.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum,
                                  "centered": centered})

    def validate(self, group: dict[str, Any]) -> None:
        for name in ("lr", "eps", "weight_decay", "momentum"):
            check_range("RMSprop", name, group[name])
        check_range("RMSprop", "alpha", group["alpha"], 0.0, 1.0, high_inclusive=True)

    def update(self, param: Parameter, grad: np.ndarray, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        alpha, eps = group["alpha"], group["eps"]
        theta = param.data
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(theta)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(theta)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(theta)
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * theta
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg += (1 - alpha) * (grad - grad_avg)
            denominator = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            denominator = np.sqrt(square_avg)
        denominator += eps
        if group["momentum"] > 0:
            buffer = state["momentum_buffer"]
            buffer *= group["momentum"]
            buffer += grad / denominator
            theta -= group["lr"] * buffer
        else:
            theta -= group["lr"] * (grad / denominator)
