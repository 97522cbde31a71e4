"""Real `layerwise train` processes, stopped at random moments: `kill -9` loses at most the epoch
in progress, Ctrl-C nothing (it saves the state between two steps), a resumed run ends bit for
bit where an uninterrupted one ends, a diverging run stops with one line, and the same seed gives
the same run.

The moments are drawn from a seeded generator, so a failure comes back on the next run.
"""

from __future__ import annotations

import json
import random
import re
import signal
import statistics
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
from layerwise.optim import lr_scheduler
from layerwise.train import Callback, LRSchedulerStep, Trainer, TrainingDivergedError
from layerwise.train.config import RunConfig
from layerwise.train.run import Run
from layerwise.train.trainer import Evaluation

EPOCHS = 6
BATCHES = 400  # per epoch: 1,600 training points (400 of the 2,000 are held out) in batches of 4
# About 0.1 s per epoch, so a kill lands inside an epoch as often as not.
SETTINGS = ["--dataset", "moons", "--hidden", "16", "--epochs", str(EPOCHS), "--samples", "2000",
            "--batch-size", "4", "--quiet"]
TIMEOUT = 120

_moments = random.Random(6)
KILL_AFTER_EPOCHS = sorted(_moments.sample(range(1, EPOCHS), 2))
KILL_AT_FRACTIONS = sorted(round(_moments.uniform(0.05, 1.0), 2) for _ in range(3))
# Ctrl-C from outside, `fraction` of an epoch's time after epoch `epoch` started: early in the
# first epoch, in the middle of one, near the end of one.
CTRL_C_MOMENTS = [(1, round(_moments.uniform(0.02, 0.2), 2)),
                  (_moments.randrange(2, EPOCHS), round(_moments.uniform(0.3, 0.7), 2)),
                  (_moments.randrange(2, EPOCHS), round(_moments.uniform(0.8, 1.0), 2))]


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
    epoch_seconds: float  # the median time of an epoch (the first one is slower)


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
    history = json.loads((folder / "metrics.json").read_text())["history"]
    epoch_seconds = statistics.median(record["seconds"] for record in history)
    return Reference(folder, Outcome.of(folder), seconds, epoch_seconds)


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


INTERRUPTED = re.compile(r"\nlayerwise: interrupted; (?:epoch (?P<epoch>\d+) is saved after step "
                         r"(?P<step>\d+) of 400|the last finished epoch \((?P<finished>\d+)\) "
                         r"is saved|no step had finished)\. Continue with: layerwise train "
                         r"--resume (?P<folder>.+)\n")


def epoch_in_progress(folder: Path) -> dict[str, Any] | None:
    state = json.loads(lw.load_metadata(folder / "checkpoint.safetensors")["state"])
    return state["epoch_in_progress"]


def check_saved_mid_epoch(folder: Path, epoch: int, step: int) -> None:
    """The folder holds epoch `epoch` after step `step`: the checkpoint and the weights."""
    assert checkpoint_epoch(folder) == epoch - 1 and saved_epochs(folder) == epoch - 1
    progress = epoch_in_progress(folder)
    assert progress is not None
    assert (progress["epoch"], progress["step"], progress["batches"]) == (epoch, step, BATCHES)
    assert progress["seen"] == 4 * step
    metadata = lw.load_metadata(folder / "model.safetensors")
    assert metadata["epoch"] == str(epoch - 1)
    assert json.loads(metadata["epoch_in_progress"]) == {"epoch": epoch, "step": step,
                                                         "batches": BATCHES}


def resume_mid_epoch_and_compare(folder: Path, reference: Reference, epoch: int,
                                 step: int) -> None:
    explained = resume_and_compare(folder, reference)
    assert explained == f"resuming {folder} in epoch {epoch} of {EPOCHS}, after step {step} of " \
                        f"{BATCHES}\n"


@pytest.mark.parametrize(("epoch", "fraction"), CTRL_C_MOMENTS,
                         ids=lambda value: str(value))
