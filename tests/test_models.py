"""The CLI's models: the CNN recipe, its run folders (train, evaluate, predict, resume, Ctrl-C)
and augmentation, on a small slice of the real Fashion-MNIST so that each run takes seconds."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import layerwise as lw
from layerwise import nn
from layerwise.cli import main
from layerwise.data import fashion_mnist, write_idx
from layerwise.data.augment import RandomCrop, RandomHorizontalFlip
from layerwise.models import build_model
from layerwise.train.config import CNN_RECIPE, RunConfig
from layerwise.train.run import Run, load_trained_model

TINY_CNN = {"model": "cnn", "channels": [4, 8], "hidden": [16], "epochs": 3, "batch_size": 50,
            "validation_size": 100, "lr": 0.01}


@pytest.fixture(scope="module")
def fashion_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 training and 200 test images of Fashion-MNIST, as IDX files in a folder."""
    folder = tmp_path_factory.mktemp("fashion-slice")
    for split, count, prefix in (("train", 600, "train"), ("test", 200, "t10k")):
        data = fashion_mnist(split)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", data.images[:count])
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", data.labels[:count].astype(np.uint8))
    return folder


def cnn_config(folder: Path, **changes: Any) -> RunConfig:
    return RunConfig.from_dict({**TINY_CNN, "data": str(folder), **changes}, "test").validate()


def timeless(run: Run) -> list[dict[str, float]]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in run.trainer.history.records]


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    expected = b.state_dict()
    for name, value in a.state_dict().items():
        np.testing.assert_array_equal(value, expected[name], err_msg=name, strict=True)


def test_the_cnn_recipe_is_the_documented_network() -> None:
    config = RunConfig.from_dict({"model": "cnn"}, "flags")
    assert (config.hidden, config.dropout, config.lr, config.epochs) == (
        CNN_RECIPE["hidden"], CNN_RECIPE["dropout"], CNN_RECIPE["lr"], CNN_RECIPE["epochs"])
    assert RunConfig.from_dict({"model": "cnn", "epochs": 2}, "flags").epochs == 2
    model, _ = build_model(config, (1, 28, 28), 10, np.zeros((1, 1, 1)), np.ones((1, 1, 1)))
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == ["Standardize", "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d",
                     "Flatten", "Linear", "ReLU", "Dropout", "Linear"]
    assert model[8].weight.shape == (128, 64 * 7 * 7)
    assert "(2, 10)" in model.summary((2, 1, 28, 28))


def test_batch_norm_replaces_the_convolutions_bias() -> None:
    config = RunConfig.from_dict({"model": "cnn", "batch_norm": True, "channels": [8]}, "flags")
    model, _ = build_model(config, (1, 28, 28), 10, np.zeros((1, 1, 1)), np.ones((1, 1, 1)))
    assert model[1].bias is None and isinstance(model[2], nn.BatchNorm2d)


