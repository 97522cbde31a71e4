"""Compiled loops, where NumPy would make many passes over memory: numba when it is installed
(`pip install 'layerwise[fast]'`), compiled on first use and cached on disk.

Nothing requires them: without numba, or with the environment variable LAYERWISE_NUMBA=0,
every op runs its NumPy code, which stays the reference. The compiled paths give the same
numbers as the NumPy ones (the tests compare both).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any

AVAILABLE = (os.environ.get("LAYERWISE_NUMBA", "1") != "0"
             and importlib.util.find_spec("numba") is not None)

# The ops' switch; the tests turn it off to run the NumPy paths on the same inputs.
enabled = AVAILABLE


def compile_loop(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` compiled by numba: no Python objects, no bounds checks, and NumPy's error
    model (no zero-division checks, which would keep loops from vectorizing)."""
    import numba

    compiled: Callable[..., Any] = numba.njit(cache=True, nogil=True,
                                              error_model="numpy")(function)
    return compiled
