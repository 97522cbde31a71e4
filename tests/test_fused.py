"""The compiled optimizer path gives the same numbers as the NumPy path it replaces."""

from __future__ import annotations

import numpy as np
import pytest

import layerwise.functional as F
from layerwise import nn, optim
from layerwise.nn import Parameter
from layerwise.optim import fused

pytestmark = pytest.mark.skipif(not fused.AVAILABLE, reason="numba is not installed")

CONFIGS = [
    (optim.Adam, {}), (optim.Adam, {"weight_decay": 0.1}), (optim.Adam, {"amsgrad": True}),
    (optim.Adam, {"betas": (0.8, 0.99), "eps": 1e-6, "lr": 0.01}),
    (optim.AdamW, {}), (optim.AdamW, {"weight_decay": 0.2, "amsgrad": True}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("optimizer", "options"), CONFIGS,
                         ids=[f"{o.__name__}-{sorted(c)}" for o, c in CONFIGS])
def test_fused_update_equals_the_numpy_update(optimizer: type[optim.Adam],
                                              options: dict[str, object],
                                              dtype: type[np.floating]) -> None:
    rng = np.random.default_rng(0)
    shapes = [(7, 5), (5,), (2, 3, 4)]
    start = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    plain = [Parameter(value.copy()) for value in start]
    compiled = [Parameter(value.copy()) for value in start]
    plain_optimizer = optimizer(plain, fused=False, **options)  # type: ignore[arg-type]
    compiled_optimizer = optimizer(compiled, fused=True, **options)  # type: ignore[arg-type]
    for _ in range(25):
        grads = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
        for params, chosen in ((plain, plain_optimizer), (compiled, compiled_optimizer)):
            for param, grad in zip(params, grads, strict=True):
                param.grad = grad.copy()
            chosen.step()
        for ours, reference in zip(compiled, plain, strict=True):
            np.testing.assert_array_equal(ours.data, reference.data)
    for ours, reference in zip(compiled_optimizer.state_dict()["state"].values(),
                               plain_optimizer.state_dict()["state"].values(), strict=True):
        for key, value in reference.items():
            np.testing.assert_array_equal(ours[key], value, err_msg=key)


def test_non_contiguous_gradients_take_the_same_path() -> None:
    parameter = Parameter(np.ones((4, 4)))
    reference = Parameter(np.ones((4, 4)))
    grad = np.arange(32.0).reshape(4, 8)[:, ::2]
    for param, fused_flag in ((parameter, True), (reference, False)):
        param.grad = grad
        optim.Adam([param], fused=fused_flag).step()
    np.testing.assert_array_equal(parameter.data, reference.data)


@pytest.mark.parametrize("optimizer", [optim.Adam, optim.AdamW])
def test_training_with_the_compiled_update_gives_the_same_weights(
        optimizer: type[optim.Adam]) -> None:
    """End to end, through the engine's fast paths too: an MLP trained on the same batches
    with either update ends with the same bits."""
    rng = np.random.default_rng(0)
    images = rng.random((96, 20), dtype=np.float32)
    labels = rng.integers(0, 5, 96)
    weights = []
    for fused_flag in (False, True):
        model = nn.Sequential(nn.Linear(20, 16, rng=np.random.default_rng(1)), nn.ReLU(),
                              nn.Linear(16, 5, rng=np.random.default_rng(2)))
        chosen = optimizer(model.parameters(), lr=1e-2, fused=fused_flag)
        for start in range(0, 96 * 5, 32):
            batch = slice(start % 96, start % 96 + 32)
            loss = F.cross_entropy(model(images[batch]), labels[batch])
            chosen.zero_grad()
            loss.backward()
            chosen.step()
        weights.append([parameter.data for parameter in model.parameters()])
    for plain, compiled in zip(*weights, strict=True):
        np.testing.assert_array_equal(compiled, plain)
