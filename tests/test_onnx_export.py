"""lw.onnx.export: each exported file runs in onnxruntime and gives layerwise's outputs
(<= 1e-5 relative in float32) for a batch of another size than the example's."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import layerwise as lw
import layerwise.functional as F
from layerwise import nn
from layerwise.cli import main
from layerwise.data import fashion_mnist, write_idx
from layerwise.models import ACTIVATION_MODULES, build_model, input_statistics
from layerwise.onnx import trace
from layerwise.train.config import RunConfig
from layerwise.train.run import load_trained_model, model_inputs

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

RTOL = 1e-5
# The largest relative difference of any comparison, printed at the end of the module.
LARGEST: dict[str, float] = {}


def relative_difference(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want| / max |want|: the difference relative to the output's scale. (Value by
    value, an output near 0 that is a sum of larger terms differs by float32's rounding of
    those terms, whichever order of summation is right.)"""
    scale = max(float(np.abs(want).max()), np.finfo(np.float32).tiny)
    return float(np.abs(got.astype(np.float64) - want).max() / scale)


def assert_close(got: np.ndarray, want: np.ndarray, case: str) -> None:
    assert got.shape == want.shape, f"{case}: shape {got.shape}, layerwise {want.shape}"
    difference = relative_difference(got, want)
    LARGEST[case] = max(LARGEST.get(case, 0.0), difference)
    assert difference <= RTOL, f"{case}: largest relative difference {difference:.3g} > {RTOL}"


def run_onnx(path: Path, *inputs: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [one.name for one in session.get_inputs()]
    return session.run(None, dict(zip(names, inputs, strict=True)))


def outputs_of(model: nn.Module, *inputs: np.ndarray) -> list[np.ndarray]:
    model.eval()
    with lw.no_grad():
        result = model(*[lw.tensor(x) for x in inputs])
    return [out.data for out in (result if isinstance(result, tuple) else (result,))]


def check_export(model: nn.Module, example: Any, batch: Any, path: Path, case: str,
                 **options: Any) -> Any:
    """Export on `example`, then compare onnxruntime with layerwise on `batch`."""
    proto = lw.onnx.export(model, example, path, **options)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    inputs = batch if isinstance(batch, tuple) else (batch,)
    for got, want in zip(run_onnx(path, *inputs), outputs_of(model, *inputs), strict=True):
        assert_close(got, want, case)
    return proto


def images(n: int, channels: int = 1, size: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, channels, size, size), dtype=np.float32)


# --- the trace ----------------------------------------------------------------------------------


def test_the_trace_sees_numbers_buffers_layers_and_in_place_ops() -> None:
    model = nn.Sequential(nn.Standardize(np.zeros(3), np.full(3, 2.0)), nn.Linear(3, 3),
                          nn.ReLU(inplace=True))
    x = lw.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    traced = trace.run(model, [x])
    assert [(type(step.op).__name__, step.layer) for step in traced.steps] == [
        ("Sub", "0"), ("Div", "0"), ("Linear", "1"), ("ReLU", "2")]
    sub, div, linear, relu = traced.steps
    assert sub.sources == [id(x.data), id(model[0].mean)]
    assert div.sources[1] == id(model[0].std)
    assert linear.sources == [id(div.output), id(model[1].weight.data), id(model[1].bias.data)]
    assert relu.replaces == id(linear.output) and relu.sources[0] == id(linear.output)
    assert traced.outputs[0] is linear.output  # the ReLU wrote into the Linear's output
    np.testing.assert_array_equal(traced.outputs[0], relu.output)
    assert not lw.engine.tracers  # taken off again


def test_a_number_in_the_forward_is_a_constant_input() -> None:
    steps = trace.run(nn.LayerNorm(4), [lw.tensor(np.ones((2, 4)), requires_grad=True)]).steps
    eps = next(step for step in steps if type(step.op).__name__ == "Add")
    assert eps.sources[1] is None and eps.arrays[1] == np.float64(1e-5)


# --- the CLI's models --------------------------------------------------------------------------


def cli_model(model: str, batch_norm: bool = False,
              activation: str = "gelu") -> tuple[nn.Module, tuple[int, ...]]:
    settings: dict[str, Any] = {"model": model, "hidden": [16], "dropout": 0.2, "seed": 3,
                                "activation": activation}
    if model == "cnn":
        settings.update(channels=[4, 8], batch_norm=batch_norm)
    config = RunConfig.from_dict(settings, "test").validate()
    shape = (1, 28, 28) if model == "cnn" else (784,)
    rng = np.random.default_rng(1)
    train = rng.random((20, *shape), dtype=np.float32)
    mean, std = input_statistics(config, train)
    built, _ = build_model(config, shape, 10, mean, std)
    if batch_norm:  # running statistics that are not the initial 0 and 1
        for module in built.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean[...] = rng.normal(size=module.num_features)
                module.running_var[...] = rng.uniform(0.5, 2.0, size=module.num_features)
                module.weight.data[...] = rng.normal(size=module.num_features)
                module.bias.data[...] = rng.normal(size=module.num_features)
    return built, shape


@pytest.mark.parametrize(("kind", "batch_norm"), [("mlp", False), ("cnn", False),
                                                  ("cnn", True)])
def test_the_cli_models_match_onnxruntime(kind: str, batch_norm: bool, tmp_path: Path) -> None:
    model, shape = cli_model(kind, batch_norm)
    rng = np.random.default_rng(2)
    example = rng.random((4, *shape), dtype=np.float32)
    batch = rng.random((7, *shape), dtype=np.float32)
    proto = check_export(model, example, batch, tmp_path / "model.onnx", f"cli-{kind}"
                         f"{'-bn' if batch_norm else ''}")
    assert proto.opset_import[0].version == lw.onnx.OPSET
    initializers = {tensor.name for tensor in proto.graph.initializer}
    assert set(model.state_dict()) - {name for name in model.state_dict()
                                      if name.endswith("num_batches_tracked")} <= initializers


@pytest.mark.parametrize("activation", sorted(ACTIVATION_MODULES))
def test_every_activation_of_the_cli(activation: str, tmp_path: Path) -> None:
    model, shape = cli_model("mlp", activation=activation)
    rng = np.random.default_rng(3)
    check_export(model, rng.random((2, *shape), dtype=np.float32),
                 rng.normal(size=(5, *shape)).astype(np.float32) * 3, tmp_path / "model.onnx",
                 f"cli-mlp-{activation}")


def test_a_model_in_training_mode_is_exported_in_eval_mode_and_left_training(
        tmp_path: Path) -> None:
    model, _ = cli_model("cnn", batch_norm=True)
    model.train()
    before = {name: value.copy() for name, value in model.state_dict().items()}
    example = images(3, size=28)
    lw.onnx.export(model, example, tmp_path / "model.onnx")
    assert all(module.training for module in model.modules())
    for name, value in model.state_dict().items():  # no running statistic moved
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    batch = images(5, size=28, seed=1)
    assert_close(run_onnx(tmp_path / "model.onnx", batch)[0], outputs_of(model, batch)[0],
                 "training-mode")


# --- a composite model ------------------------------------------------------------------------


class Composite(nn.Module):
    """A residual block, a concatenation, several activations and a softmax."""

    def __init__(self) -> None:
        super().__init__()
        rng = np.random.default_rng(4)
        self.conv = nn.Conv2d(2, 4, 3, padding=1, rng=rng)
        self.norm = nn.BatchNorm2d(4)
        self.pool = nn.AvgPool2d(2)
        self.flatten = nn.Flatten()
        self.left = nn.Linear(64, 16, rng=rng)
        self.right = nn.Linear(64, 16, rng=rng)
        self.layer_norm = nn.LayerNorm(32)
        self.out = nn.Linear(32, 5, rng=rng)
        self.activations = nn.ModuleList([nn.ELU(), nn.Tanh(), nn.LeakyReLU(0.1),
                                          nn.Softplus(), nn.Sigmoid()])

    def forward(self, x: Any) -> Any:
        y = self.norm(self.conv(x))
        y = self.pool(F.relu(y + self.conv(x) * 0.5))  # a residual add, a number
        features = self.flatten(y)
        left = self.activations[0](self.left(features))
        right = self.activations[1](self.right(features)) - 1.0
        joined = lw.cat([left, self.activations[2](right)], dim=1)
        joined = self.layer_norm(self.activations[3](joined)) / 2
        hidden = self.out(joined) + self.activations[4](joined).mean(dim=1, keepdim=True)
        return F.softmax(hidden.reshape(hidden.shape[0], -1), dim=1), F.gelu(
            hidden, approximate="tanh").sum(dim=1)


