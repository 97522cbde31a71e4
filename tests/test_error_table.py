"""docs/errors.md, the table of every bad input and its message, is checked row by row.

Each row of the doc's tables has an id; TRIGGERS maps each id to a function that makes that
mistake. A row without a trigger, or a trigger without a row, fails. For a Python row the
trigger must raise the documented exception type with the documented text in its message; for a
command-line row (run in-process through `layerwise.cli.main`) it must end with the documented
exit status and print the documented line on stderr, without a traceback unless `--debug` asks
for one.

In a documented message, "…" stands for text that varies between runs (temporary folders,
numbers read from random bytes); the parts around it must appear in order.

Rows marked "(planned)" in the doc give the message a file owned by someone else should have;
their tests are strict expected failures (PLANNED) until that file says it.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import pickle
import re
import shutil
import struct
import sys
import unittest.mock
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import layerwise as lw
import layerwise.functional as F
from layerwise import nn, optim
from layerwise.check.health import TrainingHealth
from layerwise.cli import main
from layerwise.data import (
    DataLoader,
    TensorDataset,
    circles,
    default_collate,
    fashion_mnist,
    moons,
    random_split,
    read_idx,
    spirals,
    write_idx,
)
from layerwise.distributed import Communicator, DistributedOptimizer, shard
from layerwise.optim import lr_scheduler
from layerwise.train import LRSchedulerStep, Trainer, TrainingDivergedError
from layerwise.train.config import RunConfig
from layerwise.train.inline import png_bytes
from layerwise.train.run import Run

DOC = Path(__file__).resolve().parent.parent / "docs" / "errors.md"
LOGITS = np.zeros((4, 10))
z = np.float32


@dataclass
class Sandbox:
    """What a trigger may use: a fresh temporary folder, and one small trained run."""

    folder: Path
    request: pytest.FixtureRequest

    def file(self, name: str, content: bytes) -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    def npy(self, name: str, array: np.ndarray) -> Path:
        np.save(self.folder / name, array)
        return self.folder / name

    def run(self) -> Path:
        """The folder of a 1-epoch spirals run, trained once for the whole module."""
        folder: Path = self.request.getfixturevalue("trained_run")
        return folder

    def run_copy(self) -> Path:
        """A copy of `run()` in this sandbox, to be spoiled."""
        folder = self.folder / "run"
        shutil.copytree(self.run(), folder)
        return folder


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("error-table") / "run"
    assert main(["train", "--dataset", "spirals", "--hidden", "4", "--epochs", "1",
                 "--samples", "60", "--batch-size", "16", "--quiet", "--out", str(folder)]) == 0
    return folder


Trigger = Callable[[Sandbox], object]


# --- helpers the triggers share ----------------------------------------------------------------


def cli(*arguments: object) -> int:
    """Run the command in-process and return its exit status (argparse exits by itself)."""
    try:
        return main([str(argument) for argument in arguments])
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1


def params() -> list[nn.Parameter]:
    return list(nn.Linear(2, 3).parameters())


def sgd() -> optim.SGD:
    return optim.SGD(params(), lr=0.1)


def run_backward_twice() -> None:
    loss = lw.tensor(np.ones(2), requires_grad=True).exp().sum()
    loss.backward()
    loss.backward()


def step_with_a_wrong_gradient() -> None:
    layer = nn.Linear(2, 3)
    optimizer = optim.SGD(layer.parameters(), lr=0.1)
    layer.weight.grad = np.zeros(2)
    optimizer.step()


def step_one_cycle_too_far() -> None:
    scheduler = lr_scheduler.OneCycleLR(sgd(), max_lr=0.1, total_steps=2)
    for _ in range(3):
        scheduler.step()


def fit(inputs: np.ndarray, targets: np.ndarray, **options: Any) -> None:
    model = nn.Linear(2, 3)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), verbose=False)
    trainer.fit(inputs, targets, epochs=1, batch_size=32, **options)


def labels_with_a_bad_one(count: int, position: int, label: int) -> np.ndarray:
    labels = np.zeros(count, dtype=np.int64)
    labels[position] = label
    return labels


class Payload:
    """A pickle whose loading would create `marker`: proof that loading ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[Path]]:
        return Path.touch, (self.marker,)


def refuse_pickle(box: Sandbox, name: str, load: Callable[[Path], object]) -> object:
    """Hand `load` a pickle under `name`; whatever it does, the pickle must not have run."""
    marker = box.folder / "pickle-ran"
    path = box.file(name, pickle.dumps({"weight": Payload(marker)}))
    try:
        return load(path)
    finally:
        assert not marker.exists(), f"loading {name} ran the pickle's code"


def safetensors_bytes(header: dict[str, Any], data: bytes) -> bytes:
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + data


def checkpoint_bytes(box: Sandbox) -> bytes:
    """A valid checkpoint of Linear(2, 3)."""
    path = box.folder / "linear.safetensors"
    lw.save(nn.Linear(2, 3).state_dict(), path)
    return path.read_bytes()


def fashion_folder(box: Sandbox, images: np.ndarray, labels: np.ndarray) -> Path:
    folder = box.folder / "fashion"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels)
    return folder


def cnn_run(box: Sandbox) -> Path:
    """A CNN run folder, trained for one epoch on four blank images."""
    data = box.folder / "images"
    data.mkdir()
    for prefix in ("train", "t10k"):
        write_idx(data / f"{prefix}-images-idx3-ubyte.gz", np.zeros((4, 28, 28), np.uint8))
        write_idx(data / f"{prefix}-labels-idx1-ubyte.gz", np.arange(4, dtype=np.uint8))
    folder = box.folder / "cnn"
    assert cli("train", "--model", "cnn", "--channels", "2", "--hidden", "4", "--epochs", "1",
               "--data", data, "--quiet", "--out", folder) == 0
    return folder


def rewrite(path: Path, arrays: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]],
            metadata: Callable[[dict[str, str]], dict[str, str]] = lambda same: same) -> None:
    """Save the checkpoint at `path` again with its arrays and metadata changed."""
    lw.save(arrays(lw.load(path)), path, metadata=metadata(lw.load_metadata(path)))


def without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in mapping.items() if name != key}


def spoiled_state(metadata: dict[str, str], state: Callable[[dict[str, Any]], object]
                  ) -> dict[str, str]:
    return {**metadata, "state": json.dumps(state(json.loads(metadata["state"])))}


def resume_spoiled(box: Sandbox, spoil: Callable[[Path], object]) -> int:
    """Resume a copy of the run after `spoil(its checkpoint)`."""
    folder = box.run_copy()
    spoil(folder / "checkpoint.safetensors")
    return cli("train", "--resume", folder, "--epochs", "2", "--quiet")


def evaluate_spoiled(box: Sandbox, spoil: Callable[[Path], object]) -> int:
    """Evaluate a copy of the run after `spoil(its model.safetensors)`."""
    folder = box.run_copy()
    spoil(folder / "model.safetensors")
    return cli("evaluate", folder)


IDX_3x4 = bytes([0, 0, 0x08, 2]) + (3).to_bytes(4, "big") + (4).to_bytes(4, "big") + bytes(12)
IMAGES = np.zeros((3, 28, 28), dtype=np.uint8)


# --- the triggers, by area as in docs/errors.md --------------------------------------------------

SHAPES: dict[str, Trigger] = {
    "add-shapes": lambda _: lw.tensor(np.ones((3, 4))) + np.ones((2, 4)),
    "multiply-shapes": lambda _: lw.tensor(np.ones((3, 4))) * np.ones(5),
    "where-shapes": lambda _: lw.where(np.ones(3) > 0, np.ones(3), np.ones(4)),
    "matmul-inner": lambda _: lw.tensor(np.ones((3, 4))) @ np.ones((5, 2)),
    "matmul-batch": lambda _: lw.matmul(np.ones((2, 3, 4)), np.ones((5, 4, 2))),
    "matmul-scalar": lambda _: lw.matmul(lw.tensor(2.0), np.ones(3)),
    "linear-input": lambda _: nn.Linear(784, 10)(np.zeros((32, 783), dtype=np.float32)),
    "linear-in-sequential": lambda _: nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 5))(
        np.zeros((1, 2), dtype=np.float32)),
    "linear-function-input": lambda _: F.linear(np.ones((2, 3)), np.ones((4, 5))),
    "linear-function-bias": lambda _: F.linear(np.ones((2, 3)), np.ones((4, 3)), np.ones(5)),
    "standardize-input": lambda _: nn.Standardize(np.zeros(3), np.ones(3))(np.ones((2, 4))),
    "standardize-statistics": lambda _: nn.Standardize(np.zeros(3), np.ones(4)),
    "flatten-axes": lambda _: nn.Flatten(3)(np.ones((2, 3))),
    "tensor-flatten-axis": lambda _: lw.tensor(np.ones((2, 3))).flatten(2),
    "ragged-list": lambda _: lw.tensor([[1.0, 2.0], [3.0]]),
    "mse-shapes": lambda _: F.mse_loss(np.zeros(3), np.zeros(4)),
    "bce-shapes": lambda _: F.binary_cross_entropy_with_logits(np.zeros(3), np.zeros(4)),
    "pos-weight-shape": lambda _: F.binary_cross_entropy_with_logits(
        np.zeros((2, 3)), np.zeros((2, 3)), pos_weight=np.ones(4)),
    "logits-shape": lambda _: F.cross_entropy(np.zeros(10), np.array([1])),
    "reshape": lambda _: lw.tensor(np.ones((3, 4))).reshape(5, 2),
    "transpose-axes": lambda _: lw.tensor(np.ones((2, 3))).transpose((0, 0)),
    "concatenate-shapes": lambda _: lw.concatenate([np.ones((2, 3)), np.ones((2, 4))]),
    "stack-shapes": lambda _: lw.stack([np.ones((2, 3)), np.ones((2, 4))]),
    "index-range": lambda _: lw.tensor(np.ones(3))[5],
    "axis-range": lambda _: lw.sum(np.ones((2, 2)), axis=2),
    "softmax-axis-range": lambda _: F.softmax(np.ones((2, 3)), axis=5),
    "item-of-many": lambda _: lw.tensor(np.ones(3)).item(),
    "truth-of-many": lambda _: bool(lw.tensor(np.ones(3))),
    "init-fans": lambda _: nn.init.xavier_uniform(np.zeros(3)),
}

