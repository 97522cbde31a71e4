"""Convolutions against PyTorch over a grid of options, in float64: values, gradients of every
input, and the option combinations PyTorch refuses, which layerwise must refuse too."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import layerwise as lw
import layerwise.functional as F
from layerwise import nn


def compare(ours: Callable[..., lw.Tensor], theirs: Callable[..., torch.Tensor],
            arrays: list[np.ndarray], rtol: float = 1e-10) -> None:
    """Values and the gradient of every input agree; or both refuse the inputs."""
    mine = [lw.tensor(array, requires_grad=True) for array in arrays]
    reference = [torch.tensor(array, requires_grad=True) for array in arrays]
    try:
        expected = theirs(*reference)
    except (RuntimeError, ValueError):
        with pytest.raises(ValueError):
            ours(*mine)
        return
    out = ours(*mine)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=1e-12)
    upstream = np.random.default_rng(3).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for position, (a, b) in enumerate(zip(mine, reference, strict=True)):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=rtol, atol=1e-12,
                                   err_msg=f"gradient of input {position}")


GRID_2D = list(itertools.product([1, 2, (2, 1)], [0, 1, (2, 0), "same", "valid"], [1, 2],
                                 [1, 2], [True, False]))


@pytest.mark.parametrize(("stride", "padding", "dilation", "groups", "bias"), GRID_2D)
def test_conv2d_grid(stride: Any, padding: Any, dilation: int, groups: int, bias: bool) -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 4 // groups, 3, 2))]
    if bias:
        arrays.append(rng.standard_normal(6))
    options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    compare(lambda *a: F.conv2d(*a, **options), lambda *a: TF.conv2d(*a, **options), arrays)


@pytest.mark.parametrize(("stride", "padding", "dilation", "groups"),
                         list(itertools.product([1, 3], [0, 2, "same"], [1, 2], [1, 3])))
def test_conv1d_grid(stride: int, padding: Any, dilation: int, groups: int) -> None:
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((2, 3, 11)), rng.standard_normal((6, 3 // groups, 3)),
              rng.standard_normal(6)]
    options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    compare(lambda *a: F.conv1d(*a, **options), lambda *a: TF.conv1d(*a, **options), arrays)


@pytest.mark.parametrize(("stride", "padding", "output_padding", "dilation", "groups"),
                         list(itertools.product([1, 2, (3, 2)], [0, 1], [0, 1, (1, 0)],
                                                [1, 2], [1, 2])))
def test_conv_transpose2d_grid(stride: Any, padding: int, output_padding: Any, dilation: int,
                               groups: int) -> None:
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((2, 4, 4, 3)), rng.standard_normal((4, 6 // groups, 3, 2)),
              rng.standard_normal(6)]
    options = {"stride": stride, "padding": padding, "output_padding": output_padding,
               "dilation": dilation, "groups": groups}
    compare(lambda *a: F.conv_transpose2d(*a, **options),
            lambda *a: TF.conv_transpose2d(*a, **options), arrays)


@pytest.mark.parametrize("function", ["conv2d", "conv_transpose2d"])
def test_unbatched_and_empty_batches(function: str) -> None:
    rng = np.random.default_rng(4)
    weight = rng.standard_normal((3, 3, 3, 3))
    ours, theirs = getattr(F, function), getattr(TF, function)
    for shape in [(3, 5, 5), (0, 3, 5, 5)]:
        compare(lambda x, w, f=ours: f(x, w, padding=1), lambda x, w, f=theirs: f(x, w, padding=1),
                [rng.standard_normal(shape), weight])


def test_any_memory_layout_of_the_input_gives_the_same_result() -> None:
    rng = np.random.default_rng(5)
    x, weight = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3))
    expected = F.conv2d(x, weight, padding=1).data
    layouts = [np.asfortranarray(x), np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(
        0, 3, 1, 2), x[:, :, ::-1][:, :, ::-1], np.repeat(x, 2, axis=3)[:, :, :, ::2]]
    for layout in layouts:
        np.testing.assert_array_equal(F.conv2d(layout, weight, padding=1).data, expected)


def test_float32_stays_float32_and_outputs_are_channels_last_in_memory() -> None:
    x = np.random.default_rng(6).standard_normal((2, 3, 8, 8)).astype(np.float32)
    layer = nn.Conv2d(3, 5, 3, padding=1)
    y = layer(x)
    assert y.dtype == np.float32
    assert y.data.transpose(0, 2, 3, 1).flags.c_contiguous  # the next layer reads it in place


def test_first_layer_skips_the_gradient_of_its_input() -> None:
    layer = nn.Conv2d(1, 2, 3)
    x = lw.tensor(np.ones((1, 1, 5, 5), np.float32))
    layer(x).sum().backward()
    assert x.grad is None and layer.weight.grad is not None


# --- modules ------------------------------------------------------------------------------------


SEEDED = {"rng": np.random.default_rng(0)}


@pytest.mark.parametrize(("ours", "theirs"), [
    (lambda: nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2, **SEEDED),
     lambda: torch.nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2)),
    (lambda: nn.Conv1d(3, 5, 4, bias=False, **SEEDED),
     lambda: torch.nn.Conv1d(3, 5, 4, bias=False)),
    (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=1, groups=2, **SEEDED),
     lambda: torch.nn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=1, groups=2)),
])
def test_parameters_have_pytorchs_names_shapes_and_initial_range(
        ours: Callable[[], nn.Module], theirs: Callable[[], torch.nn.Module]) -> None:
    layer, reference = ours(), theirs().double()
    state, expected = layer.state_dict(), reference.state_dict()
    assert list(state) == list(expected)
    bound = 1 / math.sqrt(math.prod(expected["weight"].shape[1:]))  # PyTorch's fan_in
    for name, value in state.items():
        assert value.shape == tuple(expected[name].shape)
        assert bound >= np.abs(value).max() > 0.5 * bound  # U(-bound, bound), not narrower
    for name, parameter in layer.named_parameters():  # PyTorch's weights, in float64
        parameter.data = expected[name].numpy().copy()
    channels = expected["weight"].shape[0 if isinstance(layer, nn.ConvTranspose2d) else 1]
    groups = getattr(layer, "groups", 1)
    spatial = (9,) if isinstance(layer, nn.Conv1d) else (7, 6)
    x = np.random.default_rng(7).standard_normal((2, channels * (
        1 if isinstance(layer, nn.ConvTranspose2d) else groups), *spatial))
    with torch.no_grad():
        np.testing.assert_allclose(layer(x).data, reference(torch.tensor(x)).numpy(), rtol=1e-10)


def test_repr_and_summary_show_the_options_and_shapes() -> None:
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding="same"), nn.MaxPool2d(2),
                          nn.Conv2d(8, 4, 3, stride=2, bias=False), nn.Flatten())
    assert "Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding='same')" in repr(model)
    assert "Conv2d(8, 4, kernel_size=(3, 3), stride=(2, 2), bias=False)" in repr(model)
    table = model.summary((5, 1, 28, 28))
    for shape in ["(5, 8, 28, 28)", "(5, 8, 14, 14)", "(5, 4, 6, 6)", "(5, 144)"]:
        assert shape in table
