"""PyTorch twins of the op registry's cases (layerwise.check.cases.CASES), by case id.

test_ops.py compares every case with its twin in float64; a case without a twin fails.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as TF

from layerwise.check.cases import (
    BCE_WEIGHT,
    CLASS_WEIGHTS,
    ELEMENT_WEIGHT,
    MASK,
    POS_WEIGHT,
    RUNNING_MEAN,
    RUNNING_VAR,
)

T = torch.tensor


def dropout_mask(shape: tuple[int, ...], p: float, seed: int) -> np.ndarray:
    """The mask layerwise draws for float64 input from default_rng(seed), built independently."""
    return (np.random.default_rng(seed).random(shape) >= p) / (1 - p)


def _broadcast_quietly(loss: Callable[..., Any], *arrays: Any, **options: Any) -> Any:
    """PyTorch's loss of a broadcast target, without its warning that this is likely a mistake."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Using a target size", UserWarning)
        return loss(*arrays, **options)


TORCH_TWINS: dict[str, Callable[..., Any]] = {
    # --- element-wise arithmetic ---
    "Add-same-shape": lambda a, b: a + b,
    "Add-broadcast": lambda a, b: a + b,
    "Add-scalar-array": lambda a, b: a + b,
    "Add-number": lambda a: 2.5 + a,
    "Sub-broadcast": lambda a, b: a - b,
    "Sub-reflected": lambda a: 1.0 - a,
    "Mul-broadcast": lambda a, b: a * b,
    "Mul-batch-1": lambda a, b: a * b,
    "Div-same-shape": lambda a, b: a / b,
    "Div-broadcast": lambda a, b: a / b,
    "Div-reflected": lambda a: 2.0 / a,
    "Neg-matrix": lambda a: -a,
    "Pow-tensor-exponent": lambda a, b: a**b,
    "Pow-constant-exponent": lambda a: a**3,
    "Pow-broadcast": lambda a, b: a**b,
    "Exp-matrix": torch.exp,
    "Log-positive": torch.log,
    "Sqrt-positive": torch.sqrt,
    "Abs-away-from-0": torch.abs,
    "Clip-both-bounds": lambda a: torch.clamp(a, -0.5, 0.5),
    "Clip-min-only": lambda a: torch.clamp(a, min=0.0),
    "Maximum-broadcast": torch.maximum,
    "Minimum-broadcast": torch.minimum,
    "Where-broadcast": lambda c, a, b: torch.where(c, a, b),
    # --- matrix products ---
    "MatMul-matrices": torch.matmul,
    "MatMul-batched-broadcast": torch.matmul,
    "MatMul-batch-dims-broadcast": torch.matmul,
    "MatMul-vector-matrix": torch.matmul,
    "MatMul-matrix-vector": torch.matmul,
    "MatMul-vector-vector": torch.matmul,
    "Linear-with-bias": TF.linear,
    "Linear-no-bias": TF.linear,
    "Linear-batch-1": TF.linear,
    "Linear-3-d-input": TF.linear,
    # --- reductions ---
    "Sum-all": torch.sum,
    "Sum-axis-keepdims": lambda a: a.sum(dim=1, keepdim=True),
    "Sum-axes-0-2": lambda a: a.sum(dim=(0, 2)),
    "Mean-all": torch.mean,
    "Mean-axis-negative": lambda a: a.mean(dim=-1),
    "Max-all": torch.amax,
    "Max-axis": lambda a: a.amax(dim=1),
    "Max-axis-keepdims": lambda a: a.amax(dim=0, keepdim=True),
    "Min-axis": lambda a: a.amin(dim=0),
    # --- moving values ---
    "Reshape-matrix": lambda a: a.reshape(2, 6),
    "Reshape-flatten": lambda a: a.reshape(-1),
    "Transpose-matrix": lambda a: a.T,
    "Transpose-permute": lambda a: a.permute(1, 2, 0),
    "GetItem-slices": lambda a: a[1:, ::2],
    "GetItem-int-and-none": lambda a: a[2, None, 1:4],
    "GetItem-repeated-indices": lambda a: a[T([0, 2, 0, 3])],
    "GetItem-index-pairs": lambda a: a[T([0, 1, 1]), T([2, 0, 2])],
    "GetItem-boolean-mask": lambda a: a[T(np.arange(12).reshape(3, 4) % 3 == 0)],
    "Concatenate-axis-1": lambda *xs: torch.cat(xs, dim=1),
    "Stack-axis-1": lambda *xs: torch.stack(xs, dim=1),
    # --- activations ---
    "ReLU-away-from-0": torch.relu,
    "LeakyReLU-slope-0.2": lambda a: TF.leaky_relu(a, 0.2),
    "ELU-alpha-1.3": lambda a: TF.elu(a, 1.3),
    "GELU-exact": TF.gelu,
    "GELU-tanh": lambda a: TF.gelu(a, approximate="tanh"),
    "Sigmoid-matrix": torch.sigmoid,
    "Tanh-matrix": torch.tanh,
    "Softplus-beta-2": lambda a: TF.softplus(a, beta=2.0),
    "Softmax-last-axis": lambda a: torch.softmax(a, -1),
    "Softmax-axis-0": lambda a: torch.softmax(a, 0),
    "LogSoftmax-last-axis": lambda a: torch.log_softmax(a, -1),
    "LogSoftmax-batch-1": lambda a: torch.log_softmax(a, -1),
    "Dropout-p-0.3": lambda a: a * T(dropout_mask((4, 5), 0.3, 7)),
    # --- convolution ---
    "Conv2d-3x3-pad-1": lambda x, w, b: TF.conv2d(x, w, b, padding=1),
    "Conv2d-stride-2-no-bias": lambda x, w: TF.conv2d(x, w, stride=2),
    "Conv2d-dilation-groups":
        lambda x, w, b: TF.conv2d(x, w, b, padding=(1, 0), dilation=(2, 1), groups=2),
    "Conv2d-same-even-kernel": lambda x, w: TF.conv2d(x, w, padding="same"),
    "Conv2d-depthwise": lambda x, w, b: TF.conv2d(x, w, b, padding=1, groups=3),
    "Conv2d-unbatched": TF.conv2d,
    "Conv1d-stride-pad": lambda x, w, b: TF.conv1d(x, w, b, stride=2, padding=1),
    "Conv1d-same-dilation-groups":
        lambda x, w: TF.conv1d(x, w, padding="same", dilation=2, groups=2),
    "ConvTranspose2d-stride-2-output-padding":
        lambda x, w, b: TF.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
    "ConvTranspose2d-groups-dilation":
        lambda x, w: TF.conv_transpose2d(x, w, stride=(1, 2), groups=2, dilation=(2, 1)),
    # --- pooling ---
    "MaxPool2d-2x2": lambda x: TF.max_pool2d(x, 2),
    "MaxPool2d-3x3-stride-2-pad-1": lambda x: TF.max_pool2d(x, 3, stride=2, padding=1),
    "MaxPool2d-ceil-mode-dilation":
        lambda x: TF.max_pool2d(x, 2, stride=2, dilation=2, ceil_mode=True),
    "MaxPool2d-unbatched-overlapping": lambda x: TF.max_pool2d(x, (2, 3), stride=1),
    "AvgPool2d-2x2": lambda x: TF.avg_pool2d(x, 2),
    "AvgPool2d-pad-ceil-mode":
        lambda x: TF.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
    "AvgPool2d-exclude-pad":
        lambda x: TF.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
    "AvgPool2d-divisor-override": lambda x: TF.avg_pool2d(x, 2, stride=1, divisor_override=3),
    "AdaptiveAvgPool2d-global": lambda x: TF.adaptive_avg_pool2d(x, 1),
    "AdaptiveAvgPool2d-uneven": lambda x: TF.adaptive_avg_pool2d(x, (3, 2)),
    "AdaptiveAvgPool2d-keep-width": lambda x: TF.adaptive_avg_pool2d(x, (4, None)),
    # --- normalization ---
    "BatchNorm-train-2d": lambda x, g, b: TF.batch_norm(
        x, T(RUNNING_MEAN), T(RUNNING_VAR), g, b, training=True),
    "BatchNorm-train-1d": lambda x, g, b: TF.batch_norm(x, None, None, g, b, training=True,
                                                         eps=1e-3),
    "BatchNorm-train-no-affine-3d": lambda x: TF.batch_norm(x, None, None, training=True),
    "BatchNorm-eval": lambda x, g, b: TF.batch_norm(x, T(RUNNING_MEAN), T(RUNNING_VAR), g, b),
    "Dropout2d-p-0.4": lambda a: a * T(dropout_mask((3, 4, 1, 1), 0.4, 7)),
    # --- losses ---
    "MSE-mean": TF.mse_loss,
    "MSE-sum": lambda a, b: TF.mse_loss(a, b, reduction="sum"),
    "MSE-none": lambda a, b: TF.mse_loss(a, b, reduction="none"),
    "MSE-weight-broadcast-target": lambda a, b: _broadcast_quietly(TF.mse_loss, a, b,
                                                                   weight=T(ELEMENT_WEIGHT)),
    "SoftmaxCrossEntropy-labels": TF.cross_entropy,
    "SoftmaxCrossEntropy-ignore-index": TF.cross_entropy,
    "SoftmaxCrossEntropy-label-smoothing": lambda x, y: TF.cross_entropy(x, y, label_smoothing=0.1),
    "SoftmaxCrossEntropy-sum": lambda x, y: TF.cross_entropy(x, y, reduction="sum"),
    "SoftmaxCrossEntropy-none": lambda x, y: TF.cross_entropy(x, y, reduction="none"),
    "SoftmaxCrossEntropy-batch-1": TF.cross_entropy,
    "SoftmaxCrossEntropy-probabilities": TF.cross_entropy,
    "SoftmaxCrossEntropy-probabilities-smoothing":
        lambda x, y: TF.cross_entropy(x, y, label_smoothing=0.2),
    "SoftmaxCrossEntropy-k-dim": TF.cross_entropy,
    "SoftmaxCrossEntropy-k-dim-2d-none": lambda x, y: TF.cross_entropy(x, y, reduction="none"),
    "SoftmaxCrossEntropy-unbatched": TF.cross_entropy,
    "SoftmaxCrossEntropy-weight": lambda x, y: TF.cross_entropy(x, y, T(CLASS_WEIGHTS)),
    "SoftmaxCrossEntropy-weight-smoothing-ignore-index":
        lambda x, y: TF.cross_entropy(x, y, T(CLASS_WEIGHTS), label_smoothing=0.2),
    "SoftmaxCrossEntropy-weight-smoothing-k-dim-sum":
        lambda x, y: TF.cross_entropy(x, y, T(CLASS_WEIGHTS), reduction="sum",
                                      label_smoothing=0.1),
    "SoftmaxCrossEntropy-probabilities-k-dim": TF.cross_entropy,
    "SoftmaxCrossEntropy-probabilities-k-dim-none":
        lambda x, q: TF.cross_entropy(x, q, reduction="none"),
    "SoftmaxCrossEntropy-probabilities-weight-smoothing":
        lambda x, q: TF.cross_entropy(x, q, T(CLASS_WEIGHTS), label_smoothing=0.2),
    "SoftmaxCrossEntropy-probabilities-unbatched-sum":
        lambda x, q: TF.cross_entropy(x, q, reduction="sum"),
    "BinaryCrossEntropy-mean": TF.binary_cross_entropy,
    "BinaryCrossEntropy-none": lambda p, y: TF.binary_cross_entropy(p, y, reduction="none"),
    "BinaryCrossEntropy-weight-sum":
        lambda p, y: TF.binary_cross_entropy(p, y, T(BCE_WEIGHT), reduction="sum"),
    "BinaryCrossEntropyWithLogits-weight-pos-weight":
        lambda x, y: TF.binary_cross_entropy_with_logits(x, y, T(BCE_WEIGHT),
                                                         pos_weight=T(POS_WEIGHT)),
    "BinaryCrossEntropyWithLogits-mean": TF.binary_cross_entropy_with_logits,
    "BinaryCrossEntropyWithLogits-pos-weight-sum": lambda x, y: TF.binary_cross_entropy_with_logits(
               x, y, reduction="sum", pos_weight=T(POS_WEIGHT)),
}


