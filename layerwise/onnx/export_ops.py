"""The ONNX operators (opset 18) of each layerwise op: one function per op class, in
`CONVERTERS`.

A converter gets a `Call` (the traced step, the ONNX names of its inputs, the name its result
must have, and which axes follow the batch size) and adds nodes through a `Builder`. An op it
cannot write with these options raises `UnsupportedError` with the reason; export lists them all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from layerwise import ops
from layerwise.onnx.builder import Builder, Call, UnsupportedError, onnx_type
from layerwise.ops.activation import SELU_ALPHA, SELU_SCALE
from layerwise.ops.base import normalize_axes
from layerwise.ops.conv import resolve_padding

INT64_MAX = int(np.iinfo(np.int64).max)


Converter = Callable[[Call, Builder], None]
CONVERTERS: dict[type[ops.Op], Converter] = {}


def converts(*classes: type[ops.Op]) -> Callable[[Converter], Converter]:
    def register(function: Converter) -> Converter:
        for one in classes:
            CONVERTERS[one] = function
        return function
    return register


# --- element-wise ----------------------------------------------------------------------------

BROADCASTING = {ops.Add: "Add", ops.Sub: "Sub", ops.Mul: "Mul", ops.Div: "Div",
                ops.Pow: "Pow", ops.Maximum: "Max", ops.Minimum: "Min"}
UNARY = {ops.Neg: "Neg", ops.Exp: "Exp", ops.Log: "Log", ops.Sqrt: "Sqrt", ops.Abs: "Abs",
         ops.Sin: "Sin", ops.Cos: "Cos", ops.Tan: "Tan", ops.ReLU: "Relu",
         ops.Sigmoid: "Sigmoid", ops.Tanh: "Tanh", ops.Clone: "Identity"}


def same_dtype(call: Call, g: Builder) -> list[str]:
    """The inputs cast to the output's dtype (layerwise promotes mixed dtypes, ONNX does not)."""
    dtype = call.step.output.dtype
    return [g.cast(name, array.dtype, dtype)
            for name, array in zip(call.inputs, call.arrays, strict=True)]


@converts(*BROADCASTING)
def broadcasting(call: Call, g: Builder) -> None:
    g.add(BROADCASTING[type(call.op)], same_dtype(call, g), call.output)


@converts(*UNARY)
def unary(call: Call, g: Builder) -> None:
    g.add(UNARY[type(call.op)], call.inputs, call.output)


@converts(ops.Where)
def where(call: Call, g: Builder) -> None:
    condition = g.cast(call.inputs[0], call.arrays[0].dtype, np.dtype(bool))
    dtype = call.step.output.dtype
    a, b = (g.cast(name, array.dtype, dtype)
            for name, array in zip(call.inputs[1:], call.arrays[1:], strict=True))
    g.add("Where", [condition, a, b], call.output)


@converts(ops.Clip)
def clip(call: Call, g: Builder) -> None:
    dtype = call.arrays[0].dtype
    bounds = ["" if bound is None else g.constant(bound, dtype, "bound")
              for bound in (call.op.min, call.op.max)]
    g.add("Clip", [call.inputs[0], *bounds], call.output)


@converts(ops.Clamp)
def clamp(call: Call, g: Builder) -> None:
    x, low, high = same_dtype(call, g)
    g.add("Min", [g.add("Max", [x, low]), high], call.output)


@converts(ops.Cast)
def cast(call: Call, g: Builder) -> None:
    g.add("Cast", call.inputs, call.output, to=onnx_type(g.onnx, call.op.dtype))


# --- activations ---------------------------------------------------------------------------


@converts(ops.LeakyReLU)
def leaky_relu(call: Call, g: Builder) -> None:
    g.add("LeakyRelu", call.inputs, call.output, alpha=float(call.op.negative_slope))


