"""Checkpoints: named arrays in the safetensors format, written atomically, read without
running any code; and the run's JSON files, written and read the same careful way.

A safetensors file is an 8-byte little-endian header length, a JSON header naming each array's
dtype, shape and byte range, then the raw bytes. `load` checks all of that against the file's
real size before anything is allocated or handed to the safetensors package, so a truncated,
random or hostile file (a pickle under any name) is refused with a sentence that names it.

`save` and `write_json` also record SHA-256 checksums of what they write (layerwise.checksums),
and `load`, `load_metadata` and `read_json` compare them, so that a byte changed on disk since
(bit rot, a bad copy, a partial overwrite) is a CheckpointError naming the file and the tensor or
entry, not wrong numbers. A file without a record loads, with a NoChecksumWarning.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy

from layerwise.checksums import (
    CHECKSUM_KEY,
    SAFETENSORS_DTYPES,
    json_faults,
    json_key_at,
    tensor_faults,
    tensor_record,
    warn_unchecked,
    with_json_record,
)
from layerwise.devices import check_device
from layerwise.tensor import Tensor

# The safetensors dtype names load reads, with their sizes in bytes: those NumPy can hold, and
# bfloat16 (PyTorch's torch.bfloat16), which load widens to float32.
ITEM_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "U16": 2, "I16": 2, "F16": 2, "U32": 4, "I32": 4,
              "F32": 4, "U64": 8, "I64": 8, "F64": 8, "BF16": 2}
# The safetensors package's own limits: a 100,000,000-byte header, sizes that fit in a u64.
MAX_HEADER_BYTES = 100_000_000
MAX_SIZE = 2**64 - 1
# NumPy 1.26, the oldest we support, allows at most 32 dimensions, and no array of more than
# the largest intp bytes (counting only the nonzero sizes: a (0, 2**62) float64 array is refused).
MAX_DIMENSIONS = 32
MAX_ARRAY_BYTES = int(np.iinfo(np.intp).max)


class CheckpointError(ValueError):
    """A file that is not a readable checkpoint; the message names the file and the fault."""


def save(tensors: Mapping[str, Any], path: str | os.PathLike[str],
         metadata: Mapping[str, str] | None = None) -> None:
    """Write named arrays (or Tensors) to `path` in the safetensors format, atomically, with
    the SHA-256 of each array's bytes.

    The bytes go to a temporary file in the same folder, are flushed to disk (fsync), and the
    file is renamed over `path`: a crash at any moment leaves either the old file or the new
    one, never a torn one. The checksums (of each array, with its dtype and shape, and of each
    metadata value) go into the metadata under "layerwise.sha256", which `load_metadata` does
    not return.

    Args:
        tensors: name -> ndarray or Tensor (numeric dtypes).
        path: where to write.
        metadata: optional str -> str pairs stored in the header (a config, versions); any
            key but "layerwise.sha256".
    """
    arrays: dict[str, np.ndarray] = {}
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"save: tensor names must be strings, got {name!r}")
        array = value.data if isinstance(value, Tensor) else np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"save: {name!r} has dtype {array.dtype}; only numeric arrays "
                            f"can be saved")
        if array.dtype.byteorder == ">":  # safetensors is little-endian
            array = array.astype(array.dtype.newbyteorder("<"))
        arrays[name] = array if array.flags.c_contiguous else array.copy(order="C")
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"save: metadata must map str to str, got {key!r}: {value!r}")
    if CHECKSUM_KEY in (metadata or {}):
        raise ValueError(f"save: the metadata key {CHECKSUM_KEY!r} is layerwise's own (the "
                         f"checksums of the file); name yours otherwise")
    stored = dict(metadata or {})
    stored[CHECKSUM_KEY] = tensor_record(arrays, stored)
    payload = safetensors.numpy.save(arrays, metadata=stored)
    write_atomically(Path(path), payload)


def write_json(path: str | os.PathLike[str], content: Mapping[str, Any], indent: int = 2) -> None:
    """Write a JSON object atomically, with the SHA-256 of each top-level value under the key
    "layerwise.sha256" (which `read_json` checks and removes)."""
    text = json.dumps(with_json_record(content), indent=indent)
    write_atomically(Path(path), (text + "\n").encode())


def read_json(path: str | os.PathLike[str]) -> Any:
    """The JSON value in `path`; an object written by `write_json` is checked against its
    checksums and returned without them.

    Raises:
        FileNotFoundError: there is no such file.
        ValueError: the file is not UTF-8 JSON.
        CheckpointError: a top-level value changed since it was written; the message names it.
    """
    path = Path(path)
    content = _parse_json(path, ValueError)
    if isinstance(content, dict):
        faults = json_faults(content)
        if faults is None:
            warn_unchecked(path)
        elif faults:
            raise corrupt(path, faults)
    return content


def _parse_json(path: Path, error_class: type[ValueError]) -> Any:
    """The JSON value of a file; `error_class` names the file, and the entry where the text
    stops being JSON."""
    raw = path.read_bytes()
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError as error:  # not UTF-8, not JSON
        if isinstance(error, UnicodeDecodeError):
            text, position = raw[:error.start].decode("utf-8"), error.start
        else:
            text, position = raw.decode("utf-8"), getattr(error, "pos", 0)
        key = json_key_at(text, position)
        where = f", in entry {key!r}" if key is not None else ""
        raise error_class(f"{path}: not valid JSON ({error}){where}") from None


def corrupt(path: Path, faults: list[str]) -> CheckpointError:
    """The error of a file whose content differs from its checksum record."""
    return CheckpointError(f"{path}: corrupt: {'; '.join(faults)}")


def write_atomically(path: Path, payload: bytes) -> None:
    """Replace `path` by `payload` through a temporary file, fsync and rename."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"save: cannot write {path}: the folder {folder} does not exist")
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load(path: str | os.PathLike[str], weights_only: bool = True,
         map_location: Any = None) -> dict[str, np.ndarray]:
    """Read the named arrays of a checkpoint written by `save` (or any safetensors file).

    bfloat16 arrays (safetensors "BF16", which NumPy cannot hold) come back as float32, exactly
    (see `widen_bfloat16`). A checkpoint holds arrays only and loading never runs code, so
    PyTorch's `weights_only` and `map_location` (the CPU is the only device) are accepted and
    change nothing.

    The arrays are checked against the checksums `save` recorded; a file without them (written
    before layerwise kept them, or by another program) loads with a NoChecksumWarning.

    Raises:
        FileNotFoundError: there is no such file.
        CheckpointError: the file is not a valid safetensors file (too short, header length
            beyond the file, header not JSON, a name given twice, unknown dtype, sizes NumPy
            cannot hold, byte ranges that do not fit), or it is corrupt: a tensor's bytes,
            dtype or shape, or a metadata value, differ from its checksum record (the message
            names each).
    """
    if isinstance(map_location, str):
        check_device(map_location, "load")
    data, header = _read_checked(Path(path), with_data=True)
    _verify(Path(path), header, memoryview(data)[len(data) - _data_size(header):])
    try:
        arrays = widen_bfloat16(data) if _has_bfloat16(header) else safetensors.numpy.load(data)
    except Exception as error:  # the header passed our checks; report anything else as ours
        raise CheckpointError(f"{path}: not a readable safetensors file ({error})") from None
    in_file_order = sorted((name for name in header if name != "__metadata__"),
                           key=lambda name: header[name]["data_offsets"][0])
    return {name: arrays[name] for name in in_file_order}


