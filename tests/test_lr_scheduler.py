"""Learning-rate schedules: the lr (and cycled momentum) sequences equal
torch.optim.lr_scheduler's, a schedule resumes from its state_dict, and bad arguments are named."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from layerwise import optim
from layerwise.nn import Parameter
from layerwise.optim import lr_scheduler

NUM_STEPS = 25
BASE_LRS = [0.1, 0.05]  # one parameter group each

# (optimizer name, scheduler name, scheduler arguments)
SCHEDULES: list[tuple[str, str, dict[str, Any]]] = [
    ("SGD", "StepLR", {"step_size": 4, "gamma": 0.5}),
    ("SGD", "ExponentialLR", {"gamma": 0.9}),
    ("SGD", "CosineAnnealingLR", {"T_max": NUM_STEPS}),
    ("SGD", "CosineAnnealingLR", {"T_max": NUM_STEPS, "eta_min": 0.001}),
    ("SGD", "LinearLR", {"start_factor": 0.1, "total_iters": 10}),
    ("SGD", "LinearLR", {"start_factor": 1.0, "end_factor": 0.25, "total_iters": 10}),
    ("SGD", "OneCycleLR", {"max_lr": [1.0, 0.5], "total_steps": NUM_STEPS}),
    ("SGD", "OneCycleLR", {"max_lr": 1.0, "total_steps": NUM_STEPS, "anneal_strategy": "linear"}),
    ("SGD", "OneCycleLR", {"max_lr": 1.0, "total_steps": NUM_STEPS, "three_phase": True}),
    ("SGD", "OneCycleLR", {"max_lr": 1.0, "total_steps": NUM_STEPS, "three_phase": True,
                           "anneal_strategy": "linear", "pct_start": 0.4}),
    ("SGD", "OneCycleLR", {"max_lr": 1.0, "epochs": 5, "steps_per_epoch": 5,
                           "cycle_momentum": False}),
    ("Adam", "OneCycleLR", {"max_lr": [0.01, 0.02], "total_steps": NUM_STEPS,
                            "base_momentum": 0.8, "max_momentum": 0.9}),
    ("Adam", "OneCycleLR", {"max_lr": 0.01, "total_steps": NUM_STEPS, "three_phase": True,
                            "anneal_strategy": "linear", "div_factor": 10.0,
                            "final_div_factor": 100.0}),
    ("SGD", "OneCycleLR", {"max_lr": [1.0, 0.5], "total_steps": NUM_STEPS,
                           "base_momentum": [0.8, 0.85], "max_momentum": [0.9, 0.95]}),
]


def schedule_id(optimizer_name: str, scheduler_name: str, arguments: dict[str, Any]) -> str:
    listed = ", ".join(f"{key}={value}" for key, value in arguments.items())
    return f"{optimizer_name}-{scheduler_name}({listed})"


each_schedule = pytest.mark.parametrize(
    ("optimizer_name", "scheduler_name", "arguments"),
    [pytest.param(*schedule, id=schedule_id(*schedule)) for schedule in SCHEDULES])


OPTIMIZER_ARGUMENTS: dict[str, dict[str, Any]] = {"SGD": {"momentum": 0.9}, "Adam": {}}


def make_optimizer(optimizer_name: str) -> optim.Optimizer:
    groups = [{"params": [Parameter(np.zeros(1))], "lr": lr} for lr in BASE_LRS]
    return getattr(optim, optimizer_name)(groups, **OPTIMIZER_ARGUMENTS[optimizer_name])


def make_torch_optimizer(optimizer_name: str) -> torch.optim.Optimizer:
    groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in BASE_LRS]
    return getattr(torch.optim, optimizer_name)(groups, **OPTIMIZER_ARGUMENTS[optimizer_name])


def scheduled_values(param_groups: list[dict[str, Any]]) -> list[list[float]]:
    """Each group's lr and the momentum (SGD) or beta1 (Adam) that OneCycleLR cycles."""
    return [[group["lr"], group["betas"][0] if "betas" in group else group["momentum"]]
            for group in param_groups]


@each_schedule
def test_schedule_equals_torch(optimizer_name: str, scheduler_name: str,
                               arguments: dict[str, Any]) -> None:
    optimizer = make_optimizer(optimizer_name)
    torch_optimizer = make_torch_optimizer(optimizer_name)
    scheduler = getattr(lr_scheduler, scheduler_name)(optimizer, **arguments)
    torch_scheduler = getattr(torch.optim.lr_scheduler, scheduler_name)(torch_optimizer,
                                                                        **arguments)
    for step in range(NUM_STEPS + 1):
        if step > 0:
            optimizer.step()
            torch_optimizer.step()
            scheduler.step()
            torch_scheduler.step()
        np.testing.assert_allclose(scheduler.get_last_lr(), torch_scheduler.get_last_lr(),
                                   rtol=1e-12, atol=0, err_msg=f"get_last_lr at step {step}")
        np.testing.assert_allclose(scheduled_values(optimizer.param_groups),
                                   scheduled_values(torch_optimizer.param_groups),
                                   rtol=1e-12, atol=0, err_msg=f"lr, momentum at step {step}")


