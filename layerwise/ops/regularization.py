"""Regularizing ops that act only in training."""

from __future__ import annotations

import numpy as np

from layerwise.ops.base import Op
from layerwise.rng import default_generator, draw_per_sample


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
        self.scaled_mask = self.draw_mask(x.shape, x.dtype)
        return x * self.scaled_mask

    def draw_mask(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """keep / (1 - p) of `shape`, keep drawn from the generator (in float32 for float32
        input, else float64; for a shard of a batch, the shard's rows of the whole batch's
        draw, see layerwise.rng.BatchShard)."""
        rng = self.rng if self.rng is not None else default_generator()
        if self.p == 1.0:
            return np.zeros(shape, dtype=dtype)
        draw_dtype = dtype if dtype.kind == "f" and dtype.itemsize >= 4 else np.dtype(np.float64)
        keep = draw_per_sample(shape, lambda whole: rng.random(whole, dtype=draw_dtype)) >= self.p
        return keep * dtype.type(1.0 / (1.0 - self.p))

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * self.scaled_mask,)


class Dropout2d(Dropout):
    """y = x * m / (1 - p) with one draw m_nc ~ Bernoulli(1 - p) per sample and channel: whole
    feature maps are dropped. Neighbouring pixels of a map are strongly correlated, so dropping
    single values regularizes a convolutional layer little; dropping maps does.

    Shape: x (N, C, *) -> the same; the mask is (N, C, 1, ...). (PyTorch reads a 3-D input as
        (N, C, L) as well.)
    Backward: grad_x = grad_y * m / (1 - p), with the same mask.

    Args: as Dropout's.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim < 2:
            raise ValueError(f"dropout2d expects input (N, C, H, W) or (N, C, L); got shape "
                             f"{x.shape}")
        self.scaled_mask = self.draw_mask(x.shape[:2] + (1,) * (x.ndim - 2), x.dtype)
        return x * self.scaled_mask
