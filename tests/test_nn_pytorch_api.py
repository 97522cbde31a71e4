"""nn and data with PyTorch's API: containers, the new layers and losses as modules, Module's
hooks and helpers, nn.utils, and the Dataset form of DataLoader, each against PyTorch."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise import nn
from layerwise.data import (
    ConcatDataset,
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)

RNG = np.random.default_rng(0)


def copy_weights(ours: nn.Module, theirs: torch.nn.Module) -> None:
    """Give the layerwise module the PyTorch module's parameters (same names)."""
    ours.load_state_dict({name: value.detach().numpy() for name, value in
                          theirs.state_dict().items()})


@pytest.mark.parametrize(("ours", "theirs", "input"), [
    pytest.param(lambda: nn.LayerNorm(4, dtype=np.float64), lambda: torch.nn.LayerNorm(4),
                 RNG.standard_normal((2, 3, 4)), id="layer-norm"),
    pytest.param(lambda: nn.LayerNorm((3, 4), eps=1e-3, dtype=np.float64),
                 lambda: torch.nn.LayerNorm((3, 4), eps=1e-3), RNG.standard_normal((2, 3, 4)),
                 id="layer-norm-2-dims"),
    pytest.param(lambda: nn.LayerNorm(4, elementwise_affine=False, dtype=np.float64),
                 lambda: torch.nn.LayerNorm(4, elementwise_affine=False),
                 RNG.standard_normal((5, 4)), id="layer-norm-no-affine"),
    pytest.param(lambda: nn.Flatten(), lambda: torch.nn.Flatten(), RNG.standard_normal((2, 3, 4)),
                 id="flatten"),
    pytest.param(lambda: nn.Flatten(0, 1), lambda: torch.nn.Flatten(0, 1),
                 RNG.standard_normal((2, 3, 4)), id="flatten-0-1"),
    pytest.param(lambda: nn.Unflatten(1, (2, 6)), lambda: torch.nn.Unflatten(1, (2, 6)),
                 RNG.standard_normal((2, 12)), id="unflatten"),
    pytest.param(lambda: nn.Identity(54, unused=1), lambda: torch.nn.Identity(54, unused=1),
                 RNG.standard_normal((2, 3)), id="identity"),
    pytest.param(lambda: nn.Softmax(dim=0), lambda: torch.nn.Softmax(dim=0),
                 RNG.standard_normal((2, 3)), id="softmax-dim"),
    pytest.param(lambda: nn.Sequential(OrderedDict([("fc", nn.Linear(3, 2, dtype=np.float64)),
                                                    ("act", nn.ReLU(inplace=True))])),
                 lambda: torch.nn.Sequential(OrderedDict([("fc", torch.nn.Linear(3, 2)),
                                                          ("act", torch.nn.ReLU(inplace=True))])),
                 RNG.standard_normal((4, 3)), id="sequential-ordered-dict"),
])
def test_layers_match_pytorch(ours: Any, theirs: Any, input: np.ndarray) -> None:
    torch.manual_seed(0)
    mine, reference = ours(), theirs().double()
    copy_weights(mine, reference)
    assert list(mine.state_dict()) == list(reference.state_dict())
    x, xt = lw.tensor(input, requires_grad=True), torch.tensor(input, requires_grad=True)
    out, expected = mine(x), reference(xt)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = RNG.standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, parameter), (_, reference_parameter) in zip(
            mine.named_parameters(), reference.named_parameters(), strict=True):
        np.testing.assert_allclose(parameter.grad, reference_parameter.grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)


def test_embedding_module() -> None:
    layer = nn.Embedding(6, 3, padding_idx=1, rng=np.random.default_rng(0))
    assert layer.weight.shape == (6, 3) and not layer.weight.data[1].any()
    out = layer(lw.tensor([[0, 1], [5, 1]]))
    assert out.shape == (2, 2, 3)
    out.sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.data[1], np.zeros(3))
    np.testing.assert_array_equal(layer.weight.grad.data[5], np.ones(3))
    with pytest.raises(TypeError, match="embedding: expected integer indices"):
        layer(lw.tensor([0.0, 1.0]))
    with pytest.raises(IndexError, match="embedding: index 6 at"):
        layer(lw.tensor([6]))