def test_a_composite_model_matches_onnxruntime(tmp_path: Path) -> None:
    model = Composite()
    proto = check_export(model, images(2, 2), images(6, 2, seed=5), tmp_path / "model.onnx",
                         "composite", output_names=["probabilities", "score"])
    assert [out.name for out in proto.graph.output] == ["probabilities", "score"]
    dims = [[dim.dim_param or dim.dim_value for dim in out.type.tensor_type.shape.dim]
            for out in proto.graph.output]
    assert dims == [["batch", 5], ["batch"]]


# --- convolution and pooling variants ---------------------------------------------------------

CONV_CASES: dict[str, Callable[[], nn.Module]] = {
    "conv-stride2": lambda: nn.Conv2d(2, 4, 3, stride=2, rng=np.random.default_rng(0)),
    "conv-padding-pair": lambda: nn.Conv2d(2, 3, (3, 2), padding=(1, 2)),
    "conv-same-odd": lambda: nn.Conv2d(2, 3, 3, padding="same"),
    "conv-same-even": lambda: nn.Conv2d(2, 3, 4, padding="same"),
    "conv-same-dilated": lambda: nn.Conv2d(2, 3, 2, padding="same", dilation=3),
    "conv-valid": lambda: nn.Conv2d(2, 3, 3, padding="valid", bias=False),
    "conv-dilation": lambda: nn.Conv2d(2, 3, 3, dilation=2, padding=1),
    "conv-groups": lambda: nn.Conv2d(4, 6, 3, groups=2, padding=1),
    "conv-depthwise": lambda: nn.Conv2d(4, 4, 3, groups=4),
    "conv1d": lambda: nn.Conv1d(2, 3, 3, stride=2, padding=1, dilation=2),
    "conv1d-same-even": lambda: nn.Conv1d(2, 3, 4, padding="same"),
    "conv-transpose": lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1),
    "conv-transpose-output-padding": lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1,
                                                                output_padding=1),
    "conv-transpose-groups-dilation": lambda: nn.ConvTranspose2d(4, 6, 2, stride=3, groups=2,
                                                                 dilation=2, output_padding=2),
    "max-pool": lambda: nn.MaxPool2d(2),
    "max-pool-stride-padding": lambda: nn.MaxPool2d(3, stride=2, padding=1),
    "max-pool-dilation": lambda: nn.MaxPool2d(2, stride=1, dilation=2),
    "max-pool-ceil": lambda: nn.MaxPool2d(3, stride=2, ceil_mode=True),
    "max-pool-ceil-padding": lambda: nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True),
    "avg-pool": lambda: nn.AvgPool2d(2),
    "avg-pool-padding": lambda: nn.AvgPool2d(3, stride=2, padding=1),
    "avg-pool-no-pad-count": lambda: nn.AvgPool2d(3, stride=2, padding=1,
                                                  count_include_pad=False),
    "avg-pool-ceil": lambda: nn.AvgPool2d(3, stride=2, ceil_mode=True),
    "avg-pool-ceil-padding": lambda: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True),
    "avg-pool-ceil-padding-last": lambda: nn.AvgPool2d(2, stride=2, padding=1, ceil_mode=True),
    "avg-pool-ceil-no-pad-count": lambda: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                                       count_include_pad=False),
    "avg-pool-divisor": lambda: nn.AvgPool2d(2, padding=1, divisor_override=3),
    "adaptive-avg-pool-global": lambda: nn.AdaptiveAvgPool2d(1),
    "adaptive-avg-pool-uneven": lambda: nn.AdaptiveAvgPool2d((3, 2)),
    "batch-norm1d": lambda: nn.BatchNorm1d(2),
    "batch-norm-no-affine": lambda: nn.BatchNorm2d(2, affine=False),
    "dropout2d": lambda: nn.Sequential(nn.Dropout2d(0.5), nn.Conv2d(2, 2, 1)),
}


