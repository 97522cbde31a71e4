"""Batch normalization layers: BatchNorm1d and BatchNorm2d, with PyTorch's arguments,
parameters (weight, bias) and buffers (running_mean, running_var, num_batches_tracked)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from layerwise import ops
from layerwise.engine import record
from layerwise.nn.layers import converted_input, positive_int
from layerwise.nn.module import Module
from layerwise.nn.parameter import Parameter
from layerwise.settings import get_default_dtype
from layerwise.tensor import Tensor


class _BatchNorm(Module):
    """y = weight (x - mean) / sqrt(var + eps) + bias per channel (see ops.BatchNorm).

    In training mode the batch's statistics normalize, and the running ones follow them:
    running <- (1 - momentum) running + momentum batch (the variance unbiased), or, with
    momentum=None, the plain average of all batches so far (1 / num_batches_tracked). In
    evaluation mode the running statistics normalize.

    Args:
        num_features: C, the channels (axis 1).
        eps: added to the variance.
        momentum: the weight of each batch in the running statistics, or None.
        affine: learn weight (ones at first) and bias (zeros).
        track_running_stats: keep running statistics (else batch statistics in both modes).
        dtype: of the parameters and statistics (the default dtype when None).
    """

    expected = ""  # the input shapes, in words
    input_ndims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = positive_int(num_features, "num_features", name)
        if isinstance(eps, bool) or not isinstance(eps, int | float) or not eps > 0 \
                or not math.isfinite(eps):
            raise ValueError(f"{name}: eps must be a positive number, got {eps!r}")
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(
                momentum, int | float) or not 0.0 <= momentum <= 1.0):
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum!r}")
        self.eps, self.momentum = float(eps), momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        if dtype.kind != "f":
            raise TypeError(f"{name}: dtype must be a floating-point dtype, got {dtype}")
        self.weight: Parameter | None = None
        self.bias: Parameter | None = None
        if affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(self.num_features, dtype=dtype))
        self.running_mean: np.ndarray | None = None
        self.running_var: np.ndarray | None = None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(self.num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(self.num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    @property
    def label(self) -> str:
        return f"{type(self).__name__}({self.num_features})"

    def reset_running_stats(self) -> None:
        if self.running_mean is not None and self.running_var is not None:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def forward(self, x: Any) -> Tensor:
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        if data.ndim not in self.input_ndims:
            raise ValueError(f"{self.label} expects {self.expected}; got shape {data.shape}")
        if data.shape[1] != self.num_features:
            raise ValueError(f"{self.label} expected {self.num_features} channels (axis 1), "
                             f"got {data.shape[1]} (input shape {data.shape})")
        reference = self.weight.data if self.weight is not None else self.running_mean
        if reference is not None and data.dtype != reference.dtype:
            x = converted_input(self.label, x, data, reference.dtype)
        if self.training and data.size // self.num_features <= 1:
            raise ValueError(f"{self.label} in training mode needs more than 1 value per "
                             f"channel to compute the batch's variance, got input of shape "
                             f"{data.shape}; train with batches of 2 or more, or call .eval()")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        use_batch_statistics = self.training or self.running_mean is None
        keep_statistics = not self.training or self.track_running_stats
        op = ops.BatchNorm(training=use_batch_statistics, momentum=factor, eps=self.eps,
                           running_mean=self.running_mean if keep_statistics else None,
                           running_var=self.running_var if keep_statistics else None)
        params = [] if self.weight is None else [self.weight, self.bias]
        return record(op, [x, *params])

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")

    num_batches_tracked: np.ndarray


class BatchNorm1d(_BatchNorm):
    """Batch normalization of features (N, C) or sequences (N, C, L), per channel C."""

    expected = "(N, C) or (N, C, L)"
    input_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of feature maps (N, C, H, W), per channel C (statistics over N, H
    and W)."""

    expected = "(N, C, H, W)"
    input_ndims = (4,)
