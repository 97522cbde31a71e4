"""User-facing functions, conventionally imported as `F`: each one applies an op.

    >>> import layerwise.functional as F
    >>> loss = F.cross_entropy(F.linear(F.relu(F.linear(x, W1, b1)), W2, b2), labels)

Inputs may be Tensors, NumPy arrays or numbers; results are Tensors. Targets of the losses may
be Tensors or arrays and never receive a gradient unless they require one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from layerwise import ops, settings
from layerwise.ops.loss import check_class_labels

# The layers over feature maps (convolution, pooling, batch norm), exported as F.conv2d ...
from layerwise.spatial import (
    adaptive_avg_pool2d as adaptive_avg_pool2d,
)
from layerwise.spatial import (
    avg_pool2d as avg_pool2d,
)
from layerwise.spatial import (
    batch_norm as batch_norm,
)
from layerwise.spatial import (
    conv1d as conv1d,
)
from layerwise.spatial import (
    conv2d as conv2d,
)
from layerwise.spatial import (
    conv_transpose2d as conv_transpose2d,
)
from layerwise.spatial import (
    dropout2d as dropout2d,
)
from layerwise.spatial import (
    max_pool2d as max_pool2d,
)
from layerwise.tensor import Tensor, as_array, tensor

TensorLike = Tensor | np.ndarray | float | int
Axis = int | tuple[int, ...] | None

# --- activations -----------------------------------------------------------------------------


def relu(x: TensorLike) -> Tensor:
    """max(x, 0) element-wise; the gradient at 0 is 0.

    Shape: any -> the same.
    """
    return ops.ReLU.apply(x)


def leaky_relu(x: TensorLike, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, negative_slope * x otherwise.

    Shape: any -> the same.
    """
    return ops.LeakyReLU.apply(x, negative_slope=negative_slope)


