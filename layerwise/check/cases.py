"""The op registry's sample cases: every op with inputs to check its gradients on.

`layerwise gradcheck` and the test suite iterate `CASES`; the tests also compare each case
with PyTorch. Inputs keep away from kinks (relu at 0, ties in max) so that finite differences
are valid, and cover batch size 1, broadcasting and odd shapes. A test fails when an op of
`layerwise.ops.ALL_OPS` has no case here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from layerwise import functional as F
from layerwise import ops

Inputs = Callable[[np.random.Generator], list[np.ndarray]]


@dataclass(frozen=True)
class OpCase:
    """One op, a way to draw its inputs, and the layerwise call that applies it."""

    op: type[ops.Op]
    name: str
    inputs: Inputs
    call: Callable[..., Any]

    @property
    def id(self) -> str:
        return f"{self.op.__name__}-{self.name}"

    def sample(self) -> list[np.ndarray]:
        """The case's inputs, drawn from a generator seeded by its id (stable across runs)."""
        seed = sum(ord(character) * 31**i for i, character in enumerate(self.id)) % 2**32
        return self.inputs(np.random.default_rng(seed))


def mse_of_a_broadcast_target(input: Any, target: Any, **options: Any) -> Any:
    """mse_loss of a target that is broadcast on purpose, without the warning that says it is
    likely a mistake."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "mse_loss: target of shape", UserWarning)
        return F.mse_loss(input, target, **options)


def normal(*shape: int) -> Inputs:
    return lambda rng: [rng.standard_normal(shape)]


def shapes(*shape_list: tuple[int, ...]) -> Inputs:
    return lambda rng: [rng.standard_normal(shape) for shape in shape_list]


def away_from_zero(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Values with |x| >= 0.1, so that no element sits on a kink at 0."""
    values = rng.standard_normal(shape)
    return np.sign(values) * (0.1 + np.abs(values))


