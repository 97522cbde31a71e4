"""Regularizing ops that act only in training."""

from __future__ import annotations

import numpy as np

from layerwise.ops.base import Op
from layerwise.rng import default_generator


class Dropout(Op):
    """y = x * m / (1 - p), m_i ~ Bernoulli(1 - p) drawn fresh on each forward ("inverted"
    dropout: the expected value of y is x, so nothing changes at evaluation time).

    Backward: grad_x = grad_y * m / (1 - p), with the same mask. With p = 1 every value is
    dropped and y = 0.

    Args:
        p: probability of zeroing each value, in [0, 1].
        rng: the np.random.Generator that draws the mask (the default generator if None).
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout: p must be a probability in [0, 1], got {p}")
        self.p = p
        self.rng = rng

    def forward(self, x: np.ndarray) -> np.ndarray:
        rng = self.rng if self.rng is not None else default_generator()
        dtype = x.dtype if x.dtype.kind == "f" and x.dtype.itemsize >= 4 else np.dtype(np.float64)
        if self.p == 1.0:
            self.scaled_mask = np.zeros(x.shape, dtype=x.dtype)
        else:
            keep = rng.random(x.shape, dtype=dtype) >= self.p
            self.scaled_mask = keep * x.dtype.type(1.0 / (1.0 - self.p))
        return x * self.scaled_mask

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * self.scaled_mask,)
