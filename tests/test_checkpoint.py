"""Checkpoints: exact round trips, atomic writes, and refusal of anything that is not a valid
safetensors file, without running any of its code."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest

import layerwise as lw
from layerwise import nn

DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8,
          np.uint16, np.uint32, np.uint64, np.bool_]


def test_round_trip_of_every_dtype_and_odd_shapes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = {f"{np.dtype(d).name}": (rng.standard_normal((3, 2)) * 50).astype(d)
              for d in DTYPES}
    arrays["scalar"] = np.array(3.5)
    arrays["empty"] = np.zeros((0, 4), dtype=np.float32)
    arrays["strided"] = np.arange(12.0).reshape(3, 4)[:, ::2]
    path = tmp_path / "all.safetensors"
    lw.save(arrays, path, metadata={"epoch": "7"})
    loaded = lw.load(path)
    assert set(loaded) == set(arrays)
    assert list(lw.load(path)) == list(loaded)  # the same order every time
    for name, array in arrays.items():
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape
        np.testing.assert_array_equal(loaded[name], array)
    assert lw.load_metadata(path) == {"epoch": "7"}


def test_model_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2))
    lw.save(model.state_dict(), tmp_path / "model.safetensors")
    restored = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2))
    restored.load_state_dict(lw.load(tmp_path / "model.safetensors"))
    x = np.random.default_rng(1).standard_normal((3, 5))
    np.testing.assert_array_equal(restored(x).data, model(x).data)


def test_tensors_can_be_saved_directly(tmp_path: Path) -> None:
    lw.save({"w": lw.tensor([1.0, 2.0], requires_grad=True)}, tmp_path / "t.safetensors")
    np.testing.assert_array_equal(lw.load(tmp_path / "t.safetensors")["w"], [1.0, 2.0])


def test_saved_files_get_the_usual_permissions(tmp_path: Path) -> None:
    path = tmp_path / "ck.safetensors"
    lw.save({"a": np.zeros(3)}, path)
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_overwrite_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "ck.safetensors"
    lw.save({"a": np.zeros(3)}, path)
    lw.save({"a": np.ones(3)}, path)
    np.testing.assert_array_equal(lw.load(path)["a"], np.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["ck.safetensors"]


def test_a_failed_write_keeps_the_old_checkpoint(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ck.safetensors"
    lw.save({"a": np.zeros(3)}, path)

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        lw.save({"a": np.ones(3)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(lw.load(path)["a"], np.zeros(3))
    assert [p.name for p in tmp_path.iterdir()] == ["ck.safetensors"]


def safetensors_bytes(header: dict[str, object], buffer: bytes, header_length: int | None = None
                      ) -> bytes:
    encoded = json.dumps(header).encode()
    if header_length is not None:
        encoded = encoded.ljust(header_length)
    return struct.pack("<Q", len(encoded)) + encoded + buffer


GOOD_ENTRY = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "fewer than the 8 of a header length"),
        (b"\x01\x02\x03", "fewer than the 8 of a header length"),
        (np.random.default_rng(0).bytes(4096), "header length field says"),
        (struct.pack("<Q", 2**63) + b"{}", "header length field says"),
        (safetensors_bytes({"a": GOOD_ENTRY}, b"\x00" * 8)[:-3], "needs 8 bytes"),
        (struct.pack("<Q", 4) + b"\xff\xfe{}", "header is not JSON"),
        (struct.pack("<Q", 2) + b"[]", "header is not a JSON object"),
        (safetensors_bytes({"a": {**GOOD_ENTRY, "dtype": "O"}}, b"\x00" * 8), "dtype 'O'"),
        (safetensors_bytes({"a": {**GOOD_ENTRY, "shape": [-2]}}, b"\x00" * 8), "shape"),
        (safetensors_bytes({"a": {**GOOD_ENTRY, "shape": [2**40, 2**40]}}, b"\x00" * 8),
         "needs"),
        (safetensors_bytes({"a": GOOD_ENTRY, "b": GOOD_ENTRY}, b"\x00" * 8), "overlap"),
        (safetensors_bytes({"a": GOOD_ENTRY}, b"\x00" * 12), "cover 8 of the 12"),
        (safetensors_bytes({"a": {"dtype": "F32", "shape": [2]}}, b"\x00" * 8),
         "exactly dtype, shape and data_offsets"),
        (safetensors_bytes({"__metadata__": {"a": 1}}, b""), "__metadata__"),
    ],
    ids=["empty", "short", "random", "huge-header-length", "truncated", "not-utf8",
         "not-object", "bad-dtype", "negative-shape", "huge-shape", "overlap", "gap",
         "missing-offsets", "bad-metadata"],
)
def test_invalid_files_are_refused_with_the_reason(tmp_path: Path, content: bytes,
                                                   message: str) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(lw.CheckpointError, match=message) as failure:
        lw.load(path)
    assert str(path) in str(failure.value)


def test_every_truncation_of_a_valid_file_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "good.safetensors"
    lw.save({"w": np.arange(6.0).reshape(2, 3), "b": np.ones(2, dtype=np.float32)}, source)
    content = source.read_bytes()
    cut = tmp_path / "cut.safetensors"
    for length in range(len(content)):
        cut.write_bytes(content[:length])
        with pytest.raises(lw.CheckpointError):
            lw.load(cut)


@pytest.mark.filterwarnings("ignore::layerwise.NoChecksumWarning")
def test_a_valid_file_may_start_with_byte_0x80(tmp_path: Path) -> None:
    """0x80 opens every pickle, and also a safetensors header of 128 bytes: validation, not
    sniffing, must decide."""
    path = tmp_path / "first-byte-0x80.safetensors"
    path.write_bytes(safetensors_bytes({"a": GOOD_ENTRY}, np.ones(2, np.float32).tobytes(),
                                       header_length=128))
    assert path.read_bytes()[0] == 0x80
    np.testing.assert_array_equal(lw.load(path)["a"], np.ones(2, np.float32))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no checkpoint at .*absent\.safetensors"):
        lw.load(tmp_path / "absent.safetensors")


def test_save_refuses_what_it_cannot_store(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="'names' has dtype object"):
        lw.save({"names": np.array(["a", None])}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="metadata must map str to str"):
        lw.save({"a": np.zeros(1)}, tmp_path / "x.safetensors", metadata={"epoch": 3})  # type: ignore[dict-item]
