"""Fuzzing: random and mutated IDX files and checkpoints, and labels of every dtype, only ever
give layerwise's documented errors (DataError, CheckpointError, a ValueError or TypeError that
names the problem), never another exception, and a hostile header allocates nothing large.

The examples are derandomized and bounded, so CI runs the same few hundred cases every time.
"""

from __future__ import annotations

import gzip
import json
import signal
import struct
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import layerwise as lw
from layerwise import functional as F
from layerwise.checksums import CHECKSUM_KEY
from layerwise.data import DataError, read_idx, write_idx

# tmp_path is shared by the examples of one test: each example overwrites its file.
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
# What reading a small file may cost, whatever sizes its header declares.
SMALL_PEAK_BYTES = 2 * 2**20
# Each test's examples take a second or two; one that runs for a minute is stuck in one.
HANG_SECONDS = 60


class Hung(BaseException):
    """Not an Exception, so that hypothesis does not replay (and hang in) the example again
    to shrink it."""


@pytest.fixture(autouse=True)
def fail_instead_of_hanging() -> Iterator[None]:
    """A reader that loops forever on some file fails its test rather than stalling CI."""
    def stop(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"the test ran for more than {HANG_SECONDS} s: an example hangs")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def traced_peak(function: Callable[[], object]) -> tuple[object, int]:
    """Call `function`; return its result (or the exception it raised) and its peak memory."""
    tracemalloc.start()
    try:
        outcome: object = function()
    except Exception as error:
        outcome = error
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return outcome, peak


def mutate(data: st.DataObject, content: bytes, first: int = 0, last: int | None = None
           ) -> bytes:
    """`content` with one to four bytes flipped, set, inserted or deleted, or cut short,
    at positions between `first` and `last` (the end by default)."""
    mutated = bytearray(content)
    for _ in range(data.draw(st.integers(1, 4))):
        end = len(mutated) if last is None else min(last, len(mutated))
        position = data.draw(st.integers(min(first, end), end))
        kind = data.draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        if kind == "truncate":
            del mutated[position:]
        elif kind == "insert":
            mutated[position:position] = data.draw(st.binary(min_size=1, max_size=8))
        elif position < len(mutated) and kind == "delete":
            del mutated[position:position + data.draw(st.integers(1, 8))]
        elif position < len(mutated) and kind == "flip":
            mutated[position] ^= 1 << data.draw(st.integers(0, 7))
        elif position < len(mutated):
            mutated[position] = data.draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF]))
    return bytes(mutated)


# --- IDX files ---------------------------------------------------------------------------------

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
             np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}
idx_arrays = st.sampled_from(sorted(IDX_CODES, key=str)).flatmap(
    lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0,
                                                    max_side=5)))


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, IDX_CODES[array.dtype], array.ndim])
    return header + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(
        array.dtype.newbyteorder(">")).tobytes()


def check_idx_outcome(path: Path, content: bytes) -> None:
    """Write `content` to `path`: read_idx either refuses it with a DataError naming the file,
    or returns the array that writes back to exactly the (decompressed) content."""
    path.write_bytes(content)
    try:
        array = read_idx(path)
    except DataError as error:
        assert str(error).startswith(f"{path}: ")
        return
    plain = gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content
    assert idx_bytes(array) == plain


@FUZZ
@given(content=st.binary(max_size=64) | st.builds(
    lambda code, ndim, rest: bytes([0, 0, code, ndim]) + rest,
    st.sampled_from([*IDX_CODES.values(), 0x00, 0x0A, 0xFF]), st.integers(0, 34),
    st.binary(max_size=64)), compress=st.booleans())
def test_read_idx_of_random_bytes(tmp_path: Path, content: bytes, compress: bool) -> None:
    check_idx_outcome(tmp_path / "random.idx", gzip.compress(content) if compress else content)


@FUZZ
@given(array=idx_arrays, compress=st.booleans())
def test_read_idx_returns_what_write_idx_wrote(tmp_path: Path, array: np.ndarray,
                                               compress: bool) -> None:
    path = tmp_path / ("round-trip.idx.gz" if compress else "round-trip.idx")
    write_idx(path, array)
    loaded = read_idx(path)
    assert loaded.dtype == array.dtype and loaded.shape == array.shape
    assert loaded.tobytes() == array.tobytes()  # bit for bit, NaN payloads included


