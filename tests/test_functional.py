"""Functional API behaviour beyond the op registry: dropout, one_hot, targets, reductions."""

from __future__ import annotations

import numpy as np
import torch

import layerwise as lw
import layerwise.functional as F


def test_dropout_is_identity_when_not_training() -> None:
    x = lw.tensor(np.ones(5), requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


def test_dropout_keeps_the_expected_value() -> None:
    x = np.ones((1000, 100))
    y = F.dropout(x, 0.3, rng=np.random.default_rng(0)).data
    assert abs((y == 0).mean() - 0.3) < 0.01
    np.testing.assert_allclose(y[y != 0], 1 / 0.7)
    assert abs(y.mean() - 1.0) < 0.02


def test_dropout_is_reproducible_with_a_seed() -> None:
    x = np.ones((4, 4), dtype=np.float32)
    first = F.dropout(x, 0.5, rng=np.random.default_rng(3)).data
    second = F.dropout(x, 0.5, rng=np.random.default_rng(3)).data
    np.testing.assert_array_equal(first, second)
    assert first.dtype == np.float32
    lw.manual_seed(11)
    third = F.dropout(x, 0.5).data
    lw.manual_seed(11)
    np.testing.assert_array_equal(third, F.dropout(x, 0.5).data)


def test_dropout_with_p_1_drops_everything() -> None:
    x = lw.tensor(np.ones(4), requires_grad=True)
    y = F.dropout(x, 1.0)
    y.sum().backward()
    np.testing.assert_array_equal(y.data, np.zeros(4))
    np.testing.assert_array_equal(x.grad, np.zeros(4))


def test_one_hot() -> None:
    encoded = F.one_hot(np.array([2, 0, 1]), 3)
    np.testing.assert_array_equal(encoded, np.eye(3)[[2, 0, 1]])
    assert isinstance(encoded, lw.Tensor) and encoded.dtype == np.int64  # as in PyTorch
    assert F.one_hot(np.array([2, 0]), 3, dtype=np.float32).dtype == np.float32
    assert F.one_hot(lw.tensor([[1], [0]]), 2).shape == (2, 1, 2)
    np.testing.assert_array_equal(F.one_hot(lw.tensor([3, 1])),
                                  torch.nn.functional.one_hot(torch.tensor([3, 1])))


def test_targets_may_be_tensors_arrays_or_lists() -> None:
    logits = np.random.default_rng(0).standard_normal((3, 4))
    expected = F.cross_entropy(logits, np.array([0, 3, 1])).item()
    assert F.cross_entropy(logits, lw.tensor([0, 3, 1])).item() == expected
    assert F.cross_entropy(logits, [0, 3, 1]).item() == expected


def test_integral_float_labels_are_accepted() -> None:
    logits = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_allclose(F.cross_entropy(logits, np.array([0.0, 3.0, 1.0])).item(),
                               F.cross_entropy(logits, np.array([0, 3, 1])).item())


def test_cross_entropy_with_every_label_ignored_is_nan_like_pytorch() -> None:
    logits = lw.tensor(np.zeros((2, 3)), requires_grad=True)
    loss = F.cross_entropy(logits, np.array([-100, -100]))
    assert np.isnan(loss.item())


def test_targets_that_require_grad_get_gradients() -> None:
    prediction = lw.tensor(np.array([1.0, 2.0]), requires_grad=True)
    target = lw.tensor(np.array([0.0, 1.0]), requires_grad=True)
    F.mse_loss(prediction, target).backward()
    np.testing.assert_allclose(prediction.grad, [1.0, 1.0])
    np.testing.assert_allclose(target.grad, [-1.0, -1.0])


def test_where_takes_a_boolean_condition() -> None:
    a = lw.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    out = lw.where(np.array([True, False, True]), a, 0.0)
    out.sum().backward()
    np.testing.assert_array_equal(out.data, [1.0, 0.0, 3.0])
    np.testing.assert_array_equal(a.grad, [1.0, 0.0, 1.0])


def test_max_splits_the_gradient_between_ties() -> None:
    x = lw.tensor(np.array([[3.0, 1.0, 3.0], [0.0, 2.0, 1.0]]), requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])