def test_ctrl_c_at_a_random_moment_saves_the_step_says_how_to_resume_and_exits_130(
        tmp_path: Path, reference: Reference, epoch: int, fraction: float) -> None:
    """SIGINT `fraction` of an epoch's time into epoch `epoch`; on a slow or busy machine the
    moment can fall in the end-of-epoch save or validation instead, which keeps that epoch."""
    folder = tmp_path / "run"
    process = start_training(folder)
    wait_until(lambda: (folder / "config.json").exists() and saved_epochs(folder) >= epoch - 1,
               process)
    time.sleep(fraction * reference.epoch_seconds)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 130, err
    assert_one_line(err)
    if err == f"\nlayerwise: interrupted, but the run had finished: {folder} is complete\n":
        resume_and_compare(folder, reference)  # a very busy machine: the moment came too late
        return
    stopped = INTERRUPTED.fullmatch(err)
    assert stopped is not None, err
    assert stopped["folder"] == str(folder)
    if stopped["step"] is not None:
        saved_epoch, step = int(stopped["epoch"]), int(stopped["step"])
        check_saved_mid_epoch(folder, saved_epoch, step)
        resume_mid_epoch_and_compare(folder, reference, saved_epoch, step)
    else:
        if stopped["finished"] is not None:
            assert checkpoint_epoch(folder) == saved_epochs(folder) == int(stopped["finished"])
            assert epoch_in_progress(folder) is None
        resume_and_compare(folder, reference)


# Ctrl-C at a chosen step: the process sends SIGINT to itself at the end of step STEP of epoch
# EPOCH, as the terminal would. THEN says what happens as the checkpoint that it makes the
# process write is renamed into place: "nothing", "ctrl-c" (a second SIGINT), "kill-before" or
# "kill-after" (SIGKILL before or after the rename); or "ctrl-c-before-the-save", a second SIGINT
# as the run's save is called, before it writes anything. Run as
# `python -c CTRL_C_AT_STEP EPOCH STEP THEN ARGUMENTS...`.
CTRL_C_AT_STEP = """
import os, signal, sys
from pathlib import Path
from layerwise.cli import main
from layerwise.train.callbacks import LRSchedulerStep
from layerwise.train.run import Run
from layerwise.train.trainer import Evaluation

epoch, step, then, arguments = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
step_schedule, rename, pressed = LRSchedulerStep.on_batch_end, os.replace, []

def on_batch_end(self, trainer, at, logs):
    step_schedule(self, trainer, at, logs)
    if (trainer.epoch + 1, at) == (epoch, step):
        pressed.append(at)
        os.kill(os.getpid(), signal.SIGINT)

def replace(source, target):
    saving = pressed and Path(target).name == "checkpoint.safetensors"
    if saving and then in ("ctrl-c", "kill-before"):
        os.kill(os.getpid(), signal.SIGINT if then == "ctrl-c" else signal.SIGKILL)
    rename(source, target)
    if saving and then == "kill-after":
        os.kill(os.getpid(), signal.SIGKILL)

def save(run):
    if pressed and then == "ctrl-c-before-the-save":
        os.kill(os.getpid(), signal.SIGINT)
    save_run(run)

LRSchedulerStep.on_batch_end, os.replace = on_batch_end, replace
save_run, Run.save = Run.save, save
sys.exit(main(arguments))
"""


def train_with_ctrl_c_at(folder: Path, epoch: int, step: int,
                         then: str = "nothing") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CTRL_C_AT_STEP, str(epoch), str(step), then,
                           "train", *SETTINGS, "--out", str(folder)], capture_output=True,
                          text=True, timeout=TIMEOUT, preexec_fn=default_sigint)


def interrupted_line(folder: Path, epoch: int, step: int) -> str:
    return (f"\nlayerwise: interrupted; epoch {epoch} is saved after step {step} of {BATCHES}. "
            f"Continue with: layerwise train --resume {folder}\n")


@pytest.mark.parametrize(("epoch", "step"), [(1, 1), (2, 1), (4, 237), (5, BATCHES - 1),
                                             (EPOCHS, BATCHES)],
                         ids=["first-step", "an-epoch's-first-step", "mid-epoch",
                              "before-an-epoch's-last-step", "after-the-last-step"])
def test_ctrl_c_at_a_step_resumes_with_the_next_batch(tmp_path: Path, reference: Reference,
                                                      epoch: int, step: int) -> None:
    folder = tmp_path / "run"
    stopped = train_with_ctrl_c_at(folder, epoch, step)
    assert stopped.returncode == 130, stopped.stderr
    assert stopped.stderr == interrupted_line(folder, epoch, step)
    check_saved_mid_epoch(folder, epoch, step)
    evaluated = layerwise("evaluate", str(folder))
    assert evaluated.returncode == 0, evaluated.stderr
    assert evaluated.stderr == (f"{folder} holds the weights of epoch {epoch}, after step {step} "
                                f"of {BATCHES}, where Ctrl-C stopped the run, not those of a "
                                f"finished epoch\n")
    assert re.search(r"^test accuracy: \d\.\d{4}$", evaluated.stdout, re.MULTILINE)
    resume_mid_epoch_and_compare(folder, reference, epoch, step)