@converts(ops.ELU)
def elu(call: Call, g: Builder) -> None:
    g.add("Elu", call.inputs, call.output, alpha=float(call.op.alpha))


@converts(ops.GELU)
def gelu(call: Call, g: Builder) -> None:
    """x Phi(x) = x (1 + erf(x / sqrt 2)) / 2; the tanh form as its formula (opset 18 has no
    Gelu operator)."""
    x, dtype = call.inputs[0], call.arrays[0].dtype

    def number(value: float) -> str:
        return g.constant(value, dtype, "gelu_constant")

    if call.op.approximate == "tanh":
        cube = g.add("Mul", [g.add("Mul", [x, x]), x])
        inner = g.add("Add", [x, g.add("Mul", [cube, number(0.044715)])])
        curve = g.add("Tanh", [g.add("Mul", [inner, number(math.sqrt(2 / math.pi))])])
    else:
        curve = g.add("Erf", [g.add("Mul", [x, number(1 / math.sqrt(2))])])
    half = g.add("Mul", [x, number(0.5)])
    g.add("Mul", [half, g.add("Add", [curve, number(1.0)])], call.output)


@converts(ops.Softplus)
def softplus(call: Call, g: Builder) -> None:
    """log(1 + e^(beta x)) / beta, and x where beta x > threshold, as layerwise computes it."""
    x, dtype, beta = call.inputs[0], call.arrays[0].dtype, float(call.op.beta)
    scaled = x if beta == 1 else g.add("Mul", [x, g.constant(beta, dtype, "beta")])
    smooth = g.add("Softplus", [scaled])
    if beta != 1:
        smooth = g.add("Div", [smooth, g.constant(beta, dtype, "beta")])
    above = g.add("Greater", [scaled, g.constant(call.op.threshold, dtype, "threshold")])
    g.add("Where", [above, x, smooth], call.output)


# --- activations (SiLU, Hardtanh, LogSigmoid, Softsign, SELU, CELU, Mish, Hardswish,
# Hardsigmoid, Threshold) ---


@converts(ops.SiLU)
def silu(call: Call, g: Builder) -> None:
    """x sigmoid(x) (opset 18 has no Swish operator)."""
    x = call.inputs[0]
    g.add("Mul", [x, g.add("Sigmoid", [x])], call.output)


@converts(ops.Hardtanh)
def hardtanh(call: Call, g: Builder) -> None:
    dtype = call.arrays[0].dtype
    g.add("Clip", [call.inputs[0], g.constant(call.op.min_val, dtype, "min_val"),
                   g.constant(call.op.max_val, dtype, "max_val")], call.output)


@converts(ops.LogSigmoid)
def logsigmoid(call: Call, g: Builder) -> None:
    """-softplus(-x) (opset 18 has no LogSigmoid operator)."""
    g.add("Neg", [g.add("Softplus", [g.add("Neg", call.inputs)])], call.output)


@converts(ops.Softsign)
def softsign(call: Call, g: Builder) -> None:
    g.add("Softsign", call.inputs, call.output)


@converts(ops.SELU)
def selu(call: Call, g: Builder) -> None:
    g.add("Selu", call.inputs, call.output, alpha=SELU_ALPHA, gamma=SELU_SCALE)


@converts(ops.CELU)
def celu(call: Call, g: Builder) -> None:
    g.add("Celu", call.inputs, call.output, alpha=float(call.op.alpha))


@converts(ops.Mish)
def mish(call: Call, g: Builder) -> None:
    g.add("Mish", call.inputs, call.output)


@converts(ops.Hardswish)
def hardswish(call: Call, g: Builder) -> None:
    g.add("HardSwish", call.inputs, call.output)


@converts(ops.Hardsigmoid)
def hardsigmoid(call: Call, g: Builder) -> None:
    """max(0, min(1, alpha x + beta)) with PyTorch's alpha = 1/6 (ONNX's default is 0.2)."""
    g.add("HardSigmoid", call.inputs, call.output, alpha=1 / 6, beta=0.5)