@pytest.mark.parametrize(("ours", "theirs", "target"), [
    (lambda: nn.NLLLoss(), lambda: torch.nn.NLLLoss(), "labels"),
    (lambda: nn.NLLLoss(weight=np.array([1.0, 2.0, 0.5]), reduction="sum"),
     lambda: torch.nn.NLLLoss(weight=torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64),
                              reduction="sum"), "labels"),
    (lambda: nn.L1Loss(), lambda: torch.nn.L1Loss(), "values"),
    (lambda: nn.SmoothL1Loss(beta=0.3), lambda: torch.nn.SmoothL1Loss(beta=0.3), "values"),
    (lambda: nn.HuberLoss(reduction="none", delta=0.4),
     lambda: torch.nn.HuberLoss(reduction="none", delta=0.4), "values"),
    (lambda: nn.KLDivLoss(reduction="batchmean"),
     lambda: torch.nn.KLDivLoss(reduction="batchmean"), "probabilities"),
])
def test_loss_modules_match_pytorch(ours: Any, theirs: Any, target: str) -> None:
    logits = RNG.standard_normal((4, 3))
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    y = {"labels": np.array([0, 2, 1, 2]), "values": RNG.standard_normal((4, 3)),
         "probabilities": np.exp(log_probs[::-1].copy())}[target]
    x = log_probs if target != "values" else logits
    out = ours()(lw.tensor(x), lw.tensor(y))
    expected = theirs()(torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(out.data, expected.numpy(), rtol=1e-12)


def test_module_list_and_dict_register_what_they_hold() -> None:
    layers = nn.ModuleList([nn.Linear(2, 3), nn.ReLU()])
    layers.append(nn.Linear(3, 1))
    layers.insert(1, nn.Identity())
    assert len(layers) == 4 and isinstance(layers[1], nn.Identity)
    assert isinstance(layers[-1], nn.Linear) and isinstance(layers[1:], nn.ModuleList)
    assert list(layers.state_dict()) == ["0.weight", "0.bias", "3.weight", "3.bias"]
    del layers[1]
    assert [type(layer).__name__ for layer in layers] == ["Linear", "ReLU", "Linear"]
    layers += [nn.Tanh()]
    assert len(layers) == 4
    with pytest.raises(IndexError, match="ModuleList index 7 is out of range for 4 modules"):
        layers[7]
    with pytest.raises(TypeError, match="ModuleList holds Modules, got int"):
        layers.append(3)  # type: ignore[arg-type]
    heads = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.Linear(2, 1)})
    heads["c"] = nn.Linear(1, 1)
    assert list(heads) == ["a", "b", "c"] and "b" in heads and len(heads) == 3
    assert list(heads.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias", "c.weight",
                                        "c.bias"]
    assert isinstance(heads.pop("c"), nn.Linear) and list(heads.keys()) == ["a", "b"]
    with pytest.raises(KeyError, match="ModuleDict has no module 'z'"):
        heads["z"]

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])

        def forward(self, x: Any) -> Any:
            for block in self.blocks:
                x = block(x).relu()
            return x

    net = Net()
    assert len(list(net.parameters())) == 6
    net(lw.ones(1, 2)).sum().backward()
    assert all(parameter.grad is not None for parameter in net.parameters())


def test_apply_children_and_modules() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    visited: list[str] = []
    assert model.apply(lambda module: visited.append(type(module).__name__)) is model
    assert visited == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]
    assert [name for name, _ in model.named_modules()] == ["", "0", "1", "1.0", "1.1"]
    assert len(list(model.children())) == 2 and len(list(model.modules())) == 5
    assert model.get_submodule("1.1") is model[1][1]

    def zero_biases(module: nn.Module) -> None:
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    before = model[0].bias._version
    model.apply(zero_biases)
    assert not model[0].bias.data.any() and model[0].bias._version == before + 1


