"""Karpathy's first test ("overfit one batch"): a model that cannot drive the loss of one small
batch near its minimum has a bug (a wrong loss, a broken backward, a learning rate of 0, labels
that do not match the inputs) that more data will not fix.

"Near zero" with label smoothing: the smoothed target t (1 - s + s/C on the label, s/C on the
other classes) is matched exactly by predictions q = t, and then the cross-entropy is the
entropy of t, not 0 (0.50 for s = 0.1 over 10 classes; `smoothed_cross_entropy_floor`). The
test passes when the last loss is within NEAR_FLOOR * ln C of that floor: 5 % of the way from
the floor to the loss of uniform predictions (0.115 nats for 10 classes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from layerwise.check.health import smoothed_cross_entropy_floor
from layerwise.nn.module import Module
from layerwise.optim.optimizer import Optimizer
from layerwise.tensor import Tensor

NEAR_FLOOR = 0.05  # of ln C, above the loss's floor
OVERFIT_STEPS = 200
OVERFIT_BATCH = 32


@dataclass
class OverfitResult:
    """The losses of every step on the one batch, the floor the loss can reach, the threshold
    under which it counts as near the floor, and the verdict."""

    losses: list[float]
    floor: float
    threshold: float
    passed: bool
    batch: int

    def describe(self) -> str:
        """The loss curve's start and end and the verdict, in a few lines."""
        losses = self.losses
        marks = sorted({0, len(losses) // 4, len(losses) // 2, 3 * len(losses) // 4,
                        len(losses) - 1})
        curve = ", ".join(f"step {index + 1}: {losses[index]:.4f}" for index in marks)
        margin = self.threshold - self.floor
        verdict = (f"passed: the loss got to {losses[-1]:.4f}, within {margin:.3f} of its floor "
                   f"{self.floor:.4f}" if self.passed else
                   f"FAILED: the loss ended at {losses[-1]:.4f}, not within {margin:.3f} of its "
                   f"floor {self.floor:.4f}: the model cannot fit one batch; check the loss "
                   f"(logits, not probabilities), the learning rate and that the labels match "
                   f"the inputs")
        return (f"loss on one batch of {self.batch} samples over {len(losses)} steps: {curve}\n"
                f"{verdict}")


def overfit_batch(model: Module, optimizer: Optimizer, inputs: np.ndarray, labels: np.ndarray,
                  loss_fn: Any, classes: int, label_smoothing: float = 0.0,
                  steps: int = OVERFIT_STEPS) -> OverfitResult:
    """Train `model` on (inputs, labels) alone for `steps` steps; return the losses and whether
    the last is within NEAR_FLOOR * ln C of the floor of the (smoothed) cross-entropy."""
    if steps < 1:
        raise ValueError(f"overfit_batch: steps must be positive, got {steps}")
    x, y = Tensor(inputs), Tensor(labels)
    losses: list[float] = []
    model.train()
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        losses.append(float(loss.data))
        if not math.isfinite(losses[-1]):
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    floor = smoothed_cross_entropy_floor(classes, label_smoothing)
    threshold = floor + NEAR_FLOOR * math.log(classes)
    passed = math.isfinite(losses[-1]) and losses[-1] <= threshold
    return OverfitResult(losses, floor, threshold, passed, len(labels))
