"""lw.onnx.load: PyTorch models exported with torch.onnx run, differentiate and fine-tune in
layerwise; every operator agrees with onnxruntime on a graph built with onnx.helper; files that
are not ONNX, or use what layerwise cannot map, are refused by name."""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import pickle
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import layerwise as lw  # noqa: E402
from layerwise import optim  # noqa: E402
from layerwise.onnx import OnnxError  # noqa: E402

FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64


def relative_difference(ours: np.ndarray, theirs: np.ndarray) -> float:
    """max |ours - theirs| / max |theirs|: the error relative to the output's scale."""
    return float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-30))


# --- PyTorch models through torch.onnx -------------------------------------------------------


def torch_mlp() -> Any:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8),
                               torch.nn.GELU(), torch.nn.Linear(8, 3)).eval()


def torch_cnn() -> Any:
    """Conv -> BatchNorm2d (eval, with statistics unlike a fresh layer's) -> ReLU -> MaxPool
    -> Flatten -> Linear."""
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(4 * 3 * 3, 5))
    with torch.no_grad():
        batch_norm = model[1]
        batch_norm.weight.uniform_(0.5, 1.5)
        batch_norm.bias.uniform_(-0.5, 0.5)
        batch_norm.running_mean.uniform_(-0.3, 0.3)
        batch_norm.running_var.uniform_(0.5, 2.0)
    return model.eval()


SAMPLES = {"mlp": (4, 6), "cnn": (3, 2, 6, 6)}
BUILDERS = {"mlp": torch_mlp, "cnn": torch_cnn}


def export(model: Any, sample: Any, path: Path, dynamo: bool, fold: bool) -> Path:
    """torch.onnx.export with a dynamic batch axis, quietly. fold=False keeps BatchNorm a node
    of its own (the exporters fold it into the convolution by default)."""
    options: dict[str, Any]
    if dynamo:
        options = {"dynamic_shapes": ({0: torch.export.Dim("batch")},), "optimize": fold}
    else:
        options = {"dynamic_axes": {"x": {0: "batch"}}, "do_constant_folding": fold}
    logging.getLogger("torch").setLevel(logging.ERROR)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (sample,), str(path), dynamo=dynamo, input_names=["x"],
                          output_names=["y"], **options)
    return path


@dataclass
class Exported:
    name: str
    model: Any
    path: Path
    fused: bool


EXPORTS = [(name, dynamo, fold) for name in ("mlp", "cnn") for dynamo in (True, False)
           for fold in ((True, False) if name == "cnn" else (True,))]


@pytest.fixture(scope="module", params=EXPORTS,
                ids=lambda p: f"{p[0]}-{'dynamo' if p[1] else 'torchscript'}"
                              f"{'' if p[2] else '-unfolded'}")
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Exported:
    name, dynamo, fold = request.param
    model = BUILDERS[name]()
    sample = torch.randn(*SAMPLES[name])
    path = tmp_path_factory.mktemp("exports") / f"{name}.onnx"
    export(model, sample, path, dynamo, fold)
    return Exported(name, model, path, fused=name == "cnn" and fold)


def test_outputs_match_pytorch_in_float32(exported: Exported) -> None:
    loaded = lw.onnx.load(exported.path)
    x = np.random.default_rng(2).standard_normal((5, *SAMPLES[exported.name][1:])).astype(
        np.float32)  # another batch size than the export's: the batch axis is dynamic
    ours = loaded(x)
    with torch.no_grad():
        theirs = exported.model(torch.tensor(x)).numpy()
    assert ours.dtype == np.float32 and ours.shape == theirs.shape
    assert relative_difference(ours.data, theirs) <= 1e-5