def test_forward_hooks_and_their_handles() -> None:
    layer = nn.Linear(2, 2)
    seen: list[tuple[int, ...]] = []
    handle = layer.register_forward_hook(lambda module, inputs, output: seen.append(
        output.shape))
    pre = layer.register_forward_pre_hook(lambda module, inputs: (inputs[0] * 0,))
    out = layer(lw.ones(3, 2))
    assert seen == [(3, 2)]
    np.testing.assert_allclose(out.data, np.broadcast_to(layer.bias.data, (3, 2)))
    handle.remove()
    pre.remove()
    layer(lw.ones(1, 2))
    assert seen == [(3, 2)]
    replacing = layer.register_forward_hook(lambda module, inputs, output: output * 2)
    np.testing.assert_allclose(layer(lw.ones(1, 2)).data, 2 * (layer.weight.data.sum(1)
                                                               + layer.bias.data)[None])
    replacing.remove()


def test_buffers_parameters_and_dtype_conversion() -> None:
    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("scale", lw.tensor([2.0, 3.0]))
            self.register_buffer("cache", np.zeros(2), persistent=False)
            self.register_parameter("weight", nn.Parameter(np.ones(2, dtype=np.float32)))

        def forward(self, x: Any) -> Any:
            return x * self.weight * self.scale

    module = Scaled()
    assert list(module.state_dict()) == ["weight", "scale"]
    assert [name for name, _ in module.named_buffers()] == ["scale", "cache"]
    module.load_state_dict({"weight": np.full(2, 5.0), "scale": np.array([1.0, 1.0])})
    np.testing.assert_array_equal(module(lw.ones(2)).data, [5.0, 5.0])
    assert module.double() is module and module.weight.dtype == np.float64
    assert module.scale.dtype == np.float64 and module.to("cpu") is module
    with pytest.raises(ValueError, match="to: device 'cuda' is not available"):
        module.to("cuda")
    with pytest.raises(TypeError, match="register_buffer: 'bad' must be an ndarray, a Tensor or "
                                        "None, got list"):
        module.register_buffer("bad", [1.0])


def test_zero_grad_and_requires_grad_() -> None:
    model = nn.Linear(2, 2)
    model(lw.ones(1, 2)).sum().backward()
    model.zero_grad(set_to_none=False)
    assert all(not p.grad.data.any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())


def test_clip_grad_norm_and_value_match_pytorch() -> None:
    grads = [RNG.standard_normal((3, 2)), RNG.standard_normal(4)]
    for norm_type in (2.0, 1.0, float("inf")):
        ours = [nn.Parameter(np.zeros_like(g)) for g in grads]
        theirs = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
        for mine, reference, grad in zip(ours, theirs, grads, strict=True):
            mine.grad, reference.grad = grad.copy(), torch.tensor(grad)
        total = nn.utils.clip_grad_norm_(ours, max_norm=0.5, norm_type=norm_type)
        expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm=0.5, norm_type=norm_type)
        np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-12)
        for mine, reference in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(mine.grad, reference.grad.numpy(), rtol=1e-12)
    ours = [nn.Parameter(np.zeros(4))]
    ours[0].grad = np.array([-2.0, -0.1, 0.3, 5.0])
    nn.utils.clip_grad_value_(ours, 0.25)
    np.testing.assert_array_equal(ours[0].grad, [-0.25, -0.1, 0.25, 0.25])
    infinite = [nn.Parameter(np.zeros(2))]
    infinite[0].grad = np.array([np.inf, 0.0])
    with pytest.raises(RuntimeError, match=r"clip_grad_norm_: the total norm of order 2\.0 "
                                           r"of the gradients is inf"):
        nn.utils.clip_grad_norm_(infinite, 1.0, error_if_nonfinite=True)


def test_parameters_to_vector_and_back() -> None:
    model = nn.Linear(3, 2, dtype=np.float64)
    vector = nn.utils.parameters_to_vector(model.parameters())
    assert vector.shape == (8,)
    np.testing.assert_array_equal(vector.data[:6], model.weight.data.reshape(-1))
    nn.utils.vector_to_parameters(lw.arange(8.0), model.parameters())
    np.testing.assert_array_equal(model.bias.data, [6.0, 7.0])
    with pytest.raises(ValueError, match="vector_to_parameters: expected a vector of 8 values"):
        nn.utils.vector_to_parameters(lw.ones(3), model.parameters())


# --- data -------------------------------------------------------------------------------------


