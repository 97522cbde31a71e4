"""ONNX's convolutions and pooling over 1-D and 2-D feature maps: Conv, ConvTranspose, MaxPool,
AveragePool, GlobalAveragePool and GlobalMaxPool, translated to layerwise's 2-D ops (a 1-D map
of length L runs as a 1 x L image).

ONNX lists pads as [begin of each axis..., end of each axis...]; padding that is the same on
both sides goes to the op, uneven padding is added (or, for ConvTranspose, cropped) around it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from layerwise import ops, reductions
from layerwise.onnx.nodes import Kernel, Node, array_of, padded, run
from layerwise.tensor import Tensor

Pads = list[tuple[int, int]]


def _spatial_rank(node: Node, x: Any) -> int:
    rank = np.ndim(array_of(x)) - 2
    if rank not in (1, 2):
        raise node.fail(f"expected an input (N, C, L) or (N, C, H, W), got shape "
                        f"{array_of(x).shape} (layerwise has 1-D and 2-D feature maps)")
    return rank


def _auto_pad(node: Node, allowed: tuple[str, ...]) -> str:
    auto_pad = node.string("auto_pad", "NOTSET")
    if auto_pad not in allowed:
        raise node.fail(f"auto_pad={auto_pad!r} is not supported (expected one of "
                        f"{', '.join(allowed)})")
    return auto_pad


def _pads(node: Node, auto_pad: str, sizes: tuple[int, ...], kernel: list[int],
          strides: list[int], dilations: list[int]) -> Pads:
    """(begin, end) per spatial axis, from the pads attribute or auto_pad; SAME pads so that
    the output has ceil(size / stride) positions, the odd one at the end (SAME_UPPER) or at the
    beginning (SAME_LOWER)."""
    rank = len(sizes)
    if auto_pad == "VALID":
        return [(0, 0)] * rank
    if auto_pad.startswith("SAME"):
        pads = []
        for size, k, stride, dilation in zip(sizes, kernel, strides, dilations, strict=True):
            total = max((math.ceil(size / stride) - 1) * stride + (k - 1) * dilation + 1 - size, 0)
            small, large = total // 2, total - total // 2
            pads.append((small, large) if auto_pad == "SAME_UPPER" else (large, small))
        return pads
    flat = node.integers("pads", [0] * 2 * rank) or [0] * 2 * rank
    return [(flat[axis], flat[axis + rank]) for axis in range(rank)]


def _options(node: Node, rank: int) -> tuple[list[int], list[int]]:
    return node.integers("strides", [1] * rank) or [1] * rank, (
        node.integers("dilations", [1] * rank) or [1] * rank)


def _as_2d(value: Any) -> Any:
    """(N, C, L) -> (N, C, 1, L), and a 1-D kernel (C_out, C_in, k) -> (C_out, C_in, 1, k)."""
    shape = array_of(value).shape
    return ops.Reshape.apply(value, shape=(*shape[:2], 1, shape[2]))


def _as_1d(value: Tensor) -> Tensor:
    return ops.Reshape.apply(value, shape=(*value.shape[:2], value.shape[3]))


def _in_2d(rank: int, pads: Pads, strides: list[int], dilations: list[int]
           ) -> tuple[Pads, tuple[int, int], tuple[int, int]]:
    if rank == 1:
        return [(0, 0), *pads], (1, strides[0]), (1, dilations[0])
    return pads, (strides[0], strides[1]), (dilations[0], dilations[1])


def _pad(x: Tensor, pads: Pads, value: float) -> Tensor:
    """x with `value` added around its last two axes (pads for H then W)."""
    (top, bottom), (left, right) = pads
    return ops.Pad.apply(x, pad=(left, right, top, bottom), value=value)


def _conv(node: Node) -> Kernel:
    group = node.integer("group", 1)
    auto_pad = _auto_pad(node, ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"))

    def conv(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        rank = _spatial_rank(node, x)
        kernel = list(weight.shape[2:])
        strides, dilations = _options(node, rank)
        pads = _pads(node, auto_pad, x.shape[2:], kernel, strides, dilations)
        pads, stride, dilation = _in_2d(rank, pads, strides, dilations)
        if rank == 1:
            x, weight = _as_2d(x), _as_2d(weight)
        y = ops.Conv2d.apply(x, weight, *([] if bias is None else [bias]), stride=stride,
                     padding=tuple(pads), dilation=dilation, groups=group)
        return _as_1d(y) if rank == 1 else y

    return lambda values: run(conv, *padded(values, 3))


def _conv_transpose(node: Node) -> Kernel:
    """The transposed convolution; output_padding adds at the end of each axis, and uneven
    pads are cropped from the full output."""
    if "output_shape" in node.attributes:
        raise node.fail("the output_shape attribute is not supported (give pads and "
                        "output_padding)")
    auto_pad = _auto_pad(node, ("NOTSET", "VALID"))
    group = node.integer("group", 1)

    def conv_transpose(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        rank = _spatial_rank(node, x)
        strides, dilations = _options(node, rank)
        pads = _pads(node, auto_pad, x.shape[2:], list(weight.shape[2:]), strides, dilations)
        output_padding = node.integers("output_padding", [0] * rank) or [0] * rank
        pads, stride, dilation = _in_2d(rank, pads, strides, dilations)
        extra = (0, output_padding[0]) if rank == 1 else tuple(output_padding)
        if rank == 1:
            x, weight = _as_2d(x), _as_2d(weight)
        even = all(begin == end for begin, end in pads)
        padding = tuple(begin for begin, _ in pads) if even else (0, 0)
        y = ops.ConvTranspose2d.apply(x, weight, *([] if bias is None else [bias]),
                                      stride=stride, padding=padding, output_padding=extra,
                                      dilation=dilation, groups=group)
        if not even:
            (top, bottom), (left, right) = pads
            y = y[:, :, top:y.shape[2] - bottom, left:y.shape[3] - right]
        return _as_1d(y) if rank == 1 else y

    return lambda values: run(conv_transpose, *padded(values, 3))


def _pool_options(node: Node) -> tuple[list[int], bool, str]:
    kernel = [int(k) for k in node.attributes["kernel_shape"]]  # required: the checker saw it
    if any(node.outputs[1:]):
        raise node.fail("the Indices output is not supported")
    return kernel, bool(node.integer("ceil_mode", 0)), _auto_pad(
        node, ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"))


def _fits(pads: Pads, kernel: tuple[int, int], dilation: tuple[int, int]) -> bool:
    """Whether the op takes these pads itself: the same on both sides, at most half the
    (dilated) kernel."""
    return all(begin == end and 2 * begin <= d * (k - 1) + 1
               for (begin, end), k, d in zip(pads, kernel, dilation, strict=True))


Pool = Callable[[Tensor, Pads, tuple[int, int], tuple[int, int], tuple[int, int]], Tensor]


def _pooling(node: Node, kernel: list[int], auto_pad: str, pool: Pool) -> Kernel:
    """Run pool(x, pads, window, stride, dilation) on 2-D maps, a 1-D input (N, C, L) as
    (N, C, 1, L), with the node's pads, strides and dilations."""

    def apply(x: Tensor) -> Tensor:
        rank = _spatial_rank(node, x)
        strides, dilations = _options(node, rank)
        pads = _pads(node, auto_pad, x.shape[2:], kernel, strides, dilations)
        pads, stride, dilation = _in_2d(rank, pads, strides, dilations)
        window = (1, kernel[0]) if rank == 1 else (kernel[0], kernel[1])
        y = pool(_as_2d(x) if rank == 1 else x, pads, window, stride, dilation)
        return _as_1d(y) if rank == 1 else y

    return lambda values: run(apply, values[0])


