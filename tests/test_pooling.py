"""Pooling against PyTorch over a grid of options in float64, on random and on real images
(whose flat background ties the maxima of many windows)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import layerwise as lw
import layerwise.functional as F
from layerwise import nn
from layerwise.data import fashion_mnist
from tests.test_conv import compare

WINDOWS = list(itertools.product([2, 3, (2, 3)], [None, 1, 2], [0, 1], [False, True]))


@pytest.mark.parametrize(("kernel", "stride", "padding", "ceil_mode"), WINDOWS)
@pytest.mark.parametrize("dilation", [1, 2])
def test_max_pool2d_grid(kernel: Any, stride: Any, padding: int, ceil_mode: bool,
                         dilation: int) -> None:
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6))
    options = {"kernel_size": kernel, "stride": stride, "padding": padding,
               "ceil_mode": ceil_mode, "dilation": dilation}
    compare(lambda a: F.max_pool2d(a, **options), lambda a: TF.max_pool2d(a, **options), [x])


@pytest.mark.parametrize(("kernel", "stride", "padding", "ceil_mode"), WINDOWS)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_grid(kernel: Any, stride: Any, padding: int, ceil_mode: bool,
                         count_include_pad: bool) -> None:
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 6))
    options = {"kernel_size": kernel, "stride": stride, "padding": padding,
               "ceil_mode": ceil_mode, "count_include_pad": count_include_pad}
    compare(lambda a: F.avg_pool2d(a, **options), lambda a: TF.avg_pool2d(a, **options), [x])


@pytest.mark.parametrize("output_size", [1, 2, (3, 1), (None, 4), (5, 7), 9])
def test_adaptive_avg_pool2d_grid(output_size: Any) -> None:
    x = np.random.default_rng(2).standard_normal((2, 3, 7, 5))
    compare(lambda a: F.adaptive_avg_pool2d(a, output_size),
            lambda a: TF.adaptive_avg_pool2d(a, output_size), [x])


@pytest.mark.parametrize("function", ["max_pool2d", "avg_pool2d"])
def test_unbatched_and_empty_inputs(function: str) -> None:
    rng = np.random.default_rng(3)
    ours, theirs = getattr(F, function), getattr(TF, function)
    for shape in [(3, 6, 5), (0, 3, 6, 5)]:
        compare(lambda a: ours(a, 2), lambda a: theirs(a, 2), [rng.standard_normal(shape)])


@pytest.fixture(scope="module")
def real_images() -> np.ndarray:
    images = fashion_mnist("test").images[:16]
    return images[:, np.newaxis].astype(np.float64) / 255


@pytest.mark.parametrize("options", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 1},
                                     {"kernel_size": 3, "stride": 2, "padding": 1}])
def test_max_pool_routes_tied_maxima_like_pytorch_on_real_images(
        real_images: np.ndarray, options: dict[str, Any]) -> None:
    windows = torch.nn.functional.unfold(torch.tensor(real_images), 2, stride=2)
    ties = (windows == windows.amax(dim=1, keepdim=True)).sum(dim=1)
    assert (ties > 1).float().mean() > 0.2  # most windows of the background are tied
    compare(lambda a: F.max_pool2d(a, **options), lambda a: TF.max_pool2d(a, **options),
            [real_images])


def test_each_window_passes_its_whole_gradient_once(real_images: np.ndarray) -> None:
    x = lw.tensor(real_images, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad is not None
    assert x.grad.sum() == 16 * 14 * 14  # one unit per window, however many ties it holds
    assert set(np.unique(x.grad)) <= {0.0, 1.0}


def test_return_indices_match_pytorchs() -> None:
    x = np.random.default_rng(4).standard_normal((2, 3, 7, 6))
    options = {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 1}
    values, indices = F.max_pool2d(x, return_indices=True, **options)
    expected_values, expected_indices = TF.max_pool2d(torch.tensor(x), return_indices=True,
                                                      **options)
    np.testing.assert_array_equal(values.data, expected_values.numpy())
    np.testing.assert_array_equal(indices.data, expected_indices.numpy())
    assert indices.dtype == np.int64
    _, layer_indices = nn.MaxPool2d(3, 2, 1, return_indices=True)(x[0])
    np.testing.assert_array_equal(layer_indices.data, expected_indices.numpy()[0])


def test_modules_match_the_functions_and_show_their_options() -> None:
    x = np.random.default_rng(5).standard_normal((2, 3, 8, 8))
    pairs = [(nn.MaxPool2d(2), F.max_pool2d(x, 2)),
             (nn.AvgPool2d(3, 2, 1, count_include_pad=False),
              F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)),
             (nn.AdaptiveAvgPool2d((2, None)), F.adaptive_avg_pool2d(x, (2, None)))]
    for layer, expected in pairs:
        np.testing.assert_array_equal(layer(x).data, expected.data)
    assert repr(nn.MaxPool2d(2)) == (
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)")
    assert repr(nn.AdaptiveAvgPool2d(1)) == "AdaptiveAvgPool2d(output_size=1)"


def test_integer_images_are_refused_with_what_to_do() -> None:
    with pytest.raises(TypeError, match="expected floating-point input, got uint8"):
        F.max_pool2d(np.zeros((1, 1, 4, 4), np.uint8), 2)
