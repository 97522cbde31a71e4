"""PyTorch weights both ways through a safetensors file.

The same network is built in both frameworks; its weights (and batch norm's running statistics,
moved by a few training steps) go from one to the other through `safetensors.torch.save_file` /
`layerwise.load`, or `layerwise.save` / `safetensors.torch.load_file`. In float64, the two then
agree on outputs (training and evaluation mode), the gradient of every parameter by name and of
the input, the running statistics after one more training step, and the weights after an SGD
step. Then the dtypes, tied and non-contiguous tensors, and the files and states refused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.torch
import torch

import layerwise as lw
from layerwise import nn

TORCH_CONVERSION = ('convert it in PyTorch with '
                    'safetensors.torch.save_file(model.state_dict(), "model.safetensors")')


def mlp(library: Any) -> Any:
    return library.Sequential(library.Linear(6, 8), library.ReLU(), library.Linear(8, 8),
                              library.Tanh(), library.Linear(8, 3))


def cnn(library: Any) -> Any:
    return library.Sequential(library.Conv2d(2, 4, 3, padding=1), library.BatchNorm2d(4),
                              library.ReLU(), library.MaxPool2d(2), library.Flatten(),
                              library.Linear(4 * 3 * 3, 5))


def sequence_model(library: Any) -> Any:
    """Embedding, LayerNorm, Conv1d, BatchNorm1d and ConvTranspose2d: tokens (N, L) ->
    (N, 2, 2, 2L)."""

    class SequenceModel(library.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.embed = library.Embedding(10, 4)
            self.norm = library.LayerNorm(4)
            self.conv = library.Conv1d(4, 3, 3, padding=1)
            self.bn = library.BatchNorm1d(3)
            self.up = library.ConvTranspose2d(3, 2, 2, stride=2)

        def forward(self, tokens: Any) -> Any:
            features = self.norm(self.embed(tokens)).transpose(1, 2)
            return self.up(self.bn(self.conv(features)).relu().unsqueeze(2))

    return SequenceModel()


rng = np.random.default_rng(0)
MODELS: dict[str, tuple[Callable[[Any], Any], np.ndarray]] = {
    "mlp": (mlp, rng.standard_normal((4, 6))),
    "cnn": (cnn, rng.standard_normal((4, 2, 6, 6))),
    "sequence": (sequence_model, rng.integers(0, 10, size=(3, 5))),
}


def array(value: Any) -> np.ndarray:
    """The NumPy array of a layerwise or PyTorch tensor (or of an array)."""
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return np.asarray(value.data if isinstance(value, lw.Tensor) else value)


def as_input(x: np.ndarray, framework: str, dtype: Any) -> Any:
    """x in `framework` ("torch" or "layerwise"): floats as `dtype`, with a gradient; token
    indices as they are."""
    if x.dtype.kind == "i":
        return torch.tensor(x) if framework == "torch" else lw.tensor(x)
    if framework == "torch":
        return torch.tensor(x, dtype=dtype, requires_grad=True)
    return lw.tensor(x.astype(dtype), requires_grad=True)


def train_torch(model: torch.nn.Module, x: np.ndarray, steps: int = 3) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        model(as_input(x, "torch", torch.float32)).square().mean().backward()
        optimizer.step()


def train_layerwise(model: nn.Module, x: np.ndarray, steps: int = 3) -> None:
    optimizer = lw.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        model(as_input(x, "layerwise", np.float32)).square().mean().backward()
        optimizer.step()


def assert_same_state(ours: nn.Module, theirs: torch.nn.Module, rtol: float = 0.0) -> None:
    """The same names, shapes, dtypes (but for width) and values in both state dicts."""
    mine, reference = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(reference)
    for name, value in reference.items():
        np.testing.assert_allclose(mine[name], array(value), rtol=rtol, atol=0, err_msg=name)
        assert mine[name].dtype.kind == array(value).dtype.kind, name


def assert_same_computation(ours: nn.Module, theirs: torch.nn.Module, x: np.ndarray) -> None:
    """In float64: evaluation and training outputs, every gradient by name and the input's,
    running statistics after the training forward, weights after one SGD step."""
    ours.double()
    theirs.double()
    assert_same_state(ours, theirs)
    upstream: np.ndarray | None = None
    for training in (False, True):
        ours.train(training)
        theirs.train(training)
        ours.zero_grad()
        theirs.zero_grad()
        mine, reference = as_input(x, "layerwise", np.float64), as_input(x, "torch",
                                                                          torch.float64)
        out, expected = ours(mine), theirs(reference)
        np.testing.assert_allclose(array(out), array(expected), rtol=1e-10, atol=1e-12,
                                   err_msg=f"output, training={training}")
        if upstream is None:
            upstream = np.random.default_rng(1).standard_normal(array(out).shape)
        out.backward(upstream)
        expected.backward(torch.tensor(upstream))
        gradients = {name: p.grad for name, p in theirs.named_parameters()}
        assert [name for name, _ in ours.named_parameters()] == list(gradients)
        for name, parameter in ours.named_parameters():
            np.testing.assert_allclose(array(parameter.grad), array(gradients[name]),
                                       rtol=1e-9, atol=1e-12,
                                       err_msg=f"gradient of {name}, training={training}")
        if x.dtype.kind == "f":
            np.testing.assert_allclose(array(mine.grad), array(reference.grad), rtol=1e-9,
                                       atol=1e-12, err_msg=f"gradient of the input, "
                                                           f"training={training}")
    assert_same_state(ours, theirs, rtol=1e-12)  # the running statistics moved alike
    lw.optim.SGD(ours.parameters(), lr=0.1).step()
    torch.optim.SGD(theirs.parameters(), lr=0.1).step()
    assert_same_state(ours, theirs, rtol=1e-10)


def assert_statistics_moved(model: Any) -> None:
    """Batch norm's running statistics are no longer their initial zeros and ones."""
    for name, value in model.state_dict().items():
        if name.endswith("running_mean"):
            assert np.abs(array(value)).max() > 1e-3, name
        if name.endswith("num_batches_tracked"):
            assert int(array(value)) == 3, name


