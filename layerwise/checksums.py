"""SHA-256 records of the files layerwise writes, so that a byte changed on disk is found when
the file is read.

A safetensors file keeps its record in its metadata, under CHECKSUM_KEY: JSON holding, for each
tensor, the dtype and shape it was saved with and the SHA-256 of its bytes, and the SHA-256 of
every other metadata value. A JSON file of a run (config.json, metrics.json, health.json) keeps
it as a top-level entry under the same key: the SHA-256 of every other top-level value in its
canonical form (keys sorted, no spaces), so that the file is still written in one atomic write.

The functions here compute records and compare them; they return the faults they find as
phrases ("tensor '0.weight' does not match its SHA-256 ..."), which checkpoint.py turns into a
CheckpointError naming the file.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

CHECKSUM_KEY = "layerwise.sha256"
# A key this close to CHECKSUM_KEY is taken for it with a changed byte, not for a user's key.
NEAR_KEY_RATIO = 0.8
# The safetensors names of the NumPy dtypes that can be saved.
SAFETENSORS_DTYPES = {np.dtype(np.bool_): "BOOL", np.dtype(np.uint8): "U8",
                      np.dtype(np.int8): "I8", np.dtype(np.uint16): "U16",
                      np.dtype(np.int16): "I16", np.dtype(np.float16): "F16",
                      np.dtype(np.uint32): "U32", np.dtype(np.int32): "I32",
                      np.dtype(np.float32): "F32", np.dtype(np.uint64): "U64",
                      np.dtype(np.int64): "I64", np.dtype(np.float64): "F64"}


class NoChecksumWarning(UserWarning):
    """A file without a checksum record, written before layerwise kept them or by another
    program (PyTorch, the safetensors package, a text editor): it is read without a check of
    its content. Given once per file and process."""


def sha256(data: bytes | memoryview) -> str:
    """The SHA-256 of `data`, in hexadecimal."""
    return hashlib.sha256(data).hexdigest()


def canonical(value: Any) -> bytes:
    """A JSON value in one spelling: keys sorted, no spaces, ASCII."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def warn_unchecked(path: Path) -> None:
    """The one-line notice for a file without a record (one place, so that Python gives it once
    per file)."""
    warnings.warn(f"{path} has no checksum (written before layerwise kept them, or by another "
                  f"program); read without a check of its content", NoChecksumWarning,
                  stacklevel=1)


# --- safetensors ----------------------------------------------------------------------------


def tensor_record(arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str]) -> str:
    """The record `save` stores: arrays are C-contiguous and little-endian, as written."""
    tensors = {name: {"dtype": SAFETENSORS_DTYPES[array.dtype.newbyteorder("=")],
                      "shape": list(array.shape), "sha256": sha256(array_bytes(array))}
               for name, array in arrays.items()}
    values = {key: sha256(value.encode()) for key, value in metadata.items()}
    return json.dumps({"tensors": tensors, "metadata": values}, separators=(",", ":"))


def array_bytes(array: np.ndarray) -> memoryview:
    """The bytes of a C-contiguous array, as a flat view (no copy)."""
    return array.reshape(-1).view(np.uint8).data


def tensor_faults(header: dict[str, Any], data: memoryview | None) -> list[str] | None:
    """What in a checked safetensors header (and its data buffer, unless None) differs from
    its record; None when it has no record."""
    metadata = dict(header.get("__metadata__") or {})
    if CHECKSUM_KEY not in metadata:
        near = near_keys(metadata)
        return [f"its checksum record's key reads {near[0]!r}, not {CHECKSUM_KEY!r}"] \
            if near else None
    record = _read_record(metadata.pop(CHECKSUM_KEY))
    if record is None:
        return [f"its checksum record (metadata {CHECKSUM_KEY!r}) is not readable"]
    entries = {name: entry for name, entry in header.items() if name != "__metadata__"}
    faults = _name_faults("tensor", entries, record["tensors"])
    for name in sorted(entries.keys() & record["tensors"].keys(),
                       key=lambda name: entries[name]["data_offsets"][0]):
        entry, saved = entries[name], record["tensors"][name]
        if (entry["dtype"], entry["shape"]) != (saved["dtype"], saved["shape"]):
            faults.append(f"tensor {name!r} was saved as {saved['dtype']} {saved['shape']}, but "
                          f"the header now says {entry['dtype']} {entry['shape']}")
        elif data is not None:
            begin, end = entry["data_offsets"]
            if sha256(data[begin:end]) != saved["sha256"]:
                faults.append(f"tensor {name!r} does not match its SHA-256 (its bytes changed "
                              f"after it was saved)")
    return faults + _value_faults("metadata", metadata, record["metadata"],
                                  lambda value: value.encode())


