"""lw.onnx.load: an ONNX model as a layerwise Module whose forward runs the graph's nodes with
layerwise ops, so it computes the same outputs, has gradients, and can be fine-tuned.

Floating initializers become Parameters named as in the file (PyTorch's exporters keep the
state_dict names: "0.weight", "fc1.bias"), batch-norm statistics become buffers, and integer
initializers (shapes, axes) and one-element ones that only element-wise operators read (the
constants of a decomposed GELU) stay constants.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from layerwise import dtypes
from layerwise.nn.module import Module
from layerwise.nn.parameter import Parameter
from layerwise.onnx import reader
from layerwise.onnx.common import OnnxError, require_onnx
from layerwise.onnx.conv_ops import CONVOLUTION
from layerwise.onnx.math_ops import ARITHMETIC
from layerwise.onnx.nodes import Kernel, Node, Value, is_static
from layerwise.onnx.shape_ops import SHAPE
from layerwise.tensor import Tensor

# ONNX operator -> the function that reads one node and returns its kernel.
TRANSLATIONS: dict[str, Callable[[Node], Kernel]] = {**ARITHMETIC, **CONVOLUTION, **SHAPE}

# Inputs that are running statistics, not weights: buffers, not Parameters.
_STATISTICS = {("BatchNormalization", 3), ("BatchNormalization", 4)}
# Element-wise operators: a one-element initializer that only these read is a constant of a
# formula (GELU's 1/sqrt(2), softplus's threshold), not a weight, unless its name is a
# parameter's (see _named_as_a_parameter).
_ELEMENT_WISE = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Where", "Clip", "Greater",
                 "Less", "Equal"}


def _named_as_a_parameter(name: str) -> bool:
    """Whether an initializer carries a parameter's state_dict name ("0.bias", "fc.weight"),
    as exporters keep for the weights they do not rewrite: the bias of an nn.Linear(n, 1) on a
    3-D input is a one-element initializer that an Add reads, and still a weight to train.
    Constants the exporters make are named otherwise ("val_3", "onnx::Mul_5")."""
    return name.rpartition(".")[2] in ("weight", "bias")


def load(path: str | Path, dtype: DTypeLike | None = None) -> OnnxModule:
    """The ONNX model in `path` as an OnnxModule (a layerwise Module).

    The file is parsed, never executed; onnx.checker must accept it. Every operator must be
    one layerwise maps (docs/interop.md lists them): the error for a model that uses others
    lists all of them with their counts.

    Args:
        path: the .onnx file; initializers in external data files must lie in its folder.
        dtype: cast floating initializers and constants (and Cast nodes to floating types)
            to this dtype, e.g. lw.float64 for gradient checks; None keeps the file's.
    Example:
        >>> model = lw.onnx.load("mlp.onnx")
        >>> logits = model(images)          # one input: one Tensor out
        >>> model.state_dict().keys()       # the initializers' names, "0.weight", ...
    """
    require_onnx()
    file = Path(path)
    model = reader.read_model(file)
    opset = reader.opset_of(model, file)
    reader.check_operators(model.graph.node, TRANSLATIONS, file)
    reader.load_external_data(model, file)
    reader.check_model(model, file)
    float_dtype = None if dtype is None else dtypes.as_dtype(dtype, "lw.onnx.load")
    if float_dtype is not None and float_dtype.kind != "f":
        raise TypeError(f"lw.onnx.load: dtype must be a floating dtype, got {float_dtype}")
    return OnnxModule(model.graph, opset, file.name, float_dtype)


class Initializers(Module):
    """Holds the parameters and buffers under one prefix of their dotted names ("fc1" of
    "fc1.weight"), so that state_dict() gives back the names in the file."""


class OnnxModule(Module):
    """A loaded ONNX graph: forward(*inputs) runs its nodes in order with layerwise ops.

    Inputs are Tensors or arrays in the graph's input order (their shapes are checked against
    the graph's); one output comes back as a Tensor, several as a tuple. Shape computations
    (Shape, Gather, Concat, ... on shapes) run in NumPy, outside the autograd graph.
    """

    def __init__(self, graph: Any, opset: int, source: str, float_dtype: np.dtype | None
                 ) -> None:
        super().__init__()
        onnx = require_onnx()
        self.source, self.opset = source, opset
        initializers = {tensor.name: reader.tensor_array(
            tensor, f"lw.onnx.load: {source}: initializer {tensor.name!r}")
            for tensor in graph.initializer}
        self.input_specs = [(value.name, _declared(value, f"{source}: input"))
                            for value in graph.input if value.name not in initializers]
        self.output_specs = [(value.name, _declared(value, f"{source}: output"))
                             for value in graph.output]
        self.nodes = [_node(onnx, proto, index, opset, float_dtype)
                      for index, proto in enumerate(graph.node)]
        uses: dict[str, set[tuple[str, int]]] = {}
        for node in self.nodes:
            for position, name in enumerate(node.inputs):
                uses.setdefault(name, set()).add((node.op_type, position))
        self.constants: dict[str, Any] = {}
        self.held: dict[str, tuple[Module, str, bool]] = {}  # name -> (owner, key, parameter?)
        for name, array in initializers.items():
            if array.dtype.kind == "f" and float_dtype is not None:
                array = array.astype(float_dtype)
            read_by = {op_type for op_type, _ in uses.get(name, ())}
            if array.dtype.kind != "f" or array.ndim == 0 or (
                    array.size == 1 and read_by and read_by <= _ELEMENT_WISE
                    and not _named_as_a_parameter(name)):
                self.constants[name] = array
            elif uses.get(name) and uses[name] <= _STATISTICS:
                self._hold(name, array.copy(), parameter=False)
            else:
                self._hold(name, Parameter(array.copy()), parameter=True)
        self.steps = self._fold([(node, TRANSLATIONS[node.op_type](node)) for node in self.nodes])

    def _hold(self, name: str, value: Any, parameter: bool) -> None:
        """Register a parameter or buffer so that its state_dict key is `name`: under nested
        Initializers for a dotted name, or directly under the whole name when it does not
        split cleanly."""
        *prefixes, key = name.split(".")
        owner: Module = self
        if all(prefixes) and key:
            for part in prefixes:
                child = owner._modules.get(part)
                if child is None:
                    if part in owner._parameters or part in owner._buffers:
                        owner, key = self, name
                        break
                    child = owner._modules[part] = Initializers()
                owner = child
        else:
            owner, key = self, name
        if key in owner._modules:
            owner, key = self, name
        (owner._parameters if parameter else owner._buffers)[key] = value
        self.held[name] = (owner, key, parameter)

    def _fold(self, steps: list[tuple[Node, Kernel]]) -> list[tuple[Node, Kernel]]:
        """Compute the nodes that depend on constants only, once; keep the others."""
        remaining = []
        for node, kernel in steps:
            if all(not name or name in self.constants for name in node.inputs):
                outputs = _call(node, kernel, [self.constants.get(name) if name else None
                                               for name in node.inputs])
                if all(is_static(output) for output in outputs):
                    self.constants.update(zip(node.outputs, outputs, strict=False))
                    continue
            remaining.append((node, kernel))
        return remaining

    def forward(self, *inputs: Any) -> Any:
        if len(inputs) != len(self.input_specs):
            names = ", ".join(name for name, _ in self.input_specs)
            raise TypeError(f"{self._title()} expects {len(self.input_specs)} input"
                            f"{'s' * (len(self.input_specs) != 1)} ({names}), got {len(inputs)}")
        values: dict[str, Any] = dict(self.constants)
        for name, (owner, key, parameter) in self.held.items():
            values[name] = (owner._parameters if parameter else owner._buffers)[key]
        for (name, declared), given in zip(self.input_specs, inputs, strict=True):
            values[name] = self._input(name, declared, given)
        for node, kernel in self.steps:
            outputs = _call(node, kernel, [values[name] if name else None
                                           for name in node.inputs])
            values.update(zip(node.outputs, outputs, strict=False))
        results = tuple(value if isinstance(value, Tensor) else Tensor(value)
                        for value in (values[name] for name, _ in self.output_specs))
        return results[0] if len(results) == 1 else results

    def _input(self, name: str, declared: tuple[str, tuple[Any, ...] | None], given: Any
               ) -> Value:
        """An input as the graph wants it: floating arrays become Tensors of the parameters'
        dtype, integer arrays (indices) stay arrays; its shape is checked."""
        kind, shape = declared
        value = given if isinstance(given, Tensor) else np.asarray(given)
        actual = value.shape
        if shape is not None and (len(actual) != len(shape) or any(
                isinstance(want, int) and want != got for want, got in zip(shape, actual,
                                                                             strict=True))):
            raise ValueError(f"{self._title()}: input {name!r} expected shape "
                             f"{_shape_text(shape)}, got {tuple(actual)}")
        if isinstance(value, Tensor):
            return value
        if kind == "f":
            return Tensor(value.astype(self._float_dtype(value.dtype), copy=False))
        return value

    def _float_dtype(self, fallback: np.dtype) -> np.dtype:
        for parameter in self.parameters():
            return parameter.dtype
        return fallback if fallback.kind == "f" else np.dtype(np.float32)

    def _title(self) -> str:
        return f"OnnxModule({self.source})"

    def __repr__(self) -> str:
        lines = [f"OnnxModule({self.source}: opset {self.opset}, {len(self.nodes)} nodes, "
                 f"{len(self.held)} parameters and buffers",
                 "  inputs: " + ", ".join(f"{name} {_shape_text(shape)}"
                                          for name, (_, shape) in self.input_specs)]
        for index, node in enumerate(self.nodes):
            lines.append(f"  ({index}) {node.op_type}: {', '.join(node.inputs)} -> "
                         f"{', '.join(node.outputs)}")
        lines.append("  outputs: " + ", ".join(f"{name} {_shape_text(shape)}"
                                               for name, (_, shape) in self.output_specs))
        return "\n".join(lines) + "\n)"


def _call(node: Node, kernel: Kernel, values: list[Any]) -> tuple[Value, ...]:
    """Run one node's kernel; a ValueError from an op is reported with the node's name."""
    try:
        outputs = kernel(values)
    except OnnxError:
        raise
    except ValueError as error:
        raise node.fail(str(error)) from error
    return outputs if isinstance(outputs, tuple) else (outputs,)


def _node(onnx: Any, proto: Any, index: int, opset: int, float_dtype: np.dtype | None) -> Node:
    node = Node(proto.op_type, proto.name or f"#{index}", list(proto.input), list(proto.output),
                {}, opset, float_dtype)
    for attribute in proto.attribute:
        value = onnx.helper.get_attribute_value(attribute)
        if attribute.type == onnx.AttributeProto.TENSOR:
            value = reader.tensor_array(value, f"{node.label()}: attribute {attribute.name}")
        node.attributes[attribute.name] = value
    return node


def _declared(value: Any, what: str) -> tuple[str, tuple[Any, ...] | None]:
    """The kind ("f" floating, "i" integer, ...) and shape (ints, names of dynamic axes) of a
    graph input or output."""
    tensor_type = value.type.tensor_type
    kind = (reader.numpy_dtype(tensor_type.elem_type, f"lw.onnx.load: {what} {value.name!r}").kind
            if tensor_type.elem_type else "f")
    if not tensor_type.HasField("shape"):
        return kind, None
    shape = tuple(dim.dim_value if dim.HasField("dim_value") else (dim.dim_param or "?")
                  for dim in tensor_type.shape.dim)
    return kind, shape


def _shape_text(shape: tuple[Any, ...] | None) -> str:
    if shape is None:
        return "(any shape)"
    return "(" + ", ".join(str(length) for length in shape) + ("," if len(shape) == 1 else "") + ")"
