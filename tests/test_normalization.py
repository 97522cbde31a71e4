"""Batch norm and channel dropout against PyTorch: values, gradients, the running statistics
step by step, the buffers in the state_dict, and the modes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise import nn


def twins(ours: Callable[..., nn.Module], theirs: Callable[..., torch.nn.Module],
          **options: Any) -> tuple[nn.Module, torch.nn.Module]:
    layer, reference = ours(3, dtype=np.float64, **options), theirs(3, **options).double()
    if getattr(reference, "weight", None) is not None:  # not ones and zeros, to test them
        with torch.no_grad():
            reference.weight.copy_(torch.tensor([0.5, 1.5, -2.0]))
            reference.bias.copy_(torch.tensor([0.1, -0.3, 0.7]))
        layer.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    return layer, reference


CASES = [(nn.BatchNorm1d, torch.nn.BatchNorm1d, (6, 3)),
         (nn.BatchNorm1d, torch.nn.BatchNorm1d, (4, 3, 5)),
         (nn.BatchNorm2d, torch.nn.BatchNorm2d, (4, 3, 5, 2))]
OPTIONS = [{}, {"momentum": None}, {"momentum": 0.3, "eps": 1e-3}, {"affine": False},
           {"track_running_stats": False}]


@pytest.mark.parametrize(("ours", "theirs", "shape"), CASES, ids=["1d", "1d-length", "2d"])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(map(str, o)) or "default")
def test_training_steps_then_evaluation_match_pytorch(ours: Any, theirs: Any,
                                                      shape: tuple[int, ...],
                                                      options: dict[str, Any]) -> None:
    layer, reference = twins(ours, theirs, **options)
    rng = np.random.default_rng(0)
    for step in range(4):  # each batch moves the running statistics
        x = 2 + 3 * rng.standard_normal(shape)
        mine, expected = lw.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, reference_out = layer(mine), reference(expected)
        np.testing.assert_allclose(out.data, reference_out.detach().numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=f"step {step}")
        upstream = rng.standard_normal(shape)
        out.backward(upstream)
        reference_out.backward(torch.tensor(upstream))
        np.testing.assert_allclose(mine.grad, expected.grad.numpy(), rtol=1e-9, atol=1e-12)
        for name, parameter in layer.named_parameters():
            np.testing.assert_allclose(parameter.grad, getattr(reference, name).grad.numpy(),
                                       rtol=1e-9, atol=1e-12)
            parameter.grad = None
            getattr(reference, name).grad = None
        state, expected_state = layer.state_dict(), reference.state_dict()
        assert list(state) == list(expected_state)
        for name, value in state.items():
            np.testing.assert_allclose(value, expected_state[name].numpy(), rtol=1e-12,
                                       err_msg=name)
    layer.eval()
    reference.eval()
    x = rng.standard_normal(shape)
    with torch.no_grad():
        np.testing.assert_allclose(layer(x).data, reference(torch.tensor(x)).numpy(),
                                   rtol=1e-10)


def test_the_state_dict_has_pytorchs_keys_dtypes_and_order() -> None:
    state = nn.BatchNorm2d(4).state_dict()
    expected = torch.nn.BatchNorm2d(4).state_dict()
    assert list(state) == list(expected)
    assert state["num_batches_tracked"].dtype == np.int64
    assert state["num_batches_tracked"].shape == ()
    assert state["running_var"].tolist() == [1.0] * 4


def test_a_checkpoint_keeps_the_running_statistics(tmp_path: Any) -> None:
    layer = nn.BatchNorm1d(3)
    layer(np.random.default_rng(1).standard_normal((8, 3)).astype(np.float32))
    lw.save(layer.state_dict(), tmp_path / "bn.safetensors")
    restored = nn.BatchNorm1d(3)
    restored.load_state_dict(lw.load(tmp_path / "bn.safetensors"))
    for name, value in layer.state_dict().items():
        np.testing.assert_array_equal(restored.state_dict()[name], value)
    assert int(restored.num_batches_tracked) == 1


def test_evaluation_mode_accepts_one_sample_and_changes_nothing() -> None:
    layer = nn.BatchNorm1d(3).eval()
    before = layer.state_dict()
    layer(np.ones((1, 3), np.float32))
    for name, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_summary_leaves_the_running_statistics_and_the_mode_alone() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout2d(0.5))
    before = model.state_dict()
    model.summary((2, 1, 6, 6))
    assert all(module.training for module in model.modules())
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_dropout2d_drops_whole_channels_and_scales_the_rest() -> None:
    x = np.ones((64, 8, 3, 3), np.float32)
    y = nn.Dropout2d(0.25, rng=np.random.default_rng(2))(x).data
    per_channel = y.reshape(64, 8, 9)
    assert ((per_channel == 0).all(axis=2) | (per_channel == np.float32(1 / 0.75)).all(
        axis=2)).all()
    assert 0.15 < (per_channel[:, :, 0] == 0).mean() < 0.35
    layer = nn.Dropout2d(0.25).eval()
    assert layer(x).data is x or np.array_equal(layer(x).data, x)
    sequences = nn.Dropout2d(0.5, rng=np.random.default_rng(3))(np.ones((4, 6, 5))).data
    assert ((sequences == 0).all(axis=2) | (sequences == 2).all(axis=2)).all()
