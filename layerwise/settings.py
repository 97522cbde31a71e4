"""Process-wide switches: the default floating dtype, gradient recording, anomaly detection.

The engine reads these on every op, so they are plain module attributes; change them only through
the functions and context managers below.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
from numpy.typing import DTypeLike

default_dtype: np.dtype = np.dtype(np.float32)
grad_enabled: bool = True
anomaly_detection: bool = False


def get_default_dtype() -> np.dtype:
    """The dtype that Python floats (and lists of them) become: float32 unless changed."""
    return default_dtype


def set_default_dtype(dtype: DTypeLike) -> None:
    """Make Python floats and lists of floats become `dtype` (float16, float32 or float64)."""
    global default_dtype
    try:
        chosen = np.dtype(dtype)
    except TypeError:
        chosen = None
    if chosen is None or chosen.kind != "f":
        got = repr(dtype) if chosen is None else chosen
        raise TypeError(f"set_default_dtype: the default dtype must be a floating-point dtype, "
                        f"got {got} (use float16, float32 or float64)")
    default_dtype = chosen


def is_grad_enabled() -> bool:
    """True when ops record the graph that backward() walks."""
    return grad_enabled


class _GradMode(contextlib.ContextDecorator):
    """Sets gradient recording for a `with` block or a decorated function, then restores it."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        global grad_enabled
        self.previous.append(grad_enabled)
        grad_enabled = self.enabled

    def __exit__(self, *exc_info: object) -> None:
        global grad_enabled
        grad_enabled = self.previous.pop()


def no_grad() -> _GradMode:
    """Record nothing inside: results have no grad_fn and keep no arrays for backward.

    Example:
        >>> with layerwise.no_grad():
        ...     logits = model(x)          # inference: no graph, no cached activations
    """
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Record the graph again inside a `no_grad` block."""
    return _GradMode(True)


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise FloatingPointError at the first op whose forward or backward makes a NaN or inf.

    The message names the op, the pass (forward or backward) and the shapes of its inputs, so a
    NaN is caught where it is born instead of where the loss shows it. Every op pays one
    `isfinite` pass over its output, so use it to debug, not to train.
    """
    global anomaly_detection
    previous = anomaly_detection
    anomaly_detection = True
    try:
        yield
    finally:
        anomaly_detection = previous
