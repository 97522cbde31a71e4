"""The checking tools themselves: they pass what is right and report what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

import layerwise as lw
import layerwise.functional as F
from layerwise.ops import Op


class BadSquare(Op):
    """y = x^2 with a deliberately wrong backward (x instead of 2x)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x * x

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * self.x,)


def test_numerical_grad_is_the_central_difference() -> None:
    grad = lw.numerical_grad(lambda v: (v**3).sum(), np.array([1.0, 2.0]), h=1e-3)
    # (x+h)^3 - (x-h)^3 over 2h = 3x^2 + h^2
    np.testing.assert_allclose(grad, 3 * np.array([1.0, 2.0]) ** 2 + 1e-6, rtol=1e-9)


def test_gradcheck_passes_a_small_network_end_to_end() -> None:
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((4, 5)), np.array([0, 2, 1, 2])
    W1, b1 = rng.standard_normal((6, 5)), rng.standard_normal(6)
    W2, b2 = rng.standard_normal((3, 6)), rng.standard_normal(3)

    def network(x: lw.Tensor, W1: lw.Tensor, b1: lw.Tensor, W2: lw.Tensor, b2: lw.Tensor,
                labels: lw.Tensor) -> lw.Tensor:
        hidden = F.tanh(F.linear(x, W1, b1))
        return F.cross_entropy(F.linear(hidden, W2, b2), labels)

    assert lw.gradcheck(network, [x, W1, b1, W2, b2, labels])


def test_gradcheck_reports_the_input_element_and_values() -> None:
    with pytest.raises(lw.GradcheckError) as failure:
        lw.gradcheck(lambda a, b: BadSquare.apply(a) * b,
                     [np.array([1.0, 2.0]), np.array([1.0, 1.0])])
    message = str(failure.value)
    assert "input 0 (shape (2,))" in message
    assert "analytic 2 vs numerical 4" in message and "relative error 0.5" in message
    assert "kink" not in message


def test_gradcheck_can_return_false() -> None:
    assert lw.gradcheck(BadSquare.apply, [np.array([3.0])], raise_exception=False) is False


def test_gradcheck_hints_at_a_kink() -> None:
    with pytest.raises(lw.GradcheckError, match=r"within eps=1e-06 of a kink: the slope is 0.2 "
                                                r"on the left and 1 on the right"):
        lw.gradcheck(F.relu, [np.array([2e-7, 1.0])])


def test_gradcheck_perturbs_inputs_that_are_not_c_ordered() -> None:
    """A transposed input is checked too, not seen as a constant (numerical gradient 0)."""
    transposed = np.arange(1.0, 7.0).reshape(2, 3).T
    assert lw.gradcheck(lambda a: (a * a).sum(), [transposed])
    with pytest.raises(lw.GradcheckError, match="analytic 4 vs numerical 8"):
        lw.gradcheck(BadSquare.apply, [np.asfortranarray([[1.0, 2.0], [3.0, 4.0]])])


def test_jacobian_of_a_linear_map_is_its_matrix() -> None:
    W = np.random.default_rng(0).standard_normal((3, 4))
    J = lw.jacobian(lambda x: lw.matmul(W, x), np.ones(4))
    np.testing.assert_allclose(J, W)


def test_jacobian_of_softmax_is_diag_p_minus_p_pt() -> None:
    x = np.array([0.5, -1.0, 2.0])
    p = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(lw.jacobian(F.softmax, x), np.diag(p) - np.outer(p, p),
                               atol=1e-15)
