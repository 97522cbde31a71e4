"""nn.utils: gradient clipping and parameters as one vector, as PyTorch's."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from layerwise.tensor import Tensor


def _with_grads(parameters: Any) -> list[Tensor]:
    listed = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [parameter for parameter in listed if parameter.grad is not None]


def clip_grad_norm_(parameters: Any, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: Any = None) -> Tensor:
    """Scale every gradient, in place, by max_norm / (total_norm + 1e-6) when that is below 1,
    total_norm being the norm of all gradients taken together. Returns total_norm (a
    0-d tensor); `foreach` is accepted and ignored."""
    grads = [parameter.grad.data for parameter in _with_grads(parameters)]  # type: ignore[union-attr]
    order = float(norm_type)
    if not grads:
        return Tensor(np.asarray(0.0))
    if order == math.inf:
        total = max(float(np.max(np.abs(grad), initial=0.0)) for grad in grads)
    else:
        total = sum(float(np.sum(np.abs(grad) ** order)) for grad in grads) ** (1.0 / order)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {total}; pass error_if_nonfinite=False to clip anyway")
    coefficient = max_norm / (total + 1e-6)
    if coefficient < 1:
        for grad in grads:
            grad *= grad.dtype.type(coefficient)
    return Tensor(np.asarray(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters: Any, clip_value: float, foreach: Any = None) -> None:
    """Limit every gradient value to [-clip_value, clip_value], in place."""
    for parameter in _with_grads(parameters):
        grad = parameter.grad.data  # type: ignore[union-attr]
        np.clip(grad, -clip_value, clip_value, out=grad)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters' values, flattened and joined into one vector (a copy)."""
    return Tensor(np.concatenate([parameter.data.reshape(-1) for parameter in parameters]))


def vector_to_parameters(vector: Any, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive pieces of `vector` into the parameters (their shapes in order)."""
    values = vector.data if isinstance(vector, Tensor) else np.asarray(vector)
    listed = list(parameters)
    needed = sum(parameter.numel() for parameter in listed)
    if values.ndim != 1 or values.size != needed:
        raise ValueError(f"vector_to_parameters: expected a vector of {needed} values, got shape "
                         f"{values.shape}")
    start = 0
    for parameter in listed:
        count = parameter.numel()
        parameter.data[...] = values[start:start + count].reshape(parameter.shape)
        parameter._changed_in_place()
        start += count