@converts(ops.PReLU)
def prelu(call: Call, g: Builder) -> None:
    """PRelu, with a per-channel slope (C,) reshaped to (C, 1, ..., 1) to broadcast over dim 1."""
    x, weight = call.arrays
    slope = call.inputs[1]
    if weight.size > 1:
        slope = g.add("Reshape", [slope, g.ints((weight.size,) + (1,) * (x.ndim - 2))])
    g.add("PRelu", [call.inputs[0], slope], call.output)


@converts(ops.Threshold)
def threshold(call: Call, g: Builder) -> None:
    """x where x > threshold, else value."""
    x, dtype = call.inputs[0], call.arrays[0].dtype
    above = g.add("Greater", [x, g.constant(call.op.threshold, dtype, "threshold")])
    g.add("Where", [above, x, g.constant(call.op.value, dtype, "value")], call.output)


@converts(ops.Softmax, ops.LogSoftmax)
def softmax(call: Call, g: Builder) -> None:
    axis = normalize_axes(call.op.axis, call.arrays[0].ndim)[0]
    name = "Softmax" if isinstance(call.op, ops.Softmax) else "LogSoftmax"
    g.add(name, call.inputs, call.output, axis=axis)


@converts(ops.Dropout, ops.Dropout2d)
def dropout(call: Call, g: Builder) -> None:
    raise UnsupportedError("dropout in training mode (export puts modules in eval mode, so "
                           "this one was called with training=True; pass "
                           "training=self.training)")


# --- matrix products -----------------------------------------------------------------------


@converts(ops.Linear)
def linear(call: Call, g: Builder) -> None:
    """Gemm (y = x W^T + b) for (N, D_in) input; MatMul with W^T (and Add) for more axes."""
    x, W, *bias = call.inputs
    if call.arrays[0].ndim == 2:
        g.add("Gemm", [x, W, *bias], call.output, transB=1)
        return
    product = g.add("MatMul", [x, g.add("Transpose", [W], perm=[1, 0])],
                    None if bias else call.output)
    if bias:
        g.add("Add", [product, bias[0]], call.output)


@converts(ops.MatMul)
def matmul(call: Call, g: Builder) -> None:
    g.add("MatMul", same_dtype(call, g), call.output)


# --- reductions ----------------------------------------------------------------------------

REDUCTIONS = {ops.Sum: "ReduceSum", ops.Mean: "ReduceMean", ops.Max: "ReduceMax",
              ops.Min: "ReduceMin"}


@converts(*REDUCTIONS)
def reduction(call: Call, g: Builder) -> None:
    axes = normalize_axes(call.op.axis, call.arrays[0].ndim)
    g.add(REDUCTIONS[type(call.op)], [call.inputs[0], g.ints(axes)], call.output,
          keepdims=int(call.op.keepdims))


@converts(ops.Var)
def variance(call: Call, g: Builder) -> None:
    """sum((x - mean)^2) / (n - correction) over the axes."""
    x = call.arrays[0]
    axes = normalize_axes(call.op.axis, x.ndim)
    if set(axes) & call.varying[0]:
        raise UnsupportedError("a variance over the batch axis (its count changes with the batch)")
    count = math.prod(x.shape[axis] for axis in axes)
    mean = g.add("ReduceMean", [call.inputs[0], g.ints(axes)], keepdims=1)
    centered = g.add("Sub", [call.inputs[0], mean])
    squares = g.add("ReduceSum", [g.add("Mul", [centered, centered]), g.ints(axes)],
                    keepdims=int(call.op.keepdims))
    divisor = g.constant(max(0, count - call.op.correction), x.dtype, "count")
    g.add("Div", [squares, divisor], call.output)


# --- shapes --------------------------------------------------------------------------------


