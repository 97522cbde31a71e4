"""The table `layerwise gradcheck` prints: every registered op case and a small network."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerwise import functional as F
from layerwise.check.cases import CASES
from layerwise.check.gradcheck import gradcheck, gradient_error
from layerwise.tensor import Tensor


@dataclass
class GradcheckRow:
    name: str
    error: float
    passed: bool


def small_network(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor,
                  labels: Tensor) -> Tensor:
    """A 5-6-3 tanh MLP with softmax cross-entropy: the lectures' network in miniature."""
    return F.cross_entropy(F.linear(F.tanh(F.linear(x, W1, b1)), W2, b2), labels)


def small_network_inputs() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal((4, 5)), rng.standard_normal((6, 5)), rng.standard_normal(6),
            rng.standard_normal((3, 6)), rng.standard_normal(3), np.array([0, 2, 1, 2])]


def gradcheck_report() -> list[GradcheckRow]:
    """Gradcheck (float64, central differences) every op case and the small network."""
    checks = [(case.id, case.call, case.sample()) for case in CASES]
    checks.append(("network 5-6-3 tanh + cross-entropy", small_network, small_network_inputs()))
    rows = []
    for name, call, inputs in checks:
        passed = gradcheck(call, inputs, raise_exception=False)
        rows.append(GradcheckRow(name, gradient_error(call, inputs), passed))
    return rows
