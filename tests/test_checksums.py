"""Checksums: every file a run writes records SHA-256 checksums, and one flipped byte in any of
its sections (the header length, the header, each tensor's bytes, each JSON entry) is found and
named; truncated and extended files are refused; older files without checksums still load, with
a notice; `layerwise verify` says which file is corrupt; and a run resumed from a verified
folder is still the uninterrupted run, bit for bit."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import layerwise as lw
from layerwise.checkpoint import CheckpointError, read_json, verify, write_json
from layerwise.checksums import CHECKSUM_KEY
from layerwise.cli import main
from layerwise.train.run import Run
from layerwise.train.verify import verify_file, verify_run
from tests.test_train import run_config, timeless_history

SAFETENSORS_FILES = ("checkpoint.safetensors", "model.safetensors")
JSON_FILES = ("config.json", "metrics.json", "health.json")
RUN_FILES = ("config.json", "checkpoint.safetensors", "model.safetensors", "metrics.json",
             "health.json")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 2-epoch spirals run, with health, so that it holds every checked file."""
    folder = tmp_path_factory.mktemp("checksums") / "run"
    assert main(["train", "--dataset", "spirals", "--hidden", "4", "--epochs", "2",
                 "--samples", "60", "--batch-size", "16", "--quiet", "--out", str(folder)]) == 0
    return folder


@pytest.fixture
def run(trained: Path, tmp_path: Path) -> Path:
    """A copy of the trained run, to be spoiled."""
    return Path(shutil.copytree(trained, tmp_path / "run"))


def verdict_after_flip(path: Path, position: int) -> str:
    """Flip the lowest bit of one byte, verify the file, put the byte back; the verdict. A flip
    may go unseen only in a JSON file that still reads the same (the last digit of a float
    given to 17 places may not change its value)."""
    original = path.read_bytes()
    spoiled = bytearray(original)
    spoiled[position] ^= 1
    path.write_bytes(spoiled)
    try:
        check = verify_file(path)
    finally:
        path.write_bytes(original)
    if not check.corrupt and path.suffix == ".json":
        assert json.loads(spoiled) == json.loads(original), f"{path.name}: byte {position}"
        return ""
    assert check.corrupt, f"{path.name}: the flip of byte {position} went unseen"
    return check.verdict