@converts(ops.Reshape)
def reshape(call: Call, g: Builder) -> None:
    """The target is the traced output's shape, with -1 where it follows the batch size."""
    target = list(call.step.output.shape)
    if len(call.varying_output) > 1:
        raise UnsupportedError(f"a reshape to {tuple(target)} where "
                               f"{len(call.varying_output)} axes change with the batch size "
                               f"(at most one can be -1)")
    for axis in call.varying_output:
        target[axis] = -1
    g.add("Reshape", [call.inputs[0], g.ints(target)], call.output)


@converts(ops.Transpose)
def transpose(call: Call, g: Builder) -> None:
    ndim = call.arrays[0].ndim
    axes = tuple(reversed(range(ndim))) if call.op.axes is None else call.op.axes
    g.add("Transpose", call.inputs, call.output, perm=list(normalize_axes(axes, ndim)))


@converts(ops.Concatenate)
def concatenate(call: Call, g: Builder) -> None:
    axis = normalize_axes(call.op.axis, call.arrays[0].ndim)[0]
    g.add("Concat", same_dtype(call, g), call.output, axis=axis)


@converts(ops.Stack)
def stack(call: Call, g: Builder) -> None:
    axis = normalize_axes(call.op.axis, call.arrays[0].ndim + 1)[0]
    where = g.ints([axis])
    g.add("Concat", [g.add("Unsqueeze", [name, where]) for name in same_dtype(call, g)],
          call.output, axis=axis)


@converts(ops.Expand)
def expand(call: Call, g: Builder) -> None:
    """ONNX's Expand broadcasts like NumPy, so a 1 keeps the input's length: that is written
    where the length follows the batch size and the input has it; where the input has length
    1 there (a learned token expanded to the batch), the batch size is read from the graph's
    first input."""
    target = list(call.step.output.shape)
    offset = len(target) - call.arrays[0].ndim
    pieces: list[str | list[int]] = []
    for axis, length in enumerate(target):
        if axis in call.varying_output and axis - offset in call.varying[0]:
            length = 1
        elif axis in call.varying_output:
            if length != g.batch_size:
                raise UnsupportedError(f"an expand to {tuple(target)}, whose axis {axis} "
                                       f"changes with the batch size but is not it")
            pieces.append(g.batch_length())
            continue
        if pieces and isinstance(pieces[-1], list):
            pieces[-1].append(length)
        else:
            pieces.append([length])
    names = [piece if isinstance(piece, str) else g.ints(piece) for piece in pieces]
    shape = names[0] if len(names) == 1 else g.add("Concat", names, axis=0)
    g.add("Expand", [call.inputs[0], shape], call.output)


@converts(ops.Repeat)
def repeat(call: Call, g: Builder) -> None:
    repeats = list(call.op.repeats)
    x = call.inputs[0]
    extra = len(repeats) - call.arrays[0].ndim
    if extra > 0:
        x = g.add("Unsqueeze", [x, g.ints(range(extra))])
    g.add("Tile", [x, g.ints(repeats)], call.output)