SPATIAL: dict[str, Trigger] = {
    "conv-flat-input": lambda _: nn.Conv2d(1, 32, 3)(np.zeros((64, 784), z)),
    "conv-channels": lambda _: nn.Conv2d(3, 8, 3)(np.zeros((2, 1, 28, 28), z)),
    "conv-kernel-size": lambda _: nn.Conv2d(1, 4, 5)(np.zeros((1, 1, 3, 3), z)),
    "conv-stride": lambda _: nn.Conv2d(1, 4, 3, stride=0),
    "conv-dilation": lambda _: nn.Conv2d(1, 4, 3, dilation=(1, 0)),
    "conv-groups": lambda _: nn.Conv2d(4, 6, 3, groups=4),
    "conv-same-stride": lambda _: nn.Conv2d(1, 4, 3, stride=2, padding="same"),
    "conv-padding-mode": lambda _: nn.Conv2d(1, 4, 3, padding_mode="reflect"),
    "conv-padding-word": lambda _: nn.Conv2d(1, 4, 3, padding="full"),
    "conv-integer-input": lambda _: nn.Conv2d(1, 4, 3)(np.zeros((1, 1, 5, 5), np.uint8)),
    "conv-function-channels": lambda _: F.conv2d(np.ones((1, 3, 5, 5)), np.ones((4, 2, 3, 3))),
    "conv-function-bias": lambda _: F.conv2d(np.ones((1, 2, 5, 5)), np.ones((4, 2, 3, 3)),
                                             np.ones(5)),
    "conv-function-groups": lambda _: F.conv2d(np.ones((1, 4, 5, 5)), np.ones((3, 2, 3, 3)),
                                               groups=2),
    "conv1d-input": lambda _: nn.Conv1d(2, 4, 3)(np.zeros((2, 2, 3, 3), z)),
    "conv-transpose-output-padding": lambda _: nn.ConvTranspose2d(1, 1, 3, stride=2,
                                                                  output_padding=2),
    "conv-transpose-output-size": lambda _: nn.ConvTranspose2d(1, 1, 1, padding=2)(
        np.zeros((1, 1, 2, 2), z)),
    "pool-window-size": lambda _: nn.MaxPool2d(3)(np.zeros((1, 1, 2, 2), z)),
    "pool-padding": lambda _: nn.MaxPool2d(2, padding=2),
    "pool-input": lambda _: nn.AvgPool2d(2)(np.zeros((4, 4), z)),
    "pool-kernel": lambda _: F.max_pool2d(np.zeros((1, 1, 4, 4)), 0),
    "adaptive-output-size": lambda _: nn.AdaptiveAvgPool2d(0),
    "batchnorm-one-value": lambda _: nn.BatchNorm1d(3)(np.zeros((1, 3), z)),
    "batchnorm-channels": lambda _: nn.BatchNorm2d(3)(np.zeros((2, 4, 5, 5), z)),
    "batchnorm-input": lambda _: nn.BatchNorm2d(3)(np.zeros((2, 3), z)),
    "batchnorm-momentum": lambda _: nn.BatchNorm2d(3, momentum=2),
    "batchnorm-function-eval": lambda _: F.batch_norm(np.zeros((2, 3)), None, None),
    "dropout2d-p": lambda _: nn.Dropout2d(1.5),
    "dropout2d-input": lambda _: F.dropout2d(np.zeros(3)),
}

LABELS: dict[str, Trigger] = {
    "label-too-large": lambda _: F.cross_entropy(LOGITS, np.array([1, 2, 10, 3])),
    "label-negative": lambda _: F.cross_entropy(LOGITS, np.array([1, -3, 0, 3])),
    "label-fractional": lambda _: F.cross_entropy(LOGITS, np.array([1.0, 2.5, 0.0, 3.0])),
    "label-nan": lambda _: F.cross_entropy(LOGITS, np.array([1.0, np.nan, 0.0, 3.0])),
    "label-infinite": lambda _: F.cross_entropy(LOGITS, np.array([1.0, np.inf, 0.0, 3.0])),
    "label-huge": lambda _: F.cross_entropy(LOGITS, np.array([1.0, 1e30, 0.0, 3.0])),
    "label-beyond-int64": lambda _: F.cross_entropy(
        LOGITS, np.array([1, 2**64 - 100, 0, 3], dtype=np.uint64)),
    "label-count": lambda _: F.cross_entropy(LOGITS, np.array([1, 2, 3])),
    "label-probability-width": lambda _: F.cross_entropy(LOGITS, np.full((4, 9), 1 / 9)),
    "label-loss-module": lambda _: nn.CrossEntropyLoss()(np.zeros((2, 3)), [0, 3]),
    "label-boolean": lambda _: F.cross_entropy(np.zeros((2, 10)), np.array([True, False])),
    "label-string": lambda _: F.cross_entropy(np.zeros((2, 10)), np.array(["1", "2"])),
    "one-hot-range": lambda _: F.one_hot(np.array([0, 3]), 3),
    "one-hot-fractional": lambda _: F.one_hot(np.array([0.5]), 3),
    "fit-label-range": lambda _: fit(np.zeros((100, 2), dtype=np.float32),
                                     labels_with_a_bad_one(100, 57, 3), shuffle=False),
    "fit-count": lambda _: fit(np.zeros((100, 2), dtype=np.float32), np.zeros(99, dtype=int)),
    "loader-count": lambda _: DataLoader(np.zeros((3, 2)), np.zeros(4)),
}

DTYPES: dict[str, Trigger] = {
    "tensor-from-string": lambda _: lw.tensor("abc"),
    "tensor-from-strings": lambda _: lw.tensor(np.array(["a", "b"])),
    "tensor-from-objects": lambda _: lw.tensor(np.array([1.0, None], dtype=object)),
    "tensor-from-none": lambda _: lw.tensor(None),
    "tensor-from-dict": lambda _: lw.tensor({"a": 1}),
    "tensor-dtype-name": lambda _: lw.tensor([1.0], dtype="banana"),
    "tensor-dtype-string": lambda _: lw.tensor([1.0], dtype=str),
    "operand-string": lambda _: lw.tensor(np.ones(2)) + "a",
    "op-on-strings": lambda _: F.relu(np.array(["a", "b"])),
    "integer-requires-grad": lambda _: lw.tensor(np.array([1, 2]), requires_grad=True),
    "integer-parameter": lambda _: nn.Parameter(np.arange(3)),
    "linear-integer-input": lambda _: nn.Linear(784, 10)(np.zeros((1, 784), dtype=np.uint8)),
    "linear-object-input": lambda _: nn.Linear(2, 3)(np.array([[1.0, None]], dtype=object)),
    "linear-float64-grad": lambda _: nn.Linear(2, 3)(
        lw.tensor(np.ones((1, 2)), requires_grad=True)),
    "linear-integer-dtype": lambda _: nn.Linear(2, 3, dtype=np.int32),
    "dropout-integer-input": lambda _: nn.Dropout(0.5)(np.ones(3, dtype=np.int64)),
    "standardize-strings": lambda _: nn.Standardize(np.zeros(1), np.ones(1))(np.array([["a"]])),
    "logits-integer": lambda _: F.cross_entropy(np.zeros((2, 3), dtype=np.int64), [0, 1]),
    "probability-targets-integer": lambda _: F.cross_entropy(
        np.zeros((2, 3)), np.zeros((2, 3), dtype=np.int64)),
    "default-dtype-integer": lambda _: lw.set_default_dtype(np.int32),
    "default-dtype-unknown": lambda _: lw.set_default_dtype("banana"),
    "loader-objects": lambda _: DataLoader(np.array([[1.0, None]], dtype=object), np.zeros(1)),
    "init-list": lambda _: nn.init.zeros([1.0, 2.0]),
}

HYPERPARAMETERS: dict[str, Trigger] = {
    "linear-features": lambda _: nn.Linear(0, 10),
    "linear-features-string": lambda _: nn.Linear("784", 10),
    "dropout-p": lambda _: nn.Dropout(1.5),
    "dropout-p-string": lambda _: nn.Dropout("0.5"),
    "dropout-function-p": lambda _: F.dropout(np.ones(3), p=-0.1),
    "leaky-relu-slope": lambda _: nn.LeakyReLU("0.1"),
    "elu-alpha": lambda _: nn.ELU(None),
    "gelu-approximate": lambda _: nn.GELU("fast"),
    "gelu-function-approximate": lambda _: F.gelu(np.ones(2), approximate="fast"),
    "softplus-beta": lambda _: nn.Softplus(beta=0),
    "softmax-axis": lambda _: nn.Softmax(axis="last"),
    "flatten-start-axis": lambda _: nn.Flatten(1.5),
    "standardize-std": lambda _: nn.Standardize(np.zeros(3), np.array([1.0, 0.0, 1.0])),
    "loss-reduction": lambda _: nn.CrossEntropyLoss(reduction="avg"),
    "loss-function-reduction": lambda _: F.cross_entropy(LOGITS, np.zeros(4, dtype=int),
                                                          reduction="avg"),
    "label-smoothing": lambda _: nn.CrossEntropyLoss(label_smoothing=1.5),
    "label-smoothing-function": lambda _: F.cross_entropy(LOGITS, np.zeros(4, dtype=int),
                                                           label_smoothing=1.5),
    "ignore-index": lambda _: nn.CrossEntropyLoss(ignore_index=0.5),
    "one-hot-classes": lambda _: F.one_hot([0, 1], 0),
    "clip-bounds": lambda _: lw.clip(np.ones(2), 1.0, 0.0),
    "clip-no-bounds": lambda _: lw.clip(np.ones(2)),
    "sgd-lr": lambda _: optim.SGD(params(), lr=-0.1),
    "sgd-lr-string": lambda _: optim.SGD(params(), lr="0.1"),
    "sgd-lr-nan": lambda _: optim.SGD(params(), lr=float("nan")),
    "adam-lr-inf": lambda _: optim.Adam(params(), lr=float("inf")),
    "sgd-momentum": lambda _: optim.SGD(params(), momentum=-0.9),
    "sgd-nesterov": lambda _: optim.SGD(params(), nesterov=True),
    "optimizer-unknown-option": lambda _: optim.SGD([{"params": params(), "lrr": 0.1}]),
    "optimizer-no-params": lambda _: optim.SGD([], lr=0.1),
    "optimizer-array-params": lambda _: optim.SGD([np.zeros(3)], lr=0.1),
    "optimizer-module": lambda _: optim.SGD(nn.Linear(2, 3), lr=0.1),
    "adam-beta": lambda _: optim.Adam(params(), betas=(0.9, 1.0)),
    "adam-betas-pair": lambda _: optim.Adam(params(), betas=(0.9,)),
    "adam-betas-number": lambda _: optim.Adam(params(), betas=0.9),
    "adam-eps": lambda _: optim.Adam(params(), eps=-1e-8),
    "adamw-weight-decay": lambda _: optim.AdamW(params(), weight_decay=-0.01),
    "rmsprop-alpha": lambda _: optim.RMSprop(params(), alpha=1.5),
    "adagrad-lr-decay": lambda _: optim.Adagrad(params(), lr_decay=-1),
    "step-lr-step-size": lambda _: lr_scheduler.StepLR(sgd(), step_size=0),
    "step-lr-gamma": lambda _: lr_scheduler.StepLR(sgd(), step_size=2, gamma=-0.1),
    "cosine-t-max": lambda _: lr_scheduler.CosineAnnealingLR(sgd(), T_max=2.5),
    "linear-lr-start-factor": lambda _: lr_scheduler.LinearLR(sgd(), start_factor=0),
    "one-cycle-length": lambda _: lr_scheduler.OneCycleLR(sgd(), max_lr=0.1),
    "one-cycle-pct-start": lambda _: lr_scheduler.OneCycleLR(sgd(), max_lr=0.1, total_steps=10,
                                                             pct_start=1.5),
    "one-cycle-anneal": lambda _: lr_scheduler.OneCycleLR(sgd(), max_lr=0.1, total_steps=10,
                                                          anneal_strategy="exp"),
    "one-cycle-div-factor": lambda _: lr_scheduler.OneCycleLR(sgd(), max_lr=0.1, total_steps=10,
                                                              div_factor=0),
    "one-cycle-max-lr": lambda _: lr_scheduler.OneCycleLR(sgd(), max_lr=-0.1, total_steps=10),
    "one-cycle-momentum": lambda _: lr_scheduler.OneCycleLR(
        optim.Adagrad(params()), max_lr=0.1, total_steps=10),
    "one-cycle-past-the-end": lambda _: step_one_cycle_too_far(),
    "scheduler-optimizer": lambda _: lr_scheduler.StepLR("adam", step_size=2),
    "loader-batch-size": lambda _: DataLoader(np.zeros((3, 2)), batch_size=0),
    "fit-validation-split": lambda _: fit(np.zeros((10, 2), dtype=np.float32),
                                          np.zeros(10, dtype=int), validation_split=1.0),
    "fit-epochs": lambda _: Trainer(nn.Linear(2, 3), sgd(), verbose=False).fit(
        np.zeros((10, 2), dtype=np.float32), np.zeros(10, dtype=int), epochs="3"),
    "init-nonlinearity": lambda _: nn.init.calculate_gain("swish"),
    "init-mode": lambda _: nn.init.kaiming_uniform(np.zeros((3, 3)), mode="fan"),
    "init-gain": lambda _: nn.init.xavier_uniform(np.zeros((3, 3)), gain="1"),
    "init-std": lambda _: nn.init.normal(np.zeros((3, 3)), std=-1),
    "spirals-classes": lambda _: spirals(classes=1),
    "moons-samples": lambda _: moons(n_samples=0),
    "circles-factor": lambda _: circles(factor=1.5),
}