@pytest.mark.parametrize("case", list(CONV_CASES))
def test_convolution_and_pooling_variants(case: str, tmp_path: Path) -> None:
    lw.manual_seed(0)
    model = CONV_CASES[case]()
    if case.startswith(("conv1d", "batch-norm1d")):
        example = np.random.default_rng(1).random((2, model.in_channels if case.startswith(
            "conv1d") else 2, 11), dtype=np.float32)
        batch = np.random.default_rng(2).random((5, *example.shape[1:]), dtype=np.float32)
    else:
        channels = getattr(model, "in_channels", 4 if "groups" in case or "depthwise" in case
                           else 2)
        example, batch = images(2, channels, 9), images(5, channels, 9, seed=2)
    if isinstance(model, nn.BatchNorm1d | nn.BatchNorm2d) and model.running_mean is not None:
        model.running_mean[...] = [0.3, -0.2]
        model.running_var[...] = [0.5, 2.0]
    check_export(model, example, batch, tmp_path / "model.onnx", case)


def test_the_file_gives_what_pytorch_computes_with_the_same_weights(tmp_path: Path) -> None:
    """PyTorch as the oracle of the subtle options: "same" padding with an even kernel, ceil
    mode at the padding, count_include_pad, output_padding."""
    torch = pytest.importorskip("torch")

    def network(library: Any) -> Any:
        return library.Sequential(
            library.Conv2d(2, 4, 4, padding="same"), library.BatchNorm2d(4), library.ELU(),
            library.MaxPool2d(2, stride=2, padding=1, ceil_mode=True),
            library.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1),
            library.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
            library.Flatten(), library.Linear(3 * 6 * 6, 6), library.LogSoftmax(dim=1))

    torch.manual_seed(0)
    theirs = network(torch.nn)
    theirs[1].running_mean.uniform_(-1, 1)
    theirs[1].running_var.uniform_(0.5, 2)
    theirs.eval()
    ours = network(nn)
    ours.load_state_dict({name: value.numpy() for name, value in theirs.state_dict().items()})
    lw.onnx.export(ours, images(2, 2, 9), tmp_path / "model.onnx")
    batch = images(5, 2, 9, seed=1)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(batch)).numpy()
    assert_close(run_onnx(tmp_path / "model.onnx", batch)[0], expected, "pytorch-oracle")


# --- layers users compose ---------------------------------------------------------------------


def test_layer_norm_matches(tmp_path: Path) -> None:
    model = nn.LayerNorm((3, 4))
    rng = np.random.default_rng(0)
    model.weight.data[...] = rng.normal(size=(3, 4))
    model.bias.data[...] = rng.normal(size=(3, 4))
    check_export(model, rng.random((2, 3, 4), dtype=np.float32),
                 rng.random((6, 3, 4), dtype=np.float32) * 5, tmp_path / "model.onnx",
                 "layer-norm")


