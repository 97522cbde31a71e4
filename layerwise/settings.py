"""Process-wide switches: the default floating dtype, gradient recording, anomaly detection.

The engine reads these on every op, so they are plain module attributes; change them only through
the functions and context managers below.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

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

    def __init__(self, enabled: bool | None) -> None:
        self.enabled = enabled  # None: keep the mode in force
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        global grad_enabled
        self.previous.append(grad_enabled)
        if self.enabled is not None:
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


# --- activations block: set_grad_enabled, inference_mode ---


class set_grad_enabled(_GradMode):  # noqa: N801 (PyTorch's name)
    """Turn gradient recording on or off: at once when called as a function
    (`layerwise.set_grad_enabled(False)`), or for a `with` block, after which the previous
    mode comes back (`with layerwise.set_grad_enabled(is_training): ...`), as in PyTorch."""

    def __init__(self, mode: bool) -> None:
        global grad_enabled
        if not isinstance(mode, bool | np.bool_):
            raise TypeError(f"set_grad_enabled: mode must be True or False, got {mode!r}")
        super().__init__(bool(mode))
        self.previous.append(grad_enabled)
        grad_enabled = bool(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc_info: object) -> None:
        global grad_enabled
        grad_enabled = self.previous.pop()

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:  # type: ignore[override]
        """As a decorator: the mode is set only while the function runs (as in PyTorch)."""
        global grad_enabled
        grad_enabled = self.previous.pop()
        return _GradMode(self.enabled)(function)


def inference_mode(mode: bool | Callable[..., Any] = True) -> Any:
    """PyTorch's inference_mode: here the same as `no_grad()` (layerwise has no separate
    inference tensors, so nothing is faster or refused afterwards); inference_mode(False)
    leaves the mode as it is. Works as a `with` block and as a decorator, with or without
    parentheses (`@inference_mode` and `@inference_mode()`), as in PyTorch."""
    if callable(mode):
        return _GradMode(False)(mode)
    if not isinstance(mode, bool | np.bool_):
        raise TypeError(f"inference_mode: mode must be True or False, got {mode!r}")
    return _GradMode(False) if mode else _GradMode(None)


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
