"""Learning-rate schedules. Each sets every parameter group's "lr" from a closed formula of
the number of `step()` calls so far (`last_epoch`), so that a schedule restored from
`state_dict` continues exactly where it stopped.

    >>> scheduler = StepLR(optimizer, step_size=10, gamma=0.1)
    >>> for epoch in range(epochs):
    ...     train_one_epoch()
    ...     scheduler.step()
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

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


# --- schedules added for PyTorch breadth: MultiStepLR, LambdaLR, MultiplicativeLR, ConstantLR,
# SequentialLR, ChainedScheduler, CosineAnnealingWarmRestarts, PolynomialLR, ReduceLROnPlateau

def _check_non_negative_int(owner: str, name: str, value: object) -> int:
    """`value` as an int >= 0 (NumPy integers too), or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{owner}: {name} must be an integer >= 0, got {value!r}")
    return int(value)


def _lambdas(owner: str, lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
             groups: int) -> list[Callable[[int], float]]:
    """One function per parameter group, from a single function or a list of them."""
    if callable(lr_lambda):
        functions = [lr_lambda] * groups
    elif isinstance(lr_lambda, list | tuple):
        functions = list(lr_lambda)
    else:
        raise TypeError(f"{owner}: lr_lambda must be a function of the step or a list of them, "
                        f"got {type(lr_lambda).__name__}")
    if len(functions) != groups:
        raise ValueError(f"{owner}: {len(functions)} lr_lambda functions for {groups} "
                         f"parameter groups")
    for function in functions:
        if not callable(function):
            raise TypeError(f"{owner}: lr_lambda must be a function of the step, got "
                            f"{type(function).__name__}")
    return functions


def _group_index(optimizer: Optimizer, group: dict[str, Any]) -> int:
    return next(index for index, each in enumerate(optimizer.param_groups) if each is group)


class MultiStepLR(LRScheduler):
    """lr = base_lr * gamma^(number of milestones <= step): decay by gamma at each milestone (a
    milestone listed twice decays twice, as in PyTorch)."""

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        check_range("MultiStepLR", "gamma", gamma)
        if isinstance(milestones, str) or not isinstance(milestones, Iterable):
            raise ValueError(f"MultiStepLR: milestones must be a list of integers >= 0, got "
                             f"{milestones!r}")
        self.milestones = sorted(_check_non_negative_int("MultiStepLR", "milestones", each)
                                 for each in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int, base_lr: float, group: dict[str, Any]) -> float:
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, step)


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(step), one function for every group or one per group.

    The functions are code, not state: `state_dict()` leaves them out, so a resumed schedule is
    built with the same functions and then loads its state.
    """

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        self.lr_lambdas = _lambdas("LambdaLR", lr_lambda, len(optimizer.param_groups)
                                   if isinstance(optimizer, Optimizer) else 1)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int, base_lr: float, group: dict[str, Any]) -> float:
        return base_lr * self.lr_lambdas[_group_index(self.optimizer, group)](step)

    def state_dict(self) -> dict[str, Any]:
        return {key: value for key, value in super().state_dict().items()
                if key != "lr_lambdas"}


class MultiplicativeLR(LRScheduler):
    """lr = base_lr * lr_lambda(1) * lr_lambda(2) * ... * lr_lambda(step): each step multiplies
    the rate by lr_lambda(step). The running products are kept (and saved in `state_dict()`),
    so each step calls each function once; the functions themselves are not saved.
    """

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 1
        self.lr_lambdas = _lambdas("MultiplicativeLR", lr_lambda, groups)
        self.products, self.product_step = [1.0] * groups, 0
        super().__init__(optimizer, last_epoch)

    def _products_at(self, step: int) -> list[float]:
        if step < self.product_step:  # moved back (e.g. by a SequentialLR): count afresh
            self.products, self.product_step = [1.0] * len(self.lr_lambdas), 0
        while self.product_step < step:
            self.product_step += 1
            self.products = [product * function(self.product_step)
                             for product, function in zip(self.products, self.lr_lambdas,
                                                          strict=True)]
        return self.products

    def lr_at(self, step: int, base_lr: float, group: dict[str, Any]) -> float:
        return base_lr * self._products_at(step)[_group_index(self.optimizer, group)]

    def state_dict(self) -> dict[str, Any]:
        return {key: value for key, value in super().state_dict().items()
                if key != "lr_lambdas"}


class ConstantLR(LRScheduler):
    """lr = base_lr * factor for the first total_iters steps, then base_lr."""

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        check_range("ConstantLR", "factor", factor, 0.0, 1.0, high_inclusive=True)
        self.factor = factor
        self.total_iters = check_count("ConstantLR", "total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int, base_lr: float, group: dict[str, Any]) -> float:
        return base_lr * (self.factor if step < self.total_iters else 1.0)


class PolynomialLR(LRScheduler):
    """lr = base_lr * (1 - min(step, total_iters) / total_iters)^power: a polynomial decay to 0
    over total_iters steps."""

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1) -> None:
        check_range("PolynomialLR", "power", power)
        self.total_iters = check_count("PolynomialLR", "total_iters", total_iters)
        self.power = power
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int, base_lr: float, group: dict[str, Any]) -> float:
        return base_lr * (1.0 - min(self.total_iters, step) / self.total_iters) ** self.power


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter): lr = eta_min + (base_lr - eta_min) (1 + cos(pi T_cur / T_i))
    / 2, where T_cur counts the steps since the last restart; the first cycle has T_i = T_0
    steps and each next one T_mult times as many."""

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_0 = check_count("CosineAnnealingWarmRestarts", "T_0", T_0)
        self.T_mult = check_count("CosineAnnealingWarmRestarts", "T_mult", T_mult)
        check_range("CosineAnnealingWarmRestarts", "eta_min", eta_min)
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def cycle_at(self, step: int) -> tuple[int, int]:
        """(T_cur, T_i): the position in the current cycle and that cycle's length."""
        position, length = step, self.T_0
        while position >= length:
            position, length = position - length, length * self.T_mult
        return position, length

    def lr_at(self, step: int, base_lr: float, group: dict[str, Any]) -> float:
        position, length = self.cycle_at(step)
        return (self.eta_min
                + (base_lr - self.eta_min) * (1 + math.cos(math.pi * position / length)) / 2)


