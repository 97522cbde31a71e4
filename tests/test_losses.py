"""The losses against PyTorch at the edges, in float64: every shape PyTorch accepts (one
sample, a batch, (N, C, d1, ...), empty), each reduction, class weights, label smoothing and
ignored labels, with the values and the gradients for a random upstream gradient.

pytest turns a RuntimeWarning into an error, so a NaN that PyTorch returns (a mean over no
samples) must come without one.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import layerwise as lw
import layerwise.functional as F
from layerwise import nn

REDUCTIONS = ("mean", "sum", "none")
NUM_CLASSES = 4
WEIGHT = np.array([0.5, 2.0, 1.5, 0.25])
# logits' shapes: one sample, a batch, per position of a sequence and of a picture, empty
LOGITS_SHAPES = {
    "unbatched": (NUM_CLASSES,),
    "batch": (5, NUM_CLASSES),
    "d1": (2, NUM_CLASSES, 3),
    "d1-d2": (2, NUM_CLASSES, 2, 3),
    "empty-batch": (0, NUM_CLASSES),
    "empty-d1": (2, NUM_CLASSES, 0),
}


def labels_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return () if len(shape) == 1 else shape[:1] + shape[2:]


def compare(ours: Callable[..., Any], theirs: Callable[..., Any], *arrays: np.ndarray,
            differentiable: int = 1, seed: int = 0) -> None:
    """Value and gradients (of the first `differentiable` arrays) of ours and theirs, for the
    same random upstream gradient."""
    our_inputs = [lw.Tensor(a, requires_grad=i < differentiable) for i, a in enumerate(arrays)]
    their_inputs = [torch.tensor(a, requires_grad=i < differentiable)
                    for i, a in enumerate(arrays)]
    mine, reference = ours(*our_inputs), theirs(*their_inputs)
    assert mine.shape == tuple(reference.shape)
    assert mine.dtype == np.float64
    np.testing.assert_allclose(mine.data, reference.detach().numpy(), rtol=1e-10, atol=1e-12,
                               equal_nan=True)
    upstream = np.random.default_rng(seed).uniform(0.5, 1.5, mine.shape)
    mine.backward(upstream)
    reference.backward(torch.tensor(upstream))
    for mine_input, reference_input in zip(our_inputs[:differentiable],
                                           their_inputs[:differentiable], strict=True):
        assert reference_input.grad is not None and mine_input.grad is not None
        np.testing.assert_allclose(mine_input.grad.data, reference_input.grad.numpy(),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("ignore", [False, True], ids=["all-labels", "some-ignored"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", LOGITS_SHAPES.values(), ids=LOGITS_SHAPES.keys())
def test_cross_entropy_with_labels_matches_pytorch(shape: tuple[int, ...], reduction: str,
                                                   weighted: bool, label_smoothing: float,
                                                   ignore: bool) -> None:
    rng = np.random.default_rng(len(shape) + 10 * weighted)
    logits = 2 * rng.standard_normal(shape)
    labels = rng.integers(0, NUM_CLASSES, labels_shape(shape))
    if ignore:  # every third label, from the first (the only one of an unbatched sample)
        labels.reshape(-1)[::3] = -1
    weight = WEIGHT if weighted else None
    options = dict(ignore_index=-1, reduction=reduction, label_smoothing=label_smoothing)
    compare(lambda x, y: F.cross_entropy(x, y, weight, **options),
            lambda x, y: TF.cross_entropy(x, y, None if weight is None else torch.tensor(weight),
                                          **options),
            logits, labels)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", LOGITS_SHAPES.values(), ids=LOGITS_SHAPES.keys())
def test_cross_entropy_with_probabilities_matches_pytorch(shape: tuple[int, ...],
                                                          reduction: str, weighted: bool,
                                                          label_smoothing: float) -> None:
    rng = np.random.default_rng(len(shape))
    logits = 2 * rng.standard_normal(shape)
    class_axis = 0 if len(shape) == 1 else 1
    probabilities = np.moveaxis(
        rng.dirichlet(np.ones(NUM_CLASSES), size=labels_shape(shape)), -1, class_axis)
    weight = WEIGHT if weighted else None
    options = dict(reduction=reduction, label_smoothing=label_smoothing)
    compare(lambda x, q: F.cross_entropy(x, q, weight, **options),
            lambda x, q: TF.cross_entropy(x, q, None if weight is None else torch.tensor(weight),
                                          **options),
            logits, probabilities, differentiable=2)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_every_label_ignored_gives_what_pytorch_gives(reduction: str, weighted: bool,
                                                      label_smoothing: float) -> None:
    """A mean over no samples is NaN (0 / 0) and the gradient 0, without a RuntimeWarning."""
    logits = np.random.default_rng(1).standard_normal((3, NUM_CLASSES))
    labels = np.full(3, -100)
    weight = WEIGHT if weighted else None
    options = dict(reduction=reduction, label_smoothing=label_smoothing)
    loss = F.cross_entropy(logits, labels, weight, **options)
    assert np.isnan(loss.item()) if reduction == "mean" else not loss.data.any()
    compare(lambda x, y: F.cross_entropy(x, y, weight, **options),
            lambda x, y: TF.cross_entropy(x, y, None if weight is None else torch.tensor(weight),
                                          **options),
            logits, labels)


def test_cross_entropy_module_takes_pytorchs_arguments() -> None:
    logits = np.random.default_rng(2).standard_normal((6, NUM_CLASSES, 2))
    labels = np.array([[0, 1], [2, 3], [3, 3], [1, -100], [0, 0], [2, 1]])
    ours = nn.CrossEntropyLoss(lw.tensor(WEIGHT), label_smoothing=0.1)
    theirs = torch.nn.CrossEntropyLoss(torch.tensor(WEIGHT), label_smoothing=0.1)
    np.testing.assert_allclose(ours(logits, labels).item(),
                               theirs(torch.tensor(logits), torch.tensor(labels)).item(),
                               rtol=1e-12)
    assert repr(ours) == ("CrossEntropyLoss(weight=[0.5, 2.0, 1.5, 0.25], reduction='mean', "
                          "ignore_index=-100, label_smoothing=0.1)")
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]  # a buffer
    assert nn.CrossEntropyLoss().state_dict() == {}
    pos_weight = np.array([1.0, 3.0])
    assert np.array_equal(nn.BCEWithLogitsLoss(pos_weight=pos_weight).state_dict()["pos_weight"],
                          pos_weight)


def test_cross_entropy_keeps_float32_with_float64_weights() -> None:
    logits = lw.tensor(np.random.default_rng(3).standard_normal((4, NUM_CLASSES)),
                       dtype=lw.float32, requires_grad=True)
    loss = F.cross_entropy(logits, [0, 1, 2, 3], weight=WEIGHT, label_smoothing=0.1)
    loss.backward()
    assert loss.dtype == np.float32 and logits.grad is not None
    assert logits.grad.dtype == np.float32
    expected = TF.cross_entropy(torch.tensor(logits.data), torch.tensor([0, 1, 2, 3]),
                                weight=torch.tensor(WEIGHT, dtype=torch.float32),
                                label_smoothing=0.1)
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-6)


def test_a_bad_label_is_named_by_its_position_in_the_labels() -> None:
    labels = np.zeros((2, 3, 4), dtype=np.int64)
    labels[1, 2, 0] = 7
    with pytest.raises(ValueError, match=r"label 7 at position \(1, 2, 0\) is out of range "
                                         r"for 5 classes"):
        F.cross_entropy(np.zeros((2, 5, 3, 4)), labels)
    with pytest.raises(ValueError, match="cross_entropy: label 5 is out of range for 5 classes"):
        F.cross_entropy(np.zeros(5), np.array(5))
    with pytest.raises(ValueError, match=r"nll_loss: label -3 at position \(0, 1\)"):
        F.nll_loss(np.zeros((1, 5, 2)), np.array([[0, -3]]))


# --- the other losses --------------------------------------------------------------------------


ELEMENTWISE = {  # name: (layerwise, PyTorch, input maker, target maker)
    "mse_loss": (F.mse_loss, TF.mse_loss, "normal", "normal"),
    "l1_loss": (F.l1_loss, TF.l1_loss, "normal", "normal"),
    "smooth_l1_loss": (F.smooth_l1_loss, TF.smooth_l1_loss, "normal", "normal"),
    "huber_loss": (F.huber_loss, TF.huber_loss, "normal", "normal"),
    "binary_cross_entropy": (F.binary_cross_entropy, TF.binary_cross_entropy, "probability",
                             "probability"),
    "binary_cross_entropy_with_logits": (F.binary_cross_entropy_with_logits,
                                         TF.binary_cross_entropy_with_logits, "normal",
                                         "probability"),
    "kl_div": (F.kl_div, TF.kl_div, "log-probability", "probability"),
}
ELEMENTWISE_SHAPES = {"one-value": (), "vector": (5,), "matrix": (3, 4), "3-d": (2, 3, 2),
                      "empty": (0,), "empty-rows": (0, 3), "empty-columns": (2, 0)}


def draw(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if kind == "normal":
        return 2 * rng.standard_normal(shape)
    if kind == "probability":
        return rng.uniform(0.05, 0.95, shape)
    return np.log(rng.uniform(0.05, 0.95, shape))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss:UserWarning")
@pytest.mark.parametrize("shape", ELEMENTWISE_SHAPES.values(), ids=ELEMENTWISE_SHAPES.keys())
@pytest.mark.parametrize(("name", "reduction"), [
    *((name, reduction) for name in ELEMENTWISE for reduction in REDUCTIONS),
    ("kl_div", "batchmean")])
def test_elementwise_losses_match_pytorch_at_the_edges(name: str, reduction: str,
                                                       shape: tuple[int, ...]) -> None:
    ours, theirs, input_kind, target_kind = ELEMENTWISE[name]
    rng = np.random.default_rng(len(shape))
    compare(lambda x, y: ours(x, y, reduction=reduction),
            lambda x, y: theirs(x, y, reduction=reduction),
            draw(input_kind, shape, rng), draw(target_kind, shape, rng), differentiable=2)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [(4,), (3, 1), (3, 4)])
def test_binary_cross_entropy_weights_match_pytorch(weight_shape: tuple[int, ...],
                                                    reduction: str) -> None:
    rng = np.random.default_rng(5)
    weight = rng.uniform(0.2, 2.0, weight_shape)
    pos_weight = rng.uniform(0.5, 3.0, 4)
    p, x, y = rng.uniform(0.05, 0.95, (3, 4)), 2 * rng.standard_normal((3, 4)), rng.random((3, 4))
    compare(lambda p, y: F.binary_cross_entropy(p, y, weight, reduction=reduction),
            lambda p, y: TF.binary_cross_entropy(p, y, torch.tensor(weight), reduction=reduction),
            p, y, differentiable=2)
    compare(lambda x, y: F.binary_cross_entropy_with_logits(
                x, y, weight, reduction=reduction, pos_weight=pos_weight),
            lambda x, y: TF.binary_cross_entropy_with_logits(
                x, y, torch.tensor(weight), reduction=reduction,
                pos_weight=torch.tensor(pos_weight)),
            x, y, differentiable=2)
    ours = nn.BCEWithLogitsLoss(weight, pos_weight=pos_weight)(x, y).item()
    theirs = torch.nn.BCEWithLogitsLoss(torch.tensor(weight), pos_weight=torch.tensor(pos_weight))
    assert ours == pytest.approx(theirs(torch.tensor(x), torch.tensor(y)).item(), rel=1e-12)
    assert nn.BCELoss(weight)(p, y).item() == pytest.approx(
        torch.nn.BCELoss(torch.tensor(weight))(torch.tensor(p), torch.tensor(y)).item(),
        rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", LOGITS_SHAPES.values(), ids=LOGITS_SHAPES.keys())
def test_nll_loss_matches_pytorch_with_weights_and_ignored_labels(shape: tuple[int, ...],
                                                                  reduction: str,
                                                                  weighted: bool) -> None:
    rng = np.random.default_rng(len(shape))
    log_probabilities = rng.standard_normal(shape)
    labels = rng.integers(0, NUM_CLASSES, labels_shape(shape))
    labels.reshape(-1)[::3] = -100
    weight = WEIGHT if weighted else None
    compare(lambda x, y: F.nll_loss(x, y, weight, reduction=reduction),
            lambda x, y: TF.nll_loss(x, y, None if weight is None else torch.tensor(weight),
                                     reduction=reduction),
            log_probabilities, labels)


def test_nll_loss_with_every_label_ignored_has_a_zero_gradient() -> None:
    compare(F.nll_loss, TF.nll_loss, np.random.default_rng(6).standard_normal((3, 4)),
            np.full(3, -100))


def test_kl_div_of_a_negative_target_is_nan_as_in_pytorch() -> None:
    x, q = np.log(np.array([0.2, 0.3, 0.5])), np.array([-0.1, 0.0, 1.1])
    ours = F.kl_div(x, q, reduction="none").data
    theirs = TF.kl_div(torch.tensor(x), torch.tensor(q), reduction="none").numpy()
    np.testing.assert_array_equal(ours, theirs)
    assert np.isnan(ours[0]) and ours[1] == 0


BROADCASTS = {"target-per-column": ((4, 3), (3,)), "column-against-vector": ((4, 1), (4,)),
              "input-smaller": ((1, 3), (2, 3))}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shapes", BROADCASTS.values(), ids=BROADCASTS.keys())
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div"])
def test_regression_losses_broadcast_and_warn_as_pytorch(name: str,
                                                         shapes: tuple[tuple[int, ...], ...],
                                                         reduction: str) -> None:
    """PyTorch broadcasts a target of another shape, warning that it is likely a mistake
    (kl_div without the warning); the gradients sum back to each shape."""
    ours, theirs, input_kind, target_kind = ELEMENTWISE[name]
    rng = np.random.default_rng(7)
    arrays = draw(input_kind, shapes[0], rng), draw(target_kind, shapes[1], rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for pytorchs in ("Using a target size", "reduction: 'mean' divides the total loss"):
            warnings.filterwarnings("ignore", pytorchs, UserWarning)
        if name == "kl_div":
            compare(lambda x, y: ours(x, y, reduction=reduction),
                    lambda x, y: theirs(x, y, reduction=reduction), *arrays, differentiable=2)
            return
        with pytest.warns(UserWarning, match=rf"{name}: target of shape .* differs from "
                                             rf"input of shape .* as in PyTorch"):
            compare(lambda x, y: ours(x, y, reduction=reduction),
                    lambda x, y: theirs(x, y, reduction=reduction), *arrays, differentiable=2)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_element_weights_of_the_regression_losses_match_pytorch(name: str,
                                                                reduction: str) -> None:
    """PyTorch's mean divides by the sum of the weights for mse and l1, by the count for
    huber; a target that broadcasts is weighted after broadcasting."""
    rng = np.random.default_rng(8)
    weight = rng.uniform(0.0, 2.0, (3, 4))
    ours, theirs = getattr(F, name), getattr(TF, name)
    for target_shape in [(3, 4), (4,)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the broadcast target's warning
            compare(lambda x, y: ours(x, y, reduction=reduction, weight=weight),
                    lambda x, y: theirs(x, y, reduction=reduction, weight=torch.tensor(weight)),
                    2 * rng.standard_normal((3, 4)), rng.standard_normal(target_shape),
                    differentiable=2)


@pytest.mark.parametrize("name", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_binary_cross_entropy_refuses_integer_input(name: str) -> None:
    """PyTorch refuses it; the loss of logits (0, 1) would be truncated to 0."""
    with pytest.raises(TypeError, match=rf"{name}: input must be floating point, got int64"):
        getattr(F, name)(np.array([0, 1]), np.array([0.0, 1.0]))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss:UserWarning")
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
                                  "kl_div"])
def test_regression_losses_refuse_integer_input_and_take_integer_targets(name: str) -> None:
    """PyTorch refuses integer input too (a truncated 0.5 d^2 would be 0); an integer target
    counts as its floating-point value (PyTorch takes one for mse, l1 and smooth_l1)."""
    loss, pytorch_loss = getattr(F, name), getattr(TF, name)
    with pytest.raises(TypeError, match=rf"{name}: input must be floating point, got int64"):
        loss(lw.arange(3), lw.arange(3) + 1)
    x = np.array([-0.5, -1.5, -2.5])
    target = np.array([0, 1, 2]) if name != "kl_div" else np.array([0, 1, 1])
    compare(loss, lambda x, y: pytorch_loss(x, y.double()), x, target)