def elu(x: TensorLike, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha (e^x - 1) otherwise.

    Shape: any -> the same.
    """
    return ops.ELU.apply(x, alpha=alpha)


def gelu(x: TensorLike, approximate: str = "none") -> Tensor:
    """x Phi(x) with Phi the standard normal CDF; approximate="tanh" uses the tanh formula.

    Shape: any -> the same.
    """
    return ops.GELU.apply(x, approximate=approximate)


def sigmoid(x: TensorLike) -> Tensor:
    """1 / (1 + e^-x), without overflow for any x.

    Shape: any -> the same.
    """
    return ops.Sigmoid.apply(x)


def tanh(x: TensorLike) -> Tensor:
    """tanh x.

    Shape: any -> the same.
    """
    return ops.Tanh.apply(x)


def softplus(x: TensorLike, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, a smooth relu; linear where beta x > threshold.

    Shape: any -> the same.
    """
    return ops.Softplus.apply(x, beta=beta, threshold=threshold)


def softmax(x: TensorLike, axis: int = -1) -> Tensor:
    """e^(x_i) / sum_j e^(x_j) along `axis`: non-negative values summing to 1.

    Shape: any -> the same.
    """
    return ops.Softmax.apply(x, axis=axis)


def log_softmax(x: TensorLike, axis: int = -1) -> Tensor:
    """x_i - log sum_j e^(x_j) along `axis`: the log of softmax, computed without overflow.

    Shape: any -> the same.
    """
    return ops.LogSoftmax.apply(x, axis=axis)


# --- layers ----------------------------------------------------------------------------------


def linear(x: TensorLike, weight: TensorLike, bias: TensorLike | None = None) -> Tensor:
    """x W^T + b, the fully connected layer.

    Shape: x (N, D_in), weight (D_out, D_in), bias (D_out,) -> (N, D_out).
    """
    x_shape, weight_shape = np.shape(_data(x)), np.shape(_data(weight))
    if len(weight_shape) != 2:
        raise ValueError(f"linear: expected a weight of shape (D_out, D_in), got {weight_shape}")
    if not x_shape or x_shape[-1] != weight_shape[1]:
        raise ValueError(f"linear: a weight of shape {weight_shape} expects input "
                         f"(N, {weight_shape[1]}), got {x_shape}")
    if bias is not None and np.shape(_data(bias)) != weight_shape[:1]:
        raise ValueError(f"linear: a weight of shape {weight_shape} expects a bias of shape "
                         f"({weight_shape[0]},), got {np.shape(_data(bias))}")
    if bias is None:
        return ops.Linear.apply(x, weight)
    return ops.Linear.apply(x, weight, bias)


def dropout(x: TensorLike, p: float = 0.5, training: bool = True,
            rng: np.random.Generator | None = None) -> Tensor:
    """Zero each value with probability p and scale the rest by 1 / (1 - p) while training;
    return x unchanged when not training.

    Args:
        p: drop probability in [0, 1].
        training: apply dropout (True) or pass x through (False).
        rng: generator of the mask; the default generator (see `manual_seed`) when None.
    Shape: any -> the same.
    """
    is_number = isinstance(p, int | float | np.integer | np.floating) and not isinstance(p, bool)
    if not is_number or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    x = x if isinstance(x, Tensor) else tensor(x)
    if x.dtype.kind not in "fc":
        raise TypeError(f"dropout: expected floating-point input, got {x.dtype}; convert it "
                        f"first (e.g. x.astype(np.float32))")
    if not training or p == 0.0:
        return x
    return ops.Dropout.apply(x, p=p, rng=rng)


# --- losses ----------------------------------------------------------------------------------


def mse_loss(input: TensorLike, target: TensorLike, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean((input - target)^2).

    Shape: input and target of the same shape -> scalar ("none": that shape).
    """
    return ops.MSE.apply(input, target, reduction=reduction)


def cross_entropy(logits: TensorLike, target: TensorLike, reduction: str = "mean",
                  ignore_index: int = -100, label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy from raw scores: -log softmax(logits)[target], averaged.

    Args:
        logits: unnormalized scores (N, C).
        target: class labels (N,) in [0, C) (or ignore_index), or probabilities (N, C).
        reduction: "mean" (over non-ignored samples), "sum" or "none".
        ignore_index: a label whose samples add nothing to the loss or its gradient.
        label_smoothing: eps in [0, 1]; the target becomes (1 - eps) onehot + eps / C.
    Shape: (N, C), (N,) or (N, C) -> scalar ("none": (N,)).
    """
    return ops.SoftmaxCrossEntropy.apply(logits, target, reduction=reduction,
                                         ignore_index=ignore_index,
                                         label_smoothing=label_smoothing)


def binary_cross_entropy(input: TensorLike, target: TensorLike, reduction: str = "mean") -> Tensor:
    """-(y log p + (1 - y) log(1 - p)) for probabilities p (logs clamped at -100).

    Shape: input and target of the same shape -> scalar ("none": that shape).
    """
    return ops.BinaryCrossEntropy.apply(input, target, reduction=reduction)


def binary_cross_entropy_with_logits(input: TensorLike, target: TensorLike,
                                     reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """Binary cross-entropy of sigmoid(input), computed from the raw scores without overflow.

    Args:
        pos_weight: weight of the positive term, broadcast against the last axis (for
            imbalanced classes: number of negatives / number of positives).
    Shape: input and target of the same shape -> scalar ("none": that shape).
    """
    weight = None if pos_weight is None else as_array(pos_weight)
    input_shape = np.shape(_data(input))
    if weight is not None and not _broadcasts_to(weight.shape, input_shape):
        per_class = f"; give one weight per class, shape {input_shape[-1:]}" if input_shape else ""
        raise ValueError(f"binary_cross_entropy_with_logits: pos_weight of shape {weight.shape} "
                         f"does not broadcast to the input's shape {input_shape}{per_class}")
    return ops.BinaryCrossEntropyWithLogits.apply(input, target, reduction=reduction,
                                                  pos_weight=weight)


def one_hot(labels: Any, num_classes: int, dtype: DTypeLike | None = None) -> np.ndarray:
    """The (N, num_classes) array with a 1 in each row at its label's column.

    Raises ValueError naming the first label outside 0..num_classes-1.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer) \
            or num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be a positive integer, got {num_classes!r}")
    values = np.asarray(_data(labels)).reshape(-1)
    checked = check_class_labels(values, values.shape[0], num_classes, None, "one_hot")
    encoded = np.zeros((checked.shape[0], num_classes), dtype=dtype or settings.default_dtype)
    encoded[np.arange(checked.shape[0]), checked] = 1
    return encoded.reshape(*np.shape(_data(labels)), num_classes)


# --- array math ------------------------------------------------------------------------------


def exp(x: TensorLike) -> Tensor:
    """e^x element-wise."""
    return ops.Exp.apply(x)


def log(x: TensorLike) -> Tensor:
    """Natural logarithm element-wise."""
    return ops.Log.apply(x)


def sqrt(x: TensorLike) -> Tensor:
    """Square root element-wise."""
    return ops.Sqrt.apply(x)


def abs(x: TensorLike) -> Tensor:
    """|x| element-wise; the gradient at 0 is 0."""
    return ops.Abs.apply(x)


def clip(x: TensorLike, min: float | None = None, max: float | None = None) -> Tensor:
    """x limited to [min, max] (either may be None)."""
    return ops.Clip.apply(x, min=min, max=max)


def maximum(a: TensorLike, b: TensorLike) -> Tensor:
    """Element-wise max(a, b); ties split the gradient in half."""
    return ops.Maximum.apply(a, b)


def minimum(a: TensorLike, b: TensorLike) -> Tensor:
    """Element-wise min(a, b); ties split the gradient in half."""
    return ops.Minimum.apply(a, b)


def where(condition: Any, a: TensorLike, b: TensorLike) -> Tensor:
    """a where condition is true, b elsewhere (all three broadcast)."""
    return ops.Where.apply(as_array(condition).astype(bool, copy=False),
                              a, b)


def matmul(a: TensorLike, b: TensorLike) -> Tensor:
    """a @ b with NumPy's rules (1-D vectors, batched matrices)."""
    return ops.MatMul.apply(a, b)


def sum(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Sum over `axis` (all axes when None)."""
    return ops.Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Mean over `axis` (all axes when None)."""
    return ops.Mean.apply(x, axis=axis, keepdims=keepdims)


def max(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Maximum over `axis` (all axes when None); ties share the gradient."""
    return ops.Max.apply(x, axis=axis, keepdims=keepdims)


def min(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Minimum over `axis` (all axes when None); ties share the gradient."""
    return ops.Min.apply(x, axis=axis, keepdims=keepdims)


def reshape(x: TensorLike, shape: Sequence[int]) -> Tensor:
    """The same values in a new shape (one length may be -1)."""
    return ops.Reshape.apply(x, shape=tuple(shape))


def transpose(x: TensorLike, axes: Sequence[int] | None = None) -> Tensor:
    """Axes reversed, or permuted by `axes`."""
    return ops.Transpose.apply(x, axes=None if axes is None else tuple(axes))


def concatenate(tensors: Sequence[TensorLike], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return ops.Concatenate.apply(*tensors, axis=axis)


def stack(tensors: Sequence[TensorLike], axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis."""
    try:
        return ops.Stack.apply(*tensors, axis=axis)
    except ValueError:
        shapes = [np.shape(_data(value)) for value in tensors]
        other = next((position for position, shape in enumerate(shapes) if shape != shapes[0]),
                     None)
        if other is None:
            raise
        raise ValueError(f"stack: all tensors must have the same shape, got {shapes[0]} at "
                         f"position 0 and {shapes[other]} at position {other}") from None


def _data(value: Any) -> Any:
    """A Tensor's array, anything else as it is (for reading shapes)."""
    return value.data if isinstance(value, Tensor) else value


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """Whether an array of `shape` broadcasts against `target` without changing it."""
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False