def test_gradients_match_pytorch_in_float64(exported: Exported) -> None:
    """Parameters by name and the input: d(sum(y * upstream)) in float64, layerwise vs torch.
    A folded BatchNorm gives the convolution weights rounded to float32 by the exporter, which
    no float64 PyTorch model has: those gradients are checked by finite differences."""
    loaded = lw.onnx.load(exported.path, dtype=lw.float64)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, *SAMPLES[exported.name][1:]))
    if exported.fused:
        assert lw.gradcheck(lambda x: loaded(x), [x])
        return
    reference = copy.deepcopy(exported.model).double()
    ours_x, theirs_x = lw.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = loaded(ours_x), reference(theirs_x)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    upstream = rng.standard_normal(ours.shape)
    (ours * lw.tensor(upstream)).sum().backward()
    (theirs * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(ours_x.grad, theirs_x.grad.numpy(), rtol=1e-10, atol=1e-12)
    torch_parameters = dict(reference.named_parameters())
    ours_parameters = dict(loaded.named_parameters())
    assert set(ours_parameters) == set(torch_parameters)
    for name, parameter in ours_parameters.items():
        np.testing.assert_allclose(parameter.grad, torch_parameters[name].grad.numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=name)


def test_state_dict_names_are_pytorchs(exported: Exported) -> None:
    names = set(lw.onnx.load(exported.path).state_dict())
    torch_names = {name for name in exported.model.state_dict()
                   if not name.endswith("num_batches_tracked")}
    if exported.fused:  # the folded BatchNorm is gone; its convolution may keep its name
        assert {"5.weight", "5.bias"} <= names
        assert not any(name.startswith("1.") for name in names)
    else:
        assert names == torch_names


def test_fine_tuning_lowers_the_loss_and_goes_back_to_pytorch(exported: Exported) -> None:
    loaded = lw.onnx.load(exported.path)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((16, *SAMPLES[exported.name][1:])).astype(np.float32)
    labels = rng.integers(0, 3, 16)
    optimizer = optim.SGD(loaded.parameters(), lr=0.1)
    losses = []
    for _ in range(5):
        loss = lw.functional.cross_entropy(loaded(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    if exported.fused:  # the folded convolution has no twin in the PyTorch model
        return
    reference = copy.deepcopy(exported.model)
    reference.load_state_dict({name: torch.tensor(value)
                               for name, value in loaded.state_dict().items()}, strict=False)
    with torch.no_grad():
        theirs = reference(torch.tensor(x)).numpy()
    assert relative_difference(loaded(x).data, theirs) <= 1e-5


def test_repr_lists_the_nodes(exported: Exported) -> None:
    text = repr(lw.onnx.load(exported.path))
    assert text.startswith(f"OnnxModule({exported.path.name}: opset ")
    assert "inputs: x (batch, " in text and "(0) " in text and "outputs: y" in text


# --- each operator against onnxruntime -------------------------------------------------------


@dataclass
class Case:
    """One node (or a few) in a graph of its own; float inputs are drawn at random (positive
    ones where the operator needs them), integer inputs are given."""

    id: str
    nodes: list[Any]
    inputs: dict[str, np.ndarray]
    outputs: list[str]
    initializers: dict[str, np.ndarray] = field(default_factory=dict)
    opset: int = 18


def node(op_type: str, inputs: list[str], outputs: list[str] | None = None,
         **attributes: Any) -> Any:
    return helper.make_node(op_type, inputs, outputs or ["y"], **attributes)


def floats(*shape: int, low: float = -2.0, high: float = 2.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def ints(*values: int) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def unary(op_type: str, low: float = -2.0, **attributes: Any) -> Case:
    suffix = "-" + "-".join(f"{k}-{v}" for k, v in attributes.items()) if attributes else ""
    return Case(op_type + suffix, [node(op_type, ["x"], **attributes)],
                {"x": floats(3, 4, low=low)}, ["y"])


def single(case_id: str, op_type: str, inputs: dict[str, np.ndarray],
           initializers: dict[str, np.ndarray] | None = None, opset: int = 18,
           **attributes: Any) -> Case:
    names = list(inputs) + list(initializers or {})
    return Case(case_id, [node(op_type, names, **attributes)], inputs, ["y"],
                initializers or {}, opset)


X4 = floats(2, 4, 7, 7, seed=5)
WEIGHT = floats(6, 4, 3, 3, low=-0.5, high=0.5, seed=6)
BIAS = floats(6, seed=7)

CASES = [
    *(single(f"{op}-broadcast", op, {"a": floats(2, 3, 4), "b": floats(4, low=0.5, seed=1)})
      for op in ("Add", "Sub", "Mul", "Div")),
    single("Pow-tensor", "Pow", {"a": floats(3, 4, low=0.2), "b": floats(3, 4, seed=2)}),
    single("Pow-constant-2", "Pow", {"a": floats(3, 4)}, {"e": np.asarray(2.0, np.float32)}),
    *(unary(op) for op in ("Neg", "Relu", "Sigmoid", "Tanh", "Softplus", "Erf", "Exp", "Abs")),
    unary("Log", low=0.1), unary("Sqrt", low=0.1), unary("Reciprocal", low=0.3),
    unary("LeakyRelu", alpha=0.2), unary("Elu", alpha=0.5),
    unary("Softmax", axis=0), unary("LogSoftmax", axis=-1), unary("Softmax"),
    Case("Gelu-exact", [node("Gelu", ["x"])], {"x": floats(3, 4)}, ["y"], opset=20),
    Case("Gelu-tanh", [node("Gelu", ["x"], approximate="tanh")], {"x": floats(3, 4)}, ["y"],
         opset=20),
    single("Clip", "Clip", {"x": floats(3, 4)}, {"low": np.asarray(-0.5, np.float32),
                                                 "high": np.asarray(0.7, np.float32)}),
    single("MatMul-3d-by-2d", "MatMul", {"a": floats(2, 3, 4), "b": floats(4, 5, seed=1)}),
    single("Gemm-linear", "Gemm", {"x": floats(3, 4)},
           {"w": floats(5, 4, seed=1), "c": floats(5, seed=2)}, transB=1),
    single("Gemm-all-options", "Gemm", {"a": floats(4, 3), "b": floats(4, 5, seed=1)},
           {"c": floats(1, 5, seed=2)}, alpha=0.5, beta=2.0, transA=1),
    single("Gemm-no-c", "Gemm", {"a": floats(3, 4), "b": floats(5, 4, seed=1)}, transB=1,
           alpha=1.5),
    single("Flatten-axis-2", "Flatten", {"x": X4}, axis=2),
    single("Flatten-axis-0", "Flatten", {"x": X4}, axis=0),
    single("Reshape-0-and-minus-1", "Reshape", {"x": X4}, {"shape": ints(0, -1, 7)}),
    single("Transpose-perm", "Transpose", {"x": X4}, perm=[0, 2, 3, 1]),
    single("Transpose-reversed", "Transpose", {"x": floats(2, 3, 4)}),
    single("Concat-axis-1", "Concat", {"a": floats(2, 3), "b": floats(2, 2, seed=1)}, axis=1),
    single("Unsqueeze", "Unsqueeze", {"x": floats(2, 3)}, {"axes": ints(0, -1)}),
    single("Squeeze-axes", "Squeeze", {"x": floats(2, 1, 3, 1)}, {"axes": ints(1)}),
    single("Squeeze-all", "Squeeze", {"x": floats(2, 1, 3, 1)}),
    single("Slice", "Slice", {"x": floats(4, 6)},
           {"starts": ints(1, -1), "ends": ints(3, 0), "axes": ints(0, 1), "steps": ints(1, -2)}),
    unary("Identity"),
    Case("Dropout-eval", [node("Dropout", ["x"], ["y", "mask"])], {"x": floats(3, 4)},
         ["y", "mask"]),
    Case("Constant", [node("Constant", [], ["c"], value=numpy_helper.from_array(
        floats(4, seed=3))), node("Add", ["x", "c"])], {"x": floats(3, 4)}, ["y"]),
    Case("Constant-value-ints", [node("Constant", [], ["shape"], value_ints=[4, 3]),
                                 node("Reshape", ["x", "shape"])], {"x": floats(3, 4)}, ["y"]),
    single("Conv-uneven-pads-strides-groups", "Conv", {"x": X4},
           {"w": floats(6, 2, 3, 3, seed=1), "b": BIAS}, pads=[1, 0, 0, 1], strides=[2, 1],
           group=2),
    single("Conv-dilations-no-bias", "Conv", {"x": X4}, {"w": WEIGHT}, dilations=[2, 1],
           pads=[1, 1, 1, 1]),
    single("Conv-same-upper-stride-2", "Conv", {"x": X4}, {"w": WEIGHT, "b": BIAS},
           auto_pad="SAME_UPPER", strides=[2, 2]),
    single("Conv-same-lower", "Conv", {"x": floats(1, 4, 6, 6)}, {"w": floats(6, 4, 2, 2)},
           auto_pad="SAME_LOWER"),
    single("Conv-valid", "Conv", {"x": X4}, {"w": WEIGHT}, auto_pad="VALID"),
    single("Conv-1d", "Conv", {"x": floats(2, 3, 9)}, {"w": floats(4, 3, 3, seed=1)},
           pads=[2, 1], strides=[2]),
    single("ConvTranspose-output-padding", "ConvTranspose", {"x": floats(2, 3, 4, 4)},
           {"w": floats(3, 2, 3, 3, seed=1), "b": floats(2, seed=2)}, strides=[2, 2],
           pads=[1, 1, 1, 1], output_padding=[1, 1]),
    single("ConvTranspose-uneven-pads-groups", "ConvTranspose", {"x": floats(2, 4, 3, 3)},
           {"w": floats(4, 1, 3, 3, seed=1)}, strides=[2, 2], pads=[0, 1, 1, 0], group=2),
    single("ConvTranspose-1d", "ConvTranspose", {"x": floats(2, 3, 5)},
           {"w": floats(3, 2, 3, seed=1)}, strides=[2]),
    single("MaxPool-ceil-mode-pads", "MaxPool", {"x": X4}, kernel_shape=[3, 3],
           strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
    single("MaxPool-dilations", "MaxPool", {"x": X4}, kernel_shape=[2, 2], dilations=[2, 2]),
    single("MaxPool-uneven-pads", "MaxPool", {"x": X4}, kernel_shape=[2, 2], strides=[2, 2],
           pads=[0, 1, 1, 0]),
    single("MaxPool-same-upper", "MaxPool", {"x": X4}, kernel_shape=[3, 3], strides=[2, 2],
           auto_pad="SAME_UPPER"),
    single("MaxPool-1d", "MaxPool", {"x": floats(2, 3, 9)}, kernel_shape=[3], strides=[2]),
    single("AveragePool-exclude-pad", "AveragePool", {"x": X4}, kernel_shape=[3, 3],
           pads=[1, 1, 1, 1], strides=[2, 2]),
    single("AveragePool-include-pad", "AveragePool", {"x": X4}, kernel_shape=[3, 3],
           pads=[1, 1, 1, 1], strides=[2, 2], count_include_pad=1),
    single("AveragePool-ceil-mode", "AveragePool", {"x": X4}, kernel_shape=[2, 2],
           strides=[2, 2], ceil_mode=1),
    single("AveragePool-uneven-pads-include-pad", "AveragePool", {"x": X4},
           kernel_shape=[2, 2], pads=[1, 0, 0, 1], count_include_pad=1),
    single("GlobalAveragePool", "GlobalAveragePool", {"x": X4}),
    single("GlobalMaxPool", "GlobalMaxPool", {"x": X4}),
    single("BatchNormalization", "BatchNormalization", {"x": X4},
           {"scale": floats(4, seed=1), "bias": floats(4, seed=2),
            "mean": floats(4, seed=3), "var": floats(4, low=0.5, seed=4)}, epsilon=1e-3),
    single("BatchNormalization-2d", "BatchNormalization", {"x": floats(5, 3)},
           {"scale": floats(3, seed=1), "bias": floats(3, seed=2),
            "mean": floats(3, seed=3), "var": floats(3, low=0.5, seed=4)}),
    single("LayerNormalization-last", "LayerNormalization", {"x": floats(2, 3, 4)},
           {"scale": floats(4, seed=1), "bias": floats(4, seed=2)}),
    single("LayerNormalization-axis-1", "LayerNormalization", {"x": floats(2, 3, 4)},
           {"scale": floats(3, 4, seed=1)}, axis=1, epsilon=1e-3),
    single("ReduceMean-axes-attribute-opset-13", "ReduceMean", {"x": floats(2, 3, 4)},
           opset=13, axes=[1, -1]),
    single("ReduceMean-axes-input", "ReduceMean", {"x": floats(2, 3, 4)}, {"axes": ints(1)},
           keepdims=0),
    single("ReduceMean-all", "ReduceMean", {"x": floats(2, 3, 4)}),
    single("ReduceSum-axes-input", "ReduceSum", {"x": floats(2, 3, 4)}, {"axes": ints(0, 2)}),
    single("ReduceSum-keepdims-0", "ReduceSum", {"x": floats(2, 3, 4)}, {"axes": ints(-1)},
           keepdims=0),
    Case("Gather-embedding", [node("Gather", ["table", "idx"])],
         {"idx": np.array([[0, 4, 4], [2, 1, -1]], dtype=np.int64)}, ["y"],
         {"table": floats(5, 3)}),
    single("Gather-axis-1", "Gather", {"x": floats(3, 5)}, {"i": ints(4, 0, 4)}, axis=1),
    Case("Shape-Gather-Concat-Reshape", [
        node("Shape", ["x"], ["shape"]),
        node("Gather", ["shape", "zero"], ["batch"], axis=0),
        node("Unsqueeze", ["batch", "zero_axes"], ["batch_1d"]),
        node("Concat", ["batch_1d", "minus_one"], ["target"], axis=0),
        node("Cast", ["target"], ["target_32"], to=TensorProto.INT32),
        node("Cast", ["target_32"], ["target_64"], to=INT64),
        node("Reshape", ["x", "target_64"])],
        {"x": X4}, ["y"],
        {"zero": np.asarray(0, np.int64), "zero_axes": ints(0), "minus_one": ints(-1)}),
    Case("Shape-start-end-ConstantOfShape", [
        node("Shape", ["x"], ["tail"], start=2),
        node("ConstantOfShape", ["tail"], ["ones"],
             value=numpy_helper.from_array(np.ones(1, np.float32))),
        node("Mul", ["x", "ones"])], {"x": X4}, ["y"]),
    Case("Max-three-inputs", [node("Max", ["a", "b", "c"])],
         {"a": floats(2, 3), "b": floats(3, seed=1), "c": floats(2, 1, seed=2)}, ["y"]),
    single("Min", "Min", {"a": floats(2, 3), "b": floats(2, 3, seed=1)}),
    Case("Where-Greater", [node("Greater", ["a", "b"], ["above"]),
                           node("Where", ["above", "a", "b"])],
         {"a": floats(2, 3), "b": floats(2, 3, seed=1)}, ["y"]),
    Case("Less-Equal", [node("Less", ["a", "b"], ["less"]), node("Equal", ["a", "a"], ["same"])],
         {"a": floats(2, 3), "b": floats(2, 3, seed=1)}, ["less", "same"]),
    *(unary(op, low=-1.2) for op in ("Sin", "Cos", "Tan")),
    single("ReduceMax-axes-input", "ReduceMax", {"x": floats(2, 3, 4)}, {"axes": ints(1)}),
    single("ReduceMin-axes-attribute-opset-13", "ReduceMin", {"x": floats(2, 3, 4)}, opset=13,
           axes=[0, 2], keepdims=0),
    single("Expand-both-ways", "Expand", {"x": floats(3, 1)}, {"shape": ints(2, 1, 4)}),
    single("Tile", "Tile", {"x": floats(2, 3)}, {"repeats": ints(2, 3)}),
    single("Pad-constant-negative", "Pad", {"x": floats(2, 3, 4)},
           {"pads": ints(0, 1, -1, 0, 2, 1), "value": np.asarray(0.5, np.float32)}),
    single("Pad-axes", "Pad", {"x": floats(2, 3, 4)},
           {"pads": ints(1, 2, 0, 3), "value": np.asarray(-1.0, np.float32),
            "axes": ints(-1, 0)}),
    single("GatherElements-negative-index", "GatherElements", {"x": floats(3, 4)},
           {"i": np.array([[0, -1, 2, 1], [2, 0, -3, 1]], dtype=np.int64)}, axis=0),
    Case("Cast-float-to-double", [node("Cast", ["x"], to=TensorProto.DOUBLE)],
         {"x": floats(3, 4)}, ["y"]),
]


def build(case: Case, opset: int | None = None) -> Any:
    def info(name: str, array: np.ndarray) -> Any:
        element = helper.np_dtype_to_tensor_dtype(array.dtype)
        return helper.make_tensor_value_info(name, element, array.shape)
    graph = helper.make_graph(
        case.nodes, case.id, [info(name, array) for name, array in case.inputs.items()],
        [helper.make_tensor_value_info(name, TensorProto.UNDEFINED, None)
         for name in case.outputs],
        [numpy_helper.from_array(array, name) for name, array in case.initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset or case.opset)])
    model.ir_version = 8
    return onnx.shape_inference.infer_shapes(model, strict_mode=True)  # types the outputs


def save(model: Any, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_operator_matches_onnxruntime(case: Case, tmp_path: Path) -> None:
    path = save(build(case), tmp_path / f"{case.id}.onnx")
    expected = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, case.inputs)
    ours = lw.onnx.load(path)(*case.inputs.values())
    ours = ours if isinstance(ours, tuple) else (ours,)
    for mine, reference in zip(ours, expected, strict=True):
        assert mine.shape == reference.shape and mine.dtype == reference.dtype
        if reference.dtype.kind == "f":
            assert relative_difference(mine.data, reference) <= 1e-5, case.id
        else:
            np.testing.assert_array_equal(mine.data, reference)


@pytest.mark.parametrize("case", [case for case in CASES if not case.id.startswith(
    ("Dropout", "Cast", "Less"))], ids=lambda case: case.id)
def test_operator_gradients_in_float64(case: Case, tmp_path: Path) -> None:
    """The loaded graph's gradients for its floating inputs against finite differences."""
    model = lw.onnx.load(save(build(case), tmp_path / "case.onnx"), dtype=lw.float64)
    inputs = [array.astype(np.float64) if array.dtype.kind == "f" else array
              for array in case.inputs.values()]
    if not any(array.dtype.kind == "f" for array in inputs):  # an embedding: the table's
        for name, parameter in model.named_parameters():
            assert lw.gradcheck(as_function_of(model, name, inputs), [parameter.data.copy()])
        return
    assert lw.gradcheck(lambda *xs: model(*xs), inputs)


def as_function_of(model: Any, name: str, inputs: list[np.ndarray]) -> Callable[[Any], Any]:
    """The model's output as a function of the values of its parameter `name`."""
    owner, key, _ = model.held[name]

    def output(weight: Any) -> Any:
        original = owner._parameters[key]
        owner._parameters[key] = weight
        try:
            return model(*inputs)
        finally:
            owner._parameters[key] = original
    return output


def test_graph_input_with_an_initializer_is_a_parameter(tmp_path: Path) -> None:
    """Old exporters list initializers among the graph inputs too; those are not forward's."""
    case = single("Gemm-linear", "Gemm", {"x": floats(3, 4)}, {"w": floats(5, 4, seed=1)},
                  transB=1)
    model = build(case)
    model.graph.input.append(helper.make_tensor_value_info("w", FLOAT, [5, 4]))
    loaded = lw.onnx.load(save(model, tmp_path / "inputs.onnx"))
    assert [name for name, _ in loaded.input_specs] == ["x"]
    assert list(loaded.state_dict()) == ["w"]


def test_dotted_names_nest_and_odd_names_stay_whole(tmp_path: Path) -> None:
    case = Case("names", [node("Add", ["x", "encoder.fc.bias"], ["h"]),
                          node("Add", ["h", "onnx::Add_7"], ["y"])],
                {"x": floats(2, 3)}, ["y"],
                {"encoder.fc.bias": floats(3, seed=1), "onnx::Add_7": floats(3, seed=2)})
    loaded = lw.onnx.load(save(build(case), tmp_path / "names.onnx"))
    assert list(loaded.state_dict()) == ["onnx::Add_7", "encoder.fc.bias"]
    assert loaded.get_submodule("encoder.fc") is not None


def test_one_element_constants_of_formulas_are_not_parameters(tmp_path: Path) -> None:
    """GELU's 1/sqrt(2) read by a Mul stays a constant; a Linear(4, 1)'s bias is a weight."""
    case = Case("constants", [node("Gemm", ["x", "fc.weight", "fc.bias"], ["h"], transB=1),
                              node("Mul", ["h", "half"])],
                {"x": floats(2, 4)}, ["y"], {"fc.weight": floats(1, 4, seed=1),
                                             "fc.bias": floats(1, seed=2),
                                             "half": np.full(1, 0.5, np.float32)})
    loaded = lw.onnx.load(save(build(case), tmp_path / "constants.onnx"))
    assert list(loaded.state_dict()) == ["fc.weight", "fc.bias"]


@pytest.mark.parametrize("dynamo", [True, False], ids=["dynamo", "torchscript"])
def test_a_one_element_bias_added_by_its_own_node_is_trained(dynamo: bool,
                                                             tmp_path: Path) -> None:
    """nn.Linear(4, 1) on a 3-D input is exported as MatMul, then Add of the one-element
    "0.bias": a weight by its name, with PyTorch's gradient."""
    torch.manual_seed(2)
    net = torch.nn.Sequential(torch.nn.Linear(4, 1)).eval()
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    loaded = lw.onnx.load(export(net, x.float(), tmp_path / "bias.onnx", dynamo, fold=True),
                          dtype=lw.float64)
    net.double()
    assert "0.bias" in dict(loaded.named_parameters())
    loaded(x.numpy()).sum().backward()
    net(x).sum().backward()
    bias = dict(loaded.named_parameters())["0.bias"]
    np.testing.assert_allclose(bias.grad.data, net[0].bias.grad.numpy(), rtol=1e-12)


def test_round_trip_through_layerwise_export(tmp_path: Path) -> None:
    """A layerwise model written by lw.onnx.export and read back computes the same outputs
    and, in float64, the same gradients for every parameter by name and for the input (to
    1e-6: the file keeps GELU's constants and BatchNorm's epsilon in float32)."""
    lw.manual_seed(0)
    model = lw.nn.Sequential(
        lw.nn.Conv2d(2, 4, 3, padding=1), lw.nn.BatchNorm2d(4), lw.nn.ReLU(),
        lw.nn.MaxPool2d(2), lw.nn.Flatten(), lw.nn.Linear(4 * 3 * 3, 8), lw.nn.GELU(),
        lw.nn.Dropout(0.3), lw.nn.Linear(8, 3))
    rng = np.random.default_rng(5)
    model[1].running_mean[:] = rng.uniform(-0.3, 0.3, 4)
    model[1].running_var[:] = rng.uniform(0.5, 2.0, 4)
    model.eval()
    x = rng.standard_normal((5, 2, 6, 6))
    package: Any = lw.onnx  # export comes from another module of the package
    package.export(model, x[:2].astype(np.float32), tmp_path / "model.onnx")
    loaded = lw.onnx.load(tmp_path / "model.onnx", dtype=lw.float64)
    model.double()
    assert set(loaded.state_dict()) == {name for name in model.state_dict()
                                        if not name.endswith("num_batches_tracked")}
    ours_x, theirs_x = lw.tensor(x, requires_grad=True), lw.tensor(x, requires_grad=True)
    ours, theirs = loaded(ours_x), model(theirs_x)
    np.testing.assert_allclose(ours.data, theirs.data, rtol=1e-6, atol=1e-9)
    upstream = lw.tensor(rng.standard_normal(ours.shape))
    (ours * upstream).sum().backward()
    (theirs * upstream).sum().backward()
    np.testing.assert_allclose(ours_x.grad, theirs_x.grad, rtol=1e-6, atol=1e-9)
    originals = dict(model.named_parameters())
    for name, parameter in loaded.named_parameters():
        np.testing.assert_allclose(parameter.grad, originals[name].grad, rtol=1e-6,
                                   atol=1e-9, err_msg=name)


def test_importing_layerwise_does_not_import_onnx() -> None:
    import subprocess
    import sys
    code = "import sys, layerwise; print('onnx' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "False"


# --- bad input -------------------------------------------------------------------------------


def mlp_bytes() -> bytes:
    case = single("Gemm-linear", "Gemm", {"x": floats(3, 4)}, {"w": floats(5, 4, seed=1)},
                  transB=1)
    return build(case).SerializeToString()


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


NOT_ONNX: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty.onnx": (lambda: b"", "is empty; expected an ONNX model"),
    "random.onnx": (lambda: np.random.default_rng(0).bytes(1000), "is not an ONNX model"),
    "model.pkl": (lambda: pickle.dumps({"weight": [1.0, 2.0]}), "is a Python pickle"),
    "model.safetensors": (lambda: struct.pack("<Q", 2) + b"{}", "is a safetensors file"),
    "truncated.onnx": (lambda: mlp_bytes()[:-30], "is not an ONNX model, or is truncated"),
    "model.npy": (lambda: b"\x93NUMPY\x01\x00" + bytes(10), "is a NumPy .npy array"),
}


@pytest.mark.parametrize("name", NOT_ONNX)
def test_a_file_that_is_not_onnx_is_named(name: str, tmp_path: Path) -> None:
    content, message = NOT_ONNX[name]
    with pytest.raises(OnnxError, match=message) as caught:
        lw.onnx.load(write(tmp_path, name, content()))
    assert name in str(caught.value)


def test_damaged_files_load_or_raise_onnx_error(tmp_path: Path) -> None:
    """Every cut of a small model and 200 single-byte changes: each either loads and runs or
    raises OnnxError (or refuses an input whose declared shape the damage changed), never
    another exception from deep inside onnx or protobuf."""
    case = Case("damaged", [node("Conv", ["x", "conv.weight", "conv.bias"], ["h"], pads=[1] * 4),
                            node("Relu", ["h"], ["r"]), node("Flatten", ["r"], ["f"]),
                            node("Gemm", ["f", "fc.weight"], transB=1)],
                {"x": floats(2, 1, 3, 3)}, ["y"],
                {"conv.weight": floats(2, 1, 3, 3, seed=1), "conv.bias": floats(2, seed=2),
                 "fc.weight": floats(4, 18, seed=3)})
    data = build(case).SerializeToString()
    rng = np.random.default_rng(0)
    damaged = [data[:length] for length in range(0, len(data), 3)]
    for _ in range(200):
        changed = bytearray(data)
        changed[rng.integers(len(data))] = rng.integers(256)
        damaged.append(bytes(changed))
    path = tmp_path / "damaged.onnx"
    for content in damaged:
        path.write_bytes(content)
        try:
            model = lw.onnx.load(path)
        except OnnxError:
            continue
        try:
            model(case.inputs["x"])
        except ValueError as error:  # OnnxError, or an input shape the damage changed
            assert isinstance(error, OnnxError) or "OnnxModule(damaged.onnx)" in str(error)


def test_a_pickle_is_never_unpickled(tmp_path: Path) -> None:
    class Bomb:
        def __reduce__(self) -> tuple[Any, ...]:
            return (Path.touch, (tmp_path / "ran",))
    with pytest.raises(OnnxError, match="pickle"):
        lw.onnx.load(write(tmp_path, "bomb.onnx", pickle.dumps(Bomb())))
    assert not (tmp_path / "ran").exists()


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.onnx"):
        lw.onnx.load(tmp_path / "missing.onnx")


def test_unsupported_operators_are_all_listed_with_counts(tmp_path: Path) -> None:
    case = Case("unsupported", [node("Sinh", ["x"], ["a"]), node("Sinh", ["a"], ["b"]),
                                node("Relu", ["b"], ["c"]), node("Cosh", ["c"])],
                {"x": floats(2, 3)}, ["y"])
    with pytest.raises(OnnxError, match=r"uses 2 operators layerwise cannot import: "
                                        r"Cosh \(1 node\), Sinh \(2 nodes\)"):
        lw.onnx.load(save(build(case), tmp_path / "unsupported.onnx"))


def test_custom_domains_are_refused(tmp_path: Path) -> None:
    model = build(unary("Relu"))
    model.graph.node.append(helper.make_node("FusedGelu", ["y"], ["z"], domain="com.example"))
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(OnnxError, match=r"com\.example::FusedGelu \(1 node\)"):
        lw.onnx.load(save(model, tmp_path / "custom.onnx"))


def test_an_old_opset_says_so(tmp_path: Path) -> None:
    with pytest.raises(OnnxError, match="uses opset 12; layerwise reads opsets 13 and newer"):
        lw.onnx.load(save(build(unary("Relu"), opset=12), tmp_path / "old.onnx"))


@pytest.mark.parametrize("location", ["../outside.bin", "/etc/passwd", "sub/../../outside.bin"])
def test_external_data_outside_the_folder_is_refused(location: str, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "outside.bin").write_bytes(bytes(80))
    model = build(single("Gemm-linear", "Gemm", {"x": floats(3, 4)},
                         {"w": floats(5, 4, seed=1)}, transB=1))
    weight = model.graph.initializer[0]
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value=location)
    with pytest.raises(OnnxError, match="outside the model's folder"):
        lw.onnx.load(save(model, folder / "model.onnx"))


def test_external_data_inside_the_folder_loads(tmp_path: Path) -> None:
    case = single("Gemm-linear", "Gemm", {"x": floats(3, 4)}, {"w": floats(5, 4, seed=1)},
                  transB=1)
    model = build(case)
    onnx.save_model(model, str(tmp_path / "model.onnx"), save_as_external_data=True,
                    location="weights.bin", size_threshold=0)
    expected = case.inputs["x"] @ case.initializers["w"].T
    np.testing.assert_allclose(lw.onnx.load(tmp_path / "model.onnx")(case.inputs["x"]).data,
                               expected, rtol=1e-6)


def test_checker_failures_name_the_file(tmp_path: Path) -> None:
    model = build(unary("Relu"))
    model.graph.node[0].input[0] = "nowhere"
    with pytest.raises(OnnxError, match=r"onnx\.checker rejects .*broken\.onnx"):
        lw.onnx.load(save(model, tmp_path / "broken.onnx"))


def test_attributes_layerwise_cannot_honour_are_refused_on_load(tmp_path: Path) -> None:
    case = single("ConvTranspose-shape", "ConvTranspose", {"x": floats(1, 2, 3, 3)},
                  {"w": floats(2, 2, 3, 3)}, output_shape=[5, 5])
    with pytest.raises(OnnxError, match=r"ConvTranspose node .*output_shape"):
        lw.onnx.load(save(build(case), tmp_path / "shape.onnx"))


def test_inputs_are_checked_against_the_graph(tmp_path: Path) -> None:
    loaded = lw.onnx.load(save(build(unary("Relu")), tmp_path / "relu.onnx"))
    with pytest.raises(ValueError, match=r"input 'x' expected shape \(3, 4\), got \(3, 5\)"):
        loaded(np.zeros((3, 5), np.float32))
    with pytest.raises(TypeError, match=r"expects 1 input \(x\), got 2"):
        loaded(np.zeros((3, 4)), np.zeros((3, 4)))


def test_dtype_must_be_floating(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="dtype must be a floating dtype, got int64"):
        lw.onnx.load(save(build(unary("Relu")), tmp_path / "relu.onnx"), dtype=lw.int64)
