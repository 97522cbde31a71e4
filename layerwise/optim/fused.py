"""Compiled optimizer updates: one pass over memory instead of a dozen.

NumPy's Adam update makes about 13 passes over each parameter's memory (one per ufunc); a
compiled loop reads theta, grad, m and v once and writes them once. The kernels are built
with numba when it is installed (`pip install 'layerwise[fast]'`), on first use, and are never
required: without numba (or with LAYERWISE_NUMBA=0) every optimizer runs its NumPy code, which
stays the reference.

Each kernel repeats the NumPy path's arithmetic in the same order and in the parameter's
dtype, so both paths give the same numbers (tests/test_fused.py compares them bit for bit).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from layerwise.jit import AVAILABLE, compile_loop

__all__ = ["AVAILABLE", "adam_kernel"]


def _adam_loop(theta: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray,
               exp_avg_sq: np.ndarray, decay: Any, one_minus_beta1: Any, beta2: Any,
               one_minus_beta2: Any, bias_sqrt: Any, eps: Any, step_size: Any) -> None:
    """Adam/AdamW (decoupled decay or none) on flat arrays, in the NumPy path's order.

    No branch in the loop, so that LLVM vectorizes it (sqrt and division are exact in SIMD).
    """
    for i in range(theta.size):
        value = theta[i] * decay
        g = grad[i]
        m = exp_avg[i] + one_minus_beta1 * (g - exp_avg[i])
        v = exp_avg_sq[i] * beta2 + one_minus_beta2 * g * g
        exp_avg[i] = m
        exp_avg_sq[i] = v
        theta[i] = value - m / (np.sqrt(v) / bias_sqrt + eps) * step_size


@functools.cache
def adam_kernel() -> Callable[..., None]:
    """The compiled `_adam_loop` (compiled on first call, cached on disk by numba)."""
    return compile_loop(_adam_loop)
