"""The default random generator, used wherever a function takes `rng=None`."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def default_generator() -> np.random.Generator:
    """The generator used when no `rng` is passed (reseeded by `manual_seed`)."""
    return _generator


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the default generator so that runs that do not pass `rng` are reproducible."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator
