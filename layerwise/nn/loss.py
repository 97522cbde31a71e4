"""Losses as modules: `criterion = CrossEntropyLoss(); loss = criterion(logits, labels)`."""

from __future__ import annotations

from typing import Any

import numpy as np

from layerwise import functional as F
from layerwise.nn.module import Module
from layerwise.ops.loss import REDUCTIONS, check_class_weight
from layerwise.tensor import Tensor, as_array


def _reduction(owner: str, value: Any) -> str:
    """`value` when it names a reduction, else a ValueError that lists them."""
    if value not in REDUCTIONS:
        raise ValueError(f"{owner}: reduction must be 'mean', 'sum' or 'none', got {value!r}")
    return str(value)


def _class_weight(owner: str, weight: Any) -> np.ndarray | None:
    """`weight` as a floating-point vector (C,), or None; its length is checked in forward.
    The losses keep their weights as buffers, so that state_dict holds them, as in PyTorch."""
    array = F.class_weight(owner, weight)
    return None if array is None else check_class_weight(array, None, owner)


def _optional_array(value: Any) -> np.ndarray | None:
    return None if value is None else as_array(value.data if isinstance(value, Tensor) else value)


class MSELoss(Module):
    """Mean squared error; see `functional.mse_loss`."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _reduction("MSELoss", reduction)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(Module):
    """Softmax cross-entropy from logits, with optional class weights (C,); see
    `functional.cross_entropy` for the formula and the shapes ((N, C), (C,), (N, C, d1, ...))."""

    weight: np.ndarray | None  # a buffer

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.reduction = _reduction("CrossEntropyLoss", reduction)
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, int | np.integer):
            raise ValueError(f"CrossEntropyLoss: ignore_index must be an integer, got "
                             f"{ignore_index!r}")
        is_number = (isinstance(label_smoothing, int | float | np.integer | np.floating)
                     and not isinstance(label_smoothing, bool))
        if not is_number or not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got "
                             f"{label_smoothing!r}")
        self.register_buffer("weight", _class_weight("CrossEntropyLoss", weight))
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight,
                               ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)

    def extra_repr(self) -> str:
        weight = "" if self.weight is None else f"weight={self.weight.tolist()}, "
        return (f"{weight}reduction={self.reduction!r}, ignore_index={self.ignore_index}, "
                f"label_smoothing={self.label_smoothing}")


class BCELoss(Module):
    """Binary cross-entropy of probabilities, with an optional weight per element; see
    `functional.binary_cross_entropy`."""

    weight: np.ndarray | None  # a buffer

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__()
        self.register_buffer("weight", _optional_array(weight))
        self.reduction = _reduction("BCELoss", reduction)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class BCEWithLogitsLoss(Module):
    """Binary cross-entropy from raw scores, with optional weights per element and for the
    positive term; see `functional.binary_cross_entropy_with_logits`."""

    weight: np.ndarray | None  # a buffer
    pos_weight: np.ndarray | None

    def __init__(self, weight: Any = None, reduction: str = "mean",
                 pos_weight: Any = None) -> None:
        super().__init__()
        self.register_buffer("weight", _optional_array(weight))
        self.reduction = _reduction("BCEWithLogitsLoss", reduction)
        self.register_buffer("pos_weight", _optional_array(pos_weight))

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


# --- the rest of PyTorch's losses ---


class NLLLoss(Module):
    """Negative log-likelihood of log-probabilities; see `functional.nll_loss`."""

    weight: np.ndarray | None  # a buffer

    def __init__(self, weight: Any = None, ignore_index: int = -100,
                 reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _reduction("NLLLoss", reduction)
        self.register_buffer("weight", _class_weight("NLLLoss", weight))
        self.ignore_index = ignore_index

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, ignore_index={self.ignore_index}"


class L1Loss(Module):
    """Mean absolute error; see `functional.l1_loss`."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _reduction("L1Loss", reduction)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class SmoothL1Loss(Module):
    """Quadratic near 0, linear beyond beta; see `functional.smooth_l1_loss`."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__()
        self.reduction = _reduction("SmoothL1Loss", reduction)
        if not beta >= 0:
            raise ValueError(f"SmoothL1Loss: beta must be >= 0, got {beta}")
        self.beta = beta

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, beta={self.beta}"


class HuberLoss(Module):
    """Quadratic near 0, linear beyond delta; see `functional.huber_loss`."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__()
        self.reduction = _reduction("HuberLoss", reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {delta}")
        self.delta = delta

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, delta={self.delta}"


class KLDivLoss(Module):
    """Kullback-Leibler divergence of a target from log-probabilities; see
    `functional.kl_div` ("batchmean" is the divergence per sample)."""

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__()
        if reduction not in (*REDUCTIONS, "batchmean"):
            raise ValueError(f"KLDivLoss: reduction must be 'mean', 'batchmean', 'sum' or "
                             f"'none', got {reduction!r}")
        self.reduction = reduction
        self.log_target = log_target

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, log_target={self.log_target}"