def _check_schedules(owner: str, optimizer: Optimizer,
                     schedulers: Sequence[LRScheduler]) -> list[LRScheduler]:
    if isinstance(schedulers, LRScheduler) or not isinstance(schedulers, Sequence) \
            or not schedulers:
        raise ValueError(f"{owner}: schedulers must be a non-empty list of schedules, got "
                         f"{schedulers!r}")
    for index, scheduler in enumerate(schedulers):
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(f"{owner}: schedulers[{index}] is a ReduceLROnPlateau, whose "
                             f"step needs a metric; step it on its own")
        if not isinstance(scheduler, LRScheduler):
            raise TypeError(f"{owner}: schedulers[{index}] must be a learning-rate schedule, "
                            f"got {type(scheduler).__name__}")
        if scheduler.optimizer is not optimizer:
            raise ValueError(f"{owner}: schedulers[{index}] ({type(scheduler).__name__}) "
                             f"drives another optimizer; all must drive the same one")
    return list(schedulers)


def _compound_state(scheduler: LRScheduler, key: str) -> dict[str, Any]:
    """The state of SequentialLR and ChainedScheduler: their own and each schedule's."""
    state = {name: value for name, value in scheduler.__dict__.items()
             if name not in ("optimizer", key)}
    state[key] = [each.state_dict() for each in getattr(scheduler, key)]
    return state


def _load_compound_state(scheduler: LRScheduler, state: dict[str, Any], key: str) -> None:
    scheduler.__dict__.update({name: value for name, value in state.items() if name != key})
    for part, saved in zip(getattr(scheduler, key), state[key], strict=True):
        part.load_state_dict(saved)


