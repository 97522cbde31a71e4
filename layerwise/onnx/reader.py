"""Reading an ONNX file safely: it is parsed as protobuf (nothing in it is executed), and a
file that is not ONNX, an opset too old, an operator layerwise cannot map, external data outside
the model's folder, or a model onnx.checker rejects each stops the load with an OnnxError that
names the file."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from layerwise.checkpoint import ZIP_SIGNATURE, starts_as_pickle
from layerwise.onnx.common import OLDEST_OPSET, OPSET, OnnxError, require_onnx

DEFAULT_DOMAINS = ("", "ai.onnx")

# The first bytes of files people mistake for ONNX models, and what they are.
_SIGNATURES = (
    (ZIP_SIGNATURE, "a zip archive (torch.save writes these)"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"\x89HDF", "an HDF5 file (Keras?)"),
)


def _looks_like(data: bytes) -> str | None:
    """What a non-ONNX file looks like, from its first bytes, or None."""
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return kind
    if starts_as_pickle(data):
        return "a Python pickle (never loaded here: unpickling runs code)"
    header_length = int.from_bytes(data[:8], "little") if len(data) >= 8 else 0
    if 0 < header_length <= len(data) - 8 and data[8:9] == b"{":
        return "a safetensors file (weights only; see docs/interop.md)"
    return None


def read_model(path: Path) -> Any:
    """The ModelProto in `path`, parsed without loading external data."""
    onnx_module = require_onnx()
    if not path.exists():
        raise FileNotFoundError(f"lw.onnx.load: no file {path}")
    if path.is_dir():
        raise OnnxError(f"lw.onnx.load: {path} is a folder; expected an ONNX model file")
    data = path.read_bytes()
    if not data:
        raise OnnxError(f"lw.onnx.load: {path} is empty; expected an ONNX model")
    kind = _looks_like(data)
    if kind is not None:
        raise OnnxError(f"lw.onnx.load: {path} is {kind}, not an ONNX model")
    # protobuf comes with onnx; it ships no type stubs
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

    model = onnx_module.ModelProto()
    try:
        model.ParseFromString(data)
    except DecodeError as error:
        raise OnnxError(f"lw.onnx.load: {path} is not an ONNX model, or is truncated "
                        f"(protobuf cannot parse its {len(data)} bytes: {error})") from None
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.output:
        raise OnnxError(f"lw.onnx.load: {path} is not an ONNX model, or is truncated (it has "
                        f"no IR version or no graph outputs)")
    _check_names(model, path)
    return model


def _check_names(model: Any, path: Path) -> None:
    """protobuf hands out a name that is not UTF-8 as bytes; such a file is corrupted."""
    graph = model.graph
    names = [graph.name, *(value.name for value in (*graph.input, *graph.output))]
    for node in graph.node:
        names += [node.op_type, node.domain, node.name, *node.input, *node.output,
                  *(attribute.name for attribute in node.attribute)]
    for tensor in graph.initializer:
        names += [tensor.name, *(entry.key for entry in tensor.external_data),
                  *(entry.value for entry in tensor.external_data)]
    for name in names:
        if not isinstance(name, str):
            raise OnnxError(f"lw.onnx.load: {path} is corrupted: it has a name that is not "
                            f"UTF-8 text ({name!r})")


def opset_of(model: Any, path: Path) -> int:
    """The version of the default ONNX domain the model imports; OnnxError when older than
    OLDEST_OPSET."""
    versions = [entry.version for entry in model.opset_import if entry.domain in DEFAULT_DOMAINS]
    if not versions:
        raise OnnxError(f"lw.onnx.load: {path} imports no opset of the default ONNX domain")
    if versions[0] < OLDEST_OPSET:
        raise OnnxError(
            f"lw.onnx.load: {path} uses opset {versions[0]}; layerwise reads opsets "
            f"{OLDEST_OPSET} and newer. Convert it first: onnx.version_converter."
            f"convert_version(onnx.load(path), {OPSET})")
    return int(versions[0])


def check_operators(nodes: Iterable[Any], supported: Iterable[str], path: Path) -> None:
    """One OnnxError listing every operator layerwise cannot map (custom domains included),
    each with its number of nodes."""
    known = set(supported)
    missing: Counter[str] = Counter()
    for node in nodes:
        if node.domain not in DEFAULT_DOMAINS:
            missing[f"{node.domain}::{node.op_type}"] += 1
        elif node.op_type not in known:
            missing[node.op_type] += 1
    if missing:
        listed = ", ".join(f"{name} ({count} node{'s' * (count > 1)})"
                           for name, count in sorted(missing.items()))
        raise OnnxError(f"lw.onnx.load: {path} uses {len(missing)} operator"
                        f"{'s' * (len(missing) > 1)} layerwise cannot import: {listed}. "
                        f"docs/interop.md lists the ones it can")


def load_external_data(model: Any, path: Path) -> None:
    """Read initializers kept in separate files, only from inside the model's folder."""
    onnx_module = require_onnx()
    folder = path.parent.resolve()
    external = [tensor for tensor in model.graph.initializer
                if tensor.data_location == onnx_module.TensorProto.EXTERNAL]
    if model.graph.sparse_initializer:
        raise OnnxError(f"lw.onnx.load: {path} has sparse initializers, which layerwise does "
                        f"not read")
    for tensor in external:
        entries = {entry.key: entry.value for entry in tensor.external_data}
        location = entries.get("location", "")
        target = (folder / location).resolve()
        if not location or Path(location).is_absolute() or not target.is_relative_to(folder):
            raise OnnxError(
                f"lw.onnx.load: {path}: initializer {tensor.name!r} keeps its data in "
                f"{location!r}, outside the model's folder {folder}; refusing to read it")
        if not target.is_file():
            raise OnnxError(f"lw.onnx.load: {path}: initializer {tensor.name!r} keeps its data "
                            f"in {location!r}, which does not exist in {folder}")
    if external:
        onnx_module.external_data_helper.load_external_data_for_model(model, str(folder))


def numpy_dtype(code: int, what: str) -> np.dtype:
    """The NumPy dtype of an ONNX data type code; OnnxError naming `what` for a code that is
    none (the checker does not look at every one)."""
    try:
        return np.dtype(require_onnx().helper.tensor_dtype_to_np_dtype(code))
    except (KeyError, TypeError, ValueError):
        raise OnnxError(f"{what} has data type {code}, which is not an ONNX tensor type "
                        f"(a damaged file?)") from None


def tensor_array(tensor: Any, what: str) -> np.ndarray:
    """A TensorProto's values as a NumPy array, once its data type is known to be one."""
    numpy_dtype(tensor.data_type, what)
    return np.asarray(require_onnx().numpy_helper.to_array(tensor))


def check_model(model: Any, path: Path) -> None:
    """onnx.checker's verdict on the graph (types, attributes, topological order)."""
    onnx_module = require_onnx()
    try:
        onnx_module.checker.check_model(model)
    except onnx_module.checker.ValidationError as error:
        verdict = " ".join(str(error).split())
        raise OnnxError(f"lw.onnx.load: onnx.checker rejects {path}: {verdict}") from None
    except UnicodeDecodeError as error:
        raise OnnxError(f"lw.onnx.load: onnx.checker rejects {path}: it holds text that is not "
                        f"UTF-8 ({error.reason} at byte {error.start})") from None
