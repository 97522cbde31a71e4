"""Adagrad: step sizes shrink with the sum of all past squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from layerwise.nn.parameter import Parameter
from layerwise.optim.optimizer import Optimizer, check_range


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), as in PyTorch.

    Algorithm, for each parameter theta with gradient g, at step t = 1, 2, ...:
        g <- g + weight_decay * theta
        lr_t = lr / (1 + (t - 1) lr_decay)
        s <- s + g^2                               (s starts at initial_accumulator_value)
        theta <- theta - lr_t * g / (sqrt(s) + eps)

    Args:
        params: Parameters or parameter groups.
        lr: learning rate (>= 0).
        lr_decay: learning-rate decay (>= 0).
        weight_decay: L2 penalty (>= 0).
        initial_accumulator_value: start of s (>= 0).
        eps: added to the denominator (>= 0).
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10) -> None:
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "eps": eps})

    def validate(self, group: dict[str, Any]) -> None:
        for name in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_range("Adagrad", name, group[name])

    def update(self, param: Parameter, grad: np.ndarray, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        theta = param.data
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(theta, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * theta
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        denominator = np.sqrt(state["sum"])
        denominator += group["eps"]
        theta -= lr * (grad / denominator)