class SequentialLR(LRScheduler):
    """schedulers[0] until milestones[0], schedulers[1] until milestones[1], and so on; each
    starts from its own step 0 at its milestone: lr = schedulers[i] at step (step -
    milestones[i - 1]), i the number of milestones <= step.

    This equals PyTorch's SequentialLR for every schedule with a closed form (all here but
    MultiplicativeLR, which restarts from base_lr at its milestone where PyTorch's continues
    from the rate reached).
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1) -> None:
        self._schedulers = _check_schedules("SequentialLR", optimizer, schedulers)
        if isinstance(milestones, str) or not isinstance(milestones, Sequence) \
                or len(milestones) != len(self._schedulers) - 1:
            raise ValueError(f"SequentialLR: milestones must be a list of "
                             f"{len(self._schedulers) - 1} step(s), one fewer than the "
                             f"schedulers, got {milestones!r}")
        self.milestones = [check_count("SequentialLR", "milestones", each)
                           for each in milestones]
        if self.milestones != sorted(set(self.milestones)):
            raise ValueError(f"SequentialLR: milestones must increase, got {milestones!r}")
        for group in optimizer.param_groups:  # undo the first step each schedule has set
            group["lr"] = group["initial_lr"]
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int, base_lr: float, group: dict[str, Any]) -> float:
        index = bisect.bisect_right(self.milestones, step)
        start = self.milestones[index - 1] if index > 0 else 0
        return self._schedulers[index].lr_at(step - start, base_lr, group)

    def step(self) -> None:
        super().step()
        index = bisect.bisect_right(self.milestones, self.last_epoch)
        current = self._schedulers[index]
        current.last_epoch = self.last_epoch - (self.milestones[index - 1] if index else 0)
        current._last_lr = self.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        return _compound_state(self, "_schedulers")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        _load_compound_state(self, state, "_schedulers")


class ChainedScheduler(LRScheduler):
    """Several schedules at once: each step applies every schedule in turn, each to the rate
    the ones before it gave: lr = s_n(step, ... s_2(step, s_1(step, base_lr))).

    For the schedules that scale base_lr by a factor this is base_lr times the product of the
    factors, which is PyTorch's ChainedScheduler. CosineAnnealingLR and
    CosineAnnealingWarmRestarts with eta_min > 0 and OneCycleLR are not of that kind, and are
    refused (PyTorch's result for them depends on the order of the recursive updates). A
    CosineAnnealingLR in a chain equals PyTorch's up to T_max; past it (where the rate climbs
    again) PyTorch's recursion restarts from base_lr without the other factors, and this one
    keeps multiplying them.
    """

    def __init__(self, schedulers: Sequence[LRScheduler],
                 optimizer: Optimizer | None = None) -> None:
        if optimizer is None and isinstance(schedulers, Sequence) and schedulers \
                and isinstance(schedulers[0], LRScheduler):
            optimizer = schedulers[0].optimizer
        if not isinstance(optimizer, Optimizer):
            raise ValueError(f"ChainedScheduler: schedulers must be a non-empty list of "
                             f"schedules, got {schedulers!r}")
        self._schedulers = _check_schedules("ChainedScheduler", optimizer, schedulers)
        for index, scheduler in enumerate(self._schedulers):
            if isinstance(scheduler, OneCycleLR) or getattr(scheduler, "eta_min", 0) != 0:
                raise ValueError(f"ChainedScheduler: schedulers[{index}] "
                                 f"({type(scheduler).__name__}) does not scale the rate by a "
                                 f"factor, so its chained rate is not defined; use eta_min=0 "
                                 f"or a SequentialLR")
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        super().__init__(optimizer)

    def lr_at(self, step: int, base_lr: float, group: dict[str, Any]) -> float:
        lr = base_lr
        for scheduler in self._schedulers:
            lr = scheduler.lr_at(step, lr, group)
        return lr

    def step(self) -> None:
        super().step()
        for scheduler in self._schedulers:
            scheduler.last_epoch, scheduler._last_lr = self.last_epoch, self.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        return _compound_state(self, "_schedulers")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        _load_compound_state(self, state, "_schedulers")


class ReduceLROnPlateau(LRScheduler):
    """Divide the rate when a metric stops improving: `step(metric)` after each validation.

    A metric is better than the best so far when it is below best * (1 - threshold) (mode
    "min", threshold_mode "rel"), below best - threshold ("abs"), or above best * (1 +
    threshold) / best + threshold for mode "max". After more than `patience` steps in a row
    without a better metric, every group's lr becomes max(lr * factor, min_lr) (a change
    smaller than eps is skipped), and the next `cooldown` steps count no bad steps. A NaN metric
    is never better. Unlike the other schedules the rate is not a formula of the step: it lives
    in the optimizer's param_groups, so resuming needs the optimizer's state_dict as well.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | Sequence[float] = 0.0,
                 eps: float = 1e-8) -> None:
        name = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name} needs an Optimizer, got {type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode must be 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        check_range(name, "factor", factor, 0.0, 1.0)
        check_range(name, "threshold", threshold)
        check_range(name, "eps", eps)
        groups = len(optimizer.param_groups)
        min_lrs: list[float] = (list(min_lr) if isinstance(min_lr, Sequence)
                                else [min_lr] * groups)
        if len(min_lrs) != groups:
            raise ValueError(f"{name}: {len(min_lrs)} min_lr values for {groups} parameter "
                             f"groups")
        for value in min_lrs:
            check_range(name, "min_lr", value)
        self.optimizer = optimizer
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor, self.threshold, self.eps, self.min_lrs = factor, threshold, eps, min_lrs
        self.patience = _check_non_negative_int(name, "patience", patience)
        self.cooldown = _check_non_negative_int(name, "cooldown", cooldown)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, value: float) -> bool:
        if self.mode == "min":
            bound = (self.best * (1 - self.threshold) if self.threshold_mode == "rel"
                     else self.best - self.threshold)
            return value < bound
        bound = (self.best * (1 + self.threshold) if self.threshold_mode == "rel"
                 else self.best + self.threshold)
        return value > bound

    def step(self, metrics: float) -> None:  # type: ignore[override]
        """One step (usually one epoch) with the monitored metric, e.g. the validation loss."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau: step needs the monitored metric, a number, "
                            f"got {type(metrics).__name__}") from None
        self.last_epoch += 1
        if self.is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad steps in the cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
