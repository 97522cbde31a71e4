"""Optimizers: trajectories equal torch.optim's in float64, parameter groups, resuming from a
state_dict, and hyperparameter checks that name the culprit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest
import torch

import layerwise.functional as F
from layerwise import nn, optim
from layerwise.nn import Parameter

SHAPES = [(3, 4), (4,), (2, 2, 3)]
NUM_STEPS = 30

# (optimizer name, hyperparameters): every option of every optimizer; {} checks the defaults.
CONFIGURATIONS: list[tuple[str, dict[str, Any]]] = [
    ("SGD", {}),
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.05}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True, "momentum": 0.5,
                 "weight_decay": 0.1}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5}),
]
OPTIMIZER_NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


@pytest.fixture(autouse=True, scope="module")
def single_threaded_torch() -> Iterator[None]:
    """On tensors this small, torch's thread pool only adds waiting on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def configuration_id(name: str, hyperparameters: dict[str, Any]) -> str:
    return f"{name}({', '.join(f'{key}={value}' for key, value in hyperparameters.items())})"


each_configuration = pytest.mark.parametrize(
    ("name", "hyperparameters"),
    [pytest.param(name, hyperparameters, id=configuration_id(name, hyperparameters))
     for name, hyperparameters in CONFIGURATIONS])


def assert_same_parameters(params: Sequence[Parameter], torch_params: Sequence[torch.Tensor],
                           step: int) -> None:
    """Equal up to rounding: the worst relative difference seen over these tests is 4e-12."""
    for position, (param, torch_param) in enumerate(zip(params, torch_params, strict=True)):
        np.testing.assert_allclose(param.data, torch_param.detach().numpy(), rtol=1e-10, atol=0,
                                   err_msg=f"parameter {position} after step {step}")


@each_configuration
def test_trajectory_equals_torch_for_the_same_gradients(name: str,
                                                        hyperparameters: dict[str, Any]) -> None:
    rng = np.random.default_rng(0)
    initial_values = [rng.standard_normal(shape) for shape in SHAPES]
    params = [Parameter(value.copy()) for value in initial_values]
    torch_params = [torch.tensor(value, requires_grad=True) for value in initial_values]
    optimizer = getattr(optim, name)(params, **hyperparameters)
    torch_optimizer = getattr(torch.optim, name)(torch_params, **hyperparameters)
    for step in range(NUM_STEPS):
        gradients = [rng.standard_normal(shape) for shape in SHAPES]
        for param, torch_param, gradient in zip(params, torch_params, gradients, strict=True):
            param.grad = gradient.copy()
            torch_param.grad = torch.from_numpy(gradient.copy())
        optimizer.step()
        torch_optimizer.step()
        assert_same_parameters(params, torch_params, step)
        for param, gradient in zip(params, gradients, strict=True):
            np.testing.assert_array_equal(param.grad, gradient)  # step reads, never writes, grad

    # The state is torch's too, under torch's names (plain SGD keeps none).
    state = {index: values for index, values in optimizer.state_dict()["state"].items()
             if values}
    torch_state = torch_optimizer.state_dict()["state"]
    assert state.keys() == torch_state.keys()
    for index, torch_values in torch_state.items():
        expected = {key: value for key, value in torch_values.items() if value is not None}
        assert state[index].keys() == expected.keys()
        for key, value in expected.items():
            np.testing.assert_allclose(state[index][key], value.numpy(), rtol=1e-10, atol=1e-300,
                                       err_msg=f"state {key!r} of parameter {index}")


@each_configuration
def test_training_a_small_network_follows_torch(name: str,
                                                hyperparameters: dict[str, Any]) -> None:
    rng = np.random.default_rng(1)
    x, labels = rng.standard_normal((16, 5)), rng.integers(0, 3, size=16)
    model = nn.Sequential(nn.Linear(5, 8, dtype=np.float64, rng=rng), nn.ReLU(),
                          nn.Linear(8, 3, dtype=np.float64, rng=rng))
    torch_model = torch.nn.Sequential(torch.nn.Linear(5, 8, dtype=torch.float64),
                                      torch.nn.ReLU(),
                                      torch.nn.Linear(8, 3, dtype=torch.float64))
    params, torch_params = list(model.parameters()), list(torch_model.parameters())
    with torch.no_grad():
        for param, torch_param in zip(params, torch_params, strict=True):
            torch_param.copy_(torch.from_numpy(param.data))
    optimizer = getattr(optim, name)(params, **hyperparameters)
    torch_optimizer = getattr(torch.optim, name)(torch_params, **hyperparameters)
    torch_x, torch_labels = torch.from_numpy(x), torch.from_numpy(labels)
    for step in range(NUM_STEPS):
        optimizer.zero_grad()
        F.cross_entropy(model(x), labels).backward()
        optimizer.step()
        torch_optimizer.zero_grad()
        torch.nn.functional.cross_entropy(torch_model(torch_x), torch_labels).backward()
        torch_optimizer.step()
        assert_same_parameters(params, torch_params, step)


