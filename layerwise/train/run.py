"""A training run and its folder: what `layerwise train` builds, saves every epoch, resumes
and evaluates.

The folder holds config.json (the resolved settings and library versions),
model.safetensors (latest weights, with the config in its metadata, so the file alone can be
evaluated), checkpoint.safetensors (what resuming needs: weights, optimizer and scheduler
state, the random generators' states, the epoch and the history, in one atomic write),
metrics.json, metrics.csv, the plots, report.html (layerwise.train.report) and, when health
is on, health.json (the training-health records and findings of layerwise.check.health). The
weights, the checkpoint and health.json are written after every epoch, and when Ctrl-C stops
training between two steps, with the epoch in progress; the report at the end, and after Ctrl-C,
saying the run is partial.
"""

from __future__ import annotations

import json
import math
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import layerwise
from layerwise import nn, optim
from layerwise.check.health import DEFAULT_EVERY, TrainingHealth, read_report
from layerwise.checkpoint import (
    CheckpointError,
    load,
    load_metadata,
    read_json,
    save,
    verify,
    write_json,
)
from layerwise.checksums import CHECKSUM_KEY
from layerwise.data import SYNTHETIC_DATASETS, fashion_mnist
from layerwise.data.augment import Compose, RandomCrop, RandomHorizontalFlip, Transform
from layerwise.distributed import DistributedOptimizer, broadcast_parameters, world
from layerwise.models import IMAGE_SHAPE, build_model, input_shape, input_statistics
from layerwise.nn.module import StateDictError
from layerwise.optim.lr_scheduler import LRScheduler
from layerwise.train.callbacks import Callback, LRSchedulerStep, write_history_csv
from layerwise.train.config import RunConfig
from layerwise.train.history import History
from layerwise.train.interrupts import interrupts_held
from layerwise.train.trainer import EpochInProgress, Evaluation, Trainer

MOMENTUM_OPTIMIZERS = ("adam", "adamw", "sgd")
CROP_PADDING = 2  # pixels: --augment crop shifts images by up to this much
RUN_FILES = ("config.json", "checkpoint.safetensors", "model.safetensors", "metrics.csv",
             "metrics.json", "loss_curve.png", "confusion_matrix.png", "decision_boundary.png",
             "feature_maps.png", "report.html", "health.json", "gradient_flow.png",
             "activations.png")


@dataclass
class Splits:
    """Float32 inputs: images in [0, 1], flattened to (N, 784) for the MLP or (N, 1, 28, 28)
    for the CNN, or raw 2-D points; int64 labels."""

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    classes: list[str]


