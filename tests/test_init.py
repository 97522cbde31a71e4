"""Initializers: the distributions PyTorch documents, drawn from an explicit generator."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.nn import init

SHAPE = (200, 300)  # fan_out 200, fan_in 300


def std_of_uniform(bound: float) -> float:
    return bound / math.sqrt(3)


CASES: list[tuple[str, Callable[..., Any], float, float | None]] = [
    # name, initializer, expected std, bound (None for normal)
    ("uniform", lambda t, rng: init.uniform(t, -0.5, 0.5, rng=rng), std_of_uniform(0.5), 0.5),
    ("normal", lambda t, rng: init.normal(t, 0.0, 0.02, rng=rng), 0.02, None),
    ("xavier_uniform", lambda t, rng: init.xavier_uniform(t, rng=rng),
     math.sqrt(2 / 500), math.sqrt(6 / 500)),
    ("xavier_normal", lambda t, rng: init.xavier_normal(t, gain=2.0, rng=rng),
     2 * math.sqrt(2 / 500), None),
    ("kaiming_uniform", lambda t, rng: init.kaiming_uniform(t, nonlinearity="relu", rng=rng),
     math.sqrt(2 / 300), math.sqrt(6 / 300)),
    ("kaiming_normal", lambda t, rng: init.kaiming_normal(t, mode="fan_out",
                                                          nonlinearity="relu", rng=rng),
     math.sqrt(2 / 200), None),
]


@pytest.mark.parametrize(("name", "initializer", "std", "bound"), CASES,
                         ids=[case[0] for case in CASES])
def test_initializer_statistics(name: str, initializer: Callable[..., Any], std: float,
                                bound: float | None) -> None:
    weight = lw.nn.Parameter(np.empty(SHAPE, dtype=np.float32))
    assert initializer(weight, np.random.default_rng(0)) is weight
    values = weight.data
    assert abs(values.mean()) < 0.02 * std * 10
    assert abs(values.std() - std) < 0.02 * std
    if bound is not None:
        assert np.abs(values).max() <= bound
    again = initializer(np.empty(SHAPE, dtype=np.float32), np.random.default_rng(0))
    np.testing.assert_array_equal(again, values)


def test_constant_zeros_ones() -> None:
    array = np.empty((2, 3))
    np.testing.assert_array_equal(init.constant(array, 0.5), np.full((2, 3), 0.5))
    np.testing.assert_array_equal(init.zeros(array), np.zeros((2, 3)))
    np.testing.assert_array_equal(init.ones(lw.tensor(array)).data, np.ones((2, 3)))


def test_manual_seed_makes_the_default_generator_reproducible() -> None:
    lw.manual_seed(5)
    first = lw.nn.Linear(3, 4).weight.data.copy()
    lw.manual_seed(5)
    np.testing.assert_array_equal(lw.nn.Linear(3, 4).weight.data, first)


@pytest.mark.parametrize(("nonlinearity", "param"),
                         [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                          ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain_matches_pytorch(nonlinearity: str, param: float | None) -> None:
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-12)


def test_fans_of_a_convolution_weight() -> None:
    assert init.fans((16, 3, 5, 5)) == (75, 400)
    with pytest.raises(ValueError, match=r"at least 2 axes, got \(5,\)"):
        init.xavier_uniform(np.empty(5))
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")
