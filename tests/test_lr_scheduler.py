"""Learning-rate schedules: the lr (and cycled momentum) sequences equal
torch.optim.lr_scheduler's, a schedule resumes from its state_dict, and bad arguments are named."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import torch

from layerwise import Tensor, nn, optim
from layerwise.nn import Parameter
from layerwise.optim import lr_scheduler
from layerwise.train import LRSchedulerStep, Trainer

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


def assert_steps_like_torch(optimizer: Any, torch_optimizer: Any, scheduler: Any,
                            torch_scheduler: Any, atol: float = 0.0) -> None:
    """Step both pairs NUM_STEPS times: after each step (and before the first) the rates and
    the values the schedule cycles agree with torch's."""
    for step in range(NUM_STEPS + 1):
        if step > 0:
            optimizer.step()
            torch_optimizer.step()
            scheduler.step()
            torch_scheduler.step()
        np.testing.assert_allclose(scheduler.get_last_lr(), torch_scheduler.get_last_lr(),
                                   rtol=1e-12, atol=atol, err_msg=f"get_last_lr at step {step}")
        np.testing.assert_allclose(scheduled_values(optimizer.param_groups),
                                   scheduled_values(torch_optimizer.param_groups),
                                   rtol=1e-12, atol=atol, err_msg=f"lr, momentum at step {step}")


@each_schedule
def test_schedule_equals_torch(optimizer_name: str, scheduler_name: str,
                               arguments: dict[str, Any]) -> None:
    optimizer = make_optimizer(optimizer_name)
    torch_optimizer = make_torch_optimizer(optimizer_name)
    scheduler = getattr(lr_scheduler, scheduler_name)(optimizer, **arguments)
    torch_scheduler = getattr(torch.optim.lr_scheduler, scheduler_name)(torch_optimizer,
                                                                        **arguments)
    assert_steps_like_torch(optimizer, torch_optimizer, scheduler, torch_scheduler)


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


# --- the schedules added for PyTorch breadth -------------------------------------------------

def warm_up(step: int) -> float:
    return min(1.0, (step + 1) / 5)


def halve_every_third(step: int) -> float:
    return 0.5 if step % 3 == 0 else 1.0


def shrink(step: int) -> float:
    return 0.95


# Each builder makes a schedule from a module of schedules (layerwise's or torch's) and an
# optimizer, so that the same code builds both; several cover compound schedules.
Builder = Any
BUILDERS: dict[str, Builder] = {
    "MultiStepLR": lambda lib, opt: lib.MultiStepLR(opt, milestones=[3, 7, 7, 12], gamma=0.5),
    "MultiStepLR-unsorted": lambda lib, opt: lib.MultiStepLR(opt, milestones=[12, 2]),
    "MultiStepLR-set": lambda lib, opt: lib.MultiStepLR(opt, milestones={9, 3}, gamma=0.7),
    "LambdaLR": lambda lib, opt: lib.LambdaLR(opt, lr_lambda=warm_up),
    "LambdaLR-per-group": lambda lib, opt: lib.LambdaLR(opt, [warm_up, halve_every_third]),
    "MultiplicativeLR": lambda lib, opt: lib.MultiplicativeLR(opt, lr_lambda=shrink),
    "MultiplicativeLR-per-group": lambda lib, opt: lib.MultiplicativeLR(
        opt, [shrink, halve_every_third]),
    "ConstantLR": lambda lib, opt: lib.ConstantLR(opt),
    "ConstantLR-half": lambda lib, opt: lib.ConstantLR(opt, factor=0.5, total_iters=8),
    "PolynomialLR": lambda lib, opt: lib.PolynomialLR(opt),
    "PolynomialLR-square": lambda lib, opt: lib.PolynomialLR(opt, total_iters=20, power=2.0),
    "CosineAnnealingWarmRestarts": lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, T_0=4),
    "CosineAnnealingWarmRestarts-mult": lambda lib, opt: lib.CosineAnnealingWarmRestarts(
        opt, T_0=3, T_mult=2, eta_min=0.001),
    "SequentialLR-warmup-cosine": lambda lib, opt: lib.SequentialLR(
        opt, [lib.LinearLR(opt, start_factor=0.1, total_iters=5),
              lib.CosineAnnealingLR(opt, T_max=15, eta_min=0.001)], milestones=[5]),
    "SequentialLR-three": lambda lib, opt: lib.SequentialLR(
        opt, [lib.ConstantLR(opt, factor=0.2, total_iters=10), lib.ExponentialLR(opt, 0.9),
              lib.StepLR(opt, step_size=3)], milestones=[4, 12]),
    "ChainedScheduler": lambda lib, opt: lib.ChainedScheduler(
        [lib.ConstantLR(opt, factor=0.1, total_iters=2), lib.ExponentialLR(opt, gamma=0.9)]),
    "ChainedScheduler-three": lambda lib, opt: lib.ChainedScheduler(
        [lib.LinearLR(opt, start_factor=0.2, total_iters=6), lib.MultiStepLR(opt, [5, 15]),
         lib.CosineAnnealingLR(opt, T_max=NUM_STEPS)], optimizer=opt),
}

