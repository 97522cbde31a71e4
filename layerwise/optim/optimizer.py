"""Optimizer: holds parameter groups and per-parameter state, and applies an update rule."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from layerwise.nn.parameter import Parameter
from layerwise.tensor import Tensor


def check_range(owner: str, name: str, value: float, low: float = 0.0,
                high: float | None = None, high_inclusive: bool = False) -> None:
    """ValueError naming the hyperparameter when value is outside [low, high) (or [low, high]);
    with no `high`, infinity is refused too (an infinite lr would only show as a NaN loss)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{owner}: {name} must be a number, got {value!r}")
    if high is None and value == math.inf:
        raise ValueError(f"{owner}: {name} must be a finite number, got {value}")
    inside_high = high is None or value < high or (high_inclusive and value == high)
    if not (value >= low and inside_high):  # written so that NaN fails too
        closing = "]" if high_inclusive else ")"
        interval = f"[{low}, {high}{closing}" if high is not None else f">= {low}"
        raise ValueError(f"{owner}: {name} must be {'in ' if high is not None else ''}"
                         f"{interval}, got {value}")


def check_count(owner: str, name: str, value: object) -> int:
    """`value` as a positive int (NumPy integers too), or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


class Optimizer:
    """Base class: parameter groups, per-parameter state, zero_grad, step, state_dict.

    `params` is an iterable of Parameters, or of dicts ("parameter groups") each with a
    "params" list and any hyperparameters that differ from the defaults for that group.
    Subclasses validate their hyperparameters and define `update(param, grad, state, group)`,
    which changes `param.data` in place.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}
        if isinstance(params, Tensor) or not isinstance(params, Iterable):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Parameters, "
                            f"e.g. model.parameters(), got {type(params).__name__}")
        items = list(params)
        if not items:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add parameters with their own hyperparameters (e.g. a lower lr for a pretrained part)."""
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for position, param in enumerate(params):
            if not isinstance(param, Tensor):
                raise TypeError(f"{type(self).__name__}: params[{position}] must be a Parameter "
                                f"or Tensor, got {type(param).__name__}")
        known = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in known for p in params):
            raise ValueError(f"{type(self).__name__}: a parameter appears in two groups")
        full = {**self.defaults, **group, "params": params}
        unknown = set(group) - set(self.defaults) - {"params", "initial_lr"}
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown hyperparameters "
                             f"{sorted(unknown)} (known: {sorted(self.defaults)})")
        self.validate(full)
        self.param_groups.append(full)

    def validate(self, group: dict[str, Any]) -> None:
        """Raise ValueError naming any bad hyperparameter of `group`."""

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: set it to None (so the next backward assigns
        it without adding), or fill it with zeros when set_to_none is False."""
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none or param._grad is None:
                    param._grad = None  # the attribute behind .grad: no property on the hot path
                else:
                    param.grad = np.zeros_like(param.data)

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for group in self.param_groups:
            for param in group["params"]:
                grad = param._grad  # an ndarray, or the Tensor that .grad handed out
                if grad is None:
                    continue
                if type(grad) is not np.ndarray:
                    grad = grad.data
                if grad.shape != param.data.shape:
                    raise ValueError(
                        f"{type(self).__name__}: a gradient of shape {grad.shape} for a "
                        f"parameter of shape {param.data.shape}")
                self.update(param, grad, self.state.setdefault(id(param), {}), group)

    def update(self, param: Parameter, grad: np.ndarray, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not define update()")

    # --- resuming ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters per group and a copy of every parameter's state, parameters being
        numbered in group order (as in PyTorch)."""
        state: dict[int, dict[str, Any]] = {}
        groups = []
        index = 0
        for group in self.param_groups:
            indices = []
            for param in group["params"]:
                if self.state.get(id(param)):
                    state[index] = copy.deepcopy(self.state[id(param)])
                indices.append(index)
                index += 1
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": indices})
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and state saved by `state_dict`, so training resumes exactly."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            keys = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and "
                             f"'param_groups' (from optimizer.state_dict()), got keys {keys}")
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state has {len(groups)} parameter "
                             f"groups, the optimizer {len(self.param_groups)}")
        params = [p for group in self.param_groups for p in group["params"]]
        for position, (saved, own) in enumerate(zip(groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: group {position} has {len(saved['params'])} "
                    f"parameters in the state, {len(own['params'])} in the optimizer")
        new_state: dict[int, dict[str, Any]] = {}
        for index, values in state_dict["state"].items():
            index = int(index)
            if not 0 <= index < len(params):
                raise ValueError(f"{name}.load_state_dict: state for parameter {index}, but "
                                 f"the optimizer has {len(params)}")
            param = params[index]
            restored = {}
            for key, value in values.items():
                if isinstance(value, np.ndarray):
                    if value.shape != param.data.shape:
                        raise ValueError(
                            f"{name}.load_state_dict: state {key!r} of parameter {index} has "
                            f"shape {value.shape}, the parameter {param.data.shape}")
                    value = value.astype(param.data.dtype, copy=True)
                restored[key] = copy.deepcopy(value) if not isinstance(value, np.ndarray) else value
            new_state[id(param)] = restored
        for saved, own in zip(groups, self.param_groups, strict=True):
            own.update({k: v for k, v in saved.items() if k != "params"})
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for position, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {position}")
            lines += [f"    {key}: {value}" for key, value in sorted(group.items())
                      if key != "params"]
        lines.append(")")
        return "\n".join(lines)
