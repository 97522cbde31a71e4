"""Trainer, callbacks and runs: learning happens, callbacks act, a resumed run is identical."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

import layerwise as lw
from layerwise import nn, optim
from layerwise.data import spirals
from layerwise.train import (
    CSVLogger,
    EarlyStopping,
    LRSchedulerStep,
    ModelCheckpoint,
    Trainer,
    TrainingDivergedError,
    confusion_matrix,
)
from layerwise.train.config import OPTIMIZERS, SCHEDULES, RunConfig
from layerwise.train.run import Run


def spiral_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return spirals(n_samples=600, rng=np.random.default_rng(seed))


def small_trainer(seed: int = 0, lr: float = 0.01, **options: object) -> Trainer:
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(2, 32, rng=rng), nn.Tanh(), nn.Linear(32, 32, rng=rng),
                          nn.Tanh(), nn.Linear(32, 2, rng=rng))
    return Trainer(model, optim.Adam(model.parameters(), lr=lr),
                   rng=np.random.default_rng(seed + 1), verbose=False, **options)  # type: ignore[arg-type]


def test_trainer_learns_spirals_and_keeps_history() -> None:
    x, y = spiral_data()
    trainer = small_trainer()
    history = trainer.fit(x, y, epochs=40, batch_size=32, validation_split=0.2)
    assert len(history) == 40 and history["epoch"] == list(range(1, 41))
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["val_accuracy"][-1] > 0.9
    result = trainer.evaluate(x, y)
    assert result.accuracy > 0.9 and result.confusion_matrix.sum() == len(y)
    probabilities = trainer.predict(x[:5])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_fit_continues_to_a_total_number_of_epochs() -> None:
    x, y = spiral_data()
    once, twice = small_trainer(), small_trainer()
    once.fit(x, y, epochs=6, batch_size=64)
    twice.fit(x, y, epochs=3, batch_size=64)
    twice.fit(x, y, epochs=6, batch_size=64)
    assert twice.epoch == 6 and len(twice.history) == 6
    for mine, reference in zip(twice.model.parameters(), once.model.parameters(), strict=True):
        np.testing.assert_array_equal(mine.data, reference.data)


def test_a_diverging_loss_names_epoch_step_and_learning_rate() -> None:
    x, y = spiral_data()
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(2, 32, rng=rng), nn.Linear(32, 2, rng=rng))
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=1e4), verbose=False)
    with (np.errstate(all="ignore"),
          pytest.raises(TrainingDivergedError, match=r"loss became (nan|inf) at epoch \d+, step "
                                                     r"\d+; the learning rate \(10000\) may be "
                                                     r"too high")):
        trainer.fit(x * 1e3, y, epochs=50, batch_size=8)


def test_early_stopping_stops_and_restores_the_best_weights() -> None:
    x, y = spiral_data()
    stopper = EarlyStopping(monitor="val_loss", patience=0, restore_best_weights=True)
    trainer = small_trainer(lr=0.3, callbacks=[stopper])
    history = trainer.fit(x, y, epochs=200, batch_size=16, validation_split=0.3)
    assert len(history) < 200
    best = min(history["val_loss"])
    assert stopper.best == best
    held_out = (x[420:], y[420:])
    assert trainer.evaluate(*held_out).loss == pytest.approx(best, rel=1e-6)


def test_model_checkpoint_csv_logger_and_scheduler(tmp_path: Path) -> None:
    x, y = spiral_data()
    trainer = small_trainer()
    scheduler = optim.lr_scheduler.StepLR(trainer.optimizer, step_size=1, gamma=0.5)
    trainer.callbacks = [ModelCheckpoint(tmp_path / "best.safetensors", monitor="val_accuracy"),
                         CSVLogger(tmp_path / "log.csv"), LRSchedulerStep(scheduler)]
    history = trainer.fit(x, y, epochs=3, batch_size=64, validation_split=0.2)
    assert history["lr"] == [0.01, 0.005, 0.0025]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "log.csv").read_text())))
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3]
    best_epoch = int(np.argmax(history["val_accuracy"])) + 1
    assert lw.load_metadata(tmp_path / "best.safetensors")["epoch"] == str(best_epoch)
    trainer.model.load_state_dict(lw.load(tmp_path / "best.safetensors"))


def test_progress_prints_one_line_per_epoch_off_a_terminal() -> None:
    x, y = spiral_data()
    stream = io.StringIO()
    trainer = small_trainer()
    trainer.verbose, trainer.stream = True, stream
    trainer.fit(x, y, epochs=2, batch_size=64, validation_split=0.2)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2  loss ")
    assert "val_accuracy" in lines[1]


def test_confusion_matrix_counts_true_rows_and_predicted_columns() -> None:
    counts = confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), 3)
    np.testing.assert_array_equal(counts, [[1, 0, 0], [0, 1, 0], [0, 1, 1]])


def run_config(**changes: object) -> RunConfig:
    values: dict[str, object] = {"dataset": "moons", "hidden": [16], "epochs": 4,
                                 "samples": 400, "batch_size": 32, "dropout": 0.2,
                                 "validation_size": 80, "seed": 3}
    values.update(changes)
    return RunConfig(**values)  # type: ignore[arg-type]


def timeless_history(run: Run) -> list[dict[str, float]]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in run.trainer.history.records]


def test_a_resumed_run_is_bitwise_identical_to_an_uninterrupted_one(tmp_path: Path) -> None:
    straight = Run(run_config(), tmp_path / "straight", verbose=False)
    straight.train()
    first = Run(run_config(), tmp_path / "split", verbose=False)
    first.folder.mkdir()
    splits = first.splits
    first.trainer.fit(splits.train_x, splits.train_y, epochs=2,  # stopped after 2 of 4 epochs
                      batch_size=first.config.batch_size,
                      validation_data=(splits.val_x, splits.val_y))
    second = Run(run_config(), tmp_path / "split", verbose=False)
    second.restore()
    assert second.trainer.epoch == 2
    second.train()
    for name, value in straight.model.state_dict().items():
        np.testing.assert_array_equal(second.model.state_dict()[name], value, err_msg=name)

    assert timeless_history(second) == timeless_history(straight)


def fit_to(run: Run, epochs: int) -> None:
    """What run.train() does, without the test evaluation and the plots."""
    run.folder.mkdir(exist_ok=True)
    splits = run.splits
    run.trainer.fit(splits.train_x, splits.train_y, epochs=epochs,
                    batch_size=run.config.batch_size, validation_data=(splits.val_x, splits.val_y))


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_resume_restores_every_optimizer_and_schedule_exactly(
        tmp_path: Path, optimizer: str, schedule: str) -> None:
    """Moments, momentum buffers, squared-gradient sums, step counters, the schedule's
    position (OneCycleLR's cycled momentum too) and both generators carry over bit for bit."""
    config = run_config(optimizer=optimizer, schedule=schedule)
    straight = Run(config, tmp_path / "straight", verbose=False)
    fit_to(straight, 4)
    stopped = Run(config, tmp_path / "stopped", verbose=False)
    fit_to(stopped, 2)
    resumed = Run(config, stopped.folder, verbose=False)
    resumed.restore()
    fit_to(resumed, 4)
    for name, value in straight.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[name], value, err_msg=name,
                                      strict=True)
    assert resumed.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"]
    assert timeless_history(resumed) == timeless_history(straight)


def test_the_same_seed_gives_identical_runs(tmp_path: Path) -> None:
    first = Run(run_config(), tmp_path / "first", verbose=False)
    second = Run(run_config(), tmp_path / "second", verbose=False)
    first_result, second_result = first.train(), second.train()
    assert first_result.accuracy == second_result.accuracy
    for name, value in first.model.state_dict().items():
        np.testing.assert_array_equal(second.model.state_dict()[name], value, err_msg=name)
    other = Run(run_config(seed=4), tmp_path / "other", verbose=False)
    other.train()
    assert not np.array_equal(other.model[1].weight.data, first.model[1].weight.data)
