"""Real `layerwise train` processes, stopped at random moments: `kill -9` and Ctrl-C lose at most
the epoch in progress, a resumed run ends bit for bit where an uninterrupted one ends, a
diverging run stops with one line, and the same seed gives the same run.

The moments are drawn from a seeded generator, so a failure comes back on the next run.
"""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import layerwise as lw
from layerwise import nn, optim
from layerwise.cli import main
from layerwise.train import Trainer
from layerwise.train.config import RunConfig
from layerwise.train.run import Run

EPOCHS = 6
# About 0.1 s per epoch (400 steps), so a kill lands inside an epoch as often as not.
SETTINGS = ["--dataset", "moons", "--hidden", "16", "--epochs", str(EPOCHS), "--samples", "2000",
            "--batch-size", "4", "--quiet"]
TIMEOUT = 120

_moments = random.Random(6)
KILL_AFTER_EPOCHS = sorted(_moments.sample(range(1, EPOCHS), 2))
KILL_AT_FRACTIONS = sorted(round(_moments.uniform(0.05, 1.0), 2) for _ in range(3))


def default_sigint() -> None:
    """In the child: Ctrl-C as in a terminal. A shell that runs the tests in the background
    ignores SIGINT in its children, and Python keeps a SIGINT it was started ignoring."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def layerwise(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "layerwise", *arguments], capture_output=True,
                          text=True, timeout=TIMEOUT, preexec_fn=default_sigint)


def start_training(folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "layerwise", "train", *SETTINGS, "--out",
                             str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=default_sigint)


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    """Poll every 2 ms until `condition()` holds; fail if the process ends first."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if process.poll() is not None:
            _, err = process.communicate()
            pytest.fail(f"training ended (status {process.returncode}) before the moment to "
                        f"stop it:\n{err}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("timed out waiting for the moment to stop the training process")
        time.sleep(0.002)


def saved_epochs(folder: Path) -> int:
    """Rows in metrics.csv: the epochs whose checkpoint is written (0 before the first)."""
    path = folder / "metrics.csv"
    return len(path.read_text().splitlines()) - 1 if path.exists() else 0


def checkpoint_epoch(folder: Path) -> int:
    return int(json.loads(lw.load_metadata(folder / "checkpoint.safetensors")["state"])["epoch"])


@dataclass
class Outcome:
    """What a finished run folder says: final weights, history without timings, accuracy."""

    weights: dict[str, np.ndarray]
    history: list[dict[str, Any]]
    test_accuracy: float

    @classmethod
    def of(cls, folder: Path) -> Outcome:
        metrics = json.loads((folder / "metrics.json").read_text())
        history = [{name: value for name, value in record.items() if name != "seconds"}
                   for record in metrics["history"]]
        return cls(lw.load(folder / "model.safetensors"), history, metrics["test_accuracy"])

    def assert_identical_to(self, other: Outcome) -> None:
        assert list(self.weights) == list(other.weights)
        for name, value in other.weights.items():
            assert self.weights[name].dtype == value.dtype, name
            np.testing.assert_array_equal(self.weights[name], value, err_msg=name, strict=True)
        assert self.history == other.history
        assert self.test_accuracy == other.test_accuracy


@dataclass
class Reference:
    folder: Path
    outcome: Outcome
    seconds: float  # from config.json appearing to the process's end: training and finishing


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The same run, never interrupted."""
    folder = tmp_path_factory.mktemp("reference") / "run"
    process = start_training(folder)
    wait_until((folder / "config.json").exists, process)
    started = time.monotonic()
    _, err = process.communicate(timeout=TIMEOUT)
    seconds = time.monotonic() - started
    assert process.returncode == 0, err
    return Reference(folder, Outcome.of(folder), seconds)


def assert_one_line(text: str) -> None:
    assert "Traceback" not in text, text
    assert len(text.strip().splitlines()) == 1, text


def resume_and_compare(folder: Path, reference: Reference) -> str:
    """Resume the stopped run to its end; it must match the reference. Returns its stderr."""
    resumed = layerwise("train", "--resume", str(folder), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    Outcome.of(folder).assert_identical_to(reference.outcome)
    leftovers = [path.name for path in folder.iterdir() if path.name.endswith(".tmp")]
    assert not leftovers, f"temporary files of killed writes remain: {leftovers}"
    return resumed.stderr


def check_killed_folder(folder: Path, reference: Reference) -> None:
    """A folder whose process was killed after its first checkpoint: it evaluates, resumes,
    and the resumed run is the reference run."""
    evaluated = layerwise("evaluate", str(folder))
    assert evaluated.returncode == 0, evaluated.stderr
    assert re.search(r"^test accuracy: \d\.\d{4}$", evaluated.stdout, re.MULTILINE)
    resume_and_compare(folder, reference)


@pytest.mark.parametrize("epochs", KILL_AFTER_EPOCHS, ids=lambda k: f"after-{k}-epochs")
def test_kill_after_some_epochs_loses_nothing_finished(tmp_path: Path, reference: Reference,
                                                       epochs: int) -> None:
    folder = tmp_path / "run"
    process = start_training(folder)
    wait_until(lambda: saved_epochs(folder) >= epochs, process)
    process.kill()
    process.communicate(timeout=TIMEOUT)
    assert process.returncode == -signal.SIGKILL
    assert checkpoint_epoch(folder) >= epochs
    check_killed_folder(folder, reference)


@pytest.mark.parametrize("fraction", KILL_AT_FRACTIONS, ids=lambda f: f"at-{f:.0%}-of-the-run")
def test_kill_at_a_random_moment_loses_nothing_finished(tmp_path: Path, reference: Reference,
                                                        fraction: float) -> None:
    """Killed `fraction` of the reference's duration after training started: in an epoch, in a
    save, or while the test set is evaluated and plotted."""
    folder = tmp_path / "run"
    process = start_training(folder)
    wait_until((folder / "config.json").exists, process)
    time.sleep(fraction * reference.seconds)
    process.kill()
    process.communicate(timeout=TIMEOUT)
    assert process.returncode in (-signal.SIGKILL, 0)  # 0: it finished first, on a fast day
    if (folder / "checkpoint.safetensors").exists():
        check_killed_folder(folder, reference)
    else:
        resume_and_compare(folder, reference)


def test_kill_during_the_first_epoch_leaves_a_folder_resume_explains(
        tmp_path: Path, reference: Reference) -> None:
    folder = tmp_path / "run"
    process = start_training(folder)
    wait_until((folder / "config.json").exists, process)
    process.kill()
    process.communicate(timeout=TIMEOUT)
    assert not (folder / "checkpoint.safetensors").exists()

    evaluated = layerwise("evaluate", str(folder))
    assert evaluated.returncode == 2
    assert_one_line(evaluated.stderr)
    assert evaluated.stderr == (f"layerwise: error: {folder} has no trained weights yet: it was "
                                f"stopped before its first epoch was saved; continue it with: "
                                f"layerwise train --resume {folder}\n")

    explained = resume_and_compare(folder, reference)
    assert explained == (f"{folder} has no finished epoch (it was stopped during its first); "
                         f"starting it at epoch 1 of {EPOCHS}\n")


def test_resume_refuses_weights_without_their_checkpoint(tmp_path: Path,
                                                         reference: Reference) -> None:
    """Starting such a folder again would overwrite trained weights."""
    folder = tmp_path / "run"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        (folder / name).write_bytes((reference.folder / name).read_bytes())
    refused = layerwise("train", "--resume", str(folder))
    assert refused.returncode == 2
    assert refused.stderr == (f"layerwise: error: {folder} has model.safetensors but no "
                              f"checkpoint.safetensors, so it cannot be resumed (layerwise "
                              f"evaluate {folder} still works)\n")
    assert (folder / "model.safetensors").read_bytes() == (
        reference.folder / "model.safetensors").read_bytes()


# A process that dies in the middle of the end-of-epoch save, at the second checkpoint's rename:
# before it (the new checkpoint is a temporary file) or after it (model.safetensors is not yet
# rewritten). Run as `python -c DIE_DURING_SAVE MOMENT ARGUMENTS...`.
DIE_DURING_SAVE = """
import os, signal, sys
from pathlib import Path
from layerwise.cli import main

moment, arguments = sys.argv[1], sys.argv[2:]
rename, checkpoints = os.replace, []

def replace(source, target):
    if Path(target).name == "checkpoint.safetensors":
        checkpoints.append(target)
    if len(checkpoints) == 2 and moment == "before-rename":
        os.kill(os.getpid(), signal.SIGKILL)
    rename(source, target)
    if len(checkpoints) == 2 and moment == "after-rename":
        os.kill(os.getpid(), signal.SIGKILL)

os.replace = replace
sys.exit(main(arguments))
"""


@pytest.mark.parametrize("moment", ["before-rename", "after-rename"])
def test_kill_in_the_middle_of_a_save(tmp_path: Path, reference: Reference, moment: str) -> None:
    folder = tmp_path / "run"
    killed = subprocess.run([sys.executable, "-c", DIE_DURING_SAVE, moment, "train", *SETTINGS,
                             "--out", str(folder)], capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    partial = [path.name for path in folder.glob(".checkpoint.safetensors.*.tmp")]
    assert len(partial) == (moment == "before-rename")
    assert checkpoint_epoch(folder) == (1 if moment == "before-rename" else 2)
    assert lw.load_metadata(folder / "model.safetensors")["epoch"] == "1"
    check_killed_folder(folder, reference)


# --- Ctrl-C --------------------------------------------------------------------------------


def test_ctrl_c_keeps_the_last_epoch_says_how_to_resume_and_exits_130(
        tmp_path: Path, reference: Reference) -> None:
    folder = tmp_path / "run"
    process = start_training(folder)
    wait_until(lambda: saved_epochs(folder) >= 2, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    saved = checkpoint_epoch(folder)
    assert saved >= 2
    assert err.endswith(f"layerwise: interrupted; the last finished epoch ({saved}) is saved. "
                        f"Continue with: layerwise train --resume {folder}\n")
    assert lw.load_metadata(folder / "model.safetensors")["epoch"] == str(saved)
    assert saved_epochs(folder) == saved
    resume_and_compare(folder, reference)


def test_ctrl_c_during_the_first_epoch(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    process = start_training(folder)
    wait_until((folder / "config.json").exists, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 130
    assert err == (f"\nlayerwise: interrupted; no epoch had finished. Continue with: "
                   f"layerwise train --resume {folder}\n")


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """KeyboardInterrupt on SIGINT in this process too, even when started with it ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_in_the_middle_of_a_save_waits_for_the_save(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ctrl_c_raises: None) -> None:
    """SIGINT between writing checkpoint.safetensors and model.safetensors: both files and
    metrics.csv are written for the epoch, then the KeyboardInterrupt comes."""
    import layerwise.train.run as run_module

    config = RunConfig(dataset="moons", hidden=[8], epochs=4, samples=200, batch_size=50)
    run = Run(config, tmp_path / "run", verbose=False)
    written: list[str] = []

    def save_then_press_ctrl_c(tensors: Any, path: Path, metadata: Any = None) -> None:
        lw.save(tensors, path, metadata)
        written.append(Path(path).name)
        if run.trainer.epoch == 2 and len(written) == 3:  # epoch 2's checkpoint is written
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(run_module, "save", save_then_press_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        run.train()
    assert written[-2:] == ["checkpoint.safetensors", "model.safetensors"]
    assert run.saved_epoch == 2 and checkpoint_epoch(run.folder) == 2
    assert lw.load_metadata(run.folder / "model.safetensors")["epoch"] == "2"
    assert saved_epochs(run.folder) == 2


def test_ctrl_c_while_the_results_are_written_waits_for_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        ctrl_c_raises: None) -> None:
    import layerwise.train.plots as plots

    def plot_then_press_ctrl_c(run: Run, result: Any) -> list[str]:
        signal.raise_signal(signal.SIGINT)
        return []

    monkeypatch.setattr(plots, "save_plots", plot_then_press_ctrl_c)
    folder = tmp_path / "run"
    status = main(["train", "--dataset", "moons", "--hidden", "8", "--epochs", "2", "--samples",
                   "200", "--quiet", "--out", str(folder)])
    assert status == 130
    assert capsys.readouterr().err == (f"\nlayerwise: interrupted, but the run had finished: "
                                       f"{folder} is complete\n")
    assert json.loads((folder / "metrics.json").read_text())["epochs"] == 2


def test_ctrl_c_inside_an_optimizer_step_stops_after_the_step(ctrl_c_raises: None) -> None:
    """No weight is left half-updated: the interrupt waits for the step to finish."""
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(2, 4, rng=rng), nn.ReLU(), nn.Linear(4, 2, rng=rng))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    trainer = Trainer(model, optimizer, rng=rng, verbose=False)
    steps_done: list[int] = []
    real_step = optimizer.step

    def step_with_ctrl_c() -> None:
        signal.raise_signal(signal.SIGINT)
        real_step()
        steps_done.append(1)

    optimizer.step = step_with_ctrl_c  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(rng.normal(size=(40, 2)), rng.integers(0, 2, size=40), epochs=2,
                    batch_size=10)
    assert steps_done == [1]
    assert all(state["step"] == 1 for state in optimizer.state.values())


