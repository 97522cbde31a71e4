"""gradcheck: every analytic gradient against central finite differences, in float64."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from layerwise import engine
from layerwise.check.numerical import outputs_of
from layerwise.settings import no_grad
from layerwise.tensor import Tensor, as_array


class GradcheckError(RuntimeError):
    """An analytic gradient disagrees with finite differences; the message says where."""


@dataclass
class Mismatch:
    """The worst disagreement found for one input."""

    input_index: int
    output_index: tuple[int, ...]
    element: tuple[int, ...]
    analytic: float
    numerical: float
    kink_hint: str

    @property
    def relative_error(self) -> float:
        scale = max(abs(self.analytic), abs(self.numerical), 1e-300)
        return abs(self.analytic - self.numerical) / scale

    def describe(self, shape: tuple[int, ...]) -> str:
        return (
            f"gradcheck failed for input {self.input_index} (shape {shape}) at element "
            f"{self.element}, output element {self.output_index}: analytic "
            f"{self.analytic:.10g} vs numerical {self.numerical:.10g} (relative error "
            f"{self.relative_error:.3g}){self.kink_hint}")


def gradcheck(fn: Callable[..., Tensor], inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check every input's analytic gradient of fn against central finite differences.

    Floating-point inputs are copied to float64 and made to require grad; other inputs
    (integer labels, boolean masks) are passed unchanged. For every output element the
    analytic Jacobian row (one backward pass) must match
    (fn(x + eps e_k) - fn(x - eps e_k)) / 2 eps within atol + rtol * |numerical|.

    Args:
        fn: takes the inputs as Tensors, returns a Tensor of any shape.
        inputs: an array or Tensor, or a sequence of them.
    Returns:
        True when all gradients match; False on a mismatch if raise_exception is False.
    Raises:
        GradcheckError: naming the input, the worst element, the analytic and numerical
            values and their relative error, with a hint when the point sits within eps of
            a kink (where the one-sided slopes differ).
    """
    values = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
    arrays = [_as_float64(value) for value in values]
    checked = [i for i, a in enumerate(arrays) if a.dtype == np.float64]
    analytic = _analytic_jacobians(fn, arrays, checked)
    for position, index in enumerate(checked):
        numerical = _numerical_jacobian(fn, arrays, index, eps)
        mismatch = _worst_mismatch(analytic[position], numerical, atol, rtol)
        if mismatch is None:
            continue
        output_flat, element_flat = mismatch
        result = Mismatch(
            input_index=index,
            output_index=_unravel(output_flat, _output_shape(fn, arrays)),
            element=_unravel(element_flat, arrays[index].shape),
            analytic=float(analytic[position][output_flat, element_flat]),
            numerical=float(numerical[output_flat, element_flat]),
            kink_hint=_kink_hint(fn, arrays, index, element_flat, output_flat, eps, atol, rtol),
        )
        if raise_exception:
            raise GradcheckError(result.describe(arrays[index].shape))
        return False
    return True


def gradient_error(fn: Callable[..., Tensor], inputs: Any, eps: float = 1e-6) -> float:
    """The largest relative error between analytic and finite-difference Jacobians.

    For each floating input, max |analytic - numerical| / max |numerical| over all of its
    Jacobian's entries (normwise, so entries near 0 do not inflate it); the worst input wins.
    """
    values = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
    arrays = [_as_float64(value) for value in values]
    checked = [i for i, a in enumerate(arrays) if a.dtype == np.float64]
    worst = 0.0
    for analytic, index in zip(_analytic_jacobians(fn, arrays, checked), checked, strict=True):
        numerical = _numerical_jacobian(fn, arrays, index, eps)
        if numerical.size:
            scale = max(float(np.abs(numerical).max()), 1e-12)
            worst = max(worst, float(np.abs(analytic - numerical).max()) / scale)
    return worst


def _as_float64(value: Any) -> np.ndarray:
    array = as_array(value)
    if array.dtype.kind == "f":
        # C order: the finite differences perturb the array through reshape(-1), which is a
        # view (not a copy that would leave the point unchanged) only of a C-ordered array
        return np.array(array, dtype=np.float64, order="C")
    return array


def _output_shape(fn: Callable[..., Tensor], arrays: list[np.ndarray]) -> tuple[int, ...]:
    with no_grad():
        return tuple(fn(*(Tensor(a) for a in arrays)).shape)


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def _analytic_jacobians(fn: Callable[..., Tensor], arrays: list[np.ndarray],
                        checked: list[int]) -> list[np.ndarray]:
    tensors = [Tensor(a.copy(), requires_grad=i in checked) for i, a in enumerate(arrays)]
    out = fn(*tensors)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    jacobians = [np.zeros((out.numel(), arrays[i].size)) for i in checked]
    if not out.requires_grad:
        return jacobians
    targets = [tensors[i] for i in checked]
    seed = np.zeros(out.shape, dtype=out.dtype)
    flat_seed = seed.reshape(-1)
    for row in range(out.numel()):
        flat_seed[row] = 1
        grads = engine.grad(out, targets, grad_output=seed, retain_graph=True)
        for jacobian, grad in zip(jacobians, grads, strict=True):
            if grad is not None:
                jacobian[row] = grad.reshape(-1)
        flat_seed[row] = 0  # only now: a gradient may be the seed array itself
    return jacobians


def _numerical_jacobian(fn: Callable[..., Tensor], arrays: list[np.ndarray], index: int,
                        eps: float) -> np.ndarray:
    point = arrays[index]
    flat = point.reshape(-1)
    columns = []
    for k in range(flat.size):
        original = flat[k]
        flat[k] = original + eps
        plus = outputs_of(fn, arrays)
        flat[k] = original - eps
        minus = outputs_of(fn, arrays)
        flat[k] = original
        columns.append((plus - minus) / (2 * eps))
    if not columns:
        return np.zeros((outputs_of(fn, arrays).size, 0))
    return np.stack(columns, axis=1)


def _worst_mismatch(analytic: np.ndarray, numerical: np.ndarray, atol: float,
                    rtol: float) -> tuple[int, int] | None:
    allowed = atol + rtol * np.abs(numerical)
    excess = np.abs(analytic - numerical) / allowed
    if excess.size == 0 or (not (excess > 1).any() and np.isfinite(analytic).all()):
        return None
    excess = np.where(np.isfinite(excess), excess, np.inf)
    row, column = np.unravel_index(int(np.argmax(excess)), excess.shape)
    return int(row), int(column)


def _kink_hint(fn: Callable[..., Tensor], arrays: list[np.ndarray], index: int, element: int,
               output: int, eps: float, atol: float, rtol: float) -> str:
    """A note when the slopes left and right of the point differ: a kink within eps."""
    flat = arrays[index].reshape(-1)
    original = flat[element]
    center = outputs_of(fn, arrays)[output]
    flat[element] = original + eps
    right = (outputs_of(fn, arrays)[output] - center) / eps
    flat[element] = original - eps
    left = (center - outputs_of(fn, arrays)[output]) / eps
    flat[element] = original
    if abs(right - left) <= atol + rtol * max(abs(right), abs(left)):
        return ""
    return (
        f". The input value {original:.6g} sits within eps={eps:g} of a kink: the slope is "
        f"{left:.6g} on the left and {right:.6g} on the right, so finite differences are "
        f"meaningless there; move the input away from the kink (relu at 0, abs at 0, a tie "
        f"in max)")