@pytest.mark.parametrize("name", list(MODELS))
def test_pytorch_weights_load_into_layerwise(name: str, tmp_path: Path) -> None:
    build, x = MODELS[name]
    torch.manual_seed(0)
    theirs = build(torch.nn)
    train_torch(theirs, x)
    assert_statistics_moved(theirs)
    path = tmp_path / "from_torch.safetensors"
    safetensors.torch.save_file(theirs.state_dict(), path)

    ours = build(nn).double()  # a float32 file into a float64 model: cast, as PyTorch does
    ours.load_state_dict(lw.load(path))
    assert_same_computation(ours, theirs, x)


@pytest.mark.parametrize("name", list(MODELS))
def test_layerwise_weights_load_into_pytorch(name: str, tmp_path: Path) -> None:
    build, x = MODELS[name]
    lw.manual_seed(0)
    ours = build(nn)
    train_layerwise(ours, x)
    assert_statistics_moved(ours)
    path = tmp_path / "from_layerwise.safetensors"
    lw.save(ours.state_dict(), path)

    theirs = build(torch.nn).double()
    theirs.load_state_dict(safetensors.torch.load_file(path))
    assert_same_computation(ours, theirs, x)


# --- dtypes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_every_pytorch_float_dtype_loads_into_float32_and_float64_models(
        dtype: torch.dtype, tmp_path: Path) -> None:
    torch.manual_seed(0)
    theirs = cnn(torch.nn)
    train_torch(theirs, MODELS["cnn"][1])
    state = {name: value.to(dtype) if value.is_floating_point() else value
             for name, value in theirs.state_dict().items()}
    path = tmp_path / "weights.safetensors"
    safetensors.torch.save_file(state, path)
    for model_dtype, torch_dtype in ((np.float32, torch.float32), (np.float64, torch.float64)):
        ours = cnn(nn).to(model_dtype)
        ours.load_state_dict(lw.load(path))
        for name, value in ours.state_dict().items():
            expected = state[name].to(torch_dtype) if state[name].is_floating_point() \
                else state[name]
            assert value.dtype == array(expected).dtype, name
            np.testing.assert_array_equal(value, array(expected), err_msg=name)