# --- the everyday PyTorch API ---


def _assign_rows(x: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y[1:3] = value
    return y


def _assign_where_positive(x: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y[y > 0] = 0.5
    return y


def _multiply_in_place(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y *= w
    return y


def _kl_div_mean(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    with warnings.catch_warnings():  # PyTorch warns that "mean" is not the KL divergence
        warnings.simplefilter("ignore", UserWarning)
        return TF.kl_div(x, q, reduction="mean")


TORCH_TWINS |= {
    "Sin-matrix": torch.sin,
    "Cos-matrix": torch.cos,
    "Tan-away-from-poles": torch.tan,
    "Log1p-above-minus-1": torch.log1p,
    "Expm1-matrix": torch.expm1,
    "Erf-both-tails": torch.erf,
    "Pow-rsqrt": torch.rsqrt,
    "Pow-square": torch.square,
    "Clamp-tensor-bounds": torch.clamp,
    "Clamp-min-above-max": torch.clamp,
    "Clamp-max-tensor-only": lambda x, high: torch.clamp(x, max=high),
    "Clip-in-place": lambda x: (x + 0.0).clamp_(-0.5, 0.5),
    "Cast-float64": lambda a: a.to(torch.float64),
    "Clone-transposed": lambda a: a.T.clone(),
    "Clone-contiguous": lambda a: a.T.contiguous(),
    "Mul-in-place": _multiply_in_place,
    "Add-in-place-alpha": lambda x, w: x.clone().add_(w, alpha=2.0),
    "ReLU-in-place": lambda x: (x * 1.0).relu_(),
    "Var-unbiased-dim": lambda a: a.var(1),
    "Var-population-all": lambda a: a.var(correction=0),
    "Var-dims-keepdim": lambda a: a.var((0, 2), keepdim=True),
    "Var-std": lambda a: a.std(0),
    "Var-layer-norm": lambda x, w, b: TF.layer_norm(x, (4,), w, b),
    "Norm-fro": lambda a: a.norm(),
    "Norm-p1-dim": lambda a: a.norm(p=1, dim=1),
    "Norm-p3-keepdim": lambda a: a.norm(p=3, dim=0, keepdim=True),
    "Norm-inf": lambda a: a.norm(p=float("inf"), dim=1),
    "Norm-normalize": lambda a: TF.normalize(a, dim=1),
    "Prod-dim": lambda a: a.prod(1),
    "Prod-all": lambda a: a.prod(),
    "Prod-with-zeros": lambda a: a.prod(1, keepdim=True),
    "Cumsum-dim-1": lambda a: a.cumsum(1),
    "Cumsum-negative-dim": lambda a: a.cumsum(-2),
    "Expand-new-leading": lambda a: a.expand(2, 3, 4),
    "Expand-minus-one": lambda a: a.expand(3, -1),
    "Repeat-tile": lambda a: a.repeat(2, 1, 3),
    "Pad-last-two": lambda a: TF.pad(a, (1, 2, 0, 1), value=0.5),
    "Pad-negative-crop": lambda a: TF.pad(a, (-1, 2)),
    "Reshape-view-unsqueeze-squeeze": lambda a: a.view(4, -1).unsqueeze(1).squeeze(1),
    "Reshape-flatten-range": lambda a: a.flatten(1, 2),
    "Transpose-swap-dims": lambda a: a.transpose(0, 2),
    "Transpose-permute-method": lambda a: a.permute(2, 0, 1),
    "Transpose-batch-mT": lambda a: a.mT,
    "GetItem-index-select": lambda a: a.index_select(1, T([2, 0, 2])),
    "GetItem-chunk": lambda a: a.chunk(3, 1)[2],
    "GetItem-split-sections": lambda a: a.split([1, 3], dim=1)[1],
    "Where-masked-fill": lambda a: a.masked_fill(T(MASK), -1.5),
    "Gather-dim-1": lambda a, index: a.gather(1, index),
    "Gather-dim-0-shorter-index": lambda a, index: a.gather(0, index),
    "Gather-max-dim": lambda a: a.max(1).values,
    "Gather-min-keepdim": lambda a: a.min(0, keepdim=True).values,
    "Gather-sort-descending": lambda a: a.sort(dim=0, descending=True).values,
    "Gather-topk": lambda a: a.topk(2).values,
    "ScatterAdd-dim-0": lambda a, index, src: a.scatter_add(0, index, src),
    "SetItem-rows": _assign_rows,
    "SetItem-positive-mask": _assign_where_positive,
    "SetItem-fill-0d-value": lambda x, value: x.clone().fill_(value),
    "Embedding-lookup": lambda weight, indices: TF.embedding(indices, weight),
    "Einsum-matmul": lambda a, b: torch.einsum("ij,jk->ik", a, b),
    "Einsum-implicit-output": lambda a, b: torch.einsum("ij,jk", a, b),
    "Einsum-batched-ellipsis": lambda a, b: torch.einsum("...ij,...jk->...ik", a, b),
    "Einsum-trace": lambda a: torch.einsum("ii", a),
    "Einsum-diagonal": lambda a: torch.einsum("ii->i", a),
    "Einsum-sum-out": lambda a: torch.einsum("ij->i", a),
    "Einsum-broadcast-length-1": lambda a, b: torch.einsum("ij,ij->ij", a, b),
    "Einsum-three-operands": lambda a, b, c: torch.einsum("ab,bc,cd->ad", a, b, c),
    "Einsum-diagonal-and-product": lambda a, b: torch.einsum("iij,jk->ik", a, b),
    "NLL-mean": TF.nll_loss,
    "NLL-weights-ignore": lambda x, y: TF.nll_loss(x, y, weight=T(CLASS_WEIGHTS)),
    "NLL-sum": lambda x, y: TF.nll_loss(x, y, reduction="sum"),
    "NLL-none-k-dim": lambda x, y: TF.nll_loss(x, y, reduction="none"),
    "NLL-one-sample": TF.nll_loss,
    "NLL-log-softmax": lambda x, y: TF.nll_loss(TF.log_softmax(x, dim=1), y),
    "L1-mean": TF.l1_loss,
    "L1-sum": lambda a, b: TF.l1_loss(a, b, reduction="sum"),
    "SmoothL1-beta-0.5": lambda a, b: TF.smooth_l1_loss(a, b, beta=0.5),
    "SmoothL1-none": lambda a, b: TF.smooth_l1_loss(a, b, reduction="none"),
    "Huber-delta-0.8": lambda a, b: TF.huber_loss(a, b, delta=0.8),
    "L1-weight-sum": lambda a, b: TF.l1_loss(a, b, reduction="sum", weight=T(ELEMENT_WEIGHT)),
    "Huber-weight": lambda a, b: TF.huber_loss(a, b, weight=T(ELEMENT_WEIGHT)),
    "KLDiv-batchmean": lambda x, q: TF.kl_div(x, q, reduction="batchmean"),
    "KLDiv-mean": _kl_div_mean,
    "KLDiv-log-target-sum": lambda x, t: TF.kl_div(x, t, reduction="sum", log_target=True),
}


# --- tensor math (rounding, log2/exp2, hyperbolic and inverse trigonometric functions,
# atan2, logsumexp, flip, roll, tril/triu, bmm, outer, clamp_min/max, diff) ---

TORCH_TWINS |= {
    "Floor-between-integers": torch.floor,
    "Ceil-between-integers": torch.ceil,
    "Trunc-between-integers": torch.trunc,
    "Round-between-halves": torch.round,
    "Round-decimals-1": lambda a: torch.round(a, decimals=1),
    "Frac-between-integers": torch.frac,
    "NanToNum-finite": torch.nan_to_num,
    "Log2-positive": torch.log2,
    "Log10-positive": torch.log10,
    "Exp2-matrix": torch.exp2,
    "Sinh-matrix": torch.sinh,
    "Cosh-matrix": torch.cosh,
    "Asin-inside-1": torch.asin,
    "Acos-inside-1": torch.acos,
    "Atan-matrix": torch.atan,
    "Atan2-broadcast": torch.atan2,
    "Atan2-all-quadrants": torch.atan2,
    "LogSumExp-dim-1": lambda a: torch.logsumexp(a, 1),
    "LogSumExp-dims-keepdim": lambda a: torch.logsumexp(a, (0, -1), keepdim=True),
    "LogSumExp-large-values": lambda a: torch.logsumexp(a, -1),
    "Flip-two-dims": lambda a: torch.flip(a, (0, 2)),
    "Flip-negative-dim": lambda a: a.flip(-1),
    "Roll-two-dims": lambda a: torch.roll(a, (1, -3), (0, 1)),
    "Roll-flattened": lambda a: torch.roll(a, 5),
    "Tril-main": torch.tril,
    "Tril-batch-below": lambda a: torch.tril(a, -1),
    "Triu-above": lambda a: torch.triu(a, 2),
    "MatMul-bmm": torch.bmm,
    "Mul-outer": torch.outer,
    "Clip-clamp-min": lambda a: torch.clamp_min(a, 0.3),
    "Clamp-clamp-max-tensor": torch.clamp_max,
    "Sub-diff": torch.diff,
    "Sub-diff-twice-dim-0": lambda a: torch.diff(a, n=2, dim=0),
    "Sub-diff-prepend-append": lambda a, before, after: torch.diff(a, prepend=before,
                                                                   append=after),
}

# --- activations (SiLU, ReLU6, Hardtanh, LogSigmoid, Softsign, SELU, CELU, Mish, Hardswish,
# Hardsigmoid, PReLU, GLU, Softmin, Threshold, Tanhshrink) ---
TORCH_TWINS |= {
    "SiLU-matrix": TF.silu,
    "SiLU-in-place": lambda x: TF.silu(x * 1.0, inplace=True),
    "Hardtanh-default": TF.hardtanh,
    "Hardtanh-bounds": lambda a: TF.hardtanh(a, -0.5, 1.0),
    "Hardtanh-relu6": TF.relu6,
    "LogSigmoid-wide": TF.logsigmoid,
    "LogSigmoid-matrix": TF.logsigmoid,
    "Softsign-matrix": TF.softsign,
    "SELU-away-from-0": TF.selu,
    # alpha 0.5 is exact in float32: TF.celu's backward rounds alpha to float32 (0.7 is 1.3e-8 off)
    "CELU-alpha-0.5": lambda a: TF.celu(a, 0.5),
    "Mish-matrix": TF.mish,
    "Hardswish-regions": TF.hardswish,
    # TF.hardsigmoid's backward multiplies by 1/6 rounded to float32 (2.98e-8 off in float64);
    # relu6(x + 3) / 6 is its definition, with the same kinks, in full float64.
    "Hardsigmoid-regions": lambda a: TF.relu6(a + 3) / 6,
    "Threshold-value": lambda a: TF.threshold(a, 0.5, -2.0),
    "Tanh-tanhshrink": TF.tanhshrink,
    "Softmax-softmin-dim-0": lambda a: TF.softmin(a, 0),
    "Sigmoid-glu-dim-1": lambda a: TF.glu(a, 1),
    "Sigmoid-glu-last-dim": TF.glu,
    "PReLU-channels": TF.prelu,
    "PReLU-shared": TF.prelu,
    "PReLU-1-d": TF.prelu,
    "PReLU-0-d": TF.prelu,
    "PReLU-batch-1-feature-maps": TF.prelu,
}