each_builder = pytest.mark.parametrize("builder", [pytest.param(builder, id=name)
                                                   for name, builder in BUILDERS.items()])


@each_builder
def test_added_schedule_equals_torch(builder: Builder) -> None:
    optimizer, torch_optimizer = make_optimizer("SGD"), make_torch_optimizer("SGD")
    scheduler = builder(lr_scheduler, optimizer)
    torch_scheduler = builder(torch.optim.lr_scheduler, torch_optimizer)
    assert_steps_like_torch(optimizer, torch_optimizer, scheduler, torch_scheduler, atol=1e-15)


def json_round_trip(state: dict[str, Any]) -> dict[str, Any]:
    """What a checkpoint keeps of a state dict: its JSON text (as run folders store it)."""
    return json.loads(json.dumps(state))


@each_builder
def test_added_schedule_resumes_from_its_state_dict(builder: Builder) -> None:
    optimizer = make_optimizer("SGD")
    scheduler = builder(lr_scheduler, optimizer)
    for _ in range(10):
        optimizer.step()
        scheduler.step()
    saved = json_round_trip(scheduler.state_dict())
    saved_optimizer = optimizer.state_dict()
    expected = []
    for _ in range(NUM_STEPS - 10):
        optimizer.step()
        scheduler.step()
        expected.append(scheduler.get_last_lr())

    resumed_optimizer = make_optimizer("SGD")
    resumed = builder(lr_scheduler, resumed_optimizer)
    resumed_optimizer.load_state_dict(saved_optimizer)
    resumed.load_state_dict(saved)
    actual = []
    for _ in range(NUM_STEPS - 10):
        resumed_optimizer.step()
        resumed.step()
        actual.append(resumed.get_last_lr())
    assert actual == expected


# A metric with improvements, plateaus, tiny (below-threshold) gains and a NaN.
METRICS = [1.0, 0.9, 0.9, 0.9, 0.9, 0.85, 0.8499999, 0.8499998, 0.85, 0.86, 0.7, 0.7, 0.7,
           0.7, 0.7, float("nan"), 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.59, 0.5, 0.5, 0.5, 0.5,
           0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]

PLATEAU_ARGUMENTS: list[dict[str, Any]] = [
    {},
    {"patience": 2},
    {"patience": 1, "factor": 0.5, "cooldown": 2},
    {"patience": 0, "factor": 0.5, "min_lr": [0.01, 0.02]},
    {"patience": 1, "threshold": 0.05, "threshold_mode": "abs", "min_lr": 0.004},
    {"mode": "max", "patience": 2, "factor": 0.3},
    {"mode": "max", "patience": 1, "threshold_mode": "abs", "threshold": 0.01, "cooldown": 1},
    {"patience": 0, "factor": 0.9, "eps": 0.006},
]


@pytest.mark.parametrize("arguments", PLATEAU_ARGUMENTS,
                         ids=[schedule_id("SGD", "ReduceLROnPlateau", each)
                              for each in PLATEAU_ARGUMENTS])