def test_a_second_ctrl_c_while_the_step_is_saved_waits_for_the_save(
        tmp_path: Path, reference: Reference) -> None:
    """The second SIGINT comes as checkpoint.safetensors is renamed into place: the save ends,
    with model.safetensors and metrics.csv, and the command still says one line."""
    folder = tmp_path / "run"
    stopped = train_with_ctrl_c_at(folder, 3, 150, "ctrl-c")
    assert stopped.returncode == 130, stopped.stderr
    assert stopped.stderr == interrupted_line(folder, 3, 150)
    check_saved_mid_epoch(folder, 3, 150)
    assert not list(folder.glob(".*.tmp"))
    resume_mid_epoch_and_compare(folder, reference, 3, 150)


def test_a_second_ctrl_c_before_the_save_starts_waits_for_the_save(
        tmp_path: Path, reference: Reference) -> None:
    """The second SIGINT comes after the first one stopped training and before the save began
    to write: it is handled like the first, and the step is saved all the same."""
    folder = tmp_path / "run"
    stopped = train_with_ctrl_c_at(folder, 3, 150, "ctrl-c-before-the-save")
    assert stopped.returncode == 130, stopped.stderr
    assert stopped.stderr == interrupted_line(folder, 3, 150)
    check_saved_mid_epoch(folder, 3, 150)
    resume_mid_epoch_and_compare(folder, reference, 3, 150)


@pytest.mark.parametrize("moment", ["before", "after"])
def test_kill_while_ctrl_c_saves_the_step(tmp_path: Path, reference: Reference,
                                          moment: str) -> None:
    """kill -9 at the rename of the checkpoint that Ctrl-C writes: before it, the folder still
    holds the end of epoch 2; after it, the checkpoint holds the step and model.safetensors the
    end of epoch 2. Either way it evaluates and resumes to the reference."""
    folder = tmp_path / "run"
    killed = train_with_ctrl_c_at(folder, 3, 150, f"kill-{moment}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert lw.load_metadata(folder / "model.safetensors")["epoch"] == "2"
    assert checkpoint_epoch(folder) == 2
    if moment == "before":
        assert epoch_in_progress(folder) is None
        assert len(list(folder.glob(".checkpoint.safetensors.*.tmp"))) == 1
        check_killed_folder(folder, reference)
    else:
        assert epoch_in_progress(folder) is not None
        assert "epoch_in_progress" not in lw.load_metadata(folder / "model.safetensors")
        resume_mid_epoch_and_compare(folder, reference, 3, 150)


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
    assert trainer.epoch == 0 and trainer.epoch_in_progress is not None
    assert (trainer.epoch_in_progress.epoch, trainer.epoch_in_progress.step) == (1, 1)


def test_on_interrupt_comes_before_the_keyboard_interrupt_and_holds_a_second_ctrl_c(
        ctrl_c_raises: None) -> None:
    """Ctrl-C after step 2 of epoch 1: the callbacks' on_interrupt see that step, a second
    Ctrl-C in the middle of them waits, and fit raises one KeyboardInterrupt after them."""
    calls: list[tuple[str, int, int]] = []

    class CtrlCAndSave(Callback):
        def on_batch_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
            if (trainer.epoch + 1, step) == (1, 2):
                signal.raise_signal(signal.SIGINT)

        def on_interrupt(self, trainer: Trainer) -> None:
            progress = trainer.epoch_in_progress
            assert progress is not None
            calls.append(("first", progress.epoch, progress.step))
            signal.raise_signal(signal.SIGINT)  # Ctrl-C again, as the saving starts
            calls.append(("saved", progress.epoch, progress.step))

    class Later(Callback):
        def on_interrupt(self, trainer: Trainer) -> None:
            calls.append(("second callback", trainer.epoch, len(trainer.history)))

    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(2, 4, rng=rng), nn.ReLU(), nn.Linear(4, 2, rng=rng))
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1),
                      callbacks=[CtrlCAndSave(), Later()], rng=rng, verbose=False)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(rng.normal(size=(40, 2)), rng.integers(0, 2, size=40), epochs=2,
                    batch_size=10)
    assert calls == [("first", 1, 2), ("saved", 1, 2), ("second callback", 0, 0)]
    assert trainer.epoch_in_progress is not None and trainer.epoch_in_progress.step == 2