def _read_record(text: str) -> dict[str, Any] | None:
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict) or set(record) != {"tensors", "metadata"}:
        return None
    tensors, values = record["tensors"], record["metadata"]
    if not isinstance(tensors, dict) or not all(
            isinstance(saved, dict) and set(saved) == {"dtype", "shape", "sha256"}
            for saved in tensors.values()):
        return None
    return record if _is_digests(values) else None


def near_keys(mapping: Iterable[str]) -> list[str]:
    """Keys that look like CHECKSUM_KEY with a changed byte."""
    return [key for key in mapping if isinstance(key, str) and difflib.SequenceMatcher(
        None, key, CHECKSUM_KEY).ratio() >= NEAR_KEY_RATIO]


def _is_digests(values: object) -> bool:
    return isinstance(values, dict) and all(isinstance(value, str) for value in values.values())


def _name_faults(kind: str, present: Mapping[str, Any], recorded: Mapping[str, Any]) -> list[str]:
    added = [f"{kind} {name!r} is not in its checksum record (added, or its name changed)"
             for name in sorted(present.keys() - recorded.keys())]
    return added + [f"{kind} {name!r} of its checksum record is missing"
                    for name in sorted(recorded.keys() - present.keys())]


def _value_faults(kind: str, values: Mapping[str, Any], recorded: Mapping[str, str],
                  encode: Any) -> list[str]:
    faults = _name_faults(kind, values, recorded)
    for key in values.keys() & recorded.keys():
        if sha256(encode(values[key])) != recorded[key]:
            faults.append(f"{kind} {key!r} does not match its SHA-256 (changed after it was "
                          f"written)")
    return sorted(faults)


# --- JSON files ------------------------------------------------------------------------------


def with_json_record(content: Mapping[str, Any]) -> dict[str, Any]:
    """`content` with its record as a last top-level entry."""
    if CHECKSUM_KEY in content:
        raise ValueError(f"the key {CHECKSUM_KEY!r} is layerwise's own (the checksum record)")
    return {**content, CHECKSUM_KEY: {key: sha256(canonical(value))
                                      for key, value in content.items()}}


def json_faults(content: dict[str, Any]) -> list[str] | None:
    """What in a JSON file's parsed content differs from its record (which this removes from
    `content`); None when it has no record."""
    if CHECKSUM_KEY not in content:
        near = near_keys(content)
        return [f"its checksum record's key reads {near[0]!r}, not {CHECKSUM_KEY!r}"] \
            if near else None
    record = content.pop(CHECKSUM_KEY)
    if not _is_digests(record):
        return [f"its checksum record ({CHECKSUM_KEY!r}) is not readable"]
    return _value_faults("entry", content, record, canonical)


def json_key_at(text: str, position: int) -> str | None:
    """The top-level key of a JSON object whose value holds `position` (where a parser stopped),
    so that a changed byte is named even when the file no longer parses."""
    depth, key, start, in_string, escaped = 0, None, 0, False, False
    last_string = ""
    for index, char in enumerate(text[:position]):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string, last_string = False, text[start:index]
        elif char == '"':
            in_string, start = True, index + 1
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
        elif char == ":" and depth == 1:
            key = last_string
    return key