class Tokens(nn.Module):
    """Embedding, then a mean over the sequence, a matmul with a transposed weight."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(10, 6, padding_idx=0, rng=np.random.default_rng(0))
        self.projection = nn.Parameter(np.random.default_rng(1).normal(size=(4, 6)).astype(
            np.float32))

    def forward(self, tokens: Any) -> Any:
        vectors = self.embedding(tokens)  # (N, L, 6)
        pooled = vectors.mean(dim=1) @ self.projection.t()
        return F.log_softmax(pooled, dim=-1), vectors.permute(0, 2, 1)[:, 1:4, ::2]


def test_embedding_takes_int64_tokens(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    example = rng.integers(0, 10, size=(2, 5))
    proto = check_export(Tokens(), example, rng.integers(0, 10, size=(7, 5)),
                         tmp_path / "model.onnx", "embedding")
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64


def test_elementwise_and_shape_ops(tmp_path: Path) -> None:
    class Ops(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(np.array([1.5, -2.0, 0.5], dtype=np.float32))

        def forward(self, a: Any, b: Any) -> Any:
            x = (a - b) * self.scale / (b.abs() + 1) + (-a)
            x = lw.maximum(x, a.exp().sqrt()) - lw.minimum(b, 0.5) ** 2
            stacked = lw.stack([x, a.clamp(-0.5, 0.5)], dim=1)  # (N, 2, 3)
            y = stacked.transpose(1, 2).flatten(1).unsqueeze(-1).squeeze(-1)
            return y.amax(dim=1, keepdim=True) + y.sum() / 3 + y.var(dim=1).unsqueeze(1)

    rng = np.random.default_rng(0)
    example = tuple(rng.normal(size=(2, 3)).astype(np.float32) for _ in range(2))
    batch = tuple(rng.normal(size=(5, 3)).astype(np.float32) for _ in range(2))
    proto = check_export(Ops(), example, batch, tmp_path / "model.onnx", "elementwise",
                         input_names=["a", "b"])
    assert [one.name for one in proto.graph.input] == ["a", "b"]


class Token(nn.Module):
    """A learned token expanded to the batch, an in-place ReLU, an output given twice and the
    input given back."""

    def __init__(self) -> None:
        super().__init__()
        self.token = nn.Parameter(np.linspace(-1, 1, 3, dtype=np.float32).reshape(1, 1, 3))
        self.linear = nn.Linear(3, 3, rng=np.random.default_rng(0))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Any) -> Any:
        y = self.relu(self.linear(x))
        joined = lw.cat([self.token.expand(x.shape[0], -1, -1), y.unsqueeze(1)], dim=1)
        return joined, joined, x


def test_expand_to_the_batch_in_place_ops_and_repeated_outputs(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    proto = check_export(Token(), rng.normal(size=(2, 3)).astype(np.float32),
                         rng.normal(size=(6, 3)).astype(np.float32), tmp_path / "model.onnx",
                         "token")
    assert [out.name for out in proto.graph.output] == ["output_0", "output_1", "output_2"]


# --- the command line ----------------------------------------------------------------------------


def test_the_export_command_writes_a_run_that_onnxruntime_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(["train", "--dataset", "spirals", "--hidden", "8", "--epochs", "1", "--samples",
                 "60", "--batch-size", "16", "--dropout", "0.1", "--quiet", "--out",
                 str(run)]) == 0
    capsys.readouterr()
    assert main(["export", str(run), str(tmp_path / "spirals.onnx")]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'spirals.onnx'} (ONNX opset 18, mlp with " in out
    assert 'input "input": float32 (batch, 2), the 2 coordinates of a point' in out
    assert 'output "logits": float32 (batch, 2), one per class (class 0, class 1)' in out
    points = np.random.default_rng(0).normal(size=(9, 2)).astype(np.float32)
    trained = load_trained_model(run)
    assert_close(run_onnx(tmp_path / "spirals.onnx", points)[0],
                 outputs_of(trained.model, points)[0], "cli-command")
    properties = {entry.key: entry.value
                  for entry in onnx.load(str(tmp_path / "spirals.onnx")).metadata_props}
    assert json.loads(properties["classes"]) == ["class 0", "class 1"]
    assert properties["input_shape"] == "[2]"


def test_the_export_command_on_a_cnn_run_with_batch_norm(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for split, count, prefix in (("train", 300, "train"), ("test", 100, "t10k")):
        images_and_labels = fashion_mnist(split)
        write_idx(data / f"{prefix}-images-idx3-ubyte.gz", images_and_labels.images[:count])
        write_idx(data / f"{prefix}-labels-idx1-ubyte.gz",
                  images_and_labels.labels[:count].astype(np.uint8))
    run = tmp_path / "run"
    assert main(["train", "--model", "cnn", "--channels", "4", "--batch-norm", "--hidden", "8",
                 "--epochs", "1", "--batch-size", "50", "--validation-size", "50", "--data",
                 str(data), "--quiet", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["export", str(run / "model.safetensors"), str(tmp_path / "cnn.onnx")]) == 0
    out = capsys.readouterr().out
    assert 'input "input": float32 (batch, 1, 28, 28), pixel values in [0, 1]' in out
    assert "one per class (T-shirt/top, Trouser, Pullover," in out
    test_images = model_inputs(fashion_mnist("test").images[:13], (1, 28, 28))
    assert_close(run_onnx(tmp_path / "cnn.onnx", test_images)[0],
                 outputs_of(load_trained_model(run).model, test_images)[0], "cli-cnn-command")


# --- bad input -----------------------------------------------------------------------------------


def test_an_unsupported_op_names_its_layer_and_every_other_one(tmp_path: Path) -> None:
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Sequential(nn.Linear(3, 4))

        def forward(self, x: Any) -> Any:
            y = self.inner(x)
            return y.cumsum(dim=1) + y.log1p()

    with pytest.raises(lw.onnx.OnnxError) as caught:
        lw.onnx.export(Twice(), np.ones((2, 3)), tmp_path / "model.onnx")
    message = str(caught.value)
    assert "cannot export 2 ops of Twice" in message
    assert "Cumsum in the forward of Twice itself: no ONNX translation" in message
    assert "Log1p in the forward of Twice itself" in message
    assert not (tmp_path / "model.onnx").exists()


def test_a_layer_that_cannot_export_is_named(tmp_path: Path) -> None:
    class Noisy(nn.Module):
        def forward(self, x: Any) -> Any:
            return F.dropout(x, 0.5, training=True)

    model = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.Linear(3, 3), Noisy()))
    with pytest.raises(lw.onnx.OnnxError, match=r"Dropout in layer '1\.1' \(Noisy\): dropout in "
                                                r"training mode"):
        lw.onnx.export(model, np.ones((2, 3)), tmp_path / "model.onnx")


def test_a_value_computed_outside_the_ops_is_refused(tmp_path: Path) -> None:
    class Peeks(nn.Module):
        def forward(self, x: Any) -> Any:
            return x * float(x.data.sum())

    with pytest.raises(lw.onnx.OnnxError, match="input 1 of Mul in the forward of Peeks itself "
                                                "changed with the input"):
        lw.onnx.export(Peeks(), np.arange(6.0).reshape(2, 3), tmp_path / "model.onnx")


def test_fixed_shapes_without_dynamic_batch(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))
    proto = check_export(model, images(3, 3, 2), images(3, 3, 2, seed=1),
                         tmp_path / "model.onnx", "fixed", dynamic_batch=False)
    dims = [dim.dim_value for dim in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [3, 3, 2, 2]


def test_metadata_names_the_producer(tmp_path: Path) -> None:
    proto = lw.onnx.export(nn.Linear(2, 2), np.ones((1, 2)), tmp_path / "model.onnx",
                           metadata={"classes": '["a", "b"]'})
    properties = {entry.key: entry.value for entry in proto.metadata_props}
    assert properties["producer"] == f"layerwise {lw.__version__}"
    assert properties["classes"] == '["a", "b"]'
    assert proto.producer_name == "layerwise"


def test_largest_relative_difference_is_reported() -> None:
    """Runs last in this module: prints the largest difference of all comparisons above."""
    assert LARGEST, "no comparison ran"
    case, value = max(LARGEST.items(), key=lambda item: item[1])
    print(f"\nlargest relative difference onnxruntime vs layerwise: {value:.3g} ({case}; "
          f"{len(LARGEST)} cases)")
    assert value <= RTOL


# --- activations (SiLU, ReLU6, Hardtanh, ...) ----------------------------------------------------

ACTIVATION_CASES: dict[str, Callable[[], nn.Module]] = {
    "silu": nn.SiLU,
    "relu6": nn.ReLU6,
    "hardtanh": lambda: nn.Hardtanh(-0.5, 2.0),
    "logsigmoid": nn.LogSigmoid,
    "softsign": nn.Softsign,
    "selu": nn.SELU,
    "celu": lambda: nn.CELU(0.5),
    "mish": nn.Mish,
    "hardswish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid,
    "threshold": lambda: nn.Threshold(0.3, -2.0),
    "prelu-channels": lambda: nn.PReLU(4, init=0.1),
    "prelu-shared": nn.PReLU,
    "glu": lambda: nn.GLU(dim=1),
    "softmin": lambda: nn.Softmin(dim=1),
    "tanhshrink": nn.Tanhshrink,
}


@pytest.mark.parametrize("case", list(ACTIVATION_CASES))
def test_activations_match_onnxruntime(case: str, tmp_path: Path) -> None:
    model = ACTIVATION_CASES[case]()
    if isinstance(model, nn.PReLU):
        model.weight.data[:] = np.linspace(-0.5, 0.5, model.weight.shape[0])
    rng = np.random.default_rng(3)
    # Values from -8 to 8, across every kink (-3, -1, 0, 1, 3, 6), and two far tails.
    example = (8 * rng.uniform(-1, 1, (2, 4, 3, 3))).astype(np.float32)
    batch = (8 * rng.uniform(-1, 1, (5, 4, 3, 3))).astype(np.float32)
    batch[0, 0, 0, :2] = [-90.0, 90.0]
    check_export(model, example, batch, tmp_path / f"{case}.onnx", f"activation-{case}")
