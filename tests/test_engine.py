"""The engine: graph order, accumulation, freeing, checks on what ops return."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import layerwise as lw
import layerwise.functional as F
from layerwise.ops import Op


def leaf(values: object) -> lw.Tensor:
    return lw.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_diamond_graph_sums_both_paths() -> None:
    a = leaf([1.5, -2.0])
    b, c = a * 2, a * 3
    (b * c).sum().backward()  # 6 a^2
    np.testing.assert_allclose(a.grad, 12 * a.data)


def test_value_used_twice_gets_both_contributions() -> None:
    x = leaf(3.0)
    (x * x).backward()
    assert x.grad == 6.0


def test_chain_of_100000_ops_backpropagates_without_recursion() -> None:
    x = leaf([1.0, 2.0])
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_gradients_accumulate_across_backward_calls() -> None:
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 3 + 2 * x.data)
    x.zero_grad()
    assert x.grad is None


def test_broadcast_input_gets_gradient_of_its_own_shape() -> None:
    bias = leaf([1.0, 2.0, 3.0])
    x = leaf(np.ones((4, 3)))
    (x + bias).sum().backward()
    np.testing.assert_array_equal(bias.grad, [4.0, 4.0, 4.0])


def test_no_grad_records_nothing() -> None:
    x = leaf([1.0])
    with lw.no_grad():
        y = x * 2
        assert not lw.is_grad_enabled()
        with lw.enable_grad():
            z = x * 2
    assert lw.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_no_grad_as_decorator() -> None:
    @lw.no_grad()
    def infer(t: lw.Tensor) -> lw.Tensor:
        return t * 2

    assert not infer(leaf([1.0])).requires_grad
    assert lw.is_grad_enabled()


def test_leaf_gradients_never_share_memory() -> None:
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    upstream = np.array([1.0, 1.0])
    (a + b).backward(upstream)
    assert a.grad is not None and b.grad is not None
    assert not np.shares_memory(a.grad, b.grad)
    assert not np.shares_memory(a.grad, upstream) and not np.shares_memory(b.grad, upstream)
    a.grad *= 10
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


def test_leaf_gradient_from_a_broadcast_view_is_writable() -> None:
    x = leaf(np.ones((2, 3)))
    x.sum().backward()
    assert x.grad is not None and x.grad.data.flags.writeable
    x.grad *= 2


def test_cached_arrays_are_freed_after_backward() -> None:
    x = leaf(np.ones(3))
    doubled = x * 2
    y = F.relu(doubled)
    cached = weakref.ref(y.grad_fn.positive)  # type: ignore[union-attr]
    y.sum().backward()
    gc.collect()
    assert cached() is None, "relu's mask outlived backward"
    assert type(y.grad_fn).__name__ == "ReLU" and y.grad_fn.released  # still inspectable
    assert "grad_fn=ReLU" in repr(y)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        doubled.sum().backward()


def test_retain_graph_allows_a_second_backward() -> None:
    x = leaf([2.0])
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad == 8.0


def test_retain_grad_keeps_an_intermediate_gradient() -> None:
    x = leaf([1.0, -1.0])
    hidden = (x * 3).retain_grad()
    (hidden * hidden).sum().backward()
    np.testing.assert_allclose(hidden.grad, 2 * hidden.data)
    np.testing.assert_allclose(x.grad, 18 * x.data)


def test_grad_returns_gradients_without_touching_dot_grad() -> None:
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    hidden = x * w
    grad_x, grad_hidden = lw.grad(hidden.sum(), [x, hidden])
    np.testing.assert_array_equal(grad_x, w.data)
    np.testing.assert_array_equal(grad_hidden, [1.0, 1.0])
    assert x.grad is None and w.grad is None


def test_backward_needs_a_gradient_for_non_scalar_outputs() -> None:
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(RuntimeError, match=r"one-element output .* got shape \(2,\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"expected a gradient of shape \(2,\), got \(3,\)"):
        y.backward(np.ones(3))


def test_backward_on_a_constant_says_why_it_cannot() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        lw.tensor([1.0]).sum().backward()


class WrongShape(Op):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return x * 2

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y[:-1],)


class WrongCount(Op):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return grad_y, grad_y


def test_engine_names_the_op_that_returns_a_wrong_shape() -> None:
    y = WrongShape.apply(leaf([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"WrongShape.backward returned a gradient of shape "
                                         r"\(2,\) for input 0, which has shape \(3,\)"):
        y.sum().backward()


def test_engine_names_the_op_that_returns_too_many_gradients() -> None:
    y = WrongCount.apply(leaf([1.0]))
    with pytest.raises(TypeError, match=r"WrongCount.backward must return a tuple with one "
                                        r"gradient per input \(1\), got 2"):
        y.sum().backward()


class Cube(Op):
    """y = x^3.  Backward: grad_x = 3 x^2 grad_y."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x**3

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (3 * self.x**2 * grad_y,)


def test_a_user_op_joins_the_graph_and_passes_gradcheck() -> None:
    x = leaf([1.0, -2.0])
    (Cube.apply(x) * 2).sum().backward()
    np.testing.assert_allclose(x.grad, 6 * x.data**2)
    assert lw.gradcheck(Cube.apply, [np.array([0.3, -1.2, 2.0])])


def test_ops_skip_gradients_nobody_needs() -> None:
    images = lw.tensor(np.ones((2, 4)))
    weight = leaf(np.ones((3, 4)))
    out = F.linear(images, weight)
    assert out.grad_fn is not None and out.grad_fn.needs_grad == (False, True)
    grad_x, grad_W = out.grad_fn.backward(np.ones((2, 3)))
    assert grad_x is None and grad_W is not None


def test_float32_stays_float32_through_forward_and_backward() -> None:
    x = lw.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    W = lw.tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True)
    loss = F.cross_entropy(F.linear(x, W) * 0.5 + 1, np.array([0, 3]))
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad is not None and x.grad.dtype == np.float32
    assert W.grad is not None and W.grad.dtype == np.float32


def test_detect_anomaly_names_the_op_in_forward() -> None:
    x = leaf([0.0, 1.0])
    with (lw.detect_anomaly(), np.errstate(divide="ignore"),
          pytest.raises(FloatingPointError, match=r"Log forward produced inf .*\(2,\)")):
        lw.log(x)
    with np.errstate(divide="ignore"):
        assert np.isinf(lw.log(x).data[0])  # outside the context nothing is checked


def test_detect_anomaly_names_the_op_in_backward() -> None:
    x = leaf([0.0, 4.0])
    with lw.detect_anomaly(), np.errstate(divide="ignore"):
        y = lw.sqrt(x).sum()
        with pytest.raises(FloatingPointError, match="Sqrt backward produced inf in the "
                                                     "gradient for input 0"):
            y.backward()