AUTOGRAD: dict[str, Trigger] = {
    "backward-non-scalar": lambda _: (lw.tensor(np.ones(3), requires_grad=True) * 2).backward(),
    "backward-no-grad": lambda _: lw.tensor(np.ones(1)).backward(),
    "backward-twice": lambda _: run_backward_twice(),
    "backward-gradient-shape": lambda _: (lw.tensor(np.ones(3), requires_grad=True) * 2)
    .backward(np.ones(4)),
    "grad-input": lambda _: lw.grad(lw.tensor(np.ones(1), requires_grad=True).sum(),
                                    lw.tensor(np.ones(1))),
    "retain-grad": lambda _: lw.tensor(np.ones(3)).retain_grad(),
    "requires-grad-non-leaf": lambda _: (lw.tensor(np.ones(3), requires_grad=True) * 2)
    .requires_grad_(False),
    "optimizer-gradient-shape": lambda _: step_with_a_wrong_gradient(),
    "module-without-init": lambda _: type(
        "Net", (nn.Module,), {"__init__": lambda self: setattr(self, "fc", nn.Linear(2, 2))})(),
    "module-without-forward": lambda _: nn.Module()(np.ones(2)),
    "sequential-member": lambda _: nn.Sequential(nn.Linear(2, 3), "relu"),
    "sequential-index": lambda _: nn.Sequential(nn.Linear(2, 3))[3],
}

DATA_FILES: dict[str, Trigger] = {
    "idx-missing": lambda box: read_idx(box.folder / "missing.idx"),
    "idx-empty": lambda box: read_idx(box.file("empty.idx", b"")),
    "idx-magic": lambda box: read_idx(box.file("magic.idx", b"\x01\x02" + IDX_3x4[2:])),
    "idx-type-code": lambda box: read_idx(box.file("type.idx", b"\0\0\x07" + IDX_3x4[3:])),
    "idx-dimensions": lambda box: read_idx(box.file("dimensions.idx", b"\0\0\x08\x00")),
    "idx-truncated-header": lambda box: read_idx(box.file("header.idx", IDX_3x4[:6])),
    "idx-truncated-data": lambda box: read_idx(box.file("data.idx", IDX_3x4[:-2])),
    "idx-trailing-bytes": lambda box: read_idx(box.file("trailing.idx", IDX_3x4 + b"\0\0")),
    "idx-huge-header": lambda box: read_idx(box.file("huge.idx",
                                                     b"\0\0\x08\x03" + b"\xff" * 12)),
    "idx-gzip-truncated": lambda box: read_idx(box.file("cut.idx.gz",
                                                        gzip.compress(IDX_3x4)[:-10])),
    "idx-gzip-corrupt": lambda box: read_idx(box.file("corrupt.idx.gz",
                                                      b"\x1f\x8b" + bytes(range(40)))),
    "write-idx-dtype": lambda box: write_idx(box.folder / "out.idx", np.zeros(2, np.int64)),
    "fashion-missing": lambda box: fashion_mnist("train", root=box.folder / "missing"),
    "fashion-split": lambda _: fashion_mnist("validation"),
    "fashion-image-size": lambda box: fashion_mnist("train", root=fashion_folder(
        box, np.zeros((3, 27, 27), dtype=np.uint8), np.zeros(3, dtype=np.uint8))),
    "fashion-label-count": lambda box: fashion_mnist("train", root=fashion_folder(
        box, IMAGES, np.zeros(2, dtype=np.uint8))),
    "fashion-label-range": lambda box: fashion_mnist("train", root=fashion_folder(
        box, IMAGES, np.array([0, 12, 3], dtype=np.uint8))),
}