@FUZZ
@given(array=idx_arrays, compress=st.booleans(), data=st.data())
def test_read_idx_of_mutated_files(tmp_path: Path, array: np.ndarray, compress: bool,
                                   data: st.DataObject) -> None:
    plain = idx_bytes(array)
    header_end = 4 + 4 * array.ndim
    if compress:  # mutate the compressed stream, or compress a mutated file
        content = (mutate(data, gzip.compress(plain, mtime=0)) if data.draw(st.booleans())
                   else gzip.compress(mutate(data, plain, last=header_end), mtime=0))
    else:  # mutate anywhere, or only the header, where each byte matters most
        content = mutate(data, plain, last=data.draw(st.sampled_from([None, header_end])))
    check_idx_outcome(tmp_path / "mutated.idx", content)


huge_sizes = st.integers(0, 4) | st.integers(2**16, 2**32 - 1) | st.just(2**32 - 1)


@FUZZ
@example(code=0x0E, shape=[2**32 - 1, 2**32 - 1, 0], body=b"", compress=False)
@given(code=st.sampled_from(sorted(IDX_CODES.values())),
       shape=st.lists(huge_sizes, min_size=1, max_size=32), body=st.binary(max_size=64),
       compress=st.booleans())
def test_a_hostile_idx_header_allocates_nothing_large(
        tmp_path: Path, code: int, shape: list[int], body: bytes, compress: bool) -> None:
    content = bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + body
    path = tmp_path / "hostile.idx"
    path.write_bytes(gzip.compress(content) if compress else content)
    outcome, peak = traced_peak(lambda: read_idx(path))
    assert isinstance(outcome, DataError | np.ndarray), repr(outcome)
    assert peak < SMALL_PEAK_BYTES


def test_gzip_data_costs_what_the_stream_holds_not_what_the_header_declares(
        tmp_path: Path) -> None:
    """A gzip file can hold far more than its size (16 MiB of zeros compress to 16 KiB): its
    bound is what the stream decompresses to (read up to one byte past the declared size)."""
    held = 16 * 2**20
    path = tmp_path / "bomb.idx.gz"
    path.write_bytes(gzip.compress(struct.pack(">4B3I", 0, 0, 0x08, 3, *[2**32 - 1] * 3)
                                   + bytes(held)))
    outcome, peak = traced_peak(lambda: read_idx(path))
    assert isinstance(outcome, DataError) and "truncated IDX data" in str(outcome)
    assert peak < 3 * held


# --- checkpoints -------------------------------------------------------------------------------

SAFETENSORS_DTYPES = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "U16": np.uint16,
                      "I16": np.int16, "F16": np.float16, "U32": np.uint32, "I32": np.int32,
                      "F32": np.float32, "U64": np.uint64, "I64": np.int64, "F64": np.float64}