def load_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The str -> str metadata stored in a checkpoint's header ({} if none), without the
    checksums `save` adds.

    The whole header is checked as in `load`, and the metadata and each tensor's dtype and
    shape against the checksums (the tensors' bytes are not read: `load` checks them).

    Raises:
        FileNotFoundError: there is no such file.
        CheckpointError: the file is not a valid safetensors file, or its header is corrupt.
    """
    _, header = _read_checked(Path(path), with_data=False)
    _verify(Path(path), header, None)
    metadata = dict(header.get("__metadata__") or {})
    metadata.pop(CHECKSUM_KEY, None)
    return metadata


def verify(path: str | os.PathLike[str]) -> bool:
    """Check a safetensors file or a JSON file of a run against its checksums, without
    creating any array: True when it has them and they match, False when it has none.

    Raises:
        FileNotFoundError: there is no such file.
        CheckpointError: the file is not valid, or it is corrupt (the message says where).
    """
    path = Path(path)
    if path.suffix == ".json":
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        content = _parse_json(path, CheckpointError)
        faults = json_faults(content) if isinstance(content, dict) else None
    else:
        data, header = _read_checked(path, with_data=True)
        faults = tensor_faults(header, memoryview(data)[len(data) - _data_size(header):])
    if faults:
        raise corrupt(path, faults)
    return faults is not None


def _verify(path: Path, header: dict[str, Any], data: memoryview | None) -> None:
    faults = tensor_faults(header, data)
    if faults is None:
        warn_unchecked(path)
    elif faults:
        raise corrupt(path, faults)


def _data_size(header: dict[str, Any]) -> int:
    """The size of a checked header's data buffer (its ranges cover it exactly)."""
    return max((entry["data_offsets"][1] for name, entry in header.items()
                if name != "__metadata__"), default=0)


def _read_checked(path: Path, with_data: bool) -> tuple[bytes, dict[str, Any]]:
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    size = path.stat().st_size

    def refuse(reason: str) -> CheckpointError:
        return CheckpointError(f"{path}: not a safetensors checkpoint: {reason}")

    if size < 8:
        raise refuse(f"the file has {size} bytes, fewer than the 8 of a header length")
    with path.open("rb") as file:
        header_length = int.from_bytes(file.read(8), "little")
        if header_length > size - 8:
            raise refuse(f"its header length field says {header_length} bytes but the file "
                         f"has {size - 8} after it (truncated, or another format such as a "
                         f"pickle){pytorch_file_hint(header_length.to_bytes(8, 'little'))}")
        if header_length > MAX_HEADER_BYTES:
            raise refuse(f"its header length field says {header_length} bytes, more than the "
                         f"{MAX_HEADER_BYTES} safetensors allows")
        header_bytes = file.read(header_length)
        try:
            header = json.loads(header_bytes.decode("utf-8"), object_pairs_hook=_unique_keys)
        except _RepeatedKeyError as error:
            raise refuse(f"its header names {error.args[0]!r} twice in one object") from None
        except RecursionError:
            raise refuse("its header is not JSON (nested too deeply)") from None
        except ValueError as error:  # not UTF-8, not JSON, a number of 4,300 digits or more
            raise refuse(f"its header is not JSON ({error}){_place(header_bytes, error)}"
                         ) from None
        if not isinstance(header, dict):
            raise refuse("its header is not a JSON object")
        _check_entries(header, size - 8 - header_length, refuse)
        if not with_data:
            return b"", header
        file.seek(0)
        data = file.read()
    return data, header


# In a header's text, a key that opens an object (a tensor's entry, "__metadata__"), and a key
# whose value is a string (a metadata value); the quote before either is not escaped.
OBJECT_KEY = re.compile(r'(?<!\\)"((?:[^"\\]|\\.)*)"\s*:\s*\{')
STRING_KEY = re.compile(r'(?<!\\)"((?:[^"\\]|\\.)*)"\s*:\s*"')


def _place(header: bytes, error: ValueError) -> str:
    """Where in the header a JSON error is, by the tensor or metadata key it falls in ("" when
    before any), so that a changed byte is named even when the header no longer parses."""
    position = error.start if isinstance(error, UnicodeDecodeError) else getattr(error, "pos", 0)
    text = header[:position].decode("utf-8", errors="replace") \
        if isinstance(error, UnicodeDecodeError) else header.decode("utf-8")[:position]
    objects = list(OBJECT_KEY.finditer(text))
    if not objects:
        return ""
    if objects[-1].group(1) != "__metadata__":
        return f", in the entry of tensor {objects[-1].group(1)!r}"
    keys = list(STRING_KEY.finditer(text, objects[-1].end()))
    return f", in metadata {keys[-1].group(1)!r}" if keys else ", in its __metadata__"


class _RepeatedKeyError(ValueError):
    """A JSON object with the same key twice: readers disagree on which one counts."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise _RepeatedKeyError(key)
        mapping[key] = value
    return mapping


def _is_text(value: object) -> bool:
    """A str that UTF-8 can encode (a JSON escape such as \\ud800 gives a lone surrogate,
    which it cannot)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SIZE


def _check_entries(header: dict[str, Any], buffer_size: int, refuse: Any) -> None:
    metadata = header.get("__metadata__", {})
    if metadata is not None and (not isinstance(metadata, dict) or not all(
            _is_text(k) and _is_text(v) for k, v in metadata.items())):
        raise refuse("its __metadata__ is not a map of strings to strings")
    ranges = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not _is_text(name):
            raise refuse(f"the name {name!r} is not valid Unicode text")
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise refuse(f"entry {name!r} does not have exactly dtype, shape and data_offsets")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(dtype, str) or dtype not in ITEM_SIZES:
            raise refuse(f"entry {name!r} has dtype {dtype!r}, expected one of "
                         f"{', '.join(ITEM_SIZES)}")
        if not isinstance(shape, list) or not all(_is_size(n) for n in shape):
            raise refuse(f"entry {name!r} has shape {shape!r}, expected a list of sizes")
        if len(shape) > MAX_DIMENSIONS:
            raise refuse(f"entry {name!r} has {len(shape)} dimensions, more than the "
                         f"{MAX_DIMENSIONS} NumPy allows")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(
                _is_size(n) for n in offsets)):
            raise refuse(f"entry {name!r} has data_offsets {offsets!r}, expected [begin, end]")
        begin, end = offsets
        expected = math.prod(shape) * ITEM_SIZES[dtype]
        if not 0 <= begin <= end <= buffer_size or end - begin != expected:
            raise refuse(f"entry {name!r} ({dtype} {shape}) needs {expected} bytes but its "
                         f"data_offsets are [{begin}, {end}] in a buffer of {buffer_size}")
        if math.prod(n for n in shape if n) * ITEM_SIZES[dtype] > MAX_ARRAY_BYTES:
            raise refuse(f"entry {name!r} has shape {shape}: no values, but sizes too large "
                         f"for a NumPy array")
        ranges.append((begin, end))
    position = 0
    for begin, end in sorted(ranges):
        if begin != position:
            raise refuse("its arrays overlap or leave gaps in the data buffer")
        position = end
    if position != buffer_size:
        raise refuse(f"its arrays cover {position} of the {buffer_size} data bytes")


