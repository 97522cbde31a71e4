"""Weight initializers. Each fills a Parameter, Tensor or ndarray in place and returns it, and
draws from an explicit `rng` (np.random.Generator; the default generator when None, see
`layerwise.manual_seed`).

fan_in and fan_out of a weight of shape (out, in, *kernel) are in * prod(kernel) and
out * prod(kernel), as in PyTorch.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import numpy as np

from layerwise.rng import default_generator
from layerwise.tensor import Tensor

Target = TypeVar("Target", bound=Tensor | np.ndarray)


def _array_of(target: Any) -> np.ndarray:
    array = target.data if isinstance(target, Tensor) else target
    if not isinstance(array, np.ndarray):
        raise TypeError(f"init: expected a Tensor or ndarray, got {type(target).__name__}")
    return array


def _fill(target: Target, values: Any) -> Target:
    array = _array_of(target)
    np.copyto(array, values, casting="unsafe")
    if isinstance(target, Tensor):  # an in-place change: backward must see it
        target._changed_in_place()
    return target


def _number(function: str, name: str, value: Any, minimum: float | None = None) -> float:
    """`value` as a float if it is a finite number (>= `minimum`), else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) \
            or not math.isfinite(value):
        raise ValueError(f"{function}: {name} must be a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{function}: {name} must be >= {minimum}, got {value!r}")
    return float(value)


def _generator(rng: np.random.Generator | None) -> np.random.Generator:
    return rng if rng is not None else default_generator()


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    if len(shape) < 2:
        raise ValueError(f"fan_in and fan_out need a weight with at least 2 axes, got {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps activations' variance through `nonlinearity` (as in PyTorch)."""
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else _number("calculate_gain", "param", param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unknown nonlinearity {nonlinearity!r} (expected linear, sigmoid, "
        f"tanh, relu, leaky_relu or selu)")


def _fan(shape: tuple[int, ...], mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fans(shape)
    return fan_in if mode == "fan_in" else fan_out


def uniform(target: Target, a: float = 0.0, b: float = 1.0,
            rng: np.random.Generator | None = None) -> Target:
    """Fill with values drawn from U(a, b)."""
    shape = _array_of(target).shape
    a, b = _number("uniform", "a", a), _number("uniform", "b", b)
    return _fill(target, _generator(rng).uniform(a, b, size=shape))


def normal(target: Target, mean: float = 0.0, std: float = 1.0,
           rng: np.random.Generator | None = None) -> Target:
    """Fill with values drawn from N(mean, std^2)."""
    shape = _array_of(target).shape
    mean, std = _number("normal", "mean", mean), _number("normal", "std", std, minimum=0)
    return _fill(target, _generator(rng).normal(mean, std, size=shape))


def constant(target: Target, value: float) -> Target:
    """Fill with `value`."""
    return _fill(target, value)


def zeros(target: Target) -> Target:
    """Fill with 0."""
    return _fill(target, 0.0)


def ones(target: Target) -> Target:
    """Fill with 1."""
    return _fill(target, 1.0)


def xavier_uniform(target: Target, gain: float = 1.0,
                   rng: np.random.Generator | None = None) -> Target:
    """Glorot: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(_array_of(target).shape)
    gain = _number("xavier_uniform", "gain", gain)
    if fan_in + fan_out == 0:  # no values to fill
        return target
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(target, -bound, bound, rng)


def xavier_normal(target: Target, gain: float = 1.0,
                  rng: np.random.Generator | None = None) -> Target:
    """Glorot: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(_array_of(target).shape)
    gain = _number("xavier_normal", "gain", gain)
    if fan_in + fan_out == 0:  # no values to fill
        return target
    return normal(target, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def kaiming_uniform(target: Target, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    rng: np.random.Generator | None = None) -> Target:
    """He: U(-bound, bound), bound = gain * sqrt(3 / fan).

    gain = calculate_gain(nonlinearity, a); Linear's default is a = sqrt(5), which gives
    bound = 1 / sqrt(fan_in).
    """
    fan = _fan(_array_of(target).shape, mode)
    a = _number("kaiming_uniform", "a", a)
    if fan == 0:  # a weight with no values (fan 0 means an axis of length 0)
        return target
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform(target, -bound, bound, rng)


def kaiming_normal(target: Target, a: float = 0.0, mode: str = "fan_in",
                   nonlinearity: str = "leaky_relu",
                   rng: np.random.Generator | None = None) -> Target:
    """He: N(0, std^2), std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a)."""
    fan = _fan(_array_of(target).shape, mode)
    a = _number("kaiming_normal", "a", a)
    if fan == 0:  # a weight with no values (fan 0 means an axis of length 0)
        return target
    return normal(target, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), rng)


# PyTorch's names for the same initializers (the trailing _ says they fill in place).
uniform_ = uniform
normal_ = normal
constant_ = constant
zeros_ = zeros
ones_ = ones
xavier_uniform_ = xavier_uniform
xavier_normal_ = xavier_normal
kaiming_uniform_ = kaiming_uniform
kaiming_normal_ = kaiming_normal
