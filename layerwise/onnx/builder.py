"""What the operator converters write with: the Builder that collects nodes and
initializers, the Call that describes one traced op, and UnsupportedError."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from layerwise.onnx.trace import Step


class UnsupportedError(Exception):
    """This op, with these options, has no ONNX translation here; the message says why."""


@dataclass
class Call:
    """One traced op to translate.

    Attributes:
        step: the op, its input arrays and its output (see layerwise.onnx.trace.Step).
        inputs: the ONNX names of its inputs, one per input.
        output: the ONNX name its result must get.
        varying: per input, the axes whose length follows the batch size.
        varying_output: the same for the output.
    """

    step: Step
    inputs: list[str]
    output: str
    varying: list[set[int]]
    varying_output: set[int]

    @property
    def op(self) -> Any:
        return self.step.op

    @property
    def arrays(self) -> list[np.ndarray]:
        return self.step.arrays


class Builder:
    """Collects the nodes and initializers of the graph; node names start with the layer's
    name, so that Netron shows where each node comes from."""

    def __init__(self, onnx: Any) -> None:
        self.onnx = onnx
        self.nodes: list[Any] = []
        self.initializers: dict[str, Any] = {}
        self.layer = ""
        self.used: set[str] = set()
        self.state_names: dict[int, str] = {}  # id of a parameter's or buffer's array -> name
        self.batch_input = ""  # the graph input whose first axis is the batch
        self.batch_size = 0  # its length in the traced pass
        self.batch_name = ""

    def batch_length(self) -> str:
        """The batch size at run time, as a 1-element int64 tensor (made once)."""
        if not self.batch_name:
            layer, self.layer = self.layer, ""
            self.batch_name = self.add("Shape", [self.batch_input], self.fresh("batch_size"),
                                       start=0, end=1)
            self.layer = layer
        return self.batch_name

    def named(self, array: np.ndarray, hint: str) -> str:
        """A parameter or buffer under its state_dict name; any other array as a constant."""
        name = self.state_names.get(id(array))
        return self.constant(array, hint=hint) if name is None else self.initializer(name, array)

    def fresh(self, hint: str) -> str:
        """A name not used yet: `hint`, or hint_2, hint_3, ..."""
        name, count = hint, 1
        while name in self.used:
            count += 1
            name = f"{hint}_{count}"
        self.used.add(name)
        return name

    def initializer(self, name: str, array: np.ndarray) -> str:
        """Add `array` under `name` (once)."""
        if name not in self.initializers:
            self.used.add(name)
            self.initializers[name] = self.onnx.numpy_helper.from_array(
                np.ascontiguousarray(array), name)
        return name

    def constant(self, array: Any, dtype: Any = None, hint: str = "constant") -> str:
        values = np.asarray(array, dtype=dtype)
        prefix = f"{self.layer}." if self.layer else ""
        return self.initializer(self.fresh(f"{prefix}{hint}"), values)

    def ints(self, values: Sequence[int]) -> str:
        return self.constant(np.asarray(list(values), dtype=np.int64), hint="shape")

    def add(self, op_type: str, inputs: Sequence[str], output: str | None = None,
            **attributes: Any) -> str:
        """A node; returns its output's name (a new one unless `output` is given)."""
        prefix = f"/{self.layer}/" if self.layer else "/"
        out = output if output is not None else self.fresh(f"{prefix}{op_type}_output")
        self.nodes.append(self.onnx.helper.make_node(
            op_type, list(inputs), [out], name=self.fresh(f"{prefix}{op_type}"), **attributes))
        return out

    def cast(self, name: str, source: np.dtype, target: np.dtype) -> str:
        if source == target:
            return name
        return self.add("Cast", [name], to=onnx_type(self.onnx, target))


def onnx_type(onnx: Any, dtype: np.dtype) -> int:
    return int(onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