@st.composite
def checkpoint_arrays(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """One to three arrays of random names, dtypes, shapes and bytes."""
    names = draw(st.lists(st.text(max_size=6).filter(lambda name: name != "__metadata__"),
                          min_size=1, max_size=3, unique=True))
    arrays = {}
    for name in names:
        dtype = np.dtype(draw(st.sampled_from(list(SAFETENSORS_DTYPES.values()))))
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
        raw = np.frombuffer(draw(st.binary(min_size=int(np.prod(shape)) * dtype.itemsize,
                                           max_size=int(np.prod(shape)) * dtype.itemsize)),
                            dtype=np.uint8)
        arrays[name] = (raw & 1 if dtype == np.bool_ else raw).view(dtype).reshape(shape)
    return arrays


metadata_maps = st.dictionaries(st.text(max_size=5), st.text(max_size=10), max_size=2)
json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.text(max_size=6) | st.integers()
    | st.sampled_from([-1, 0, 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**30]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=6)


def split_safetensors(content: bytes) -> tuple[dict[str, Any], bytes]:
    length = struct.unpack("<Q", content[:8])[0]
    return json.loads(content[8:8 + length]), content[8 + length:]


def join_safetensors(header: object, buffer: bytes) -> bytes:
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + buffer


def check_checkpoint_outcome(path: Path, content: bytes,
                             saved: dict[str, np.ndarray] | None = None) -> None:
    """Write `content` to `path`: load and load_metadata both refuse it with a
    CheckpointError naming the file, or both read it, with arrays as the header describes.

    `saved` are the arrays of the file `content` was made from by changing bytes. Only load
    reads the data section, so a change there alone is refused by load (its checksum) and not
    by load_metadata; and whatever load reads from a file with checksums is what was saved.
    """
    path.write_bytes(content)
    outcomes = []
    errors = []
    for reader in (lw.load, lw.load_metadata):
        try:
            outcomes.append(reader(path))
        except lw.CheckpointError as error:
            assert str(error).startswith(f"{path}: ")
            outcomes.append(None)
            errors.append(str(error))
    arrays, metadata = outcomes
    if saved is not None and arrays is None and metadata is not None:
        assert "does not match its SHA-256" in errors[0], errors[0]
        return
    assert (arrays is None) == (metadata is None), "load and load_metadata disagree"
    if arrays is None:
        return
    if saved is not None and CHECKSUM_KEY in content[8:].decode("utf-8", "replace"):
        assert {name: (array.dtype, array.shape, array.tobytes())
                for name, array in arrays.items()} == {
            name: (array.dtype, array.shape, array.tobytes()) for name, array in saved.items()}
    header, buffer = split_safetensors(content)
    stored = header.pop("__metadata__", None) or {}
    # The checksums' own entry is checked by load and never handed to the user.
    assert metadata == {key: value for key, value in stored.items() if key != CHECKSUM_KEY}
    assert sorted(arrays) == sorted(header)
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        array = arrays[name]
        assert array.dtype == SAFETENSORS_DTYPES[entry["dtype"]]
        assert list(array.shape) == entry["shape"]
        assert array.tobytes() == buffer[begin:end]


@FUZZ
@given(arrays=checkpoint_arrays(), metadata=metadata_maps)
def test_load_returns_what_save_wrote(tmp_path: Path, arrays: dict[str, np.ndarray],
                                      metadata: dict[str, str]) -> None:
    path = tmp_path / "round-trip.safetensors"
    lw.save(arrays, path, metadata=metadata)
    loaded = lw.load(path)
    assert sorted(loaded) == sorted(arrays)
    for name, array in arrays.items():
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape
        assert loaded[name].tobytes() == array.tobytes()
    assert lw.load_metadata(path) == metadata


def with_length(header: bytes) -> bytes:
    return struct.pack("<Q", len(header)) + header


@FUZZ
@example(with_length(b"[" * 100_000))  # nested too deeply for the json module
@example(with_length(b'{"a": ' + b"1" * 5000 + b"}"))  # beyond int("...")'s 4,300 digits
@example(with_length(b'{"a": {"dtype": [], "shape": [], "data_offsets": [0, 1]}}') + b"\0")
@example(with_length(b'{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, '
                     b'"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}') + b"\0")
@example(with_length(b'{"\\ud800": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}')
         + b"\0")
@example(with_length(b'{"a": {"dtype": "F64", "shape": [0, 18446744073709551615], '
                     b'"data_offsets": [0, 0]}}'))
@example(with_length(b'{"a": {"dtype": "U8", "shape": [' + b", ".join([b"1"] * 33)
                     + b'], "data_offsets": [0, 1]}}') + b"\0")
@given(content=st.binary(max_size=96) | st.builds(
    lambda length, header, rest: struct.pack("<Q", length) + header + rest,
    st.integers(0, 2**64 - 1) | st.integers(0, 80), st.binary(max_size=64)
    | json_values.map(lambda value: json.dumps(value).encode()), st.binary(max_size=16)))
def test_load_of_random_bytes(tmp_path: Path, content: bytes) -> None:
    check_checkpoint_outcome(tmp_path / "random.safetensors", content)


@FUZZ
@given(arrays=checkpoint_arrays(), metadata=metadata_maps, data=st.data())
def test_load_of_mutated_files(tmp_path: Path, arrays: dict[str, np.ndarray],
                               metadata: dict[str, str], data: st.DataObject) -> None:
    source = tmp_path / "source.safetensors"
    lw.save(arrays, source, metadata=metadata)
    content = source.read_bytes()
    header, buffer = split_safetensors(content)
    header_end = len(content) - len(buffer)
    part = data.draw(st.sampled_from(["bytes", "header bytes", "length", "entry", "entry",
                                      "entry", "cut"]))
    if part == "bytes":
        content = mutate(data, content)
    elif part == "header bytes":
        content = mutate(data, content, first=8, last=header_end)
    elif part == "length":
        length = data.draw(st.integers(0, 2**64 - 1) | st.integers(header_end - 16,
                                                                    header_end + 16))
        content = struct.pack("<Q", max(length, 0)) + content[8:]
    elif part == "entry":  # one field of one entry (or the metadata) becomes any JSON value
        key = data.draw(st.sampled_from(sorted(header)) if header else st.just("__metadata__"))
        field = data.draw(st.sampled_from(["dtype", "shape", "data_offsets", None]))
        value = data.draw(json_values | st.lists(st.integers(-2, 2**64), max_size=3))
        if field is None or not isinstance(header.get(key), dict):
            header[key] = value
        else:
            header[key][field] = value
        content = join_safetensors(header, buffer)
    else:
        content = content[:data.draw(st.integers(0, len(content)))]
    check_checkpoint_outcome(tmp_path / "mutated.safetensors", content, saved=arrays)


@FUZZ
@given(length=st.integers(0, 2**64 - 1),
       shape=st.lists(st.integers(0, 2**64 - 1) | st.just(2**64 - 1), max_size=40),
       offsets=st.lists(st.integers(0, 2**64 - 1), min_size=2, max_size=2),
       honest_length=st.booleans())
def test_a_hostile_checkpoint_header_allocates_nothing_large(
        tmp_path: Path, length: int, shape: list[int], offsets: list[int],
        honest_length: bool) -> None:
    header = {"a": {"dtype": "F64", "shape": shape, "data_offsets": offsets}}
    content = join_safetensors(header, bytes(64))
    if not honest_length:
        content = struct.pack("<Q", length) + content[8:]
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(content)
    for reader in (lw.load, lw.load_metadata):
        outcome, peak = traced_peak(lambda reader=reader: reader(path))
        assert isinstance(outcome, lw.CheckpointError | dict), repr(outcome)
        assert peak < SMALL_PEAK_BYTES


# --- class labels ------------------------------------------------------------------------------

LABEL_DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                np.uint32, np.uint64, np.float16, np.float32, np.float64]