CHECKPOINTS: dict[str, Trigger] = {
    "checkpoint-missing": lambda box: lw.load(box.folder / "missing.safetensors"),
    "checkpoint-empty": lambda box: lw.load(box.file("empty.safetensors", b"")),
    "checkpoint-random": lambda box: lw.load(box.file(
        "random.safetensors", np.random.default_rng(0).bytes(1000))),
    "checkpoint-pickle-pt": lambda box: refuse_pickle(box, "model.pt", lw.load),
    "checkpoint-pickle-safetensors": lambda box: refuse_pickle(box, "model.safetensors",
                                                               lw.load),
    "checkpoint-pickle-npy": lambda box: refuse_pickle(box, "model.npy", lw.load),
    "checkpoint-truncated": lambda box: lw.load(box.file("cut.safetensors",
                                                         checkpoint_bytes(box)[:-5])),
    "checkpoint-truncated-header": lambda box: lw.load(box.file(
        "header.safetensors", checkpoint_bytes(box)[:20])),
    "checkpoint-header-json": lambda box: lw.load(box.file(
        "json.safetensors", struct.pack("<Q", 5) + b"{abc}")),
    "checkpoint-header-object": lambda box: lw.load(box.file(
        "list.safetensors", struct.pack("<Q", 2) + b"[]")),
    "checkpoint-dtype": lambda box: lw.load(box.file("dtype.safetensors", safetensors_bytes(
        {"w": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, bytes(16)))),
    "checkpoint-offsets": lambda box: lw.load(box.file("offsets.safetensors", safetensors_bytes(
        {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, bytes(4)))),
    "checkpoint-overlap": lambda box: lw.load(box.file("overlap.safetensors", safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
         "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, bytes(4)))),
    "checkpoint-metadata": lambda box: lw.load(box.file("metadata.safetensors", safetensors_bytes(
        {"__metadata__": {"epoch": 3}}, b""))),
    "state-missing-key": lambda _: nn.Linear(2, 3).load_state_dict(
        {"weight": np.zeros((3, 2))}),
    "state-unexpected-key": lambda _: nn.Linear(2, 3).load_state_dict(
        {**nn.Linear(2, 3).state_dict(), "scale": np.ones(1)}),
    "state-other-model": lambda _: nn.Sequential(nn.Linear(2, 3)).load_state_dict(
        nn.Linear(2, 3).state_dict()),
    "state-wrong-shape": lambda _: nn.Linear(2, 3).load_state_dict(nn.Linear(2, 4).state_dict()),
    "state-wrong-dtype": lambda _: nn.Linear(2, 3).load_state_dict(
        {"weight": np.array("abc"), "bias": np.zeros(3)}),
    "state-not-mapping": lambda _: nn.Linear(2, 3).load_state_dict(
        [np.zeros((3, 2)), np.zeros(3)]),
    "optimizer-state-format": lambda _: sgd().load_state_dict({"state": {}}),
    "optimizer-state-groups": lambda _: sgd().load_state_dict({"state": {}, "param_groups": []}),
    "save-object-array": lambda box: lw.save({"a": np.array([None])}, box.folder / "a.st"),
    "save-name": lambda box: lw.save({1: np.zeros(2)}, box.folder / "a.st"),
    "save-metadata": lambda box: lw.save({"a": np.zeros(2)}, box.folder / "a.st",
                                         metadata={"epoch": 3}),
    "save-missing-folder": lambda box: lw.save({"a": np.zeros(2)},
                                               box.folder / "missing" / "model.safetensors"),
}

SPIRALS = ("--dataset", "spirals")
CLI: dict[str, Trigger] = {
    "cli-no-command": lambda _: cli(),
    "cli-unknown-flag": lambda _: cli("train", "--learning-rate", "0.1"),
    "cli-not-a-number": lambda _: cli("train", "--lr", "fast"),
    "cli-widths": lambda _: cli("train", "--hidden", "512x256"),
    "cli-choice": lambda _: cli("train", "--dataset", "cifar10"),
    "cli-lr": lambda _: cli("train", *SPIRALS, "--lr", "-0.1"),
    "cli-epochs": lambda _: cli("train", *SPIRALS, "--epochs", "0"),
    "cli-dropout": lambda _: cli("train", *SPIRALS, "--dropout", "1.5"),
    "cli-hidden": lambda _: cli("train", *SPIRALS, "--hidden", "0"),
    "cli-label-smoothing": lambda _: cli("train", *SPIRALS, "--label-smoothing", "2"),
    "cli-infinite": lambda _: cli("train", *SPIRALS, "--lr", "inf"),
    "cli-model-points": lambda _: cli("train", "--model", "cnn", "--dataset", "moons"),
    "cli-augment": lambda _: cli("train", "--augment", "crop,rotate"),
    "cli-channels": lambda _: cli("train", "--model", "cnn", "--channels", "32,0"),
    "cli-seed": lambda _: cli("train", *SPIRALS, "--seed", "-1"),
    # Beyond any address space, so the allocation fails whatever the overcommit policy.
    "cli-out-of-memory": lambda box: cli("train", *SPIRALS, "--hidden", 10**17, "--quiet",
                                         "--out", box.folder / "run"),
    "cli-config-missing": lambda box: cli("train", "--config", box.folder / "missing.toml"),
    "cli-config-syntax": lambda box: cli("train", "--config",
                                         box.file("run.toml", b"lr = [1, 2\n")),
    "cli-config-unknown": lambda box: cli("train", "--config", box.file("run.toml", b"lrr = 1\n")),
    "cli-config-type": lambda box: cli("train", "--config",
                                       box.file("run.toml", b"lr = 'fast'\n")),
    "cli-resume-not-a-run": lambda box: cli("train", "--resume", box.folder),
    "cli-resume-changed": lambda box: cli("train", "--resume", box.run(), "--lr", "0.1"),
    "cli-resume-config": lambda box: cli("train", "--resume", box.file("run/config.json", b"[1]")
                                         .parent),
    "cli-resume-truncated": lambda box: resume_spoiled(
        box, lambda path: path.write_bytes(path.read_bytes()[:100])),
    "cli-resume-missing-key": lambda box: resume_spoiled(
        box, lambda path: rewrite(path, lambda arrays: without(arrays, "model.1.bias"))),
    "cli-resume-state": lambda box: resume_spoiled(box, lambda path: rewrite(
        path, lambda same: same, lambda metadata: spoiled_state(
            metadata, lambda state: without(state, "shuffle_rng")))),
    "cli-resume-state-json": lambda box: resume_spoiled(box, lambda path: rewrite(
        path, lambda same: same, lambda metadata: {**metadata, "state": "{not json"})),
    "cli-no-data": lambda box: cli("train", "--data", box.folder / "empty", "--epochs", "1"),
    "cli-diverged": lambda box: cli("train", *SPIRALS, "--hidden", "4", "--epochs", "1",
                                    "--samples", "60", "--lr", "1e30", "--schedule", "constant",
                                    "--quiet", "--out", box.folder / "run"),
    "cli-diverged-scheduled": lambda box: cli("train", *SPIRALS, "--hidden", "4", "--epochs", "1",
                                              "--samples", "60", "--lr", "1e30", "--quiet",
                                              "--out", box.folder / "run"),
    "cli-evaluate-missing": lambda box: cli("evaluate", box.folder / "model.safetensors"),
    "cli-evaluate-pickle": lambda box: refuse_pickle(
        box, "model.pt", lambda path: cli("evaluate", path)),
    "cli-evaluate-not-a-run": lambda box: cli("evaluate", box.folder),
    "cli-evaluate-plain-checkpoint": lambda box: cli(
        "evaluate", box.file("plain.safetensors", checkpoint_bytes(box))),
    "cli-evaluate-resume-checkpoint": lambda box: cli(
        "evaluate", box.run() / "checkpoint.safetensors"),
    "cli-evaluate-wrong-shape": lambda box: evaluate_spoiled(box, lambda path: rewrite(
        path, lambda arrays: {**arrays, "1.weight": np.zeros((3, 3), np.float32)})),
    "cli-evaluate-unexpected-key": lambda box: evaluate_spoiled(box, lambda path: rewrite(
        path, lambda arrays: {**arrays, "scale": np.ones(1, np.float32)})),
    "cli-evaluate-metadata": lambda box: evaluate_spoiled(box, lambda path: rewrite(
        path, lambda same: same, lambda metadata: {**metadata, "classes": "{"})),
    "cli-predict-missing": lambda box: cli("predict", box.run(), box.folder / "shirt.png"),
    "cli-predict-size": lambda box: cli("predict", box.run(), box.npy("points.npy", np.zeros(5))),
    "cli-predict-image-size": lambda box: cli("predict", cnn_run(box), box.npy(
        "images.npy", np.zeros((2, 32, 32), np.float32))),
    "cli-predict-pickle": lambda box: refuse_pickle(
        box, "images.npy", lambda path: cli("predict", box.run(), path)),
    "cli-predict-not-idx": lambda box: cli("predict", box.run(),
                                           box.file("images.idx", b"P5 28 28 255\n")),
    "cli-debug": lambda box: cli("--debug", "evaluate", box.folder / "model.safetensors"),
}


def add_to_a_leaf() -> None:
    w = lw.ones(3, requires_grad=True)
    w += 1


def change_a_saved_output() -> None:
    y = lw.tensor([1.0, 2.0], requires_grad=True).sigmoid()
    y.mul_(2)
    y.sum().backward()


def change_a_saved_input() -> None:
    w = lw.tensor([3.0, 4.0])
    y = lw.tensor([1.0, 2.0], requires_grad=True) * w
    w += 1
    y.sum().backward()


def change_what_an_op_used() -> None:
    h = lw.tensor([1.0, 2.0], requires_grad=True) * 3
    z = h + 1
    h.mul_(2)
    (z + h).sum().backward()


def assign_a_string_gradient() -> None:
    layer = nn.Linear(2, 3)
    layer.weight.grad = "zeros"  # type: ignore[assignment]


def clip_an_infinite_gradient() -> None:
    weight = nn.Parameter(np.zeros(2))
    weight.grad = np.array([np.inf, 0.0])
    nn.utils.clip_grad_norm_([weight], 1.0, error_if_nonfinite=True)


PYTORCH_API: dict[str, Trigger] = {
    "unsqueeze-dim": lambda _: lw.ones(2, 3).unsqueeze(5),
    "dim-range": lambda _: lw.ones(2, 3).sum(dim=2),
    "dim-and-axis": lambda _: lw.ones(2, 3).sum(dim=0, axis=1),
    "view-size": lambda _: lw.ones(2, 3).view(5),
    "view-inferred-twice": lambda _: lw.ones(2, 3).view(-1, -1),
    "view-of-permuted": lambda _: lw.ones(2, 3).t().view(6),
    "permute-dims": lambda _: lw.ones(2, 3).permute(0, 0),
    "t-dims": lambda _: lw.ones(2, 3, 4).t(),
    "expand-length": lambda _: lw.ones(3, 2).expand(3, 4),
    "repeat-count": lambda _: lw.ones(2, 3).repeat(2),
    "split-sections": lambda _: lw.ones(5).split([2, 2]),
    "chunk-count": lambda _: lw.ones(5).chunk(0),
    "cat-shapes": lambda _: lw.cat([lw.ones(2, 3), lw.ones(2, 4)]),
    "cat-nothing": lambda _: lw.cat([]),
    "stack-dim": lambda _: lw.stack([lw.ones(2), lw.ones(2)], 3),
    "gather-index-range": lambda _: lw.ones(2, 3).gather(1, lw.tensor([[3], [0]])),
    "gather-index-dtype": lambda _: lw.ones(2, 3).gather(1, lw.tensor([[1.0], [0.0]])),
    "gather-index-dims": lambda _: lw.ones(2, 3).gather(1, lw.tensor([0, 1])),
    "index-select-range": lambda _: lw.ones(2, 3).index_select(1, lw.tensor([3])),
    "masked-fill-mask": lambda _: lw.ones(3).masked_fill(lw.tensor([1, 0, 1]), 0.0),
    "masked-fill-value": lambda _: lw.ones(3).masked_fill(lw.ones(3) > 0, lw.ones(2)),
    "where-condition": lambda _: lw.where(lw.tensor([1, 0]), lw.ones(2), lw.zeros(2)),
    "topk-k": lambda _: lw.ones(2, 3).topk(4),
    "argmax-empty": lambda _: lw.zeros(0).argmax(),
    "max-empty": lambda _: lw.zeros(0, 3).max(),
    "max-empty-dim": lambda _: lw.zeros(0, 3).max(0),
    "mean-integers": lambda _: lw.arange(3).mean(),
    "norm-p": lambda _: lw.ones(3).norm(-1),
    "einsum-operand-count": lambda _: lw.einsum("ij,jk->ik", lw.ones(2, 2)),
    "einsum-character": lambda _: lw.einsum("i1->i", lw.ones(2, 2)),
    "einsum-subscripts": lambda _: lw.einsum("ijk->i", lw.ones(2, 2)),
    "einsum-output": lambda _: lw.einsum("ij->k", lw.ones(2, 2)),
    "einsum-lengths": lambda _: lw.einsum("ij,jk->ik", lw.ones(2, 3), lw.ones(4, 2)),
    "pad-counts": lambda _: F.pad(lw.ones(2, 3), (1, 2, 3)),
    "pad-mode": lambda _: F.pad(lw.ones(2, 3), (1, 1), mode="reflect"),
    "embedding-float-index": lambda _: nn.Embedding(3, 2)(lw.tensor([1.0])),
    "embedding-index-range": lambda _: nn.Embedding(3, 2)(lw.tensor([[0, 3]])),
    "embedding-padding": lambda _: nn.Embedding(3, 2, padding_idx=3),
    "nll-target-shape": lambda _: F.nll_loss(lw.ones(4, 3), lw.tensor([0, 1])),
    "nll-label": lambda _: F.nll_loss(lw.ones(2, 3), lw.tensor([0, 3])),
    "kl-reduction": lambda _: nn.KLDivLoss(reduction="avg"),
    "huber-delta": lambda _: nn.HuberLoss(delta=0),
    "device": lambda _: lw.ones(3).to("cuda"),
    "in-place-leaf": lambda _: add_to_a_leaf(),
    "in-place-view": lambda _: (lw.ones(2, requires_grad=True) * 1)[0].mul_(2),
    "in-place-shape": lambda _: lw.zeros(3).add_(lw.ones(2, 3)),
    "in-place-dtype": lambda _: lw.zeros(3, dtype=lw.long).add_(0.5),
    "in-place-read-only": lambda _: lw.ones(3, 1).expand(3, 2).add_(1),
    "saved-output-changed": lambda _: change_a_saved_output(),
    "saved-input-changed": lambda _: change_a_saved_input(),
    "used-before-in-place": lambda _: change_what_an_op_used(),
    "not-differentiable": lambda _: lw.ones(3, requires_grad=True) // 2,
    "grad-type": lambda _: assign_a_string_gradient(),
    "index-of-float": lambda _: ["a", "b"][lw.tensor(1.0)],
    "module-list-member": lambda _: nn.ModuleList([nn.Linear(2, 2), 3]),
    "module-dict-key": lambda _: nn.ModuleDict({"a": nn.Linear(2, 2)})["b"],
    "clip-grad-nonfinite": lambda _: clip_an_infinite_gradient(),
    "tensor-dataset-lengths": lambda _: TensorDataset(lw.ones(3, 2), lw.ones(4)),
    "loader-dataset": lambda _: DataLoader(5),
    "loader-dataset-targets": lambda _: DataLoader(TensorDataset(lw.ones(3)), np.zeros(3)),
    "random-split-lengths": lambda _: random_split(TensorDataset(lw.ones(5)), [3, 3]),
    "collate-objects": lambda _: default_collate([object(), object()]),
}



class TwoRanks(Communicator):
    """A world of two ranks where the other rank sends what this one sends."""

    size = 2

    def allreduce_in_place(self, array: np.ndarray) -> None:
        array *= 2


def adam() -> optim.Adam:
    return optim.Adam(params())


def without_mpi4py(box: Sandbox) -> int:
    with unittest.mock.patch.dict(sys.modules, {"mpi4py": None}):
        return cli("train", *SPIRALS, "--workers", "2", "--out", box.folder / "run")


DISTRIBUTED: dict[str, Trigger] = {
    "distributed-not-an-optimizer": lambda _: DistributedOptimizer(
        nn.Linear(2, 2).parameters()),  # type: ignore[arg-type]
    "distributed-twice": lambda _: DistributedOptimizer(
        DistributedOptimizer(adam())),  # type: ignore[arg-type]
    "distributed-reduction": lambda _: DistributedOptimizer(adam(), reduction="mean"),
    "distributed-weight": lambda _: DistributedOptimizer(adam(), TwoRanks()).step(weight=-1),
    "distributed-no-weight": lambda _: DistributedOptimizer(adam(), TwoRanks()).step(weight=0),
    "distributed-shard-rank": lambda _: shard(10, rank=2, size=2),
    "cli-workers-zero": lambda _: cli("train", *SPIRALS, "--workers", "0"),
    "cli-workers-no-mpi4py": without_mpi4py,
    "cli-hostfile-missing": lambda box: cli("train", *SPIRALS, "--workers", "2", "--hostfile",
                                            box.folder / "hosts"),
    "cli-hostfile-alone": lambda box: cli("train", *SPIRALS, "--hostfile", box.folder / "hosts"),
}


def small_loss() -> tuple[nn.Module, lw.Tensor]:
    model = nn.Linear(3, 2)
    return model, model(lw.ones(4, 3)).sum()


def graph_without_grad() -> object:
    x = lw.ones(3, requires_grad=True)
    with lw.no_grad():
        y = x * 2
    return lw.viz.graph(y)


def graph_after_backward() -> object:
    _, loss = small_loss()
    loss.backward()
    return lw.viz.graph(loss)


def graph_with_unnamed_parameters() -> object:
    model, loss = small_loss()
    return lw.viz.graph(loss, model.parameters())  # type: ignore[arg-type]


GRAPH_VIEW: dict[str, Trigger] = {
    "graph-not-tensor": lambda _: lw.viz.graph([1.0, 2.0]),  # type: ignore[arg-type]
    "graph-leaf": lambda _: lw.viz.graph(lw.ones(3, requires_grad=True)),
    "graph-no-grad": lambda _: graph_without_grad(),
    "graph-freed": lambda _: graph_after_backward(),
    "graph-params": lambda _: graph_with_unnamed_parameters(),
    "graph-model": lambda _: lw.viz.graph(small_loss()[1], model="mlp"),
    "graph-max-nodes": lambda _: lw.viz.graph(small_loss()[1], max_nodes=0),
    "graph-direction": lambda _: lw.viz.graph(small_loss()[1], direction="left"),
    "graph-gradients-output": lambda _: lw.viz.graph(
        lw.ones(3, requires_grad=True) * lw.ones(3, requires_grad=True), gradients=True),
    "graph-save-suffix": lambda _: lw.viz.graph(small_loss()[1]).save("graph.png"),
    "graph-save-folder": lambda _: lw.viz.graph(small_loss()[1]).save(
        "no/such/folder/graph.svg"),
    "graph-node-label": lambda _: lw.viz.graph(small_loss()[1]).node("fc9.weight"),
}

REPORT: dict[str, Trigger] = {
    "report-png-pixels": lambda _: png_bytes(np.zeros((2, 2))),
    "report-missing": lambda box: cli("report", box.folder / "none"),
    "report-file": lambda box: cli("report", box.run() / "metrics.json"),
    "report-not-a-run": lambda box: cli("report", box.folder),
    "report-config": lambda box: cli("report", box.file("run/config.json", b"[1]").parent),
}

def diagnose_spoiled(box: Sandbox, health: bytes) -> int:
    """`layerwise diagnose` on a copy of the run whose health.json holds `health`."""
    folder = box.run_copy()
    (folder / "health.json").write_bytes(health)
    return cli("diagnose", folder)


def diagnose_without_health(box: Sandbox) -> int:
    folder = box.run_copy()
    (folder / "health.json").unlink()
    return cli("diagnose", folder)


HEALTH: dict[str, Trigger] = {
    "health-every": lambda _: TrainingHealth(10, every=0),
    "health-classes": lambda _: TrainingHealth(1),
    "diagnose-nothing": lambda _: cli("diagnose"),
    "diagnose-missing": lambda box: cli("diagnose", box.folder / "nowhere"),
    "diagnose-not-a-run": lambda box: cli("diagnose", box.folder),
    "diagnose-no-health": diagnose_without_health,
    "diagnose-health-json": lambda box: diagnose_spoiled(box, b"{not json"),
    "diagnose-health-keys": lambda box: diagnose_spoiled(box, b"{}"),
    "diagnose-flags": lambda box: cli("diagnose", box.run(), "--lr", "0.1"),
}

def flip_last_byte(path: Path) -> Path:
    """Change the last byte of a file (the last tensor's, in a safetensors file)."""
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(raw)
    return path


def linear_checkpoint(box: Sandbox, name: str, metadata: dict[str, str] | None = None) -> Path:
    """A checkpoint of Linear(2, 3) (tensors bias and weight, in that order), with checksums."""
    path = box.folder / name
    lw.save(nn.Linear(2, 3).state_dict(), path, metadata=metadata)
    return path


def replaced(path: Path, old: bytes, new: bytes) -> Path:
    """The file with `old` (found once) replaced by `new`, of the same length."""
    raw = path.read_bytes()
    assert raw.count(old) == 1 and len(old) == len(new)
    path.write_bytes(raw.replace(old, new))
    return path


def spoil_run_file(box: Sandbox, name: str, spoil: Callable[[Path], object]) -> Path:
    """A copy of the run with one of its files spoiled."""
    folder = box.run_copy()
    spoil(folder / name)
    return folder


def edit_config(path: Path) -> None:
    """Change a setting in config.json, as a user with an editor would."""
    content = json.loads(path.read_text())
    content["config"]["lr"] = 0.5
    path.write_text(json.dumps(content, indent=2))


def change_json_value(path: Path, key: str) -> None:
    """Change the first digit of a top-level value of a JSON file."""
    text = path.read_text()
    start = text.index(f'"{key}": ')
    position = next(index for index in range(start + len(key) + 4, len(text))
                    if text[index].isdigit() and not text[index + 1].isdigit())
    path.write_text(text[:position] + str((int(text[position]) + 1) % 10) + text[position + 1:])


def written_json(box: Sandbox) -> Path:
    path = box.folder / "state.json"
    lw.checkpoint.write_json(path, {"epoch": 3})
    return path


CHECKSUMS: dict[str, Trigger] = {
    "checkpoint-corrupt-tensor": lambda box: lw.load(flip_last_byte(
        linear_checkpoint(box, "corrupt.safetensors"))),
    "checkpoint-corrupt-dtype": lambda box: lw.load(replaced(
        linear_checkpoint(box, "dtype.safetensors"), b'"weight":{"dtype":"F32"',
        b'"weight":{"dtype":"I32"')),
    "checkpoint-corrupt-metadata": lambda box: lw.load_metadata(replaced(
        linear_checkpoint(box, "metadata.safetensors", {"epoch": "3"}), b'"epoch":"3"',
        b'"epoch":"4"')),
    "checkpoint-corrupt-record-key": lambda box: lw.load(replaced(
        linear_checkpoint(box, "key.safetensors"), b"layerwise.sha256", b"layerwise.sha257")),
    "checkpoint-header-json-entry": lambda box: lw.load(replaced(
        linear_checkpoint(box, "header.safetensors"), b'"weight":{"dtype":"F32","shape":[3',
        b'"weight":{"dtype":"F32","shape":[#')),
    "save-reserved-metadata": lambda box: lw.save({"x": np.zeros(2)}, box.folder / "x.safetensors",
                                                  metadata={"layerwise.sha256": "mine"}),
    "json-corrupt": lambda box: lw.checkpoint.read_json(replaced(
        written_json(box), b'"epoch": 3', b'"epoch": 4')),
    "cli-resume-corrupt": lambda box: cli("train", "--resume", spoil_run_file(
        box, "checkpoint.safetensors", flip_last_byte), "--epochs", "2", "--quiet"),
    "cli-evaluate-corrupt": lambda box: cli("evaluate", spoil_run_file(
        box, "model.safetensors", flip_last_byte)),
    "cli-config-edited": lambda box: cli("train", "--resume", spoil_run_file(
        box, "config.json", edit_config), "--epochs", "2", "--quiet"),
    "cli-diagnose-corrupt": lambda box: cli("diagnose", spoil_run_file(
        box, "health.json", lambda path: change_json_value(path, "every"))),
    "cli-report-corrupt": lambda box: cli("report", spoil_run_file(
        box, "metrics.json", lambda path: change_json_value(path, "epochs"))),
    "cli-verify-missing": lambda box: cli("verify", box.folder / "nowhere"),
    "cli-verify-not-a-run": lambda box: cli("verify", box.folder),
}


class OnnxNet(nn.Module):
    """A model whose forward is given: the ONNX export rows' `Net`."""

    def __init__(self, forward: Callable[[lw.Tensor], Any], *layers: nn.Module) -> None:
        super().__init__()
        self.layers = nn.Sequential(*layers)
        self.step = forward

    def forward(self, x: lw.Tensor) -> Any:
        return self.step(self.layers(x))


OnnxNet.__name__ = "Net"


class Noisy(nn.Module):
    def forward(self, x: lw.Tensor) -> lw.Tensor:
        return F.dropout(x, 0.5, training=True)


def export(box: Sandbox, model: Any, example: Any = None, **options: Any) -> object:
    example = np.ones((2, 3), np.float32) if example is None else example
    return lw.onnx.export(model, example, box.folder / "model.onnx", **options)


def net(forward: Callable[[lw.Tensor], Any]) -> nn.Module:
    return OnnxNet(forward, nn.Linear(3, 3))


def without_onnx(action: Callable[[], object]) -> object:
    with unittest.mock.patch.dict(sys.modules, {"onnx": None}):
        return action()


ONNX_EXPORT: dict[str, Trigger] = {
    "onnx-export-op": lambda box: export(box, OnnxNet(lambda y: y.cumsum(dim=1) + y.log1p())),
    "onnx-export-dropout": lambda box: export(box, nn.Sequential(
        nn.Linear(3, 3), nn.Sequential(nn.Linear(3, 3), Noisy()))),
    "onnx-export-batch-statistics": lambda box: export(
        box, nn.BatchNorm1d(3, track_running_stats=False)),
    "onnx-export-computed": lambda box: export(box, OnnxNet(lambda y: y * float(y.data.sum()))),
    "onnx-export-path": lambda box: export(box, OnnxNet(
        lambda y: F.relu(y) if y.shape[0] > 2 else y)),
    "onnx-export-output": lambda box: export(box, OnnxNet(lambda y: lw.tensor(y.data * 2))),
    "onnx-export-not-tensor": lambda box: export(box, OnnxNet(lambda y: y.data)),
    "onnx-export-not-module": lambda box: export(box, lambda x: x),
    "onnx-export-folder": lambda _: lw.onnx.export(nn.Linear(3, 3), np.ones((2, 3)),
                                                   "no/such/folder/model.onnx"),
    "onnx-export-opset": lambda box: export(box, nn.Linear(3, 3), opset=13),
    "onnx-export-no-batch": lambda box: export(box, nn.Identity(), np.float32(1)),
    "onnx-export-empty": lambda box: export(box, nn.Linear(3, 3), ()),
    "onnx-export-dtype": lambda box: export(box, nn.Identity(), np.array(["a"])),
    "onnx-export-names": lambda box: export(box, nn.Linear(3, 3), input_names=["a", "b"]),
    "onnx-export-metadata": lambda box: export(box, nn.Linear(3, 3),
                                               metadata={"classes": ["a"]}),
    "onnx-export-no-onnx": lambda box: without_onnx(lambda: export(box, nn.Linear(3, 3))),
    "cli-export-missing": lambda box: cli("export", box.folder / "none", box.folder / "m.onnx"),
    "cli-export-folder": lambda box: cli("export", box.run(),
                                         box.folder / "no/such/folder/model.onnx"),
    "cli-export-no-onnx": lambda box: without_onnx(
        lambda: cli("export", box.run(), box.folder / "model.onnx")),
}


def torch_save_file(box: Sandbox, name: str, zipped: bool) -> object:
    """`lw.load` of the bytes torch.save writes, a pickle (protocol 2) alone or in a zip
    archive as PyTorch 1.6 on writes it; the pickle must not have run."""
    marker = box.folder / "pickle-ran"
    pickled = pickle.dumps({"weight": Payload(marker)}, protocol=2)
    path = box.folder / name
    if zipped:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", pickled)
    else:
        path.write_bytes(pickled)
    try:
        return lw.load(path)
    finally:
        assert not marker.exists(), f"loading {name} ran the pickle's code"


def wrapped_mlp() -> nn.Module:
    class Wrapper(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = nn.Sequential(nn.Linear(2, 3))

    return Wrapper()


def prefixed(prefix: str) -> dict[str, np.ndarray]:
    return {prefix + name: value for name, value in nn.Sequential(nn.Linear(2, 3)).state_dict()
            .items()}


TORCH_WEIGHTS: dict[str, Trigger] = {
    "torch-save-zip": lambda box: torch_save_file(box, "pytorch_model.bin", zipped=True),
    "torch-save-pickle": lambda box: torch_save_file(box, "model.pt", zipped=False),
    "state-prefix-module": lambda _: nn.Sequential(nn.Linear(2, 3)).load_state_dict(
        prefixed("module.")),
    "state-prefix-compile": lambda _: nn.Sequential(nn.Linear(2, 3)).load_state_dict(
        prefixed("_orig_mod.")),
    "state-prefix-model": lambda _: wrapped_mlp().load_state_dict(prefixed("")),
    "state-whole-module": lambda _: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(
        3, 1)).load_state_dict(prefixed("")),
    "state-unknown-module": lambda _: nn.Sequential(nn.Linear(2, 3)).load_state_dict(
        {**prefixed(""), "fc.weight": np.zeros((1, 3))}),
    "state-transposed": lambda _: nn.Linear(2, 3).load_state_dict(
        {"weight": np.zeros((2, 3)), "bias": np.zeros(3)}),
    "state-path": lambda _: nn.Linear(2, 3).load_state_dict(
        "model.safetensors"),  # type: ignore[arg-type]
}


# --- ONNX import (lw.onnx.load) ------------------------------------------------------------------


def onnx_model(nodes: list[Any], inputs: dict[str, tuple[int, ...]],
               initializers: dict[str, np.ndarray] | None = None, opset: int = 18,
               outputs: tuple[str, ...] = ("y",)) -> Any:
    """A small ONNX model built with onnx.helper, its inputs float32 of the given shapes."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
                     for name, shape in inputs.items()],
        [helper.make_tensor_value_info(name, TensorProto.UNDEFINED, None) for name in outputs],
        [numpy_helper.from_array(array, name) for name, array in (initializers or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    model = onnx.shape_inference.infer_shapes(model)  # gives the outputs their types
    for output in model.graph.output:  # those shape inference gave up on (the bad nodes)
        if not output.type.tensor_type.elem_type:
            output.CopyFrom(helper.make_tensor_value_info(output.name, TensorProto.FLOAT, ["n"]))
    return model


def onnx_node(op_type: str, inputs: list[str], outputs: tuple[str, ...] = ("y",),
              **attributes: Any) -> Any:
    from onnx import helper
    return helper.make_node(op_type, inputs, list(outputs), **attributes)


def load_onnx(box: Sandbox, name: str, model: Any) -> Any:
    return lw.onnx.load(box.file(name, model.SerializeToString()))


def relu_model(opset: int = 18) -> Any:
    return onnx_model([onnx_node("Relu", ["x"])], {"x": (2, 3)}, opset=opset)


def run_onnx_node(box: Sandbox, node: Any, inputs: dict[str, tuple[int, ...]],
                  initializers: dict[str, np.ndarray] | None = None, call: bool = False,
                  outputs: tuple[str, ...] = ("y",)) -> Any:
    """Load a model of one node and, when `call`, run it on zeros of the inputs' shapes."""
    model = load_onnx(box, "node.onnx", onnx_model([node], inputs, initializers,
                                                  outputs=outputs))
    return model(*(np.zeros(shape, np.float32) for shape in inputs.values())) if call else model


def onnx_with(box: Sandbox, name: str, change: Callable[[Any], Any]) -> Any:
    """Load relu_model() after `change` edits it."""
    model = relu_model()
    change(model)
    return load_onnx(box, name, model)


def external_weight(box: Sandbox, location: str) -> Any:
    """A Gemm model whose weight's data is said to be in `location`."""
    from onnx import TensorProto
    model = onnx_model([onnx_node("Gemm", ["x", "w"], transB=1)], {"x": (2, 3)},
                       {"w": np.zeros((4, 3), np.float32)})
    weight = model.graph.initializer[0]
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value=location)
    (box.folder / "model").mkdir(exist_ok=True)
    return load_onnx(box, "model/model.onnx", model)


def sparse_initializer(model: Any) -> None:
    from onnx import helper
    values = helper.make_tensor("s", 1, [1], [1.0])
    indices = helper.make_tensor("s_indices", 7, [1], [0])
    model.graph.sparse_initializer.append(helper.make_sparse_tensor(values, indices, [3]))


def custom_opset_only(model: Any) -> None:
    from onnx import helper
    del model.opset_import[:]
    model.opset_import.append(helper.make_opsetid("com.example", 1))


def custom_node(model: Any) -> None:
    from onnx import helper
    model.graph.node.append(helper.make_node("FusedGelu", ["y"], ["z"], domain="com.example"))
    model.opset_import.append(helper.make_opsetid("com.example", 1))


def corrupted_name(box: Sandbox) -> Any:
    """relu_model() with a byte of its node's name replaced by one that is not UTF-8."""
    model = relu_model()
    model.graph.node[0].name = "QQQQ"
    return lw.onnx.load(box.file("corrupted.onnx", model.SerializeToString().replace(
        b"QQQQ", b"Q\xffQQ")))


def checker_meets_bad_text(box: Sandbox) -> Any:
    """The checker stumbling on text that is not UTF-8 in a part of the model no name check
    reads (its message is decoded by pybind11)."""
    problem = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    with unittest.mock.patch("onnx.checker.check_model", side_effect=problem):
        return load_onnx(box, "text.onnx", relu_model())


def unknown_data_type(model: Any) -> Any:
    """A Gemm model whose weight claims data type 62 (there is none)."""
    model.graph.initializer[0].data_type = 62
    return model


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"weight": 1}))
    return buffer.getvalue()