def positive(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return 0.5 + rng.random(shape)


def probabilities(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return 0.05 + 0.9 * rng.random(shape)


LABELS = np.array([2, 0, 1, 2, 1])
LABELS_IGNORED = np.array([2, -100, 1, 2, 0])
POS_WEIGHT = np.array([0.5, 2.0, 3.0])
ELEMENT_WEIGHT = np.linspace(0.1, 2.0, 12).reshape(4, 3)
BCE_WEIGHT = np.array([[0.5], [2.0], [1.0], [0.25]])
CLASS_WEIGHTS = np.array([0.5, 2.0, 1.5])
KDIM_LABELS = np.array([[0, 2, 1, 1], [2, 2, 0, 1]])
KDIM_LABELS_IGNORED = np.array([[0, -100, 1, 1], [2, 2, 0, -100]])
RUNNING_MEAN = np.array([0.3, -0.2, 1.1])
RUNNING_VAR = np.array([0.8, 1.5, 0.4])


CASES: list[OpCase] = [
    # --- element-wise arithmetic ---
    OpCase(ops.Add, "same-shape", shapes((3, 4), (3, 4)),
           lambda a, b: a + b),
    OpCase(ops.Add, "broadcast", shapes((3, 1), (4,)),
           lambda a, b: a + b),
    OpCase(ops.Add, "scalar-array", shapes((2, 3), ()),
           lambda a, b: a + b),
    OpCase(ops.Add, "number", shapes((1, 4)),
           lambda a: 2.5 + a),
    OpCase(ops.Sub, "broadcast", shapes((2, 3, 4), (3, 1)),
           lambda a, b: a - b),
    OpCase(ops.Sub, "reflected", shapes((3,)),
           lambda a: 1.0 - a),
    OpCase(ops.Mul, "broadcast", shapes((3, 4), (4,)),
           lambda a, b: a * b),
    OpCase(ops.Mul, "batch-1", shapes((1, 5), (1, 5)),
           lambda a, b: a * b),
    OpCase(ops.Div, "same-shape", lambda rng: [rng.standard_normal((3, 4)), positive(rng, 3, 4)],
           lambda a, b: a / b),
    OpCase(ops.Div, "broadcast", lambda rng: [rng.standard_normal((3, 4)), positive(rng, 1, 4)],
           lambda a, b: a / b),
    OpCase(ops.Div, "reflected", lambda rng: [positive(rng, 5)],
           lambda a: 2.0 / a),
    OpCase(ops.Neg, "matrix", normal(3, 4),
           lambda a: -a),
    OpCase(ops.Pow, "tensor-exponent",
           lambda rng: [positive(rng, 3, 4), rng.standard_normal((3, 4))],
           lambda a, b: a**b),
    OpCase(ops.Pow, "constant-exponent", normal(2, 5),
           lambda a: a**3),
    OpCase(ops.Pow, "broadcast", lambda rng: [positive(rng, 3, 1), rng.standard_normal((4,))],
           lambda a, b: a**b),
    OpCase(ops.Exp, "matrix", normal(3, 4),
           lambda a: a.exp()),
    OpCase(ops.Log, "positive", lambda rng: [positive(rng, 3, 4)],
           lambda a: a.log()),
    OpCase(ops.Sqrt, "positive", lambda rng: [positive(rng, 7)],
           lambda a: a.sqrt()),
    OpCase(ops.Abs, "away-from-0", lambda rng: [away_from_zero(rng, 3, 4)],
           lambda a: abs(a)),
    OpCase(ops.Clip, "both-bounds", lambda rng: [np.array([[-1.3, -0.7, -0.2], [0.1, 0.3, 0.9]])],
           lambda a: a.clip(-0.5, 0.5)),
    OpCase(ops.Clip, "min-only", lambda rng: [np.array([-2.0, -0.2, 0.4, 3.0])],
           lambda a: F.clip(a, min=0.0)),
    OpCase(ops.Maximum, "broadcast", shapes((3, 4), (4,)),
           F.maximum),
    OpCase(ops.Minimum, "broadcast", shapes((3, 4), (4,)),
           F.minimum),
    OpCase(ops.Where, "broadcast",
           lambda rng: [rng.random((3, 4)) > 0.5, rng.standard_normal((3, 4)),
                        rng.standard_normal((4,))],
           F.where),
    # --- matrix products ---
    OpCase(ops.MatMul, "matrices", shapes((3, 4), (4, 5)),
           lambda a, b: a @ b),
    OpCase(ops.MatMul, "batched-broadcast", shapes((2, 3, 4), (4, 5)),
           lambda a, b: a @ b),
    OpCase(ops.MatMul, "batch-dims-broadcast", shapes((2, 1, 3, 4), (5, 4, 2)),
           lambda a, b: a @ b),
    OpCase(ops.MatMul, "vector-matrix", shapes((4,), (4, 5)),
           lambda a, b: a @ b),
    OpCase(ops.MatMul, "matrix-vector", shapes((3, 4), (4,)),
           lambda a, b: a @ b),
    OpCase(ops.MatMul, "vector-vector", shapes((4,), (4,)),
           lambda a, b: a @ b),
    OpCase(ops.Linear, "with-bias", shapes((5, 4), (3, 4), (3,)),
           F.linear),
    OpCase(ops.Linear, "no-bias", shapes((5, 4), (3, 4)),
           F.linear),
    OpCase(ops.Linear, "batch-1", shapes((1, 4), (2, 4), (2,)),
           F.linear),
    OpCase(ops.Linear, "3-d-input", shapes((2, 5, 4), (3, 4), (3,)),
           F.linear),
    # --- reductions ---
    OpCase(ops.Sum, "all", normal(3, 4),
           lambda a: a.sum()),
    OpCase(ops.Sum, "axis-keepdims", normal(3, 4),
           lambda a: a.sum(axis=1, keepdims=True)),
    OpCase(ops.Sum, "axes-0-2", normal(2, 3, 4),
           lambda a: a.sum(axis=(0, 2))),
    OpCase(ops.Mean, "all", normal(3, 4),
           lambda a: a.mean()),
    OpCase(ops.Mean, "axis-negative", normal(2, 3, 5),
           lambda a: a.mean(axis=-1)),
    OpCase(ops.Max, "all", normal(3, 4),
           lambda a: a.max()),
    OpCase(ops.Max, "axis", normal(3, 4),
           lambda a: a.max(axis=1)),
    OpCase(ops.Max, "axis-keepdims", normal(2, 3, 4),
           lambda a: a.max(axis=0, keepdims=True)),
    OpCase(ops.Min, "axis", normal(3, 4),
           lambda a: a.min(axis=0)),
    # --- moving values ---
    OpCase(ops.Reshape, "matrix", normal(3, 4),
           lambda a: a.reshape(2, 6)),
    OpCase(ops.Reshape, "flatten", normal(2, 3, 4),
           lambda a: a.reshape(-1)),
    OpCase(ops.Transpose, "matrix", normal(3, 4),
           lambda a: a.T),
    OpCase(ops.Transpose, "permute", normal(2, 3, 4),
           lambda a: a.transpose(1, 2, 0)),
    OpCase(ops.GetItem, "slices", normal(4, 5),
           lambda a: a[1:, ::2]),
    OpCase(ops.GetItem, "int-and-none", normal(4, 5),
           lambda a: a[2, None, 1:4]),
    OpCase(ops.GetItem, "repeated-indices", normal(4, 3),
           lambda a: a[np.array([0, 2, 0, 3])]),
    OpCase(ops.GetItem, "index-pairs", normal(4, 3),
           lambda a: a[np.array([0, 1, 1]), np.array([2, 0, 2])]),
    OpCase(ops.GetItem, "boolean-mask", normal(3, 4),
           lambda a: a[np.arange(12).reshape(3, 4) % 3 == 0]),
    OpCase(ops.Concatenate, "axis-1", shapes((2, 3), (2, 1), (2, 2)),
           lambda *xs: F.concatenate(xs, axis=1)),
    OpCase(ops.Stack, "axis-1", shapes((2, 3), (2, 3), (2, 3)),
           lambda *xs: F.stack(xs, axis=1)),
    # --- activations ---
    OpCase(ops.ReLU, "away-from-0", lambda rng: [away_from_zero(rng, 3, 4)],
           F.relu),
    OpCase(ops.LeakyReLU, "slope-0.2", lambda rng: [away_from_zero(rng, 3, 4)],
           lambda a: F.leaky_relu(a, 0.2)),
    OpCase(ops.ELU, "alpha-1.3", lambda rng: [away_from_zero(rng, 3, 4)],
           lambda a: F.elu(a, 1.3)),
    OpCase(ops.GELU, "exact", lambda rng: [3 * rng.standard_normal((3, 5))],
           F.gelu),
    OpCase(ops.GELU, "tanh", normal(3, 5),
           lambda a: F.gelu(a, approximate="tanh")),
    OpCase(ops.Sigmoid, "matrix", lambda rng: [4 * rng.standard_normal((3, 4))],
           F.sigmoid),
    OpCase(ops.Tanh, "matrix", normal(3, 4),
           F.tanh),
    OpCase(ops.Softplus, "beta-2", lambda rng: [np.array([[-3.0, -0.5, 0.2], [1.0, 4.0, 12.0]])],
           lambda a: F.softplus(a, beta=2.0)),
    OpCase(ops.Softmax, "last-axis", normal(3, 5),
           F.softmax),
    OpCase(ops.Softmax, "axis-0", normal(4, 2),
           lambda a: F.softmax(a, axis=0)),
    OpCase(ops.LogSoftmax, "last-axis", normal(3, 5),
           F.log_softmax),
    OpCase(ops.LogSoftmax, "batch-1", normal(1, 4),
           F.log_softmax),
    OpCase(ops.Dropout, "p-0.3", normal(4, 5),
           lambda a: F.dropout(a, 0.3, rng=np.random.default_rng(7))),
    # --- convolution ---
    OpCase(ops.Conv2d, "3x3-pad-1", shapes((2, 3, 6, 5), (4, 3, 3, 3), (4,)),
           lambda x, w, b: F.conv2d(x, w, b, padding=1)),
    OpCase(ops.Conv2d, "stride-2-no-bias", shapes((2, 2, 7, 6), (3, 2, 3, 2)),
           lambda x, w: F.conv2d(x, w, stride=2)),
    OpCase(ops.Conv2d, "dilation-groups", shapes((1, 4, 7, 7), (6, 2, 2, 3), (6,)),
           lambda x, w, b: F.conv2d(x, w, b, padding=(1, 0), dilation=(2, 1), groups=2)),
    OpCase(ops.Conv2d, "same-even-kernel", shapes((2, 2, 5, 6), (3, 2, 2, 3)),
           lambda x, w: F.conv2d(x, w, padding="same")),
    OpCase(ops.Conv2d, "depthwise", shapes((2, 3, 5, 5), (3, 1, 3, 3), (3,)),
           lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=3)),
    OpCase(ops.Conv2d, "unbatched", shapes((2, 5, 4), (3, 2, 3, 3), (3,)),
           F.conv2d),
    OpCase(ops.Conv1d, "stride-pad", shapes((2, 3, 9), (4, 3, 3), (4,)),
           lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1)),
    OpCase(ops.Conv1d, "same-dilation-groups", shapes((2, 4, 8), (4, 2, 3)),
           lambda x, w: F.conv1d(x, w, padding="same", dilation=2, groups=2)),
    OpCase(ops.ConvTranspose2d, "stride-2-output-padding",
           shapes((2, 3, 4, 3), (3, 2, 3, 3), (2,)),
           lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1)),
    OpCase(ops.ConvTranspose2d, "groups-dilation", shapes((1, 4, 3, 4), (4, 1, 2, 3)),
           lambda x, w: F.conv_transpose2d(x, w, stride=(1, 2), groups=2, dilation=(2, 1))),
    # --- pooling ---
    OpCase(ops.MaxPool2d, "2x2", normal(2, 3, 6, 6),
           lambda x: F.max_pool2d(x, 2)),
    OpCase(ops.MaxPool2d, "3x3-stride-2-pad-1", normal(2, 2, 7, 6),
           lambda x: F.max_pool2d(x, 3, stride=2, padding=1)),
    OpCase(ops.MaxPool2d, "ceil-mode-dilation", normal(1, 2, 7, 8),
           lambda x: F.max_pool2d(x, 2, stride=2, dilation=2, ceil_mode=True)),
    OpCase(ops.MaxPool2d, "unbatched-overlapping", normal(2, 5, 4),
           lambda x: F.max_pool2d(x, (2, 3), stride=1)),
    OpCase(ops.AvgPool2d, "2x2", normal(2, 3, 6, 6),
           lambda x: F.avg_pool2d(x, 2)),
    OpCase(ops.AvgPool2d, "pad-ceil-mode", normal(2, 2, 7, 6),
           lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)),
    OpCase(ops.AvgPool2d, "exclude-pad", normal(1, 2, 5, 6),
           lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)),
    OpCase(ops.AvgPool2d, "divisor-override", normal(1, 2, 4, 5),
           lambda x: F.avg_pool2d(x, 2, stride=1, divisor_override=3)),
    OpCase(ops.AdaptiveAvgPool2d, "global", normal(2, 3, 5, 4),
           lambda x: F.adaptive_avg_pool2d(x, 1)),
    OpCase(ops.AdaptiveAvgPool2d, "uneven", normal(2, 3, 7, 5),
           lambda x: F.adaptive_avg_pool2d(x, (3, 2))),
    OpCase(ops.AdaptiveAvgPool2d, "keep-width", normal(1, 2, 6, 3),
           lambda x: F.adaptive_avg_pool2d(x, (4, None))),
    # --- normalization ---
    OpCase(ops.BatchNorm, "train-2d", shapes((4, 3, 3, 2), (3,), (3,)),
           lambda x, g, b: F.batch_norm(x, RUNNING_MEAN.copy(), RUNNING_VAR.copy(), g, b,
                                        training=True)),
    OpCase(ops.BatchNorm, "train-1d", shapes((5, 3), (3,), (3,)),
           lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True, eps=1e-3)),
    OpCase(ops.BatchNorm, "train-no-affine-3d", normal(3, 3, 4),
           lambda x: F.batch_norm(x, None, None, training=True)),
    OpCase(ops.BatchNorm, "eval", shapes((3, 3, 2, 2), (3,), (3,)),
           lambda x, g, b: F.batch_norm(x, RUNNING_MEAN, RUNNING_VAR, g, b)),
    OpCase(ops.Dropout2d, "p-0.4", normal(3, 4, 2, 2),
           lambda a: F.dropout2d(a, 0.4, rng=np.random.default_rng(7))),
    # --- losses ---
    OpCase(ops.MSE, "mean", shapes((4, 3), (4, 3)),
           F.mse_loss),
    OpCase(ops.MSE, "sum", shapes((5,), (5,)),
           lambda a, b: F.mse_loss(a, b, reduction="sum")),
    OpCase(ops.MSE, "none", shapes((2, 3), (2, 3)),
           lambda a, b: F.mse_loss(a, b, reduction="none")),
    OpCase(ops.MSE, "weight-broadcast-target", shapes((4, 3), (3,)),
           lambda a, b: mse_of_a_broadcast_target(a, b, weight=ELEMENT_WEIGHT)),
    OpCase(ops.SoftmaxCrossEntropy, "labels", lambda rng: [rng.standard_normal((5, 3)), LABELS],
           F.cross_entropy),
    OpCase(ops.SoftmaxCrossEntropy, "ignore-index",
           lambda rng: [rng.standard_normal((5, 3)), LABELS_IGNORED],
           F.cross_entropy),
    OpCase(ops.SoftmaxCrossEntropy, "label-smoothing",
           lambda rng: [rng.standard_normal((5, 3)), LABELS_IGNORED],
           lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1)),
    OpCase(ops.SoftmaxCrossEntropy, "sum", lambda rng: [rng.standard_normal((5, 3)), LABELS],
           lambda x, y: F.cross_entropy(x, y, reduction="sum")),
    OpCase(ops.SoftmaxCrossEntropy, "none", lambda rng: [rng.standard_normal((5, 3)), LABELS],
           lambda x, y: F.cross_entropy(x, y, reduction="none")),
    OpCase(ops.SoftmaxCrossEntropy, "batch-1",
           lambda rng: [rng.standard_normal((1, 4)), np.array([3])],
           F.cross_entropy),
    OpCase(ops.SoftmaxCrossEntropy, "probabilities",
           lambda rng: [rng.standard_normal((4, 3)), rng.dirichlet(np.ones(3), size=4)],
           F.cross_entropy),
    OpCase(ops.SoftmaxCrossEntropy, "probabilities-smoothing",
           lambda rng: [rng.standard_normal((4, 3)), rng.dirichlet(np.ones(3), size=4)],
           lambda x, y: F.cross_entropy(x, y, label_smoothing=0.2)),
    OpCase(ops.SoftmaxCrossEntropy, "k-dim", lambda rng: [rng.standard_normal((2, 3, 4)),
                                                     KDIM_LABELS_IGNORED],
           F.cross_entropy),
    OpCase(ops.SoftmaxCrossEntropy, "k-dim-2d-none",
           lambda rng: [rng.standard_normal((2, 3, 2, 2)), KDIM_LABELS.reshape(2, 2, 2)],
           lambda x, y: F.cross_entropy(x, y, reduction="none")),
    OpCase(ops.SoftmaxCrossEntropy, "unbatched", lambda rng: [rng.standard_normal(3), np.array(1)],
           F.cross_entropy),
    OpCase(ops.SoftmaxCrossEntropy, "weight", lambda rng: [rng.standard_normal((5, 3)), LABELS],
           lambda x, y: F.cross_entropy(x, y, weight=CLASS_WEIGHTS)),
    OpCase(ops.SoftmaxCrossEntropy, "weight-smoothing-ignore-index",
           lambda rng: [rng.standard_normal((5, 3)), LABELS_IGNORED],
           lambda x, y: F.cross_entropy(x, y, weight=CLASS_WEIGHTS, label_smoothing=0.2)),
    OpCase(ops.SoftmaxCrossEntropy, "weight-smoothing-k-dim-sum",
           lambda rng: [rng.standard_normal((2, 3, 4)), KDIM_LABELS_IGNORED],
           lambda x, y: F.cross_entropy(x, y, weight=CLASS_WEIGHTS, reduction="sum",
                                        label_smoothing=0.1)),
    OpCase(ops.SoftmaxCrossEntropy, "probabilities-k-dim",
           lambda rng: [rng.standard_normal((2, 3, 4)),
                        np.moveaxis(rng.dirichlet(np.ones(3), size=(2, 4)), -1, 1)],
           F.cross_entropy),
    OpCase(ops.SoftmaxCrossEntropy, "probabilities-k-dim-none",
           lambda rng: [rng.standard_normal((2, 3, 2)),
                        np.moveaxis(rng.dirichlet(np.ones(3), size=(2, 2)), -1, 1)],
           lambda x, q: F.cross_entropy(x, q, reduction="none")),
    OpCase(ops.SoftmaxCrossEntropy, "probabilities-weight-smoothing",
           lambda rng: [rng.standard_normal((4, 3)), rng.dirichlet(np.ones(3), size=4)],
           lambda x, q: F.cross_entropy(x, q, weight=CLASS_WEIGHTS, label_smoothing=0.2)),
    OpCase(ops.SoftmaxCrossEntropy, "probabilities-unbatched-sum",
           lambda rng: [rng.standard_normal(3), rng.dirichlet(np.ones(3))],
           lambda x, q: F.cross_entropy(x, q, reduction="sum")),
    OpCase(ops.BinaryCrossEntropy, "mean",
           lambda rng: [probabilities(rng, 4, 3), rng.random((4, 3))],
           F.binary_cross_entropy),
    OpCase(ops.BinaryCrossEntropy, "none", lambda rng: [probabilities(rng, 5), rng.random(5)],
           lambda p, y: F.binary_cross_entropy(p, y, reduction="none")),
    OpCase(ops.BinaryCrossEntropy, "weight-sum",
           lambda rng: [probabilities(rng, 4, 3), rng.random((4, 3))],
           lambda p, y: F.binary_cross_entropy(p, y, weight=BCE_WEIGHT, reduction="sum")),
    OpCase(ops.BinaryCrossEntropyWithLogits, "mean", shapes((4, 3), (4, 3)),
           F.binary_cross_entropy_with_logits),
    OpCase(ops.BinaryCrossEntropyWithLogits, "pos-weight-sum",
           lambda rng: [3 * rng.standard_normal((4, 3)), rng.random((4, 3))],
           lambda x, y: F.binary_cross_entropy_with_logits(
               x, y, reduction="sum", pos_weight=POS_WEIGHT)),
    OpCase(ops.BinaryCrossEntropyWithLogits, "weight-pos-weight",
           lambda rng: [3 * rng.standard_normal((4, 3)), rng.random((4, 3))],
           lambda x, y: F.binary_cross_entropy_with_logits(
               x, y, weight=BCE_WEIGHT, pos_weight=POS_WEIGHT)),
]