def odd_targets(count: int) -> st.SearchStrategy[Any]:
    """Targets no label check should take: objects, text, complex, dates, ragged lists."""
    values = list(range(count))
    return st.sampled_from([
        np.array(values, dtype=object), np.array([str(v) for v in values]),
        np.array([str(v).encode() for v in values]), np.array(values, dtype=np.complex128),
        np.array(values, dtype="datetime64[s]"), np.array(values, dtype="timedelta64[s]"),
        [*values[:-1], None], [*values[:-1], 2**70], [*values[:-1], "1"], "0", None,
        np.array([{"label": v} for v in values], dtype=object)])


@st.composite
def label_targets(draw: st.DrawFn, count: int, num_classes: int) -> Any:
    """Arrays of every numeric dtype, mostly of `count` labels near 0..num_classes-1, or a
    wrong shape, or any value of the dtype (NaN, inf, fractions, the extremes)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(odd_targets(count))
    dtype = np.dtype(draw(st.sampled_from(LABEL_DTYPES)))
    shape = draw(st.sampled_from([(count,)] * 6 + [(count + 1,), (count, 1), (1, count), ()]))
    if dtype.kind == "b":
        likely = st.booleans()
    elif dtype.kind == "f":
        likely = st.integers(-3, num_classes + 2) | st.floats(-2, num_classes + 1, width=16)
    else:
        info = np.iinfo(dtype)
        likely = (st.integers(-3, num_classes + 2) | st.just(-100)).filter(
            lambda value: info.min <= value <= info.max)
    return draw(hnp.arrays(dtype, shape, elements=likely | hnp.from_dtype(dtype)))


def expected_fault(target: object, count: int, num_classes: int, ignore_index: int | None
                   ) -> tuple[str, ...] | None:
    """Phrases the error for `target` must contain, or None if they are good class labels."""
    if not isinstance(target, np.ndarray) or target.dtype.kind not in "biuf":
        return ("",)  # any ValueError or TypeError that names the function or the data
    if target.shape != (count,):
        return ("shape",)
    if target.dtype.kind not in "iuf":
        return ("integers", str(target.dtype))
    values = target.tolist()
    for position, value in enumerate(values):
        if isinstance(value, float) and not value.is_integer():
            return ("whole numbers", f"position {position}")
    for position, value in enumerate(values):
        if int(value) != ignore_index and not 0 <= int(value) < num_classes:
            # Whole floats are shown as ints while they fit in int64, as they are beyond.
            shown = int(value) if isinstance(value, int) or abs(value) < 2.0**63 else value
            return (f"label {shown} at position {position}", "out of range",
                    f"{num_classes} classes")
    return None


def check_fault(call: Callable[[], object], phrases: tuple[str, ...], name: str) -> None:
    with pytest.raises((ValueError, TypeError)) as caught:
        call()
    message = str(caught.value)
    assert name in message or "tensor" in message.lower(), message
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"


def reference_cross_entropy(logits: np.ndarray, labels: np.ndarray, ignore_index: int,
                            reduction: str) -> np.ndarray:
    log_probs = logits - logits.max(axis=1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    valid = labels != ignore_index
    picked = log_probs[np.arange(len(labels)), np.where(valid, labels, 0)]
    losses = np.where(valid, -picked, 0.0)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return np.asarray(losses.sum())
    return np.asarray(losses.sum() / valid.sum() if valid.any() else np.nan)


@FUZZ
@given(data=st.data(), count=st.integers(0, 4), num_classes=st.integers(1, 5),
       ignore_index=st.sampled_from([-100, -1, 0]),
       reduction=st.sampled_from(["mean", "sum", "none"]), seed=st.integers(0, 2**16))
def test_cross_entropy_takes_good_labels_and_names_bad_ones(
        data: st.DataObject, count: int, num_classes: int, ignore_index: int, reduction: str,
        seed: int) -> None:
    target = data.draw(label_targets(count, num_classes))
    logits = np.random.default_rng(seed).standard_normal((count, num_classes))
    assume(np.shape(target) != logits.shape)  # probabilities, not class labels

    def call() -> lw.Tensor:
        return F.cross_entropy(logits, target, reduction=reduction, ignore_index=ignore_index)

    fault = expected_fault(target, count, num_classes, ignore_index)
    if fault is not None:
        check_fault(call, fault, "cross_entropy")
        return
    expected = reference_cross_entropy(logits, np.asarray(target).astype(np.int64),
                                       ignore_index, reduction)
    np.testing.assert_allclose(call().data, expected, rtol=1e-12, atol=1e-12)


@FUZZ
@given(data=st.data(), count=st.integers(0, 4), num_classes=st.integers(1, 5))
def test_one_hot_takes_good_labels_and_names_bad_ones(data: st.DataObject, count: int,
                                                      num_classes: int) -> None:
    target = data.draw(label_targets(count, num_classes))
    flat = target.reshape(-1) if isinstance(target, np.ndarray) else target
    size = flat.shape[0] if isinstance(flat, np.ndarray) else count
    fault = expected_fault(flat, size, num_classes, None)
    if fault is not None:
        check_fault(lambda: F.one_hot(target, num_classes), fault, "one_hot")
        return
    labels = np.asarray(target).astype(np.int64)
    expected = np.eye(num_classes)[labels]
    np.testing.assert_array_equal(F.one_hot(target, num_classes), expected)


# Labels beyond the int64 range are checked in their own dtype, never wrapped by a cast.
MISREAD = [
    pytest.param(np.array([0.0, np.inf]), "inf", id="float-inf"),
    pytest.param(np.array([0.0, -1e300]), "-1e+300", id="float-beyond-int64"),
    pytest.param(np.array([0, 2**64 - 1], dtype=np.uint64), "18446744073709551615",
                 id="uint64-beyond-int64"),
]


@pytest.mark.parametrize(("target", "value"), MISREAD)
def test_labels_beyond_int64_are_named_as_they_are(target: np.ndarray, value: str) -> None:
    check_fault(lambda: F.one_hot(target, 3), (value,), "one_hot")
    check_fault(lambda: F.cross_entropy(np.zeros((2, 3)), target), (value,), "cross_entropy")


def test_a_huge_uint64_label_is_not_taken_for_ignore_index() -> None:
    target = np.array([0, 2**64 - 100], dtype=np.uint64)
    check_fault(lambda: F.cross_entropy(np.zeros((2, 3)), target), ("18446744073709551516",),
                "cross_entropy")