def test_each_parameter_group_uses_its_own_hyperparameters() -> None:
    fast, slow = Parameter(np.ones(3)), Parameter(np.ones(2))
    optimizer = optim.SGD([{"params": [fast]}, {"params": [slow], "lr": 0.01}], lr=0.1)
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 0.01]
    fast.grad, slow.grad = np.full(3, 2.0), np.full(2, 2.0)
    optimizer.step()
    np.testing.assert_allclose(fast.data, 1 - 0.1 * 2.0, rtol=1e-15)
    np.testing.assert_allclose(slow.data, 1 - 0.01 * 2.0, rtol=1e-15)


@each_configuration
def test_a_parameter_without_gradient_is_skipped(name: str,
                                                 hyperparameters: dict[str, Any]) -> None:
    used, unused = Parameter(np.ones(3)), Parameter(np.ones(2))
    optimizer = getattr(optim, name)([used, unused], **hyperparameters)
    for _ in range(3):
        used.grad = np.ones(3)
        optimizer.step()
    assert not np.array_equal(used.data, np.ones(3))
    np.testing.assert_array_equal(unused.data, np.ones(2))
    assert 1 not in optimizer.state_dict()["state"]


def test_a_gradient_of_the_wrong_shape_is_named() -> None:
    param = Parameter(np.ones((2, 3)))
    optimizer = optim.SGD([param], lr=0.1)
    param.grad = np.ones(3)
    with pytest.raises(ValueError, match=r"SGD: a gradient of shape \(3,\) for a parameter of "
                                         r"shape \(2, 3\)"):
        optimizer.step()


def test_zero_grad_sets_every_gradient_to_none() -> None:
    first, second = Parameter(np.ones(3)), Parameter(np.ones(2))
    optimizer = optim.Adam([{"params": [first]}, {"params": [second], "lr": 0.1}])
    first.grad, second.grad = np.ones(3), np.ones(2)
    optimizer.zero_grad()
    assert first.grad is None and second.grad is None


def run(optimizer: optim.Optimizer, params: Sequence[Parameter],
        gradients: Sequence[Sequence[np.ndarray]]) -> None:
    for step_gradients in gradients:
        for param, gradient in zip(params, step_gradients, strict=True):
            param.grad = gradient.copy()
        optimizer.step()


@each_configuration
def test_resuming_from_a_state_dict_continues_bitwise(name: str,
                                                      hyperparameters: dict[str, Any]) -> None:
    rng = np.random.default_rng(2)
    params = [Parameter(rng.standard_normal(shape)) for shape in SHAPES]
    gradients = [[rng.standard_normal(shape) for shape in SHAPES] for _ in range(10)]
    optimizer = getattr(optim, name)(params, **hyperparameters)
    run(optimizer, params, gradients[:5])
    saved_state, saved_values = optimizer.state_dict(), [param.data.copy() for param in params]
    run(optimizer, params, gradients[5:])

    # A fresh optimizer with default hyperparameters: load_state_dict restores them too.
    resumed_params = [Parameter(value) for value in saved_values]
    resumed = getattr(optim, name)(resumed_params)
    resumed.load_state_dict(saved_state)
    run(resumed, resumed_params, gradients[5:])
    for param, resumed_param in zip(params, resumed_params, strict=True):
        assert np.array_equal(param.data, resumed_param.data)


def test_state_dict_and_load_state_dict_copy_the_state() -> None:
    param = Parameter(np.ones(3))
    optimizer = optim.Adam([param], lr=0.1)
    param.grad = np.ones(3)
    optimizer.step()  # exp_avg = (1 - beta1) g = 0.1
    saved = optimizer.state_dict()
    saved["state"][0]["exp_avg"] += 100.0
    saved["state"][0]["step"] = 50
    saved["param_groups"][0]["lr"] = 99.0
    state = optimizer.state_dict()
    np.testing.assert_allclose(state["state"][0]["exp_avg"], np.full(3, 0.1), rtol=1e-15)
    assert state["state"][0]["step"] == 1 and optimizer.param_groups[0]["lr"] == 0.1

    other = optim.Adam([Parameter(np.ones(3))])
    other.load_state_dict(saved)
    saved["state"][0]["exp_avg"][:] = 0.0
    np.testing.assert_allclose(other.state_dict()["state"][0]["exp_avg"], np.full(3, 100.1),
                               rtol=1e-15)