ONNX_IMPORT: dict[str, Trigger] = {
    "onnx-missing": lambda box: lw.onnx.load(box.folder / "missing.onnx"),
    "onnx-folder": lambda box: lw.onnx.load(box.folder),
    "onnx-empty": lambda box: lw.onnx.load(box.file("empty.onnx", b"")),
    "onnx-random": lambda box: lw.onnx.load(box.file(
        "random.onnx", np.random.default_rng(0).bytes(1000))),
    "onnx-pickle": lambda box: lw.onnx.load(box.file("model.pkl", pickle.dumps({"w": 1}))),
    "onnx-zip": lambda box: lw.onnx.load(box.file("model.pt", zip_bytes())),
    "onnx-safetensors": lambda box: lw.onnx.load(box.file(
        "model.safetensors", safetensors_bytes({"w": {"dtype": "F32", "shape": [1],
                                                      "data_offsets": [0, 4]}}, bytes(4)))),
    "onnx-npy": lambda box: lw.onnx.load(box.npy("weights.npy", np.zeros(3))),
    "onnx-hdf5": lambda box: lw.onnx.load(box.file("model.h5", b"\x89HDF\r\n\x1a\n" + bytes(8))),
    "onnx-truncated": lambda box: lw.onnx.load(box.file(
        "cut.onnx", relu_model().SerializeToString()[:-12])),
    "onnx-corrupted-name": corrupted_name,
    "onnx-checker-text": checker_meets_bad_text,
    "onnx-data-type": lambda box: load_onnx(box, "type.onnx", unknown_data_type(onnx_model(
        [onnx_node("Gemm", ["x", "w"], transB=1)], {"x": (2, 3)},
        {"w": np.zeros((4, 3), np.float32)}))),
    "onnx-cast-type": lambda box: run_onnx_node(box, onnx_node("Cast", ["x"], to=62),
                                                {"x": (2, 3)}),
    "onnx-no-graph": lambda box: lw.onnx.load(box.file("bare.onnx", b"\x08\x08")),
    "onnx-no-default-opset": lambda box: onnx_with(box, "custom.onnx", custom_opset_only),
    "onnx-old-opset": lambda box: load_onnx(box, "old.onnx", relu_model(opset=12)),
    "onnx-unsupported": lambda box: load_onnx(box, "trig.onnx", onnx_model(
        [onnx_node("Sinh", ["x"], ("a",)), onnx_node("Sinh", ["a"], ("b",)),
         onnx_node("Cosh", ["b"])], {"x": (2, 3)})),
    "onnx-custom-domain": lambda box: onnx_with(box, "fused.onnx", custom_node),
    "onnx-external-outside": lambda box: external_weight(box, "../secret.bin"),
    "onnx-external-missing": lambda box: external_weight(box, "weights.bin"),
    "onnx-sparse": lambda box: onnx_with(box, "sparse.onnx", sparse_initializer),
    "onnx-checker": lambda box: load_onnx(box, "broken.onnx", onnx_model(
        [onnx_node("Relu", ["a"]), onnx_node("Relu", ["x"], ("a",))], {"x": (2, 3)})),
    "onnx-dtype": lambda box: lw.onnx.load(box.file("relu.onnx", relu_model().SerializeToString()),
                                           dtype=lw.int64),
    "onnx-conv-transpose-output-shape": lambda box: run_onnx_node(box, onnx_node(
        "ConvTranspose", ["x", "w"], output_shape=[5, 5]), {"x": (1, 2, 3, 3)},
        {"w": np.zeros((2, 2, 3, 3), np.float32)}),
    "onnx-auto-pad": lambda box: run_onnx_node(box, onnx_node(
        "ConvTranspose", ["x", "w"], auto_pad="SAME_UPPER"), {"x": (1, 2, 3, 3)},
        {"w": np.zeros((2, 2, 3, 3), np.float32)}),
    "onnx-average-pool-dilations": lambda box: load_onnx(box, "pool.onnx", onnx_model(
        [onnx_node("AveragePool", ["x"], kernel_shape=[2, 2], dilations=[2, 2])],
        {"x": (1, 1, 5, 5)}, opset=19)),
    "onnx-pool-indices": lambda box: run_onnx_node(box, onnx_node(
        "MaxPool", ["x"], ("y", "indices"), kernel_shape=[2, 2]), {"x": (1, 1, 4, 4)},
        outputs=("y", "indices")),
    "onnx-gelu-approximate": lambda box: load_onnx(box, "gelu.onnx", onnx_model(
        [onnx_node("Gelu", ["x"], approximate="sigmoid")], {"x": (2, 3)}, opset=20)),
    "onnx-batch-norm-training": lambda box: run_onnx_node(box, onnx_node(
        "BatchNormalization", ["x", "s", "b", "m", "v"], training_mode=1), {"x": (2, 3)},
        {name: np.ones(3, np.float32) for name in "sbmv"}),
    "onnx-batch-norm-outputs": lambda box: run_onnx_node(box, onnx_node(
        "BatchNormalization", ["x", "s", "b", "m", "v"], ("y", "mean", "var")), {"x": (2, 3)},
        {name: np.ones(3, np.float32) for name in "sbmv"}, outputs=("y", "mean", "var")),
    "onnx-layer-norm-outputs": lambda box: run_onnx_node(box, onnx_node(
        "LayerNormalization", ["x", "s"], ("y", "mean")), {"x": (2, 3)},
        {"s": np.ones(3, np.float32)}, outputs=("y", "mean")),
    "onnx-constant-value": lambda box: run_onnx_node(box, onnx_node(
        "Constant", [], value_string="text"), {}),
    "onnx-input-count": lambda box: load_onnx(box, "relu.onnx", relu_model())(
        np.zeros((2, 3)), np.zeros((2, 3))),
    "onnx-input-shape": lambda box: load_onnx(box, "relu.onnx", relu_model())(
        np.zeros((2, 4), np.float32)),
    "onnx-feature-map-rank": lambda box: run_onnx_node(box, onnx_node(
        "Conv", ["x", "w"]), {"x": (1, 1, 3, 3, 3)}, {"w": np.ones((1, 1, 2, 2, 2), np.float32)},
        call=True),
    "onnx-average-pool-uneven": lambda box: run_onnx_node(box, onnx_node(
        "AveragePool", ["x"], kernel_shape=[2, 2], pads=[1, 0, 0, 1]), {"x": (1, 1, 4, 4)},
        call=True),
    "onnx-gather-indices": lambda box: run_onnx_node(box, onnx_node(
        "Gather", ["x", "i"]), {"x": (4, 3)}, {"i": np.zeros(2, np.float32)}, call=True),
    "onnx-reshape": lambda box: run_onnx_node(box, onnx_node(
        "Reshape", ["x", "shape"]), {"x": (2, 3)}, {"shape": np.array([4, -1, 5])}, call=True),
    "onnx-squeeze": lambda box: run_onnx_node(box, onnx_node(
        "Squeeze", ["x", "axes"]), {"x": (2, 3)}, {"axes": np.array([1])}, call=True),
    "onnx-op-error": lambda box: run_onnx_node(box, onnx_node(
        "Conv", ["x", "w"]), {"x": (1, 3, 5, 5)}, {"w": np.ones((2, 2, 3, 3), np.float32)},
        call=True),
}


