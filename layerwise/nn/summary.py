"""The layer table of `Module.summary`: each layer's output shape and parameter count."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from layerwise.settings import get_default_dtype, no_grad
from layerwise.tensor import Tensor

if TYPE_CHECKING:
    from layerwise.nn.module import Module


def layer_rows(model: Module, input_shape: tuple[int, ...],
               dtype: Any = None) -> list[tuple[str, str, str, int]]:
    """(name, type, output shape, own parameter count) of every sub-module (the model itself
    when it has none), in the order a forward pass on zeros of `input_shape` calls them.

    The pass runs in evaluation mode and without a graph, so that it changes nothing: no
    running statistics move, and no dropout mask takes numbers from a generator.
    """
    rows: list[tuple[str, str, str, int]] = []
    watched = list(model.named_modules())[1:] or [("", model)]

    def recording(name: str, module: Module, forward: Callable[..., Any]) -> Callable[..., Any]:
        def forward_and_record(*inputs: Any, **kwargs: Any) -> Any:
            out = forward(*inputs, **kwargs)
            shape = getattr(out, "shape", None)
            own = sum(p.numel() for p in module.parameters(recurse=False))
            rows.append((name, type(module).__name__,
                         str(tuple(shape)) if shape is not None else "-", own))
            return out
        return forward_and_record

    for name, module in watched:
        object.__setattr__(module, "forward", recording(name, module, module.forward))
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with no_grad():
            model(Tensor(np.zeros(input_shape, dtype=dtype or get_default_dtype())))
    finally:
        for _, module in watched:
            object.__delattr__(module, "forward")
        for module, training in modes:
            object.__setattr__(module, "training", training)
    return rows


def summarize(model: Module, input_shape: tuple[int, ...], dtype: Any = None) -> str:
    rows = [(f"{name} ({kind})" if name else kind, shape, f"{own:,}")
            for name, kind, shape, own in layer_rows(model, input_shape, dtype)]

    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    size_mb = sum(p.data.nbytes for p in model.parameters()) / 2**20
    header = ("Layer (type)", "Output shape", "Param #")
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(3)]
    rule = "-" * (sum(widths) + 4)

    def line(cells: tuple[str, str, str]) -> str:
        return f"{cells[0]:<{widths[0]}}  {cells[1]:<{widths[1]}}  {cells[2]:>{widths[2]}}"

    lines = [f"{type(model).__name__} on input {tuple(input_shape)}", rule, line(header), rule]
    lines += [line(row) for row in rows]
    lines += [rule, f"Total parameters: {total:,}", f"Trainable parameters: {trainable:,}",
              f"Parameter size: {size_mb:.2f} MB"]
    return "\n".join(lines)