@converts(ops.Pad)
def pad(call: Call, g: Builder) -> None:
    ndim = call.arrays[0].ndim
    before, after = [0] * ndim, [0] * ndim
    for pair in range(len(call.op.pad) // 2):
        axis = ndim - 1 - pair
        before[axis], after[axis] = call.op.pad[2 * pair], call.op.pad[2 * pair + 1]
    value = g.constant(call.op.value, call.arrays[0].dtype, "pad_value")
    g.add("Pad", [call.inputs[0], g.ints(before + after), value], call.output, mode="constant")


@converts(ops.GetItem)
def get_item(call: Call, g: Builder) -> None:
    """Basic indexing (ints, slices, None, ...): Slice, then Squeeze for the ints and Unsqueeze
    for the Nones."""
    index = call.op.index
    parts = list(index) if isinstance(index, tuple) else [index]
    if not all(isinstance(part, int | np.integer | slice) or part is None or part is Ellipsis
               for part in parts):
        raise UnsupportedError("indexing with arrays or tensors (ints, slices, None and ... are "
                               "exported)")
    ndim = call.arrays[0].ndim
    named = sum(part is not None and part is not Ellipsis for part in parts)
    ellipses = [position for position, part in enumerate(parts) if part is Ellipsis]
    fill: list[Any] = [slice(None)] * (ndim - named)
    parts = (parts[:ellipses[0]] + fill + parts[ellipses[0] + 1:]) if ellipses else parts + fill
    starts, ends, axes, steps, squeezed, inserted = [], [], [], [], [], []
    axis = out_axis = 0
    for part in parts:
        if part is None:
            inserted.append(out_axis)
            out_axis += 1
            continue
        if isinstance(part, slice):
            if part != slice(None):
                step = 1 if part.step is None else int(part.step)
                start = part.start if part.start is not None else (0 if step > 0 else -1)
                stop = part.stop if part.stop is not None else (
                    INT64_MAX if step > 0 else -INT64_MAX)
                starts.append(int(start))
                ends.append(int(stop))
                axes.append(axis)
                steps.append(step)
            out_axis += 1
        else:
            position = int(part)
            starts.append(position)
            ends.append(position + 1 if position != -1 else INT64_MAX)
            axes.append(axis)
            steps.append(1)
            squeezed.append(axis)
        axis += 1
    x = call.inputs[0]
    stages = [bool(axes), bool(squeezed), bool(inserted)]
    last = max((position for position, used in enumerate(stages) if used), default=-1)
    if last == -1:
        g.add("Identity", [x], call.output)
        return
    if axes:
        x = g.add("Slice", [x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)],
                  call.output if last == 0 else None)
    if squeezed:
        x = g.add("Squeeze", [x, g.ints(squeezed)], call.output if last == 1 else None)
    if inserted:
        g.add("Unsqueeze", [x, g.ints(inserted)], call.output)


# --- convolution, pooling, normalization ---------------------------------------------------


@converts(ops.Conv2d, ops.Conv1d)
def conv(call: Call, g: Builder) -> None:
    """Conv; padding "same" is resolved to explicit pads (for an even kernel the extra row
    and column go at the bottom and right, as in layerwise and PyTorch)."""
    one_d = isinstance(call.op, ops.Conv1d)
    op = call.op.conv if one_d else call.op
    kernel = (1, call.arrays[1].shape[2]) if one_d else call.arrays[1].shape[2:4]
    (top, bottom), (left, right) = resolve_padding(op.padding_option, kernel, op.dilation)
    if one_d:
        attributes = {"kernel_shape": [kernel[1]], "strides": [op.stride[1]],
                      "dilations": [op.dilation[1]], "pads": [left, right]}
    else:
        attributes = {"kernel_shape": list(kernel), "strides": list(op.stride),
                      "dilations": list(op.dilation), "pads": [top, left, bottom, right]}
    g.add("Conv", call.inputs, call.output, group=op.groups, **attributes)


@converts(ops.ConvTranspose2d)
def conv_transpose(call: Call, g: Builder) -> None:
    op = call.op
    (top, bottom), (left, right) = op.padding
    g.add("ConvTranspose", call.inputs, call.output, kernel_shape=list(call.arrays[1].shape[2:4]),
          strides=list(op.stride), dilations=list(op.dilation), group=op.groups,
          pads=[top, left, bottom, right], output_padding=list(op.output_padding))