# --- the loose ends of the reliability pass: data folders, divergence ------------------------


def fashion_mnist_with_variable(box: Sandbox, folder: str, make: bool) -> object:
    """fashion_mnist("train") with LAYERWISE_DATA naming `folder` (made empty, or not at all)
    while the Debian folder holds the files."""
    chosen = box.folder / folder
    if make:
        chosen.mkdir()
    with unittest.mock.patch.dict(os.environ, {"LAYERWISE_DATA": str(chosen)}):
        return fashion_mnist("train")


def fit_after_a_divergence() -> None:
    model = nn.Linear(2, 3)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), verbose=False)
    inputs, labels = np.full((4, 2), np.nan, dtype=np.float32), np.zeros(4, dtype=np.int64)
    with np.errstate(all="ignore"), contextlib.suppress(TrainingDivergedError):
        trainer.fit(inputs, labels, batch_size=2)
    trainer.fit(inputs, labels, batch_size=2)


def train_a_run_again_after_it_diverged(box: Sandbox) -> None:
    config = RunConfig(dataset="spirals", hidden=[4], lr=1e30, schedule="constant", epochs=1,
                       samples=60, batch_size=16)
    run = Run(config, box.folder / "run", verbose=False)
    with np.errstate(all="ignore"), contextlib.suppress(TrainingDivergedError):
        run.train()
    run.train()