# --- the everyday PyTorch API ---

GATHER_INDEX = np.array([[0, 3], [1, 1], [2, 0]])
SCATTER_INDEX = np.array([[0, 2, 2, 1], [2, 2, 0, 1]])
EMBEDDING_INDICES = np.array([[0, 2], [4, 2], [1, 1]])
MASK = np.array([[True, False, False, True], [False, True, False, False],
                 [True, True, False, False]])


def assign_rows(x: Any, value: Any) -> Any:
    """x[1:3] = value on a copy: the indexed assignment recorded as SetItem."""
    y = x.clone()
    y[1:3] = value
    return y


def assign_where_positive(x: Any) -> Any:
    y = x.clone()
    y[y > 0] = 0.5
    return y


def fill_with(x: Any, value: Any) -> Any:
    return x.clone().fill_(value)


def multiply_in_place(x: Any, w: Any) -> Any:
    y = x.clone()
    y *= w
    return y


def add_in_place(x: Any, w: Any) -> Any:
    return x.clone().add_(w, alpha=2.0)


def relu_in_place(x: Any) -> Any:
    return (x * 1.0).relu_()


def clamp_in_place(x: Any) -> Any:
    return (x + 0.0).clamp_(-0.5, 0.5)


def probability_rows(rng: np.random.Generator, rows: int, columns: int) -> np.ndarray:
    return rng.dirichlet(np.ones(columns), size=rows)