def test_fit_after_ctrl_c_goes_on_with_the_next_batch_as_if_never_stopped(
        ctrl_c_raises: None) -> None:
    """From Python: Ctrl-C in epoch 2 of 3 leaves the trainer in that epoch, and calling fit
    again finishes the run exactly as one call would have."""
    points, labels = np.random.default_rng(0).normal(size=(90, 2)), np.arange(90) % 2

    def make_trainer() -> Trainer:
        rng = np.random.default_rng(1)
        model = nn.Sequential(nn.Linear(2, 8, rng=rng), nn.ReLU(), nn.Dropout(0.3, rng=rng),
                              nn.Linear(8, 2, rng=rng))
        optimizer = optim.AdamW(model.parameters(), lr=0.01)
        schedule = LRSchedulerStep(lr_scheduler.CosineAnnealingLR(optimizer, T_max=30),
                                   interval="batch")
        return Trainer(model, optimizer, callbacks=[schedule], rng=np.random.default_rng(2),
                       verbose=False)

    def train(trainer: Trainer) -> None:
        trainer.fit(points, labels, epochs=3, batch_size=9, validation_split=0.1)

    straight = make_trainer()
    train(straight)

    stopped = make_trainer()
    real_step, steps = stopped.optimizer.step, []

    def step_with_ctrl_c_at_step_15() -> None:  # step 6 of epoch 2
        real_step()
        steps.append(1)
        if len(steps) == 15:
            signal.raise_signal(signal.SIGINT)

    stopped.optimizer.step = step_with_ctrl_c_at_step_15  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        train(stopped)
    progress = stopped.epoch_in_progress
    assert stopped.epoch == 1 and progress is not None
    assert (progress.epoch, progress.step, progress.batches, progress.seen) == (2, 6, 9, 54)
    train(stopped)

    assert stopped.epoch_in_progress is None
    def without_seconds(trainer: Trainer) -> list[dict[str, float]]:
        return [{k: v for k, v in record.items() if k != "seconds"}
                for record in trainer.history.records]

    assert without_seconds(stopped) == without_seconds(straight)
    for name, value in straight.model.state_dict().items():
        np.testing.assert_array_equal(stopped.model.state_dict()[name], value, err_msg=name)
    assert stopped.rng.bit_generator.state == straight.rng.bit_generator.state


# --- numerical faults ----------------------------------------------------------------------

DIVERGING = ["train", "--dataset", "moons", "--hidden", "16", "--epochs", "3", "--samples", "300",
             "--batch-size", "16", "--optimizer", "sgd", "--lr", "1e6", "--quiet"]
LEARNING_RATE_HINT = r"; the learning rate \([0-9.e+]+\) may be too high: try a smaller one"


def nothing_saved(folder: Path) -> str:
    return re.escape(f" in a new run; --resume would start {folder} again from epoch 1 with the "
                     f"same settings (it has no saved epoch)\n")


def test_a_nan_loss_stops_training_naming_epoch_and_step(tmp_path: Path) -> None:
    finished = layerwise(*DIVERGING, "--out", str(tmp_path / "run"))
    assert finished.returncode == 2
    assert_one_line(finished.stderr)
    assert re.fullmatch(r"layerwise: error: the loss became (nan|inf|-inf) at epoch 1, step \d+"
                        + LEARNING_RATE_HINT + nothing_saved(tmp_path / "run"),
                        finished.stderr), finished.stderr


def test_detect_anomaly_names_the_op_that_made_the_nan(tmp_path: Path) -> None:
    finished = layerwise(*DIVERGING, "--detect-anomaly", "--out", str(tmp_path / "run"))
    assert finished.returncode == 2
    assert_one_line(finished.stderr)
    assert re.fullmatch(r"layerwise: error: [A-Z]\w* (forward|backward) produced (NaN|inf)"
                        r"( in the gradient for input \d)? \(input shapes: .*\) at epoch 1, "
                        r"step \d+" + LEARNING_RATE_HINT + nothing_saved(tmp_path / "run"),
                        finished.stderr), finished.stderr


# After a divergence: a Trainer refuses to go on from the broken state until told where to start
# again; a Run, and the command, start again from the run's last save.