def model_inputs(images: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """uint8 images as the models take them: float32 in [0, 1], each sample of `shape`."""
    return images.reshape(len(images), *shape).astype(np.float32) / 255


def load_splits(config: RunConfig) -> Splits:
    """The run's data: train (minus a held-out validation tail), validation and test."""
    if config.dataset == "fashion-mnist":
        train = fashion_mnist("train", root=config.data)
        test = fashion_mnist("test", root=config.data)
        shape = IMAGE_SHAPE if config.model == "cnn" else (-1,)
        train_x, test_x = model_inputs(train.images, shape), model_inputs(test.images, shape)
        train_y, test_y, classes = train.labels, test.labels, list(train.classes)
    else:
        make = SYNTHETIC_DATASETS[config.dataset]
        rng = np.random.default_rng(config.seed + 1)
        points, labels = make(n_samples=config.samples * 2, rng=rng)
        order = rng.permutation(len(points))
        points, labels = points[order].astype(np.float32), labels[order]
        train_x, test_x = points[:config.samples], points[config.samples:]
        train_y, test_y = labels[:config.samples], labels[config.samples:]
        classes = [f"class {c}" for c in range(int(labels.max()) + 1)]
    held_out = min(config.validation_size, len(train_x) // 5)
    keep = len(train_x) - held_out
    return Splits(train_x[:keep], train_y[:keep], train_x[keep:], train_y[keep:], test_x,
                  test_y, classes)


def build_optimizer(config: RunConfig, model: nn.Module) -> optim.Optimizer:
    params = list(model.parameters())
    if config.optimizer == "adamw":
        return optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return optim.SGD(params, lr=config.lr, momentum=config.momentum,
                         weight_decay=config.weight_decay)
    if config.optimizer == "rmsprop":
        return optim.RMSprop(params, lr=config.lr, weight_decay=config.weight_decay)
    return optim.Adagrad(params, lr=config.lr, weight_decay=config.weight_decay)


def build_scheduler(config: RunConfig, optimizer: optim.Optimizer,
                    steps_per_epoch: int) -> LRScheduler | None:
    """A schedule stepped once per batch over the whole run (None for a constant rate)."""
    total = config.epochs * steps_per_epoch
    if config.schedule == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if config.schedule == "onecycle":
        # Cycle the momentum only where the optimizer has one to cycle.
        return optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total,
                                             cycle_momentum=config.optimizer in MOMENTUM_OPTIMIZERS)
    if config.schedule == "step":
        return optim.lr_scheduler.StepLR(optimizer, step_size=max(total // 3, 1), gamma=0.1)
    return None


def versions() -> dict[str, str]:
    return {"layerwise": layerwise.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


class Run:
    """One training run in a folder: build, train (saving every epoch), resume, evaluate.

    Under an MPI launcher every rank builds the same Run; the Trainer steps a
    DistributedOptimizer, and only rank 0 prints and writes the folder.

    With `health` (which `layerwise train` turns on unless --no-health) a TrainingHealth
    callback samples the run and health.json is written with every save.
    """

    def __init__(self, config: RunConfig, folder: Path, verbose: bool = True,
                 health: bool = False) -> None:
        self.config = config.validate()
        self.folder = folder
        self.comm = world()
        self.splits = load_splits(config)
        train_x = self.splits.train_x
        mean, std = input_statistics(config, train_x)
        self.input_shape = train_x.shape[1:]
        self.model, self.dropout_rng = build_model(config, self.input_shape,
                                                   len(self.splits.classes), mean, std)
        self.augment_rng = np.random.default_rng([config.seed, 3])
        self.optimizer = build_optimizer(config, self.model)
        self.steps_per_epoch = -(-len(train_x) // config.batch_size)
        self.scheduler = build_scheduler(config, self.optimizer, self.steps_per_epoch)
        # At least two samples an epoch, so that short runs on 2-D points get some.
        every = min(DEFAULT_EVERY, max(1, self.steps_per_epoch // 2))
        self.health = TrainingHealth(len(self.splits.classes), every) if health else None
        callbacks: list[Callback] = [SaveEveryEpoch(self)]
        if self.health is not None:
            callbacks.insert(0, self.health)
        if self.scheduler is not None:
            callbacks.insert(0, LRSchedulerStep(self.scheduler, interval="batch"))
        stepped: optim.Optimizer = self.optimizer
        if self.comm.size > 1:  # every rank starts from rank 0's weights and sums gradients
            broadcast_parameters(self.model, self.comm)
            stepped = DistributedOptimizer(self.optimizer, self.comm)
        self.trainer = Trainer(self.model, stepped,
                               nn.CrossEntropyLoss(label_smoothing=config.label_smoothing),
                               callbacks, rng=np.random.default_rng([config.seed, 2]),
                               verbose=verbose and self.comm.is_root,
                               transform=self.augmentation())
        self.saved_epoch = 0  # the last finished epoch in checkpoint.safetensors
        self.saved_step = 0  # and the steps of the next one it holds (after Ctrl-C)
        self.finished = False  # metrics.json and the plots are written
        self.report: Path | None = None  # report.html, once written

    def augmentation(self) -> Transform | None:
        """The config's augmentation of training batches, drawing from augment_rng; flat
        images (the MLP's) are augmented as images."""
        transforms: list[Transform] = []
        if "crop" in self.config.augment:
            transforms.append(RandomCrop(CROP_PADDING, rng=self.augment_rng))
        if "flip" in self.config.augment:
            transforms.append(RandomHorizontalFlip(rng=self.augment_rng))
        if not transforms:
            return None
        images = Compose(transforms)
        if self.input_shape == IMAGE_SHAPE:
            return images
        return lambda batch: images(batch.reshape(-1, *IMAGE_SHAPE)).reshape(batch.shape)

    # --- training ----------------------------------------------------------------------
    def train(self) -> Evaluation:
        """Train to config.epochs (from wherever the run stands), then test and plot.

        After TrainingDivergedError, the run keeps the state of the moment it diverged (to be
        looked at) until the next `train()`, which starts again from the last save in its
        folder (`restore()`), the last good state; a run that diverged before its first save
        has none, and refuses (RuntimeError).
        """
        if self.trainer.diverged is not None:
            self.start_again()
        if self.comm.is_root:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.remove_partial_files()
            self.write_config()
        splits = self.splits
        try:
            self.trainer.fit(splits.train_x, splits.train_y, epochs=self.config.epochs,
                             batch_size=self.config.batch_size,
                             validation_data=(splits.val_x, splits.val_y) if len(splits.val_x)
                             else None)
        except KeyboardInterrupt:
            # Ctrl-C saved the steps already (SaveEveryEpoch.on_interrupt, before SIGINT could
            # come again); a KeyboardInterrupt that a callback raised did not.
            self.save_unsaved_steps()
            self.write_partial_report()
            raise
        except FloatingPointError:  # diverged: the health records say what led there
            if self.health is not None and self.comm.is_root:
                self.health.write(self.folder / "health.json")
            raise
        return self.finish()

    def start_again(self) -> None:
        """After the training diverged: back to the state of the run's last save."""
        if not (self.folder / "checkpoint.safetensors").is_file():
            raise RuntimeError(
                f"{self.folder}: training diverged ({self.trainer.diverged}) before the run's "
                f"first save, so it has no good state to start again from; make a new Run "
                f"(with a smaller learning rate)")
        diverged = self.trainer.diverged
        self.restore()
        self.trainer.log(f"training diverged ({diverged}); starting again from {self.folder}'s "
                         f"last save, {self.saved_state()}")

    def saved_state(self) -> str:
        """What the run's last save holds, in words: "the end of epoch 2", "epoch 3 after step
        150 of 400" (a Ctrl-C save), or "nothing" before the first save."""
        if self.saved_step:
            return (f"epoch {self.saved_epoch + 1} after step {self.saved_step} of "
                    f"{self.steps_per_epoch}")
        return f"the end of epoch {self.saved_epoch}" if self.saved_epoch else "nothing"

    def finish(self) -> Evaluation:
        """Evaluate the test set, write metrics.json and the plots; Ctrl-C waits for the end."""
        with interrupts_held():
            return self._finish()

    def _finish(self) -> Evaluation:
        result = self.trainer.evaluate(self.splits.test_x, self.splits.test_y)
        if not self.comm.is_root:  # the other ranks of a data-parallel run write nothing
            self.finished = True
            return result
        metrics = {"test_loss": result.loss, "test_accuracy": result.accuracy,
                   "epochs": self.trainer.epoch, "history": self.trainer.history.records,
                   "confusion_matrix": result.confusion_matrix.tolist(),
                   "classes": self.splits.classes}
        write_json(self.folder / "metrics.json", metrics)
        from layerwise.train.plots import save_plots
        from layerwise.train.report import write_report

        save_plots(self, result)
        self.report = write_report(self.folder)
        self.finished = True
        return result

    def write_partial_report(self) -> None:
        """After Ctrl-C: report.html of the run as saved, which says it is partial. A failure
        is logged, not raised, so that it cannot hide the interrupt; a second Ctrl-C stops it
        (the file is written atomically: the previous report stays whole)."""
        from layerwise.train.report import write_report

        if not self.comm.is_root:
            return
        try:
            self.report = write_report(self.folder)
        except (OSError, ValueError) as error:
            self.trainer.log(f"report.html not written: {error}")

    def write_config(self) -> None:
        content = {"config": self.config.to_dict(), "versions": versions(),
                   "command": " ".join(sys.argv)}
        write_json(self.folder / "config.json", content)

    def remove_partial_files(self) -> None:
        """Delete the temporary files of writes that a killed process left unfinished."""
        for path in self.folder.glob(".*.tmp"):
            if any(path.name.startswith(f".{name}.") for name in RUN_FILES):
                path.unlink(missing_ok=True)

    # --- saving and resuming --------------------------------------------------------------
    def save(self) -> None:
        """Save the run as it stands, at the end of an epoch or between two steps of one:
        checkpoint.safetensors, then model.safetensors and metrics.csv, each written
        atomically, with Ctrl-C held back until all three are written.

        A process killed between two of the writes leaves the checkpoint ahead of
        model.safetensors, never behind it: resuming repeats no step the checkpoint has.
        """
        with interrupts_held():
            if self.comm.is_root:
                self._write_state()
            progress = self.trainer.epoch_in_progress
            self.saved_epoch = self.trainer.epoch
            self.saved_step = progress.step if progress is not None else 0

    def save_unsaved_steps(self) -> None:
        """Save the run if training stopped between two steps of an epoch that are not saved
        yet (nothing to do between epochs: the end of each one is saved)."""
        progress = self.trainer.epoch_in_progress
        if progress is not None and progress.step and (
                self.saved_epoch, self.saved_step) != (self.trainer.epoch, progress.step):
            self.save()

    def _write_state(self) -> None:
        weights = self.model.state_dict()
        config_json = json.dumps(self.config.to_dict())
        progress = self.trainer.epoch_in_progress
        tensors = {f"model.{name}": value for name, value in weights.items()}
        optimizer_state = self.optimizer.state_dict()
        scalars: dict[str, dict[str, Any]] = {}
        for index, values in optimizer_state["state"].items():
            for key, value in values.items():
                if isinstance(value, np.ndarray):
                    tensors[f"optimizer.{index}.{key}"] = value
                else:
                    scalars.setdefault(str(index), {})[key] = value
        state = {
            "epoch": self.trainer.epoch,
            "history": self.trainer.history.to_dict(),
            "param_groups": optimizer_state["param_groups"],
            "optimizer_scalars": scalars,
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "shuffle_rng": self.trainer.rng.bit_generator.state,
            "dropout_rng": self.dropout_rng.bit_generator.state,
            "augment_rng": self.augment_rng.bit_generator.state,
            "epoch_in_progress": progress.to_dict() if progress is not None else None,
        }
        save(tensors, self.folder / "checkpoint.safetensors",
             metadata={"state": json.dumps(state), "config": config_json})
        model_metadata = {"config": config_json, "classes": json.dumps(self.splits.classes),
                          "epoch": str(self.trainer.epoch),
                          "input_shape": json.dumps(list(self.input_shape))}
        if progress is not None:  # weights from the middle of the next epoch
            model_metadata["epoch_in_progress"] = json.dumps(
                {"epoch": progress.epoch, "step": progress.step, "batches": progress.batches})
        save(weights, self.folder / "model.safetensors", metadata=model_metadata)
        write_history_csv(self.trainer.history.records, self.folder / "metrics.csv")
        if self.health is not None:
            self.health.write(self.folder / "health.json")

    def restore(self) -> None:
        """Load checkpoint.safetensors: the run continues exactly where it was saved.

        Raises:
            CheckpointError: the file is not a safetensors file, is corrupt (its checksums do
                not match), or is not a resume checkpoint of this run (its metadata is missing
                or not JSON, its optimizer state does not fit); the message names the file.
            StateDictError: its weights do not fit the run's model; the message names the file.
        """
        path = self.folder / "checkpoint.safetensors"
        try:
            tensors = load(path)
            metadata = load_metadata(path)
        except CheckpointError as error:
            raise CheckpointError(f"{error}; --resume cannot continue from it: restore "
                                  f"{path.name} from a copy of the run"
                                  f"{_model_state(self.folder)}") from None
        try:
            self._restore(tensors, metadata)
        except StateDictError as error:
            raise StateDictError(f"{path}: {error}") from None
        except (KeyError, TypeError, ValueError) as error:  # chained: --debug shows where
            raise CheckpointError(f"{path}: not a resume checkpoint of this run "
                                  f"({_what_is_wrong(error)})") from error
        self._restore_health()
        self.trainer.diverged = None  # the state is the checkpoint's: a good one

    def _restore_health(self) -> None:
        """Continue health.json with the samples of the steps the restored weights have seen;
        one that cannot be read is started afresh, with a note (the training is not at risk)."""
        path = self.folder / "health.json"
        if self.health is None:
            return
        steps = self.saved_epoch * self.steps_per_epoch + self.saved_step
        self.health.rewind(steps)  # what this process recorded beyond the checkpoint, if any
        if not path.is_file():
            return
        try:
            report = read_report(path)
        except ValueError as error:
            self.trainer.log(f"{error}; the health records start afresh")
            return
        self.health.restore(report, steps)

    def _restore(self, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
        state = json.loads(metadata["state"])
        self.model.load_state_dict({name[len("model."):]: value for name, value in
                                    tensors.items() if name.startswith("model.")})
        optimizer_state: dict[int, dict[str, Any]] = {}
        for name, value in tensors.items():
            if name.startswith("optimizer."):
                _, index, key = name.split(".", 2)
                optimizer_state.setdefault(int(index), {})[key] = value
        for index, values in state["optimizer_scalars"].items():
            optimizer_state.setdefault(int(index), {}).update(values)
        groups = [{**group, "betas": tuple(group["betas"])} if "betas" in group else group
                  for group in state["param_groups"]]
        self.optimizer.load_state_dict({"state": optimizer_state, "param_groups": groups})
        saved_epochs = json.loads(metadata["config"])["epochs"]
        if self.scheduler is not None and state["scheduler"] is not None:
            if saved_epochs == self.config.epochs:
                self.scheduler.load_state_dict(state["scheduler"])
            else:  # run on past the planned end: the schedule is re-planned over the new total
                self.scheduler.last_epoch = state["scheduler"]["last_epoch"] - 1
                self.scheduler.step()
        self.trainer.rng.bit_generator.state = state["shuffle_rng"]
        self.dropout_rng.bit_generator.state = state["dropout_rng"]
        if "augment_rng" in state:  # checkpoints from before augmentation have none
            self.augment_rng.bit_generator.state = state["augment_rng"]
        self.trainer.epoch = self.saved_epoch = state["epoch"]
        self.trainer.history = History.from_dict(state["history"])
        self.trainer.epoch_in_progress, self.saved_step = None, 0
        if state.get("epoch_in_progress") is not None:  # saved by Ctrl-C within an epoch
            progress = EpochInProgress.from_dict(state["epoch_in_progress"])
            if progress.epoch != state["epoch"] + 1 or not 0 < progress.step <= progress.batches:
                raise ValueError(f"its epoch in progress ({progress.epoch}, step "
                                 f"{progress.step} of {progress.batches}) does not follow "
                                 f"epoch {state['epoch']}")
            self.trainer.epoch_in_progress = progress
            self.saved_step = progress.step


def _model_state(folder: Path) -> str:
    """Whether the weights can still be evaluated, when the checkpoint cannot be resumed."""
    try:
        verify(folder / "model.safetensors")
    except FileNotFoundError:
        return ""
    except CheckpointError:
        return " (model.safetensors is corrupt too)"
    return f" (model.safetensors is intact: layerwise evaluate {folder} still works)"


def _what_is_wrong(error: Exception) -> str:
    """The fault of a checkpoint's metadata, from the error that reading it raised."""
    if isinstance(error, KeyError):
        return f"it has no {error.args[0]!r}"
    if isinstance(error, json.JSONDecodeError):
        return f"its metadata is not JSON: {error}"
    return str(error)


class SaveEveryEpoch(Callback):
    """The run's own callback: save weights and resume state after every epoch, and when
    Ctrl-C stops training between two steps of one."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        self.run.save()

    def on_interrupt(self, trainer: Trainer) -> None:
        self.run.save_unsaved_steps()


@dataclass
class TrainedModel:
    """A model rebuilt from a model.safetensors file, without loading any data."""

    model: nn.Sequential
    config: RunConfig
    classes: list[str]
    input_shape: tuple[int, ...]  # of one sample: (784,) for the MLP, (1, 28, 28) for the CNN
    stopped_in: str | None = None  # "epoch 3, after step 120 of 430": Ctrl-C saved mid-epoch


def load_trained_model(path: Path) -> TrainedModel:
    """Rebuild the model of a run folder or of its model.safetensors and load the weights."""
    checkpoint = path / "model.safetensors" if path.is_dir() else path
    if path.is_dir() and not checkpoint.is_file():
        if (path / "config.json").is_file():
            raise FileNotFoundError(f"{path} has no trained weights yet: it was stopped before "
                                    f"its first epoch was saved; continue it with: layerwise "
                                    f"train --resume {path}")
        raise FileNotFoundError(f"{path} holds no model.safetensors: is it a run folder?")
    try:
        metadata = load_metadata(checkpoint)
        weights = load(checkpoint)
    except CheckpointError as error:
        if not path.is_dir():
            raise
        raise CheckpointError(f"{error}; restore model.safetensors from a copy of the run"
                              ) from None
    if "state" in metadata:
        raise ValueError(f"{checkpoint} is a resume checkpoint; evaluate and predict take the "
                         f"run folder or its model.safetensors")
    if "config" not in metadata or "classes" not in metadata:
        raise ValueError(f"{checkpoint} was not written by layerwise train (no config in its "
                         f"metadata)")

    def refuse(reason: str) -> CheckpointError:
        return CheckpointError(f"{checkpoint}: not a model of layerwise train: {reason}")

    try:
        settings, classes = json.loads(metadata["config"]), json.loads(metadata["classes"])
    except json.JSONDecodeError as error:
        raise refuse(f"its metadata is not JSON ({error})") from None
    if not isinstance(settings, dict):
        raise refuse("its config is not a JSON object")
    if not isinstance(classes, list) or not classes or not all(
            isinstance(name, str) for name in classes):
        raise refuse("its classes are not a list of names")
    config = RunConfig.from_dict(settings, str(checkpoint))
    try:
        config.validate()
    except ValueError as error:
        raise refuse(f"its config is not valid ({error})") from None
    if "0.mean" not in weights:
        raise refuse("it has no '0.mean', the input statistics")
    shape = _input_shape(metadata, weights["0.mean"], config)
    if shape is None:
        raise refuse("its input_shape is not a list of sizes that fits its input statistics")
    statistics = weights["0.mean"]
    model, _ = build_model(config, shape, len(classes), np.zeros(statistics.shape),
                           np.ones(statistics.shape))
    try:
        model.load_state_dict(weights)
    except StateDictError as error:
        raise StateDictError(f"{checkpoint}: {error}") from None
    model.eval()
    return TrainedModel(model, config, classes, shape, _stopped_in(metadata))


def _input_shape(metadata: dict[str, str], mean: np.ndarray,
                 config: RunConfig) -> tuple[int, ...] | None:
    """The shape of one input, from the metadata (or, in files from before it was saved, the
    MLP's: one value per statistic); None when it does not fit the statistics."""
    if "input_shape" not in metadata:
        return (mean.size,) if mean.ndim == 1 and config.model == "mlp" else None
    try:
        shape = json.loads(metadata["input_shape"])
    except json.JSONDecodeError:
        return None
    if not isinstance(shape, list) or not shape or not all(
            isinstance(size, int) and not isinstance(size, bool) and size > 0 for size in shape):
        return None
    if shape != list(input_shape(config, math.prod(shape))):
        return None
    try:
        np.broadcast_shapes(mean.shape, tuple(shape))
    except ValueError:
        return None
    return tuple(shape)


def _stopped_in(metadata: dict[str, str]) -> str | None:
    """Where in an epoch the weights were saved, when Ctrl-C stopped the run in one."""
    if "epoch_in_progress" not in metadata:
        return None
    try:
        where = json.loads(metadata["epoch_in_progress"])
        return f"epoch {where['epoch']}, after step {where['step']} of {where['batches']}"
    except (json.JSONDecodeError, KeyError, TypeError):  # only a note: the weights are fine
        return "the middle of an epoch"


def read_run_config(folder: Path) -> RunConfig:
    """The config saved in a run folder's config.json.

    config.json is not for editing: one whose checksums do not match is refused, with a
    message that says how to accept an edit made on purpose (delete its checksum record).
    """
    path = folder / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{folder} is not a layerwise run folder (no config.json)")
    try:
        content = read_json(path)
    except CheckpointError as error:
        raise CheckpointError(f"{error}; restore config.json from a copy of the run (to keep "
                              f"an edit made on purpose, delete its \"{CHECKSUM_KEY}\" entry)"
                              ) from None
    if not isinstance(content, dict) or not isinstance(content.get("config"), dict):
        raise ValueError(f"{path}: expected a JSON object with the run's settings under "
                         f"\"config\", as layerwise train writes it")
    return RunConfig.from_dict(content["config"], str(path))
