"""Trainer: the training loop of the lectures (forward, loss, backward, step) with the
bookkeeping around it: batches, validation, history, callbacks, progress, evaluation."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TextIO

import numpy as np

from layerwise import functional as F
from layerwise.data import DataLoader
from layerwise.distributed.optimizer import DistributedOptimizer, shard
from layerwise.nn.loss import CrossEntropyLoss
from layerwise.nn.module import Module
from layerwise.ops.loss import check_class_labels
from layerwise.optim.optimizer import Optimizer
from layerwise.rng import BatchShard, default_generator
from layerwise.settings import no_grad
from layerwise.tensor import Tensor
from layerwise.train.callbacks import Callback
from layerwise.train.history import History
from layerwise.train.interrupts import PendingInterrupt, interrupts_deferred
from layerwise.train.metrics import accuracy, confusion_matrix, per_class_accuracy
from layerwise.train.progress import EpochProgress


class TrainingDivergedError(FloatingPointError):
    """The loss or the weights became NaN or infinite (or, under `detect_anomaly`, the output or
    gradient of an op); the message names the epoch, the step and what to try."""


@dataclass
class Evaluation:
    """What `Trainer.evaluate` measures on a labelled set."""

    loss: float
    accuracy: float
    confusion_matrix: np.ndarray

    @property
    def per_class_accuracy(self) -> np.ndarray:
        return per_class_accuracy(self.confusion_matrix)


@dataclass
class EpochInProgress:
    """Where an unfinished epoch stands: what finishing it exactly as if it had never stopped
    needs, besides the weights, the optimizer, the schedule and the generators' states now.

    The Trainer keeps one in `trainer.epoch_in_progress` from the start of an epoch until its
    record is in the history; after Ctrl-C, which stops training between two steps, it says
    which steps are done. `to_dict` and `from_dict` carry it through a checkpoint as JSON.
    """

    epoch: int
    batches: int  # in the whole epoch
    lr: float  # the first group's learning rate when the epoch started: its record's "lr"
    shuffle_state: Mapping[str, Any]  # the shuffling generator's before the order was drawn
    step: int = 0  # steps done
    total_loss: float = 0.0  # sum over the steps done of the batch's mean loss times its size
    correct: int = 0
    seen: int = 0
    peak_lr: float = 0.0  # the highest learning rate of the epoch so far
    seconds: float = 0.0  # the time spent in the epoch up to the end of the last step

    def add_step(self, loss: float, count: int, correct: int, seconds: float) -> None:
        self.step += 1
        self.total_loss += loss * count
        self.correct += correct
        self.seen += count
        self.seconds = seconds

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> EpochInProgress:
        return cls(**state)


class Trainer:
    """Trains a classifier: for each batch, logits = model(x), loss = loss_fn(logits, y),
    backward, optimizer step; after each epoch, validation metrics and the callbacks.

    Args:
        model: the Module to train.
        optimizer: an Optimizer over the model's parameters.
        loss_fn: called as loss_fn(logits, labels); CrossEntropyLoss() by default.
        callbacks: Callback objects (early stopping, checkpoints, schedulers, CSV logs).
        rng: generator of the shuffling order (the default generator, see `manual_seed`,
            when None).
        verbose: show progress (a bar on a terminal, one line per epoch elsewhere).
        stream: where progress goes (stderr by default).
        transform: applied to the inputs of every training batch, an array to an array of
            the same shape (data augmentation, see layerwise.data.augment); validation and
            evaluation see the data as it is.

    `fit` can be called again to continue: `epochs` is the total to reach, and the epoch
    counter, history and shuffling generator carry on, so a resumed run matches an
    uninterrupted one.

    A training loss, validation loss or weight that becomes NaN or infinite raises
    TrainingDivergedError naming the epoch and the step (and the op, under
    `layerwise.detect_anomaly()`), before the epoch reaches the history or the callbacks.
    The model and the optimizer keep the state of that moment, to be looked at, and
    `trainer.diverged` says where it was; a further `fit` refuses to go on from there
    (RuntimeError) until good weights and optimizer state are loaded and `restart_epoch()` is
    called, which trains the epoch again from its first batch.
    Ctrl-C takes effect at the end of a step, or at the end of an epoch (after the callbacks)
    when it comes during validation, so no weight is left half-updated. Stopped within an epoch,
    the trainer keeps `epoch_in_progress` (the steps done, the epoch's running sums and the
    shuffling generator's state at its start), and the next `fit` goes on with the next batch
    of that epoch: the same order, the same sums, as if it had not stopped.
    """

    def __init__(self, model: Module, optimizer: Optimizer, loss_fn: Any = None,
                 callbacks: Iterable[Callback] = (), rng: np.random.Generator | None = None,
                 verbose: bool = True, stream: TextIO | None = None,
                 transform: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self.model = model
        self.transform = transform
        self.optimizer = optimizer
        self.loss_fn = loss_fn if loss_fn is not None else CrossEntropyLoss()
        self.callbacks = list(callbacks)
        self.rng = rng if rng is not None else default_generator()
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stderr
        self.history = History()
        self.epoch = 0
        self.stop_training = False
        self.epoch_in_progress: EpochInProgress | None = None
        self.diverged: str | None = None  # what became non-finite, and where
        # Data-parallel training: the world of ranks when the optimizer sums over one
        self.comm = optimizer.comm if isinstance(optimizer, DistributedOptimizer) \
            and optimizer.comm.size > 1 else None
        self._interrupt_agreed = False

    def log(self, message: str) -> None:
        if self.verbose:
            print(message, file=self.stream, flush=True)

    def fit(self, inputs: np.ndarray, targets: np.ndarray, epochs: int = 1,
            batch_size: int = 32, validation_data: tuple[np.ndarray, np.ndarray] | None = None,
            validation_split: float = 0.0, shuffle: bool = True) -> History:
        """Train until `epochs` epochs are done in total; return the history.

        Args:
            inputs, targets: the training set (N, ...) and its labels (N,).
            epochs: the epoch to stop after (counting epochs of earlier fit calls).
            batch_size: samples per optimizer step.
            validation_data: (inputs, labels) evaluated after each epoch.
            validation_split: instead, hold out this fraction of the training set (its last
                samples, before any shuffling, as in Keras).
            shuffle: draw a new order from the trainer's generator each epoch.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
            raise ValueError(f"fit: epochs must be a positive integer (the total to reach), "
                             f"got {epochs!r}")
        if len(inputs) != len(targets):
            raise ValueError(f"fit: {len(inputs)} inputs but {len(targets)} targets")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split}")
        if self.diverged is not None:
            epoch = self.epoch + 1
            raise RuntimeError(
                f"fit: training diverged ({self.diverged}), and the model and the optimizer "
                f"hold the state of that moment, not of a finished epoch: load the weights and "
                f"optimizer state of one (from a ModelCheckpoint file, or state_dict() copies), "
                f"then call trainer.restart_epoch() to train epoch {epoch} again from its first "
                f"batch")
        if validation_split and validation_data is None:
            held_out = round(len(inputs) * validation_split)
            keep = len(inputs) - held_out
            validation_data = (inputs[keep:], targets[keep:])
            inputs, targets = inputs[:keep], targets[:keep]
        self._check_labels(inputs, targets)
        loader = DataLoader(inputs, targets, batch_size=batch_size, shuffle=shuffle, rng=self.rng)
        self.stop_training = False
        for callback in self.callbacks:
            callback.on_train_begin(self)
        with interrupts_deferred() as interrupt:  # Ctrl-C stops between steps, not in one
            for epoch in range(self.epoch + 1, epochs + 1):
                if self.stop_training:
                    break
                for callback in self.callbacks:
                    callback.on_epoch_begin(self, epoch)
                progress, batches = self._start_epoch(loader, epoch)
                started = time.perf_counter() - progress.seconds  # with the time before a stop
                record: dict[str, float] = {"epoch": epoch, "lr": progress.lr}
                record.update(self._train_epoch(batches, progress, started, epochs, interrupt))
                if validation_data is not None:
                    record["val_loss"], record["val_accuracy"] = self._validate(
                        validation_data, epoch)
                record["seconds"] = time.perf_counter() - started
                self.epoch, self.epoch_in_progress = epoch, None
                self.history.append(record)
                for callback in self.callbacks:
                    callback.on_epoch_end(self, epoch, record)
                self._progress.close(record)
                self._deliver(interrupt, agree=True)
        for callback in self.callbacks:
            callback.on_train_end(self)
        return self.history

    def restart_epoch(self) -> None:
        """Forget the steps done of the epoch in progress (one that diverged, or that Ctrl-C
        stopped): the next `fit` trains it again from its first batch, in the same order (the
        shuffling generator goes back to its state at the epoch's start).

        The model and the optimizer are left as they are: load the state to start from into
        them first. Other generators (dropout masks, augmentation) and the callbacks (a
        learning-rate schedule) are not rewound either.
        """
        progress = self.epoch_in_progress
        if progress is not None:
            self.rng.bit_generator.state = progress.shuffle_state
        self.epoch_in_progress = None
        self.diverged = None

    def _start_epoch(self, loader: DataLoader,
                     epoch: int) -> tuple[EpochInProgress, Iterator[tuple[Tensor, Tensor]]]:
        """The epoch's bookkeeping and its batches. A new epoch draws its order; one that Ctrl-C
        stopped draws the same order again, from the generator's state at its start, and goes
        on with its next batch, leaving the generator as it was."""
        progress = self.epoch_in_progress
        if progress is None:
            progress = self.epoch_in_progress = EpochInProgress(
                epoch, len(loader), self.optimizer.param_groups[0]["lr"],
                self.rng.bit_generator.state)
            return progress, iter(loader)
        if (progress.epoch, progress.batches) != (epoch, len(loader)):
            raise ValueError(f"fit: epoch {progress.epoch} stopped after step {progress.step} of "
                             f"{progress.batches}, but this fit would train epoch {epoch} in "
                             f"{len(loader)} batches: go on with the same data and batch_size")
        now = self.rng.bit_generator.state
        self.rng.bit_generator.state = progress.shuffle_state
        batches = loader.iter_from(progress.step)
        self.rng.bit_generator.state = now
        return progress, batches

    def _train_epoch(self, batches: Iterator[tuple[Tensor, Tensor]], progress: EpochInProgress,
                     started: float, epochs: int, interrupt: PendingInterrupt) -> dict[str, float]:
        self.model.train()
        epoch, step = progress.epoch, progress.step
        self._progress = EpochProgress(epoch, epochs, progress.batches, self.verbose, self.stream,
                                       done=progress.step)
        for step, (x, y) in enumerate(batches, progress.step + 1):
            if self.transform is not None:
                x = Tensor(self.transform(x.data))
            progress.peak_lr = max(progress.peak_lr, *(group["lr"] for group in
                                                       self.optimizer.param_groups))
            for callback in self.callbacks:
                callback.on_batch_begin(self, step)
            try:
                if self.comm is None:
                    value, batch_correct = self._train_step(x, y)
                else:
                    value, batch_correct = self._train_shard(x, y, interrupt)
            except FloatingPointError as error:  # a NaN loss, or an op under detect_anomaly
                raise self._diverged(f"{error} at epoch {epoch}, step {step}") from error
            progress.add_step(value, len(y.data), batch_correct, time.perf_counter() - started)
            for callback in self.callbacks:
                callback.on_batch_end(self, step, {"loss": value})
            self._progress.update(step, progress.total_loss / progress.seen,
                                  progress.correct / progress.seen)
            self._deliver(interrupt)
        broken = [name for name, parameter in self.model.named_parameters()
                  if not np.isfinite(parameter.data).all()]
        if broken:  # the last update overflowed; the next loss would show it, too late to save
            raise self._diverged(f"the weights {', '.join(broken)} became non-finite at epoch "
                                 f"{epoch}, step {step}")
        seen = max(progress.seen, 1)
        return {"loss": progress.total_loss / seen, "accuracy": progress.correct / seen}

    def _train_step(self, x: Tensor, y: Tensor) -> tuple[float, int]:
        """Forward, loss, backward and update on one batch; the loss and the number right.

        A loss that is not finite raises FloatingPointError before any update is made.
        """
        logits = self.model(x)
        loss = self.loss_fn(logits, y)
        value = float(loss.data)
        if not math.isfinite(value):
            raise FloatingPointError(f"the loss became {value}")
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return value, int((logits.data.argmax(axis=-1) == y.data).sum())

    def _train_shard(self, x: Tensor, y: Tensor, interrupt: PendingInterrupt) -> tuple[float, int]:
        """This rank's part of a step on the global batch (x, y): forward and loss on its shard,
        one small allreduce that agrees on the batch's loss, accuracy, a non-finite loss and
        Ctrl-C, then backward and the DistributedOptimizer's step, weighted by the shard's
        counted labels. Every rank runs the forward, even on an empty shard, so that dropout
        draws the whole batch's masks on every rank (see layerwise.rng.BatchShard)."""
        assert self.comm is not None
        total = len(y.data)
        part = shard(total, self.comm.rank, self.comm.size)
        inputs, labels = x.data[part], y.data[part]
        with BatchShard(part.start, part.stop, total):
            logits = self.model(inputs)
        ignore_index = getattr(self.loss_fn, "ignore_index", None)
        weight = int((labels != ignore_index).sum()) if ignore_index is not None else len(labels)
        loss = self.loss_fn(logits, labels) if weight else None
        value = float(loss.data) if loss is not None else 0.0
        correct = int((logits.data.argmax(axis=-1) == labels).sum())
        agreed = self.comm.allreduce(np.array(
            [value * weight, weight, correct, not math.isfinite(value), interrupt.received],
            dtype=np.float64))
        if agreed[3]:
            raise FloatingPointError(f"the loss became non-finite on {int(agreed[3])} of "
                                     f"{self.comm.size} ranks")
        if not agreed[1]:  # one process would have divided by no counted label
            raise FloatingPointError("the loss became nan (no counted label in the batch)")
        self._interrupt_agreed = bool(agreed[4])  # Ctrl-C reached a rank: all stop
        self.optimizer.zero_grad()
        if loss is not None:
            loss.backward()
        assert isinstance(self.optimizer, DistributedOptimizer)
        self.optimizer.step(weight)
        return float(agreed[0] / agreed[1]), int(agreed[2])

    def _deliver(self, interrupt: PendingInterrupt, agree: bool = False) -> None:
        """Stop here if Ctrl-C came: the callbacks' `on_interrupt` first, while SIGINT is
        still recorded (so that another Ctrl-C cannot cut their saving short), then
        KeyboardInterrupt. With ranks, only on what they all agreed (in the step's allreduce,
        or here with `agree`), so that no rank stops while the others go on into a
        collective; a Ctrl-C that reached a rank after the agreement waits for the next."""
        if self.comm is not None:
            if agree:
                self._interrupt_agreed = bool(self.comm.allreduce(
                    np.array([interrupt.received], dtype=np.float64))[0])
            if not self._interrupt_agreed:
                return
            interrupt.received = True
        if not interrupt.pending:
            return
        for callback in self.callbacks:
            callback.on_interrupt(self)
        interrupt.deliver()

    def _validate(self, validation_data: tuple[np.ndarray, np.ndarray],
                  epoch: int) -> tuple[float, float]:
        """The validation loss and accuracy; a loss that is not finite stops training."""
        try:
            result = self.evaluate(*validation_data)
        except FloatingPointError as error:  # an op under detect_anomaly
            raise self._diverged(f"{error} in the validation after epoch {epoch}") from error
        if not math.isfinite(result.loss):
            raise self._diverged(f"the validation loss became {result.loss} after epoch {epoch}")
        return result.loss, result.accuracy

    def _diverged(self, what_and_where: str) -> TrainingDivergedError:
        """The error, naming the highest rate of the epoch so far: the one to lower (a schedule
        may have brought the current rate down to 0 by the end of the epoch); the trainer is
        marked as diverged until `restart_epoch`."""
        peak_lr = self.epoch_in_progress.peak_lr if self.epoch_in_progress is not None else 0.0
        self.diverged = what_and_where
        return TrainingDivergedError(f"{what_and_where}; the learning rate ({peak_lr:g}) "
                                     f"may be too high: try a smaller one")

    def _check_labels(self, inputs: np.ndarray, targets: np.ndarray) -> None:
        """Check class labels against the model's output width before the first step, so that
        a bad label is named by its position in the training set, not in a batch."""
        labels = np.asarray(targets)
        if not isinstance(self.loss_fn, CrossEntropyLoss) or labels.ndim != 1 or not len(labels):
            return
        num_classes = predict_logits(self.model, inputs[:1]).shape[-1]
        check_class_labels(labels, len(labels), num_classes, self.loss_fn.ignore_index,
                           "fit")

    def predict(self, inputs: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """Class probabilities (softmax of the outputs), one row per input."""
        return F.softmax(predict_logits(self.model, inputs, batch_size)).data

    def evaluate(self, inputs: np.ndarray, targets: np.ndarray,
                 batch_size: int = 1000) -> Evaluation:
        """Mean loss, accuracy and confusion matrix on a labelled set."""
        return evaluate(self.model, inputs, targets, self.loss_fn, batch_size)


def predict_logits(model: Module, inputs: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The model's outputs for `inputs`, in eval mode, without recording a graph."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            outputs = [model(inputs[start:start + batch_size]).data
                       for start in range(0, len(inputs), batch_size)]
    finally:
        model.train(was_training)
    return np.concatenate(outputs) if outputs else np.empty((0,))


def evaluate(model: Module, inputs: np.ndarray, targets: np.ndarray, loss_fn: Any = None,
             batch_size: int = 1000) -> Evaluation:
    """Mean loss (CrossEntropyLoss by default), accuracy and confusion matrix of a classifier."""
    logits = predict_logits(model, inputs, batch_size)
    labels = np.asarray(targets)
    with no_grad():
        loss = float((loss_fn or CrossEntropyLoss())(logits, labels).data)
    predicted = logits.argmax(axis=-1)
    return Evaluation(loss, accuracy(predicted, labels),
                      confusion_matrix(predicted, labels, logits.shape[-1]))


def fit(model: Module, optimizer: Optimizer, inputs: np.ndarray, targets: np.ndarray,
        epochs: int = 1, batch_size: int = 32, callbacks: Sequence[Callback] = (),
        **options: Any) -> History:
    """Train `model` with a one-off Trainer; see Trainer.fit for the options."""
    fit_keys = {"validation_data", "validation_split", "shuffle"}
    trainer = Trainer(model, optimizer, callbacks=callbacks,
                      **{k: v for k, v in options.items() if k not in fit_keys})
    return trainer.fit(inputs, targets, epochs=epochs, batch_size=batch_size,
                       **{k: v for k, v in options.items() if k in fit_keys})