class NaNWeightAt(Callback):
    """Before step `step` of epoch `epoch`, a NaN in the first weight: that step's loss is NaN,
    as if the weights had blown up."""

    def __init__(self, epoch: int, step: int) -> None:
        self.moment = (epoch, step)

    def on_batch_begin(self, trainer: Trainer, step: int) -> None:
        if (trainer.epoch + 1, step) == self.moment:
            next(iter(trainer.model.parameters())).data[0] = np.nan


def without_seconds(history: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


def assert_same_weights(model: nn.Module, reference: nn.Module) -> None:
    for name, value in reference.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[name], value, err_msg=name, strict=True)


def test_fit_after_a_divergence_refuses_until_the_epoch_is_restarted() -> None:
    """The second fit would go on from the NaN weights; it refuses, saying what to do. Loading
    the state of epoch 1 and restart_epoch() train epoch 2 again, in its order, to the end that
    a run without the fault reaches."""
    points, labels = np.random.default_rng(0).normal(size=(90, 2)), np.arange(90) % 2

    def make_trainer(callbacks: list[Callback]) -> Trainer:
        rng = np.random.default_rng(1)
        model = nn.Sequential(nn.Linear(2, 8, rng=rng), nn.ReLU(), nn.Linear(8, 2, rng=rng))
        return Trainer(model, optim.Adam(model.parameters(), lr=0.01), callbacks=callbacks,
                       rng=np.random.default_rng(2), verbose=False)

    def train(trainer: Trainer) -> None:
        trainer.fit(points, labels, epochs=3, batch_size=9)

    straight = make_trainer([])
    train(straight)

    class KeepEachEpoch(Callback):
        def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
            self.weights = trainer.model.state_dict()
            self.optimizer = trainer.optimizer.state_dict()

    kept = KeepEachEpoch()
    diverging = make_trainer([kept, NaNWeightAt(epoch=2, step=3)])
    with np.errstate(all="ignore"), pytest.raises(
            TrainingDivergedError, match=r"^the loss became nan at epoch 2, step 3; "):
        train(diverging)
    assert diverging.diverged == "the loss became nan at epoch 2, step 3"
    progress = diverging.epoch_in_progress
    assert diverging.epoch == 1 and progress is not None and progress.step == 2

    with pytest.raises(RuntimeError) as refused:
        train(diverging)
    assert str(refused.value) == (
        "fit: training diverged (the loss became nan at epoch 2, step 3), and the model and the "
        "optimizer hold the state of that moment, not of a finished epoch: load the weights and "
        "optimizer state of one (from a ModelCheckpoint file, or state_dict() copies), then "
        "call trainer.restart_epoch() to train epoch 2 again from its first batch")
    assert diverging.epoch_in_progress is progress  # the refusal changed nothing

    diverging.callbacks.pop()
    diverging.model.load_state_dict(kept.weights)
    diverging.optimizer.load_state_dict(kept.optimizer)
    diverging.restart_epoch()
    assert diverging.diverged is None and diverging.epoch_in_progress is None
    train(diverging)
    assert without_seconds(diverging.history.records) == without_seconds(straight.history.records)
    assert_same_weights(diverging.model, straight.model)


def evaluate_only(run: Run) -> Evaluation:
    """Run.finish without its files: the test evaluation."""
    return run.trainer.evaluate(run.splits.test_x, run.splits.test_y)


