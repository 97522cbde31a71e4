"""`layerwise train --workers N` and `mpiexec -n N layerwise train`: real 2-rank jobs on the
spirals dataset (seconds each), every one under a timeout so that a hanging rank fails the test.

Checked: the weights equal one process's up to float32 rounding, progress and results are
printed once, resume works across worker counts, and each fault (a bad option, mpi4py
missing, a hostfile that does not exist, an error on the ranks, a rank killed with -9, Ctrl-C)
ends the job with a message and a non-zero status, leaving the run folder loadable.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import layerwise as lw
from layerwise.checkpoint import load, load_metadata
from layerwise.cli import epochs_text, main

MPIEXEC = Path(sys.executable).with_name("mpiexec")
TIMEOUT = 180
# 160 training points (40 held out) in batches of 25: shards of 13 and 12, and a last partial
# batch of 10
SPIRALS = ["--dataset", "spirals", "--samples", "200", "--batch-size", "25"]
pytestmark = pytest.mark.skipif(
    not MPIEXEC.exists(), reason=f"no mpiexec beside {sys.executable}: install the "
    "'distributed' extra (pip install 'layerwise[distributed]')")


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(Path(lw.__file__).parent.parent)}


def layerwise(*arguments: str, mpi: int = 0) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "layerwise", *arguments]
    if mpi:
        command = [str(MPIEXEC), "-n", str(mpi), *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT,
                          env=environment(), check=False)


def weights(folder: Path) -> dict[str, np.ndarray]:
    """The run's weights. Adam divides each gradient by its running RMS, so the float32
    rounding of a sum taken in another order shows up to ~1e-5 in the weights after a few
    epochs of small batches."""
    return load(folder / "model.safetensors")


def assert_close(first: Path, second: Path) -> None:
    a, b = weights(first), weights(second)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-4, atol=1e-5, err_msg=name)


def test_two_workers_train_as_one_process_and_print_once(tmp_path: Path) -> None:
    two = layerwise("train", *SPIRALS, "--epochs", "3", "--workers", "2",
                    "--out", str(tmp_path / "two"))
    one = layerwise("train", *SPIRALS, "--epochs", "3", "--out", str(tmp_path / "one"))
    assert two.returncode == 0, two.stderr
    assert one.returncode == 0, one.stderr
    assert two.stdout.count("test accuracy:") == 1
    assert two.stderr.count("epoch 3/3") == 1
    assert_close(tmp_path / "one", tmp_path / "two")
    assert two.stdout.splitlines()[1] == one.stdout.splitlines()[1]  # the same test accuracy


def test_mpiexec_started_by_hand_is_detected(tmp_path: Path) -> None:
    """Without --out, the folder's name comes from rank 0's clock, shared with the others."""
    result = subprocess.run(
        [str(MPIEXEC), "-n", "2", sys.executable, "-m", "layerwise", "train", *SPIRALS,
         "--epochs", "1"], capture_output=True, text=True, timeout=TIMEOUT, env=environment(),
        cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "model.safetensors").exists()
    assert result.stdout.count("run folder:") == 1


def test_resume_with_another_number_of_workers(tmp_path: Path) -> None:
    """Two epochs, then on to four (the schedule is re-planned over the new total), with the
    worker count changed between the two parts (2 then 1, 1 then 2), against the same in one
    process."""
    for name, (first, then) in (("2-1", ("2", "1")), ("1-2", ("1", "2")), ("1-1", ("1", "1"))):
        folder = tmp_path / name
        start = layerwise("train", *SPIRALS, "--epochs", "2", "--workers", first,
                          "--out", str(folder))
        assert start.returncode == 0, start.stderr
        resumed = layerwise("train", "--resume", str(folder), "--epochs", "4", "--workers",
                            then)
        assert resumed.returncode == 0, resumed.stderr
        assert resumed.stderr.count("resuming") == 1
        assert resumed.stdout.startswith("trained 2 epochs in this run (")
    assert_close(tmp_path / "2-1", tmp_path / "1-1")
    assert_close(tmp_path / "1-2", tmp_path / "1-1")


@pytest.mark.parametrize(("arguments", "message"), [
    (["--workers", "0"], "--workers must be a positive number of processes, got 0"),
    (["--hostfile", "hosts"], "--hostfile goes with --workers N"),
    (["--workers", "2", "--hostfile", "no-such-hosts"], "--hostfile no-such-hosts: no such file"),
])
def test_bad_worker_options_are_named(arguments: list[str], message: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", *SPIRALS, *arguments]) == 2
    assert message in capsys.readouterr().err


def test_workers_without_mpi4py_say_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    assert main(["train", *SPIRALS, "--workers", "2"]) == 2
    assert "pip install 'layerwise[distributed]'" in capsys.readouterr().err


def test_workers_that_disagree_with_mpiexec_end_the_job(tmp_path: Path) -> None:
    result = layerwise("train", *SPIRALS, "--workers", "3", "--out", str(tmp_path / "run"),
                       mpi=2)
    assert result.returncode != 0
    assert "--workers 3, but mpiexec started 2 processes" in result.stderr


def test_a_diverging_run_stops_every_rank_at_the_same_step(tmp_path: Path) -> None:
    result = layerwise("train", *SPIRALS, "--lr", "1e30", "--schedule", "constant",
                       "--epochs", "1", "--workers", "2", "--out", str(tmp_path / "run"))
    assert result.returncode != 0
    # every rank stops at the same step and ends normally; rank 0 prints the line, once
    assert result.returncode == 2
    assert result.stderr.count("layerwise: error:") == 1, result.stderr
    assert "may be too high: try a smaller one" in result.stderr


def test_an_error_on_the_ranks_ends_the_job_with_its_message(tmp_path: Path) -> None:
    result = layerwise("train", "--data", str(tmp_path / "nowhere"), "--epochs", "1",
                       "--workers", "2", "--out", str(tmp_path / "run"))
    assert result.returncode != 0
    assert "layerwise: error:" in result.stderr and "nowhere" in result.stderr


def start_long_run(folder: Path) -> subprocess.Popen[str]:
    """A 2-worker run of many epochs in its own process group; returns once it has saved."""
    process = subprocess.Popen(
        [sys.executable, "-m", "layerwise", "train", *SPIRALS, "--epochs", "2000", "--workers",
         "2", "--quiet", "--out", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=environment(), start_new_session=True)
    deadline = time.monotonic() + 60
    while not (folder / "checkpoint.safetensors").exists():
        if time.monotonic() > deadline or process.poll() is not None:
            stop_group(process)
            raise AssertionError(f"no checkpoint came: {process.communicate()[1]}")
        time.sleep(0.05)
    time.sleep(0.3)
    return process


def rank_pids(folder: Path) -> list[int]:
    found = subprocess.run(["pgrep", "-f", f"layerwise train .*--out {folder}"],
                           capture_output=True, text=True, check=False).stdout.split()
    return [int(pid) for pid in found]


def assert_resumable(folder: Path) -> None:
    """The folder evaluates, and resumes to the end of the epoch after its last saved one."""
    evaluated = layerwise("evaluate", str(folder))
    assert evaluated.returncode == 0, evaluated.stderr
    state = json.loads(load_metadata(folder / "checkpoint.safetensors")["state"])
    saved, progress = state["epoch"], state["epoch_in_progress"]
    resumed = layerwise("train", "--resume", str(folder), "--epochs", str(saved + 1), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    # Ctrl-C saves within an epoch: only the steps left of it are trained, on every rank.
    trained = epochs_text(progress["batches"] - progress["step"], progress["batches"]) \
        if progress is not None else "1 epoch"
    assert resumed.stdout.startswith(f"trained {trained} in this run (")
    assert f"; epoch {saved + 1} of {saved + 1} done" in resumed.stdout


def stop_group(process: subprocess.Popen[str]) -> None:
    """Kill what is left of the job (its own process group), so that a failed test leaves no
    rank running."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_a_rank_killed_with_9_ends_the_job_and_leaves_the_folder_loadable(
        tmp_path: Path) -> None:
    folder = tmp_path / "run"
    process = start_long_run(folder)
    try:
        ranks = [pid for pid in rank_pids(folder) if pid != process.pid]
        assert ranks, "no rank found"
        os.kill(ranks[-1], signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        stop_group(process)
    assert process.returncode != 0
    assert_resumable(folder)


def test_ctrl_c_stops_every_rank_and_rank_0_saves(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    process = start_long_run(folder)
    try:
        os.killpg(process.pid, signal.SIGINT)  # what the terminal does
        _, stderr = process.communicate(timeout=60)
    finally:
        stop_group(process)
    assert process.returncode == 130
    assert stderr.count("Continue with: layerwise train --resume") == 1
    assert_resumable(folder)
