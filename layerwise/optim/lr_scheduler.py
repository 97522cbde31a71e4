"""Learning-rate schedules. Each sets every parameter group's "lr" from a closed formula of
the number of `step()` calls so far (`last_epoch`), so that a schedule restored from
`state_dict` continues exactly where it stopped.

    >>> scheduler = StepLR(optimizer, step_size=10, gamma=0.1)
    >>> for epoch in range(epochs):
    ...     train_one_epoch()
    ...     scheduler.step()
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from layerwise.optim.optimizer import Optimizer, check_count, check_range


class LRScheduler:
    """Base class: subclasses define `lr_at(step, base_lr, group)`.

    Constructing a scheduler sets the learning rate of step 0 (as in PyTorch); each `step()`
    moves to the next.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs an Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._last_lr: list[float] = []
        self.step()

    def lr_at(self, step: int, base_lr: float, group: dict[str, Any]) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step (usually one epoch) and set the new learning rates."""
        self.last_epoch += 1
        for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups, strict=True):
            group["lr"] = self.lr_at(self.last_epoch, base_lr, group)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group after the last step."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (which has a state_dict of its own)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class StepLR(LRScheduler):
    """lr = base_lr * gamma^(floor(step / step_size)): decay by gamma every step_size steps."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        check_range("StepLR", "gamma", gamma)
        self.step_size, self.gamma = check_count("StepLR", "step_size", step_size), gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int, base_lr: float, group: dict[str, Any]) -> float:
        return base_lr * self.gamma ** (step // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma^step."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        check_range("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int, base_lr: float, group: dict[str, Any]) -> float:
        return base_lr * self.gamma**step


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) (1 + cos(pi step / T_max)) / 2: half a cosine from
    base_lr down to eta_min over T_max steps."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        check_range("CosineAnnealingLR", "eta_min", eta_min)
        self.T_max, self.eta_min = check_count("CosineAnnealingLR", "T_max", T_max), eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int, base_lr: float, group: dict[str, Any]) -> float:
        cosine = (1 + math.cos(math.pi * step / self.T_max)) / 2
        return self.eta_min + (base_lr - self.eta_min) * cosine


class LinearLR(LRScheduler):
    """Linear warm-up (or decay): lr = base_lr * f, f going linearly from start_factor to
    end_factor over total_iters steps and staying there."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1) -> None:
        check_range("LinearLR", "start_factor", start_factor, 0.0, 1.0, high_inclusive=True)
        check_range("LinearLR", "end_factor", end_factor, 0.0, 1.0, high_inclusive=True)
        if start_factor == 0:
            raise ValueError("LinearLR: start_factor must be greater than 0")
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = check_count("LinearLR", "total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int, base_lr: float, group: dict[str, Any]) -> float:
        progress = min(step, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


def _per_group(name: str, value: float | Sequence[float], groups: int) -> list[float]:
    """One value per parameter group, from a single value or a sequence of them."""
    values = list(value) if isinstance(value, Sequence) else [value] * groups
    if len(values) != groups:
        raise ValueError(f"OneCycleLR: {len(values)} {name} values for {groups} parameter "
                         f"groups")
    return values


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin), stepped once per batch, as in PyTorch.

    The learning rate rises from max_lr / div_factor to max_lr over the first pct_start of
    total_steps, then anneals to max_lr / (div_factor * final_div_factor); with
    cycle_momentum the momentum (SGD's momentum, Adam's beta1) moves the opposite way between
    max_momentum and base_momentum. three_phase adds a symmetric descent back to the initial
    rate before the final anneal. anneal_strategy is "cos" or "linear".
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | Sequence[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | Sequence[float] = 0.85,
                 max_momentum: float | Sequence[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1) -> None:
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = (check_count("OneCycleLR", "epochs", epochs)
                           * check_count("OneCycleLR", "steps_per_epoch", steps_per_epoch))
        total_steps = check_count("OneCycleLR", "total_steps", total_steps)
        check_range("OneCycleLR", "pct_start", pct_start, 0.0, 1.0, high_inclusive=True)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        groups = optimizer.param_groups
        for name, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            check_range("OneCycleLR", name, value)
            if value == 0:
                raise ValueError(f"OneCycleLR: {name} must be positive, got {value}")
        max_lrs = _per_group("max_lr", max_lr, len(groups))
        for peak in max_lrs:
            check_range("OneCycleLR", "max_lr", peak)
        base_momenta = _per_group("base_momentum", base_momentum, len(groups))
        max_momenta = _per_group("max_momentum", max_momentum, len(groups))
        self.total_steps = total_steps
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = cycle_momentum
        for group, peak, low, high in zip(groups, max_lrs, base_momenta, max_momenta,
                                          strict=True):
            group["initial_lr"] = group["lr"] = peak / div_factor
            group["max_lr"] = peak
            group["min_lr"] = group["initial_lr"] / final_div_factor
            if cycle_momentum:
                if "momentum" not in group and "betas" not in group:
                    raise ValueError("OneCycleLR: cycle_momentum needs an optimizer with "
                                     "momentum or betas; pass cycle_momentum=False")
                group["base_momentum"], group["max_momentum"] = low, high
                self._set_momentum(group, high)
        first_end = float(pct_start * total_steps) - 1
        if three_phase:
            self.phases = [
                (first_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * total_steps) - 2, "max_lr", "initial_lr", "base_momentum",
                 "max_momentum"),
                (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self.phases = [
                (first_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _set_momentum(group: dict[str, Any], value: float) -> None:
        if "betas" in group:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "linear":
            return (end - start) * pct + start
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    def lr_at(self, step: int, base_lr: float, group: dict[str, Any]) -> float:
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, but total_steps is "
                             f"{self.total_steps}")
        start_step = 0.0
        for position, (end_step, lr_from, lr_to, momentum_from, momentum_to) in enumerate(
                self.phases):
            if step <= end_step or position == len(self.phases) - 1:
                pct = (step - start_step) / (end_step - start_step)
                if self.cycle_momentum:
                    self._set_momentum(group, self._anneal(group[momentum_from],
                                                           group[momentum_to], pct))
                return self._anneal(group[lr_from], group[lr_to], pct)
            start_step = end_step
        raise AssertionError("unreachable: the last phase always matches")