def diverge_after_a_save(box: Sandbox) -> int:
    """A run of 2 epochs whose weights become NaN after step 1 of epoch 2."""
    step_schedule = LRSchedulerStep.on_batch_end

    def nan_after_step_1_of_epoch_2(self: LRSchedulerStep, trainer: Trainer, step: int,
                                    logs: dict[str, float]) -> None:
        step_schedule(self, trainer, step, logs)
        if (trainer.epoch + 1, step) == (2, 1):
            next(iter(trainer.model.parameters())).data[0] = np.nan

    with unittest.mock.patch.object(LRSchedulerStep, "on_batch_end",
                                    nan_after_step_1_of_epoch_2):
        return cli("train", *SPIRALS, "--hidden", "4", "--epochs", "2", "--samples", "60",
                   "--batch-size", "16", "--quiet", "--out", box.folder / "run")


LOOSE_ENDS: dict[str, Trigger] = {
    "fit-after-divergence": lambda _: fit_after_a_divergence(),
    "run-after-divergence-unsaved": train_a_run_again_after_it_diverged,
    "cli-diverged-after-a-save": diverge_after_a_save,
    "fashion-variable-missing": lambda box: fashion_mnist_with_variable(box, "missing", False),
    "fashion-variable-empty": lambda box: fashion_mnist_with_variable(box, "empty", True),
}

def label_seven_at(position: tuple[int, ...]) -> Any:
    labels = np.zeros((2, 3, 4), dtype=np.int64)
    labels[position] = 7
    return F.cross_entropy(np.zeros((2, 5, 3, 4)), labels)


CLASS_LOSSES: dict[str, Trigger] = {
    "logits-scalar": lambda _: F.cross_entropy(np.zeros(()), np.array(1)),
    "labels-per-position-shape": lambda _: F.cross_entropy(np.zeros((2, 5, 4, 4)),
                                                           np.zeros((2, 4), dtype=int)),
    "label-per-position": lambda _: label_seven_at((1, 2, 0)),
    "label-unbatched": lambda _: F.cross_entropy(np.zeros(5), np.array(5)),
    "probabilities-ignore-index": lambda _: F.cross_entropy(
        np.zeros((2, 3)), np.full((2, 3), 1 / 3), ignore_index=0),
    "class-weight-length": lambda _: F.cross_entropy(np.zeros((2, 3)), [0, 1],
                                                     weight=np.ones(4)),
    "class-weight-dtype": lambda _: F.cross_entropy(np.zeros((2, 3)), [0, 1],
                                                    weight=np.array([1, 2, 3])),
    "class-weight-module": lambda _: nn.CrossEntropyLoss(weight=np.ones((2, 3))),
    "class-weight-reduction": lambda _: F.cross_entropy(LOGITS, np.zeros(4, dtype=int), "sum"),
    "bce-weight-shape": lambda _: F.binary_cross_entropy(np.full((2, 3), 0.5), np.zeros((2, 3)),
                                                         weight=np.ones(4)),
    "bce-weight-reduction": lambda _: F.binary_cross_entropy(np.full((2, 3), 0.5),
                                                             np.zeros((2, 3)), "sum"),
    "element-weight-shape": lambda _: F.mse_loss(np.zeros((2, 3)), np.zeros((2, 3)),
                                                 weight=np.ones(3)),
    "regression-loss-integer": lambda _: F.huber_loss(lw.arange(3), lw.arange(3) + 1),
}