def test_reduce_on_plateau_equals_torch(arguments: dict[str, Any]) -> None:
    optimizer, torch_optimizer = make_optimizer("SGD"), make_torch_optimizer("SGD")
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, **arguments)
    torch_scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_optimizer, **arguments)
    assert scheduler.get_last_lr() == torch_scheduler.get_last_lr()
    for step, metric in enumerate(METRICS):
        scheduler.step(metric)
        torch_scheduler.step(metric)
        assert scheduler.get_last_lr() == torch_scheduler.get_last_lr(), f"step {step}"
        assert ([group["lr"] for group in optimizer.param_groups]
                == [group["lr"] for group in torch_optimizer.param_groups]), f"step {step}"
        assert scheduler.num_bad_epochs == torch_scheduler.num_bad_epochs, f"step {step}"
        assert scheduler.cooldown_counter == torch_scheduler.cooldown_counter, f"step {step}"
    assert len(set(scheduler.get_last_lr() + BASE_LRS)) > len(BASE_LRS), "never reduced"


def test_reduce_on_plateau_resumes_from_its_state_dict() -> None:
    arguments = {"patience": 1, "factor": 0.5, "cooldown": 1}
    optimizer = make_optimizer("SGD")
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, **arguments)
    for metric in METRICS[:12]:
        scheduler.step(metric)
    saved, saved_optimizer = json_round_trip(scheduler.state_dict()), optimizer.state_dict()
    expected = []
    for metric in METRICS[12:]:
        scheduler.step(metric)
        expected.append(scheduler.get_last_lr())
    resumed_optimizer = make_optimizer("SGD")
    resumed = lr_scheduler.ReduceLROnPlateau(resumed_optimizer, **arguments)
    resumed_optimizer.load_state_dict(saved_optimizer)
    resumed.load_state_dict(saved)
    actual = []
    for metric in METRICS[12:]:
        resumed.step(metric)
        actual.append(resumed.get_last_lr())
    assert actual == expected


def test_reduce_on_plateau_takes_a_tensor_metric() -> None:
    scheduler = lr_scheduler.ReduceLROnPlateau(make_optimizer("SGD"), patience=0)
    scheduler.step(Tensor(np.array(1.0)))
    scheduler.step(Tensor(np.array(2.0)))
    assert scheduler.get_last_lr() == [0.1 * 0.1, 0.05 * 0.1]


def other_sgd() -> optim.Optimizer:
    return optim.SGD([Parameter(np.zeros(1))], lr=0.1)


