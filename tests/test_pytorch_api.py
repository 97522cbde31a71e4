"""The Tensor API and the top-level functions against PyTorch: values, dtypes and shapes, at
the edges PyTorch's own tests look at (empty tensors, negative dims, keepdim, broadcasting,
integer and bool dtypes). Gradients of the differentiable ones are checked by the op
registry (test_ops.py); here the same names are also exercised through their methods."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import layerwise as lw
import layerwise.functional as F

RNG = np.random.default_rng(0)
MATRIX = RNG.standard_normal((3, 4))
CUBE = RNG.standard_normal((2, 3, 4))
INTS = np.array([[3, -1, 4], [1, 5, -9]])
BOOLS = np.array([[True, False, True], [False, False, True]])
EMPTY = np.zeros((0, 3))
WITH_TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])


def as_numpy(value: Any) -> Any:
    """Results of either framework as NumPy (tuples of tensors element by element)."""
    if isinstance(value, tuple | list):
        return [as_numpy(item) for item in value]
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    if isinstance(value, lw.Tensor):
        return value.data
    return value


Call = Callable[[Any], Any]
# (id, input array, the call on a layerwise tensor, the call on a torch tensor (None: same))
SAME: list[tuple[str, np.ndarray, Call, Call | None]] = [
    ("sum-dim-keepdim", CUBE, lambda t: t.sum(dim=(0, 2), keepdim=True), None),
    ("sum-negative-dim", CUBE, lambda t: t.sum(-1), None),
    ("sum-empty", EMPTY, lambda t: t.sum(), None),
    ("sum-empty-dim", EMPTY, lambda t: t.sum(0), None),
    ("sum-bool", BOOLS, lambda t: t.sum(), None),
    ("sum-int-dim", INTS, lambda t: t.sum(1), None),
    ("mean-empty-dim", EMPTY, lambda t: t.mean(0), None),
    ("mean-keepdim", CUBE, lambda t: t.mean(1, keepdim=True), None),
    ("max-all", MATRIX, lambda t: t.max(), None),
    ("max-dim", MATRIX, lambda t: tuple(t.max(1)), None),
    ("max-dim-keepdim", CUBE, lambda t: tuple(t.max(dim=-2, keepdim=True)), None),
    ("max-dim-ties-first-index", WITH_TIES, lambda t: tuple(t.max(1)), None),
    ("min-dim-ints", INTS, lambda t: tuple(t.min(0)), None),
    ("max-dim-0d", np.array(3.0), lambda t: tuple(t.max(0)), None),
    ("min-dim-0d-keepdim", np.array(3.0), lambda t: tuple(t.min(-1, keepdim=True)), None),
    ("max-elementwise", MATRIX, lambda t: t.max(t * -1), lambda t: torch.max(t, t * -1)),
    ("amax-dims", CUBE, lambda t: t.amax((0, 1)), None),
    ("argmax-flat", MATRIX, lambda t: t.argmax(), None),
    ("argmax-dim", MATRIX, lambda t: t.argmax(1), None),
    ("argmax-keepdim", MATRIX, lambda t: t.argmax(0, keepdim=True), None),
    ("argmin-ties", WITH_TIES, lambda t: t.argmin(1), None),
    ("argmax-bool", BOOLS, lambda t: t.argmax(1), lambda t: t.to(torch.uint8).argmax(1)),
    ("std-dim", MATRIX, lambda t: t.std(1), None),
    ("std-unbiased-false", MATRIX, lambda t: t.std(unbiased=False), None),
    ("var-correction-0-keepdim", CUBE, lambda t: t.var(2, keepdim=True, correction=0), None),
    ("var-one-value", np.ones((3, 1)), lambda t: t.var(1), None),
    ("norm-default", MATRIX, lambda t: t.norm(), None),
    ("norm-p1-negative-dim", CUBE, lambda t: t.norm(1, -1), lambda t: t.norm(1, -1)),
    ("norm-zero-tensor", np.zeros((2, 3)), lambda t: t.norm(dim=1), None),
    ("norm-p0", np.array([[0.0, 2.0, -1.0]]), lambda t: t.norm(0, dim=1), None),
    ("prod-int", INTS, lambda t: t.prod(1), None),
    ("prod-bool", BOOLS, lambda t: t.prod(), None),
    ("prod-empty", EMPTY, lambda t: t.prod(0), None),
    ("cumsum-int", INTS, lambda t: t.cumsum(1), None),
    ("cumsum-bool", BOOLS, lambda t: t.cumsum(0), None),
    ("all-dim", BOOLS, lambda t: t.all(1), None),
    ("any-keepdim", BOOLS, lambda t: t.any(0, keepdim=True), None),
    ("all-empty", EMPTY, lambda t: t.all(), None),
    ("any-floats", MATRIX, lambda t: (t > 2).any(), None),
    ("topk-smallest", MATRIX, lambda t: tuple(t.topk(2, dim=0, largest=False)), None),
    ("topk-zero", MATRIX, lambda t: tuple(t.topk(0)), None),
    ("sort-stable-ties", WITH_TIES, lambda t: tuple(t.sort(stable=True)),
     lambda t: tuple(t.sort(stable=True))),
    ("sort-descending-ties", WITH_TIES, lambda t: tuple(t.sort(descending=True, stable=True)),
     lambda t: tuple(t.sort(descending=True, stable=True))),
    ("sort-nan-last", np.array([2.0, np.nan, -1.0]), lambda t: tuple(t.sort()), None),
    ("sort-descending-nan-first", np.array([2.0, np.nan, -1.0]),
     lambda t: tuple(t.sort(descending=True)), None),
    ("sort-ints-descending", INTS, lambda t: tuple(t.sort(descending=True, stable=True)),
     lambda t: tuple(t.sort(descending=True, stable=True))),
    ("argsort", MATRIX, lambda t: t.argsort(dim=0), None),
    ("view", MATRIX, lambda t: t.view(2, -1), None),
    ("view-tuple", MATRIX, lambda t: t.view((6, 2)), None),
    ("view-as", MATRIX, lambda t: t.view_as(t.reshape(4, 3)), None),
    ("reshape-empty", EMPTY, lambda t: t.reshape(3, 0), None),
    ("flatten-all", CUBE, lambda t: t.flatten(), None),
    ("flatten-end", CUBE, lambda t: t.flatten(0, 1), None),
    ("flatten-0d", np.array(3.0), lambda t: t.flatten(), None),
    ("unflatten", MATRIX, lambda t: t.unflatten(1, (2, -1)), None),
    ("squeeze-all", np.ones((1, 3, 1)), lambda t: t.squeeze(), None),
    ("squeeze-dim-not-1", MATRIX, lambda t: t.squeeze(0), None),
    ("squeeze-dims", np.ones((1, 3, 1)), lambda t: t.squeeze((0, 2)), None),
    ("unsqueeze-negative", MATRIX, lambda t: t.unsqueeze(-1), None),
    ("unsqueeze-front", MATRIX, lambda t: t.unsqueeze(-3), None),
    ("permute", CUBE, lambda t: t.permute(1, 2, 0), None),
    ("permute-tuple", CUBE, lambda t: t.permute((2, 0, 1)), None),
    ("transpose-two", CUBE, lambda t: t.transpose(-1, 0), None),
    ("transpose-2d", MATRIX, lambda t: t.transpose(0, 1), None),
    ("t", MATRIX, lambda t: t.t(), None),
    ("t-vector", np.arange(3.0), lambda t: t.t(), None),
    ("mT", CUBE, lambda t: t.mT, None),
    ("expand", np.arange(3.0).reshape(3, 1), lambda t: t.expand(2, 3, 5), None),
    ("expand-as", np.arange(3.0), lambda t: t.expand_as(lw.zeros(2, 3)),
     lambda t: t.expand_as(torch.zeros(2, 3))),
    ("repeat", MATRIX, lambda t: t.repeat(2, 1), None),
    ("repeat-zero", MATRIX, lambda t: t.repeat(0, 2), None),
    ("chunk-uneven", np.arange(10.0), lambda t: t.chunk(4), None),
    ("chunk-more-than-length", np.arange(3.0), lambda t: t.chunk(5), None),
    ("split-size", np.arange(10.0), lambda t: t.split(4), None),
    ("split-sections-dim", MATRIX, lambda t: t.split([1, 3], dim=1), None),
    ("unbind", MATRIX, lambda t: t.unbind(1), None),
    ("index-select", MATRIX, lambda t: t.index_select(0, lw.tensor([2, 0])),
     lambda t: t.index_select(0, torch.tensor([2, 0]))),
    ("gather", MATRIX, lambda t: t.gather(1, lw.tensor([[0], [3], [1]])),
     lambda t: t.gather(1, torch.tensor([[0], [3], [1]]))),
    ("scatter-add-ints", INTS, lambda t: t.scatter_add(1, lw.tensor([[0, 0, 2], [1, 1, 1]]),
                                                       lw.tensor([[1, 2, 3], [4, 5, 6]])),
     lambda t: t.scatter_add(1, torch.tensor([[0, 0, 2], [1, 1, 1]]),
                             torch.tensor([[1, 2, 3], [4, 5, 6]]))),
    ("masked-fill-broadcast-mask", MATRIX,
     lambda t: t.masked_fill(lw.tensor([True, False, True, False]), 0.0),
     lambda t: t.masked_fill(torch.tensor([True, False, True, False]), 0.0)),
    ("masked-fill-int", INTS, lambda t: t.masked_fill(lw.tensor(BOOLS), 7),
     lambda t: t.masked_fill(torch.tensor(BOOLS), 7)),
    ("where-scalar-other", MATRIX, lambda t: lw.where(t > 0, t, 0.0),
     lambda t: torch.where(t > 0, t, 0.0)),
    ("where-one-argument", INTS, lambda t: lw.where(t > 0), lambda t: torch.where(t > 0)),
    ("clone", MATRIX, lambda t: t.clone(), None),
    ("clamp-min", MATRIX, lambda t: t.clamp(min=0.1), None),
    ("clamp-int", INTS, lambda t: t.clamp(-2, 2), None),
    ("clip", MATRIX, lambda t: t.clip(-0.5, 0.5), None),
    ("pow-tensor-exponent-int", INTS, lambda t: t.abs().pow(lw.tensor([1, 2, 0])),
     lambda t: t.abs().pow(torch.tensor([1, 2, 0]))),
    ("square-int", INTS, lambda t: t.square(), None),
    ("exp-int", INTS, lambda t: t.exp(), None),
    ("sqrt-bool", BOOLS, lambda t: t.sqrt(), None),
    ("sin-int", INTS, lambda t: t.sin(), None),
    ("sigmoid-int", INTS, lambda t: t.sigmoid(), None),
    ("softmax-dim-0", MATRIX, lambda t: t.softmax(0), None),
    ("log-softmax-negative", CUBE, lambda t: t.log_softmax(dim=-2), None),
    ("sign", np.array([-2.0, 0.0, 3.0]), lambda t: t.sign(), None),
    ("division-ints", INTS, lambda t: t / 2, None),
    ("division-int-tensors", INTS, lambda t: t / t.abs(), None),
    ("int-plus-float", INTS, lambda t: t + 0.5, None),
    ("bool-plus-int", BOOLS, lambda t: t + 1, None),
    ("float32-times-int64", MATRIX.astype(np.float32), lambda t: t * lw.arange(4),
     lambda t: t * torch.arange(4)),
    ("float32-times-0d-float64", MATRIX.astype(np.float32), lambda t: t * lw.tensor(2.0,
                                                                                   dtype=np.float64),
     lambda t: t * torch.tensor(2.0, dtype=torch.float64)),
    ("int-0d-float", INTS, lambda t: t * lw.tensor(1.5, dtype=np.float64),
     lambda t: t * torch.tensor(1.5, dtype=torch.float64)),
    ("floor-divide-ints", INTS, lambda t: t // 2, None),
    ("remainder-ints", INTS, lambda t: t % 3, None),
    ("comparison-broadcast", MATRIX, lambda t: t > t[0], None),
    ("eq-method", INTS, lambda t: t.eq(3), None),
    ("logical-and-or", BOOLS, lambda t: (t & ~t[0]) | t[1], None),
    ("isnan", np.array([1.0, np.nan]), lambda t: t.isnan(), None),
    ("float", INTS, lambda t: t.float(), None),
    ("double", MATRIX.astype(np.float32), lambda t: t.double(), None),
    ("long-truncates", np.array([1.7, -1.7]), lambda t: t.long(), None),
    ("int", np.array([1.7, -1.7]), lambda t: t.int(), None),
    ("bool", np.array([0.0, 0.5]), lambda t: t.bool(), None),
    ("type-dtype", INTS, lambda t: t.type(lw.float), lambda t: t.type(torch.float)),
    ("to-dtype", INTS, lambda t: t.to(lw.float64), lambda t: t.to(torch.float64)),
    ("to-other", INTS, lambda t: t.to(lw.ones(1)), lambda t: t.to(torch.ones(1))),
    ("new-zeros", INTS, lambda t: t.new_zeros(2, 2), None),
    ("new-ones", MATRIX, lambda t: t.new_ones((3,)), None),
    ("new-full", MATRIX, lambda t: t.new_full((2,), 4.5), None),
    ("einsum-batch", CUBE, lambda t: lw.einsum("bij,bkj->bik", t, t),
     lambda t: torch.einsum("bij,bkj->bik", t, t)),
]


def assert_same(mine: Any, reference: Any) -> None:
    """Equal structure, shapes, values (NaN equal to NaN) and dtypes."""
    if isinstance(reference, tuple | list):
        assert isinstance(mine, tuple | list) and len(mine) == len(reference)
        for ours, theirs in zip(mine, reference, strict=True):
            assert_same(ours, theirs)
        return
    assert isinstance(mine, lw.Tensor), type(mine)
    got, expected = as_numpy(mine), as_numpy(reference)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.astype(float), expected.astype(float), rtol=1e-6, atol=1e-12,
                               equal_nan=True)
    assert str(mine.dtype) == str(reference.dtype).removeprefix("torch.")


@pytest.mark.parametrize(("array", "ours", "theirs"),
                         [pytest.param(a, o, t, id=i) for i, a, o, t in SAME])
def test_matches_pytorch(array: np.ndarray, ours: Call, theirs: Call | None) -> None:
    mine = ours(lw.tensor(array.copy()))
    with warnings.catch_warnings():  # PyTorch warns where it returns NaN (var of one value)
        warnings.simplefilter("ignore", UserWarning)
        reference = (theirs or ours)(torch.tensor(array.copy()))
    assert_same(mine, reference)


def test_max_and_min_along_a_dim_are_named_tuples_like_pytorchs() -> None:
    result = lw.tensor(MATRIX).max(dim=1)
    values, indices = result
    assert result.values is values and result.indices is indices
    assert indices.dtype == np.int64 and not indices.requires_grad
    np.testing.assert_array_equal(lw.max(lw.tensor(MATRIX), 1).indices,
                                  torch.max(torch.tensor(MATRIX), 1).indices)


def test_numpy_spelling_gives_numpy_results() -> None:
    t = lw.tensor(WITH_TIES, requires_grad=True)
    values = t.max(axis=1)  # NumPy's spelling: the values alone, ties share the gradient
    assert isinstance(values, lw.Tensor)
    values.sum().backward()
    np.testing.assert_array_equal(t.grad, [[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]])
    t.grad = None
    t.max(dim=1).values.sum().backward()  # PyTorch's: the gradient goes to the first maximum
    np.testing.assert_array_equal(t.grad, [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(t.sum(axis=0, keepdims=True).data, t.sum(0, keepdim=True).data)


def test_comparisons_are_bool_tensors_that_combine_as_pytorchs() -> None:
    prediction = lw.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    labels = lw.tensor([1, 1, 1])
    correct = (prediction.argmax(1) == labels).type(lw.float).sum().item()
    theirs = (torch.tensor(prediction.data).argmax(1) == torch.tensor([1, 1, 1])).type(
        torch.float).sum().item()
    assert correct == theirs == 2.0
    assert (prediction == "text") is False and (prediction != None) is True  # noqa: E711


def test_tensors_work_as_python_numbers_and_indices() -> None:
    classes = ["a", "b", "c"]
    scores = lw.tensor([0.1, 0.7, 0.2])
    assert classes[scores.argmax()] == "b"
    assert classes[lw.tensor(2)] == "c"
    assert f"{lw.tensor(2.5):>6.2f}" == "  2.50"
    assert lw.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert lw.tensor(3.0).tolist() == 3.0
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        classes[lw.tensor(1.0)]
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(lw.tensor(1.0))
    assert [row.tolist() for row in lw.tensor([[1, 2], [3, 4]])] == [[1, 2], [3, 4]]


def test_facts_about_a_tensor() -> None:
    t = lw.zeros(2, 3, dtype=lw.float64)
    assert (t.size(), t.size(-1), t.numel(), t.dim(), t.element_size()) == ((2, 3), 3, 6, 2, 8)
    assert t.is_floating_point() and not lw.arange(3).is_floating_point()
    assert t.device == "cpu" and not t.is_cuda and t.cpu() is t
    assert t.type() == "layerwise.DoubleTensor" and lw.arange(2).type() == "layerwise.LongTensor"
    assert t.T.is_contiguous() is False and t.T.contiguous().is_contiguous()
    assert t.contiguous() is t and t.to(lw.float64) is t and t.to("cpu") is t
    assert lw.numel(t) == 6 and lw.is_tensor(t) and not lw.is_tensor(t.data)
    with pytest.raises(IndexError, match="size: dim 2 is out of range for a tensor with 2 "
                                         "dimensions"):
        t.size(2)


def test_dtype_names_are_numpys() -> None:
    pairs = [(lw.float32, torch.float32), (lw.float, torch.float), (lw.float64, torch.float64),
             (lw.double, torch.double), (lw.int64, torch.int64), (lw.long, torch.long),
             (lw.int32, torch.int32), (lw.int, torch.int), (lw.bool, torch.bool),
             (lw.float16, torch.float16), (lw.uint8, torch.uint8)]
    for ours, theirs in pairs:
        assert lw.zeros(1, dtype=ours).dtype == ours
        assert str(ours) == str(theirs).removeprefix("torch.")
    assert lw.tensor([1.0], dtype="long").dtype == np.int64
    assert lw.ones(2).dtype == lw.float32 == np.float32


def test_constructors_take_pytorchs_arguments() -> None:
    assert lw.zeros(2, 3).shape == lw.zeros((2, 3)).shape == lw.zeros([2, 3]).shape == (2, 3)
    assert lw.ones(2, dtype=lw.long).dtype == np.int64
    assert lw.randn(2, 3, requires_grad=True).requires_grad
    assert lw.rand((), dtype=lw.float64).shape == ()
    assert lw.full((2, 2), 7).dtype == np.int64 and lw.full((2,), 1.5).dtype == np.float32
    assert lw.full((2,), True).dtype == np.bool_
    assert lw.empty(2, 3).shape == (2, 3)
    np.testing.assert_allclose(lw.linspace(-1, 1, 5), torch.linspace(-1, 1, 5))
    assert lw.linspace(0, 1, 3).dtype == np.float32
    np.testing.assert_array_equal(lw.eye(2, 3), torch.eye(2, 3))
    np.testing.assert_array_equal(lw.arange(1, 7, 2), torch.arange(1, 7, 2))
    draws = lw.randint(0, 10, (100,), generator=np.random.default_rng(1))
    assert draws.dtype == np.int64 and draws.data.min() >= 0 and draws.data.max() < 10
    assert sorted(lw.randperm(5).tolist()) == [0, 1, 2, 3, 4]
    like = lw.zeros_like(lw.ones(2, dtype=lw.long), dtype=lw.float64)
    assert like.dtype == np.float64 and like.shape == (2,)
    assert lw.full_like(lw.zeros(2), 3.0).tolist() == [3.0, 3.0]
    assert lw.randn_like(lw.zeros(3, 2)).shape == (3, 2)
    assert lw.tensor([1.0], device="cpu").device == lw.device("cpu") == "cpu"
    with pytest.raises(ValueError, match="device 'cuda' is not available: layerwise runs on "
                                         "the CPU only"):
        lw.zeros(2, device="cuda")
    assert not lw.cuda.is_available() and not lw.accelerator.is_available()


def test_from_numpy_and_as_tensor_share_memory() -> None:
    array = np.arange(3.0)
    shared = lw.from_numpy(array)
    shared += 1
    np.testing.assert_array_equal(array, [1.0, 2.0, 3.0])
    assert lw.as_tensor(shared) is shared
    assert lw.as_tensor(array).data is array
    assert lw.as_tensor([1, 2], dtype=lw.float32).dtype == np.float32


def test_allclose_isclose_equal() -> None:
    assert lw.allclose(lw.tensor([1.0, 2.0]), lw.tensor([1.0, 2.0 + 1e-9]))
    assert not lw.allclose(lw.tensor([1.0]), lw.tensor([1.1]))
    np.testing.assert_array_equal(lw.isclose(lw.tensor([1.0, 2.0]), lw.tensor([1.0, 3.0])),
                                  [True, False])
    assert lw.equal(lw.tensor([1, 2]), lw.tensor([1, 2]))
    assert not lw.equal(lw.tensor([1, 2]), lw.tensor([[1, 2]]))


def test_top_level_functions_match_pytorch() -> None:
    a, b = lw.tensor(MATRIX), torch.tensor(MATRIX)
    pairs = [
        (lw.cat([a, a], 1), torch.cat([b, b], 1)), (lw.concatenate([a, a]), torch.cat([b, b])),
        (lw.stack([a, a], -1), torch.stack([b, b], -1)), (lw.flatten(a), torch.flatten(b)),
        (lw.argmax(a, 1), torch.argmax(b, 1)), (lw.sin(a), torch.sin(b)),
        (lw.cos(a), torch.cos(b)), (lw.exp(a), torch.exp(b)), (lw.log(a.abs()), torch.log(b.abs())),
        (lw.tanh(a), torch.tanh(b)), (lw.sigmoid(a), torch.sigmoid(b)), (lw.relu(a), torch.relu(b)),
        (lw.softmax(a, 0), torch.softmax(b, 0)), (lw.max(a), torch.max(b)),
        (lw.min(a, 0).values, torch.min(b, 0).values), (lw.where(a > 0, a, -a), torch.where(
            b > 0, b, -b)), (lw.einsum("ij,kj->ik", a, a), torch.einsum("ij,kj->ik", b, b)),
        (lw.squeeze(lw.unsqueeze(a, 0)), torch.squeeze(torch.unsqueeze(b, 0))),
        (lw.transpose(a, 0, 1), torch.transpose(b, 0, 1)), (lw.permute(a, (1, 0)),
                                                            torch.permute(b, (1, 0))),
        (lw.clamp(a, -0.1, 0.1), torch.clamp(b, -0.1, 0.1)), (lw.pow(a, 2), torch.pow(b, 2)),
        (lw.cumsum(a, 0), torch.cumsum(b, 0)), (lw.std(a, 0), torch.std(b, 0)),
        (lw.cat([a, lw.tensor(np.zeros((0, 4)))]), torch.cat([b, torch.zeros(0, 4,
                                                                              dtype=b.dtype)])),
        (lw.add(a, a, alpha=2), torch.add(b, b, alpha=2)), (lw.sub(a, 1, alpha=3),
                                                           torch.sub(b, 1, alpha=3)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)
    assert lw.cat([lw.tensor([1, 2]), lw.tensor([0.5])]).dtype == np.float32
    assert torch.cat([torch.tensor([1, 2]), torch.tensor([0.5])]).dtype == torch.float32


def test_manual_seed_makes_draws_repeat() -> None:
    lw.manual_seed(3)
    first = lw.randn(4).tolist()
    lw.manual_seed(3)
    assert lw.randn(4).tolist() == first


def test_views_share_memory_and_reshapes_of_permuted_memory_copy() -> None:
    base = lw.arange(6.0).reshape(2, 3)
    viewed = base.view(3, 2)
    assert np.shares_memory(viewed.data, base.data)
    assert not np.shares_memory(base.t().reshape(6).data, base.data)
    with pytest.raises(ValueError, match=r"view: a tensor of shape \(3, 2\) whose memory is not "
                                         r"laid out in order"):
        base.t().view(6)


def test_functional_forms_of_the_new_losses_match_pytorch() -> None:
    x = RNG.standard_normal((4, 3))
    y = RNG.standard_normal((4, 3))
    for name in ("l1_loss", "smooth_l1_loss", "huber_loss", "mse_loss"):
        ours = getattr(F, name)(lw.tensor(x), lw.tensor(y), reduction="sum")
        theirs = getattr(torch.nn.functional, name)(torch.tensor(x), torch.tensor(y),
                                                   reduction="sum")
        np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)
    labels = np.array([0, 2, 1, 2])
    ignored = F.nll_loss(lw.tensor(x), lw.tensor(np.array([-100, -100, -100, -100])))
    assert np.isnan(ignored.item())  # every sample ignored: NaN, as in PyTorch
    ours = F.nll_loss(lw.tensor(x), lw.tensor(labels), reduction="none")
    theirs = torch.nn.functional.nll_loss(torch.tensor(x), torch.tensor(labels), reduction="none")
    np.testing.assert_allclose(ours.data, theirs.numpy())


def test_one_hot_pad_normalize_embedding_match_pytorch() -> None:
    TF = torch.nn.functional
    labels = np.array([[0, 3], [2, 1]])
    np.testing.assert_array_equal(F.one_hot(lw.tensor(labels)), TF.one_hot(torch.tensor(labels)))
    np.testing.assert_array_equal(F.one_hot(lw.tensor(labels), 5),
                                  TF.one_hot(torch.tensor(labels), 5))
    np.testing.assert_allclose(F.pad(lw.tensor(CUBE), (1, 1, 2, 0), value=-1.0).data,
                               TF.pad(torch.tensor(CUBE), (1, 1, 2, 0), value=-1.0).numpy())
    np.testing.assert_allclose(F.pad(lw.tensor(MATRIX), (0, -2)).data,
                               TF.pad(torch.tensor(MATRIX), (0, -2)).numpy())
    np.testing.assert_allclose(F.normalize(lw.tensor(MATRIX), p=1, dim=0).data,
                               TF.normalize(torch.tensor(MATRIX), p=1, dim=0).numpy(), rtol=1e-12)
    np.testing.assert_allclose(F.normalize(lw.zeros(2, 3)).data, np.zeros((2, 3)))
    weight = RNG.standard_normal((5, 2))
    indices = np.array([[4, 0], [0, 2]])
    np.testing.assert_allclose(F.embedding(lw.tensor(indices), lw.tensor(weight)).data,
                               TF.embedding(torch.tensor(indices), torch.tensor(weight)).numpy())


def test_embedding_padding_idx_gets_no_gradient_as_in_pytorch() -> None:
    weight = RNG.standard_normal((5, 2))
    indices = np.array([[4, 2], [2, 1]])
    ours = lw.tensor(weight.copy(), requires_grad=True)
    theirs = torch.tensor(weight.copy(), requires_grad=True)
    upstream = RNG.standard_normal((2, 2, 2))
    F.embedding(lw.tensor(indices), ours, padding_idx=2).backward(upstream)
    torch.nn.functional.embedding(torch.tensor(indices), theirs, padding_idx=2).backward(
        torch.tensor(upstream))
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12)
    assert not ours.grad.data[2].any()


def test_scatter_add_with_a_larger_src_uses_its_leading_part() -> None:
    x, src = np.zeros((3, 4)), RNG.standard_normal((3, 5))
    index = np.array([[0, 1, 2], [2, 2, 0]])
    ours = lw.tensor(x).scatter_add(0, lw.tensor(index), lw.tensor(src))
    theirs = torch.tensor(x).scatter_add(0, torch.tensor(index), torch.tensor(src))
    np.testing.assert_allclose(ours.data, theirs.numpy())
    grad_src = lw.tensor(src, requires_grad=True)
    lw.tensor(x).scatter_add(0, lw.tensor(index), grad_src).sum().backward()
    np.testing.assert_array_equal(grad_src.grad.data[:2, :3], np.ones((2, 3)))
    assert not grad_src.grad.data[2:].any() and not grad_src.grad.data[:, 3:].any()
