"""ONNX's constants and shape operators: Constant, Shape, Gather, GatherElements, Concat,
Cast, Reshape, Flatten, Transpose, (Un)Squeeze, Slice, Expand, Tile, Pad, ConstantOfShape and
Identity.

Exporters compute shapes with chains such as Shape -> Gather -> Concat -> Reshape; on NumPy
arrays (constants, or shapes of the inputs) these run in NumPy, so a chain that depends only on
shapes is folded into plain integers and only the data's path is recorded for backward.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from layerwise import ops
from layerwise.onnx.nodes import Kernel, Node, Value, array_of, is_static, padded, static_ints
from layerwise.onnx.reader import numpy_dtype


def _float_dtype(node: Node, dtype: np.dtype) -> np.dtype:
    """A floating dtype the model was loaded with (load(dtype=...)) replaces the file's."""
    if node.float_dtype is not None and dtype.kind == "f":
        return node.float_dtype
    return dtype


def _constant(node: Node) -> Kernel:
    attributes = node.attributes
    if "value" in attributes:
        value = np.asarray(attributes["value"])
    elif "value_float" in attributes:
        value = np.asarray(attributes["value_float"], dtype=np.float32)
    elif "value_floats" in attributes:
        value = np.asarray(attributes["value_floats"], dtype=np.float32)
    elif "value_int" in attributes:
        value = np.asarray(attributes["value_int"], dtype=np.int64)
    elif "value_ints" in attributes:
        value = np.asarray(attributes["value_ints"], dtype=np.int64)
    else:
        given = ", ".join(attributes) or "none"
        raise node.fail(f"expected a value, value_float(s) or value_int(s) attribute, got "
                        f"{given}")
    value = value.astype(_float_dtype(node, value.dtype))
    return lambda values: value


def _identity(node: Node) -> Kernel:
    return lambda values: values[0]


def _shape(node: Node) -> Kernel:
    start, end = node.integer("start", 0), node.attributes.get("end")

    def kernel(values: list[Any]) -> Value:
        shape = array_of(values[0]).shape
        return np.asarray(shape[start:None if end is None else int(end)], dtype=np.int64)
    return kernel


def _cast(node: Node) -> Kernel:
    target = _float_dtype(node, numpy_dtype(node.integer("to", 1), f"{node.label()}: attribute to"))

    def kernel(values: list[Any]) -> Value:
        x = values[0]
        if is_static(x):
            return x.astype(target)
        if x.dtype == target:
            return x
        if target.kind == "f" and x.dtype.kind == "f":
            return ops.Cast.apply(x, dtype=target)
        return x.data.astype(target)  # to integers or bools: no gradient flows
    return kernel


def _gather(node: Node) -> Kernel:
    """np.take(data, indices, axis): an embedding lookup on a weight, or picks from a shape."""
    axis = node.integer("axis", 0)

    def kernel(values: list[Any]) -> Value:
        data, indices = values
        indices = array_of(indices)
        if indices.dtype.kind not in "iu":
            raise node.fail(f"expected integer indices, got dtype {indices.dtype}")
        if is_static(data):
            return np.take(data, indices, axis=axis)
        return data[(slice(None),) * (axis % data.ndim) + (indices,)]
    return kernel


def _concat(node: Node) -> Kernel:
    axis = node.integer("axis", 0)

    def kernel(values: list[Any]) -> Value:
        if is_static(*values):
            return np.concatenate(values, axis=axis)
        return ops.Concatenate.apply(*values, axis=axis)
    return kernel


def _reshape_to(x: Value, shape: list[int]) -> Value:
    return np.reshape(x, shape) if is_static(x) else ops.Reshape.apply(x, shape=tuple(shape))


def _reshape(node: Node) -> Kernel:
    """A 0 in the shape copies the input's length at that axis (unless allowzero), -1 takes
    what is left."""
    allow_zero = bool(node.integer("allowzero", 0))

    def kernel(values: list[Any]) -> Value:
        x, shape_value = values
        shape = static_ints(node, shape_value, "shape")
        if not allow_zero:
            shape = [array_of(x).shape[axis] if length == 0 else length
                     for axis, length in enumerate(shape)]
        try:
            return _reshape_to(x, shape)
        except ValueError as error:
            raise node.fail(f"cannot reshape {array_of(x).shape} to {tuple(shape)}") from error
    return kernel


def _flatten(node: Node) -> Kernel:
    """(d_0, ..., d_n) -> (d_0 ... d_(axis-1), d_axis ... d_n)."""
    axis = node.integer("axis", 1)

    def kernel(values: list[Any]) -> Value:
        x = values[0]
        shape = array_of(x).shape
        split = axis % (len(shape) + 1) if axis < 0 else axis
        return _reshape_to(x, [int(np.prod(shape[:split])), int(np.prod(shape[split:]))])
    return kernel


def _transpose(node: Node) -> Kernel:
    perm = node.integers("perm")

    def kernel(values: list[Any]) -> Value:
        x = values[0]
        axes = tuple(perm) if perm is not None else tuple(reversed(range(np.ndim(array_of(x)))))
        return np.transpose(x, axes) if is_static(x) else ops.Transpose.apply(x, axes=axes)
    return kernel


