"""Data augmentation for batches of images: random crops of the image padded with zeros, and
horizontal flips. Each transform draws from its own seeded generator, so the same seed gives
the same augmented batches, and a run that saves the generator's state resumes them exactly.

A transform takes a batch (N, ..., H, W) and returns a new array of the same shape; it works on
a whole batch at once. The Trainer applies one to every training batch (`transform=`), never to
validation or test data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from layerwise.rng import default_generator

Transform = Callable[[np.ndarray], np.ndarray]


def _images(batch: np.ndarray, owner: str) -> np.ndarray:
    batch = np.asarray(batch)
    if batch.ndim < 3:
        raise ValueError(f"{owner} expects a batch of images (N, H, W) or (N, C, H, W); got "
                         f"shape {batch.shape}")
    return batch


class RandomCrop:
    """Pad each image with `padding` zeros on every side, then cut out a window of the
    image's size at a random position: the image shifts by up to `padding` pixels in each
    direction, and what leaves the frame is lost.

    Args:
        padding: the largest shift, in pixels (at least 1).
        rng: the generator of the positions (the default generator when None).
    """

    def __init__(self, padding: int, rng: np.random.Generator | None = None) -> None:
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 1:
            raise ValueError(f"RandomCrop: padding must be a positive int, got {padding!r}")
        self.padding = padding
        self.rng = rng if rng is not None else default_generator()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = _images(batch, "RandomCrop")
        size, p = batch.shape[-2:], self.padding
        padded = np.pad(batch, [(0, 0)] * (batch.ndim - 2) + [(p, p), (p, p)])
        offsets = self.rng.integers(0, 2 * p + 1, size=(2, len(batch)))
        crops = sliding_window_view(padded, size, axis=(-2, -1))  # (N, ..., 2p+1, 2p+1, H, W)
        crops = np.moveaxis(crops, (-4, -3), (1, 2))  # (N, 2p+1, 2p+1, ..., H, W)
        return crops[np.arange(len(batch)), offsets[0], offsets[1]]

    def __repr__(self) -> str:
        return f"RandomCrop(padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror each image left to right with probability p.

    Args:
        p: the probability of a flip, in [0, 1].
        rng: the generator of the coin tosses (the default generator when None).
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be a probability in [0, 1], got "
                             f"{p!r}")
        self.p = p
        self.rng = rng if rng is not None else default_generator()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = _images(batch, "RandomHorizontalFlip")
        flipped = self.rng.random(len(batch)) < self.p
        out = batch.copy()
        out[flipped] = batch[flipped][..., ::-1]
        return out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class Compose:
    """Transforms applied one after the other."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        for transform in self.transforms:
            batch = transform(batch)
        return batch

    def __repr__(self) -> str:
        return f"Compose({self.transforms})"
