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

from layerwise import dtypes, ops, reductions, shapes
from layerwise import inplace as inplace_ops
from layerwise.ops.base import normalize_axes
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


def relu(x: TensorLike, inplace: bool = False) -> Tensor:
    """max(x, 0) element-wise; the gradient at 0 is 0. With inplace=True x itself is changed
    (see layerwise.inplace for when that is allowed).

    Shape: any -> the same.
    """
    if inplace and isinstance(x, Tensor):
        return x.relu_()
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
    return ops.Sigmoid.apply(_floating(x))


def tanh(x: TensorLike) -> Tensor:
    """tanh x.

    Shape: any -> the same.
    """
    return ops.Tanh.apply(_floating(x))


def softplus(x: TensorLike, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, a smooth relu; linear where beta x > threshold.

    Shape: any -> the same.
    """
    return ops.Softplus.apply(x, beta=beta, threshold=threshold)


def softmax(x: TensorLike, dim: int | None = None, *, axis: int | None = None,
            dtype: DTypeLike | None = None) -> Tensor:
    """e^(x_i) / sum_j e^(x_j) along `dim` (the last one when not given): non-negative values
    summing to 1. NumPy's `axis=` works too.

    Shape: any -> the same.
    """
    return ops.Softmax.apply(_cast(_floating(x), dtype), axis=_dim_or_axis("softmax", dim, axis))


def log_softmax(x: TensorLike, dim: int | None = None, *, axis: int | None = None,
                dtype: DTypeLike | None = None) -> Tensor:
    """x_i - log sum_j e^(x_j) along `dim` (the last one when not given): the log of softmax,
    computed without overflow.

    Shape: any -> the same.
    """
    return ops.LogSoftmax.apply(_cast(_floating(x), dtype),
                                axis=_dim_or_axis("log_softmax", dim, axis))


# --- activations (SiLU, ReLU6, Hardtanh, LogSigmoid, Softsign, SELU, CELU, Mish, Hardswish,
# Hardsigmoid, PReLU, GLU, Softmin, Threshold, Tanhshrink) ---


def _floating_only(owner: str, x: Any) -> Any:
    """`x` when it holds floating-point numbers (or is a Python number), else the TypeError
    PyTorch's kernels give integer and bool tensors for these activations."""
    data = x.data if isinstance(x, Tensor) else x
    if isinstance(data, np.ndarray) and data.dtype.kind not in "fc":
        raise TypeError(f"{owner}: expected a floating-point tensor, got {data.dtype} (PyTorch "
                        f"refuses integer and bool input here too); convert it with .float()")
    return x


def _activation(name: str, x: Any, op_class: type[ops.Op], inplace: bool,
                **options: Any) -> Tensor:
    """op_class applied to x; with inplace=True, x itself changed (a Tensor only)."""
    if inplace and isinstance(x, Tensor):
        return inplace_ops.apply(f"{name}_", x, op_class, **options)
    return op_class.apply(x, **options)


def silu(x: TensorLike, inplace: bool = False) -> Tensor:
    """x sigmoid(x), the swish; floating-point input only (as PyTorch).

    Shape: any -> the same.
    """
    return _activation("silu", _floating_only("silu", x), ops.SiLU, inplace)


def hardtanh(x: TensorLike, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]; the gradient is 0 at both kinks (as PyTorch).

    Shape: any -> the same.
    """
    for name, value in (("min_val", min_val), ("max_val", max_val)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer
                                                     | np.floating):
            raise ValueError(f"hardtanh: {name} must be a number, got {value!r}")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got "
                         f"min_val={min_val}, max_val={max_val}")
    return _activation("hardtanh", x, ops.Hardtanh, inplace, min_val=min_val, max_val=max_val)


def relu6(x: TensorLike, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) = hardtanh(x, 0, 6); the gradient is 0 at 0 and at 6.

    Shape: any -> the same.
    """
    return _activation("relu6", x, ops.Hardtanh, inplace, min_val=0.0, max_val=6.0)


def logsigmoid(x: TensorLike) -> Tensor:
    """log(1 / (1 + e^-x)), exact for large |x|: logsigmoid(-1000) = -1000, not -inf.

    Shape: any -> the same.
    """
    return ops.LogSigmoid.apply(_floating_only("logsigmoid", x))


def softsign(x: TensorLike) -> Tensor:
    """x / (1 + |x|); integer input gives the default floating dtype (as PyTorch).

    Shape: any -> the same.
    """
    return ops.Softsign.apply(_floating(x))


def selu(x: TensorLike, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with alpha = 1.6732632423543772, scale = 1.0507009873554805.

    Shape: any -> the same.
    """
    return _activation("selu", _floating_only("selu", x), ops.SELU, inplace)


def celu(x: TensorLike, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (e^(x / alpha) - 1) otherwise; alpha must not be 0.

    Shape: any -> the same.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.integer | np.floating):
        raise ValueError(f"celu: alpha must be a number, got {alpha!r}")
    return _activation("celu", _floating_only("celu", x), ops.CELU, inplace, alpha=alpha)


def mish(x: TensorLike, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x)).

    Shape: any -> the same.
    """
    return _activation("mish", _floating_only("mish", x), ops.Mish, inplace)


def hardswish(x: TensorLike, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6.

    Shape: any -> the same.
    """
    return _activation("hardswish", _floating_only("hardswish", x), ops.Hardswish, inplace)


def hardsigmoid(x: TensorLike, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6.

    Shape: any -> the same.
    """
    return _activation("hardsigmoid", _floating_only("hardsigmoid", x), ops.Hardsigmoid,
                       inplace)


def threshold(x: TensorLike, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value; the gradient is 0 at and below the threshold.

    Shape: any -> the same.
    """
    return _activation("threshold", x, ops.Threshold, inplace, threshold=threshold, value=value)


def tanhshrink(x: TensorLike) -> Tensor:
    """x - tanh x.

    Shape: any -> the same.
    """
    floating: Tensor = _floating(x if isinstance(x, Tensor) else tensor(x))
    return floating - ops.Tanh.apply(floating)


def softmin(x: TensorLike, dim: int | None = None, *, axis: int | None = None,
            dtype: DTypeLike | None = None) -> Tensor:
    """softmax(-x) along `dim` (the last one when not given): large values get small weights.

    Shape: any -> the same.
    """
    x = _cast(_floating_only("softmin", x if isinstance(x, Tensor) else tensor(x)), dtype)
    return ops.Softmax.apply(-x,
                             axis=_dim_or_axis("softmin", dim, axis))


def glu(x: TensorLike, dim: int = -1) -> Tensor:
    """a sigmoid(b), where a and b are the two halves of x along `dim` (the gated linear unit).

    Shape: (*, 2n, *) -> (*, n, *), the halved dim at `dim`.
    """
    x = x if isinstance(x, Tensor) else tensor(x)
    _floating_only("glu", x)
    if x.ndim == 0:
        raise ValueError("glu: a 0-d tensor has no dim to halve; pass a tensor with at least "
                         "one dim of even size")
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer):
        raise ValueError(f"glu: dim must be an integer, got {dim!r}")
    axis = normalize_axes(dim, x.ndim, "glu")[0]
    if x.shape[axis] % 2:
        raise ValueError(f"glu: the halved dim must be of even size, but dim {dim} of shape "
                         f"{tuple(x.shape)} has size {x.shape[axis]}")
    half = x.shape[axis] // 2
    before = (slice(None),) * axis
    return x[(*before, slice(0, half))] * ops.Sigmoid.apply(x[(*before, slice(half, None))])


def prelu(x: TensorLike, weight: TensorLike) -> Tensor:
    """x for x > 0, weight * x otherwise, with one slope for all (weight of 1 element) or one
    per channel (dim 1 of x; a 0-d or 1-d x has 1 channel). The gradient at 0 is the slope.

    Shape: x (N, C, *) and weight (C,) or (1,) -> (N, C, *).
    """
    x = x if isinstance(x, Tensor) else tensor(x)
    _floating_only("prelu", x)
    if not isinstance(weight, Tensor):  # slopes given as numbers take the input's dtype
        weight = tensor(np.asarray(weight, dtype=x.dtype))
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.ndim > 1 or weight.numel() not in (1, channels):
        raise ValueError(f"prelu: weight must hold 1 slope or one per channel (dim 1 of the "
                         f"input, {channels} here), got weight of shape {tuple(weight.shape)} "
                         f"for input of shape {tuple(x.shape)}")
    return ops.PReLU.apply(x, weight)


# --- layers ----------------------------------------------------------------------------------


def linear(x: TensorLike, weight: TensorLike, bias: TensorLike | None = None) -> Tensor:
    """x W^T + b, the fully connected layer.

    Shape: x (N, D_in), weight (D_out, D_in), bias (D_out,) -> (N, D_out).
    """
    x_shape, weight_shape = _shape(x), _shape(weight)
    if len(weight_shape) != 2:
        raise ValueError(f"linear: expected a weight of shape (D_out, D_in), got {weight_shape}")
    if not x_shape or x_shape[-1] != weight_shape[1]:
        raise ValueError(f"linear: a weight of shape {weight_shape} expects input "
                         f"(N, {weight_shape[1]}), got {x_shape}")
    if bias is not None and _shape(bias) != weight_shape[:1]:
        raise ValueError(f"linear: a weight of shape {weight_shape} expects a bias of shape "
                         f"({weight_shape[0]},), got {_shape(bias)}")
    if bias is None:
        return ops.Linear.apply(x, weight)
    return ops.Linear.apply(x, weight, bias)


def dropout(x: TensorLike, p: float = 0.5, training: bool = True, inplace: bool = False,
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
    if inplace:
        return inplace_ops.apply("dropout", x, ops.Dropout, p=p, rng=rng)
    return ops.Dropout.apply(x, p=p, rng=rng)


# --- losses ----------------------------------------------------------------------------------


def mse_loss(input: TensorLike, target: TensorLike, reduction: str = "mean",
             weight: Any = None) -> Tensor:
    """Mean squared error: mean((input - target)^2); with a weight w of the input's shape,
    sum(w (input - target)^2) / sum(w), as in PyTorch.

    Shape: input and target of the same shape -> scalar ("none": that shape). Shapes that
    broadcast are broadcast, as in PyTorch, with PyTorch's warning that it is likely a mistake.
    """
    return ops.MSE.apply(input, target, reduction=reduction,
                         weight=_element_weight("mse_loss", weight, input))


def cross_entropy(input: TensorLike, target: TensorLike, weight: Any = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy from raw scores: -log softmax(input)[target], averaged; with
    class weights w and label smoothing eps a label y costs
    (1 - eps) w_y (-log p_y) + eps / C sum_c w_c (-log p_c), as in PyTorch.

    Args:
        input: unnormalized scores (logits), with the classes on dim 1 (dim 0 for one sample).
        target: class labels in [0, C) (or ignore_index), or probabilities of the input's shape.
        weight: one weight per class, shape (C,), floating point (default: all 1).
        ignore_index: a label whose samples add nothing to the loss or its gradient.
        reduction: "mean" (for labels divided by the sum of w_y over the non-ignored samples,
            for probabilities by the number of samples), "sum" or "none".
        label_smoothing: eps in [0, 1]; the target becomes (1 - eps) onehot + eps / C.
    Shape: input (N, C) with labels (N,), (C,) with (), or (N, C, d1, ...) with (N, d1, ...);
        probabilities of the input's shape -> scalar ("none": the shape without C).
    Example:
        >>> F.cross_entropy(lw.randn(2, 5, 4, 4), lw.randint(0, 5, (2, 4, 4)))  # per pixel
    """
    return ops.SoftmaxCrossEntropy.apply(input, target, reduction=reduction,
                                         ignore_index=ignore_index,
                                         label_smoothing=label_smoothing,
                                         weight=class_weight("cross_entropy", weight))


def binary_cross_entropy(input: TensorLike, target: TensorLike, weight: Any = None,
                         reduction: str = "mean") -> Tensor:
    """-w (y log p + (1 - y) log(1 - p)) for probabilities p (logs clamped at -100).

    Args:
        weight: a weight per element, broadcast against the input (1 by default); "mean"
            still divides by the number of elements, as in PyTorch.
    Shape: input and target of the same shape -> scalar ("none": that shape).
    """
    return ops.BinaryCrossEntropy.apply(
        input, target, reduction=reduction,
        weight=_broadcast_weight("binary_cross_entropy", "weight", weight, input))


def binary_cross_entropy_with_logits(input: TensorLike, target: TensorLike, weight: Any = None,
                                     reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """Binary cross-entropy of sigmoid(input), computed from the raw scores without overflow:
    -w (P y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))).

    Args:
        weight: w, a weight per element, broadcast against the input (1 by default).
        pos_weight: P, the weight of the positive term, broadcast against the last axis (for
            imbalanced classes: number of negatives / number of positives).
    Shape: input and target of the same shape -> scalar ("none": that shape).
    """
    name = "binary_cross_entropy_with_logits"
    return ops.BinaryCrossEntropyWithLogits.apply(
        input, target, reduction=reduction,
        pos_weight=_broadcast_weight(name, "pos_weight", pos_weight, input),
        weight=_broadcast_weight(name, "weight", weight, input))


def _element_weight(owner: str, weight: Any, input: Any) -> np.ndarray | None:
    """A regression loss's `weight`: an array of the input's shape, as PyTorch requires."""
    if weight is None:
        return None
    array = as_array(_data(weight))
    input_shape = np.shape(_data(input))
    if array.shape != input_shape:
        raise ValueError(f"{owner}: weight must have the input's shape {input_shape}, got "
                         f"{array.shape}")
    return array


def _broadcast_weight(owner: str, name: str, weight: Any, input: Any) -> np.ndarray | None:
    """`weight` as an array that broadcasts against the input without changing its shape."""
    if weight is None:
        return None
    if isinstance(weight, str):
        raise ValueError(f"{owner}: {name} must be numbers, got {weight!r}; pass the reduction "
                         f"by name, reduction={weight!r}")
    array = as_array(_data(weight))
    input_shape = np.shape(_data(input))
    if not _broadcasts_to(array.shape, input_shape):
        per_class = (f"; give one weight per class, shape {input_shape[-1:]}"
                     if input_shape and name == "pos_weight" else "")
        raise ValueError(f"{owner}: {name} of shape {array.shape} does not broadcast to the "
                         f"input's shape {input_shape}{per_class}")
    return array


def one_hot(labels: Any, num_classes: int = -1, dtype: DTypeLike | None = None) -> Tensor:
    """A tensor of the labels' shape plus one dim of num_classes, with a 1 at each label's
    position: int64, as in PyTorch, unless `dtype` is given. num_classes=-1 takes the largest
    label + 1.

    Raises ValueError naming the first label outside 0..num_classes-1.
    """
    values = np.asarray(_data(labels)).reshape(-1)
    if num_classes == -1 and not isinstance(num_classes, bool):
        if values.dtype.kind not in "iu":
            raise ValueError(f"one_hot: labels must be integers to infer num_classes, got "
                             f"dtype {values.dtype}")
        num_classes = int(values.max()) + 1 if values.size else 0
        if num_classes < 1:
            raise ValueError("one_hot: cannot infer num_classes from no labels; give it")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer) \
            or num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be a positive integer, got {num_classes!r}")
    checked = check_class_labels(values, values.shape[0], num_classes, None, "one_hot")
    encoded = np.zeros((checked.shape[0], num_classes),
                       dtype=np.int64 if dtype is None else dtypes.as_dtype(dtype, "one_hot"))
    encoded[np.arange(checked.shape[0]), checked] = 1
    return Tensor._constant(encoded.reshape(*np.shape(_data(labels)), num_classes))


# --- array math ------------------------------------------------------------------------------


def exp(x: TensorLike) -> Tensor:
    """e^x element-wise."""
    return ops.Exp.apply(_floating(x))


def erf(x: TensorLike) -> Tensor:
    """The error function erf(x) = 2/sqrt(pi) integral_0^x e^(-t^2) dt, element-wise."""
    return ops.Erf.apply(_floating(x))


def log(x: TensorLike) -> Tensor:
    """Natural logarithm element-wise."""
    return ops.Log.apply(_floating(x))


def sqrt(x: TensorLike) -> Tensor:
    """Square root element-wise."""
    return ops.Sqrt.apply(_floating(x))


def abs(x: TensorLike) -> Tensor:
    """|x| element-wise; the gradient at 0 is 0."""
    return ops.Abs.apply(x)


def clip(x: TensorLike, min: Any = None, max: Any = None) -> Tensor:
    """x limited to [min, max] (either may be None); the bounds may be numbers or tensors."""
    return clamp(x, min, max)


def clamp(x: TensorLike, min: Any = None, max: Any = None) -> Tensor:
    """x limited to [min, max] (PyTorch's clamp). Number bounds: the gradient passes where
    min <= x <= max. Tensor bounds broadcast against x and get the gradient where they are the
    value (x < min, or x > max)."""
    if isinstance(min, Tensor | np.ndarray) or isinstance(max, Tensor | np.ndarray):
        if min is None and max is None:
            raise ValueError("clip needs at least one of min and max")
        infinity = np.asarray(np.inf, dtype=dtypes.floating(as_array(_data(x))).dtype)
        return ops.Clamp.apply(x, -infinity if min is None else min,
                               infinity if max is None else max)
    return ops.Clip.apply(x, min=min, max=max)


def maximum(a: TensorLike, b: TensorLike) -> Tensor:
    """Element-wise max(a, b); ties split the gradient in half."""
    return ops.Maximum.apply(a, b)


def minimum(a: TensorLike, b: TensorLike) -> Tensor:
    """Element-wise min(a, b); ties split the gradient in half."""
    return ops.Minimum.apply(a, b)


def where(condition: Any, a: Any = None, b: Any = None) -> Any:
    """a where the bool condition is true, b elsewhere (all three broadcast); with the
    condition alone, the indices of its True values (one tensor per dim)."""
    return shapes.where(condition, a, b)


def matmul(a: TensorLike, b: TensorLike) -> Tensor:
    """a @ b with NumPy's rules (1-D vectors, batched matrices)."""
    return ops.MatMul.apply(a, b)


sum = reductions.sum
mean = reductions.mean
max = reductions.max
min = reductions.min


def reshape(x: TensorLike, shape: Sequence[int]) -> Tensor:
    """The same values in a new shape (one length may be -1)."""
    return shapes.reshape(x, tuple(shape))


def transpose(x: TensorLike, *dims: Any) -> Tensor:
    """transpose(x, d0, d1) swaps two dims (PyTorch); transpose(x) reverses them and
    transpose(x, axes) permutes them (NumPy)."""
    if len(dims) == 1 and dims[0] is None:
        return shapes.transpose(x)
    return shapes.transpose(x, *dims)


def concatenate(tensors: Sequence[TensorLike], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis, as np.concatenate does (see cat for PyTorch's
    checks and dtype rules)."""
    return ops.Concatenate.apply(*tensors, axis=axis)


def stack(tensors: Sequence[TensorLike], axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis."""
    return shapes.stack(tensors, axis)


# --- the rest of the everyday math ---------------------------------------------------


def sin(x: TensorLike) -> Tensor:
    """sin x element-wise."""
    return ops.Sin.apply(_floating(x))


def cos(x: TensorLike) -> Tensor:
    """cos x element-wise."""
    return ops.Cos.apply(_floating(x))


def tan(x: TensorLike) -> Tensor:
    """tan x element-wise."""
    return ops.Tan.apply(_floating(x))


def log1p(x: TensorLike) -> Tensor:
    """ln(1 + x), exact for tiny x."""
    return ops.Log1p.apply(_floating(x))


def expm1(x: TensorLike) -> Tensor:
    """e^x - 1, exact for tiny x."""
    return ops.Expm1.apply(_floating(x))


def rsqrt(x: TensorLike) -> Tensor:
    """1 / sqrt(x), as x ** -0.5 (the same gradient, -0.5 x^-1.5)."""
    return ops.Pow.apply(_floating(x), -0.5)


def square(x: TensorLike) -> Tensor:
    """x ** 2."""
    return ops.Pow.apply(x, 2)


def pow(x: TensorLike, exponent: TensorLike) -> Tensor:
    """x ** exponent (either may be a tensor or a number)."""
    return ops.Pow.apply(x, exponent)


def sign(x: TensorLike) -> Tensor:
    """-1, 0 or 1 by the sign of x. Its derivative is 0 wherever it exists, so the result
    is a constant: a gradient through it would be 0."""
    return Tensor._constant(np.sign(as_array(_data(x))))


def add(x: TensorLike, other: TensorLike, alpha: float = 1) -> Tensor:
    """x + alpha * other."""
    return ops.Add.apply(x, other if alpha == 1 else ops.Mul.apply(other, alpha))


def sub(x: TensorLike, other: TensorLike, alpha: float = 1) -> Tensor:
    """x - alpha * other."""
    return ops.Sub.apply(x, other if alpha == 1 else ops.Mul.apply(other, alpha))


def einsum(equation: str, *operands: Any) -> Tensor:
    """The Einstein summation `equation` of the operands, as torch.einsum and np.einsum:
    einsum("ij,jk->ik", a, b) is a @ b, einsum("ii", a) the trace, einsum("bij->bji", a) a
    batched transpose. Operands may also be given as one list."""
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    return ops.Einsum.apply(*operands, equation=equation)


# --- layers as functions ------------------------------------------------------------


def pad(x: TensorLike, pad: Sequence[int], mode: str = "constant", value: float = 0.0
        ) -> Tensor:
    """x with `value` added around it. `pad` gives (before, after) counts for the last dim,
    then the one before it, and so on: pad=(1, 1) adds a column on each side, (0, 0, 2, 0)
    two rows on top. Negative counts cut values off. Only mode="constant" is supported.

    Shape: (*, d) with pad (a, b) -> (*, d + a + b).
    """
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    counts = tuple(pad)
    if len(counts) % 2 or any(isinstance(count, bool) or not isinstance(count, int | np.integer)
                              for count in counts):
        raise ValueError(f"pad: expected an even number of integers (before, after per dim), "
                         f"got {pad!r}")
    shape = np.shape(_data(x))
    if len(counts) // 2 > len(shape):
        raise ValueError(f"pad: {len(counts)} counts pad {len(counts) // 2} dims but the input "
                         f"has {len(shape)} (shape {shape})")
    for pair in range(len(counts) // 2):
        axis = len(shape) - 1 - pair
        if shape[axis] + counts[2 * pair] + counts[2 * pair + 1] < 0:
            raise ValueError(f"pad: counts {counts[2 * pair:2 * pair + 2]} would leave dim "
                             f"{axis} of shape {shape} with a negative length")
    return ops.Pad.apply(x, pad=tuple(int(count) for count in counts), value=value)


def normalize(x: TensorLike, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along `dim`: each slice scaled to unit p-norm (as PyTorch's, from
    norm, clamp and division).

    Shape: any -> the same.
    """
    x = x if isinstance(x, Tensor) else tensor(x)
    length = reductions.norm(x, p, dim, keepdim=True)
    return ops.Div.apply(x, ops.Clip.apply(length, min=eps))


def layer_norm(x: TensorLike, normalized_shape: Any, weight: TensorLike | None = None,
               bias: TensorLike | None = None, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias, mean and (population) variance taken
    over the last len(normalized_shape) dims of each sample; composed of mean, var, add,
    pow and div, whose gradients are those of the formula.

    Shape: (*, *normalized_shape) -> the same; weight and bias normalized_shape.
    """
    x = x if isinstance(x, Tensor) else tensor(x)
    expected = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(
        normalized_shape)
    if x.shape[x.ndim - len(expected):] != expected or len(expected) > x.ndim:
        raise ValueError(f"layer_norm: expected input ending in {expected}, got {x.shape}")
    dims = tuple(range(x.ndim - len(expected), x.ndim))
    centered = ops.Sub.apply(x, reductions.mean(x, dims, keepdim=True))
    variance = reductions.var(x, dims, keepdim=True, correction=0)
    y = ops.Mul.apply(centered, ops.Pow.apply(ops.Add.apply(variance, eps), -0.5))
    if weight is not None:
        y = ops.Mul.apply(y, weight)
    if bias is not None:
        y = ops.Add.apply(y, bias)
    return y


def embedding(input: Any, weight: TensorLike, padding_idx: int | None = None) -> Tensor:
    """The rows of `weight` named by the integer `input`: weight[input].

    Shape: input (*) integers in [0, num_embeddings), weight (num_embeddings, embedding_dim)
    -> (*, embedding_dim). The row padding_idx gets no gradient.
    """
    indices = as_array(_data(input))
    weight_shape = np.shape(_data(weight))
    if len(weight_shape) != 2:
        raise ValueError(f"embedding: expected a weight of shape (num_embeddings, "
                         f"embedding_dim), got {weight_shape}")
    if padding_idx is not None:
        if not -weight_shape[0] <= padding_idx < weight_shape[0]:
            raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for "
                             f"{weight_shape[0]} embeddings")
        padding_idx %= weight_shape[0]
    return ops.Embedding.apply(weight, indices, padding_idx=padding_idx)


# --- more losses ----------------------------------------------------------------------


def nll_loss(input: TensorLike, target: TensorLike, weight: Any = None,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """The negative log-likelihood of log-probabilities: -input[target] averaged (weighted by
    `weight[target]`, one weight per class). log_softmax followed by nll_loss is
    cross_entropy.

    Shape: (N, C) with (N,), (C,) with (), or (N, C, d1, ...) with (N, d1, ...) -> scalar
    (the target's shape for "none").
    """
    return ops.NLL.apply(input, target, reduction=reduction, ignore_index=ignore_index,
                         weight=class_weight("nll_loss", weight))


def l1_loss(input: TensorLike, target: TensorLike, reduction: str = "mean",
            weight: Any = None) -> Tensor:
    """Mean absolute error: mean(|input - target|); with a weight w of the input's shape,
    sum(w |input - target|) / sum(w), as in PyTorch.

    Shape: input and target of the same shape -> scalar ("none": that shape). Shapes that
    broadcast are broadcast, as in PyTorch, with PyTorch's warning that it is likely a mistake.
    """
    return ops.L1.apply(input, target, reduction=reduction,
                        weight=_element_weight("l1_loss", weight, input))


def smooth_l1_loss(input: TensorLike, target: TensorLike, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target).

    Shape: input and target of the same shape -> scalar ("none": that shape). Shapes that
    broadcast are broadcast, as in PyTorch, with PyTorch's warning that it is likely a mistake.
    """
    return ops.SmoothL1.apply(input, target, reduction=reduction, beta=beta)


def huber_loss(input: TensorLike, target: TensorLike, reduction: str = "mean",
               delta: float = 1.0, weight: Any = None) -> Tensor:
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere (d = input - target);
    each term times a weight of the input's shape when given ("mean" still divides by the
    number of elements, as PyTorch's huber_loss does).

    Shape: input and target of the same shape -> scalar ("none": that shape). Shapes that
    broadcast are broadcast, as in PyTorch, with PyTorch's warning that it is likely a mistake.
    """
    return ops.Huber.apply(input, target, reduction=reduction, delta=delta,
                           weight=_element_weight("huber_loss", weight, input))


def kl_div(input: TensorLike, target: TensorLike, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """The Kullback-Leibler divergence sum q (log q - input) of target probabilities q from
    log-probabilities `input`; reduction "batchmean" divides by the batch size (the
    divergence per sample), "mean" by the number of elements (PyTorch's default).

    Shape: input and target of the same shape -> scalar ("none": that shape). Shapes that
    broadcast are broadcast (silently, as in PyTorch).
    """
    return ops.KLDiv.apply(input, target, reduction=reduction, log_target=log_target)


def class_weight(owner: str, weight: Any) -> np.ndarray | None:
    """A loss's `weight` argument as an array (None stays None); checked against the number of
    classes by the op, which knows it."""
    if weight is None:
        return None
    if isinstance(weight, str):
        raise ValueError(f"{owner}: weight must hold one number per class, got {weight!r}; "
                         f"pass the reduction by name, reduction={weight!r}")
    return as_array(_data(weight))


def _floating(x: Any) -> Any:
    """Integer and bool input as the default floating dtype (what PyTorch gives exp, sin...
    of integers); anything else unchanged."""
    if isinstance(x, Tensor):
        return x if x.data.dtype.kind in "fc" else Tensor._constant(dtypes.floating(x.data))
    if isinstance(x, np.ndarray):
        return dtypes.floating(x)
    return x


def _cast(x: Any, dtype: DTypeLike | None) -> Any:
    if dtype is None:
        return x
    return (x if isinstance(x, Tensor) else tensor(x)).to(dtypes.as_dtype(dtype))


def _dim_or_axis(owner: str, dim: int | None, axis: int | None) -> int:
    if dim is not None and axis is not None:
        raise TypeError(f"{owner}: got both dim={dim!r} and axis={axis!r}; pass one of them")
    chosen = dim if dim is not None else axis
    return -1 if chosen is None else chosen


def _shape(value: Any) -> tuple[int, ...]:
    """The shape of a Tensor, an array or anything NumPy can make one of (cheap for the first
    two, which is what every training step passes)."""
    if isinstance(value, Tensor | np.ndarray):
        return value.shape
    return np.shape(value)


def _data(value: Any) -> Any:
    """A Tensor's array, anything else as it is (for reading shapes)."""
    return value.data if isinstance(value, Tensor) else value


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """Whether an array of `shape` broadcasts against `target` without changing it."""
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False

