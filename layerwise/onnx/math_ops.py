"""ONNX's arithmetic, comparisons, activations, matrix products, normalizations and reductions, each
translated to the layerwise ops that compute it (so the imported model is differentiable).

Each entry of ARITHMETIC maps an operator name to a function that reads the node's attributes
once, when the model loads (refusing the ones layerwise cannot honour), and returns the kernel
that runs on every forward.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import layerwise.functional as F
from layerwise import ops, reductions, spatial
from layerwise.onnx.nodes import Kernel, Node, Value, array_of, is_static, padded, run, static_ints
from layerwise.tensor import Tensor


def _binary(onnx_numpy: Callable[[np.ndarray, np.ndarray], np.ndarray],
            op: type[ops.Op]) -> Callable[[Node], Kernel]:
    """An element-wise binary operator: NumPy on two constants (integer shape arithmetic keeps
    ONNX's integer results), the layerwise op otherwise."""
    def translate(node: Node) -> Kernel:
        def kernel(values: list[Any]) -> Value:
            a, b = values
            if is_static(a, b):
                return np.asarray(onnx_numpy(a, b))
            return op.apply(a, b)
        return kernel
    return translate


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind in "iu":  # ONNX divides integers as C does: toward zero
        return np.trunc(a / b).astype(a.dtype)
    return a / b


def _unary(function: Callable[[Tensor], Tensor]) -> Callable[[Node], Kernel]:
    def translate(node: Node) -> Kernel:
        return lambda values: run(function, values[0])
    return translate


def _leaky_relu(node: Node) -> Kernel:
    slope = node.scalar("alpha", 0.01)
    return lambda values: run(lambda x: F.leaky_relu(x, slope), values[0])


def _elu(node: Node) -> Kernel:
    alpha = node.scalar("alpha", 1.0)
    return lambda values: run(lambda x: F.elu(x, alpha), values[0])


def _gelu(node: Node) -> Kernel:
    approximate = node.string("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise node.fail(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return lambda values: run(lambda x: F.gelu(x, approximate), values[0])


def _softmax(function: Callable[..., Tensor]) -> Callable[[Node], Kernel]:
    def translate(node: Node) -> Kernel:
        axis = node.integer("axis", -1)
        return lambda values: run(lambda x: function(x, dim=axis), values[0])
    return translate


def _clip(node: Node) -> Kernel:
    def kernel(values: list[Any]) -> Value:
        x, low, high = padded(values, 3)
        bounds = [None if bound is None else array_of(bound).item() for bound in (low, high)]
        if is_static(x):
            return np.clip(x, *bounds)
        return F.clamp(x, bounds[0], bounds[1])
    return kernel


def _pow(node: Node) -> Kernel:
    def kernel(values: list[Any]) -> Value:
        base, exponent = values
        if is_static(base, exponent):
            return np.power(base, exponent).astype(base.dtype)
        if is_static(exponent) and np.size(exponent) == 1:
            exponent = exponent.astype(array_of(base).dtype)  # x^2 stays float32
        return ops.Pow.apply(base, exponent)
    return kernel


def _matmul(node: Node) -> Kernel:
    def kernel(values: list[Any]) -> Value:
        a, b = values
        return np.matmul(a, b) if is_static(a, b) else ops.MatMul.apply(a, b)
    return kernel


def _gemm(node: Node) -> Kernel:
    """Y = alpha A' B' + beta C, A' = A^T when transA, B' = B^T when transB; PyTorch's Linear
    (transB, alpha = beta = 1) runs as layerwise's Linear op."""
    alpha, beta = node.scalar("alpha", 1.0), node.scalar("beta", 1.0)
    trans_a, trans_b = node.integer("transA", 0), node.integer("transB", 0)

    def kernel(values: list[Any]) -> Value:
        a, b, c = padded(values, 3)
        if is_static(a, b, c):
            product = alpha * ((a.T if trans_a else a) @ (b.T if trans_b else b))
            return product if c is None else product + beta * c
        if trans_b and not trans_a and alpha == 1.0 and beta == 1.0 and (
                c is None or np.ndim(array_of(c)) == 1):
            return F.linear(a, b, c)
        a = ops.Transpose.apply(a) if trans_a else a
        b = ops.Transpose.apply(b) if trans_b else b
        y = ops.MatMul.apply(a, b)
        y = y if alpha == 1.0 else ops.Mul.apply(y, np.asarray(alpha, dtype=y.dtype))
        if c is None:
            return y
        return ops.Add.apply(y, c if beta == 1.0 else ops.Mul.apply(
            c, np.asarray(beta, dtype=y.dtype)))
    return kernel


def _batch_normalization(node: Node) -> Kernel:
    """Inference: (x - running_mean) / sqrt(running_var + epsilon) * scale + B per channel."""
    if node.integer("training_mode", 0):
        raise node.fail("training_mode=1 is not supported (layerwise normalizes with the "
                        "running statistics; export the model in eval mode)")
    if any(node.outputs[1:]):
        raise node.fail("the running-statistics outputs (training mode) are not supported")
    eps = node.scalar("epsilon", 1e-5)

    def kernel(values: list[Any]) -> Value:
        x, scale, bias, mean, var = values
        return run(lambda x, scale, bias: spatial.batch_norm(
            x, array_of(mean), array_of(var), scale, bias, training=False, eps=eps),
            x, scale, bias)
    return kernel


def _layer_normalization(node: Node) -> Kernel:
    """(x - mean) / sqrt(var + epsilon) * Scale + B over the axes from `axis` on."""
    if any(node.outputs[1:]):
        raise node.fail("the Mean and InvStdDev outputs are not supported")
    axis, eps = node.integer("axis", -1), node.scalar("epsilon", 1e-5)

    def kernel(values: list[Any]) -> Value:
        x, scale, bias = padded(values, 3)
        shape = array_of(x).shape
        normalized = shape[axis % len(shape):]
        return run(lambda x, scale, bias: F.layer_norm(x, normalized, scale, bias, eps),
                   x, scale, bias)
    return kernel


def _reduce(function: Callable[..., Tensor], numpy_function: Callable[..., np.ndarray],
            axes_input_from: int) -> Callable[[Node], Kernel]:
    """ReduceMean / ReduceSum: axes as an attribute before opset `axes_input_from`, as the
    second input from it on; no axes reduce everything (or nothing, noop_with_empty_axes)."""
    def translate(node: Node) -> Kernel:
        keepdims = bool(node.integer("keepdims", 1))
        noop = bool(node.integer("noop_with_empty_axes", 0))
        attribute_axes = node.integers("axes")

        def kernel(values: list[Any]) -> Value:
            x = values[0]
            if node.opset >= axes_input_from:
                given = values[1] if len(values) > 1 else None
                axes = None if given is None else static_ints(node, given, "axes")
            else:
                axes = attribute_axes
            if not axes:
                if noop:
                    return x
                axes = list(range(np.ndim(array_of(x))))
            if is_static(x):
                return numpy_function(x, axis=tuple(axes), keepdims=keepdims)
            return function(x, tuple(axes), keepdim=keepdims)
        return kernel
    return translate


def _extreme(numpy_function: Callable[..., np.ndarray], op: type[ops.Op]
             ) -> Callable[[Node], Kernel]:
    """Max / Min of any number of broadcasting inputs, folded pairwise."""
    def translate(node: Node) -> Kernel:
        def kernel(values: list[Any]) -> Value:
            result = values[0]
            for other in values[1:]:
                result = (numpy_function(result, other) if is_static(result, other)
                          else op.apply(result, other))
            return result
        return kernel
    return translate


def _where(node: Node) -> Kernel:
    def kernel(values: list[Any]) -> Value:
        condition, a, b = values
        if is_static(a, b):
            return np.where(array_of(condition), a, b)
        return ops.Where.apply(array_of(condition), a, b)
    return kernel


def _comparison(numpy_function: Callable[..., np.ndarray]) -> Callable[[Node], Kernel]:
    """A boolean result: no gradient flows through it, so it is computed in NumPy."""
    def translate(node: Node) -> Kernel:
        return lambda values: numpy_function(array_of(values[0]), array_of(values[1]))
    return translate


def _dropout(node: Node) -> Kernel:
    """Evaluation: the identity (and a mask of ones when the graph asks for it)."""
    def kernel(values: list[Any]) -> Value | tuple[Value, ...]:
        x = values[0]
        if len(node.outputs) > 1 and node.outputs[1]:
            return x, np.ones(array_of(x).shape, dtype=bool)
        return x
    return kernel


ARITHMETIC: dict[str, Callable[[Node], Kernel]] = {
    "Add": _binary(np.add, ops.Add),
    "Sub": _binary(np.subtract, ops.Sub),
    "Mul": _binary(np.multiply, ops.Mul),
    "Div": _binary(_divide, ops.Div),
    "Pow": _pow,
    "Neg": _unary(lambda x: ops.Neg.apply(x)),
    "Abs": _unary(F.abs),
    "Reciprocal": _unary(lambda x: ops.Div.apply(np.ones((), dtype=x.dtype), x)),
    "Max": _extreme(np.maximum, ops.Maximum),
    "Min": _extreme(np.minimum, ops.Minimum),
    "Where": _where,
    "Greater": _comparison(np.greater),
    "Less": _comparison(np.less),
    "Equal": _comparison(np.equal),
    "Exp": _unary(F.exp),
    "Log": _unary(F.log),
    "Sqrt": _unary(F.sqrt),
    "Erf": _unary(F.erf),
    "Sin": _unary(F.sin),
    "Cos": _unary(F.cos),
    "Tan": _unary(F.tan),
    "Clip": _clip,
    "Relu": _unary(F.relu),
    "LeakyRelu": _leaky_relu,
    "Elu": _elu,
    "Sigmoid": _unary(F.sigmoid),
    "Tanh": _unary(F.tanh),
    "Softplus": _unary(F.softplus),
    "Gelu": _gelu,
    "Softmax": _softmax(F.softmax),
    "LogSoftmax": _softmax(F.log_softmax),
    "MatMul": _matmul,
    "Gemm": _gemm,
    "BatchNormalization": _batch_normalization,
    "LayerNormalization": _layer_normalization,
    "ReduceMean": _reduce(reductions.mean, np.mean, axes_input_from=18),
    "ReduceSum": _reduce(reductions.sum, np.sum, axes_input_from=13),
    "ReduceMax": _reduce(reductions.amax, np.max, axes_input_from=18),
    "ReduceMin": _reduce(reductions.amin, np.min, axes_input_from=18),
    "Dropout": _dropout,
}
