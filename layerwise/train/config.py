"""RunConfig: every choice of a `layerwise train` run, with the defaults of the reference
recipe, read from defaults < a TOML file < command-line flags."""

from __future__ import annotations

import copy
import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATASETS = ("fashion-mnist", "spirals", "moons", "xor", "circles")
MODELS = ("mlp", "cnn")
AUGMENTATIONS = ("crop", "flip")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "softplus")
OPTIMIZERS = ("adamw", "adam", "sgd", "rmsprop", "adagrad")
SCHEDULES = ("cosine", "constant", "step", "onecycle")


@dataclass
class RunConfig:
    """The resolved settings of one training run (saved as config.json in the run folder).

    The defaults train a 784-512-256-10 ReLU MLP on standardized Fashion-MNIST with dropout,
    AdamW, a cosine learning-rate decay over all steps and label smoothing. `model="cnn"`
    trains a convolutional network instead, whose recipe changes some of these defaults
    (CNN_RECIPE; `RunConfig.from_dict` applies it).
    """

    dataset: str = "fashion-mnist"
    data: str | None = None
    model: str = "mlp"
    channels: list[int] = field(default_factory=lambda: [32, 64])
    batch_norm: bool = False
    augment: list[str] = field(default_factory=list)
    hidden: list[int] = field(default_factory=lambda: [512, 256])
    activation: str = "relu"
    dropout: float = 0.2
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-2
    momentum: float = 0.9
    schedule: str = "cosine"
    label_smoothing: float = 0.1
    batch_size: int = 128
    epochs: int = 20
    validation_size: int = 5000
    seed: int = 0
    samples: int = 2000

    def validate(self) -> RunConfig:
        """Raise ValueError naming the first bad setting."""
        choices = {"dataset": DATASETS, "model": MODELS, "activation": ACTIVATIONS,
                   "optimizer": OPTIMIZERS, "schedule": SCHEDULES}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"--{name.replace('_', '-')} must be one of "
                                 f"{', '.join(allowed)}; got {getattr(self, name)!r}")
        if not self.hidden or any(not isinstance(h, int) or h < 1 for h in self.hidden):
            raise ValueError(f"--hidden must be positive layer widths like 512,256; got "
                             f"{self.hidden!r}")
        if not self.channels or any(not isinstance(c, int) or c < 1 for c in self.channels):
            raise ValueError(f"--channels must be positive channel counts like 32,64; got "
                             f"{self.channels!r}")
        unknown = [name for name in self.augment if name not in AUGMENTATIONS]
        if unknown:
            raise ValueError(f"--augment takes {' and '.join(AUGMENTATIONS)} (comma-separated) "
                             f"or none; got {', '.join(map(repr, unknown))}")
        if self.dataset != "fashion-mnist" and (self.model == "cnn" or self.augment):
            what = "--model cnn" if self.model == "cnn" else "--augment"
            raise ValueError(f"{what} needs images (--dataset fashion-mnist); {self.dataset} "
                             f"is a set of 2-D points")
        if self.model == "cnn" and 2 ** len(self.channels) > 28:
            raise ValueError(f"--channels: each convolution halves the 28x28 images, so at "
                             f"most 4 fit; got {len(self.channels)}")
        numbers = {"lr": self.lr, "weight-decay": self.weight_decay, "momentum": self.momentum,
                   "dropout": self.dropout, "label-smoothing": self.label_smoothing}
        for name, value in numbers.items():
            if not math.isfinite(value):  # inf passes `> 0` and would only show as a NaN loss
                raise ValueError(f"--{name} must be a finite number, got {value}")
        positive = {"lr": self.lr, "batch-size": self.batch_size, "epochs": self.epochs,
                    "samples": self.samples}
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"--{name} must be positive, got {value}")
        for name, value in {"weight-decay": self.weight_decay, "momentum": self.momentum,
                            "validation-size": self.validation_size,
                            "seed": self.seed}.items():
            if value < 0:
                raise ValueError(f"--{name} must be >= 0, got {value}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"--dropout must be in [0, 1), got {self.dropout}")
        if not 0.0 <= self.label_smoothing <= 1.0:
            raise ValueError(f"--label-smoothing must be in [0, 1], got {self.label_smoothing}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str) -> RunConfig:
        """Settings from a dict (flags, a config file, config.json); unknown names and values
        of the wrong type are errors that name the setting. A setting that `values` leaves
        out takes the default of its model's recipe (CNN_RECIPE for model "cnn")."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ValueError(f"{source}: unknown settings {', '.join(unknown)} (known: "
                             f"{', '.join(sorted(fields))})")
        checked = {name: _checked(name, value, fields[name].type, source)
                   for name, value in values.items()}
        recipe = CNN_RECIPE if checked.get("model") == "cnn" else {}
        return cls(**{**copy.deepcopy(recipe), **checked})


# The CNN's recipe where it differs from the defaults of RunConfig (the MLP's): a
# 32/64-channel network of 3x3 convolutions and 2x2 max pooling, then 128 hidden units, as
# calibrated in docs/accuracy.md.
CNN_RECIPE: dict[str, Any] = {"hidden": [128], "dropout": 0.3, "lr": 2e-3, "epochs": 15}


def _checked(name: str, value: Any, kind: Any, source: str) -> Any:
    """`value` if it fits the field's type (ints pass as floats), else a ValueError naming it."""
    text = str(kind)

    def wrong(expected: str) -> ValueError:
        return ValueError(f"{source}: {name} must be {expected}, got {value!r}")

    if text == "list[int]":
        if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise wrong("a list of layer widths like [512, 256]")
        return value
    if text == "list[str]":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise wrong("a list of names")
        return value
    if text == "bool":
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if text == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise wrong("an integer")
        return value
    if text == "float":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise wrong("a number")
        return float(value)
    if text == "str":
        if not isinstance(value, str):
            raise wrong("a string")
        return value
    if text == "str | None":
        if value is not None and not isinstance(value, str):
            raise wrong("a path")
        return value
    raise AssertionError(f"no check for the type {text} of {name}")


def read_toml(path: str | Path) -> dict[str, Any]:
    """The settings of a TOML config file (flat keys, or under a [train] table)."""
    try:
        with open(path, "rb") as file:
            values = tomllib.load(file)
    except FileNotFoundError:
        raise FileNotFoundError(f"no config file at {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML ({error})") from None
    values = values.get("train", values)
    return {key.replace("-", "_"): value for key, value in values.items()}
