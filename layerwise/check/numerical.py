"""Finite differences and Jacobians: the two ways the lectures check a gradient by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from layerwise import engine
from layerwise.settings import no_grad
from layerwise.tensor import Tensor, as_array


def numerical_grad(f: Callable[[np.ndarray], Any], x: Any, h: float = 1e-5) -> np.ndarray:
    """Central differences df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / 2h for every element of x.

    The symmetric difference of the lecture: its error shrinks with h^2, where the one-sided
    (f(x + h) - f(x)) / h shrinks only with h. x is copied to float64 and perturbed one element
    at a time, so f is called 2 * x.size times.

    Args:
        f: maps an array shaped like x to a scalar.
        x: the point, an array or a Tensor.
        h: the step.
    Returns:
        A float64 array of x's shape.
    """
    point = np.array(as_array(x), dtype=np.float64)
    grad = np.empty_like(point)
    flat_point, flat_grad = point.reshape(-1), grad.reshape(-1)
    for i in range(flat_point.size):
        original = flat_point[i]
        flat_point[i] = original + h
        f_plus = float(np.asarray(_scalar_of(f(point))))
        flat_point[i] = original - h
        f_minus = float(np.asarray(_scalar_of(f(point))))
        flat_point[i] = original
        flat_grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def _scalar_of(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


def jacobian(fn: Callable[[Tensor], Tensor], x: Any) -> np.ndarray:
    """The full Jacobian d fn(x) / dx as an (output size, input size) array.

    Row i is the gradient of output element i, from one backward pass with the one-hot
    upstream gradient e_i: the analytic Jacobian, exactly what the ops' backward methods
    compute, not a finite-difference estimate.
    """
    # An array or Tensor keeps its dtype; numbers and lists are checked in float64.
    values = as_array(x) if isinstance(x, np.ndarray | Tensor) else np.asarray(x, np.float64)
    source = Tensor(np.array(values), requires_grad=True)
    out = fn(source)
    if not isinstance(out, Tensor):
        raise TypeError(f"jacobian: fn must return a Tensor, got {type(out).__name__}")
    rows = np.zeros((out.numel(), source.numel()), dtype=np.result_type(out.dtype, source.dtype))
    if not out.requires_grad:
        return rows
    seed = np.zeros(out.shape, dtype=out.dtype)
    flat_seed = seed.reshape(-1)
    for i in range(out.numel()):
        flat_seed[i] = 1
        (grad,) = engine.grad(out, source, grad_output=seed, retain_graph=True)
        if grad is not None:
            rows[i] = grad.reshape(-1)
        flat_seed[i] = 0  # only now: the gradient may be the seed array itself
    return rows


def outputs_of(fn: Callable[..., Any], arrays: list[np.ndarray]) -> np.ndarray:
    """fn evaluated on plain arrays without recording a graph, as a flat float64 array."""
    with no_grad():
        out = fn(*(Tensor(a) for a in arrays))
    return np.array(_scalar_of(out), dtype=np.float64).reshape(-1)  # a copy: out may view x
