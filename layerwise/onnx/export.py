"""lw.onnx.export: a layerwise model as an ONNX file that onnxruntime and Netron read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from layerwise.checkpoint import write_atomically
from layerwise.nn.module import Module
from layerwise.onnx import trace
from layerwise.onnx.builder import Builder, Call, UnsupportedError, onnx_type
from layerwise.onnx.common import OPSET, OnnxError, require_onnx
from layerwise.onnx.export_ops import CONVERTERS
from layerwise.tensor import Tensor

BATCH = "batch"  # the name of the symbolic first dimension


def export(model: Module, example_input: Any, path: str | PathLike[str], *,
           input_names: Sequence[str] | None = None,
           output_names: Sequence[str] | None = None, dynamic_batch: bool = True,
           opset: int = OPSET, metadata: Mapping[str, str] | None = None) -> Any:
    """Write `model` as an ONNX file that computes model(example_input) for any batch.

    The model runs once on the example in evaluation mode (dropout passes values through,
    batch norm uses its running statistics; the mode is restored afterwards), and every op of
    that forward pass becomes ONNX nodes (the operator table is in docs/interop.md). So any
    composition exports, a user's own forward, residual adds and concatenations included, as
    long as it is made of layerwise ops; the path the forward took is what is written (an
    `if` on the input's values is not). Parameters and buffers become initializers under
    their state_dict names ("0.weight", "1.running_mean"), so Netron shows where each one
    belongs and PyTorch's names match; numbers and other arrays become constants.

    With dynamic_batch, the forward pass runs a second time on a batch one sample larger:
    every length that changes is the batch axis ("batch" in the file, any size at run time;
    the target of a reshape or flatten gets -1 there), and a constant that changes is an
    error, as it was computed from the input outside layerwise's ops (through .data, .item()
    or NumPy) and the file could not follow it.

    Args:
        model: the Module to export.
        example_input: one input (a Tensor or array, its first axis the batch), or a tuple of
            them for a forward with several arguments. Floating-point input takes the model's
            parameter dtype (float32 by default), as its layers convert it; integer input
            (token ids for Embedding) keeps its dtype.
        path: the .onnx file to write (through a temporary file and a rename).
        input_names, output_names: names of the graph's inputs and outputs; by default
            "input" and "output" ("input_0", "input_1", ... when there are several).
        dynamic_batch: make the first axis of every input, and the axes that follow it, of
            any length; False writes the example's shapes.
        opset: the ONNX opset of the file, 18 (the operators are those of opset 18) or a newer
            one that keeps their meaning.
        metadata: more metadata_props for the file (strings), besides producer and version.

    Returns:
        the onnx.ModelProto that was written, after `onnx.checker.check_model(...,
        full_check=True)` passed on it.

    Raises:
        OnnxError: an op that cannot be exported (all of them are listed, each with its layer,
            its name in model.named_modules()), or a value computed outside layerwise's ops.
        FileNotFoundError: the folder of `path` does not exist.
        ImportError: the onnx package is not installed (pip install 'layerwise[onnx]').
    """
    onnx = require_onnx()
    if not isinstance(model, Module):
        raise TypeError(f"lw.onnx.export: expected a layerwise Module, got "
                        f"{type(model).__name__}")
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"lw.onnx.export: cannot write {target}: the folder {folder} "
                                f"does not exist")
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not OPSET <= opset <= newest:
        raise OnnxError(f"lw.onnx.export: opset must be an int from {OPSET} to {newest} (the "
                        f"installed onnx's newest), got {opset!r}")
    examples = example_arrays(model, example_input, dynamic_batch)
    input_names = names_of("input_names", input_names, "input", len(examples))
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        first = run(model, examples)
        second = run(model, [one_more(array) for array in examples]) if dynamic_batch else None
    finally:
        for module, training in modes:
            object.__setattr__(module, "training", training)
    output_names = names_of("output_names", output_names, "output", len(first.trace.outputs))
    builder = Builder(onnx)
    graph = translate(model, builder, first, second, input_names, output_names)
    opset_id = onnx.helper.make_opsetid("", opset)
    proto = onnx.helper.make_model(
        graph, opset_imports=[opset_id], producer_name="layerwise",
        producer_version=layerwise_version(),
        ir_version=onnx.helper.find_min_ir_version_for([opset_id]))
    proto.doc_string = f"{type(model).__name__} exported by layerwise"
    properties = {"producer": f"layerwise {layerwise_version()}",
                  "model_class": type(model).__name__,
                  "dynamic_batch": str(bool(dynamic_batch)).lower()}
    for name, value in (metadata or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"lw.onnx.export: metadata must map strings to strings, got "
                            f"{name!r}: {type(value).__name__}")
        properties[name] = value
    onnx.helper.set_model_props(proto, properties)
    onnx.checker.check_model(proto, full_check=True)
    write_atomically(target, proto.SerializeToString())
    return proto


def layerwise_version() -> str:
    from layerwise import __version__

    return __version__


@dataclass
class Traced:
    """A traced forward pass and the keys of the arrays it was given."""

    trace: trace.Trace
    inputs: list[np.ndarray]

    @property
    def input_keys(self) -> list[int]:
        return [id(array) for array in self.inputs]


def run(model: Module, examples: list[np.ndarray]) -> Traced:
    # Floating input requires grad, so that a layer with a shortcut for constant input
    # (Standardize computes with NumPy then) runs its ops.
    inputs = [Tensor(array.copy(), requires_grad=array.dtype.kind == "f") for array in examples]
    return Traced(trace.run(model, inputs), [tensor.data for tensor in inputs])


def example_arrays(model: Module, example_input: Any, dynamic_batch: bool) -> list[np.ndarray]:
    items = example_input if isinstance(example_input, tuple) else (example_input,)
    if not items:
        raise ValueError("lw.onnx.export: example_input is an empty tuple; give the model's "
                         "input (or a tuple of its inputs)")
    floating = [p.data.dtype for p in model.parameters() if p.data.dtype.kind == "f"]
    arrays = []
    for position, item in enumerate(items):
        array = np.array(item.data if isinstance(item, Tensor) else item)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"lw.onnx.export: example input {position} has dtype "
                            f"{array.dtype}; expected numbers")
        if array.dtype.kind == "f" and floating:
            array = array.astype(floating[0])
        if dynamic_batch and (array.ndim == 0 or len(array) == 0):
            raise ValueError(f"lw.onnx.export: dynamic_batch needs a batch axis of at least "
                             f"one sample first, got example input {position} of shape "
                             f"{array.shape}; pass dynamic_batch=False for fixed shapes")
        arrays.append(array)
    return arrays


def one_more(array: np.ndarray) -> np.ndarray:
    """A batch one sample larger, its samples in another order (so that values computed from
    the input differ too)."""
    return np.concatenate([array[::-1], array[:1]])


def names_of(argument: str, given: Sequence[str] | None, default: str,
             count: int) -> list[str]:
    if given is None:
        return [default] if count == 1 else [f"{default}_{i}" for i in range(count)]
    names = [given] if isinstance(given, str) else list(given)
    if len(names) != count or not all(isinstance(name, str) and name for name in names) \
            or len(set(names)) != count:
        raise ValueError(f"lw.onnx.export: {argument} must be {count} different non-empty "
                         f"name{'s' * (count != 1)}, one per {default}, got {given!r}")
    return names


# --- from the trace to the graph -----------------------------------------------------------


@dataclass
class Source:
    """Where an op's input comes from: a named value (input or op output), a parameter or
    buffer (`state`), or a constant."""

    kind: str  # "value", "state" or "constant"
    name: str = ""


def translate(model: Module, builder: Builder, first: Traced, second: Traced | None,
              input_names: list[str], output_names: list[str]) -> Any:
    onnx = builder.onnx
    steps = first.trace.steps
    if second is not None:
        check_same_path(model, steps, second.trace.steps)
    for name, parameter in model.named_parameters():
        builder.state_names[id(parameter.data)] = name
    for name, buffer in model.named_buffers():
        found = trace.key(buffer)
        if found is not None:
            builder.state_names.setdefault(found, name)
    # Names the graph must have are taken before any other is made up.
    builder.used.update(input_names, output_names, builder.state_names.values())
    builder.batch_input = input_names[0]
    builder.batch_size = len(first.inputs[0]) if first.inputs[0].ndim else 0

    # Name every value: inputs, then each op's output (an in-place op renames its target).
    values = dict(zip(first.input_keys, input_names, strict=True))
    sources: list[list[Source]] = []
    produced: list[str] = []
    for step in steps:
        sources.append([source_of(builder, values, key) for key in step.sources])
        name = builder.fresh(f"/{step.layer}/{type(step.op).__name__}_output".replace("//", "/"))
        produced.append(name)
        values[id(step.output)] = name
        if step.replaces is not None:
            values[step.replaces] = name
    producer = {name: index for index, name in enumerate(produced)}
    outputs = [source_of(builder, values, id(array)) for array in first.trace.outputs]
    for position, source in enumerate(outputs):
        if source.kind == "constant":
            raise OnnxError(f"lw.onnx.export: the model's output {position} was not computed "
                            f"by layerwise ops from the input (NumPy, .data, .detach() and "
                            f"integer conversions are not ops), so the file cannot compute it")

    # The steps the outputs depend on; an op whose result is unused is left out.
    needed: set[int] = set()
    pending = [source.name for source in outputs if source.kind == "value"]
    while pending:
        index = producer.get(pending.pop())
        if index is None or index in needed:
            continue
        needed.add(index)
        pending.extend(source.name for source in sources[index] if source.kind == "value")

    # Outputs get their names: the op that makes one writes it under that name.
    renamed: dict[str, str] = {}
    identities: list[tuple[Source, str]] = []
    for source, name in zip(outputs, output_names, strict=True):
        if source.kind == "value" and source.name in producer and source.name not in renamed:
            renamed[source.name] = name
        else:
            identities.append((source, name))

    problems: list[str] = []
    changing: list[str] = []
    for index in sorted(needed):
        step = steps[index]
        builder.layer = step.layer
        inputs = []
        for position, source in enumerate(sources[index]):
            array = step.arrays[position]
            if source.kind == "value":
                inputs.append(renamed.get(source.name, source.name))
            elif source.kind == "state":
                inputs.append(builder.initializer(source.name, array))
            else:
                inputs.append(builder.constant(array))
                if second is not None and not same_values(
                        array, second.trace.steps[index].arrays[position]):
                    changing.append(f"input {position} of {describe(model, step)}")
        converter = CONVERTERS.get(type(step.op))
        if converter is None:
            problems.append(f"{describe(model, step)}: no ONNX translation")
            continue
        varying = [varying_axes(array, other) for array, other in zip(
            step.arrays, second.trace.steps[index].arrays, strict=True)] if second is not None \
            else [set() for _ in step.arrays]
        varying_output = varying_axes(step.output, second.trace.steps[index].output) \
            if second is not None else set()
        output = renamed.get(produced[index], produced[index])
        try:
            converter(Call(step, inputs, output, varying, varying_output), builder)
        except UnsupportedError as reason:
            problems.append(f"{describe(model, step)}: {reason}")
    if problems:
        unique = list(dict.fromkeys(problems))
        raise OnnxError(f"lw.onnx.export: cannot export {len(unique)} op"
                        f"{'s' * (len(unique) != 1)} of {type(model).__name__}: "
                        + "; ".join(unique) + " (the exported ops are listed in docs/interop.md)")
    if changing:
        raise OnnxError(
            "lw.onnx.export: " + "; ".join(dict.fromkeys(changing)) + " changed with the input "
            "although it is not the result of a layerwise op: it was computed from the input "
            "through .data, .item(), NumPy, a comparison or an integer conversion, and would "
            "be a constant in the file")
    builder.layer = ""
    for source, name in identities:
        if source.kind == "state":
            builder.initializer(source.name, state_array(model, source.name))
        builder.add("Identity", [renamed.get(source.name, source.name)], name)

    graph_inputs = [
        onnx.helper.make_tensor_value_info(
            name, onnx_type(onnx, array.dtype),
            [BATCH if second is not None and axis == 0 else length
             for axis, length in enumerate(array.shape)])
        for name, array in zip(input_names, first.inputs, strict=True)]
    graph_outputs = []
    for position, (array, name) in enumerate(zip(first.trace.outputs, output_names,
                                                 strict=True)):
        batch_axes = varying_axes(array, second.trace.outputs[position]) \
            if second is not None else set()
        graph_outputs.append(onnx.helper.make_tensor_value_info(
            name, onnx_type(onnx, array.dtype),
            [BATCH if axis in batch_axes else length for axis, length in enumerate(array.shape)]))
    return onnx.helper.make_graph(builder.nodes, type(model).__name__, graph_inputs,
                                  graph_outputs, initializer=list(builder.initializers.values()))


def source_of(builder: Builder, values: dict[int, str], key: int | None) -> Source:
    if key is not None and key in values:
        return Source("value", values[key])
    if key is not None and key in builder.state_names:
        return Source("state", builder.state_names[key])
    return Source("constant")


def state_array(model: Module, name: str) -> np.ndarray:
    named = dict(model.named_parameters())
    if name in named:
        return named[name].data
    buffer = dict(model.named_buffers())[name]
    return buffer.data if isinstance(buffer, Tensor) else np.asarray(buffer)


def varying_axes(array: np.ndarray, other: np.ndarray) -> set[int]:
    """The axes whose length differs between the two passes: those that follow the batch."""
    if array.ndim != other.ndim:
        return set(range(array.ndim))
    return {axis for axis in range(array.ndim) if array.shape[axis] != other.shape[axis]}


def same_values(array: np.ndarray, other: np.ndarray) -> bool:
    return array.shape == other.shape and bool(np.array_equal(array, other, equal_nan=(
        array.dtype.kind in "fc")))


def describe(model: Module, step: trace.Step) -> str:
    """The op and where it ran: "Cumsum in layer 'encoder.2' (MyBlock)"."""
    op = type(step.op).__name__
    if not step.layer:
        return f"{op} in the forward of {type(model).__name__} itself"
    layer = type(model.get_submodule(step.layer)).__name__
    return f"{op} in layer '{step.layer}' ({layer})"


def check_same_path(model: Module, steps: list[trace.Step],
                    others: list[trace.Step]) -> None:
    """Both passes must run the same ops: the file holds one path through the forward."""
    for index, (step, other) in enumerate(zip(steps, others, strict=False)):
        if type(step.op) is not type(other.op) or len(step.arrays) != len(other.arrays):
            raise OnnxError(
                f"lw.onnx.export: the forward pass took another path for a batch of one more "
                f"sample: op {index + 1} was {describe(model, step)}, then "
                f"{type(other.op).__name__}; ONNX holds one path, so the forward must not "
                f"branch on the batch size or values (or pass dynamic_batch=False)")
    if len(steps) != len(others):
        raise OnnxError(
            f"lw.onnx.export: the forward pass ran {len(steps)} ops on the example and "
            f"{len(others)} on a batch of one more sample; ONNX holds one path, so the "
            f"forward must not branch on the batch size or values (or pass dynamic_batch=False)")
