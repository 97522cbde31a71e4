"""Small 2-D classification sets that no straight line separates, for testing that a network
learns a nonlinear boundary: spirals, moons, xor, circles.

Each function returns (X, y): X of shape (N, 2) in the default floating dtype, y int64 (N,)
class indices. Classes are balanced (their sizes differ by at most one when N is not a
multiple of the number of classes), the samples are shuffled, and the same seeded `rng` gives
the same set.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from layerwise import settings
from layerwise.rng import default_generator


def spirals(n_samples: int = 300, noise: float = 0.05, classes: int = 2, turns: float = 1.5,
            rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class, winding out from the origin.

    Arm k is r (cos(t + 2 pi k / classes), sin(t + 2 pi k / classes)) with r = t / (2 pi turns)
    for t from 0 to 2 pi turns, plus Gaussian noise: the radius grows to 1.

    Args:
        n_samples: total number of points.
        noise: standard deviation of the Gaussian noise added to each coordinate.
        classes: number of arms (2 or more).
        turns: how many times each arm winds around the origin.
        rng: the random generator (default: layerwise.rng.default_generator()).

    Returns:
        X (n_samples, 2), y (n_samples,) in 0 .. classes - 1.
    """
    _check_arguments("spirals", n_samples, noise)
    if classes < 2:
        raise ValueError(f"spirals: classes must be at least 2, got {classes}")
    if turns <= 0:
        raise ValueError(f"spirals: turns must be positive, got {turns}")
    rng = rng if rng is not None else default_generator()
    y = _balanced_labels(n_samples, classes)
    # sqrt spreads points evenly along the arm's length rather than crowding the centre.
    t = np.sqrt(rng.uniform(size=n_samples)) * 2 * np.pi * turns
    radius = t / (2 * np.pi * turns)
    angle = t + 2 * np.pi * y / classes
    X = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _finish(X + noise * rng.standard_normal(X.shape), y, rng)


def moons(n_samples: int = 200, noise: float = 0.1,
          rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interlocking half circles of radius 1 (class 0 the upper, class 1 the lower).

    Class 0 is (cos t, sin t) and class 1 is (1 - cos t, 0.5 - sin t), t uniform in [0, pi],
    plus Gaussian noise.

    Args:
        n_samples: total number of points.
        noise: standard deviation of the Gaussian noise added to each coordinate.
        rng: the random generator (default: layerwise.rng.default_generator()).

    Returns:
        X (n_samples, 2), y (n_samples,) in {0, 1}.
    """
    _check_arguments("moons", n_samples, noise)
    rng = rng if rng is not None else default_generator()
    y = _balanced_labels(n_samples, 2)
    t = rng.uniform(0, np.pi, size=n_samples)
    X = np.where(y[:, None] == 0,
                 np.stack([np.cos(t), np.sin(t)], axis=1),
                 np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1))
    return _finish(X + noise * rng.standard_normal(X.shape), y, rng)


def xor(n_samples: int = 200, noise: float = 0.35,
        rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Four Gaussian blobs centred at (+-1, +-1); the label is the XOR of the centre's signs.

    Blobs in the first and third quadrants are class 0, those in the second and fourth class
    1. The label belongs to the blob, so with large noise the classes overlap.

    Args:
        n_samples: total number of points.
        noise: standard deviation of each blob.
        rng: the random generator (default: layerwise.rng.default_generator()).

    Returns:
        X (n_samples, 2), y (n_samples,) in {0, 1}.
    """
    _check_arguments("xor", n_samples, noise)
    rng = rng if rng is not None else default_generator()
    # Blobs in the order Q1, Q2, Q3, Q4, so that dealing points round-robin keeps the classes
    # (Q1 + Q3 against Q2 + Q4) within one point of each other.
    blob = _balanced_labels(n_samples, 4)
    centres = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
    y = blob % 2
    X = centres[blob] + noise * rng.standard_normal((n_samples, 2))
    return _finish(X, y, rng)


def circles(n_samples: int = 200, noise: float = 0.05, factor: float = 0.5,
            rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric rings: class 0 the outer (radius 1), class 1 the inner (radius factor).

    Args:
        n_samples: total number of points.
        noise: standard deviation of the Gaussian noise added to each coordinate.
        factor: the inner ring's radius, between 0 and 1.
        rng: the random generator (default: layerwise.rng.default_generator()).

    Returns:
        X (n_samples, 2), y (n_samples,) in {0, 1}.
    """
    _check_arguments("circles", n_samples, noise)
    if not 0 < factor < 1:
        raise ValueError(f"circles: factor (inner radius / outer radius) must be between 0 and "
                         f"1, got {factor}")
    rng = rng if rng is not None else default_generator()
    y = _balanced_labels(n_samples, 2)
    angle = rng.uniform(0, 2 * np.pi, size=n_samples)
    radius = np.where(y == 0, 1.0, factor)
    X = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _finish(X + noise * rng.standard_normal(X.shape), y, rng)


SYNTHETIC_DATASETS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "spirals": spirals, "moons": moons, "xor": xor, "circles": circles,
}


def _check_arguments(name: str, n_samples: int, noise: float) -> None:
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer) \
            or n_samples < 1:
        raise ValueError(f"{name}: n_samples must be a positive integer, got {n_samples!r}")
    if not noise >= 0:
        raise ValueError(f"{name}: noise must be a standard deviation >= 0, got {noise}")


def _balanced_labels(n_samples: int, classes: int) -> np.ndarray:
    """0, 1, ..., classes - 1, 0, 1, ...: class sizes differ by at most one."""
    return np.arange(n_samples, dtype=np.int64) % classes


def _finish(X: np.ndarray, y: np.ndarray, rng: np.random.Generator,
            ) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle the samples together and give X the default floating dtype."""
    order = rng.permutation(len(y))
    return X[order].astype(settings.default_dtype), y[order]