def flip(path: Path, position: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[position] ^= 1
    path.write_bytes(raw)


def header_of(path: Path) -> tuple[int, str]:
    """The length of a safetensors file's header and its text."""
    raw = path.read_bytes()
    length = int.from_bytes(raw[:8], "little")
    return length, raw[8:8 + length].decode()


def entries(path: Path) -> dict[str, Any]:
    return {name: entry for name, entry in json.loads(header_of(path)[1]).items()
            if name != "__metadata__"}


def cli(capsys: pytest.CaptureFixture[str], *arguments: object) -> tuple[int, str, str]:
    status = main([str(argument) for argument in arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# --- what is recorded -----------------------------------------------------------------------


def test_the_record_holds_the_sha256_of_each_tensors_bytes_on_disk(trained: Path) -> None:
    for name in SAFETENSORS_FILES:
        path = trained / name
        raw = path.read_bytes()
        length, text = header_of(path)
        header = json.loads(text)
        record = json.loads(header["__metadata__"][CHECKSUM_KEY])
        data = raw[8 + length:]
        assert set(record["tensors"]) == set(entries(path))
        for tensor, entry in entries(path).items():
            begin, end = entry["data_offsets"]
            assert record["tensors"][tensor] == {
                "dtype": entry["dtype"], "shape": entry["shape"],
                "sha256": hashlib.sha256(data[begin:end]).hexdigest()}, tensor
        metadata = {key: value for key, value in header["__metadata__"].items()
                    if key != CHECKSUM_KEY}
        assert record["metadata"] == {key: hashlib.sha256(value.encode()).hexdigest()
                                      for key, value in metadata.items()}
        assert lw.load_metadata(path) == metadata  # the record is not the user's


def test_json_files_record_each_entry_in_canonical_form(trained: Path) -> None:
    for name in JSON_FILES:
        content = json.loads((trained / name).read_text())
        record = content.pop(CHECKSUM_KEY)
        assert record == {key: hashlib.sha256(json.dumps(
            value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
            for key, value in content.items()}, name
        assert read_json(trained / name) == content


def test_save_keeps_the_checksum_key_for_itself(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape(
            "save: the metadata key 'layerwise.sha256' is layerwise's own")):
        lw.save({"x": np.zeros(2)}, tmp_path / "x.safetensors", metadata={CHECKSUM_KEY: "mine"})


def test_every_dtype_and_odd_shapes_round_trip_checked(tmp_path: Path) -> None:
    arrays = {"bool": np.array([True, False]), "u8": np.arange(3, dtype=np.uint8),
              "i64": np.arange(-2, 2), "f16": np.ones(2, np.float16), "empty": np.zeros((0, 3)),
              "scalar": np.float64(2.5), "big_endian": np.arange(4, dtype=">f4"),
              "columns": np.arange(12.0).reshape(3, 4)[:, ::2]}
    path = tmp_path / "all.safetensors"
    lw.save(arrays, path)
    assert verify(path) is True
    loaded = lw.load(path)
    for name, value in arrays.items():
        np.testing.assert_array_equal(loaded[name], value, err_msg=name)


# --- one flipped byte in each section of each file ------------------------------------------


@pytest.mark.parametrize("name", SAFETENSORS_FILES)
def test_a_flip_in_the_header_length_or_anywhere_in_the_header_is_found(run: Path,
                                                                        name: str) -> None:
    path = run / name
    length, _ = header_of(path)
    for position in range(8 + length):
        verdict_after_flip(path, position)


@pytest.mark.parametrize("name", SAFETENSORS_FILES)
def test_a_flip_in_each_tensors_bytes_names_the_tensor(run: Path, name: str) -> None:
    path = run / name
    length, _ = header_of(path)
    for tensor, entry in entries(path).items():
        begin, end = entry["data_offsets"]
        for position in sorted({begin, (begin + end) // 2, end - 1}):
            verdict = verdict_after_flip(path, 8 + length + position)
            assert verdict == (f"corrupt: tensor {tensor!r} does not match its SHA-256 (its "
                               f"bytes changed after it was saved)")
    flip(path, path.stat().st_size - 1)  # and load refuses it too
    with pytest.raises(CheckpointError, match=rf"^{re.escape(str(path))}: corrupt: tensor '"):
        lw.load(path)


@pytest.mark.parametrize("name", SAFETENSORS_FILES)
def test_a_flip_in_a_tensors_name_dtype_shape_or_offsets_names_the_tensor(
        run: Path, name: str) -> None:
    path = run / name
    _, text = header_of(path)
    for tensor in entries(path):
        start = 8 + text.index(json.dumps(tensor) + ":")
        stop = 8 + text.index("}", start - 8)
        fields = text[start - 8:stop - 8]
        positions = [start + 1] + [start + fields.index(field) + len(field) for field in
                                   ('"dtype":"', '"data_offsets":[')]
        if '"shape":[]' not in fields:
            positions.append(start + fields.index('"shape":[') + len('"shape":['))
        for position in positions:
            assert repr(tensor) in verdict_after_flip(path, position), (tensor, position)


def test_a_dtype_changed_to_one_of_the_same_size_is_named(run: Path) -> None:
    path = run / "model.safetensors"
    raw = path.read_bytes()
    tensor = next(name for name, entry in entries(path).items() if entry["dtype"] == "F32")
    entry = json.dumps(tensor) + ':{"dtype":"F32"'
    assert raw.count(entry.encode()) == 1
    path.write_bytes(raw.replace(entry.encode(), entry.replace("F32", "I32").encode()))
    with pytest.raises(CheckpointError, match=rf"tensor '{tensor}' was saved as F32 \[.*\], but "
                                              rf"the header now says I32"):
        lw.load_metadata(path)


@pytest.mark.parametrize("name", SAFETENSORS_FILES)
def test_a_flip_in_each_metadata_value_or_key_names_it(run: Path, name: str) -> None:
    path = run / name
    _, text = header_of(path)
    for key in lw.load_metadata(path):
        start = 8 + text.index(f'"{key}":"')
        value_verdict = verdict_after_flip(path, start + len(key) + 4)
        assert value_verdict == (f"corrupt: metadata {key!r} does not match its SHA-256 "
                                 f"(changed after it was written)")
        assert repr(key) in verdict_after_flip(path, start + 1)


@pytest.mark.parametrize("name", JSON_FILES)
def test_a_flip_anywhere_in_a_json_file_is_found(run: Path, name: str) -> None:
    path = run / name
    size = len(path.read_bytes())
    # Every byte of a small file; of health.json (samples of every layer) every 7th, and its
    # checksum record at the end.
    positions = range(size) if size < 4000 else [*range(0, size - 400, 7), *range(size - 400,
                                                                                    size)]
    for position in positions:
        verdict_after_flip(path, position)


@pytest.mark.parametrize("name", JSON_FILES)
def test_a_flip_in_each_json_entry_names_it(run: Path, name: str) -> None:
    path = run / name
    text = path.read_text()
    for key in read_json(path):
        start = text.index(f'"{key}": ') + len(key) + 4
        position = start + next(index for index, char in enumerate(text[start:])
                                if char.isalnum())
        verdict = verdict_after_flip(path, position)
        assert verdict in (
            f"corrupt: entry {key!r} does not match its SHA-256 (changed after it was written)",
        ) or (verdict.startswith("corrupt: not valid JSON (")
              and verdict.endswith(f"), in entry {key!r}")), verdict
        flip(path, position)
        with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: .*entry '{key}'"):
            read_json(path)
        flip(path, position)


@pytest.mark.parametrize("name", RUN_FILES)
@pytest.mark.parametrize("change", ["cut-one", "cut-half", "extend"])
def test_truncated_and_extended_files_are_refused(run: Path, name: str, change: str) -> None:
    path = run / name
    raw = path.read_bytes()
    cut = 2 if name.endswith(".json") else 1  # a JSON file's last byte is a newline
    spoiled = {"cut-one": raw[:-cut], "cut-half": raw[:len(raw) // 2],
               "extend": raw + (b"#" if name.endswith(".json") else bytes(8))}[change]
    path.write_bytes(spoiled)
    assert verify_file(path).corrupt
    with pytest.raises(ValueError):  # CheckpointError, or not JSON
        if name.endswith(".json"):
            read_json(path)
        else:
            lw.load(path)


# --- files without checksums --------------------------------------------------------------


def test_files_written_by_pytorch_or_safetensors_load_with_one_notice(tmp_path: Path) -> None:
    by_torch, by_numpy = tmp_path / "torch.safetensors", tmp_path / "numpy.safetensors"
    safetensors.torch.save_file({"weight": torch.arange(4.0)}, by_torch, metadata={"a": "b"})
    safetensors.numpy.save_file({"weight": np.arange(4.0)}, by_numpy)
    for path in (by_torch, by_numpy):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            loaded = lw.load(path)
            lw.load(path)
            lw.load_metadata(path)
        assert [str(warning.message) for warning in caught] == [
            f"{path} has no checksum (written before layerwise kept them, or by another "
            f"program); read without a check of its content"]
        assert caught[0].category is lw.NoChecksumWarning
        np.testing.assert_array_equal(loaded["weight"], np.arange(4.0))
        assert verify(path) is False
        assert verify_file(path).verdict.startswith("no checksum")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", lw.NoChecksumWarning)
            assert lw.load_metadata(path) == ({"a": "b"} if path == by_torch else {})


def strip_checksums(folder: Path) -> None:
    """Make a run folder as layerwise wrote it before checksums."""
    for name in SAFETENSORS_FILES:
        path = folder / name
        metadata = {key: value for key, value in json.loads(header_of(path)[1])[
            "__metadata__"].items() if key != CHECKSUM_KEY}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", lw.NoChecksumWarning)
            arrays = lw.load(path)
        safetensors.numpy.save_file(arrays, path, metadata=metadata)
    for name in JSON_FILES:
        path = folder / name
        content = json.loads(path.read_text())
        del content[CHECKSUM_KEY]
        path.write_text(json.dumps(content, indent=2))


def test_an_older_run_evaluates_verifies_and_resumes_with_notes(
        run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    strip_checksums(run)
    status, out, err = cli(capsys, "verify", run)
    assert status == 0, err
    assert out.count("no checksum (an older file") == 5
    status, out, err = cli(capsys, "evaluate", run)
    assert status == 0, err
    assert err == (f"layerwise: note: {run / 'model.safetensors'} has no checksum (written "
                   f"before layerwise kept them, or by another program); read without a check "
                   f"of its content\n")
    status, _, err = cli(capsys, "train", "--resume", run, "--epochs", "3", "--quiet")
    assert status == 0, err
    assert "layerwise: note: " in err and "Traceback" not in err
    status, out, err = cli(capsys, "verify", run)  # the resumed run wrote them with checksums
    assert status == 0 and out.count(" ok\n") == 5, out


def test_a_damaged_checksum_key_is_not_taken_for_an_older_file(tmp_path: Path) -> None:
    path = tmp_path / "x.safetensors"
    lw.save({"x": np.zeros(2)}, path)
    raw = path.read_bytes()
    path.write_bytes(raw.replace(CHECKSUM_KEY.encode(), b"layerwise.sha257"))
    with pytest.raises(CheckpointError, match=re.escape(
            "its checksum record's key reads 'layerwise.sha257', not 'layerwise.sha256'")):
        lw.load(path)
    json_path = tmp_path / "x.json"
    write_json(json_path, {"a": 1})
    json_path.write_text(json_path.read_text().replace(CHECKSUM_KEY, "layerwise.sha25"))
    with pytest.raises(CheckpointError, match="its checksum record's key reads"):
        read_json(json_path)


# --- the command line -----------------------------------------------------------------------


def test_verify_a_good_run(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = cli(capsys, "verify", trained)
    assert status == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == list(RUN_FILES)
    assert all(line.split()[1] == "ok" for line in lines[:-1])
    assert lines[-1] == "5 files checked, none corrupt"


def test_verify_a_corrupt_run_names_file_and_tensor(run: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = run / "checkpoint.safetensors"
    length, _ = header_of(path)
    tensor, entry = next((name, entry) for name, entry in entries(path).items()
                         if name.startswith("optimizer."))
    flip(path, 8 + length + entry["data_offsets"][0])
    status, out, _ = cli(capsys, "verify", run)
    assert status == 1
    assert (f"checkpoint.safetensors  corrupt: tensor {tensor!r} does not match its SHA-256 "
            f"(its bytes changed after it was saved)\n") in out
    assert out.count(" ok\n") == 4
    assert out.splitlines()[-1] == ("1 of 5 files corrupt; restore it from a copy: "
                                    "checkpoint.safetensors (--resume cannot continue from it)")
    status, out, _ = cli(capsys, "verify", run / "model.safetensors")  # one file
    assert (status, out) == (0, "model.safetensors  ok\n1 file checked, none corrupt\n")
    status, out, _ = cli(capsys, "verify", path)
    assert status == 1 and f"tensor {tensor!r}" in out


def test_resume_refuses_a_corrupt_checkpoint_and_evaluate_still_works(
        run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = run / "checkpoint.safetensors"
    flip(path, path.stat().st_size - 1)
    status, _, err = cli(capsys, "train", "--resume", run, "--epochs", "3", "--quiet")
    assert status == 2
    assert err.startswith(f"layerwise: error: {path}: corrupt: tensor '")
    assert err.endswith(f"; --resume cannot continue from it: restore checkpoint.safetensors "
                        f"from a copy of the run (model.safetensors is intact: layerwise "
                        f"evaluate {run} still works)\n")
    status, out, err = cli(capsys, "evaluate", run)
    assert status == 0 and "test accuracy" in out, err


def test_an_edited_config_is_refused_until_the_edit_is_accepted(
        run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = run / "config.json"
    content = json.loads(path.read_text())
    content["config"]["epochs"] = 3
    path.write_text(json.dumps(content, indent=2))
    status, _, err = cli(capsys, "train", "--resume", run, "--quiet")
    assert status == 2
    assert err == (f"layerwise: error: {path}: corrupt: entry 'config' does not match its "
                   f"SHA-256 (changed after it was written); restore config.json from a copy of "
                   f"the run (to keep an edit made on purpose, delete its \"{CHECKSUM_KEY}\" "
                   f"entry)\n")
    del content[CHECKSUM_KEY]
    path.write_text(json.dumps(content, indent=2))
    status, _, err = cli(capsys, "train", "--resume", run, "--quiet")
    assert status == 0, err
    assert err.startswith(f"layerwise: note: {path} has no checksum")
    assert read_json(path)["config"]["epochs"] == 3  # rewritten, with its checksums
    assert verify(path) is True


# --- resuming from a verified folder ---------------------------------------------------------


def test_a_run_resumed_from_a_verified_folder_is_bitwise_the_uninterrupted_run(
        tmp_path: Path) -> None:
    straight = Run(run_config(), tmp_path / "straight", verbose=False)
    straight.train()
    first = Run(run_config(), tmp_path / "split", verbose=False)
    first.folder.mkdir()
    first.write_config()
    splits = first.splits
    first.trainer.fit(splits.train_x, splits.train_y, epochs=2,
                      batch_size=first.config.batch_size,
                      validation_data=(splits.val_x, splits.val_y))
    checks = verify_run(first.folder)
    assert [check.path.name for check in checks] == [
        "config.json", "checkpoint.safetensors", "model.safetensors"]
    assert all(check.verdict == "ok" for check in checks)
    second = Run(run_config(), first.folder, verbose=False)
    second.restore()
    second.train()
    for name, value in straight.model.state_dict().items():
        np.testing.assert_array_equal(second.model.state_dict()[name], value, err_msg=name,
                                      strict=True)
    assert timeless_history(second) == timeless_history(straight)
    assert all(check.verdict == "ok" for check in verify_run(first.folder))
