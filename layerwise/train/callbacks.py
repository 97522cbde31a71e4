"""Callbacks: hooks the Trainer calls around epochs and batches.

A callback subclasses `Callback` and overrides the hooks it needs; each gets the trainer, so it
can read `trainer.model`, `trainer.optimizer`, `trainer.history` or set
`trainer.stop_training = True`.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from layerwise.checkpoint import save, write_atomically
from layerwise.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

if TYPE_CHECKING:
    from layerwise.train.trainer import Trainer


class Callback:
    """Base class: every hook does nothing."""

    def on_train_begin(self, trainer: Trainer) -> None:
        """Before the first epoch of `fit`."""

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """Before epoch `epoch` (counted from 1)."""

    def on_batch_begin(self, trainer: Trainer, step: int) -> None:
        """Before the forward pass of step `step` of the epoch (counted from 1): the weights
        are those the step starts from."""

    def on_batch_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        """After each optimizer step; logs hold the batch's loss."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """After each epoch; logs hold its metrics (loss, accuracy, val_loss, ...)."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After the last epoch (also after an early stop)."""

    def on_interrupt(self, trainer: Trainer) -> None:
        """Ctrl-C is stopping `fit` at a safe point: after a step's `on_batch_end` (the
        trainer's `epoch_in_progress` says which), or after an epoch's `on_epoch_end`. The
        weights are whole; save here what must survive. Further Ctrl-C waits until every
        callback's `on_interrupt` has returned; then `fit` raises KeyboardInterrupt."""


def _is_better(mode: str, value: float, best: float, min_delta: float) -> bool:
    if math.isnan(value):
        return False
    if mode == "min":
        return value < best - min_delta
    return value > best + min_delta


def _mode_for(monitor: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if "acc" in monitor else "min"


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by min_delta for `patience` epochs in a row
    (patience=0: at the first epoch without improvement).

    With restore_best_weights the model gets back the weights of its best epoch.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False) -> None:
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode = _mode_for(monitor, mode)
        self.restore_best_weights = restore_best_weights
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.wait = 0
        self.best_state: dict[str, np.ndarray] | None = None

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, but the epoch logs hold "
                           f"{sorted(logs)}")
        value = logs[self.monitor]
        if _is_better(self.mode, value, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_state = trainer.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.stop_training = True
            trainer.log(f"early stopping: {self.monitor} has not improved since epoch "
                        f"{self.best_epoch} ({self.best:.4f})")

    def on_train_end(self, trainer: Trainer) -> None:
        if self.restore_best_weights and self.best_state is not None:
            trainer.model.load_state_dict(self.best_state)


class ModelCheckpoint(Callback):
    """Save the model's weights (atomically, as safetensors) when `monitor` improves, or every
    epoch with save_best_only=False."""

    def __init__(self, path: str | Path, monitor: str = "val_loss", mode: str = "auto",
                 save_best_only: bool = True) -> None:
        self.path = Path(path)
        self.monitor, self.save_best_only = monitor, save_best_only
        self.mode = _mode_for(monitor, mode)
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise KeyError(f"ModelCheckpoint monitors {self.monitor!r}, but the epoch logs hold "
                           f"{sorted(logs)}")
        value = logs[self.monitor]
        if self.save_best_only and not _is_better(self.mode, value, self.best, 0.0):
            return
        if not math.isnan(value):
            self.best = value
        save(trainer.model.state_dict(), self.path,
             metadata={"epoch": str(epoch), self.monitor: repr(value)})


class LRSchedulerStep(Callback):
    """Step a learning-rate scheduler after every epoch, or after every batch.

    A ReduceLROnPlateau is stepped after every epoch with the value of `monitor` in the
    epoch's logs (the validation loss by default, so `fit` needs validation data).
    """

    def __init__(self, scheduler: LRScheduler, interval: str = "epoch",
                 monitor: str = "val_loss") -> None:
        if interval not in ("epoch", "batch"):
            raise ValueError(f"LRSchedulerStep: interval must be 'epoch' or 'batch', got "
                             f"{interval!r}")
        if isinstance(scheduler, ReduceLROnPlateau) and interval != "epoch":
            raise ValueError(f"LRSchedulerStep: a ReduceLROnPlateau steps once per epoch, with "
                             f"the epoch's {monitor}; interval must be 'epoch', got "
                             f"{interval!r}")
        self.scheduler, self.interval, self.monitor = scheduler, interval, monitor

    def on_batch_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        if self.interval == "batch":
            self.scheduler.step()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if isinstance(self.scheduler, ReduceLROnPlateau):
            if self.monitor not in logs:
                raise KeyError(f"LRSchedulerStep monitors {self.monitor!r} for "
                               f"ReduceLROnPlateau, but the epoch logs hold {sorted(logs)}; "
                               f"give fit validation data or another monitor")
            self.scheduler.step(logs[self.monitor])
        elif self.interval == "epoch":
            self.scheduler.step()


class CSVLogger(Callback):
    """Write the history to a CSV file after every epoch (the whole file, atomically)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        write_history_csv(trainer.history.records, self.path)


def write_history_csv(records: list[dict[str, Any]], path: Path) -> None:
    """One row per epoch, one column per metric, written atomically."""
    columns: list[str] = []
    for record in records:
        columns += [name for name in record if name not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    write_atomically(path, buffer.getvalue().encode())