def test_num_batches_tracked_is_int64_both_ways(tmp_path: Path) -> None:
    path = tmp_path / "bn.safetensors"
    safetensors.torch.save_file(torch.nn.BatchNorm1d(3).state_dict(), path)
    assert lw.load(path)["num_batches_tracked"].dtype == np.int64
    lw.save(nn.BatchNorm1d(3).state_dict(), path)
    loaded = safetensors.torch.load_file(path)["num_batches_tracked"]
    assert loaded.dtype == torch.int64 and loaded.shape == ()


def test_every_bfloat16_value_widens_to_the_float32_pytorch_gives(tmp_path: Path) -> None:
    bits = torch.arange(-2**15, 2**15, dtype=torch.int32).to(torch.int16)
    values = bits.view(torch.bfloat16)  # all 65,536: zeros, subnormals, infinities, NaNs
    path = tmp_path / "bfloat16.safetensors"
    matrix = values[:6].reshape(2, 3).clone()
    safetensors.torch.save_file({"values": values, "matrix": matrix}, path)
    loaded = lw.load(path)
    assert loaded["values"].dtype == np.float32 and loaded["matrix"].shape == (2, 3)
    expected = values.float().numpy()
    np.testing.assert_array_equal(loaded["values"].view(np.uint32), expected.view(np.uint32))
    loaded["values"][0] = 1.0  # a writable array of its own


def test_a_float64_layerwise_model_loads_into_a_float32_pytorch_model(tmp_path: Path) -> None:
    ours = mlp(nn).double()
    path = tmp_path / "double.safetensors"
    lw.save(ours.state_dict(), path)
    theirs = mlp(torch.nn)
    theirs.load_state_dict(safetensors.torch.load_file(path))
    for name, value in theirs.state_dict().items():
        assert value.dtype == torch.float32
        np.testing.assert_array_equal(array(value), ours.state_dict()[name].astype(np.float32))


# --- tied and non-contiguous tensors ------------------------------------------------------------


