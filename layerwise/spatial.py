"""The functional forms of the layers over feature maps: convolution, pooling, batch
normalization and channel dropout, with PyTorch's names and arguments. layerwise.functional
exports them, so they are used as F.conv2d, F.max_pool2d, ...

Each takes a batch (N, C, H, W) ((N, C, L) for conv1d) or a single sample without the batch
axis, as PyTorch does; a single sample gives a single output.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from layerwise import ops
from layerwise.engine import record
from layerwise.tensor import Tensor, tensor


def batched(x: Any, spatial_axes: int, owner: str) -> tuple[Tensor, bool]:
    """`x` as a Tensor with a batch axis, and whether one was added (an unbatched sample);
    a ValueError naming `owner` when x has neither shape."""
    x = x if isinstance(x, Tensor) else tensor(x)
    axes = "C, H, W" if spatial_axes == 2 else "C, L"
    if x.ndim == spatial_axes + 2:
        return x, False
    if x.ndim == spatial_axes + 1:
        return x[np.newaxis], True
    raise ValueError(f"{owner} expects ({'N, ' + axes}) or ({axes}); got shape {x.shape}")


def apply_layer(op: ops.Op, x: Any, spatial_axes: int, owner: str, *params: Any) -> Tensor:
    """Run `op` on x (with a batch axis added and removed again for a single sample) and on
    the parameters that are not None."""
    batch, added = batched(x, spatial_axes, owner)
    y = record(op, [batch, *(param for param in params if param is not None)])
    return y[0] if added else y


def conv2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """The 2-D convolution (cross-correlation, as in every framework) of input with weight.

    Args:
        stride, dilation: an int or an (h, w) pair.
        padding: an int, an (h, w) pair, "valid" or "same" (stride 1).
        groups: independent convolutions over groups of channels.
    Shape: input (N, C_in, H, W) or (C_in, H, W), weight (C_out, C_in / groups, k_h, k_w),
        bias (C_out,) -> (N, C_out, H_out, W_out) or (C_out, H_out, W_out).
    """
    op = ops.Conv2d(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return apply_layer(op, input, 2, "conv2d", weight, bias)


def conv1d(input: Any, weight: Any, bias: Any = None, stride: int = 1, padding: Any = 0,
           dilation: int = 1, groups: int = 1) -> Tensor:
    """The 1-D convolution of input with weight.

    Shape: input (N, C_in, L) or (C_in, L), weight (C_out, C_in / groups, k), bias (C_out,) ->
        (N, C_out, L_out) or (C_out, L_out).
    """
    op = ops.Conv1d(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return apply_layer(op, input, 1, "conv1d", weight, bias)


def conv_transpose2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """The transposed 2-D convolution (the adjoint of conv2d, an upsampling layer).

    Shape: input (N, C_in, H, W) or (C_in, H, W), weight (C_in, C_out / groups, k_h, k_w),
        bias (C_out,) -> (N, C_out, H_out, W_out), H_out = (H - 1) stride - 2 padding +
        dilation (k_h - 1) + output_padding + 1.
    """
    op = ops.ConvTranspose2d(stride=stride, padding=padding, output_padding=output_padding,
                             dilation=dilation, groups=groups)
    return apply_layer(op, input, 2, "conv_transpose2d", weight, bias)


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """The maximum of each window; the gradient goes to one maximum per window.

    Args:
        return_indices: also return where each maximum is (the flat index row W + column in
            its channel, an int64 Tensor of the output's shape).
    Shape: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out) or (C, H_out, W_out).
    """
    op = ops.MaxPool2d(kernel_size, stride=stride, padding=padding, dilation=dilation,
                       ceil_mode=ceil_mode)
    y = apply_layer(op, input, 2, "max_pool2d")
    if not return_indices:
        return y
    indices = op.indices()
    return y, Tensor(indices[0] if y.ndim == 3 else indices)


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """The mean of each window (see ops.AvgPool2d for the divisor at the borders).

    Shape: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out) or (C, H_out, W_out).
    """
    op = ops.AvgPool2d(kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                       count_include_pad=count_include_pad, divisor_override=divisor_override)
    return apply_layer(op, input, 2, "avg_pool2d")


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Tensor:
    """Means over windows chosen to give `output_size` (an int, a pair, None keeps a size).

    Shape: (N, C, H, W) or (C, H, W) -> (N, C, *output_size) or (C, *output_size).
    """
    return apply_layer(ops.AdaptiveAvgPool2d(output_size), input, 2, "adaptive_avg_pool2d")


def batch_norm(input: Any, running_mean: np.ndarray | None, running_var: np.ndarray | None,
               weight: Any = None, bias: Any = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (axis 1) by the batch's statistics (training) or the running
    ones, then scale by weight and shift by bias. In training the running statistics (NumPy
    arrays) are updated in place.

    Shape: (N, C) or (N, C, *) -> the same; weight, bias and the statistics (C,).
    """
    x = input if isinstance(input, Tensor) else tensor(input)
    if bias is not None and weight is None:
        weight = np.ones(x.shape[1:2], dtype=x.dtype)
    op = ops.BatchNorm(training=training, momentum=momentum, eps=eps,
                       running_mean=_array(running_mean), running_var=_array(running_var))
    return record(op, [x, *(param for param in (weight, bias) if param is not None)])


def dropout2d(input: Any, p: float = 0.5, training: bool = True,
              rng: np.random.Generator | None = None) -> Tensor:
    """Zero whole channels with probability p and scale the rest by 1 / (1 - p) while
    training; return the input unchanged when not training.

    Shape: (N, C, H, W) or (N, C, L) -> the same.
    """
    is_number = isinstance(p, int | float | np.integer | np.floating) and not isinstance(p, bool)
    if not is_number or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: p must be a probability in [0, 1], got {p!r}")
    x = input if isinstance(input, Tensor) else tensor(input)
    if not training or p == 0.0:
        return x
    return ops.Dropout2d.apply(x, p=p, rng=rng)


def _array(value: Any) -> np.ndarray | None:
    """The array a running statistic is kept in (updated in place), or None."""
    if value is None or isinstance(value, np.ndarray):
        return value
    if isinstance(value, Tensor):
        return value.data
    raise TypeError(f"batch_norm: running statistics must be NumPy arrays (updated in place), "
                    f"got {type(value).__name__}")