@each_schedule
def test_a_schedule_resumes_from_its_state_dict(optimizer_name: str, scheduler_name: str,
                                                arguments: dict[str, Any]) -> None:
    optimizer = make_optimizer(optimizer_name)
    scheduler = getattr(lr_scheduler, scheduler_name)(optimizer, **arguments)
    for _ in range(10):
        optimizer.step()
        scheduler.step()
    saved_optimizer, saved_scheduler = optimizer.state_dict(), scheduler.state_dict()
    expected = []
    for _ in range(NUM_STEPS - 10):
        optimizer.step()
        scheduler.step()
        expected.append((scheduler.get_last_lr(), scheduled_values(optimizer.param_groups)))

    resumed_optimizer = make_optimizer(optimizer_name)
    resumed_scheduler = getattr(lr_scheduler, scheduler_name)(resumed_optimizer, **arguments)
    resumed_optimizer.load_state_dict(saved_optimizer)
    resumed_scheduler.load_state_dict(saved_scheduler)
    resumed = []
    for _ in range(NUM_STEPS - 10):
        resumed_optimizer.step()
        resumed_scheduler.step()
        resumed.append((resumed_scheduler.get_last_lr(),
                        scheduled_values(resumed_optimizer.param_groups)))
    assert resumed == expected


BAD_ARGUMENTS: list[tuple[str, dict[str, Any], str]] = [
    ("StepLR", {"step_size": 0}, "step_size"),
    ("StepLR", {"step_size": 2, "gamma": -0.1}, "gamma"),
    ("ExponentialLR", {"gamma": -0.5}, "gamma"),
    ("CosineAnnealingLR", {"T_max": 0}, "T_max"),
    ("CosineAnnealingLR", {"T_max": 10, "eta_min": -1.0}, "eta_min"),
    ("LinearLR", {"start_factor": 0.0}, "start_factor"),
    ("LinearLR", {"end_factor": 1.5}, "end_factor"),
    ("LinearLR", {"total_iters": 0}, "total_iters"),
    ("OneCycleLR", {"max_lr": 0.1}, "total_steps"),
    ("OneCycleLR", {"max_lr": 0.1, "total_steps": 0}, "total_steps"),
    ("OneCycleLR", {"max_lr": 0.1, "epochs": -2, "steps_per_epoch": -5}, "epochs"),
    ("OneCycleLR", {"max_lr": 0.1, "total_steps": 10, "pct_start": 1.5}, "pct_start"),
    ("OneCycleLR", {"max_lr": 0.1, "total_steps": 10, "anneal_strategy": "cosine"},
     "anneal_strategy"),
    ("OneCycleLR", {"max_lr": [0.1], "total_steps": 10}, "max_lr"),
]


@pytest.mark.parametrize(("scheduler_name", "arguments", "argument"), [
    pytest.param(scheduler_name, arguments, argument,
                 id=schedule_id("SGD", scheduler_name, arguments))
    for scheduler_name, arguments, argument in BAD_ARGUMENTS])
def test_bad_arguments_are_named(scheduler_name: str, arguments: dict[str, Any],
                                 argument: str) -> None:
    with pytest.raises(ValueError, match=rf"^{scheduler_name}: .*\b{argument}\b"):
        getattr(lr_scheduler, scheduler_name)(make_optimizer("SGD"), **arguments)


@pytest.mark.parametrize(("scheduler_name", "arguments"), [
    ("StepLR", {"step_size": np.int64(4)}),
    ("CosineAnnealingLR", {"T_max": np.int64(NUM_STEPS)}),
    ("LinearLR", {"total_iters": np.int64(10)}),
], ids=["StepLR", "CosineAnnealingLR", "LinearLR"])
def test_numpy_integers_count_steps_like_python_integers(scheduler_name: str,
                                                         arguments: dict[str, Any]) -> None:
    python_arguments = {key: int(value) for key, value in arguments.items()}
    numpy_scheduler = getattr(lr_scheduler, scheduler_name)(make_optimizer("SGD"), **arguments)
    python_scheduler = getattr(lr_scheduler, scheduler_name)(make_optimizer("SGD"),
                                                             **python_arguments)
    for _ in range(NUM_STEPS):
        numpy_scheduler.step()
        python_scheduler.step()
        assert numpy_scheduler.get_last_lr() == python_scheduler.get_last_lr()


def test_one_cycle_refuses_to_step_past_total_steps() -> None:
    scheduler = lr_scheduler.OneCycleLR(make_optimizer("SGD"), max_lr=0.1, total_steps=5)
    for _ in range(5):  # the last of these reaches step total_steps, allowed as in PyTorch
        scheduler.step()
    with pytest.raises(ValueError, match=r"^OneCycleLR: stepped 6 times, but total_steps is 5"):
        scheduler.step()


def test_one_cycle_needs_a_momentum_to_cycle() -> None:
    optimizer = optim.Adagrad([Parameter(np.zeros(1))])
    with pytest.raises(ValueError, match=r"^OneCycleLR: cycle_momentum needs an optimizer"):
        lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=10)
    lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=10, cycle_momentum=False)


def test_a_scheduler_needs_an_optimizer() -> None:
    with pytest.raises(TypeError, match=r"StepLR needs an Optimizer, got list"):
        lr_scheduler.StepLR([Parameter(np.zeros(1))], step_size=2)  # type: ignore[arg-type]
