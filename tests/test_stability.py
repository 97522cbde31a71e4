"""Extreme inputs: logits of +-1000 give finite, correct losses and gradients."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as TF

import layerwise as lw
import layerwise.functional as F

EXTREME = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])


def leaf(values: np.ndarray) -> lw.Tensor:
    return lw.tensor(values.copy(), requires_grad=True)


def test_cross_entropy_of_extreme_logits() -> None:
    logits = leaf(EXTREME)
    loss = F.cross_entropy(logits, np.array([1, 2]))
    # Sample 0: label 1 sits 2000 below the winner; sample 1: 1 below.
    expected = (2000.0 + 1.0 + np.log1p(np.exp(-1.0))) / 2
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)
    loss.backward()
    probs = np.array([[1.0, 0.0, 0.0], [0.0, 1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(1.0))]])
    onehot = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(logits.grad, (probs - onehot) / 2, atol=1e-15)


def test_softmax_and_log_softmax_of_extreme_logits_match_pytorch() -> None:
    upstream = np.random.default_rng(0).standard_normal(EXTREME.shape)
    for ours, theirs in ((F.softmax, torch.softmax), (F.log_softmax, torch.log_softmax)):
        x, ref = leaf(EXTREME), torch.tensor(EXTREME, requires_grad=True)
        out, expected = ours(x), theirs(ref, -1)
        out.backward(upstream)
        expected.backward(torch.tensor(upstream))
        assert np.isfinite(out.data).all() and np.isfinite(x.grad.data).all()
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(x.grad, ref.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_sigmoid_saturates_without_overflow() -> None:
    x = leaf(np.array([-1000.0, 0.0, 1000.0]))
    y = F.sigmoid(x)
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.25, 0.0])


def test_binary_cross_entropy_with_logits_of_extreme_scores() -> None:
    scores = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    targets = np.array([1.0, 0.0, 0.0, 1.0])
    x = leaf(scores)
    loss = F.binary_cross_entropy_with_logits(x, targets, reduction="none")
    np.testing.assert_allclose(loss.data, [0.0, 0.0, 1000.0, 1000.0])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.0, 1.0, -1.0])


def test_binary_cross_entropy_clamps_its_logs_like_pytorch() -> None:
    p = np.array([0.0, 1.0, 0.5])
    y = np.array([1.0, 0.0, 1.0])
    ours = F.binary_cross_entropy(p, y, reduction="none")
    theirs = TF.binary_cross_entropy(torch.tensor(p), torch.tensor(y), reduction="none")
    np.testing.assert_allclose(ours.data, theirs.numpy())


def test_softplus_and_gelu_at_extremes() -> None:
    x = leaf(np.array([-1000.0, 1000.0]))
    (F.softplus(x) + F.gelu(x) + F.elu(x)).sum().backward()
    np.testing.assert_allclose(F.softplus(x).data, [0.0, 1000.0])
    np.testing.assert_allclose(F.gelu(x).data, [0.0, 1000.0])
    np.testing.assert_allclose(x.grad, [0.0, 3.0])


def test_float32_cross_entropy_of_extreme_logits_is_finite() -> None:
    logits = lw.tensor(EXTREME.astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(logits, np.array([1, 0]), label_smoothing=0.1)
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(logits.grad.data).all()