def pool_attributes(call: Call) -> dict[str, Any]:
    """kernel, strides, pads and ceil_mode of a pooling op.

    With ceil_mode, layerwise (as PyTorch) drops a last window that would start in the
    padding at the end; ONNX's ceil_mode keeps it. The pads at the end are then made smaller
    until ONNX counts the windows layerwise has (the windows' positions depend only on the
    pads at the start).
    """
    op = call.op
    size, out_size = call.arrays[0].shape[2:4], call.step.output.shape[2:4]
    dilation = getattr(op, "dilation", (1, 1))
    ends = list(op.padding)
    if op.ceil_mode:
        for axis in range(2):
            reach = dilation[axis] * (op.kernel[axis] - 1) + 1
            while ends[axis] > 0 and -(-(size[axis] + op.padding[axis] + ends[axis] - reach)
                                        // op.stride[axis]) + 1 > out_size[axis]:
                ends[axis] -= 1
    return {"kernel_shape": list(op.kernel), "strides": list(op.stride),
            "pads": [*op.padding, *ends], "ceil_mode": int(op.ceil_mode)}


@converts(ops.MaxPool2d)
def max_pool(call: Call, g: Builder) -> None:
    g.add("MaxPool", call.inputs, call.output, dilations=list(call.op.dilation),
          **pool_attributes(call))


@converts(ops.AvgPool2d)
def avg_pool(call: Call, g: Builder) -> None:
    """AveragePool; a divisor_override rescales the mean with count_include_pad (each window
    then counts k_h k_w values), which holds without ceil_mode."""
    op = call.op
    if op.divisor_override is None:
        g.add("AveragePool", call.inputs, call.output, count_include_pad=int(op.count_include_pad),
              **pool_attributes(call))
        return
    if op.ceil_mode:
        raise UnsupportedError("avg_pool2d with both divisor_override and ceil_mode")
    mean = g.add("AveragePool", call.inputs, count_include_pad=1, **pool_attributes(call))
    scale = op.kernel[0] * op.kernel[1] / op.divisor_override
    g.add("Mul", [mean, g.constant(scale, call.arrays[0].dtype, "scale")], call.output)


@converts(ops.AdaptiveAvgPool2d)
def adaptive_avg_pool(call: Call, g: Builder) -> None:
    """GlobalAveragePool for a 1x1 output; otherwise A_h x A_w^T with layerwise's averaging
    matrices (windows of unequal length included), two MatMuls."""
    op = call.op
    if call.step.output.shape[2:] == (1, 1):
        g.add("GlobalAveragePool", call.inputs, call.output)
        return
    rows = g.add("MatMul", [g.constant(op.rows, hint="rows"), call.inputs[0]])
    g.add("MatMul", [rows, g.constant(op.columns.T, hint="columns")], call.output)


@converts(ops.BatchNorm)
def batch_norm(call: Call, g: Builder) -> None:
    """BatchNormalization with the running statistics (evaluation mode)."""
    op = call.op
    if op.training:
        raise UnsupportedError("batch normalization with the batch's statistics (training "
                               "mode, or track_running_stats=False); export uses running "
                               "statistics")
    x, *affine = call.inputs
    dtype = call.arrays[0].dtype
    channels = call.arrays[0].shape[1]
    scale = affine[0] if affine else g.constant(np.ones(channels), dtype, "scale")
    shift = affine[1] if len(affine) > 1 else g.constant(np.zeros(channels), dtype, "bias")
    g.add("BatchNormalization", [x, scale, shift, g.named(op.running_mean, "running_mean"),
                                 g.named(op.running_var, "running_var")],
          call.output, epsilon=float(op.eps))


# --- lookups -------------------------------------------------------------------------------


@converts(ops.Embedding)
def embedding(call: Call, g: Builder) -> None:
    weight, indices = call.inputs
    g.add("Gather", [weight, g.cast(indices, call.arrays[1].dtype, np.dtype(np.int64))],
          call.output, axis=0)


@converts(ops.Gather)
def gather(call: Call, g: Builder) -> None:
    x, index = call.inputs
    axis = normalize_axes(call.op.axis, call.arrays[0].ndim)[0]
    g.add("GatherElements", [x, g.cast(index, call.arrays[1].dtype, np.dtype(np.int64))],
          call.output, axis=axis)
