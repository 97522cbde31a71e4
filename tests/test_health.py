"""Training health: each deliberately broken setup raises its finding, the recipe raises none,
the callback changes nothing in training, resuming keeps the samples, and the CLI's diagnose
and --overfit-batch say what they measured."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerwise import nn, optim
from layerwise.check.health import (
    HIGH_UPDATE_RATIO,
    TrainingHealth,
    double_softmax_floor,
    findings,
    layer_statistics,
    smoothed_cross_entropy_floor,
)
from layerwise.check.overfit import overfit_batch
from layerwise.checkpoint import read_json, write_json
from layerwise.cli import main
from layerwise.data import fashion_mnist
from layerwise.models import build_model, input_statistics
from layerwise.train import Trainer
from layerwise.train.config import RunConfig
from layerwise.train.run import build_optimizer, build_scheduler

SUBSET = 1280  # Fashion-MNIST training images: 20 steps of 64


@pytest.fixture(scope="module")
def fashion() -> tuple[np.ndarray, np.ndarray]:
    train = fashion_mnist("train")
    images = train.images[:SUBSET].reshape(SUBSET, -1).astype(np.float32) / 255
    return images, train.labels[:SUBSET]


def mlp(fashion: tuple[np.ndarray, np.ndarray], activation: type[nn.Module] = nn.ReLU,
        softmax: bool = False) -> nn.Sequential:
    images = fashion[0]
    rng = np.random.default_rng(0)
    layers: list[nn.Module] = [nn.Standardize(images.mean(axis=0), images.std(axis=0) + 1e-2),
                               nn.Linear(784, 128, rng=rng), activation(),
                               nn.Linear(128, 64, rng=rng), activation(),
                               nn.Linear(64, 10, rng=rng)]
    if softmax:
        layers.append(nn.Softmax(dim=-1))
    return nn.Sequential(*layers)


def health_of(model: nn.Module, fashion: tuple[np.ndarray, np.ndarray], lr: float = 1e-3,
              every: int = 5) -> dict[str, Any]:
    health = TrainingHealth(10, every=every)
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=lr),
                      nn.CrossEntropyLoss(label_smoothing=0.1), [health], verbose=False,
                      rng=np.random.default_rng(0))
    with np.errstate(all="ignore"):
        trainer.fit(*fashion, epochs=1, batch_size=64)
    return health.report()


def kinds(report: dict[str, Any]) -> set[str]:
    return {finding["kind"] for finding in report["findings"]}


def test_the_statistics_of_one_layer() -> None:
    relu = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])
    assert layer_statistics("ReLU", relu)["dead_fraction"] == pytest.approx(1 / 3)
    maps = np.zeros((2, 4, 3, 3))
    maps[1, 2, 0, 0] = 1.0  # channel 2 fires once: of 4 channels, 3 are dead
    assert layer_statistics("ReLU", maps)["dead_fraction"] == pytest.approx(3 / 4)
    tanh = np.array([[0.999, 0.1], [-0.995, 0.2], [0.5, 0.999]])  # unit 0 saturated 2 of 3
    statistics = layer_statistics("Tanh", tanh)
    assert statistics["saturated_fraction"] == pytest.approx(1 / 2)
    assert statistics["dead_fraction"] is None
    assert statistics["mean"] == pytest.approx(tanh.mean())
    assert layer_statistics("Linear", tanh)["saturated_fraction"] is None


def test_the_floors_of_the_loss() -> None:
    assert smoothed_cross_entropy_floor(10, 0.0) == 0.0
    target = np.full(10, 0.01)
    target[3] = 0.91
    assert smoothed_cross_entropy_floor(10, 0.1) == pytest.approx(-(target * np.log(target)).sum())
    probabilities = np.eye(10)[0]  # a one-hot "probability" row, softmaxed again by the loss
    again = np.exp(probabilities) / np.exp(probabilities).sum()
    assert double_softmax_floor(10) == pytest.approx(-math.log(again[0]))


def test_the_recipe_raises_no_finding(fashion: tuple[np.ndarray, np.ndarray]) -> None:
    """The default MLP recipe (dropout, AdamW, cosine, label smoothing) on a subset."""
    config = RunConfig(epochs=1)
    images, labels = fashion
    model, _ = build_model(config, (784,), 10, *input_statistics(config, images))
    optimizer = build_optimizer(config, model)
    scheduler = build_scheduler(config, optimizer, SUBSET // config.batch_size)
    assert scheduler is not None
    from layerwise.train import LRSchedulerStep

    health = TrainingHealth(10, every=2)
    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(label_smoothing=0.1),
                      [LRSchedulerStep(scheduler, "batch"), health], verbose=False,
                      rng=np.random.default_rng(0))
    trainer.fit(images, labels, epochs=1, batch_size=config.batch_size)
    report = health.report()
    assert [sample["step"] for sample in report["samples"]] == [1, 2, 4, 6, 8, 10]
    assert report["initial_loss"] == pytest.approx(math.log(10), abs=0.15)
    assert report["findings"] == []
    first = report["samples"][0]
    assert set(first["layers"]) == {str(index) for index in range(len(model))}
    assert first["layers"]["2"]["kind"] == "ReLU"
    assert 0 < first["parameters"]["1.weight"]["update_ratio"] < HIGH_UPDATE_RATIO


def test_a_learning_rate_100x_too_high(fashion: tuple[np.ndarray, np.ndarray]) -> None:
    report = health_of(mlp(fashion), fashion, lr=0.1)
    assert "lr_too_high" in kinds(report)
    # At lr 0.1 the second ReLU layer dies too (measured); nothing else is raised.
    assert kinds(report) <= {"lr_too_high", "dead_relu"}
    message = next(f["message"] for f in report["findings"] if f["kind"] == "lr_too_high")
    assert message.startswith("1 (Linear), 1.weight: updates are")
    assert "the learning rate is likely too high" in message
    assert [finding.to_dict() for finding in findings(report)] == report["findings"]
    assert kinds(health_of(mlp(fashion), fashion, lr=1e-3)) == set()


def test_a_learning_rate_far_too_low(fashion: tuple[np.ndarray, np.ndarray]) -> None:
    assert kinds(health_of(mlp(fashion), fashion, lr=1e-6)) == {"lr_too_low"}


def test_a_large_negative_bias_kills_relus(fashion: tuple[np.ndarray, np.ndarray]) -> None:
    model = mlp(fashion)
    first = model[1]
    assert isinstance(first, nn.Linear) and first.bias is not None
    first.bias.data[:] = -10.0
    report = health_of(model, fashion)
    assert kinds(report) == {"dead_relu"}
    dead = {f["layer"]: f["message"] for f in report["findings"]}
    assert dead["2"].startswith("2 (ReLU): 100% of the units output 0")
    assert report["samples"][0]["layers"]["2"]["dead_fraction"] == 1.0
    assert {f["layer"]: f["severity"] for f in report["findings"]}["2"] == "warning"


def test_a_third_of_a_layer_dead_is_a_note_not_a_warning(
        fashion: tuple[np.ndarray, np.ndarray]) -> None:
    model = mlp(fashion)
    first = model[1]
    assert isinstance(first, nn.Linear) and first.bias is not None
    first.bias.data[:len(first.bias.data) // 3] = -10.0  # a third of the units, the rest alive
    report = health_of(model, fashion)
    assert kinds(report) == {"dead_relu"}
    (finding,) = report["findings"]
    assert finding["severity"] == "info" and finding["layer"] == "2"
    assert 0.25 <= report["samples"][-1]["layers"]["2"]["dead_fraction"] < 0.5


@pytest.mark.parametrize("activation", [nn.Sigmoid, nn.Tanh])
def test_a_big_init_saturates_sigmoid_and_tanh(fashion: tuple[np.ndarray, np.ndarray],
                                               activation: type[nn.Module]) -> None:
    model = mlp(fashion, activation)
    for layer in list(model)[:-1]:
        if isinstance(layer, nn.Linear):
            layer.weight.data *= 30
    report = health_of(model, fashion)
    assert kinds(report) == {"saturated"}
    assert {f["layer"] for f in report["findings"]} == {"2", "4"}
    plain = health_of(mlp(fashion, activation), fashion)
    assert plain["samples"][-1]["layers"]["2"]["saturated_fraction"] < 0.25


def test_softmax_before_cross_entropy(fashion: tuple[np.ndarray, np.ndarray]) -> None:
    """The initial loss cannot show it: uniform-ish probabilities softmaxed again still give
    a loss near ln C. The outputs do: rows >= 0 summing to 1."""
    report = health_of(mlp(fashion, softmax=True), fashion)
    assert report["initial_loss"] == pytest.approx(math.log(10), abs=0.01)
    assert kinds(report) == {"softmax_before_loss"}
    assert "cannot go below ln(e + C - 1) - 1 = 1.46" in report["findings"][0]["message"]


def test_a_confident_wrong_init_raises_the_initial_loss(
        fashion: tuple[np.ndarray, np.ndarray]) -> None:
    model = mlp(fashion)
    last = model[5]
    assert isinstance(last, nn.Linear)
    last.weight.data *= 30
    report = health_of(model, fashion)
    assert report["initial_loss"] > 1.5 * math.log(10)
    assert "initial_loss_high" in kinds(report)


def test_vanishing_gradients_in_a_deep_sigmoid_net() -> None:
    rng = np.random.default_rng(0)
    layers: list[nn.Module] = []
    for fan_in in (20, *[64] * 7):
        layers += [nn.Linear(fan_in, 64, rng=rng), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(64, 3, rng=rng))
    x = rng.standard_normal((256, 20)).astype(np.float32)
    y = rng.integers(0, 3, 256)
    health = TrainingHealth(3, every=2)
    Trainer(model, optim.SGD(model.parameters(), lr=0.1), callbacks=[health],
            verbose=False).fit(x, y, epochs=1, batch_size=32)
    assert kinds(health.report()) == {"vanishing_gradients"}


def test_health_changes_nothing_in_training(fashion: tuple[np.ndarray, np.ndarray]) -> None:
    """Bit for bit: the weights and every generator end the same with health on and off (the
    recipe's model, whose dropout draws numbers)."""
    images, labels = fashion
    config = RunConfig()
    ends = []
    for callbacks in ([], [TrainingHealth(10, every=3)]):
        model, dropout_rng = build_model(config, (784,), 10, *input_statistics(config, images))
        trainer = Trainer(model, build_optimizer(config, model), callbacks=callbacks,
                          verbose=False, rng=np.random.default_rng(1))
        trainer.fit(images[:640], labels[:640], epochs=2, batch_size=64)
        ends.append((model.state_dict(), dropout_rng.bit_generator.state,
                     trainer.rng.bit_generator.state, trainer.history.records))
    (weights_off, dropout_off, shuffle_off, history_off), (weights_on, dropout_on, shuffle_on,
                                                           history_on) = ends
    assert weights_on.keys() == weights_off.keys()
    for name in weights_on:
        assert np.array_equal(weights_on[name], weights_off[name]), name
    assert dropout_on == dropout_off and shuffle_on == shuffle_off
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in history_on] == [
        {k: v for k, v in r.items() if k != "seconds"} for r in history_off]


