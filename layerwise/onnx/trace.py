"""One forward pass, written down op by op: what export translates to ONNX.

The engine's graph keeps only the inputs that require grad, so a Python number (the eps of a
layer norm) or a NumPy buffer (Standardize's mean) would be missing from it. A trace instead
watches every op that `layerwise.engine.record` runs (through `engine.tracers`) and keeps, for
each input, its values and where they came from: the model's input, a parameter or buffer (by
the identity of its array), the output of an earlier op, or a constant. Module hooks note
which layer (its name in `model.named_modules()`) was running, for the error messages.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from layerwise import engine
from layerwise.nn.module import Module
from layerwise.ops.base import Op
from layerwise.tensor import Tensor


@dataclass
class Step:
    """One op of the forward pass.

    Attributes:
        op: the op object, with the options it ran with (and what its forward kept).
        sources: per input, the key of its array (see `key`), or None for a number.
        arrays: the arrays forward got, one per input.
        output: the result's array.
        replaces: for an in-place op, the key of the array it wrote into, else None.
        layer: the name of the innermost module running ("" for the model's own forward).
    """

    op: Op
    sources: list[int | None]
    arrays: list[np.ndarray]
    output: np.ndarray
    replaces: int | None
    layer: str


@dataclass
class Trace:
    """The steps of one forward pass, and the outputs it returned."""

    steps: list[Step] = field(default_factory=list)
    outputs: list[np.ndarray] = field(default_factory=list)
    # Every object a step refers to by its id, kept alive so that no id is reused meanwhile.
    keep: list[Any] = field(default_factory=list)


def key(value: Any) -> int | None:
    """What identifies a value: the id of its array (a Tensor's data, or the array itself).
    An array's identity is its values, as long as nothing writes into it (in-place ops are
    steps with `replaces`)."""
    if isinstance(value, Tensor):
        return id(value.data)
    if isinstance(value, np.ndarray):
        return id(value)
    return None


def run(model: Module, inputs: Sequence[Tensor]) -> Trace:
    """Call model(*inputs) and write down every op it runs."""
    trace = Trace()
    layers: list[str] = []

    def tracer(op: Op, values: Sequence[Any], arrays: list[np.ndarray], result: Tensor,
               in_place: bool) -> None:
        trace.keep.extend((op, values, arrays, result))
        trace.steps.append(Step(op, [key(value) for value in values], list(arrays),
                                result.data, key(values[0]) if in_place else None,
                                layers[-1] if layers else ""))

    with _layer_names(model, layers):
        engine.tracers.append(tracer)
        try:
            result = model(*inputs)
        finally:
            engine.tracers.remove(tracer)
    outputs = result if isinstance(result, tuple | list) else (result,)
    for position, output in enumerate(outputs):
        if not isinstance(output, Tensor):
            raise TypeError(f"lw.onnx.export: the model's output {position} is a "
                            f"{type(output).__name__}; expected Tensors (one, or a tuple)")
        trace.outputs.append(output.data)
    trace.keep.append(result)
    return trace


@contextmanager
def _layer_names(model: Module, layers: list[str]) -> Iterator[None]:
    """Keep `layers` a stack of the names of the modules whose forward is running."""
    handles = []
    for name, module in model.named_modules():
        def enter(module: Module, inputs: Any, name: str = name) -> None:
            layers.append(name)

        def leave(module: Module, inputs: Any, output: Any) -> None:
            layers.pop()

        handles += [module.register_forward_pre_hook(enter), module.register_forward_hook(leave)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
