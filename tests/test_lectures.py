"""The lectures' worked examples (seeds 000-004), each checked the way the lecture computes it.

All in float64: the point is the math, not float32 rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import layerwise as lw
import layerwise.functional as F


def leaf(value: object) -> lw.Tensor:
    return lw.tensor(np.asarray(value, dtype=np.float64), requires_grad=True)


def sigmoid(z: np.ndarray | float) -> np.ndarray:
    return 1 / (1 + np.exp(-np.asarray(z, dtype=np.float64)))


# --- seed 003: finite differences and the analytic gradient ------------------------------------


def f_003(x1: Any, x2: Any) -> Any:
    """f(x1, x2) = (2 x1 + 3 x2)^2 + 3, on numbers, arrays or Tensors."""
    return (2 * x1 + 3 * x2) ** 2 + 3


def test_f_at_1_3_has_df_dx1_44_analytically() -> None:
    x1, x2 = leaf(1.0), leaf(3.0)
    f_003(x1, x2).backward()
    # df/dx1 = 2 (2 x1 + 3 x2) * 2 = 4 * 11;  df/dx2 = 2 (2 x1 + 3 x2) * 3 = 6 * 11
    assert x1.grad == pytest.approx(44, abs=1e-12)
    assert x2.grad == pytest.approx(66, abs=1e-12)


def test_f_at_1_3_has_df_dx1_44_by_the_lectures_symmetric_difference() -> None:
    h = 2e-2
    f_plus, f_minus = f_003(1 + h / 2, 3), f_003(1 - h / 2, 3)
    assert f_plus == pytest.approx(124.4404, abs=1e-9)
    assert f_minus == pytest.approx(123.5604, abs=1e-9)
    assert (f_plus - f_minus) / h == pytest.approx(44, abs=1e-9)


def test_f_at_1_3_has_df_dx1_44_by_numerical_grad() -> None:
    # f is quadratic: the h^2 error term of central differences is zero, so even this large h
    # gives 44 up to rounding.
    grad = lw.numerical_grad(lambda x: f_003(x[0], x[1]), np.array([1.0, 3.0]), h=2e-2)
    np.testing.assert_allclose(grad, [44.0, 66.0], rtol=0, atol=1e-9)


# --- seed 002: q = x + y, f = q z ---------------------------------------------------------------


def test_q_equals_x_plus_y_f_equals_q_z() -> None:
    x, y, z = leaf(-2.0), leaf(5.0), leaf(-4.0)
    q = x + y
    f = q * z
    f.backward()
    assert q.item() == 3.0 and f.item() == -12.0
    df_dq = z.item()                 # upstream gradient of q
    assert x.grad == 1.0 * df_dq == -4.0  # local dq/dx = 1 times upstream
    assert y.grad == 1.0 * df_dq == -4.0
    assert z.grad == q.item() == 3.0


def test_q_equals_x_plus_y_f_equals_q_z_with_the_ops_alone() -> None:
    add, mul = lw.ops.Add(), lw.ops.Mul()
    q = add.forward(np.array(-2.0), np.array(5.0))
    f = mul.forward(q, np.array(-4.0))
    grad_q, grad_z = mul.backward(np.array(1.0))
    grad_x, grad_y = add.backward(grad_q)
    assert (f, grad_q, grad_z, grad_x, grad_y) == (-12.0, -4.0, 3.0, -4.0, -4.0)


# --- seed 001: the sigmoid neuron, local gradient x upstream gradient ----------------------------

W_NEURON, X_NEURON = (2.0, -3.0, -3.0), (-1.0, -2.0)


def sigmoid_neuron(w0: lw.Tensor, w1: lw.Tensor, w2: lw.Tensor, x0: lw.Tensor,
                   x1: lw.Tensor) -> lw.Tensor:
    """f = sigmoid(w0 x0 + w1 x1 + w2)."""
    return F.sigmoid(w0 * x0 + w1 * x1 + w2)


def test_sigmoid_neuron_gradients_are_local_times_upstream() -> None:
    (w0, w1, w2), (x0, x1) = map(leaf, W_NEURON), map(leaf, X_NEURON)
    f = sigmoid_neuron(w0, w1, w2, x0, x1)
    f.backward()

    z = 2.0 * -1.0 + -3.0 * -2.0 + -3.0
    assert z == 1.0
    s = sigmoid(z)
    assert f.item() == pytest.approx(s, abs=1e-15)
    upstream = s * (1 - s) * 1.0  # local gradient of the sigmoid times df/df = 1
    assert x0.grad == pytest.approx(w0.item() * upstream, abs=1e-15)
    assert w0.grad == pytest.approx(x0.item() * upstream, abs=1e-15)
    assert x1.grad == pytest.approx(w1.item() * upstream, abs=1e-15)
    assert w1.grad == pytest.approx(x1.item() * upstream, abs=1e-15)
    assert w2.grad == pytest.approx(1.0 * upstream, abs=1e-15)


def test_sigmoid_neuron_matches_the_slides_rounded_values() -> None:
    (w0, w1, w2), (x0, x1) = map(leaf, W_NEURON), map(leaf, X_NEURON)
    f = sigmoid_neuron(w0, w1, w2, x0, x1)
    f.backward()
    s = f.item()
    assert round(s, 2) == 0.73
    assert round(s * (1 - s), 1) == 0.2
    gradients = [x0.grad, w0.grad, x1.grad, w1.grad, w2.grad]
    assert [round(float(g), 2) for g in gradients] == [0.39, -0.20, -0.59, -0.39, 0.20]


def test_sigmoid_neuron_gradients_by_central_differences() -> None:
    point = np.array([*W_NEURON, *X_NEURON])
    numerical = lw.numerical_grad(lambda v: sigmoid(v[0] * v[3] + v[1] * v[4] + v[2]), point)
    tensors = [leaf(value) for value in point]
    sigmoid_neuron(*tensors).backward()
    analytic = np.array([t.grad for t in tensors])
    np.testing.assert_allclose(analytic, numerical, rtol=0, atol=1e-9)


def test_the_total_derivative_sums_over_every_path_for_vectors() -> None:
    x = leaf([1.0])
    (x * x * x).sum().backward()  # three uses of x: 3 x^2
    np.testing.assert_array_equal(x.grad, [3.0])


def test_the_total_derivative_sums_over_every_path_for_scalars() -> None:
    x = leaf(1.0)
    (x * x * x).backward()  # three uses of x: 3 x^2
    assert x.grad == 3.0 and type(x.grad.data) is np.ndarray  # a 0-d array, not a NumPy scalar
    (x * x + x).backward()
    assert x.grad == 3.0 + 3.0 and type(x.grad.data) is np.ndarray


# --- seed 001: softmax and cross-entropy ---------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_softmax_cross_entropy_gradient_is_p_minus_onehot(reduction: str) -> None:
    rng = np.random.default_rng(0)
    N, C = 6, 4
    scores = rng.standard_normal((N, C))
    labels = np.array([0, 3, 1, 1, 2, 3])
    logits = leaf(scores)
    F.cross_entropy(logits, labels, reduction=reduction).backward()

    p = F.softmax(scores).numpy()
    per_sample = p - F.one_hot(labels, C, dtype=np.float64)
    expected = per_sample / N if reduction == "mean" else per_sample
    np.testing.assert_allclose(logits.grad, expected, rtol=0, atol=1e-15)


def test_softmax_cross_entropy_loss_is_minus_log_p_of_the_label() -> None:
    scores = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])
    labels = np.array([0, 1])
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    loss = F.cross_entropy(scores, labels).item()
    assert loss == pytest.approx(-np.log(p[[0, 1], labels]).mean(), abs=1e-15)


# --- seeds 001 and 002: Jacobians ---------------------------------------------------------------


def test_jacobian_of_elementwise_sigmoid_is_diagonal_with_s_1_minus_s() -> None:
    a = np.array([-3.0, -0.5, 0.0, 0.7, 4.0])
    J = lw.jacobian(F.sigmoid, a)
    s = sigmoid(a)
    assert J.shape == (5, 5)
    assert (J[~np.eye(5, dtype=bool)] == 0).all()
    np.testing.assert_allclose(np.diag(J), s * (1 - s), rtol=1e-15)


def test_jacobian_of_y_equals_W_x_is_W() -> None:
    W = np.random.default_rng(1).standard_normal((3, 4))
    np.testing.assert_array_equal(lw.jacobian(lambda x: W @ x, np.ones(4)), W)


# --- seeds 000 and 004: the fully connected layer ------------------------------------------------


def test_fully_connected_layer_gives_delta_xT_and_WT_delta() -> None:
    rng = np.random.default_rng(2)
    W = rng.standard_normal((2, 3))      # two neurons, three inputs
    x = rng.standard_normal((3, 1))      # a column vector
    delta = rng.standard_normal((2, 1))  # dL/dy
    layer = lw.ops.Linear()
    y = layer.forward(x.T, W)            # layerwise stores a sample as a row
    np.testing.assert_allclose(y.T, W @ x)
    grad_x, grad_W = layer.backward(delta.T)
    np.testing.assert_allclose(grad_W, delta @ x.T)  # dL/dW = delta x^T
    np.testing.assert_allclose(grad_x.T, W.T @ delta)  # dL/dx = W^T delta


def test_fully_connected_layer_sums_delta_xT_over_a_batch() -> None:
    rng = np.random.default_rng(3)
    X, W, grad_Y = (rng.standard_normal(shape) for shape in [(5, 3), (2, 3), (5, 2)])
    layer = lw.ops.Linear()
    layer.forward(X, W)
    grad_X, grad_W = layer.backward(grad_Y)
    np.testing.assert_allclose(grad_W, sum(np.outer(grad_Y[n], X[n]) for n in range(5)))
    np.testing.assert_allclose(grad_X, np.stack([W.T @ grad_Y[n] for n in range(5)]))


def test_bias_is_a_weight_on_a_constant_input_1() -> None:
    rng = np.random.default_rng(4)
    x, W, b, delta = (rng.standard_normal(shape) for shape in [(1, 3), (2, 3), (2,), (1, 2)])
    with_bias, augmented = lw.ops.Linear(), lw.ops.Linear()
    y = with_bias.forward(x, W, b)
    y_augmented = augmented.forward(np.hstack([x, [[1.0]]]), np.hstack([W, b[:, None]]))
    np.testing.assert_allclose(y, y_augmented)
    _, grad_W, grad_b = with_bias.backward(delta)
    _, grad_W_augmented = augmented.backward(delta)
    np.testing.assert_allclose(grad_W, grad_W_augmented[:, :3])
    np.testing.assert_allclose(grad_b, grad_W_augmented[:, 3])


def test_single_linear_layer_with_l2_loss() -> None:
    # L = 1/2 ||W x - y||^2:  dL/dW = (W x - y) x^T,  dL/dx = W^T (W x - y)
    rng = np.random.default_rng(5)
    x, target = leaf(rng.standard_normal((3, 1))), rng.standard_normal((2, 1))
    W = leaf(rng.standard_normal((2, 3)))
    loss = 0.5 * ((W @ x - target) ** 2).sum()
    loss.backward()
    residual = W.data @ x.data - target
    np.testing.assert_allclose(W.grad, residual @ x.data.T)
    np.testing.assert_allclose(x.grad, W.data.T @ residual)


def test_three_nested_linear_layers_with_l2_loss() -> None:
    # L = 1/2 ||W3 W2 W1 x - y||^2, e = W3 W2 W1 x - y
    rng = np.random.default_rng(6)
    x, target = rng.standard_normal((4, 1)), rng.standard_normal((2, 1))
    W1, W2, W3 = (leaf(rng.standard_normal(shape)) for shape in [(5, 4), (3, 5), (2, 3)])
    loss = 0.5 * ((W3 @ (W2 @ (W1 @ x)) - target) ** 2).sum()
    loss.backward()
    A1, A2, A3 = W1.data, W2.data, W3.data
    e = A3 @ A2 @ A1 @ x - target
    np.testing.assert_allclose(W3.grad, e @ (A2 @ A1 @ x).T)
    np.testing.assert_allclose(W2.grad, A3.T @ e @ (A1 @ x).T)
    np.testing.assert_allclose(W1.grad, A2.T @ A3.T @ e @ x.T)


def test_three_nested_linear_layers_backpropagated_by_hand_with_linear_ops() -> None:
    rng = np.random.default_rng(6)
    x, target = rng.standard_normal((4, 1)), rng.standard_normal((2, 1))
    W1, W2, W3 = (rng.standard_normal(shape) for shape in [(5, 4), (3, 5), (2, 3)])
    layers = [lw.ops.Linear() for _ in range(3)]
    h = x.T
    for layer, W in zip(layers, [W1, W2, W3], strict=True):
        h = layer.forward(h, W)
    delta = h - target.T
    grads_W = []
    for layer in reversed(layers):
        delta, grad_W = layer.backward(delta)
        grads_W.insert(0, grad_W)
    e = W3 @ W2 @ W1 @ x - target
    np.testing.assert_allclose(grads_W[2], e @ (W2 @ W1 @ x).T)
    np.testing.assert_allclose(grads_W[1], W3.T @ e @ (W1 @ x).T)
    np.testing.assert_allclose(grads_W[0], W2.T @ W3.T @ e @ x.T)
    np.testing.assert_allclose(delta.T, W1.T @ W2.T @ W3.T @ e)