def _max_pool(node: Node) -> Kernel:
    kernel, ceil_mode, auto_pad = _pool_options(node)

    def max_pool(x: Tensor, pads: Pads, window: tuple[int, int], stride: tuple[int, int],
                 dilation: tuple[int, int]) -> Tensor:
        if not _fits(pads, window, dilation):
            x, pads = _pad(x, pads, -np.inf), [(0, 0), (0, 0)]
        return ops.MaxPool2d.apply(x, kernel_size=window, stride=stride, padding=(
            pads[0][0], pads[1][0]), dilation=dilation, ceil_mode=ceil_mode)

    return _pooling(node, kernel, auto_pad, max_pool)


def _average_pool(node: Node) -> Kernel:
    """The mean of each window; count_include_pad=0 (ONNX's default) divides by the input
    values a window covers, 1 by its size within the padded input."""
    kernel, ceil_mode, auto_pad = _pool_options(node)
    include_pad = bool(node.integer("count_include_pad", 0))
    node.refuse("dilations", lambda value: all(d == 1 for d in value), "only dilation 1")

    def average_pool(x: Tensor, pads: Pads, window: tuple[int, int], stride: tuple[int, int],
                     dilation: tuple[int, int]) -> Tensor:
        if not _fits(pads, window, dilation):
            if not include_pad:
                raise node.fail(f"uneven pads {pads} with count_include_pad=0 are not "
                                f"supported")
            x, pads = _pad(x, pads, 0.0), [(0, 0), (0, 0)]
        return ops.AvgPool2d.apply(x, kernel_size=window, stride=stride, padding=(
            pads[0][0], pads[1][0]), ceil_mode=ceil_mode, count_include_pad=include_pad)

    return _pooling(node, kernel, auto_pad, average_pool)


def _global_pool(reduce: Callable[..., Tensor]) -> Callable[[Node], Kernel]:
    def translate(node: Node) -> Kernel:
        def pool(x: Tensor) -> Tensor:
            return reduce(x, tuple(range(2, x.ndim)), keepdim=True)
        return lambda values: run(pool, values[0])
    return translate


CONVOLUTION: dict[str, Callable[[Node], Kernel]] = {
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "MaxPool": _max_pool,
    "AveragePool": _average_pool,
    "GlobalAveragePool": _global_pool(reductions.mean),
    "GlobalMaxPool": _global_pool(reductions.amax),
}