def log_probability_rows(rng: np.random.Generator, rows: int, columns: int) -> np.ndarray:
    return np.log(probability_rows(rng, rows, columns))


CASES += [
    OpCase(ops.Sin, "matrix", normal(3, 4), lambda a: a.sin()),
    OpCase(ops.Cos, "matrix", normal(3, 4), lambda a: a.cos()),
    OpCase(ops.Tan, "away-from-poles", lambda rng: [rng.uniform(-1.2, 1.2, (3, 4))],
           lambda a: a.tan()),
    OpCase(ops.Log1p, "above-minus-1", lambda rng: [rng.uniform(-0.5, 2.0, (3, 4))],
           lambda a: a.log1p()),
    OpCase(ops.Expm1, "matrix", normal(3, 4), lambda a: a.expm1()),
    OpCase(ops.Erf, "both-tails", lambda rng: [rng.uniform(-3.0, 3.0, (3, 4))],
           F.erf),
    OpCase(ops.Pow, "rsqrt", lambda rng: [positive(rng, 3, 4)], lambda a: a.rsqrt()),
    OpCase(ops.Pow, "square", normal(3, 4), lambda a: a.square()),
    OpCase(ops.Clamp, "tensor-bounds",
           lambda rng: [np.array([[-1.3, -0.2, 0.3, 1.1], [0.05, -0.9, 0.8, -0.45]]),
                        np.array([-0.5, -0.6, -0.4, -0.7]), np.array([[0.6], [0.4]])],
           lambda x, low, high: x.clamp(low, high)),
    OpCase(ops.Clamp, "min-above-max",
           lambda rng: [np.array([-1.0, 0.1, 0.2, 1.0]), np.array([0.5]), np.array([-0.5])],
           lambda x, low, high: x.clamp(low, high)),
    OpCase(ops.Clamp, "max-tensor-only",
           lambda rng: [np.array([[-1.0, 0.3], [0.9, 2.0]]), np.array([0.5, 1.5])],
           lambda x, high: x.clamp(max=high)),
    OpCase(ops.Clip, "in-place", lambda rng: [np.array([[-1.3, -0.2, 0.3], [0.7, 0.1, -0.8]])],
           clamp_in_place),
    OpCase(ops.Cast, "float64", normal(3, 4), lambda a: ops.Cast.apply(a, dtype=np.float64)),
    OpCase(ops.Clone, "transposed", normal(3, 4), lambda a: a.T.clone()),
    OpCase(ops.Clone, "contiguous", normal(3, 4), lambda a: a.T.contiguous()),
    OpCase(ops.Mul, "in-place", shapes((3, 4), (4,)), multiply_in_place),
    OpCase(ops.Add, "in-place-alpha", shapes((3, 4), (3, 1)), add_in_place),
    OpCase(ops.ReLU, "in-place", lambda rng: [away_from_zero(rng, 3, 4)], relu_in_place),
    # reductions
    OpCase(ops.Var, "unbiased-dim", normal(3, 5), lambda a: a.var(1)),
    OpCase(ops.Var, "population-all", normal(3, 5), lambda a: a.var(correction=0)),
    OpCase(ops.Var, "dims-keepdim", normal(2, 3, 4), lambda a: a.var((0, 2), keepdim=True)),
    OpCase(ops.Var, "std", normal(4, 3), lambda a: a.std(0)),
    OpCase(ops.Var, "layer-norm", shapes((2, 3, 4), (4,), (4,)),
           lambda x, w, b: F.layer_norm(x, (4,), w, b)),
    OpCase(ops.Norm, "fro", normal(3, 4), lambda a: a.norm()),
    OpCase(ops.Norm, "p1-dim", lambda rng: [away_from_zero(rng, 3, 4)],
           lambda a: a.norm(1, dim=1)),
    OpCase(ops.Norm, "p3-keepdim", normal(3, 4), lambda a: a.norm(3, dim=0, keepdim=True)),
    OpCase(ops.Norm, "inf", normal(3, 4), lambda a: a.norm(float("inf"), dim=1)),
    OpCase(ops.Norm, "normalize", normal(3, 4), lambda a: F.normalize(a, dim=1)),
    OpCase(ops.Prod, "dim", normal(3, 4), lambda a: a.prod(1)),
    OpCase(ops.Prod, "all", normal(2, 3), lambda a: a.prod()),
    OpCase(ops.Prod, "with-zeros",
           lambda rng: [np.array([[1.5, 0.0, -2.0], [0.5, 3.0, 0.7], [0.0, 0.0, 2.0]])],
           lambda a: a.prod(1, keepdim=True)),
    OpCase(ops.Cumsum, "dim-1", normal(3, 4), lambda a: a.cumsum(1)),
    OpCase(ops.Cumsum, "negative-dim", normal(3, 4), lambda a: a.cumsum(-2)),
    # shapes and indexing
    OpCase(ops.Expand, "new-leading", normal(3, 1), lambda a: a.expand(2, 3, 4)),
    OpCase(ops.Expand, "minus-one", normal(1, 4), lambda a: a.expand(3, -1)),
    OpCase(ops.Repeat, "tile", normal(2, 3), lambda a: a.repeat(2, 1, 3)),
    OpCase(ops.Pad, "last-two", normal(2, 3, 4), lambda a: F.pad(a, (1, 2, 0, 1), value=0.5)),
    OpCase(ops.Pad, "negative-crop", normal(3, 5), lambda a: F.pad(a, (-1, 2))),
    OpCase(ops.Reshape, "view-unsqueeze-squeeze", normal(3, 4),
           lambda a: a.view(4, -1).unsqueeze(1).squeeze(1)),
    OpCase(ops.Reshape, "flatten-range", normal(2, 3, 4, 2), lambda a: a.flatten(1, 2)),
    OpCase(ops.Transpose, "swap-dims", normal(2, 3, 4), lambda a: a.transpose(0, 2)),
    OpCase(ops.Transpose, "permute-method", normal(2, 3, 4), lambda a: a.permute(2, 0, 1)),
    OpCase(ops.Transpose, "batch-mT", normal(2, 3, 4), lambda a: a.mT),
    OpCase(ops.GetItem, "index-select", normal(3, 4),
           lambda a: a.index_select(1, np.array([2, 0, 2]))),
    OpCase(ops.GetItem, "chunk", normal(3, 7), lambda a: a.chunk(3, 1)[2]),
    OpCase(ops.GetItem, "split-sections", normal(3, 4), lambda a: a.split([1, 3], dim=1)[1]),
    OpCase(ops.Where, "masked-fill", normal(3, 4), lambda a: a.masked_fill(MASK, -1.5)),
    OpCase(ops.Gather, "dim-1", lambda rng: [rng.standard_normal((3, 4)), GATHER_INDEX],
           lambda a, index: a.gather(1, index)),
    OpCase(ops.Gather, "dim-0-shorter-index",
           lambda rng: [rng.standard_normal((3, 4)), np.array([[2, 0, 1], [2, 2, 0]])],
           lambda a, index: a.gather(0, index)),
    OpCase(ops.Gather, "max-dim", normal(3, 4), lambda a: a.max(1).values),
    OpCase(ops.Gather, "min-keepdim", normal(3, 4), lambda a: a.min(0, keepdim=True).values),
    OpCase(ops.Gather, "sort-descending", normal(3, 4),
           lambda a: a.sort(dim=0, descending=True).values),
    OpCase(ops.Gather, "topk", normal(3, 5), lambda a: a.topk(2).values),
    OpCase(ops.ScatterAdd, "dim-0",
           lambda rng: [rng.standard_normal((3, 4)), SCATTER_INDEX,
                        rng.standard_normal((2, 4))],
           lambda a, index, src: a.scatter_add(0, index, src)),
    OpCase(ops.SetItem, "rows", shapes((4, 3), (3,)), assign_rows),
    OpCase(ops.SetItem, "positive-mask", lambda rng: [away_from_zero(rng, 3, 4)],
           assign_where_positive),
    OpCase(ops.SetItem, "fill-0d-value", shapes((3, 2), ()), fill_with),
    OpCase(ops.Embedding, "lookup", lambda rng: [rng.standard_normal((5, 3)),
                                                 EMBEDDING_INDICES],
           lambda weight, indices: F.embedding(indices, weight)),
    # einsum
    OpCase(ops.Einsum, "matmul", shapes((3, 4), (4, 5)),
           lambda a, b: F.einsum("ij,jk->ik", a, b)),
    OpCase(ops.Einsum, "implicit-output", shapes((3, 4), (4, 5)),
           lambda a, b: F.einsum("ij,jk", a, b)),
    OpCase(ops.Einsum, "batched-ellipsis", shapes((2, 3, 4), (2, 4, 5)),
           lambda a, b: F.einsum("...ij,...jk->...ik", a, b)),
    OpCase(ops.Einsum, "trace", normal(4, 4), lambda a: F.einsum("ii", a)),
    OpCase(ops.Einsum, "diagonal", normal(3, 3), lambda a: F.einsum("ii->i", a)),
    OpCase(ops.Einsum, "sum-out", normal(3, 4), lambda a: F.einsum("ij->i", a)),
    OpCase(ops.Einsum, "broadcast-length-1", shapes((3, 1), (3, 4)),
           lambda a, b: F.einsum("ij,ij->ij", a, b)),
    OpCase(ops.Einsum, "three-operands", shapes((2, 3), (3, 4), (4, 2)),
           lambda a, b, c: F.einsum("ab,bc,cd->ad", a, b, c)),
    OpCase(ops.Einsum, "diagonal-and-product", shapes((3, 3, 4), (4, 2)),
           lambda a, b: F.einsum("iij,jk->ik", a, b)),
    # losses
    OpCase(ops.NLL, "mean", lambda rng: [log_probability_rows(rng, 5, 3), LABELS], F.nll_loss),
    OpCase(ops.NLL, "weights-ignore",
           lambda rng: [log_probability_rows(rng, 5, 3), LABELS_IGNORED],
           lambda x, y: F.nll_loss(x, y, weight=CLASS_WEIGHTS)),
    OpCase(ops.NLL, "sum", lambda rng: [log_probability_rows(rng, 5, 3), LABELS],
           lambda x, y: F.nll_loss(x, y, reduction="sum")),
    OpCase(ops.NLL, "none-k-dim", lambda rng: [rng.standard_normal((2, 3, 4)), KDIM_LABELS],
           lambda x, y: F.nll_loss(x, y, reduction="none")),
    OpCase(ops.NLL, "one-sample", lambda rng: [rng.standard_normal(4), np.array(2)],
           F.nll_loss),
    OpCase(ops.NLL, "log-softmax", lambda rng: [rng.standard_normal((5, 3)), LABELS],
           lambda x, y: F.nll_loss(F.log_softmax(x, dim=1), y)),
    OpCase(ops.L1, "mean", shapes((4, 3), (4, 3)), F.l1_loss),
    OpCase(ops.L1, "sum", shapes((5,), (5,)), lambda a, b: F.l1_loss(a, b, reduction="sum")),
    OpCase(ops.SmoothL1, "beta-0.5", shapes((4, 3), (4, 3)),
           lambda a, b: F.smooth_l1_loss(a, b, beta=0.5)),
    OpCase(ops.SmoothL1, "none", shapes((2, 3), (2, 3)),
           lambda a, b: F.smooth_l1_loss(a, b, reduction="none")),
    OpCase(ops.Huber, "delta-0.8", shapes((4, 3), (4, 3)),
           lambda a, b: F.huber_loss(a, b, delta=0.8)),
    OpCase(ops.L1, "weight-sum", shapes((4, 3), (4, 3)),
           lambda a, b: F.l1_loss(a, b, reduction="sum", weight=ELEMENT_WEIGHT)),
    OpCase(ops.Huber, "weight", shapes((4, 3), (4, 3)),
           lambda a, b: F.huber_loss(a, b, weight=ELEMENT_WEIGHT)),
    OpCase(ops.KLDiv, "batchmean",
           lambda rng: [log_probability_rows(rng, 4, 3), probability_rows(rng, 4, 3)],
           lambda x, q: F.kl_div(x, q, reduction="batchmean")),
    OpCase(ops.KLDiv, "mean", lambda rng: [log_probability_rows(rng, 4, 3),
                                           probability_rows(rng, 4, 3)],
           F.kl_div),
    OpCase(ops.KLDiv, "log-target-sum",
           lambda rng: [log_probability_rows(rng, 4, 3), log_probability_rows(rng, 4, 3)],
           lambda x, t: F.kl_div(x, t, reduction="sum", log_target=True)),
]