def test_a_cnn_run_trains_evaluates_and_predicts(fashion_slice: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "cnn"
    assert main(["train", "--model", "cnn", "--channels", "4,8", "--hidden", "16", "--epochs",
                 "4", "--lr", "0.01", "--batch-size", "50", "--validation-size", "100", "--augment",
                 "crop,flip", "--data", str(fashion_slice), "--quiet", "--out",
                 str(folder)]) == 0
    out = capsys.readouterr().out
    accuracy = float(out.split("test accuracy: ")[1].split()[0])
    assert accuracy > 0.5  # 500 images, 4 epochs: far above the 0.1 of guessing
    config = json.loads((folder / "config.json").read_text())["config"]
    assert config["model"] == "cnn" and config["augment"] == ["crop", "flip"]
    assert main(["evaluate", str(folder), "--data", str(fashion_slice)]) == 0
    assert f"test accuracy: {accuracy:.4f}" in capsys.readouterr().out

    test = fashion_mnist("test")
    images = tmp_path / "images.npy"
    np.save(images, test.images[:3])  # uint8 pixels, as the IDX files hold them
    assert main(["predict", str(folder), str(images)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    trained = load_trained_model(folder)
    assert trained.input_shape == (1, 28, 28)

    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((2, 32, 32), np.float32))
    assert main(["predict", str(folder), str(wrong)]) == 2
    assert ("images of 32x32 pixels (values of shape (2, 32, 32)), but the model takes 28x28 "
            "images with 1 channel") in capsys.readouterr().err


@pytest.mark.parametrize("changes", [{}, {"augment": ["crop", "flip"], "batch_norm": True}],
                         ids=["plain", "augmented-batch-norm"])
def test_a_resumed_cnn_run_is_bitwise_identical(fashion_slice: Path, tmp_path: Path,
                                                changes: dict[str, Any]) -> None:
    config = cnn_config(fashion_slice, **changes)
    straight = Run(config, tmp_path / "straight", verbose=False)
    straight.train()
    first = Run(config, tmp_path / "split", verbose=False)
    first.folder.mkdir()
    first.trainer.fit(first.splits.train_x, first.splits.train_y, epochs=1,
                      batch_size=config.batch_size,
                      validation_data=(first.splits.val_x, first.splits.val_y))
    second = Run(config, tmp_path / "split", verbose=False)
    second.restore()
    second.train()
    assert_same_weights(second.model, straight.model)
    assert timeless(second) == timeless(straight)


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_in_an_epoch_of_an_augmented_cnn_resumes_bit_for_bit(
        fashion_slice: Path, tmp_path: Path, ctrl_c_raises: None) -> None:
    config = cnn_config(fashion_slice, augment=["crop", "flip"], batch_norm=True)
    straight = Run(config, tmp_path / "straight", verbose=False)
    straight.train()

    stopped = Run(config, tmp_path / "stopped", verbose=False)
    real_step, steps = stopped.optimizer.step, []

    def step_then_ctrl_c() -> None:
        real_step()
        steps.append(1)
        if len(steps) == 14:  # step 4 of epoch 2 (10 steps an epoch)
            signal.raise_signal(signal.SIGINT)

    stopped.optimizer.step = step_then_ctrl_c  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        stopped.train()
    assert (stopped.saved_epoch, stopped.saved_step) == (1, 4)
    resumed = Run(config, stopped.folder, verbose=False)
    resumed.restore()
    resumed.train()
    assert_same_weights(resumed.model, straight.model)
    assert timeless(resumed) == timeless(straight)


def test_augmentation_is_seeded_and_keeps_shapes_and_values() -> None:
    images = np.random.default_rng(0).random((6, 1, 28, 28)).astype(np.float32)
    crop = RandomCrop(2, rng=np.random.default_rng(1))
    cropped = crop(images)
    assert cropped.shape == images.shape and cropped.dtype == images.dtype
    np.testing.assert_array_equal(RandomCrop(2, rng=np.random.default_rng(1))(images), cropped)
    for original, shifted in zip(images[:, 0], cropped[:, 0], strict=True):
        # some shift (dy, dx) of at most 2 pixels maps the original onto the crop
        padded = np.pad(original, 2)
        assert any(np.array_equal(padded[dy:dy + 28, dx:dx + 28], shifted)
                   for dy in range(5) for dx in range(5))
    flipped = RandomHorizontalFlip(1.0, rng=np.random.default_rng(2))(images)
    np.testing.assert_array_equal(flipped, images[..., ::-1])
    unchanged = RandomHorizontalFlip(0.0, rng=np.random.default_rng(2))(images)
    np.testing.assert_array_equal(unchanged, images)
    with pytest.raises(ValueError, match="RandomCrop expects a batch of images"):
        crop(np.zeros((4, 784)))


def test_the_mlp_can_be_augmented_too(fashion_slice: Path, tmp_path: Path) -> None:
    config = RunConfig.from_dict({"data": str(fashion_slice), "hidden": [16], "epochs": 1,
                                  "batch_size": 50, "validation_size": 100,
                                  "augment": ["flip"]}, "test").validate()
    run = Run(config, tmp_path / "mlp", verbose=False)
    assert run.trainer.transform is not None
    batch = run.splits.train_x[:4]
    assert run.trainer.transform(batch).shape == (4, 784)
    run.train()


@pytest.mark.parametrize(("values", "message"), [
    ({"model": "cnn", "dataset": "moons"},
     "--model cnn needs images (--dataset fashion-mnist); moons is a set of 2-D points"),
    ({"augment": ["rotate"]}, "--augment takes crop and flip (comma-separated) or none; got "
                              "'rotate'"),
    ({"model": "cnn", "channels": [8, 8, 8, 8, 8]}, "at most 4 fit; got 5"),
    ({"model": "cnn", "channels": [0]}, "--channels must be positive channel counts"),
])
def test_bad_model_settings_are_named(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RunConfig.from_dict(values, "flags").validate()


def test_old_mlp_model_files_without_input_shape_still_load(tmp_path: Path) -> None:
    config = RunConfig(dataset="moons", hidden=[4], epochs=1, samples=100)
    run = Run(config, tmp_path / "run", verbose=False)
    run.train()
    path = tmp_path / "run" / "model.safetensors"
    metadata = lw.load_metadata(path)
    del metadata["input_shape"]
    lw.save(lw.load(path), path, metadata=metadata)
    assert load_trained_model(path).input_shape == (2,)