TENSOR_MATH: dict[str, Trigger] = {
    "rounding-bool": lambda _: lw.floor(lw.tensor([True, False])),
    "round-decimals-integers": lambda _: lw.arange(3).round(decimals=1),
    "frac-integers": lambda _: lw.arange(3).frac(),
    "nan-to-num-value": lambda _: lw.ones(2).nan_to_num(nan="zero"),
    "flip-dims-twice": lambda _: lw.ones(2, 3).flip(0, -2),
    "roll-shifts-dims": lambda _: lw.ones(2, 3).roll((1, 2), 0),
    "roll-shifts-without-dims": lambda _: lw.ones(2, 3).roll((1, 2)),
    "triangle-vector": lambda _: lw.tril(lw.ones(3)),
    "bmm-dims": lambda _: lw.bmm(lw.ones(2, 3), lw.ones(2, 3)),
    "bmm-shapes": lambda _: lw.bmm(lw.ones(2, 3, 4), lw.ones(3, 4, 5)),
    "outer-vectors": lambda _: lw.outer(lw.ones(2, 3), lw.ones(2)),
    "diff-0d": lambda _: lw.diff(lw.tensor(1.0)),
    "diff-n": lambda _: lw.diff(lw.ones(3), n=-1),
    "diff-prepend-dims": lambda _: lw.diff(lw.ones(2, 3), prepend=lw.ones(3)),
    "logical-shapes": lambda _: lw.logical_and(lw.ones(3), lw.ones(4)),
}



# --- schedules (MultiStepLR, LambdaLR, ..., SequentialLR, ChainedScheduler, ReduceLROnPlateau)
def two_groups() -> optim.SGD:
    return optim.SGD([{"params": params()}, {"params": params()}], lr=0.1)


def fit_plateau_without_validation() -> None:
    optimizer = sgd()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer)
    trainer = Trainer(nn.Linear(2, 3), optimizer, callbacks=[LRSchedulerStep(scheduler)],
                      verbose=False)
    trainer.fit(np.zeros((4, 2), np.float32), np.zeros(4, int), epochs=1)


def sequential(schedules: Callable[[optim.SGD], list[Any]], milestones: list[int]) -> object:
    optimizer = sgd()
    return lr_scheduler.SequentialLR(optimizer, schedules(optimizer), milestones=milestones)


LR_SCHEDULES: dict[str, Trigger] = {
    "multi-step-lr-milestones": lambda _: lr_scheduler.MultiStepLR(sgd(), milestones=[2, -1]),
    "lambda-lr-count": lambda _: lr_scheduler.LambdaLR(two_groups(), [lambda step: 1.0]),
    "lambda-lr-function": lambda _: lr_scheduler.LambdaLR(sgd(), lr_lambda=0.5),
    "multiplicative-lr-function": lambda _: lr_scheduler.MultiplicativeLR(
        two_groups(), [lambda step: 1.0, 0.9]),
    "constant-lr-factor": lambda _: lr_scheduler.ConstantLR(sgd(), factor=1.5),
    "polynomial-lr-power": lambda _: lr_scheduler.PolynomialLR(sgd(), power=-1.0),
    "warm-restarts-t-mult": lambda _: lr_scheduler.CosineAnnealingWarmRestarts(
        sgd(), T_0=2, T_mult=1.5),
    "sequential-lr-milestones": lambda _: sequential(lambda o: [
        lr_scheduler.ConstantLR(o), lr_scheduler.ExponentialLR(o, 0.9)], [2, 4]),
    "sequential-lr-order": lambda _: sequential(lambda o: [
        lr_scheduler.ConstantLR(o), lr_scheduler.ExponentialLR(o, 0.9),
        lr_scheduler.StepLR(o, 2)], [4, 4]),
    "sequential-lr-empty": lambda _: sequential(lambda o: [], []),
    "sequential-lr-optimizer": lambda _: sequential(lambda o: [
        lr_scheduler.ConstantLR(o), lr_scheduler.ConstantLR(sgd())], [2]),
    "sequential-lr-not-a-schedule": lambda _: sequential(lambda o: [
        lr_scheduler.ConstantLR(o), "cosine"], [2]),
    "chained-plateau": lambda _: lr_scheduler.ChainedScheduler(
        [lr_scheduler.ReduceLROnPlateau(sgd())]),
    "chained-not-a-factor": lambda _: (lambda o: lr_scheduler.ChainedScheduler(
        [lr_scheduler.ExponentialLR(o, 0.9),
         lr_scheduler.CosineAnnealingLR(o, 5, eta_min=0.01)]))(sgd()),
    "plateau-mode": lambda _: lr_scheduler.ReduceLROnPlateau(sgd(), mode="minimum"),
    "plateau-threshold-mode": lambda _: lr_scheduler.ReduceLROnPlateau(
        sgd(), threshold_mode="relative"),
    "plateau-factor": lambda _: lr_scheduler.ReduceLROnPlateau(sgd(), factor=1.0),
    "plateau-patience": lambda _: lr_scheduler.ReduceLROnPlateau(sgd(), patience=-1),
    "plateau-min-lr-count": lambda _: lr_scheduler.ReduceLROnPlateau(two_groups(), min_lr=[0.0]),
    "plateau-metric": lambda _: lr_scheduler.ReduceLROnPlateau(sgd()).step("low"),
    "plateau-per-batch": lambda _: LRSchedulerStep(lr_scheduler.ReduceLROnPlateau(sgd()),
                                                   interval="batch"),
    "plateau-no-validation": lambda _: fit_plateau_without_validation(),
}


# --- activations (SiLU, ReLU6, Hardtanh, ...; set_grad_enabled) ---
ACTIVATIONS: dict[str, Trigger] = {
    "activation-integer": lambda _: F.silu(lw.arange(3)),
    "hardtanh-bounds": lambda _: F.hardtanh(lw.zeros(3), 2.0, 1.0),
    "hardtanh-module-bounds": lambda _: nn.Hardtanh(1, -1),
    "hardtanh-bound-string": lambda _: F.hardtanh(lw.zeros(3), "-1"),  # type: ignore[arg-type]
    "celu-alpha-zero": lambda _: nn.CELU(0),
    "glu-odd": lambda _: F.glu(lw.zeros(3, 5)),
    "glu-scalar": lambda _: F.glu(lw.tensor(1.0)),
    "glu-dim": lambda _: nn.GLU(dim=1.5),  # type: ignore[arg-type]
    "prelu-weight": lambda _: nn.PReLU(4)(lw.zeros(2, 3, 5)),
    "prelu-num-parameters": lambda _: nn.PReLU(0),
    "prelu-dtype": lambda _: nn.PReLU(dtype=lw.int64),
    "set-grad-enabled-mode": lambda _: lw.set_grad_enabled("no"),  # type: ignore[arg-type]
}

TRIGGERS: dict[str, Trigger] = {**SHAPES, **SPATIAL, **LABELS, **DTYPES, **HYPERPARAMETERS,
                                **AUTOGRAD, **DATA_FILES, **CHECKPOINTS, **CLI, **PYTORCH_API,
                                **GRAPH_VIEW, **REPORT, **HEALTH, **DISTRIBUTED,
                                **TORCH_WEIGHTS, **ONNX_EXPORT, **CHECKSUMS,
                                **ONNX_IMPORT, **LOOSE_ENDS, **CLASS_LOSSES,
                                **TENSOR_MATH, **LR_SCHEDULES, **ACTIVATIONS}

# Rows whose message belongs to a file owned by someone else and is not there yet.
PLANNED = {
}


# --- reading the doc -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One documented error: for Python rows `expected` is the exception's class name, for
    command-line rows the exit status."""

    id: str
    area: str
    command_line: bool
    expected: str
    text: str
    planned: bool


CELL_SEPARATOR = re.compile(r"(?<!\\)\|")
CODE_SPAN = re.compile(r"``\s?(.+?)\s?``|`([^`]+)`")


def code_in(cell: str) -> str:
    match = CODE_SPAN.search(cell)
    assert match is not None, f"no `code` in the cell {cell!r}"
    return (match.group(1) or match.group(2)).replace("\\|", "|")


def documented_rows(text: str) -> list[Row]:
    rows: list[Row] = []
    area = ""
    header: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            area, header = line[3:].strip(), None
            continue
        if not line.startswith("|"):
            header = None
            continue
        cells = [cell.strip() for cell in CELL_SEPARATOR.split(line.strip())[1:-1]]
        if header is None:
            header = [cell.lower() for cell in cells]
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        named = dict(zip(header, cells, strict=True))
        command_line = "exit status" in named
        rows.append(Row(
            id=code_in(named["id"]), area=area, command_line=command_line,
            expected=named["exit status"] if command_line else code_in(named["exception"]),
            text=code_in(named["stderr" if command_line else "message"]),
            planned="(planned)" in line))
    return rows


ROWS = documented_rows(DOC.read_text(encoding="utf-8"))


def contains(message: str, documented: str) -> bool:
    """Whether `message` holds the documented text, "…" standing for anything."""
    pattern = ".*?".join(re.escape(part) for part in documented.split("…"))
    return re.search(pattern, message, flags=re.DOTALL) is not None


# --- the tests -----------------------------------------------------------------------------------


def test_every_documented_error_has_a_trigger_and_every_trigger_a_row() -> None:
    ids = [row.id for row in ROWS]
    assert len(ids) == len(set(ids)), "an id appears twice in docs/errors.md"
    assert set(ids) - set(TRIGGERS) == set(), "rows without a trigger"
    assert set(TRIGGERS) - set(ids) == set(), "triggers without a row in docs/errors.md"


def test_planned_rows_are_the_expected_failures() -> None:
    assert {row.id for row in ROWS if row.planned} == set(PLANNED)


@pytest.mark.parametrize("row", [
    pytest.param(row, id=row.id, marks=[pytest.mark.xfail(strict=True, reason=PLANNED[row.id])]
                 if row.id in PLANNED else [])
    for row in ROWS
])
def test_documented_error(row: Row, tmp_path: Path, request: pytest.FixtureRequest,
                          capsys: pytest.CaptureFixture[str]) -> None:
    trigger = TRIGGERS[row.id]
    box = Sandbox(tmp_path, request)
    if row.command_line:
        status = trigger(box)
        stderr = capsys.readouterr().err
        assert status == int(row.expected), stderr
        assert contains(stderr, row.text), stderr
        if "Traceback" not in row.text:
            assert "Traceback" not in stderr
        return
    with pytest.raises(Exception) as caught:  # the type is checked by name below
        trigger(box)
    assert type(caught.value).__name__ == row.expected, repr(caught.value)
    assert contains(str(caught.value), row.text), str(caught.value)
