"""Bad input gets a sentence that says what was expected and what came."""

from __future__ import annotations

import numpy as np
import pytest

import layerwise as lw
import layerwise.functional as F

LOGITS = np.zeros((4, 10))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: F.cross_entropy(LOGITS, np.array([1, 2, 10, 3])), ValueError,
         r"label 10 at position 2 is out of range for 10 classes \(expected 0..9 or "
         r"ignore_index=-100\)"),
        (lambda: F.cross_entropy(LOGITS, np.array([1, -3, 0, 3])), ValueError,
         r"label -3 at position 1 is out of range for 10 classes"),
        (lambda: F.cross_entropy(LOGITS, np.array([1.0, 2.5, 0.0, 3.0])), ValueError,
         r"class labels must be whole numbers, got 2.5 at position 1"),
        (lambda: F.cross_entropy(LOGITS, np.array([1, 2, 3])), ValueError,
         r"logits have 4 rows, so the target must be 4 class labels of shape \(4,\) or "
         r"probabilities of shape \(4, 10\); got shape \(3,\)"),
        (lambda: F.cross_entropy(np.zeros(10), np.array([1])), ValueError,
         r"logits of shape \(10,\) need class labels of shape \(\) or probabilities of shape "
         r"\(10,\); got shape \(1,\)"),
        (lambda: F.cross_entropy(LOGITS, np.array([0, 1, 2, 3]), reduction="avg"), ValueError,
         r"reduction must be 'mean', 'sum' or 'none', got 'avg'"),
        (lambda: F.cross_entropy(LOGITS, np.array([0, 1, 2, 3]), label_smoothing=1.5),
         ValueError, r"label_smoothing must be in \[0, 1\], got 1.5"),
        (lambda: F.mse_loss(np.zeros(3), np.zeros(4)), ValueError,
         r"input of shape \(3,\) and target of shape \(4,\) do not broadcast"),
        (lambda: F.binary_cross_entropy(np.array([0.2, 1.3]), np.array([0.0, 1.0])), ValueError,
         r"probabilities in \[0, 1\], got 1.3 at \(1,\); for raw scores use "
         r"binary_cross_entropy_with_logits"),
        (lambda: F.one_hot(np.array([0, 3]), 3), ValueError,
         r"one_hot: label 3 at position 1 is out of range for 3 classes \(expected 0..2\)"),
        (lambda: F.dropout(np.ones(3), p=1.5), ValueError,
         r"p must be a probability in \[0, 1\], got 1.5"),
        (lambda: lw.tensor(np.ones((3, 4))).reshape(5, 2), ValueError,
         r"cannot reshape \(3, 4\) \(12 values\) to \(5, 2\)"),
        (lambda: lw.clip(np.ones(2), 1.0, 0.0), ValueError,
         r"min \(1.0\) must not be greater than max \(0.0\)"),
        (lambda: lw.sum(np.ones((2, 2)), axis=2), ValueError,
         r"axis 2 is out of range for an array with 2 dimensions"),
        (lambda: F.gelu(np.ones(2), approximate="fast"), ValueError,
         r"approximate must be 'none' or 'tanh', got 'fast'"),
        (lambda: lw.tensor({"a": 1}), TypeError, r"cannot make a tensor from dict data"),
    ],
    ids=[
        "label-too-large", "label-negative", "label-fractional", "label-count",
        "logits-shape", "reduction-name", "label-smoothing-range", "mse-shapes",
        "bce-not-probabilities", "one-hot-range", "dropout-p", "reshape", "clip-bounds",
        "axis-range", "gelu-approximate", "tensor-from-dict",
    ],
)
def test_error_message(call: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()  # type: ignore[operator]