def tied(library: Any) -> Any:
    """Two Linear layers that share one weight (as a language model's embedding and output)."""

    class Tied(library.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.first = library.Linear(3, 3)
            self.second = library.Linear(3, 3)
            self.second.weight = self.first.weight

    return Tied()


def test_tied_weights_go_through_save_model_and_load_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    theirs = tied(torch.nn)
    path = tmp_path / "tied.safetensors"
    with pytest.raises(RuntimeError, match="share memory"):  # save_file refuses a tied state
        safetensors.torch.save_file(theirs.state_dict(), path)
    safetensors.torch.save_model(theirs, path)  # keeps one name of the two
    ours = tied(nn)
    ours.load_state_dict(lw.load(path))
    assert ours.second.weight is ours.first.weight
    np.testing.assert_array_equal(ours.first.weight.data, array(theirs.first.weight))

    lw.save(ours.state_dict(), path)  # layerwise's state names a shared parameter once
    back = tied(torch.nn)
    with pytest.raises(RuntimeError, match=r"second\.weight"):
        back.load_state_dict(safetensors.torch.load_file(path))
    assert safetensors.torch.load_model(back, path) == (set(), [])
    assert back.second.weight is back.first.weight
    np.testing.assert_array_equal(array(back.second.weight), ours.first.weight.data)


def test_non_contiguous_tensors(tmp_path: Path) -> None:
    weight = torch.arange(12.0).reshape(3, 4)
    path = tmp_path / "transposed.safetensors"
    with pytest.raises(ValueError, match="non contiguous"):  # PyTorch wants .contiguous()
        safetensors.torch.save_file({"weight": weight.t()}, path)
    safetensors.torch.save_file({"weight": weight.t().contiguous()}, path)
    np.testing.assert_array_equal(lw.load(path)["weight"], array(weight).T)

    columns = np.arange(12.0).reshape(3, 4)[:, ::2]  # layerwise saves a view as a copy
    lw.save({"weight": columns}, path)
    np.testing.assert_array_equal(array(safetensors.torch.load_file(path)["weight"]), columns)


# --- what is refused ----------------------------------------------------------------------------


class Payload:
    """Unpickling this creates `marker`: proof that a file's code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return Path.touch, (self.marker,)


@pytest.mark.parametrize(("name", "zipped", "description"), [
    ("pytorch_model.bin", True, "it is a zip archive, the format of torch.save (a pickle inside)"),
    ("model.pt", False, "it starts as a pickle does (torch.save, pickle.dump)"),
    ("model.safetensors", True, "it is a zip archive, the format of torch.save (a pickle inside)"),
])
def test_a_torch_save_file_is_refused_unread_with_the_conversion(
        name: str, zipped: bool, description: str, tmp_path: Path) -> None:
    marker = tmp_path / "pickle-ran"
    path = tmp_path / name
    state = {"weight": torch.ones(2), "trap": Payload(marker)}
    torch.save(state, path, _use_new_zipfile_serialization=zipped)
    with pytest.raises(lw.CheckpointError) as caught:
        lw.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not a safetensors checkpoint: ")
    assert f"; {description}, and layerwise never unpickles a file: {TORCH_CONVERSION}" in message
    assert not marker.exists()
    with pytest.raises(lw.CheckpointError, match="never unpickles"):
        lw.load_metadata(path)
    assert not marker.exists()


def test_other_files_get_no_pytorch_hint(tmp_path: Path) -> None:
    path = tmp_path / "random.safetensors"
    path.write_bytes(np.random.default_rng(0).bytes(100))
    with pytest.raises(lw.CheckpointError) as caught:
        lw.load(path)
    assert "torch" not in str(caught.value)


def torch_state(build: Callable[[Any], Any] = mlp) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return dict(build(torch.nn).state_dict())


def refusal(model: nn.Module, state: dict[str, torch.Tensor], tmp_path: Path) -> str:
    """The StateDictError message of loading `state`, saved by PyTorch, into `model`."""
    path = tmp_path / "state.safetensors"
    safetensors.torch.save_file(state, path)
    before = model.state_dict()
    with pytest.raises(nn.StateDictError) as caught:
        model.load_state_dict(lw.load(path))
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])  # nothing half-loaded
    return str(caught.value)


def test_prefixes_of_pytorch_wrappers_are_named_with_the_fix(tmp_path: Path) -> None:
    state = torch_state()
    message = refusal(mlp(nn), {f"module.{name}": value for name, value in state.items()},
                      tmp_path)
    assert message.endswith(
        "; every name in the state has the prefix 'module.' that the model's names do not "
        "('module.' comes from DataParallel and DistributedDataParallel): load "
        "{name.removeprefix('module.'): value for name, value in state.items()}")
    message = refusal(mlp(nn), {f"_orig_mod.{name}": value for name, value in state.items()},
                      tmp_path)
    assert "the prefix '_orig_mod.' that the model's names do not ('_orig_mod.' comes from " \
           "torch.compile)" in message
    compiled_and_wrapped = {f"module._orig_mod.{name}": value for name, value in state.items()}
    message = refusal(mlp(nn), compiled_and_wrapped, tmp_path)
    fix = {name.removeprefix("module._orig_mod."): value
           for name, value in lw.load(tmp_path / "state.safetensors").items()}
    assert "load {name.removeprefix('module._orig_mod.'): value" in message
    mlp(nn).load_state_dict(fix)  # the fix the message gives works


def test_a_model_wrapped_in_one_more_module_is_named(tmp_path: Path) -> None:
    class Wrapper(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = mlp(nn)

    message = refusal(Wrapper(), torch_state(), tmp_path)
    assert message.endswith("; every name in the model has the prefix 'backbone.' that the "
                            "state's names do not: load {'backbone.' + name: value for name, "
                            "value in state.items()}, or load the state into "
                            "model.get_submodule('backbone')")


def test_missing_extra_and_renamed_layers_are_named(tmp_path: Path) -> None:
    state = torch_state()
    without_last = {name: value for name, value in state.items() if not name.startswith("4.")}
    assert refusal(mlp(nn), without_last, tmp_path) == (
        "load_state_dict for Sequential: missing keys: '4.weight', '4.bias'; the state has "
        "nothing for '4' (Linear)")
    extra = {**state, "5.weight": torch.zeros(3, 3)}
    assert refusal(mlp(nn), extra, tmp_path) == (
        "load_state_dict for Sequential: unexpected keys: '5.weight'; the model has no module "
        "'5'")
    one_missing = {name: value for name, value in state.items() if name != "2.bias"}
    assert refusal(mlp(nn), one_missing, tmp_path) == (
        "load_state_dict for Sequential: missing keys: '2.bias'")

    class Named(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4))
            self.classifier = nn.Linear(36, 5)

    theirs = {name.replace("0.", "features.0.").replace("1.", "features.1.")
              .replace("5.", "head."): value for name, value in torch_state(cnn).items()}
    assert refusal(Named(), theirs, tmp_path).endswith(
        "unexpected keys: 'head.bias', 'head.weight'; the state has nothing for 'classifier' "
        "(Linear), and the model has no module 'head'")


def test_wrong_shapes_are_named_and_a_transposed_linear_weight_explained(tmp_path: Path) -> None:
    state = torch_state()
    assert refusal(mlp(nn), {**state, "2.bias": torch.zeros(9)}, tmp_path) == (
        "load_state_dict for Sequential: '2.bias' has shape (9,) in the state but (8,) in the "
        "model")
    transposed = {**state, "0.weight": state["0.weight"].t().contiguous()}
    assert refusal(mlp(nn), transposed, tmp_path) == (
        "load_state_dict for Sequential: '0.weight' has shape (6, 8) in the state but (8, 6) "
        "in the model (its transpose: a Linear's weight is (out_features, in_features) in "
        "layerwise and PyTorch; a matrix saved as (in_features, out_features), as Keras and "
        "JAX store it, loads as its .T)")
    embedding = {"weight": torch.zeros(4, 10)}
    assert refusal(nn.Embedding(10, 4), embedding, tmp_path).endswith(
        "'weight' has shape (4, 10) in the state but (10, 4) in the model (its transpose)")


def test_a_path_given_to_load_state_dict_says_to_load_it_first(tmp_path: Path) -> None:
    path = tmp_path / "weights.safetensors"
    safetensors.torch.save_file(torch_state(), path)
    with pytest.raises(TypeError, match=r"got the path '.*weights.safetensors'; read it first: "
                                        r"model.load_state_dict\(layerwise.load\(path\)\)"):
        mlp(nn).load_state_dict(str(path))  # type: ignore[arg-type]



def test_a_prefix_is_named_even_when_a_layer_is_missing_as_well(tmp_path: Path) -> None:
    state = torch_state()
    partial = {f"module.{name}": value for name, value in state.items()
               if not name.startswith("4.")}
    message = refusal(mlp(nn), partial, tmp_path)
    assert "; every name in the state has the prefix 'module.' that the model's names do not" \
           in message