def test_a_run_that_diverged_starts_again_from_its_last_save(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NaN weights at step 5 of epoch 2 (a step that the health records sample): the run keeps
    that state to be looked at; its next train() starts again from the end of epoch 1 in its
    folder and ends as the run without the fault ends, health records included."""
    monkeypatch.setattr(Run, "finish", evaluate_only)
    config = RunConfig(dataset="moons", hidden=[8], epochs=3, samples=200, batch_size=16, seed=5)
    straight = Run(config, tmp_path / "straight", verbose=False, health=True)
    expected = straight.train()

    run = Run(config, tmp_path / "run", verbose=False, health=True)
    run.trainer.callbacks.append(NaNWeightAt(epoch=2, step=5))
    with np.errstate(all="ignore"), pytest.raises(TrainingDivergedError,
                                                  match="at epoch 2, step 5; "):
        run.train()
    assert np.isnan(next(iter(run.model.parameters())).data).any()  # the moment, to look at
    assert run.saved_state() == "the end of epoch 1"

    run.trainer.callbacks.pop()
    result = run.train()
    assert run.trainer.diverged is None
    assert without_seconds(run.trainer.history.records) == without_seconds(
        straight.trainer.history.records)
    assert_same_weights(run.model, straight.model)
    assert (result.loss, result.accuracy) == (expected.loss, expected.accuracy)
    assert run.health is not None and straight.health is not None
    assert [(sample["step"], sample["loss"]) for sample in run.health.samples] == [
        (sample["step"], sample["loss"]) for sample in straight.health.samples]


def test_a_run_that_diverged_before_its_first_save_refuses_to_go_on(tmp_path: Path) -> None:
    config = RunConfig(dataset="moons", hidden=[8], epochs=2, samples=200, batch_size=16)
    run = Run(config, tmp_path / "run", verbose=False)
    run.trainer.callbacks.append(NaNWeightAt(epoch=1, step=2))
    with np.errstate(all="ignore"), pytest.raises(TrainingDivergedError):
        run.train()
    with pytest.raises(RuntimeError) as refused:
        run.train()
    assert str(refused.value) == (
        f"{run.folder}: training diverged (the loss became nan at epoch 1, step 2) before the "
        f"run's first save, so it has no good state to start again from; make a new Run (with "
        f"a smaller learning rate)")


def test_a_run_whose_last_save_cannot_be_read_does_not_go_on_after_a_divergence(
        tmp_path: Path) -> None:
    config = RunConfig(dataset="moons", hidden=[8], epochs=2, samples=200, batch_size=16)
    run = Run(config, tmp_path / "run", verbose=False)
    run.trainer.callbacks.append(NaNWeightAt(epoch=2, step=2))
    with np.errstate(all="ignore"), pytest.raises(TrainingDivergedError):
        run.train()
    checkpoint = run.folder / "checkpoint.safetensors"
    metadata = lw.load_metadata(checkpoint)
    state = json.loads(metadata["state"])
    del state["shuffle_rng"]  # read after the weights: a restore that fails half-way
    lw.save(lw.load(checkpoint), checkpoint, metadata={**metadata, "state": json.dumps(state)})
    for _ in range(2):  # the failed restore leaves the run diverged, not ready to go on
        with pytest.raises(lw.CheckpointError, match="it has no 'shuffle_rng'"):
            run.train()
    assert run.trainer.diverged == "the loss became nan at epoch 2, step 2"


def test_the_command_says_what_the_folder_keeps_and_resume_starts_again_from_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    settings = ["--dataset", "moons", "--hidden", "8", "--epochs", "3", "--samples", "200",
                "--batch-size", "16", "--no-health", "--quiet"]
    assert main(["train", *settings, "--out", str(tmp_path / "straight")]) == 0

    step_schedule = LRSchedulerStep.on_batch_end

    def nan_weights_after_step_3_of_epoch_2(self: LRSchedulerStep, trainer: Trainer, step: int,
                                            logs: dict[str, float]) -> None:
        step_schedule(self, trainer, step, logs)
        NaNWeightAt(epoch=2, step=3).on_batch_begin(trainer, step)

    folder = tmp_path / "run"
    capsys.readouterr()
    with monkeypatch.context() as patched:
        patched.setattr(LRSchedulerStep, "on_batch_end", nan_weights_after_step_3_of_epoch_2)
        assert main(["train", *settings, "--out", str(folder)]) == 2
    assert re.fullmatch(r"layerwise: error: the loss became nan at epoch 2, step 4"
                        + LEARNING_RATE_HINT + re.escape(
                            f" in a new run; --resume would start again from the last save in "
                            f"{folder} (the end of epoch 1) with the same settings\n"),
                        capsys.readouterr().err)

    assert main(["train", "--resume", str(folder), "--quiet"]) == 0
    assert capsys.readouterr().err == f"resuming {folder} at epoch 2 of 3\n"
    Outcome.of(folder).assert_identical_to(Outcome.of(tmp_path / "straight"))


# --- determinism ---------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_weights_and_metrics(tmp_path: Path,
                                                          reference: Reference) -> None:
    """Same settings, same machine, same threads: a second process repeats the run exactly."""
    finished = layerwise("train", *SETTINGS, "--out", str(tmp_path / "again"))
    assert finished.returncode == 0, finished.stderr
    Outcome.of(tmp_path / "again").assert_identical_to(reference.outcome)