ADDED_BAD_ARGUMENTS: list[tuple[str, Any, type[Exception], str]] = [
    ("MultiStepLR", lambda opt: lr_scheduler.MultiStepLR(opt, milestones=[2, -1]), ValueError,
     r"^MultiStepLR: milestones must be an integer >= 0, got -1"),
    ("MultiStepLR", lambda opt: lr_scheduler.MultiStepLR(opt, milestones=5), ValueError,
     r"^MultiStepLR: milestones must be a list"),
    ("MultiStepLR", lambda opt: lr_scheduler.MultiStepLR(opt, [2], gamma=-1.0), ValueError,
     r"^MultiStepLR: gamma must be >= 0.0"),
    ("LambdaLR", lambda opt: lr_scheduler.LambdaLR(opt, [warm_up]), ValueError,
     r"^LambdaLR: 1 lr_lambda functions for 2 parameter groups"),
    ("LambdaLR", lambda opt: lr_scheduler.LambdaLR(opt, 0.5), TypeError,
     r"^LambdaLR: lr_lambda must be a function of the step or a list of them, got float"),
    ("MultiplicativeLR", lambda opt: lr_scheduler.MultiplicativeLR(opt, [shrink, 0.9]),
     TypeError, r"^MultiplicativeLR: lr_lambda must be a function of the step, got float"),
    ("ConstantLR", lambda opt: lr_scheduler.ConstantLR(opt, factor=1.5), ValueError,
     r"^ConstantLR: factor must be in \[0.0, 1.0\], got 1.5"),
    ("ConstantLR", lambda opt: lr_scheduler.ConstantLR(opt, total_iters=0), ValueError,
     r"^ConstantLR: total_iters must be a positive integer"),
    ("PolynomialLR", lambda opt: lr_scheduler.PolynomialLR(opt, power=-1.0), ValueError,
     r"^PolynomialLR: power must be >= 0.0"),
    ("PolynomialLR", lambda opt: lr_scheduler.PolynomialLR(opt, total_iters=2.5), ValueError,
     r"^PolynomialLR: total_iters must be a positive integer"),
    ("CosineAnnealingWarmRestarts",
     lambda opt: lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=0), ValueError,
     r"^CosineAnnealingWarmRestarts: T_0 must be a positive integer, got 0"),
    ("CosineAnnealingWarmRestarts",
     lambda opt: lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=1.5), ValueError,
     r"^CosineAnnealingWarmRestarts: T_mult must be a positive integer, got 1.5"),
    ("CosineAnnealingWarmRestarts",
     lambda opt: lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, eta_min=-0.1), ValueError,
     r"^CosineAnnealingWarmRestarts: eta_min must be >= 0.0"),
    ("SequentialLR", lambda opt: lr_scheduler.SequentialLR(opt, [], milestones=[]), ValueError,
     r"^SequentialLR: schedulers must be a non-empty list of schedules, got \[\]"),
    ("SequentialLR", lambda opt: lr_scheduler.SequentialLR(
        opt, [lr_scheduler.ConstantLR(opt), lr_scheduler.ExponentialLR(opt, 0.9)],
        milestones=[2, 4]), ValueError,
     r"^SequentialLR: milestones must be a list of 1 step\(s\), one fewer than the schedulers"),
    ("SequentialLR", lambda opt: lr_scheduler.SequentialLR(
        opt, [lr_scheduler.ConstantLR(opt), lr_scheduler.ExponentialLR(opt, 0.9),
              lr_scheduler.StepLR(opt, 2)], milestones=[4, 4]), ValueError,
     r"^SequentialLR: milestones must increase, got \[4, 4\]"),
    ("SequentialLR", lambda opt: lr_scheduler.SequentialLR(
        opt, [lr_scheduler.ConstantLR(opt), lr_scheduler.ConstantLR(other_sgd())],
        milestones=[2]), ValueError,
     r"^SequentialLR: schedulers\[1\] \(ConstantLR\) drives another optimizer"),
    ("SequentialLR", lambda opt: lr_scheduler.SequentialLR(
        opt, [lr_scheduler.ConstantLR(opt), "cosine"], milestones=[2]), TypeError,
     r"^SequentialLR: schedulers\[1\] must be a learning-rate schedule, got str"),
    ("ChainedScheduler", lambda opt: lr_scheduler.ChainedScheduler(
        [lr_scheduler.ReduceLROnPlateau(opt)]), ValueError,
     r"^ChainedScheduler: schedulers\[0\] is a ReduceLROnPlateau, whose step needs a metric"),
    ("ChainedScheduler", lambda opt: lr_scheduler.ChainedScheduler(
        [lr_scheduler.ExponentialLR(opt, 0.9), lr_scheduler.CosineAnnealingLR(opt, 5, 0.01)]),
     ValueError, r"^ChainedScheduler: schedulers\[1\] \(CosineAnnealingLR\) does not scale"),
    ("ChainedScheduler", lambda opt: lr_scheduler.ChainedScheduler([]), ValueError,
     r"^ChainedScheduler: schedulers must be a non-empty list of schedules, got \[\]"),
    ("ReduceLROnPlateau", lambda opt: lr_scheduler.ReduceLROnPlateau(opt, mode="minimum"),
     ValueError, r"^ReduceLROnPlateau: mode must be 'min' or 'max', got 'minimum'"),
    ("ReduceLROnPlateau", lambda opt: lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="x"),
     ValueError, r"^ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got 'x'"),
    ("ReduceLROnPlateau", lambda opt: lr_scheduler.ReduceLROnPlateau(opt, factor=1.0),
     ValueError, r"^ReduceLROnPlateau: factor must be in \[0.0, 1.0\), got 1.0"),
    ("ReduceLROnPlateau", lambda opt: lr_scheduler.ReduceLROnPlateau(opt, patience=-1),
     ValueError, r"^ReduceLROnPlateau: patience must be an integer >= 0, got -1"),
    ("ReduceLROnPlateau", lambda opt: lr_scheduler.ReduceLROnPlateau(opt, cooldown=0.5),
     ValueError, r"^ReduceLROnPlateau: cooldown must be an integer >= 0, got 0.5"),
    ("ReduceLROnPlateau", lambda opt: lr_scheduler.ReduceLROnPlateau(opt, threshold=-1e-4),
     ValueError, r"^ReduceLROnPlateau: threshold must be >= 0.0"),
    ("ReduceLROnPlateau", lambda opt: lr_scheduler.ReduceLROnPlateau(opt, eps=float("nan")),
     ValueError, r"^ReduceLROnPlateau: eps must be >= 0.0, got nan"),
    ("ReduceLROnPlateau", lambda opt: lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.0]),
     ValueError, r"^ReduceLROnPlateau: 1 min_lr values for 2 parameter groups"),
    ("ReduceLROnPlateau", lambda opt: lr_scheduler.ReduceLROnPlateau(opt, min_lr=-0.1),
     ValueError, r"^ReduceLROnPlateau: min_lr must be >= 0.0"),
    ("ReduceLROnPlateau", lambda opt: lr_scheduler.ReduceLROnPlateau(opt).step("low"),
     TypeError, r"^ReduceLROnPlateau: step needs the monitored metric, a number, got str"),
    ("ReduceLROnPlateau", lambda opt: lr_scheduler.ReduceLROnPlateau([opt]),
     TypeError, r"^ReduceLROnPlateau needs an Optimizer, got list"),
]