SPIRALS = ["--dataset", "spirals", "--hidden", "16", "--samples", "300", "--batch-size", "32",
           "--quiet"]


CONSTANT = ["--schedule", "constant"]


def test_resume_continues_health_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two epochs and a resume to three record what three epochs in one go record (at a
    constant rate: a schedule is re-planned when a run goes on past its planned end)."""
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    assert main(["train", *SPIRALS, *CONSTANT, "--epochs", "3", "--out", str(whole)]) == 0
    assert main(["train", *SPIRALS, *CONSTANT, "--epochs", "2", "--out", str(resumed)]) == 0
    two = json.loads((resumed / "health.json").read_text())
    assert main(["train", "--resume", str(resumed), "--epochs", "3", "--quiet"]) == 0
    three = json.loads((resumed / "health.json").read_text())
    expected = json.loads((whole / "health.json").read_text())
    assert three["samples"][:len(two["samples"])] == two["samples"]
    assert len(three["samples"]) > len(two["samples"])
    assert [s["step"] for s in three["samples"]] == [s["step"] for s in expected["samples"]]
    assert three["initial_loss"] == expected["initial_loss"]
    for ours, theirs in zip(three["samples"], expected["samples"], strict=True):
        for name, values in theirs["parameters"].items():
            assert ours["parameters"][name] == pytest.approx(values, rel=1e-6)
    assert {"gradient_flow.png", "activations.png"} <= {p.name for p in resumed.iterdir()}


def test_diagnose_prints_findings_and_refuses_non_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(["train", *SPIRALS, "--epochs", "1", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-2:] == ["health: no findings", f"report: {run / 'report.html'}"]
    assert main(["diagnose", str(run)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"no findings in {run} (")
    assert "initial loss" in out and "ln 2 = 0.693" in out
    report = read_json(run / "health.json")
    report["samples"][-1]["parameters"]["1.weight"]["update_ratio"] = 2.5
    write_json(run / "health.json", report)
    assert main(["diagnose", str(run)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"1 finding in {run}")
    assert "1 (Linear), 1.weight: updates are 2.50 of the weights" in out

    assert main(["diagnose", str(tmp_path)]) == 2
    assert "is not a layerwise run folder (no config.json)" in capsys.readouterr().err
    old = tmp_path / "old"
    assert main(["train", *SPIRALS, "--epochs", "1", "--out", str(old), "--no-health"]) == 0
    assert "health" not in capsys.readouterr().out
    assert not (old / "health.json").exists() and not (old / "gradient_flow.png").exists()
    assert main(["diagnose", str(old)]) == 2
    assert f"{old} has no health.json" in capsys.readouterr().err


def test_overfit_batch_verdict_both_ways(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "--overfit-batch", "--dataset", "spirals"]) == 0
    out = capsys.readouterr().out
    assert "floor is 0.1985" in out and "passed: the loss got to" in out
    assert main(["diagnose", "--overfit-batch", "--dataset", "spirals", "--lr", "1e-9"]) == 1
    assert "FAILED: the loss ended at" in capsys.readouterr().out


def test_overfit_batch_in_python(fashion: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = fashion[0][:32], fashion[1][:32]
    loss = nn.CrossEntropyLoss(label_smoothing=0.1)
    model = mlp(fashion)
    result = overfit_batch(model, optim.Adam(model.parameters(), lr=1e-3), images, labels, loss,
                           10, 0.1, steps=150)
    assert result.passed and result.floor == pytest.approx(0.5003, abs=1e-4)
    frozen = mlp(fashion)
    result = overfit_batch(frozen, optim.SGD(frozen.parameters(), lr=0.0), images, labels, loss,
                           10, 0.1, steps=20)
    assert not result.passed and result.losses[0] == result.losses[-1]


def test_a_diverged_run_keeps_its_health_records(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(["train", *SPIRALS, "--epochs", "1", "--lr", "1e30", "--schedule", "constant",
                 "--out", str(run)]) == 2
    assert "may be too high" in capsys.readouterr().err
    assert main(["diagnose", str(run)]) == 0
    assert "the learning rate is likely too high" in capsys.readouterr().out