# --- numerical faults ----------------------------------------------------------------------

DIVERGING = ["train", "--dataset", "moons", "--hidden", "16", "--epochs", "3", "--samples", "300",
             "--batch-size", "16", "--optimizer", "sgd", "--lr", "1e6", "--quiet"]
LEARNING_RATE_HINT = r"; the learning rate \([0-9.e+]+\) may be too high: try a smaller one\n"


def test_a_nan_loss_stops_training_naming_epoch_and_step(tmp_path: Path) -> None:
    finished = layerwise(*DIVERGING, "--out", str(tmp_path / "run"))
    assert finished.returncode == 2
    assert_one_line(finished.stderr)
    assert re.fullmatch(r"layerwise: error: the loss became (nan|inf|-inf) at epoch 1, step \d+"
                        + LEARNING_RATE_HINT, finished.stderr), finished.stderr


def test_detect_anomaly_names_the_op_that_made_the_nan(tmp_path: Path) -> None:
    finished = layerwise(*DIVERGING, "--detect-anomaly", "--out", str(tmp_path / "run"))
    assert finished.returncode == 2
    assert_one_line(finished.stderr)
    assert re.fullmatch(r"layerwise: error: [A-Z]\w* (forward|backward) produced (NaN|inf)"
                        r"( in the gradient for input \d)? \(input shapes: .*\) at epoch 1, "
                        r"step \d+" + LEARNING_RATE_HINT, finished.stderr), finished.stderr


# --- determinism ---------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_weights_and_metrics(tmp_path: Path,
                                                          reference: Reference) -> None:
    """Same settings, same machine, same threads: a second process repeats the run exactly."""
    finished = layerwise("train", *SETTINGS, "--out", str(tmp_path / "again"))
    assert finished.returncode == 0, finished.stderr
    Outcome.of(tmp_path / "again").assert_identical_to(reference.outcome)