# --- files from PyTorch --------------------------------------------------------------------------


def _has_bfloat16(header: dict[str, Any]) -> bool:
    return any(entry["dtype"] == "BF16" for name, entry in header.items()
               if name != "__metadata__")


def widen_bfloat16(data: bytes) -> dict[str, np.ndarray]:
    """The arrays of a checked safetensors file, its bfloat16 ones as float32.

    A bfloat16 is the upper 16 bits of the float32 of the same value (sign, 8 exponent bits,
    7 mantissa bits), so shifting its bits up by 16 gives that float32: no value changes.
    """
    arrays = {}
    for name, view in safetensors.deserialize(data):
        if view["dtype"] == "BF16":
            bits = np.frombuffer(view["data"], dtype="<u2").astype("<u4") << 16
            arrays[name] = bits.view("<f4").reshape(view["shape"])
        else:
            arrays[name] = np.frombuffer(view["data"], dtype=NUMPY_DTYPES[view["dtype"]]
                                         ).reshape(view["shape"]).copy()
    return arrays


# The NumPy dtype of each safetensors name, little-endian as the file's bytes are.
NUMPY_DTYPES = {name: dtype.newbyteorder("<") for dtype, name in SAFETENSORS_DTYPES.items()}

PYTORCH_CONVERSION = ("and layerwise never unpickles a file: convert it in PyTorch with "
                      "safetensors.torch.save_file(model.state_dict(), \"model.safetensors\")")


# The first bytes of a zip archive, the container torch.save writes its pickle in.
ZIP_SIGNATURE = b"PK\x03\x04"


def starts_as_pickle(head: bytes) -> bool:
    """Whether bytes start as a pickle of protocol 2 to 5 does (the PROTO opcode, 0x80)."""
    return len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5


def pytorch_file_hint(head: bytes) -> str:
    """A sentence for a file whose first bytes are those of what torch.save writes: a zip
    archive holding a pickle (PyTorch 1.6 on), or a bare pickle (earlier, or
    _use_new_zipfile_serialization=False); "" for other bytes."""
    if head.startswith(ZIP_SIGNATURE):
        return (f"; it is a zip archive, the format of torch.save (a pickle inside), "
                f"{PYTORCH_CONVERSION}")
    if starts_as_pickle(head):
        return f"; it starts as a pickle does (torch.save, pickle.dump), {PYTORCH_CONVERSION}"
    return ""