# --- tensor math (rounding, log2/exp2, hyperbolic and inverse trigonometric functions,
# atan2, logsumexp, flip, roll, tril/triu, bmm, outer, clamp_min/max, diff) ---


def between_steps(rng: np.random.Generator, *shape: int, unit: float = 1.0) -> np.ndarray:
    """Values a fifth of a `unit` or more from the multiples and half-multiples of `unit`,
    where floor, ceil, round and trunc jump, so that finite differences see no jump."""
    whole = rng.integers(-3, 3, shape)
    offset = rng.choice([0.2, 0.3, 0.7, 0.8], shape) + rng.uniform(-0.05, 0.05, shape)
    return unit * (whole + offset)


def inside_unit_interval(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Values in (-0.9, 0.9), away from the poles of the gradients of asin and acos."""
    return rng.uniform(-0.9, 0.9, shape)


CASES += [
    OpCase(ops.Floor, "between-integers", lambda rng: [between_steps(rng, 3, 4)],
           lambda a: a.floor()),
    OpCase(ops.Ceil, "between-integers", lambda rng: [between_steps(rng, 3, 4)],
           lambda a: a.ceil()),
    OpCase(ops.Trunc, "between-integers", lambda rng: [between_steps(rng, 3, 4)],
           lambda a: a.trunc()),
    OpCase(ops.Round, "between-halves", lambda rng: [between_steps(rng, 3, 4)],
           lambda a: a.round()),
    OpCase(ops.Round, "decimals-1", lambda rng: [between_steps(rng, 3, 4, unit=0.1)],
           lambda a: a.round(decimals=1)),
    OpCase(ops.Frac, "between-integers", lambda rng: [between_steps(rng, 3, 4)],
           lambda a: a.frac()),
    OpCase(ops.NanToNum, "finite", normal(3, 4), lambda a: a.nan_to_num()),
    OpCase(ops.Log2, "positive", lambda rng: [positive(rng, 3, 4)], lambda a: a.log2()),
    OpCase(ops.Log10, "positive", lambda rng: [positive(rng, 3, 4)], lambda a: a.log10()),
    OpCase(ops.Exp2, "matrix", normal(3, 4), lambda a: a.exp2()),
    OpCase(ops.Sinh, "matrix", normal(3, 4), lambda a: a.sinh()),
    OpCase(ops.Cosh, "matrix", normal(3, 4), lambda a: a.cosh()),
    OpCase(ops.Asin, "inside-1", lambda rng: [inside_unit_interval(rng, 3, 4)],
           lambda a: a.asin()),
    OpCase(ops.Acos, "inside-1", lambda rng: [inside_unit_interval(rng, 3, 4)],
           lambda a: a.acos()),
    OpCase(ops.Atan, "matrix", normal(3, 4), lambda a: a.atan()),
    OpCase(ops.Atan2, "broadcast", shapes((3, 4), (4,)), lambda a, b: a.atan2(b)),
    OpCase(ops.Atan2, "all-quadrants",
           lambda rng: [np.array([0.5, 0.5, -0.5, -0.5, 1e-3]),
                        np.array([0.7, -0.7, 0.7, -0.7, -2.0])],
           lambda a, b: a.atan2(b)),
    OpCase(ops.LogSumExp, "dim-1", normal(3, 4), lambda a: a.logsumexp(1)),
    OpCase(ops.LogSumExp, "dims-keepdim", normal(2, 3, 4),
           lambda a: a.logsumexp((0, -1), keepdim=True)),
    OpCase(ops.LogSumExp, "large-values", lambda rng: [800 + rng.standard_normal((3, 4))],
           lambda a: a.logsumexp(-1)),
    OpCase(ops.Flip, "two-dims", normal(2, 3, 4), lambda a: a.flip((0, 2))),
    OpCase(ops.Flip, "negative-dim", normal(3, 4), lambda a: a.flip(-1)),
    OpCase(ops.Roll, "two-dims", normal(3, 4), lambda a: a.roll((1, -3), (0, 1))),
    OpCase(ops.Roll, "flattened", normal(3, 4), lambda a: a.roll(5)),
    OpCase(ops.Tril, "main", normal(4, 4), lambda a: a.tril()),
    OpCase(ops.Tril, "batch-below", normal(2, 3, 4), lambda a: a.tril(-1)),
    OpCase(ops.Triu, "above", normal(3, 5), lambda a: a.triu(2)),
    OpCase(ops.MatMul, "bmm", shapes((2, 3, 4), (2, 4, 5)), lambda a, b: a.bmm(b)),
    OpCase(ops.Mul, "outer", shapes((3,), (4,)), lambda a, b: a.outer(b)),
    OpCase(ops.Clip, "clamp-min", normal(3, 4), lambda a: a.clamp_min(0.3)),
    OpCase(ops.Clamp, "clamp-max-tensor", shapes((3, 4), (4,)), lambda a, b: a.clamp_max(b)),
    OpCase(ops.Sub, "diff", normal(3, 5), lambda a: a.diff()),
    OpCase(ops.Sub, "diff-twice-dim-0", normal(4, 3), lambda a: a.diff(n=2, dim=0)),
    OpCase(ops.Sub, "diff-prepend-append", shapes((3, 4), (3, 1), (3, 2)),
           lambda a, before, after: a.diff(prepend=before, append=after)),
]

# --- activations (SiLU, ReLU6, Hardtanh, LogSigmoid, Softsign, SELU, CELU, Mish, Hardswish,
# Hardsigmoid, PReLU, GLU, Softmin, Threshold, Tanhshrink) ---

# Values that keep a finite-difference step away from the kinks of hardtanh (-1, 1), relu6
# (0, 6), hardswish and hardsigmoid (-3, 3) and threshold (0.5).
AROUND_HARDTANH = np.array([[-2.0, -0.7, 0.3], [0.9, 1.5, -1.2]])
AROUND_RELU6 = np.array([[-1.0, 0.5, 3.0], [5.5, 7.0, -0.2]])
AROUND_HARD_3 = np.array([[-4.5, -2.9, -1.0, 0.2], [1.7, 2.9, 3.2, 8.0]])
AROUND_THRESHOLD = np.array([[-1.0, 0.2, 0.45], [0.55, 1.0, 3.0]])
LOGSIGMOID_WIDE = np.array([[-800.0, -30.0, -1.0], [0.5, 30.0, 800.0]])


def silu_in_place(x: Any) -> Any:
    return F.silu(x * 1.0, inplace=True)


CASES += [
    OpCase(ops.SiLU, "matrix", lambda rng: [4 * rng.standard_normal((3, 4))], F.silu),
    OpCase(ops.SiLU, "in-place", normal(3, 4), silu_in_place),
    OpCase(ops.Hardtanh, "default", lambda rng: [AROUND_HARDTANH], F.hardtanh),
    OpCase(ops.Hardtanh, "bounds", lambda rng: [AROUND_HARDTANH],
           lambda a: F.hardtanh(a, -0.5, 1.0)),
    OpCase(ops.Hardtanh, "relu6", lambda rng: [AROUND_RELU6], F.relu6),
    OpCase(ops.LogSigmoid, "wide", lambda rng: [LOGSIGMOID_WIDE], F.logsigmoid),
    OpCase(ops.LogSigmoid, "matrix", normal(3, 4), F.logsigmoid),
    OpCase(ops.Softsign, "matrix", lambda rng: [3 * rng.standard_normal((3, 4))], F.softsign),
    OpCase(ops.SELU, "away-from-0", lambda rng: [away_from_zero(rng, 3, 4)], F.selu),
    OpCase(ops.CELU, "alpha-0.5", lambda rng: [away_from_zero(rng, 3, 4)],
           lambda a: F.celu(a, 0.5)),
    OpCase(ops.Mish, "matrix", lambda rng: [4 * rng.standard_normal((3, 4))], F.mish),
    OpCase(ops.Hardswish, "regions", lambda rng: [AROUND_HARD_3], F.hardswish),
    OpCase(ops.Hardsigmoid, "regions", lambda rng: [AROUND_HARD_3], F.hardsigmoid),
    OpCase(ops.Threshold, "value", lambda rng: [AROUND_THRESHOLD],
           lambda a: F.threshold(a, 0.5, -2.0)),
    OpCase(ops.Tanh, "tanhshrink", normal(3, 4), F.tanhshrink),
    OpCase(ops.Softmax, "softmin-dim-0", normal(3, 4), lambda a: F.softmin(a, 0)),
    OpCase(ops.Sigmoid, "glu-dim-1", normal(3, 4), lambda a: F.glu(a, 1)),
    OpCase(ops.Sigmoid, "glu-last-dim", normal(2, 3, 6), F.glu),
    OpCase(ops.PReLU, "channels",
           lambda rng: [away_from_zero(rng, 2, 3, 4), rng.random(3)], F.prelu),
    OpCase(ops.PReLU, "shared", lambda rng: [away_from_zero(rng, 3, 5), rng.random(1)],
           F.prelu),
    OpCase(ops.PReLU, "1-d", lambda rng: [away_from_zero(rng, 5), rng.random(1)], F.prelu),
    OpCase(ops.PReLU, "0-d", lambda rng: [away_from_zero(rng), rng.random(1)], F.prelu),
    OpCase(ops.PReLU, "batch-1-feature-maps",
           lambda rng: [away_from_zero(rng, 1, 2, 3, 3), rng.random(2)], F.prelu),
]
