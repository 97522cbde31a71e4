"""The tensor math of layerwise.tensor_math against PyTorch at the edges PyTorch's own tests
look at: integer and bool input (floor of an int tensor stays int, sinh of one is float32),
empty tensors, negative dims, keepdim, NaN and inf, 0-d tensors; the gradients at the kinks;
and the errors for bad input. Gradients away from the kinks are checked in float64 by the op
registry (test_ops.py)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import layerwise as lw
from tests.test_pytorch_api import assert_same

RNG = np.random.default_rng(3)
MATRIX = RNG.standard_normal((3, 4)) * 3
FLOAT32 = MATRIX.astype(np.float32)
CUBE = RNG.standard_normal((2, 3, 4))
INTS = np.array([[3, -1, 4], [1, 0, -9]])
BOOLS = np.array([[True, False, True], [False, False, True]])
EMPTY = np.zeros((0, 3))
SPECIAL = np.array([np.nan, np.inf, -np.inf, 1.5, -0.0, 2.5, -2.5])
HALVES = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 1.25, 0.125, -2.675])
UNIT = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 1.5])
ROWS_WITH_INF = np.array([[-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 2.0],
                          [1000.0, 1000.0, -np.inf], [-1e4, -1e4 - 1, -1e4 - 2]])

Call = Callable[[Any], Any]
# (id, input, the call on a layerwise tensor, the call on a torch tensor (None: the same))
SAME: list[tuple[str, np.ndarray, Call, Call | None]] = [
    # rounding: integers come back as they were, floats in their dtype
    ("floor", MATRIX, lambda t: t.floor(), None),
    ("floor-float32", FLOAT32, lambda t: t.floor(), None),
    ("floor-int", INTS, lambda t: t.floor(), None),
    ("ceil-int", INTS, lambda t: t.ceil(), None),
    ("ceil-special", SPECIAL, lambda t: t.ceil(), None),
    ("round-halves-to-even", HALVES, lambda t: t.round(), None),
    ("round-decimals", HALVES, lambda t: t.round(decimals=2), None),
    ("round-negative-decimals", MATRIX * 100, lambda t: t.round(decimals=-1), None),
    ("round-int", INTS, lambda t: t.round(), None),
    ("trunc-special", SPECIAL, lambda t: t.trunc(), None),
    ("trunc-int", INTS, lambda t: t.trunc(), None),
    ("fix", MATRIX, lambda t: lw.fix(t), lambda t: torch.fix(t)),
    ("frac", HALVES, lambda t: t.frac(), None),
    ("frac-special", SPECIAL, lambda t: t.frac(), None),
    ("floor-empty", EMPTY, lambda t: lw.floor(t), lambda t: torch.floor(t)),
    # NaN and inf
    ("isnan", SPECIAL, lambda t: lw.isnan(t), lambda t: torch.isnan(t)),
    ("isinf", SPECIAL, lambda t: lw.isinf(t), lambda t: torch.isinf(t)),
    ("isfinite", SPECIAL, lambda t: lw.isfinite(t), lambda t: torch.isfinite(t)),
    ("isnan-int", INTS, lambda t: lw.isnan(t), lambda t: torch.isnan(t)),
    ("isfinite-bool", BOOLS, lambda t: lw.isfinite(t), lambda t: torch.isfinite(t)),
    ("nan-to-num", SPECIAL, lambda t: t.nan_to_num(), None),
    ("nan-to-num-float32", SPECIAL.astype(np.float32), lambda t: lw.nan_to_num(t),
     lambda t: torch.nan_to_num(t)),
    ("nan-to-num-values", SPECIAL, lambda t: t.nan_to_num(nan=-1.0, posinf=9.0, neginf=-9.0),
     None),
    ("nan-to-num-int", INTS, lambda t: t.nan_to_num(), None),
    ("nan-to-num-bool", BOOLS, lambda t: t.nan_to_num(), None),
    # logarithms, powers, hyperbolic and inverse trigonometric functions
    ("log2", np.array([0.0, 0.5, 1.0, 8.0, -1.0, np.inf]), lambda t: t.log2(), None),
    ("log10-int", np.array([1, 10, 1000]), lambda t: t.log10(), None),
    ("exp2-int", INTS, lambda t: t.exp2(), None),
    ("exp2-bool", BOOLS, lambda t: lw.exp2(t), lambda t: torch.exp2(t)),
    ("sinh-int", INTS, lambda t: t.sinh(), None),
    ("cosh-float32", FLOAT32, lambda t: t.cosh(), None),
    ("sinh-overflow", np.array([-800.0, 800.0]), lambda t: t.sinh(), None),
    ("asin-outside", UNIT, lambda t: t.asin(), None),
    ("acos-outside", UNIT, lambda t: lw.acos(t), lambda t: torch.acos(t)),
    ("atan-special", SPECIAL, lambda t: t.atan(), None),
    ("arctan2", MATRIX, lambda t: lw.arctan2(t, t.T[0:1].T), lambda t: torch.arctan2(
        t, t.T[0:1].T)),
    ("atan2-int", INTS, lambda t: t.atan2(t.flip(0)), None),
    ("atan2-signed-zeros", np.array([0.0, -0.0]),
     lambda t: lw.atan2(t, t * -1), lambda t: torch.atan2(t, t * -1)),
    # logsumexp
    ("logsumexp-dim", MATRIX, lambda t: t.logsumexp(1), None),
    ("logsumexp-keepdim-negative", CUBE, lambda t: t.logsumexp(-2, keepdim=True), None),
    ("logsumexp-all-dims", CUBE, lambda t: lw.logsumexp(t, (0, 1, 2)),
     lambda t: torch.logsumexp(t, (0, 1, 2))),
    ("logsumexp-inf-rows", ROWS_WITH_INF, lambda t: t.logsumexp(1), None),
    ("logsumexp-empty-dim", EMPTY, lambda t: t.logsumexp(0), None),
    ("logsumexp-over-empty", EMPTY, lambda t: t.logsumexp(1), None),
    ("logsumexp-int", INTS, lambda t: t.logsumexp(0), None),
    ("logsumexp-0d", np.array(2.5), lambda t: t.logsumexp(0), None),
    ("logsumexp-float32-large", np.full((2, 3), 100.0, np.float32), lambda t: t.logsumexp(1),
     None),
    # moving values
    ("flip-varargs", CUBE, lambda t: t.flip(0, 2), None),
    ("flip-function", CUBE, lambda t: lw.flip(t, (-1,)), lambda t: torch.flip(t, (-1,))),
    ("flip-int", INTS, lambda t: t.flip(1), None),
    ("flip-empty", EMPTY, lambda t: t.flip(0), None),
    ("roll-flat", INTS, lambda t: t.roll(2), None),
    ("roll-dims", CUBE, lambda t: t.roll((1, -1), (0, -1)), None),
    ("roll-large-shift", MATRIX, lambda t: t.roll(-9, 1), None),
    ("roll-empty", EMPTY, lambda t: t.roll(1, 0), None),
    ("tril", CUBE, lambda t: t.tril(), None),
    ("tril-int-far-diagonal", INTS, lambda t: t.tril(5), None),
    ("triu-negative", MATRIX, lambda t: lw.triu(t, -1), lambda t: torch.triu(t, -1)),
    ("triu-bool", BOOLS, lambda t: t.triu(1), None),
    ("diff", MATRIX, lambda t: t.diff(), None),
    ("diff-int", INTS, lambda t: lw.diff(t, dim=0), lambda t: torch.diff(t, dim=0)),
    ("diff-bool", BOOLS, lambda t: t.diff(), None),
    ("diff-n-too-large", MATRIX, lambda t: t.diff(n=7), None),
    ("diff-n-0", MATRIX, lambda t: t.diff(n=0), None),
    ("diff-prepend", MATRIX, lambda t: t.diff(dim=0, prepend=t[:1] * 2), None),
    # products, bounds, logic, counts
    ("bmm", CUBE, lambda t: t.bmm(t.transpose(1, 2)), None),
    ("bmm-int", np.arange(12).reshape(2, 2, 3), lambda t: lw.bmm(t, t.transpose(1, 2)),
     lambda t: torch.bmm(t, t.transpose(1, 2))),
    ("outer-int", np.array([1, 2, 3]), lambda t: t.outer(t[:2]), None),
    ("ger", np.array([1.0, 2.0]), lambda t: lw.ger(t, t), lambda t: torch.ger(t, t)),
    ("clamp-min-int", INTS, lambda t: t.clamp_min(0), None),
    ("clamp-max", MATRIX, lambda t: lw.clamp_max(t, 0.5), lambda t: torch.clamp_max(t, 0.5)),
    ("logical-and-broadcast", INTS, lambda t: t.logical_and(t[0]), None),
    ("logical-or-float", MATRIX.round(), lambda t: lw.logical_or(t, t * 0),
     lambda t: torch.logical_or(t, t * 0)),
    ("logical-xor-bool", BOOLS, lambda t: t.logical_xor(t[1]), None),
    ("logical-not-nan", SPECIAL, lambda t: lw.logical_not(t), lambda t: torch.logical_not(t)),
    ("count-nonzero", INTS, lambda t: t.count_nonzero(), None),
    ("count-nonzero-dim", INTS, lambda t: t.count_nonzero(-1), None),
    ("count-nonzero-dims", CUBE.round(), lambda t: lw.count_nonzero(t, (0, 2)),
     lambda t: torch.count_nonzero(t, (0, 2))),
    ("count-nonzero-nan", SPECIAL, lambda t: t.count_nonzero(), None),
    ("count-nonzero-empty", EMPTY, lambda t: t.count_nonzero(0), None),
]


@pytest.mark.parametrize(("array", "ours", "theirs"),
                         [pytest.param(a, o, t, id=i) for i, a, o, t in SAME])
def test_matches_pytorch(array: np.ndarray, ours: Call, theirs: Call | None) -> None:
    with np.errstate(all="ignore"):
        mine = ours(lw.tensor(array.copy()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reference = (theirs or ours)(torch.tensor(array.copy()))
    assert_same(mine, reference)


def test_integer_and_bool_results_carry_no_gradient() -> None:
    x = lw.tensor(INTS)
    for result in (x.floor(), x.round(), x.nan_to_num(), lw.isnan(x), x.count_nonzero(),
                   x.logical_and(x), lw.isfinite(lw.tensor(MATRIX, requires_grad=True))):
        assert not result.requires_grad and result.grad_fn is None
    assert lw.floor(x).data is not x.data  # a copy, as PyTorch's floor of an int tensor


def test_gradients_at_the_kinks_are_pytorchs() -> None:
    """At the jumps of floor, ceil, round and trunc the gradient is 0, of frac 1; where
    nan_to_num replaced a value it is 0; atan2 at the origin gives 0 to both inputs; a
    logsumexp row of -inf (or holding +inf) has NaN gradients."""
    cases: list[tuple[np.ndarray, Callable[[Any], Any]]] = [
        (np.array([1.0, 2.5, -0.5, 0.0]), lambda t: t.floor()),
        (np.array([1.0, 2.5, -0.5, 0.0]), lambda t: t.ceil()),
        (np.array([1.0, 2.5, -0.5, 0.0]), lambda t: t.round()),
        (np.array([1.0, 2.5, -0.5, 0.0]), lambda t: t.trunc()),
        (np.array([1.0, 2.5, -0.5, 0.0]), lambda t: t.frac()),
        (SPECIAL, lambda t: t.nan_to_num()),
        (ROWS_WITH_INF, lambda t: t.logsumexp(1)),
        (UNIT, lambda t: t.asin()),
        (UNIT, lambda t: t.acos()),
    ]
    for array, call in cases:
        ours = lw.tensor(array.copy(), requires_grad=True)
        theirs = torch.tensor(array.copy(), requires_grad=True)
        with np.errstate(all="ignore"):
            call(ours).sum().backward()
        call(theirs).sum().backward()
        np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())
    y, x = (lw.tensor(0.0, requires_grad=True) for _ in range(2))
    lw.atan2(y, x).backward()
    assert y.grad.item() == 0 and x.grad.item() == 0


def test_logsumexp_is_stable_where_the_naive_formula_overflows() -> None:
    x = lw.tensor(np.array([[1000.0, 1000.0], [-1000.0, -1000.0]], np.float32))
    np.testing.assert_allclose(x.logsumexp(1).data, [1000 + np.log(2), -1000 + np.log(2)],
                               rtol=1e-6)
    assert x.logsumexp(1).dtype == np.float32


def test_diff_is_a_difference_of_slices_with_gradients() -> None:
    x = lw.tensor([1.0, 4.0, 9.0, 16.0], requires_grad=True)
    second = x.diff(n=2)
    np.testing.assert_array_equal(second.data, [2.0, 2.0])
    second.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, -1.0, -1.0, 1.0])


Bad = Callable[[], Any]
ERRORS: list[tuple[str, Bad, type[Exception], str]] = [
    ("floor-bool", lambda: lw.floor(lw.tensor(BOOLS)), TypeError, "got bool"),
    ("round-int-decimals", lambda: lw.tensor(INTS).round(decimals=1), TypeError,
     "needs a floating-point tensor"),
    ("frac-int", lambda: lw.frac(lw.tensor(INTS)), TypeError, "expected a floating-point"),
    ("logsumexp-dim", lambda: lw.tensor(MATRIX).logsumexp(2), IndexError, "out of range"),
    ("logsumexp-no-dim", lambda: lw.logsumexp(lw.tensor(MATRIX)), TypeError, "dim"),
    ("flip-twice", lambda: lw.tensor(MATRIX).flip(0, -2), ValueError, "more than once"),
    ("roll-mismatch", lambda: lw.tensor(MATRIX).roll((1, 2), 0), ValueError,
     "one shift per dim"),
    ("roll-no-dims", lambda: lw.tensor(MATRIX).roll((1, 2)), ValueError, "without dims"),
    ("tril-vector", lambda: lw.tril(lw.tensor([1.0, 2.0])), ValueError, "at least 2"),
    ("bmm-2d", lambda: lw.bmm(lw.ones(2, 3), lw.ones(2, 3)), ValueError, "3 dimensions"),
    ("bmm-batch", lambda: lw.bmm(lw.ones(2, 3, 4), lw.ones(3, 4, 5)), ValueError,
     "expected mat2 of shape (2, 4, p)"),
    ("outer-matrix", lambda: lw.outer(lw.ones(2, 3), lw.ones(2)), ValueError, "a vector"),
    ("diff-0d", lambda: lw.diff(lw.tensor(1.0)), ValueError, "at least one dimension"),
    ("diff-n", lambda: lw.diff(lw.ones(3), n=-1), ValueError, "n must be an integer >= 0"),
    ("logical-shapes", lambda: lw.logical_and(lw.ones(3), lw.ones(4)), ValueError,
     "logical_and: cannot broadcast shapes (3,) and (4,)"),
]


@pytest.mark.parametrize(("call", "error", "text"),
                         [pytest.param(c, e, t, id=i) for i, c, e, t in ERRORS])
def test_bad_input_is_refused_with_a_message(call: Bad, error: type[Exception],
                                             text: str) -> None:
    with pytest.raises(error) as caught:
        call()
    assert text in str(caught.value)
