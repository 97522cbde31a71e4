"""The compiled loops of the spatial ops give the NumPy paths' numbers, bit for bit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import layerwise as lw
import layerwise.functional as F
from layerwise import jit

pytestmark = pytest.mark.skipif(not jit.AVAILABLE, reason="numba is not installed")

LAYERS: list[tuple[str, Callable[..., lw.Tensor], list[tuple[int, ...]]]] = [
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b, padding=1), [(3, 4, 9, 8), (5, 4, 3, 3), (5,)]),
    ("conv2d-strided", lambda x, w: F.conv2d(x, w, stride=(2, 3), padding=(2, 1), dilation=2,
                                             groups=2), [(2, 4, 9, 10), (6, 2, 3, 2)]),
    ("conv2d-same-even", lambda x, w: F.conv2d(x, w, padding="same"), [(2, 3, 6, 7),
                                                                       (4, 3, 2, 4)]),
    ("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1,
                                                            output_padding=1),
     [(2, 3, 5, 4), (3, 4, 3, 3), (4,)]),
    ("max_pool2d", lambda x: F.max_pool2d(x, 2), [(3, 5, 8, 6)]),
    ("max_pool2d-overlapping", lambda x: F.max_pool2d(x, 3, stride=1, padding=1), [(2, 3, 7, 6)]),
    ("max_pool2d-ceil-dilation", lambda x: F.max_pool2d(x, (2, 3), stride=2, dilation=(2, 1),
                                                        ceil_mode=True), [(2, 3, 9, 8)]),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
     [(2, 3, 7, 6)]),
]


def run(function: Callable[..., lw.Tensor], arrays: list[np.ndarray],
        compiled: bool, monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    monkeypatch.setattr(jit, "enabled", compiled)
    inputs = [lw.tensor(array, requires_grad=True) for array in arrays]
    out = function(*inputs)
    out.backward(np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype))
    return [out.data] + [tensor.grad for tensor in inputs]  # type: ignore[misc]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "function", "shapes"), LAYERS, ids=[n for n, _, _ in LAYERS])
def test_compiled_loops_equal_the_numpy_path(name: str, function: Any,
                                             shapes: list[tuple[int, ...]], dtype: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    if name.startswith("max_pool2d"):  # ties, as on the flat background of real images
        arrays[0] = np.round(arrays[0] * 2) / 2
    numpy_path = run(function, arrays, False, monkeypatch)
    compiled = run(function, arrays, True, monkeypatch)
    for position, (a, b) in enumerate(zip(numpy_path, compiled, strict=True)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b, err_msg=f"array {position} (0 is the output)")


def test_max_pool_indices_agree_on_ties(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.zeros((1, 2, 4, 4))
    x[0, 1, 1, 2] = 1.0
    found = []
    for compiled in (False, True):
        monkeypatch.setattr(jit, "enabled", compiled)
        found.append(F.max_pool2d(x, 3, stride=1, padding=1, return_indices=True)[1].data)
    np.testing.assert_array_equal(*found)
    assert found[0][0, 0, 0, 0] == 0  # an all-zero window: its first position


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(("dtype", "rtol"), [(np.float32, 2e-5), (np.float64, 1e-12)])
def test_compiled_batch_norm_agrees_with_the_numpy_path(training: bool, dtype: Any, rtol: float,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Its sums run in another order (float64 per channel), so the two paths agree to the
    rounding of the dtype, not bit for bit."""
    rng = np.random.default_rng(2)
    x = (3 + 2 * rng.standard_normal((4, 3, 5, 6))).astype(dtype)
    gamma, beta = rng.standard_normal(3).astype(dtype), rng.standard_normal(3).astype(dtype)
    results, statistics = [], []
    for compiled in (False, True):
        running = [np.full(3, 0.5, dtype), np.full(3, 2.0, dtype)]

        def batch_norm(x: Any, g: Any, b: Any, running: list[np.ndarray] = running) -> Any:
            return F.batch_norm(x, *running, g, b, training=training)

        results.append(run(batch_norm, [x, gamma, beta], compiled, monkeypatch))
        statistics.append(running)
    for position, (a, b) in enumerate(zip(*results, strict=True)):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, err_msg=f"array {position}")
    np.testing.assert_allclose(statistics[0], statistics[1], rtol=rtol)
