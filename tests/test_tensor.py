"""The Tensor API: construction and dtypes, array facts, operators and methods."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

import layerwise as lw


@pytest.fixture
def float64_default() -> Iterator[None]:
    lw.set_default_dtype(np.float64)
    yield
    lw.set_default_dtype(np.float32)


def test_python_floats_take_the_default_dtype() -> None:
    assert lw.get_default_dtype() == np.float32
    assert lw.tensor([1.0, 2.0]).dtype == np.float32
    assert lw.tensor(3.5).dtype == np.float32


def test_set_default_dtype_changes_python_floats(float64_default: None) -> None:
    assert lw.tensor([1.0, 2.0]).dtype == np.float64


def test_set_default_dtype_refuses_non_floats() -> None:
    with pytest.raises(TypeError, match="floating-point dtype, got int64"):
        lw.set_default_dtype(np.int64)


def test_numpy_arrays_keep_their_dtype_and_memory() -> None:
    data = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = lw.tensor(data)
    assert t.dtype == np.float64 and t.data is data
    assert lw.tensor(np.arange(3)).dtype == np.int64


def test_python_ints_are_int64_unless_they_require_grad() -> None:
    assert lw.tensor([0, 2, 1]).dtype == np.int64
    assert lw.tensor([True, False]).dtype == np.bool_
    assert lw.tensor([1, 2], requires_grad=True).dtype == np.float32
    assert lw.tensor([1, 2], dtype=np.float64).dtype == np.float64


def test_integer_arrays_cannot_require_grad() -> None:
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients, "
                                        "got dtype int64"):
        lw.tensor(np.arange(3), requires_grad=True)


def test_numbers_take_the_dtype_of_the_tensor_they_meet() -> None:
    x = lw.tensor(np.ones(2, dtype=np.float32))
    assert (x * 2).dtype == np.float32
    assert (2.5 + x).dtype == np.float32
    assert (x**2).dtype == np.float32
    # As in PyTorch: dividing integers, or meeting a Python float, gives the default dtype,
    # and a float32 tensor keeps its dtype against int64 tensors and float64 0-d tensors.
    assert (lw.tensor(np.arange(3)) / 2).dtype == np.float32
    assert (lw.tensor(np.arange(3)) + 0.5).dtype == np.float32
    assert (x * lw.tensor(np.arange(2))).dtype == np.float32
    assert (x * lw.tensor(np.float64(2.0))).dtype == np.float32
    assert (lw.tensor(np.arange(2)) * lw.tensor(np.float64(2.0))).dtype == np.float64


def test_array_facts() -> None:
    t = lw.tensor(np.zeros((2, 3, 4)))
    assert (t.shape, t.ndim, t.numel(), len(t)) == ((2, 3, 4), 3, 24, 2)
    assert (t.size(), t.size(1), t.size(-1), t.dim()) == ((2, 3, 4), 3, 4, 3)
    assert lw.tensor([[2.5]]).item() == 2.5
    with pytest.raises(ValueError, match=r"one element, got shape \(2, 3, 4\)"):
        t.item()


def test_data_and_grad_are_writable_and_settable() -> None:
    t = lw.tensor(np.zeros(3), requires_grad=True)
    t.data[0] = 5.0
    t.data = np.ones(3)
    t.grad = np.full(3, 2.0)
    (t * 1).sum().backward()
    np.testing.assert_array_equal(t.grad, [3.0, 3.0, 3.0])


def test_detach_and_numpy_share_data_without_the_graph() -> None:
    x = lw.tensor(np.ones(3), requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.data is y.data and not d.requires_grad and d.grad_fn is None
    assert y.numpy() is y.data


def test_operators_and_reflected_operators_match_numpy() -> None:
    a_np, b_np = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -1.5])
    a, b = lw.tensor(a_np), lw.tensor(b_np)
    cases = {
        "add": (a + b, a_np + b_np), "radd": (1 + a, 1 + a_np), "sub": (a - b, a_np - b_np),
        "rsub": (1 - a, 1 - a_np), "mul": (a * b, a_np * b_np), "rmul": (2 * a, 2 * a_np),
        "div": (a / b, a_np / b_np), "rdiv": (1 / a, 1 / a_np), "pow": (a**2, a_np**2),
        "rpow": (2**a, 2**a_np), "matmul": (a @ b, a_np @ b_np), "rmatmul": (b_np @ a, b_np @ a_np),
        "neg": (-a, -a_np), "abs": (abs(b), np.abs(b_np)), "array-left": (a_np + a, 2 * a_np),
    }
    for name, (ours, expected) in cases.items():
        assert isinstance(ours, lw.Tensor), name
        np.testing.assert_allclose(ours.data, expected, err_msg=name)


def test_comparisons_give_bool_tensors_without_gradient() -> None:
    a = lw.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (a > 1.5, a >= 2, a < 2, a <= 2, a == 2, a != lw.tensor([1.0, 0.0, 3.0])):
        assert isinstance(result, lw.Tensor) and result.dtype == np.bool_
        assert not result.requires_grad and result.grad_fn is None
    np.testing.assert_array_equal(a > 1.5, [False, True, True])


def test_indexing_matches_numpy() -> None:
    data = np.arange(12.0).reshape(3, 4)
    t = lw.tensor(data)
    np.testing.assert_array_equal(t[1].data, data[1])
    np.testing.assert_array_equal(t[:, 1:3].data, data[:, 1:3])
    np.testing.assert_array_equal(t[lw.tensor([2, 0])].data, data[[2, 0]])


def test_methods_match_pytorch() -> None:
    data = np.random.default_rng(0).standard_normal((3, 4))
    t, ref = lw.tensor(data), torch.tensor(data)
    pairs = [
        (t.sum(), ref.sum()), (t.sum(axis=0), ref.sum(0)), (t.mean(axis=1, keepdims=True),
                                                          ref.mean(1, keepdim=True)),
        (t.max(axis=1), ref.amax(1)), (t.min(), ref.amin()), (t.exp(), ref.exp()),
        (t.abs().log(), ref.abs().log()), (t.abs().sqrt(), ref.abs().sqrt()),
        (t.reshape(4, 3), ref.reshape(4, 3)), (t.reshape((2, 6)), ref.reshape(2, 6)),
        (t.transpose(), ref.T), (t.T, ref.T), (t.relu(), ref.relu()),
        (t.sigmoid(), ref.sigmoid()), (t.tanh(), ref.tanh()),
        (t.softmax(), ref.softmax(-1)), (t.log_softmax(axis=0), ref.log_softmax(0)),
        (t.clip(-0.5, 0.5), ref.clamp(-0.5, 0.5)), (t.flatten(), ref.flatten()),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)


def test_repr_shows_values_and_graph() -> None:
    x = lw.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert "grad_fn=Mul" in repr(x * 2)
    assert "dtype=int64" in repr(lw.tensor([1, 2]))


def test_constructors() -> None:
    assert lw.zeros((2, 3)).dtype == np.float32 and not lw.zeros(2).data.any()
    assert lw.ones(3, dtype=np.float64, requires_grad=True).requires_grad
    np.testing.assert_array_equal(lw.full((2,), 7.0).data, [7.0, 7.0])
    assert lw.zeros_like(np.ones((2, 2), dtype=np.float64)).dtype == np.float64
    np.testing.assert_array_equal(lw.ones_like(lw.zeros(3)).data, np.ones(3))
    assert lw.arange(5).dtype == np.int64 and lw.arange(0.0, 1.0, 0.25).dtype == np.float32
    first = lw.randn((3, 2), rng=np.random.default_rng(0)).data
    np.testing.assert_array_equal(first, lw.randn((3, 2), rng=np.random.default_rng(0)).data)
    assert ((lw.rand(100).data >= 0) & (lw.rand(100).data < 1)).all()
