"""In-place operations and the version counter, against PyTorch: what changes, what stays a
leaf, what is refused, and which backward raises (naming the op) instead of computing a
gradient from values changed since the forward pass."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import layerwise as lw


def test_the_manual_gradient_descent_loop_keeps_the_leaf() -> None:
    x = np.linspace(-1.0, 1.0, 20)
    y = 3.0 * x - 0.5
    ours = lw.tensor(0.0, dtype=np.float64, requires_grad=True)
    theirs = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    for framework, weight, inputs, targets in ((lw, ours, lw.tensor(x), lw.tensor(y)),
                                               (torch, theirs, torch.tensor(x),
                                                torch.tensor(y))):
        for _ in range(5):
            loss = (weight * inputs - targets).pow(2).sum()
            loss.backward()
            with framework.no_grad():
                weight -= 0.01 * weight.grad
                weight.grad = None
    assert ours.is_leaf and ours.requires_grad and ours.grad is None
    assert ours._version == theirs._version == 5
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)


def test_operators_change_the_tensor_itself() -> None:
    t = lw.tensor([1.0, 2.0, 3.0])
    alias = t
    data = t.data
    t += 1
    t -= lw.tensor([0.5, 0.5, 0.5])
    t *= 2
    t /= 4
    t **= 2
    assert t is alias and t.data is data
    np.testing.assert_allclose(t.data, ((np.array([1.0, 2.0, 3.0]) + 0.5) * 2 / 4) ** 2)
    assert t._version == 5


METHODS: list[tuple[str, Callable[[Any], Any]]] = [
    ("add_-alpha", lambda t: t.add_(t * 0 + 2, alpha=3)),
    ("sub_", lambda t: t.sub_(1.5)),
    ("mul_", lambda t: t.mul_(2)),
    ("div_", lambda t: t.div_(4)),
    ("pow_", lambda t: t.pow_(2)),
    ("clamp_", lambda t: t.clamp_(-0.5, 0.5)),
    ("clamp_-min", lambda t: t.clamp_(min=0.0)),
    ("zero_", lambda t: t.zero_()),
    ("fill_", lambda t: t.fill_(2.5)),
    ("copy_-broadcast", lambda t: t.copy_(t[0] * 0 + 7)),
    ("relu_", lambda t: t.relu_()),
    ("masked_fill_", lambda t: t.masked_fill_(t > 0, -1.0)),
    ("setitem-slice", lambda t: t.__setitem__((slice(None), 1), 9.0)),
    ("setitem-mask", lambda t: t.__setitem__(t < 0, 0.0)),
    ("setitem-tensor-index", lambda t: t.__setitem__(0, t[1] * 3)),
]


@pytest.mark.parametrize("change", [pytest.param(c, id=i) for i, c in METHODS])
def test_in_place_methods_match_pytorch(change: Callable[[Any], Any]) -> None:
    values = np.random.default_rng(0).standard_normal((2, 3))
    ours, theirs = lw.tensor(values.copy()), torch.tensor(values.copy())
    returned = change(ours)
    change(theirs)
    if returned is not None:
        assert returned is ours
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)
    assert ours._version == theirs._version >= 1


def test_uniform_and_normal_fill_from_the_generator() -> None:
    t = lw.zeros(1000, dtype=lw.float64)
    t.uniform_(-2.0, 3.0, generator=np.random.default_rng(0))
    assert t.data.min() >= -2.0 and t.data.max() < 3.0 and abs(t.data.mean() - 0.5) < 0.2
    t.normal_(1.0, 0.5, generator=np.random.default_rng(0))
    assert abs(t.data.mean() - 1.0) < 0.1 and abs(t.data.std() - 0.5) < 0.1
    assert t._version == 2
    with pytest.raises(TypeError, match="uniform_: expected a floating-point tensor"):
        lw.zeros(3, dtype=lw.long).uniform_()
    with pytest.raises(ValueError, match="normal_: expects std >= 0, got -1"):
        t.normal_(0.0, -1)


def test_a_leaf_that_requires_grad_is_refused_while_recording() -> None:
    w = lw.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError) as ours:
        w += 1
    theirs = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        theirs += 1
    assert "add_: a leaf tensor that requires grad cannot be changed in place while " \
           "gradients are recorded" in str(ours.value)
    assert "layerwise.no_grad()" in str(ours.value)
    np.testing.assert_array_equal(w.data, np.ones(3))  # unchanged
    for change in (lambda t: t.zero_(), lambda t: t.normal_(), lambda t: t.__setitem__(0, 2.0),
                   lambda t: t[0].mul_(2)):
        with pytest.raises(RuntimeError, match=r"leaf tensor that requires grad|a view of"):
            change(w)
    assert w._version == 0


def test_a_recorded_in_place_op_gives_pytorchs_gradients() -> None:
    values = np.array([0.5, -1.0, 2.0])

    def program(module: Any, x: Any, w: Any) -> Any:
        h = x * 3
        h += w          # recorded: h becomes the output of an add
        h.mul_(w)       # h's old values are kept for the gradient of w
        h[0] = 1.0      # recorded assignment: no gradient reaches x[0] or w[0] from here
        return (h.relu() * h).sum()

    ours = [lw.tensor(values, requires_grad=True) for _ in range(2)]
    theirs = [torch.tensor(values, requires_grad=True) for _ in range(2)]
    program(lw, *ours).backward()
    program(torch, *theirs).backward()
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine.grad, reference.grad.numpy(), rtol=1e-12)


def test_a_constant_meeting_a_tensor_that_requires_grad_joins_the_graph() -> None:
    x = lw.tensor([1.0, 2.0], requires_grad=True)
    total = lw.zeros(2, dtype=lw.float32)
    total += x * x
    assert total.requires_grad and not total.is_leaf and total.grad_fn is not None
    total.sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_backward_names_the_op_whose_saved_output_was_changed() -> None:
    x = lw.tensor([1.0, 2.0], requires_grad=True)
    y = x.sigmoid()
    y.mul_(2)  # recorded, but sigmoid kept y for its own backward
    with pytest.raises(RuntimeError) as caught:
        y.sum().backward()
    message = str(caught.value)
    assert message.startswith("Sigmoid.backward needs its output as it was in the forward pass")
    assert "is at version 1, Sigmoid saw version 0" in message
    z = torch.tensor([1.0, 2.0], requires_grad=True).sigmoid()
    z.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_backward_names_the_op_whose_saved_input_was_changed_even_without_grad() -> None:
    x = lw.tensor([1.0, 2.0], requires_grad=True)
    w = lw.tensor([3.0, 4.0])  # requires no grad, but Mul keeps it for x's gradient
    y = x * w
    w += 1
    with pytest.raises(RuntimeError, match=r"^Mul.backward needs one of its inputs as it was"):
        y.sum().backward()


def test_a_change_under_no_grad_is_seen_too() -> None:
    x = lw.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()  # Mul keeps x
    with lw.no_grad():
        x += 1
    with pytest.raises(RuntimeError, match=r"Mul\.backward needs one of its inputs"):
        y.backward()


def test_a_change_through_a_view_is_seen_by_the_viewed_tensor() -> None:
    x = lw.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x.exp()  # Exp keeps its output
    with lw.no_grad():
        y[0].zero_()  # a view of y: the shared counter moves
    assert y._version == 1
    with pytest.raises(RuntimeError, match=r"Exp\.backward needs its output"):
        y.sum().backward()


def test_changes_that_backward_does_not_need_are_allowed() -> None:
    x = lw.tensor([1.0, -2.0], requires_grad=True)
    h = x * 3         # Mul keeps x and the constant 3, not h
    h += 1
    out = h.relu()
    out.sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 0.0])
    a = lw.tensor([1.0, 2.0], requires_grad=True)
    b = a + 1         # Add keeps nothing: b may change
    b.mul_(2)
    b.sum().backward()
    np.testing.assert_allclose(a.grad, [2.0, 2.0])


def test_an_op_that_used_a_tensor_before_it_was_recorded_anew_is_refused() -> None:
    x = lw.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    z = h + 1         # uses h as it is now
    h.mul_(2)         # h becomes the output of a new op
    with pytest.raises(RuntimeError, match=r"Add\.backward cannot run: one of its inputs"):
        (z + h).sum().backward()


def test_a_view_sees_its_base_recorded_anew() -> None:
    x = lw.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    row = h[0]        # a view: it sees h's later values, and so does its gradient
    h.mul_(2)
    assert row.item() == 6.0
    row.backward()
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    ht = xt * 3
    row_t = ht[0]
    ht.mul_(2)
    row_t.backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy())


def test_an_in_place_change_through_a_view_is_refused_while_recording() -> None:
    h = lw.tensor([1.0, 2.0], requires_grad=True) * 1
    with pytest.raises(RuntimeError, match="mul_: this tensor is a view of another one"):
        h[0].mul_(2)
    with lw.no_grad():
        h[0].mul_(2)  # allowed without recording, as in PyTorch
    assert h.data[0] == 2.0


def test_results_of_the_wrong_shape_or_kind_are_refused() -> None:
    t = lw.zeros(3)
    with pytest.raises(ValueError, match=r"add_: the result has shape \(2, 3\) but the tensor "
                                         r"changed in place has shape \(3,\)"):
        t += lw.ones(2, 3)
    ints = lw.zeros(3, dtype=lw.long)
    with pytest.raises(TypeError, match="add_: the result is float32 but the tensor is int64"):
        ints += 0.5
    with pytest.raises(TypeError, match="div_: the result is float32 but the tensor is int64"):
        ints /= 2
    ints += 2          # int into int is fine, and float64 into float32 too
    t += lw.ones(3, dtype=lw.float64)
    assert ints.tolist() == [2, 2, 2] and t.dtype == np.float32
    with pytest.raises(RuntimeError, match=r"add_: this tensor's memory is read-only"):
        lw.ones(3, 1).expand(3, 2).add_(1)
    with pytest.raises(ValueError, match="fill_: the value must be a number or a 0-d tensor"):
        t.fill_(lw.ones(3))
    with pytest.raises(ValueError, match=r"copy_: a source of shape \(2,\) does not broadcast"):
        t.copy_(lw.ones(2))


def test_grad_is_a_tensor_written_as_pytorch_code_writes_it() -> None:
    layer = lw.nn.Linear(3, 2)
    layer(lw.ones(4, 3)).sum().backward()
    grad = layer.weight.grad
    assert isinstance(grad, lw.Tensor) and not grad.requires_grad
    norm = grad.norm()
    np.testing.assert_allclose(norm.item(), np.linalg.norm(grad.data), rtol=1e-6)
    grad.zero_()
    assert not layer.weight.grad.data.any()
    layer.weight.grad = np.ones((2, 3), dtype=np.float32)  # an ndarray is wrapped
    assert isinstance(layer.weight.grad, lw.Tensor)
    layer.weight.grad = None
    assert layer.weight.grad is None
    with pytest.raises(TypeError, match="grad must be a Tensor, an ndarray or None, got str"):
        layer.weight.grad = "zeros"


def test_detach_shares_memory_and_version() -> None:
    x = lw.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    detached = y.detach()
    detached.zero_()
    assert y.data[0] == 0.0 and y._version == 1
    with pytest.raises(RuntimeError, match=r"Exp\.backward needs its output"):
        y.sum().backward()
    z = (x * 1).detach_()
    assert z.is_leaf and not z.requires_grad and z.grad_fn is None