class Squares(Dataset):
    """A map-style dataset as a PyTorch user writes one."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[Any, int]:
        return lw.tensor([float(index), float(index) ** 2]), index % 2


def test_a_dataset_object_is_batched_as_pytorch_does() -> None:
    loader = DataLoader(Squares(7), batch_size=3)
    assert len(loader) == 3 and len(loader.dataset) == 7
    batches = list(loader)
    x, y = batches[0]
    np.testing.assert_array_equal(x.data, [[0, 0], [1, 1], [2, 4]])
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 0]
    assert batches[-1][0].shape == (1, 2)
    assert len(list(DataLoader(Squares(7), batch_size=3, drop_last=True))) == 2
    assert len(DataLoader(Squares(5))) == 5  # batch_size 1 by default, as in PyTorch
    assert DataLoader(Squares(5), 2).batch_size == 2  # positional, as in PyTorch
    shuffled = [y.item() for _, y in DataLoader(Squares(6), shuffle=True,
                                                generator=np.random.default_rng(0))]
    assert sorted(shuffled) == [0, 0, 0, 1, 1, 1]
    pairs = DataLoader(Squares(4), batch_size=4, collate_fn=lambda samples: len(samples))
    assert list(pairs) == [4]


def test_tensor_dataset_and_the_loader_give_the_same_batches_as_collating() -> None:
    images, labels = RNG.standard_normal((10, 1, 2, 2)), RNG.integers(0, 3, 10)
    dataset = TensorDataset(lw.tensor(images), lw.tensor(labels))
    assert len(dataset) == 10
    x0, y0 = dataset[0]
    np.testing.assert_array_equal(x0.data, images[0])
    assert y0.item() == labels[0]
    order = np.random.default_rng(5).permutation(10)[:4]
    fast = next(iter(DataLoader(dataset, batch_size=4, shuffle=True,
                                rng=np.random.default_rng(5))))
    collated = default_collate([dataset[int(index)] for index in order])
    for gathered, stacked in zip(fast, collated, strict=True):
        np.testing.assert_array_equal(gathered.data, stacked.data)
    with pytest.raises(ValueError, match="TensorDataset: every tensor needs the same first "
                                         "dimension"):
        TensorDataset(lw.ones(3, 2), lw.ones(4))


def test_subsets_splits_and_concatenation() -> None:
    first, second = random_split(Squares(10), [0.7, 0.3], generator=np.random.default_rng(0))
    assert (len(first), len(second)) == (7, 3)
    assert sorted(first.indices + second.indices) == list(range(10))
    parts = random_split(Squares(5), [0.5, 0.5])
    assert sorted(len(part) for part in parts) == [2, 3]
    with pytest.raises(ValueError, match="random_split: lengths \\[3, 3\\] must add up to"):
        random_split(Squares(5), [3, 3])
    chained = Squares(3) + Squares(2)
    assert isinstance(chained, ConcatDataset) and len(chained) == 5
    assert chained[3][1] == 0 and chained[-1][1] == 1
    assert Subset(Squares(5), [4, 0])[0][1] == 0
    with pytest.raises(IndexError, match="ConcatDataset index 5 is out of range"):
        chained[5]


def test_collating_numbers_dicts_and_strings() -> None:
    batch = default_collate([{"x": 1.5, "name": "a", "flag": True},
                             {"x": 2.5, "name": "b", "flag": False}])
    assert batch["x"].dtype == np.float64 and batch["name"] == ["a", "b"]
    assert batch["flag"].dtype == np.bool_
    reference = torch.utils.data.default_collate([1.5, 2.5])
    assert str(reference.dtype) == "torch.float64"
    with pytest.raises(TypeError, match="default_collate: cannot batch samples of type object"):
        default_collate([object()])


def test_bad_loader_arguments() -> None:
    with pytest.raises(TypeError, match="DataLoader: expected arrays or a dataset"):
        DataLoader(5)
    with pytest.raises(TypeError, match="DataLoader: a dataset yields its own targets"):
        DataLoader(Squares(3), np.zeros(3))


def test_the_package_reaches_its_subpackages() -> None:
    assert lw.data.DataLoader is DataLoader and lw.nn.Linear is nn.Linear
    assert lw.optim.SGD is not None and lw.train.Trainer is not None