def _unsqueeze(node: Node) -> Kernel:
    def kernel(values: list[Any]) -> Value:
        x, axes_value = values
        shape = list(array_of(x).shape)
        rank = len(shape) + len(static_ints(node, axes_value, "axes"))
        for axis in sorted(axis % rank for axis in static_ints(node, axes_value, "axes")):
            shape.insert(axis, 1)
        return _reshape_to(x, shape)
    return kernel


def _squeeze(node: Node) -> Kernel:
    def kernel(values: list[Any]) -> Value:
        x, axes_value = padded(values, 2)
        shape = array_of(x).shape
        if axes_value is None:
            axes = {axis for axis, length in enumerate(shape) if length == 1}
        else:
            axes = {axis % len(shape) for axis in static_ints(node, axes_value, "axes")}
            if any(shape[axis] != 1 for axis in axes):
                raise node.fail(f"cannot squeeze axes {sorted(axes)} of shape {shape}")
        return _reshape_to(x, [length for axis, length in enumerate(shape) if axis not in axes])
    return kernel


def _slice(node: Node) -> Kernel:
    def kernel(values: list[Any]) -> Value:
        x, starts, ends, axes_value, steps_value = padded(values, 5)
        ndim = np.ndim(array_of(x))
        begin, end = static_ints(node, starts, "starts"), static_ints(node, ends, "ends")
        axes = (list(range(len(begin))) if axes_value is None
                else static_ints(node, axes_value, "axes"))
        steps = [1] * len(begin) if steps_value is None else static_ints(node, steps_value,
                                                                         "steps")
        index = [slice(None)] * ndim
        for axis, first, last, step in zip(axes, begin, end, steps, strict=True):
            index[axis % ndim] = slice(first, last, step)
        return x[tuple(index)]
    return kernel


def _expand(node: Node) -> Kernel:
    """x broadcast against `shape` (both ways: a 1 in the shape keeps x's length)."""
    def kernel(values: list[Any]) -> Value:
        x, shape_value = values
        target = np.broadcast_shapes(array_of(x).shape, tuple(static_ints(node, shape_value,
                                                                          "shape")))
        if is_static(x):
            return np.broadcast_to(x, target).copy()
        return ops.Expand.apply(x, shape=target)
    return kernel


def _tile(node: Node) -> Kernel:
    def kernel(values: list[Any]) -> Value:
        x, repeats_value = values
        repeats = tuple(static_ints(node, repeats_value, "repeats"))
        return np.tile(x, repeats) if is_static(x) else ops.Repeat.apply(x, repeats=repeats)
    return kernel


def _pad(node: Node) -> Kernel:
    """Constant padding: pads lists the counts before each axis, then after each (negative
    counts remove values); axes (opset 18) says which axes they are for."""
    mode = node.string("mode", "constant")
    if mode != "constant":
        raise node.fail(f"mode={mode!r} is not supported (only 'constant')")

    def kernel(values: list[Any]) -> Value:
        x, pads_value, fill, axes_value = padded(values, 4)
        ndim = np.ndim(array_of(x))
        counts = static_ints(node, pads_value, "pads")
        axes = (list(range(ndim)) if axes_value is None
                else [axis % ndim for axis in static_ints(node, axes_value, "axes")])
        before, after = [0] * ndim, [0] * ndim
        for position, axis in enumerate(axes):
            before[axis], after[axis] = counts[position], counts[position + len(axes)]
        torch_order = [count for axis in reversed(range(ndim))
                       for count in (before[axis], after[axis])]
        value = 0.0 if fill is None or np.size(array_of(fill)) == 0 else array_of(fill).item()
        if is_static(x):
            return ops.Pad(tuple(torch_order), value).forward(x)
        return ops.Pad.apply(x, pad=tuple(torch_order), value=value)
    return kernel


def _gather_elements(node: Node) -> Kernel:
    """y[i][j] = x[index[i][j]][j] along `axis` (PyTorch's gather); negative indices count
    from the end."""
    axis = node.integer("axis", 0)

    def kernel(values: list[Any]) -> Value:
        x, index = values
        length = array_of(x).shape[axis]
        index = np.where(array_of(index) < 0, array_of(index) + length, array_of(index))
        if is_static(x):
            return np.take_along_axis(x, index, axis=axis)
        return ops.Gather.apply(x, index, axis=axis % x.ndim)
    return kernel


def _constant_of_shape(node: Node) -> Kernel:
    value = np.asarray(node.attributes.get("value", np.zeros(1, dtype=np.float32)))
    fill = value.reshape(-1)[0].astype(_float_dtype(node, value.dtype))

    def kernel(values: list[Any]) -> Value:
        return np.full(static_ints(node, values[0], "shape"), fill)
    return kernel


SHAPE: dict[str, Callable[[Node], Kernel]] = {
    "Constant": _constant,
    "Identity": _identity,
    "Shape": _shape,
    "Cast": _cast,
    "Gather": _gather,
    "Concat": _concat,
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Transpose": _transpose,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Slice": _slice,
    "ConstantOfShape": _constant_of_shape,
    "Expand": _expand,
    "Tile": _tile,
    "Pad": _pad,
    "GatherElements": _gather_elements,
}
