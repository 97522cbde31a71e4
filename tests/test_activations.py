"""The activations added for PyTorch's breadth (SiLU, ReLU6, Hardtanh, LogSigmoid, Softsign,
SELU, CELU, Mish, Hardswish, Hardsigmoid, PReLU, GLU, Softmin, Threshold, Tanhshrink) and
set_grad_enabled / inference_mode, against PyTorch at the edges: kinks, huge values, empty
and integer input, dtypes, reprs, in-place use and the learned slope of PReLU. Gradients in
float64 away from the kinks are checked by the op registry (test_ops.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import layerwise as lw
import layerwise.functional as F
from layerwise import nn

# name -> (layerwise function, torch function), each of one tensor
FUNCTIONS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "silu": (F.silu, TF.silu),
    "relu6": (F.relu6, TF.relu6),
    "hardtanh": (F.hardtanh, TF.hardtanh),
    "hardtanh-bounds": (lambda x: F.hardtanh(x, -2.0, 3.0), lambda x: TF.hardtanh(x, -2.0, 3.0)),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid),
    "softsign": (F.softsign, TF.softsign),
    "selu": (F.selu, TF.selu),
    "celu": (lambda x: F.celu(x, 0.5), lambda x: TF.celu(x, 0.5)),
    "mish": (F.mish, TF.mish),
    "hardswish": (F.hardswish, TF.hardswish),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid),
    "threshold": (lambda x: F.threshold(x, 1.0, -3.0), lambda x: TF.threshold(x, 1.0, -3.0)),
    "tanhshrink": (F.tanhshrink, TF.tanhshrink),
    "softmin": (lambda x: F.softmin(x, -1), lambda x: TF.softmin(x, -1)),
    "glu": (lambda x: F.glu(x, 0), lambda x: TF.glu(x, 0)),
    "prelu": (lambda x: F.prelu(x, np.array([0.3])),
              lambda x: TF.prelu(x, torch.tensor([0.3], dtype=x.dtype))),
}

# Every kink (-3, -1, 0, 1, 3, 6), both sides of them, and far tails.
KINKS = np.array([-1000.0, -40.0, -6.0, -3.0, -2.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.5, 3.0, 6.0,
                  7.0, 40.0, 1000.0])


def torch_of(function: Callable[[Any], Any], array: np.ndarray, grad: bool = True) -> Any:
    x = torch.tensor(array, requires_grad=grad)
    return x, function(x)


@pytest.mark.parametrize("name", list(FUNCTIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_and_gradients_at_kinks_and_tails_match_pytorch(name: str, dtype: Any) -> None:
    ours, theirs = FUNCTIONS[name]
    array = KINKS.astype(dtype)
    x = lw.tensor(array, requires_grad=True)
    y = ours(x)
    reference_x, reference = torch_of(theirs, array)
    assert y.dtype == dtype
    tolerance = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y.data, reference.detach().numpy(), rtol=tolerance,
                               atol=tolerance)
    upstream = np.linspace(0.5, 1.5, y.data.size).reshape(y.shape).astype(dtype)
    y.backward(upstream)
    reference.backward(torch.tensor(upstream))
    # PyTorch rounds hardsigmoid's 1/6 to float32 also in float64 (relative 3e-8)
    gradient_tolerance = 1e-6 if dtype == np.float32 or name == "hardsigmoid" else 1e-12
    assert x.grad is not None
    np.testing.assert_allclose(x.grad, reference_x.grad.numpy(), rtol=gradient_tolerance,
                               atol=gradient_tolerance)


def test_logsigmoid_is_exact_for_huge_values_and_finite_everywhere() -> None:
    x = lw.tensor(np.array([-1e30, -1000.0, -50.0, 50.0, 1000.0, 1e30]), requires_grad=True)
    y = F.logsigmoid(x)
    np.testing.assert_array_equal(y.data[:2], [-1e30, -1000.0])
    assert y.data[-1] == 0.0 and np.all(np.isfinite(y.data))
    y.sum().backward()
    assert x.grad is not None
    np.testing.assert_allclose(x.grad, [1.0, 1.0, 1.0, np.exp(-50.0), 0.0, 0.0], rtol=1e-12)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_empty_input_gives_empty_output(name: str) -> None:
    ours, theirs = FUNCTIONS[name]
    empty = np.zeros((0, 4))
    expected = theirs(torch.tensor(empty))
    assert ours(lw.tensor(empty)).shape == tuple(expected.shape)


INTEGER_KEEPING = ["relu6", "hardtanh", "hardtanh-bounds", "threshold"]
INTEGER_TO_FLOAT = ["softsign", "tanhshrink"]
INTEGER_REFUSED = ["silu", "logsigmoid", "selu", "celu", "mish", "hardswish", "hardsigmoid",
                   "softmin", "glu", "prelu"]


@pytest.mark.parametrize("name", INTEGER_KEEPING + INTEGER_TO_FLOAT)
def test_integer_input_as_pytorch(name: str) -> None:
    ours, theirs = FUNCTIONS[name]
    ints = np.array([[-7, -3, -1, 0], [1, 2, 3, 8]])
    got, want = ours(lw.tensor(ints)), theirs(torch.tensor(ints))
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", INTEGER_REFUSED)
def test_integer_and_bool_input_is_refused_where_pytorch_refuses_it(name: str) -> None:
    ours, theirs = FUNCTIONS[name]
    ints = np.array([[-2, 0], [1, 4]])
    with pytest.raises((NotImplementedError, RuntimeError)):
        theirs(torch.tensor(ints))
    with pytest.raises(TypeError, match="expected a floating-point tensor, got int64"):
        ours(lw.tensor(ints))
    with pytest.raises(TypeError, match="got bool"):
        ours(lw.tensor(ints > 0))


MODULES: dict[str, Callable[[Any], Any]] = {
    "SiLU()": lambda m: m.SiLU(),
    "SiLU(inplace=True)": lambda m: m.SiLU(inplace=True),
    "ReLU6()": lambda m: m.ReLU6(),
    "ReLU6(inplace=True)": lambda m: m.ReLU6(True),
    "Hardtanh()": lambda m: m.Hardtanh(),
    "Hardtanh(-2, 2)": lambda m: m.Hardtanh(-2, 2),
    "Hardtanh(inplace)": lambda m: m.Hardtanh(-0.5, 0.5, inplace=True),
    "LogSigmoid()": lambda m: m.LogSigmoid(),
    "Softsign()": lambda m: m.Softsign(),
    "SELU()": lambda m: m.SELU(),
    "CELU()": lambda m: m.CELU(),
    "CELU(0.5, inplace=True)": lambda m: m.CELU(0.5, inplace=True),
    "Mish()": lambda m: m.Mish(),
    "Hardswish()": lambda m: m.Hardswish(),
    "Hardsigmoid()": lambda m: m.Hardsigmoid(),
    "PReLU()": lambda m: m.PReLU(),
    "PReLU(3)": lambda m: m.PReLU(3, init=0.1),
    "GLU()": lambda m: m.GLU(),
    "GLU(1)": lambda m: m.GLU(1),
    "Softmin()": lambda m: m.Softmin(),
    "Softmin(1)": lambda m: m.Softmin(dim=1),
    "Threshold(0.1, 20)": lambda m: m.Threshold(0.1, 20),
    "Threshold(inplace)": lambda m: m.Threshold(0.5, -1.0, inplace=True),
    "Tanhshrink()": lambda m: m.Tanhshrink(),
}


@pytest.mark.filterwarnings("ignore:Implicit dimension choice for softmin")
@pytest.mark.parametrize("case", list(MODULES))
def test_modules_have_pytorchs_repr_and_output(case: str) -> None:
    ours, theirs = MODULES[case](nn), MODULES[case](torch.nn)
    assert repr(ours) == repr(theirs)
    array = np.random.default_rng(2).standard_normal((2, 6)) * 4
    if case.startswith("PReLU"):  # float32 as its weight (PyTorch's prelu does not promote)
        array = array.reshape(2, 3, 2).astype(np.float32)
    got = ours(lw.tensor(array.copy())).data  # a copy: in-place modules change their input
    with torch.no_grad():
        want = theirs(torch.tensor(array)).numpy()
    tolerance = 1e-6 if array.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("name", ["silu", "relu6", "hardtanh", "selu", "celu", "mish",
                                  "hardswish", "hardsigmoid", "threshold"])
def test_inplace_changes_the_tensor_and_backpropagates(name: str) -> None:
    function = getattr(F, name)
    arguments = (0.5, -1.0) if name == "threshold" else ()
    array = np.array([-4.0, -0.5, 0.7, 5.0])
    leaf = lw.tensor(array, requires_grad=True)
    hidden = leaf * 1.0
    result = function(hidden, *arguments, inplace=True)
    assert result is hidden
    expected = function(lw.tensor(array), *arguments)
    np.testing.assert_allclose(hidden.data, expected.data)
    hidden.sum().backward()
    torch_leaf = torch.tensor(array, requires_grad=True)
    getattr(TF, name)(torch_leaf * 1.0, *arguments).sum().backward()
    assert leaf.grad is not None and torch_leaf.grad is not None
    # PyTorch rounds hardsigmoid's 1/6 to float32 also in float64 (relative 3e-8)
    tolerance = 1e-7 if name == "hardsigmoid" else 1e-12
    np.testing.assert_allclose(leaf.grad, torch_leaf.grad.numpy(), rtol=tolerance)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        function(lw.tensor(array, requires_grad=True), *arguments, inplace=True)


def test_prelu_learns_its_slopes_as_pytorch() -> None:
    ours, theirs = nn.PReLU(3), torch.nn.PReLU(3)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    np.testing.assert_array_equal(ours.weight.data, np.full(3, 0.25, dtype=np.float32))
    assert ours.weight.dtype == np.float32 and ours.weight.requires_grad
    ours.weight.data[:] = theirs.weight.detach().numpy()[:] = [0.1, -0.2, 0.5]
    array = np.random.default_rng(5).standard_normal((4, 3, 2, 2)).astype(np.float32)
    x, reference_x = lw.tensor(array, requires_grad=True), torch.tensor(array,
                                                                        requires_grad=True)
    (ours(x) ** 2).sum().backward()
    (theirs(reference_x) ** 2).sum().backward()
    assert ours.weight.grad is not None and theirs.weight.grad is not None
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(x.grad, reference_x.grad.numpy(), rtol=1e-5)
    assert nn.PReLU(dtype=np.float64).weight.dtype == np.float64
    # A model's PReLU is trained by an optimizer like any parameter.
    model = nn.Sequential(nn.Linear(2, 2), nn.PReLU())
    assert any(p is model[1].weight for p in model.parameters())


def test_prelu_slope_at_zero_is_the_weight_and_a_0d_input_works() -> None:
    x = lw.tensor(np.array([0.0, 0.0]), requires_grad=True)
    F.prelu(x, lw.tensor(np.array([0.3]))).sum().backward()
    np.testing.assert_allclose(x.grad, [0.3, 0.3])
    assert F.prelu(lw.tensor(-2.0), np.array([0.5])).shape == ()
    assert lw.tensor([-2.0, 1.0]).prelu(np.array([0.5])).tolist() == [-1.0, 1.0]
    assert lw.prelu is F.prelu and lw.selu is F.selu
    assert lw.celu is F.celu and lw.threshold is F.threshold


def test_glu_halves_any_dim() -> None:
    array = np.random.default_rng(0).standard_normal((2, 4, 6))
    for dim in (0, 1, -1, 2, -2):
        got = F.glu(lw.tensor(array), dim)
        want = TF.glu(torch.tensor(array), dim)
        np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        F.glu(lw.tensor(array), 3)


def test_softmin_without_dim_uses_the_last_dim() -> None:
    array = np.random.default_rng(1).standard_normal((2, 3))
    np.testing.assert_allclose(nn.Softmin()(lw.tensor(array)).data,
                               TF.softmin(torch.tensor(array), dim=1).numpy(), rtol=1e-12)
    assert F.softmin(lw.tensor(array), dtype=lw.float32).dtype == np.float32


def test_set_grad_enabled_as_function_block_and_decorator() -> None:
    assert lw.is_grad_enabled()
    try:
        lw.set_grad_enabled(False)
        assert not lw.is_grad_enabled()
        assert not (lw.tensor([1.0], requires_grad=True) * 2).requires_grad
    finally:
        lw.set_grad_enabled(True)
    assert lw.is_grad_enabled()
    for mode in (False, True):
        with lw.no_grad(), lw.set_grad_enabled(mode):
            assert lw.is_grad_enabled() is mode
    assert lw.is_grad_enabled()
    with lw.set_grad_enabled(False):
        assert not lw.is_grad_enabled()
    assert lw.is_grad_enabled()

    @lw.set_grad_enabled(False)
    def predict() -> bool:
        return lw.is_grad_enabled()

    assert lw.is_grad_enabled()
    assert predict() is False and predict() is False
    assert lw.is_grad_enabled()
    with pytest.raises(TypeError, match="set_grad_enabled: mode must be True or False"):
        lw.set_grad_enabled(0)  # type: ignore[arg-type]


def test_inference_mode_is_no_grad_here() -> None:
    x = lw.tensor([1.0, 2.0], requires_grad=True)
    with lw.inference_mode():
        assert not lw.is_grad_enabled()
        assert (x * 2).grad_fn is None
    assert lw.is_grad_enabled()
    with lw.no_grad(), lw.inference_mode(False):
        assert not lw.is_grad_enabled()  # mode=False leaves the mode as it is
    with lw.inference_mode(False):
        assert lw.is_grad_enabled()

    @lw.inference_mode()
    def predict() -> bool:
        return lw.is_grad_enabled()

    assert predict() is False and lw.is_grad_enabled()

    @lw.inference_mode
    def predict_without_parentheses() -> bool:
        return lw.is_grad_enabled()

    assert predict_without_parentheses() is False and lw.is_grad_enabled()
    with pytest.raises(TypeError, match="inference_mode: mode must be True or False"):
        lw.inference_mode("yes")  # type: ignore[arg-type]


def test_bad_hyperparameters_name_the_option() -> None:
    with pytest.raises(ValueError, match="celu: alpha must not be 0"):
        F.celu(lw.zeros(2), 0.0)
    with pytest.raises(ValueError, match="Threshold: value must be a number"):
        nn.Threshold(0.5, "zero")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="PReLU: init must be a number"):
        nn.PReLU(init=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Softmin: dim must be an integer"):
        nn.Softmin("last")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"prelu: weight must hold 1 slope .* \(2, 2\)"):
        F.prelu(lw.zeros(3, 2), np.ones((2, 2)))
