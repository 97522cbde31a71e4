"""What every ONNX operator's translation works with: the node (its attributes, read once when
the model loads) and the values flowing between nodes.

A value is a layerwise Tensor when it depends on the model's inputs or parameters (the
gradient flows through it), or a NumPy array when it is a constant or depends only on shapes
(Shape -> Gather -> Concat -> Reshape chains), which are computed in NumPy and never recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from layerwise.onnx.common import OnnxError
from layerwise.tensor import Tensor

Value = Tensor | np.ndarray
# A node's computation: its input values (None for an omitted optional input) -> its outputs.
Kernel = Callable[[list[Any]], Value | tuple[Value, ...]]


@dataclass
class Node:
    """One ONNX node: its operator, names, attributes (as Python values) and the context the
    translation needs (the opset, and the floating dtype the model was loaded with)."""

    op_type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attributes: dict[str, Any] = field(default_factory=dict)
    opset: int = 18
    float_dtype: np.dtype | None = None

    def label(self) -> str:
        return f"{self.op_type} node {self.name!r}" if self.name else f"{self.op_type} node"

    def fail(self, problem: str) -> OnnxError:
        """An OnnxError naming this node."""
        return OnnxError(f"{self.label()}: {problem}")

    def integer(self, name: str, default: int) -> int:
        return int(self.attributes.get(name, default))

    def scalar(self, name: str, default: float) -> float:
        return float(self.attributes.get(name, default))

    def integers(self, name: str, default: Sequence[int] | None = None) -> list[int] | None:
        value = self.attributes.get(name, default)
        return None if value is None else [int(item) for item in value]

    def string(self, name: str, default: str) -> str:
        value = self.attributes.get(name, default)
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

    def refuse(self, name: str, allowed: Callable[[Any], bool], what: str) -> None:
        """An OnnxError unless attribute `name` (when present) passes `allowed`."""
        if name in self.attributes and not allowed(self.attributes[name]):
            raise self.fail(f"attribute {name}={self.attributes[name]!r} is not supported "
                            f"({what})")


def is_static(*values: Any) -> bool:
    """Whether every value is a NumPy array (or omitted): computed without the graph."""
    return not any(isinstance(value, Tensor) for value in values)


def as_tensor(value: Value) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(value)


def array_of(value: Any) -> np.ndarray:
    """The NumPy array of a value (a Tensor's data, not recorded)."""
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def static_ints(node: Node, value: Any, what: str) -> list[int]:
    """An input that must be known without running the graph (a shape, axes, pads) as ints
    (the checker has made sure that the input is there)."""
    return [int(item) for item in array_of(value).reshape(-1)]


def run(function: Callable[..., Tensor], *values: Any) -> Value:
    """function applied to the values with layerwise ops; on NumPy arrays only, the result
    comes back as an array (nothing is recorded)."""
    if is_static(*values):
        inputs = [None if value is None else Tensor(value) for value in values]
        return function(*inputs).data
    return function(*values)


def padded(values: list[Any], count: int) -> list[Any]:
    """The first `count` inputs, with None for optional inputs the node omits at the end."""
    return [*values, *[None] * count][:count]
