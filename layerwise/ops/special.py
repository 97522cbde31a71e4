"""Special functions NumPy lacks, to float64 accuracy: erf, erfc and the normal CDF (for GELU).

erf uses its everywhere-positive power series for |x| < 2,
    erf(x) = 2/sqrt(pi) e^(-x^2) sum_n (2 x^2)^n x / (1 * 3 * ... * (2n + 1)),
whose terms never cancel; erfc uses Laplace's continued fraction for |x| >= 2,
    erfc(x) = e^(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),
which keeps full relative accuracy far into the tail where 1 - erf(x) would round to 0.
"""

from __future__ import annotations

import math

import numpy as np

_SPLIT = 2.0
_SERIES_TERMS = 80
_FRACTION_TERMS = 100


def _erf_series(x: np.ndarray) -> np.ndarray:
    term = x.copy()
    total = x.copy()
    two_x2 = 2.0 * x * x
    for n in range(1, _SERIES_TERMS):
        term *= two_x2 / (2 * n + 1)
        total += term
    return (2.0 / math.sqrt(math.pi)) * np.exp(-x * x) * total


def _erfc_fraction(x: np.ndarray) -> np.ndarray:
    """erfc(x) for x >= _SPLIT, the continued fraction evaluated from its tail up."""
    denominator = x.copy()
    for k in range(_FRACTION_TERMS, 0, -1):
        denominator = x + (k / 2.0) / denominator
    return np.exp(-x * x) / (math.sqrt(math.pi) * denominator)


def erfc(x: np.ndarray) -> np.ndarray:
    """The complementary error function 1 - erf(x), accurate in the tails."""
    x = np.asarray(x, dtype=np.result_type(x, np.float32))
    work = x.astype(np.float64)
    result = np.empty_like(work)
    near = np.abs(work) < _SPLIT
    result[near] = 1.0 - _erf_series(work[near])
    high = work >= _SPLIT
    result[high] = _erfc_fraction(work[high])
    low = work <= -_SPLIT
    result[low] = 2.0 - _erfc_fraction(-work[low])
    return result.astype(x.dtype, copy=False)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function erf(x) = 2/sqrt(pi) integral_0^x e^(-t^2) dt."""
    x = np.asarray(x, dtype=np.result_type(x, np.float32))
    work = x.astype(np.float64)
    result = np.empty_like(work)
    near = np.abs(work) < _SPLIT
    result[near] = _erf_series(work[near])
    far = ~near
    result[far] = np.sign(work[far]) * (1.0 - _erfc_fraction(np.abs(work[far])))
    return result.astype(x.dtype, copy=False)


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) = P(Z <= x) for a standard normal Z, = erfc(-x / sqrt 2) / 2."""
    return 0.5 * erfc(-x / math.sqrt(2.0))