def trained_adam(group_shapes: Sequence[Sequence[tuple[int, ...]]], lr: float) -> optim.Adam:
    """An Adam with one parameter group per list of shapes, after one step."""
    groups = [{"params": [Parameter(np.ones(shape)) for shape in shapes]}
              for shapes in group_shapes]
    optimizer = optim.Adam(groups, lr=lr)
    for group in groups:
        for param in group["params"]:
            param.grad = np.ones(param.shape)
    optimizer.step()
    return optimizer


@pytest.mark.parametrize(("saved_shapes", "own_shapes", "message"), [
    pytest.param([[(3,)], [(3,)]], [[(3,)]], r"the state has 2 parameter groups, the optimizer 1",
                 id="groups"),
    pytest.param([[(3,), (3,)]], [[(3,)]],
                 r"group 0 has 2 parameters in the state, 1 in the optimizer", id="parameters"),
    pytest.param([[(4,)]], [[(3,)]],
                 r"state 'exp_avg' of parameter 0 has shape \(4,\), the parameter \(3,\)",
                 id="shape"),
])
def test_load_state_dict_names_what_does_not_fit(
        saved_shapes: list[list[tuple[int, ...]]], own_shapes: list[list[tuple[int, ...]]],
        message: str) -> None:
    optimizer = trained_adam(own_shapes, lr=0.1)
    before = optimizer.state_dict()
    with pytest.raises(ValueError, match=message):
        optimizer.load_state_dict(trained_adam(saved_shapes, lr=0.5).state_dict())
    after = optimizer.state_dict()  # nothing half-loaded
    assert after["param_groups"] == before["param_groups"]
    np.testing.assert_array_equal(after["state"][0]["exp_avg"], before["state"][0]["exp_avg"])


BAD_HYPERPARAMETERS: list[tuple[str, dict[str, Any], str]] = [
    ("SGD", {"lr": -1.0}, r"\blr must be"),
    ("SGD", {"momentum": -0.1}, r"\bmomentum must be"),
    ("SGD", {"dampening": -0.1}, r"\bdampening must be"),
    ("SGD", {"weight_decay": -0.1}, r"\bweight_decay must be"),
    ("SGD", {"nesterov": True}, r"\bnesterov needs momentum > 0"),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1},
     r"\bnesterov needs .*dampening = 0"),
    ("Adam", {"lr": "0.1"}, r"\blr must be a number"),
    ("Adam", {"lr": float("nan")}, r"\blr must be"),
    ("Adam", {"betas": (1.0, 0.999)}, r"\bbetas\[0\] must be"),
    ("Adam", {"betas": (0.9, 1.5)}, r"\bbetas\[1\] must be"),
    ("Adam", {"betas": (float("nan"), 0.999)}, r"\bbetas\[0\] must be"),
    ("Adam", {"betas": (0.9,)}, r"\bbetas must be a pair"),
    ("Adam", {"eps": -1.0}, r"\beps must be"),
    ("AdamW", {"weight_decay": -0.1}, r"\bweight_decay must be"),
    ("RMSprop", {"alpha": 1.5}, r"\balpha must be"),
    ("RMSprop", {"momentum": -0.5}, r"\bmomentum must be"),
    ("Adagrad", {"lr_decay": -1.0}, r"\blr_decay must be"),
    ("Adagrad", {"initial_accumulator_value": -1.0},
     r"\binitial_accumulator_value must be"),
]


@pytest.mark.parametrize(("name", "hyperparameters", "message"), [
    pytest.param(name, hyperparameters, message, id=configuration_id(name, hyperparameters))
    for name, hyperparameters, message in BAD_HYPERPARAMETERS])
def test_bad_hyperparameters_are_named(name: str, hyperparameters: dict[str, Any],
                                       message: str) -> None:
    with pytest.raises(ValueError, match=rf"^{name}: .*{message}"):
        getattr(optim, name)([Parameter(np.ones(2))], **hyperparameters)


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_an_empty_parameter_list_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match=rf"{name} got an empty parameter list"):
        getattr(optim, name)([])


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_an_unknown_hyperparameter_in_a_group_is_named(name: str) -> None:
    group = {"params": [Parameter(np.ones(2))], "learning_rate": 0.1}
    with pytest.raises(ValueError, match=r"unknown hyperparameters \['learning_rate'\]"):
        getattr(optim, name)([group])


def test_a_bad_hyperparameter_in_a_group_is_named() -> None:
    group = {"params": [Parameter(np.ones(2))], "momentum": -0.5}
    with pytest.raises(ValueError, match=r"SGD: momentum must be >= 0.0, got -0.5"):
        optim.SGD([{"params": [Parameter(np.ones(2))]}, group], lr=0.1)
