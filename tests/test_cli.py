"""The `layerwise` command: run folders, evaluate, predict, gradcheck, and one-line errors."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from layerwise.cli import epochs_text, main
from layerwise.data import write_idx
from layerwise.train import LRSchedulerStep, Trainer

FAST = ["--hidden", "16", "--epochs", "3", "--samples", "300", "--batch-size", "32", "--quiet"]


def run_cli(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    status = main(list(arguments))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def spiral_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("runs") / "spirals"
    assert main(["train", "--dataset", "spirals", *FAST, "--out", str(folder)]) == 0
    return folder


def test_train_writes_the_run_folder(spiral_run: Path) -> None:
    names = {path.name for path in spiral_run.iterdir()}
    assert {"config.json", "model.safetensors", "checkpoint.safetensors", "metrics.json",
            "metrics.csv", "loss_curve.png", "confusion_matrix.png",
            "decision_boundary.png"} <= names
    config = json.loads((spiral_run / "config.json").read_text())
    assert config["config"]["hidden"] == [16] and "numpy" in config["versions"]
    metrics = json.loads((spiral_run / "metrics.json").read_text())
    assert len(metrics["history"]) == 3 and 0.0 <= metrics["test_accuracy"] <= 1.0
    for picture in ("loss_curve.png", "confusion_matrix.png", "decision_boundary.png"):
        assert (spiral_run / picture).read_bytes().startswith(b"\x89PNG")


def test_evaluate_reports_the_accuracy_of_the_run(capsys: pytest.CaptureFixture[str],
                                                  spiral_run: Path) -> None:
    expected = json.loads((spiral_run / "metrics.json").read_text())["test_accuracy"]
    for target in (spiral_run, spiral_run / "model.safetensors"):
        status, out, _ = run_cli(capsys, "evaluate", str(target))
        assert status == 0
        assert f"test accuracy: {expected:.4f}" in out and "per-class accuracy" in out


def test_predict_prints_classes_with_probabilities(capsys: pytest.CaptureFixture[str],
                                                   spiral_run: Path, tmp_path: Path) -> None:
    points = tmp_path / "points.npy"
    np.save(points, np.array([0.1, 0.2], dtype=np.float32))
    status, out, _ = run_cli(capsys, "predict", str(spiral_run), str(points), "--top", "2")
    assert status == 0
    assert out.startswith(f"{points}: class ") and out.count("(") == 2
    np.save(points, np.array([[0.1, 0.2], [-0.5, 0.3], [0.0, 0.9]]))
    status, out, _ = run_cli(capsys, "predict", str(spiral_run), str(points), "--top", "1")
    assert status == 0 and out.splitlines()[2].startswith(f"{points}[2]: class ")


def test_resume_runs_on_to_more_epochs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "run"
    assert main(["train", "--dataset", "moons", *FAST, "--out", str(folder)]) == 0
    status, out, err = run_cli(capsys, "train", "--resume", str(folder), "--epochs", "5",
                               "--quiet")
    assert status == 0 and "resuming" in err and "trained 2 epochs in this run" in out
    assert len(json.loads((folder / "metrics.json").read_text())["history"]) == 5


@pytest.mark.parametrize(("steps", "text"), [
    (0, "0 epochs"), (400, "1 epoch"), (800, "2 epochs"), (2182, "5.45 epochs"),
    (399, "0.99 epochs"), (1, "0.002 epochs"), (2001, "5.002 epochs"), (960, "2.4 epochs")])
def test_epochs_are_counted_with_a_part_never_shown_whole(steps: int, text: str) -> None:
    assert epochs_text(steps, 400) == text


def trained_line(out: str) -> str:
    """The first line of train's summary, its time replaced by T."""
    return re.sub(r"\(\d+\.\d s\)", "(T s)", out.splitlines()[0])


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """KeyboardInterrupt on SIGINT in this process too, even when started with it ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_the_trained_line_counts_what_this_run_trained(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        ctrl_c_raises: None) -> None:
    """A fresh run, a resume after a whole epoch, a resume of a finished run, and a resume
    from Ctrl-C after step 3 of epoch 2 (10 steps an epoch): that epoch's 7 steps left count
    as 0.7 of an epoch, not as a whole one."""
    small = ["--dataset", "moons", "--hidden", "8", "--samples", "200", "--batch-size", "16",
             "--no-health", "--quiet"]
    folder = tmp_path / "run"
    status, out, _ = run_cli(capsys, "train", *small, "--epochs", "2", "--out", str(folder))
    assert status == 0 and trained_line(out) == "trained 2 epochs in this run (T s); epoch 2 " \
                                                "of 2 done"
    status, out, _ = run_cli(capsys, "train", "--resume", str(folder), "--epochs", "3")
    assert status == 0 and trained_line(out) == "trained 1 epoch in this run (T s); epoch 3 " \
                                                "of 3 done"
    status, out, err = run_cli(capsys, "train", "--resume", str(folder))
    assert status == 0 and err.startswith("the run already has 3 epochs")
    assert trained_line(out) == "trained 0 epochs in this run (T s); epoch 3 of 3 done"

    step_schedule = LRSchedulerStep.on_batch_end

    def ctrl_c_after_step_3_of_epoch_2(self: LRSchedulerStep, trainer: Trainer, step: int,
                                      logs: dict[str, float]) -> None:
        step_schedule(self, trainer, step, logs)
        if (trainer.epoch + 1, step) == (2, 3):
            signal.raise_signal(signal.SIGINT)

    stopped = tmp_path / "stopped"
    with monkeypatch.context() as patched:
        patched.setattr(LRSchedulerStep, "on_batch_end", ctrl_c_after_step_3_of_epoch_2)
        status, _, err = run_cli(capsys, "train", *small, "--epochs", "3", "--out",
                                 str(stopped))
    assert status == 130 and "epoch 2 is saved after step 3 of 10" in err
    status, out, _ = run_cli(capsys, "train", "--resume", str(stopped))
    assert status == 0 and trained_line(out) == "trained 1.7 epochs in this run (T s); epoch 3 " \
                                                "of 3 done"


def test_config_file_with_flags_winning(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text('dataset = "xor"\nhidden = [8, 8]\nepochs = 1\nsamples = 200\n')
    folder = tmp_path / "run"
    status, _, _ = run_cli(capsys, "train", "--config", str(config), "--epochs", "2", "--quiet",
                           "--out", str(folder))
    assert status == 0
    saved = json.loads((folder / "config.json").read_text())["config"]
    assert (saved["dataset"], saved["hidden"], saved["epochs"]) == ("xor", [8, 8], 2)


def test_gradcheck_command_passes_every_case(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "gradcheck")
    assert status == 0
    assert "Linear-with-bias" in out and "network 5-6-3" in out
    assert out.rstrip().endswith("passed, 0 failed")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["train", "--lr", "-1", "--dataset", "moons"], "--lr must be positive, got -1.0"),
        (["train", "--dataset", "moons", "--dropout", "1.5"], "--dropout must be in [0, 1)"),
        (["train", "--data", "/nonexistent/folder"], "Fashion-MNIST"),
        (["train", "--config", "/nonexistent.toml"], "no config file at /nonexistent.toml"),
        (["evaluate", "/nonexistent/run"], "no checkpoint at /nonexistent/run"),
        (["train", "--resume", "/nonexistent/run"], "is not a layerwise run folder"),
    ],
    ids=["negative-lr", "dropout-range", "missing-data", "missing-config", "missing-run",
         "resume-missing"],
)
def test_user_errors_are_one_line(capsys: pytest.CaptureFixture[str], arguments: list[str],
                                  message: str) -> None:
    status, _, err = run_cli(capsys, *arguments)
    assert status == 2
    assert err.startswith("layerwise: error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_resume_refuses_changed_settings_and_fewer_epochs(
        capsys: pytest.CaptureFixture[str], spiral_run: Path) -> None:
    status, _, err = run_cli(capsys, "train", "--resume", str(spiral_run), "--lr", "0.5")
    assert status == 2 and "--lr cannot change a run on --resume" in err
    status, _, err = run_cli(capsys, "train", "--resume", str(spiral_run), "--epochs", "1")
    assert status == 2 and "already has 3 epochs; --epochs must be more" in err


def test_evaluate_explains_a_resume_checkpoint(capsys: pytest.CaptureFixture[str],
                                              spiral_run: Path) -> None:
    status, _, err = run_cli(capsys, "evaluate", str(spiral_run / "checkpoint.safetensors"))
    assert status == 2 and "is a resume checkpoint; evaluate and predict take the run" in err


def test_config_values_of_the_wrong_type_are_named(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text('epochs = "3"\n')
    status, _, err = run_cli(capsys, "train", "--config", str(config))
    assert status == 2 and "epochs must be an integer, got '3'" in err
    config.write_text("hidden = 16\n")
    status, _, err = run_cli(capsys, "train", "--config", str(config))
    assert status == 2 and "hidden must be a list of layer widths" in err


def test_unknown_config_keys_are_named(capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text("learning_rate = 0.1\n")
    status, _, err = run_cli(capsys, "train", "--config", str(config))
    assert status == 2 and "unknown settings learning_rate" in err


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(capsys, "--debug", "evaluate", "/nonexistent/run")
    assert status == 2 and "Traceback" in err
    status, _, err = run_cli(capsys, "evaluate", "/nonexistent/run", "--debug")
    assert status == 2 and "Traceback" in err


def test_module_entry_point_runs_without_traceback() -> None:
    finished = subprocess.run([sys.executable, "-m", "layerwise", "evaluate", "/nonexistent"],
                              capture_output=True, text=True, timeout=60)
    assert finished.returncode == 2
    assert finished.stderr.startswith("layerwise: error:") and "Traceback" not in finished.stderr


def test_fashion_mnist_end_to_end(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """On the real data (installed by `make test`): one short epoch, then evaluate and predict
    on test images written as an IDX file."""
    folder = tmp_path / "fashion"
    status, out, _ = run_cli(capsys, "train", "--hidden", "64", "--epochs", "1", "--quiet",
                             "--out", str(folder))
    assert status == 0
    accuracy = float(out.split("test accuracy: ")[1].split()[0])
    assert accuracy > 0.8
    status, out, _ = run_cli(capsys, "evaluate", str(folder))
    assert f"test accuracy: {accuracy:.4f}" in out
    assert "Ankle boot" in out
    from layerwise.data import fashion_mnist

    test = fashion_mnist("test")
    images = tmp_path / "three-images-idx3-ubyte"
    write_idx(images, test.images[:3])
    import matplotlib.image

    picture = tmp_path / "first.png"
    matplotlib.image.imsave(picture, test.images[0], cmap="gray", vmin=0, vmax=255)
    status, out, _ = run_cli(capsys, "predict", str(folder), str(images), str(picture))
    assert status == 0 and len(out.splitlines()) == 4
    predicted = [line.split(": ")[1].split(" (")[0] for line in out.splitlines()]
    assert sum(p == test.classes[label] for p, label in zip(predicted[:3], test.labels[:3],
                                                             strict=True)) >= 2
    assert predicted[3] == predicted[0]  # the same image as PNG and as IDX


def test_output_cut_short_by_a_closed_pipe_ends_quietly(spiral_run: Path) -> None:
    """`layerwise evaluate RUN | head -1`: the reader is gone before the output is written;
    the command stops with SIGPIPE's status (128 + 13), as a shell tool would, and says nothing
    of a broken pipe (Python ignores SIGPIPE, so the write raises BrokenPipeError instead)."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        finished = subprocess.run([sys.executable, "-m", "layerwise", "evaluate", str(spiral_run)],
                                  stdout=writer, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(writer)
    assert finished.returncode == 141
    assert finished.stderr == ""
