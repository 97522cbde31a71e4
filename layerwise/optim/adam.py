"""Adam and AdamW: per-parameter step sizes from running moments of the gradient."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from layerwise.nn.parameter import Parameter
from layerwise.optim import fused as fused_kernels
from layerwise.optim.optimizer import Optimizer, check_range


class Adam(Optimizer):
    """Adam (Kingma & Ba), as in PyTorch.

    Algorithm, for each parameter theta with gradient g, at step t = 1, 2, ...:
        g <- g + weight_decay * theta                 (L2 penalty; AdamW decouples it)
        m <- beta1 m + (1 - beta1) g                   (first moment)
        v <- beta2 v + (1 - beta2) g^2                 (second moment)
        v_max <- max(v_max, v), used instead of v   if amsgrad
        theta <- theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    Args:
        params: Parameters or parameter groups.
        lr: learning rate (>= 0).
        betas: (beta1, beta2), each in [0, 1).
        eps: added to the denominator (>= 0).
        weight_decay: L2 penalty (>= 0).
        amsgrad: use the running maximum of v (Reddi et al.).
        fused: update with one compiled pass over memory (layerwise.optim.fused) when numba
            is installed (None, the default), always (True) or never (False). Both paths
            compute the same numbers.
    """

    decoupled_weight_decay = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False,
                 fused: bool | None = None) -> None:
        if fused and not fused_kernels.AVAILABLE:
            raise ValueError(f"{type(self).__name__}: fused=True needs numba (pip install "
                             f"'layerwise[fast]')")
        self.fused = fused_kernels.AVAILABLE if fused is None else fused
        self._scalars_key: tuple[Any, ...] | None = None
        self._scalars: tuple[np.floating, ...] = ()
        if not isinstance(betas, tuple | list):
            raise ValueError(f"{type(self).__name__}: betas must be a pair (beta1, beta2), "
                             f"got {betas!r}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad})

    def validate(self, group: dict[str, Any]) -> None:
        name = type(self).__name__
        check_range(name, "lr", group["lr"])
        check_range(name, "eps", group["eps"])
        check_range(name, "weight_decay", group["weight_decay"])
        betas = group["betas"]
        if len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        check_range(name, "betas[0]", betas[0], 0.0, 1.0)
        check_range(name, "betas[1]", betas[1], 0.0, 1.0)

    def update(self, param: Parameter, grad: np.ndarray, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay = group["weight_decay"]
        theta = param.data
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(theta)
            state["exp_avg_sq"] = np.zeros_like(theta)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(theta)
        state["step"] += 1
        step = state["step"]
        if self.fused and self._fused_update(theta, grad, state, group):
            return
        if weight_decay:
            if self.decoupled_weight_decay:
                theta *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * theta
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg += (1 - beta1) * (grad - exp_avg)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            exp_avg_sq = state["max_exp_avg_sq"]
        step_size = lr / (1 - beta1**step)
        denominator = np.sqrt(exp_avg_sq)
        denominator /= math.sqrt(1 - beta2**step)
        denominator += eps
        np.divide(exp_avg, denominator, out=denominator)
        denominator *= step_size
        theta -= denominator

    def _fused_update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                      group: dict[str, Any]) -> bool:
        """The same update in one compiled pass; False where the kernel does not apply
        (amsgrad, L2 weight decay, arrays that are not contiguous)."""
        if group["amsgrad"] or (group["weight_decay"] and not self.decoupled_weight_decay):
            return False
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        if grad.dtype != theta.dtype or not grad.flags.c_contiguous:
            grad = np.ascontiguousarray(grad, dtype=theta.dtype)
        if not (theta.flags.c_contiguous and exp_avg.flags.c_contiguous
                and exp_avg_sq.flags.c_contiguous):
            return False
        fused_kernels.adam_kernel()(theta.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1),
                                    exp_avg_sq.reshape(-1),
                                    *self._kernel_scalars(group, state["step"], theta.dtype))
        return True

    def _kernel_scalars(self, group: dict[str, Any], step: int,
                        dtype: np.dtype) -> tuple[np.floating, ...]:
        """The kernel's constants in the parameter's dtype. Every parameter of a group shares
        them at a step, so they are computed once and reused until a hyperparameter changes."""
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        key = (lr, beta1, beta2, eps, group["weight_decay"], step, dtype)
        if key != self._scalars_key:
            scalar = dtype.type
            self._scalars_key = key
            self._scalars = (
                scalar(1 - lr * group["weight_decay"]), scalar(1 - beta1), scalar(beta2),
                scalar(1 - beta2), scalar(math.sqrt(1 - beta2**step)), scalar(eps),
                scalar(lr / (1 - beta1**step)))
        return self._scalars


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as in PyTorch.

    Algorithm: theta <- theta (1 - lr * weight_decay) before the Adam step, which then sees
    the plain gradient (no L2 term). Same arguments as Adam; weight_decay defaults to 0.01.
    """

    decoupled_weight_decay = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, fused)
