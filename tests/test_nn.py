"""Modules and layers: registration, state, display, and equality with torch.nn in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import layerwise as lw
import layerwise.functional as F
from layerwise import nn


class TwoLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(4, 5, dtype=np.float64)
        self.out = nn.Linear(5, 3, dtype=np.float64)

    def forward(self, x: lw.Tensor) -> lw.Tensor:
        return self.out(F.relu(self.hidden(x)))


def test_parameters_register_in_assignment_order_with_dotted_names() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), TwoLayer())
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.hidden.weight", "2.hidden.bias", "2.out.weight",
                     "2.out.bias"]
    assert [p.shape for p in model.parameters()][:2] == [(4, 3), (4,)]
    assert [type(m).__name__ for m in model.children()] == ["Linear", "ReLU", "TwoLayer"]
    assert len(list(model.modules())) == 6


def test_a_shared_parameter_appears_once() -> None:
    first = nn.Linear(3, 3)
    model = nn.Sequential(first, nn.ReLU(), first)
    assert len(list(model.parameters())) == 2


def test_reassigning_or_deleting_an_attribute_updates_the_registry() -> None:
    layer = nn.Linear(2, 2)
    layer.bias = None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    model = TwoLayer()
    del model.out
    assert [name for name, _ in model.named_parameters()] == ["hidden.weight", "hidden.bias"]


def test_forgetting_super_init_is_explained() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) before assigning"):
        Broken()


def test_train_and_eval_reach_every_submodule() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), TwoLayer())
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_dropout_module_acts_only_in_training() -> None:
    dropout = nn.Dropout(0.5, rng=np.random.default_rng(0))
    x = np.ones((8, 8))
    assert (dropout(x).data == 0).any()
    dropout.eval()
    np.testing.assert_array_equal(dropout(x).data, x)


def test_zero_grad_forgets_gradients() -> None:
    model = TwoLayer()
    F.cross_entropy(model(np.ones((2, 4))), np.array([0, 1])).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_holds_copies_and_round_trips() -> None:
    model, other = TwoLayer(), TwoLayer()
    state = model.state_dict()
    state["hidden.weight"][0, 0] = 123.0
    assert model.hidden.weight.data[0, 0] != 123.0
    other.load_state_dict(model.state_dict())
    x = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_array_equal(other(x).data, model(x).data)


def test_load_state_dict_names_missing_unexpected_and_misshapen_keys() -> None:
    model = TwoLayer()
    state = model.state_dict()
    del state["out.bias"]
    state["extra.weight"] = np.zeros(2)
    with pytest.raises(nn.StateDictError, match=r"missing keys: 'out.bias'; unexpected keys: "
                                       r"'extra.weight'"):
        model.load_state_dict(state)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["out.bias"] and result.unexpected_keys == ["extra.weight"]

    state = model.state_dict()
    state["hidden.weight"] = np.zeros((5, 3))
    before = model.hidden.bias.data.copy()
    state["hidden.bias"] = np.full(5, 7.0)
    with pytest.raises(ValueError, match=r"'hidden.weight' has shape \(5, 3\) in the state but "
                                         r"\(5, 4\) in the model"):
        model.load_state_dict(state)
    np.testing.assert_array_equal(model.hidden.bias.data, before)  # nothing half-loaded


def test_repr_shows_the_tree() -> None:
    model = nn.Sequential(nn.Linear(784, 10), nn.LeakyReLU(0.2), nn.Dropout(0.1))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=10, bias=True)\n"
        "  (1): LeakyReLU(negative_slope=0.2)\n"
        "  (2): Dropout(p=0.1)\n"
        ")")


def test_summary_lists_layers_shapes_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    table = model.summary((32, 1, 28, 28))
    assert table in capsys.readouterr().out
    assert "1 (Linear)" in table and "(32, 256)" in table and "200,960" in table
    assert "Total parameters: 203,530" in table
    assert "forward" not in vars(model[1])  # the recording wrappers are gone


def test_linear_says_which_width_it_expected() -> None:
    with pytest.raises(ValueError, match=r"Linear\(784 -> 10\) expected input \(N, 784\), got "
                                         r"\(32, 783\)"):
        nn.Linear(784, 10)(np.zeros((32, 783)))


def test_linear_explains_integer_input() -> None:
    with pytest.raises(TypeError, match=r"expected floating-point input, got uint8"):
        nn.Linear(4, 2)(np.zeros((1, 4), dtype=np.uint8))


def test_linear_converts_float64_data_to_its_dtype() -> None:
    layer = nn.Linear(4, 2)
    out = layer(np.ones((3, 4)))
    assert out.dtype == np.float32


def test_linear_refuses_a_mismatched_input_that_needs_grad() -> None:
    x = lw.tensor(np.ones((3, 4)), requires_grad=True)
    with pytest.raises(TypeError, match=r"float32 weights but got float64 input"):
        nn.Linear(4, 2)(x)


def test_linear_initialisation_follows_pytorch_bounds() -> None:
    layer = nn.Linear(400, 300, rng=np.random.default_rng(0))
    bound = 1 / np.sqrt(400)
    for values in (layer.weight.data, layer.bias.data):
        assert np.abs(values).max() <= bound
    assert abs(layer.weight.data.std() - bound / np.sqrt(3)) < 0.01 * bound
    same = nn.Linear(400, 300, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(same.weight.data, layer.weight.data)


def test_sequential_indexing() -> None:
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    model = nn.Sequential(*layers[:2]).append(layers[2])
    assert len(model) == 3 and model[0] is layers[0] and model[-1] is layers[2]
    assert list(model) == layers
    assert isinstance(model[1:], nn.Sequential) and list(model[1:]) == layers[1:]
    with pytest.raises(IndexError, match="index 3 is out of range for 3 modules"):
        model[3]
    with pytest.raises(TypeError, match="Sequential holds Modules, got function"):
        model.append(F.relu)  # type: ignore[arg-type]


MODULE_PAIRS = [
    (nn.ReLU(), torch.nn.ReLU()), (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)),
    (nn.ELU(0.7), torch.nn.ELU(0.7)), (nn.GELU(), torch.nn.GELU()),
    (nn.GELU("tanh"), torch.nn.GELU("tanh")), (nn.Sigmoid(), torch.nn.Sigmoid()),
    (nn.Tanh(), torch.nn.Tanh()), (nn.Softplus(2.0), torch.nn.Softplus(2.0)),
    (nn.Softmax(axis=1), torch.nn.Softmax(dim=1)), (nn.LogSoftmax(), torch.nn.LogSoftmax(-1)),
    (nn.Identity(), torch.nn.Identity()), (nn.Flatten(), torch.nn.Flatten()),
]


def copy_linear(ours: nn.Linear, theirs: torch.nn.Linear) -> None:
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        theirs.bias.copy_(torch.tensor(ours.bias.data))


@pytest.mark.parametrize(("ours", "theirs"), MODULE_PAIRS, ids=lambda m: repr(m)[:24])
def test_module_equals_torch_module_in_float64(ours: nn.Module, theirs: torch.nn.Module) -> None:
    rng = np.random.default_rng(0)
    layer = nn.Linear(6, 5, dtype=np.float64, rng=rng)
    torch_layer = torch.nn.Linear(6, 5, dtype=torch.float64)
    copy_linear(layer, torch_layer)
    x = rng.standard_normal((4, 2, 6))
    x_ours, x_theirs = lw.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(layer(x_ours)), theirs(torch_layer(x_theirs))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-9, atol=1e-12)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, torch_layer.weight.grad.numpy(), rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, torch_layer.bias.grad.numpy(), rtol=1e-9,
                               atol=1e-12)


LOSS_PAIRS = [
    (nn.MSELoss(), torch.nn.MSELoss(), "regression"),
    (nn.MSELoss("sum"), torch.nn.MSELoss(reduction="sum"), "regression"),
    (nn.CrossEntropyLoss(label_smoothing=0.1), torch.nn.CrossEntropyLoss(label_smoothing=0.1),
     "labels"),
    (nn.CrossEntropyLoss(ignore_index=1), torch.nn.CrossEntropyLoss(ignore_index=1), "labels"),
    (nn.BCELoss(), torch.nn.BCELoss(), "probabilities"),
    (nn.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss(), "binary"),
]


@pytest.mark.parametrize(("ours", "theirs", "kind"), LOSS_PAIRS, ids=lambda m: repr(m)[:40])
def test_loss_module_equals_torch_in_float64(ours: nn.Module, theirs: torch.nn.Module,
                                             kind: str) -> None:
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((6, 3))
    targets = {
        "regression": rng.standard_normal((6, 3)), "labels": np.array([0, 1, 2, 1, 1, 0]),
        "probabilities": rng.random((6, 3)), "binary": (rng.random((6, 3)) > 0.5) * 1.0,
    }[kind]
    if kind == "probabilities":
        scores = 1 / (1 + np.exp(-scores))
    x_ours, x_theirs = lw.tensor(scores, requires_grad=True), torch.tensor(scores,
                                                                           requires_grad=True)
    loss, expected = ours(x_ours, targets), theirs(x_theirs, torch.tensor(targets))
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    loss.backward()
    expected.backward()
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=1e-9, atol=1e-15)


def test_mlp_module_gradcheck_end_to_end() -> None:
    model = TwoLayer()
    x, labels = np.random.default_rng(2).standard_normal((3, 4)), np.array([2, 0, 1])
    params = list(model.parameters())

    def loss_of(x: lw.Tensor, *weights: lw.Tensor) -> lw.Tensor:
        for parameter, value in zip(params, weights, strict=True):
            parameter.data = value.data
        hidden = F.relu(F.linear(x, weights[0], weights[1]))
        return F.cross_entropy(F.linear(hidden, weights[2], weights[3]), labels)

    assert lw.gradcheck(loss_of, [x, *(p.data.copy() for p in params)])


def test_lecture_three_nested_linear_layers_with_l2_loss() -> None:
    """f(x) = W3 W2 W1 x, L = 1/2 ||f(x) - y||^2 (the lecture's example). Backprop gives
    dL/dW3 = delta (W2 W1 x)^T, dL/dW2 = W3^T delta (W1 x)^T, dL/dW1 = W2^T W3^T delta x^T,
    delta = f(x) - y."""
    rng = np.random.default_rng(3)
    model = nn.Sequential(nn.Linear(4, 5, bias=False, dtype=np.float64),
                          nn.Linear(5, 3, bias=False, dtype=np.float64),
                          nn.Linear(3, 2, bias=False, dtype=np.float64))
    x, y = rng.standard_normal((4, 1)), rng.standard_normal((2, 1))
    loss = 0.5 * F.mse_loss(model(x.T), y.T, reduction="sum")
    loss.backward()

    W1, W2, W3 = (layer.weight.data for layer in model)
    delta = W3 @ W2 @ W1 @ x - y
    np.testing.assert_allclose(model[2].weight.grad, delta @ (W2 @ W1 @ x).T, rtol=1e-12)
    np.testing.assert_allclose(model[1].weight.grad, W3.T @ delta @ (W1 @ x).T, rtol=1e-12)
    np.testing.assert_allclose(model[0].weight.grad, W2.T @ W3.T @ delta @ x.T, rtol=1e-12)


def test_a_reassigned_buffer_stays_in_the_state() -> None:
    layer = nn.Standardize(np.zeros(3), np.ones(3))
    layer.mean = np.full(3, 2.0, dtype=np.float32)
    assert list(layer.state_dict()) == ["mean", "std"]
    np.testing.assert_array_equal(layer.state_dict()["mean"], [2.0, 2.0, 2.0])


def test_standardize_puts_preprocessing_into_the_model() -> None:
    layer = nn.Standardize(np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    out = layer(np.array([[3.0, 2.0]]))
    np.testing.assert_array_equal(out.data, [[1.0, 0.0]])
    assert out.dtype == np.float32
    with pytest.raises(ValueError, match=r"expected inputs ending in \(2,\), got \(1, 3\)"):
        layer(np.zeros((1, 3)))


def test_zero_grad_can_fill_zeros_instead() -> None:
    model = TwoLayer()
    F.cross_entropy(model(np.ones((2, 4))), np.array([0, 1])).backward()
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())


def test_frozen_parameters_may_stay_in_the_optimizer() -> None:
    model = TwoLayer()
    model.hidden.requires_grad_(False)
    before = model.hidden.weight.data.copy()
    optimizer = lw.optim.SGD(model.parameters(), lr=0.1)
    F.cross_entropy(model(np.ones((2, 4))), np.array([0, 1])).backward()
    optimizer.step()
    np.testing.assert_array_equal(model.hidden.weight.data, before)
    assert model.hidden.weight.grad is None and model.out.weight.grad is not None