@pytest.mark.parametrize(("make", "error", "message"), [
    pytest.param(make, error, message, id=f"{name}-{index}")
    for index, (name, make, error, message) in enumerate(ADDED_BAD_ARGUMENTS)])
def test_added_schedules_name_bad_arguments(make: Any, error: type[Exception],
                                            message: str) -> None:
    with pytest.raises(error, match=message):
        make(make_optimizer("SGD"))


def test_the_trainer_steps_reduce_on_plateau_with_the_validation_loss() -> None:
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((40, 3)).astype(np.float32)
    labels = rng.integers(0, 2, 40)
    model = nn.Linear(3, 2)
    optimizer = optim.SGD(model.parameters(), lr=5.0)  # large: the loss goes up and down
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
    trainer = Trainer(model, optimizer, callbacks=[LRSchedulerStep(scheduler)], verbose=False)
    history = trainer.fit(inputs, labels, epochs=6, validation_split=0.25)
    losses = [record["val_loss"] for record in history.records]
    replay = lr_scheduler.ReduceLROnPlateau(optim.SGD([Parameter(np.zeros(1))], lr=5.0),
                                            patience=0, factor=0.5)
    used = []  # the rate each epoch trained with, as the history records it
    for loss in losses:
        used.append(replay.get_last_lr()[0])
        replay.step(loss)
    assert [record["lr"] for record in history.records] == used
    assert scheduler.get_last_lr() == replay.get_last_lr()
    assert scheduler.last_epoch == 6 and len(set(used)) > 1, (losses, used)


def test_the_trainer_needs_the_monitored_metric_for_reduce_on_plateau() -> None:
    optimizer = optim.SGD(nn.Linear(3, 2).parameters(), lr=0.1)
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer)
    trainer = Trainer(nn.Linear(3, 2), optimizer, callbacks=[LRSchedulerStep(scheduler)],
                      verbose=False)
    with pytest.raises(KeyError, match="LRSchedulerStep monitors 'val_loss' for "
                                       "ReduceLROnPlateau, but the epoch logs hold"):
        trainer.fit(np.zeros((4, 3), np.float32), np.zeros(4, int), epochs=1)
    with pytest.raises(ValueError, match=r"^LRSchedulerStep: a ReduceLROnPlateau steps once "
                                         r"per epoch, with the epoch's val_loss; interval"):
        LRSchedulerStep(scheduler, "batch")
