"""Fused losses. Each is one op so that its backward is the short, stable closed form
(softmax cross-entropy: p - onehot(y)) instead of a chain of divisions by small numbers.

Every loss takes `reduction`: "mean" (the default), "sum", or "none" for one loss per sample.
"""

from __future__ import annotations

import warnings

import numpy as np

from layerwise.ops.activation import stable_sigmoid
from layerwise.ops.base import Op, unbroadcast

REDUCTIONS = ("mean", "sum", "none")


class _Loss(Op):
    """Shared `reduction` handling: reduce per-sample losses, scale the incoming gradient."""

    name = "loss"

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"{self.name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction

    def _reduce(self, losses: np.ndarray, count: float) -> np.ndarray:
        if self.reduction == "none":
            return losses
        total = losses.sum(dtype=losses.dtype)
        if self.reduction == "sum":
            return total
        if count == 0:  # every sample ignored: NaN, as in PyTorch
            return np.asarray(np.nan, dtype=losses.dtype)
        return np.asarray(total / losses.dtype.type(count))

    def _scale(self, grad_loss: np.ndarray, count: float) -> np.ndarray | float:
        """dL/d(per-sample loss): grad_loss / count for "mean", grad_loss for the others."""
        if self.reduction == "mean":
            return grad_loss / count if count else grad_loss * np.nan
        return grad_loss

    def _check_floating(self, input: np.ndarray) -> None:
        """Integer input is refused, as in PyTorch: the losses would truncate it on the way
        (0.5 d^2, or the cast of a gradient back to the input's dtype)."""
        if input.dtype.kind != "f":
            raise TypeError(f"{self.name}: input must be floating point, got {input.dtype}; "
                            f"convert it first, e.g. input.float()")

    def _check_same_shape(self, input: np.ndarray, target: np.ndarray) -> None:
        self._check_floating(input)
        if input.shape != target.shape:
            raise ValueError(
                f"{self.name}: input has shape {input.shape} but target has shape "
                f"{target.shape}; they must match (reshape one, e.g. target.reshape"
                f"{input.shape}, rather than letting them broadcast)")

    def _broadcast(self, input: np.ndarray, target: np.ndarray,
                   warn: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """input and target broadcast against each other, as PyTorch's regression losses do,
        with PyTorch's warning when their shapes differ: a prediction (N, 1) against targets
        (N,) makes an (N, N) loss, which is rarely what was meant."""
        self._check_floating(input)
        self.shapes = input.shape, target.shape
        if input.shape == target.shape:
            return input, target
        try:
            shape = np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ValueError(
                f"{self.name}: input of shape {input.shape} and target of shape {target.shape} "
                f"do not broadcast against each other; give them the same shape") from None
        if warn:
            reshape = (f" (reshape one, e.g. target.reshape{input.shape})"
                       if input.size == target.size else "")
            warnings.warn(
                f"{self.name}: target of shape {target.shape} differs from input of shape "
                f"{input.shape}; both are broadcast to {shape}, as in PyTorch, which is likely "
                f"a mistake{reshape}", UserWarning, stacklevel=6)  # the line calling F.mse_loss
        return np.broadcast_to(input, shape), np.broadcast_to(target, shape)

    def _weigh(self, losses: np.ndarray, weight: np.ndarray | None,
               by_weight_sum: bool) -> np.ndarray:
        """Losses times an element weight (of the input's shape), as PyTorch's mse_loss,
        l1_loss and huber_loss take it; sets self.count, the divisor of "mean": the sum of the
        weights (mse, l1) or the number of elements (huber), as PyTorch divides."""
        self.count: float = losses.size
        if weight is None:
            return losses
        if by_weight_sum:
            self.count = float(weight.sum())
        return (losses * weight).astype(losses.dtype, copy=False)

    def _unbroadcast(self, grad_input: np.ndarray, grad_target: np.ndarray | None
                     ) -> tuple[np.ndarray, np.ndarray | None]:
        """The gradients of a broadcast pair summed back to the shapes that came in."""
        input_shape, target_shape = self.shapes
        return (unbroadcast(grad_input, input_shape),
                None if grad_target is None else unbroadcast(grad_target, target_shape))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"


class MSE(_Loss):
    """L = mean over all elements of (input - target)^2 (or their sum, or each one).

    Shape: input and target of the same shape -> a scalar (or that shape for "none"). The
    regression losses (this, L1, SmoothL1, Huber, KLDiv) broadcast other shapes as PyTorch
    does, and sum each gradient back to its input's shape.
    With an element weight w (the input's shape) each term is w (input - target)^2 and
    "mean" divides by the sum of w, as in PyTorch.
    Backward: grad_input = 2 w (input - target) / n * grad_L;  grad_target = -grad_input
    (n = number of elements, or sum of w, for "mean", 1 otherwise); w gets no gradient.
    """

    name = "mse_loss"

    def __init__(self, reduction: str = "mean", weight: np.ndarray | None = None) -> None:
        super().__init__(reduction)
        self.weight = weight

    def forward(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        input, target = self._broadcast(input, target)
        self.diff = input - target
        return self._reduce(self._weigh(self.diff * self.diff, self.weight, True), self.count)

    def backward(self, grad_loss: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        scale = self._scale(grad_loss, self.count)
        if self.weight is not None:
            scale = scale * self.weight
        grad_input = (2 * scale) * self.diff
        return self._unbroadcast(grad_input, -grad_input if self.wants_grad(1) else None)


def check_class_labels(target: np.ndarray, num_rows: int, num_classes: int,
                       ignore_index: int | None, name: str,
                       shape: tuple[int, ...] | None = None) -> np.ndarray:
    """`target` (num_rows,) as int64 class labels, or a ValueError naming the first bad label.

    `shape` is the labels' shape before they were flattened into `target`, so that a bad
    label's position is given in it ((1, 2, 3) for (N, d1, d2) labels, none for one label).
    """
    if target.ndim != 1 or target.shape[0] != num_rows:
        raise ValueError(
            f"{name}: logits have {num_rows} rows, so the target must be {num_rows} class labels "
            f"of shape ({num_rows},) or probabilities of shape ({num_rows}, {num_classes}); got "
            f"shape {target.shape}")
    if target.dtype.kind == "b" or target.dtype.kind not in "iuf":
        raise ValueError(f"{name}: class labels must be integers, got dtype {target.dtype}")
    if target.dtype.kind == "f":
        fractional = np.flatnonzero(~np.isfinite(target) | (target != np.round(target)))
        if fractional.size:
            position = int(fractional[0])
            raise ValueError(
                f"{name}: class labels must be whole numbers, got {target[position]}"
                f"{_at_position(position, shape)}")
    # Compare in the labels' own dtype: a cast to int64 first would wrap huge values into
    # range (2**64 - 100 would become -100, the ignore_index).
    bad = (target < 0) | (target >= num_classes)
    if ignore_index is not None:
        bad &= target != ignore_index
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        ignored = f" or ignore_index={ignore_index}" if ignore_index is not None else ""
        number = target[position].item()  # a Python int or float: no overflow in comparisons
        shown = int(number) if isinstance(number, int) or abs(number) < 2.0**63 else number
        raise ValueError(
            f"{name}: label {shown}{_at_position(position, shape)} is out of range for "
            f"{num_classes} classes (expected 0..{num_classes - 1}{ignored})")
    return target.astype(np.int64, copy=False)


def _at_position(flat_index: int, shape: tuple[int, ...] | None) -> str:
    """Where a bad label is, for a message: ' at position 3', ' at position (1, 2)' (an index
    into `shape`), or nothing for a single label (shape ())."""
    if shape is None or len(shape) == 1:
        return f" at position {flat_index}"
    if not shape:
        return ""
    return f" at position {tuple(int(i) for i in np.unravel_index(flat_index, shape))}"


def check_class_weight(weight: np.ndarray, num_classes: int | None, name: str) -> np.ndarray:
    """`weight` if it is a floating-point vector of one value per class (of any length when
    `num_classes` is None), else a ValueError that says what it should be."""
    if weight.dtype.kind != "f":
        raise ValueError(f"{name}: weight must hold floating-point numbers, one per class, got "
                         f"dtype {weight.dtype}")
    if weight.ndim != 1 or (num_classes is not None and weight.shape[0] != num_classes):
        wanted = "(C,)" if num_classes is None else f"({num_classes},)"
        raise ValueError(f"{name}: weight must have one value per class, shape {wanted}, got "
                         f"{weight.shape}")
    return weight


def class_rows(x: np.ndarray) -> np.ndarray:
    """x (N, C) as it is, (C,) as one row (1, C), (N, C, d1, ...) as rows (N d1 ..., C)."""
    if x.ndim == 2:
        return x
    if x.ndim == 1:
        return x.reshape(1, -1)
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def from_class_rows(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of `class_rows`: rows (M, C) back into `shape`."""
    if len(shape) <= 2:
        return rows.reshape(shape)
    return np.moveaxis(rows.reshape(shape[:1] + shape[2:] + shape[1:2]), -1, 1)


def row_max(rows: np.ndarray) -> np.ndarray:
    """The largest value of each row of `rows` (M, C), as a column (M, 1).

    NumPy reduces a short last axis slowly (one inner loop per row), so for few classes the
    rows are transposed into a contiguous copy and reduced along its first axis, 4-10 times
    faster for C = 10; the result is the same.
    """
    if rows.shape[1] <= 64:
        return np.ascontiguousarray(rows.T).max(axis=0)[:, None]
    return rows.max(axis=1, keepdims=True)


class SoftmaxCrossEntropy(_Loss):
    """L = -sum_c w_c q_c log softmax(x)_c per sample, averaged over the batch: softmax and
    cross-entropy fused, computed from log_softmax so that logits of +-1000 stay finite.

    The target is either class labels y with q = onehot(y), or probabilities q of the logits'
    shape. With label_smoothing eps the target becomes (1 - eps) q + eps / C. The class
    weights w (all 1 by default) make a label's loss
    (1 - eps) w_y (-log p_y) + eps / C sum_c w_c (-log p_c), as in PyTorch. Samples whose
    label is `ignore_index` contribute nothing; "mean" divides by the sum of w_y over the
    others (their number without weights), and by the number of samples for probabilities.

    Shape: logits (N, C) with labels (N,), (C,) with (), or (N, C, d1, ...) with
    (N, d1, ...); probabilities have the logits' shape; -> a scalar (the labels' shape, or
    the logits' without C, for "none"). (N, C, d1, ...) is moved to rows (N d1 ..., C).
    Backward: grad_logits = (softmax(x) sum_c w_c q_c - w q) * grad_L / n, n the mean's
    divisor (1 for "sum"; the lecture's p - onehot(y) without weights); for probabilities
    grad_target = -(1 - eps) w log softmax(x) * grad_L / n; labels get no gradient.
    """

    name = "cross_entropy"

    def __init__(self, reduction: str = "mean", ignore_index: int = -100,
                 label_smoothing: float = 0.0, weight: np.ndarray | None = None) -> None:
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(
                f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.weight = weight

    def forward(self, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        if logits.ndim == 0:
            raise ValueError(f"cross_entropy: expected logits of shape (N, C), (C,) or "
                             f"(N, C, d1, ...), got {logits.shape}")
        if logits.dtype.kind != "f":
            raise TypeError(f"cross_entropy: logits must be floating point, got {logits.dtype}")
        self.input_shape = logits.shape
        rows = class_rows(logits)
        num_rows, num_classes = rows.shape
        weight = self.weight
        if weight is not None:
            weight = check_class_weight(weight, num_classes, self.name).astype(
                logits.dtype, copy=False)
        self.class_weight = weight
        shifted = rows - row_max(rows)
        shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.log_probs = log_probs = shifted
        eps = self.label_smoothing
        # the loss per row has the labels' shape: the logits' without C (None: (N,), as is)
        labels_shape = (None if logits.ndim == 2 else
                        () if logits.ndim == 1 else logits.shape[:1] + logits.shape[2:])
        self.class_targets = target.shape != logits.shape
        if self.class_targets:
            if labels_shape is not None:
                if target.shape != labels_shape:
                    raise ValueError(
                        f"cross_entropy: logits of shape {logits.shape} need class labels of "
                        f"shape {labels_shape} or probabilities of shape {logits.shape}; got "
                        f"shape {target.shape}")
                target = target.reshape(num_rows)
            labels = check_class_labels(target, num_rows, num_classes, self.ignore_index,
                                        self.name, labels_shape)
            self.valid = labels != self.ignore_index
            self.labels = np.where(self.valid, labels, 0)
            self.count = int(self.valid.sum())
            self.all_valid = self.count == num_rows
            losses = -log_probs[np.arange(num_rows), self.labels]
            if weight is None:
                if eps:
                    losses = (1 - eps) * losses - eps * log_probs.mean(axis=1)
            else:
                self.label_weights = weight[self.labels]
                losses = losses * self.label_weights
                if eps:
                    losses = (1 - eps) * losses - (eps / num_classes) * (log_probs @ weight)
                self.count = float(self.label_weights[self.valid].sum())
            if not self.all_valid:
                losses = np.where(self.valid, losses, 0)
        else:
            if target.dtype.kind != "f":
                raise ValueError(
                    f"cross_entropy: probability targets must be floating point, got "
                    f"{target.dtype}")
            if self.ignore_index >= 0:
                raise ValueError(
                    f"cross_entropy: ignore_index={self.ignore_index} applies to class labels "
                    f"only, and the target of the logits' shape {target.shape} holds "
                    f"probabilities; leave ignore_index at -100")
            target_rows = target if labels_shape is None else class_rows(target)
            self.target = target_rows * (1 - eps) + eps / num_classes if eps else target_rows
            self.weighted_target = self.target if weight is None else self.target * weight
            self.count = num_rows
            losses = -(self.weighted_target * log_probs).sum(axis=1)
        losses = losses.astype(logits.dtype, copy=False)
        if self.reduction == "none" and labels_shape is not None:
            losses = losses.reshape(labels_shape)
        return self._reduce(losses, self.count)

    def backward(self, grad_loss: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        scale = self._scale(grad_loss, self.count)
        if self.reduction == "none":
            scale = np.reshape(scale, (-1, 1))
        probs = np.exp(self.log_probs)
        num_rows, num_classes = probs.shape
        eps, weight = self.label_smoothing, self.class_weight
        if not self.class_targets:
            weighted_target = self.weighted_target
            grad_logits = (probs * weighted_target.sum(axis=1, keepdims=True)
                           - weighted_target) * scale
            grad_target = None
            if self.wants_grad(1):
                grad_target = -(1 - eps) * self.log_probs * scale
                if weight is not None:
                    grad_target *= weight
                grad_target = from_class_rows(grad_target, self.input_shape)
            return from_class_rows(grad_logits, self.input_shape), grad_target
        rows = np.arange(num_rows)
        if weight is None:
            probs[rows, self.labels] -= 1 - eps
            if eps:
                probs -= eps / num_classes
        else:
            label_weights = self.label_weights
            probs *= ((1 - eps) * label_weights + eps / num_classes * weight.sum())[:, None]
            probs[rows, self.labels] -= (1 - eps) * label_weights
            if eps:
                probs -= (eps / num_classes) * weight
        probs *= scale
        if not self.all_valid:  # after the scale, which is NaN when every label is ignored
            probs[~self.valid] = 0
        if len(self.input_shape) != 2:
            probs = from_class_rows(probs, self.input_shape)
        return probs, None


class BinaryCrossEntropy(_Loss):
    """L = -w (y log p + (1 - y) log(1 - p)) per element, averaged; p are probabilities and
    w the optional `weight` (broadcast against p; 1 by default; "mean" still divides by the
    number of elements, as in PyTorch).

    Each log is clamped at -100 (as in PyTorch), so p = 0 or 1 gives a large finite loss.
    Prefer BinaryCrossEntropyWithLogits, which takes raw scores and is exact in the tails.
    Shape: p and y of the same shape, p in [0, 1] -> a scalar (that shape for "none").
    Backward: grad_p = w (p - y) / max(p (1 - p), 1e-12) * grad_L / n;
    grad_y = w (log(1 - p) - log p) * grad_L / n; the weight gets no gradient.
    """

    name = "binary_cross_entropy"

    def __init__(self, reduction: str = "mean", weight: np.ndarray | None = None) -> None:
        super().__init__(reduction)
        self.weight = weight

    def forward(self, p: np.ndarray, y: np.ndarray) -> np.ndarray:
        self._check_same_shape(p, y)
        outside = (p < 0) | (p > 1) | np.isnan(p)
        if outside.any():
            position = np.unravel_index(int(np.flatnonzero(outside)[0]), p.shape)
            raise ValueError(
                f"binary_cross_entropy: input must be probabilities in [0, 1], got {p[position]} "
                f"at {tuple(int(i) for i in position)}; for raw scores use "
                f"binary_cross_entropy_with_logits")
        self.p, self.y = p, y
        with np.errstate(divide="ignore"):
            self.log_p = np.maximum(np.log(p), -100)
            self.log_1mp = np.maximum(np.log1p(-p), -100)
        losses = -(y * self.log_p + (1 - y) * self.log_1mp)
        if self.weight is not None:
            losses = (losses * self.weight).astype(p.dtype, copy=False)
        return self._reduce(losses, p.size)

    def backward(self, grad_loss: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        p, y = self.p, self.y
        scale = self._scale(grad_loss, p.size)
        if self.weight is not None:
            scale = scale * self.weight
        grad_p = (p - y) / np.maximum(p * (1 - p), 1e-12) * scale
        grad_y = (self.log_1mp - self.log_p) * scale if self.wants_grad(1) else None
        return grad_p.astype(p.dtype, copy=False), grad_y


class BinaryCrossEntropyWithLogits(_Loss):
    """L = -w (P y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))) per element, averaged; x are
    raw scores (logits), P = pos_weight weighs the positive term and w = weight the element
    (both broadcast against x, 1 by default; "mean" divides by the number of elements).

    Computed as w ((1 - y) x + (1 + (P - 1) y) (log1p(e^-|x|) + max(-x, 0))), finite for any x.
    Shape: x and y of the same shape; pos_weight broadcasts against the last axis.
    Backward: grad_x = w ((1 + (P - 1) y) sigmoid(x) - P y) * grad_L / n  (sigmoid(x) - y for
    P = w = 1);  grad_y = w (-x + (P - 1) softplus(-x)) * grad_L / n; the weights get none.
    """

    name = "binary_cross_entropy_with_logits"

    def __init__(self, reduction: str = "mean", pos_weight: np.ndarray | None = None,
                 weight: np.ndarray | None = None) -> None:
        super().__init__(reduction)
        self.pos_weight = None if pos_weight is None else np.asarray(pos_weight)
        self.weight = weight

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self._check_same_shape(x, y)
        self.x, self.y = x, y
        # softplus(-x) = -log sigmoid(x), without overflow
        self.softplus_neg_x = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)
        positive_weight = 1 if self.pos_weight is None else 1 + (self.pos_weight - 1) * y
        losses = (1 - y) * x + positive_weight * self.softplus_neg_x
        if self.weight is not None:
            losses = losses * self.weight
        return self._reduce(losses.astype(x.dtype, copy=False), x.size)

    def backward(self, grad_loss: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        x, y = self.x, self.y
        scale = self._scale(grad_loss, x.size)
        if self.weight is not None:
            scale = scale * self.weight
        sigmoid = stable_sigmoid(x)
        if self.pos_weight is None:
            grad_x = (sigmoid - y) * scale
        else:
            grad_x = ((1 + (self.pos_weight - 1) * y) * sigmoid - self.pos_weight * y) * scale
        grad_y = None
        if self.wants_grad(1):
            extra = 0 if self.pos_weight is None else (self.pos_weight - 1) * self.softplus_neg_x
            grad_y = (extra - x) * scale
        return grad_x.astype(x.dtype, copy=False), grad_y


# --- negative log-likelihood, L1, smooth L1, Huber, KL divergence ---


class NLL(_Loss):
    """L = -w[y] x[y] per sample, averaged with the class weights: the negative log-likelihood
    of log-probabilities x (log_softmax's output), PyTorch's nll_loss.

    Samples whose label is `ignore_index` add nothing; "mean" divides by the sum of the
    weights of the others (by their number without weights).
    Shape: x (N, C) with y (N,), x (C,) with y (), or x (N, C, d_1, ...) with y (N, d_1, ...)
    -> a scalar (y's shape for "none").
    Backward: grad_x = -w[y] * grad_L / total_weight at each sample's label column, 0
    elsewhere; labels get no gradient.
    """

    name = "nll_loss"

    def __init__(self, reduction: str = "mean", ignore_index: int = -100,
                 weight: np.ndarray | None = None) -> None:
        super().__init__(reduction)
        self.ignore_index = ignore_index
        self.weight = weight

    def forward(self, x: np.ndarray, target: np.ndarray) -> np.ndarray:
        if x.ndim == 0 or x.dtype.kind != "f":
            raise ValueError(f"nll_loss: expected floating-point log-probabilities of shape "
                             f"(N, C), (C,) or (N, C, d1, ...), got {x.dtype} of shape {x.shape}")
        expected = () if x.ndim == 1 else x.shape[:1] + x.shape[2:]
        if target.shape != expected:
            raise ValueError(f"nll_loss: input of shape {x.shape} needs a target of shape "
                             f"{expected}, got {target.shape}")
        num_classes = x.shape[0 if x.ndim == 1 else 1]
        weights = (np.ones(num_classes, dtype=x.dtype) if self.weight is None
                   else check_class_weight(self.weight, num_classes, self.name).astype(x.dtype))
        self.input_shape = x.shape
        rows = class_rows(x)
        labels = check_class_labels(target.reshape(-1), rows.shape[0], num_classes,
                                    self.ignore_index, self.name, target.shape)
        self.valid = valid = labels != self.ignore_index
        self.labels = np.where(valid, labels, 0)
        self.sample_weights = np.where(valid, weights[self.labels], 0).astype(x.dtype)
        self.total_weight = self.sample_weights.sum()
        self.target_shape = target.shape
        losses = -self.sample_weights * rows[np.arange(rows.shape[0]), self.labels]
        if self.reduction == "none":
            return losses.reshape(target.shape)
        if self.reduction == "sum":
            return np.asarray(losses.sum())
        with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: NaN, as in PyTorch
            return np.asarray(losses.sum() / self.total_weight)

    def backward(self, grad_loss: np.ndarray) -> tuple[np.ndarray, None]:
        if self.reduction == "none":
            scale = grad_loss.reshape(-1)
        elif self.reduction == "sum":
            scale = grad_loss
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                scale = grad_loss / self.total_weight
        count = self.labels.shape[0]
        num_classes = self.input_shape[0 if len(self.input_shape) == 1 else 1]
        rows = np.zeros((count, num_classes), dtype=grad_loss.dtype)
        # ignored samples get 0 even when the scale is 1 / 0 (every label ignored)
        with np.errstate(invalid="ignore"):
            rows[np.arange(count), self.labels] = np.where(
                self.valid, -self.sample_weights * scale, 0)
        return from_class_rows(rows, self.input_shape), None


class L1(_Loss):
    """L = mean over all elements of |input - target| (or their sum, or each one).

    With an element weight w each term is w |input - target| and "mean" divides by the sum
    of w, as in PyTorch.
    Backward: grad_input = w sign(input - target) * grad_L / n;  grad_target = -grad_input.
    At input = target the gradient is 0 (sign(0)), as in PyTorch.
    """

    name = "l1_loss"

    def __init__(self, reduction: str = "mean", weight: np.ndarray | None = None) -> None:
        super().__init__(reduction)
        self.weight = weight

    def forward(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        input, target = self._broadcast(input, target)
        self.diff = input - target
        return self._reduce(self._weigh(np.abs(self.diff), self.weight, True), self.count)

    def backward(self, grad_loss: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        scale = self._scale(grad_loss, self.count)
        if self.weight is not None:
            scale = scale * self.weight
        grad_input = scale * np.sign(self.diff)
        return self._unbroadcast(grad_input, -grad_input if self.wants_grad(1) else None)


class SmoothL1(_Loss):
    """L = mean of 0.5 d^2 / beta where |d| < beta and |d| - 0.5 beta elsewhere, d = input -
    target: quadratic near 0, linear (like L1) far away. beta = 0 gives the L1 loss.

    Backward: grad_input = (d / beta where |d| < beta, else sign(d)) * grad_L / n;
    grad_target = -grad_input. Both pieces meet with slope 1 at |d| = beta.
    """

    name = "smooth_l1_loss"

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        if not beta >= 0:
            raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
        self.beta = beta

    def forward(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        input, target = self._broadcast(input, target)
        d = self.diff = input - target
        magnitude = np.abs(d)
        if self.beta == 0:
            return self._reduce(magnitude, d.size)
        self.small = magnitude < self.beta
        losses = np.where(self.small, 0.5 * d * d / self.beta, magnitude - 0.5 * self.beta)
        return self._reduce(losses.astype(d.dtype, copy=False), d.size)

    def backward(self, grad_loss: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        d = self.diff
        slope = np.sign(d) if self.beta == 0 else np.where(self.small, d / self.beta,
                                                            np.sign(d))
        grad_input = self._scale(grad_loss, d.size) * slope
        return self._unbroadcast(grad_input, -grad_input if self.wants_grad(1) else None)


class Huber(_Loss):
    """L = mean of 0.5 d^2 where |d| < delta and delta (|d| - 0.5 delta) elsewhere, d = input -
    target (= delta * smooth_l1 with beta = delta).

    With an element weight w each term is multiplied by w and "mean" still divides by the
    number of elements (PyTorch's huber_loss, unlike its mse_loss and l1_loss).
    Backward: grad_input = w (d where |d| < delta, else delta sign(d)) * grad_L / n;
    grad_target = -grad_input.
    """

    name = "huber_loss"

    def __init__(self, reduction: str = "mean", delta: float = 1.0,
                 weight: np.ndarray | None = None) -> None:
        super().__init__(reduction)
        if not delta > 0:
            raise ValueError(f"huber_loss: delta must be positive, got {delta}")
        self.delta = delta
        self.weight = weight

    def forward(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        input, target = self._broadcast(input, target)
        d = self.diff = input - target
        magnitude = np.abs(d)
        self.small = magnitude < self.delta
        losses = np.where(self.small, 0.5 * d * d, self.delta * (magnitude - 0.5 * self.delta))
        losses = self._weigh(losses.astype(d.dtype, copy=False), self.weight, False)
        return self._reduce(losses, self.count)

    def backward(self, grad_loss: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        d = self.diff
        slope = np.where(self.small, d, self.delta * np.sign(d))
        scale = self._scale(grad_loss, self.count)
        if self.weight is not None:
            scale = scale * self.weight
        grad_input = scale * slope
        return self._unbroadcast(grad_input, -grad_input if self.wants_grad(1) else None)


class KLDiv(_Loss):
    """L = sum of q (log q - x) over the elements, for log-probabilities x and probabilities
    q (the target); with log_target the target is log q and L = sum of e^t (t - x). Terms
    with q = 0 are 0 (q log q -> 0); a negative q gives NaN, as in PyTorch. reduction:
    "batchmean" (the sum / N, the KL divergence per sample), "sum", "mean" (over all
    elements) or "none"; a mean over nothing is NaN.

    Backward: grad_x = -q * grad_L / n;  grad_q = (log q + 1 - x) * grad_L / n (with
    log_target: grad_t = e^t (t - x + 1) * grad_L / n).
    """

    name = "kl_div"

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        if reduction not in (*REDUCTIONS, "batchmean"):
            raise ValueError(f"kl_div: reduction must be 'mean', 'batchmean', 'sum' or "
                             f"'none', got {reduction!r}")
        self.reduction = reduction
        self.log_target = log_target

    def _count(self, x: np.ndarray) -> int:
        """The divisor of the mean: the input's length (as it came) for "batchmean", the
        number of (broadcast) elements for "mean"."""
        if self.reduction == "batchmean":
            input_shape = self.shapes[0]
            return input_shape[0] if input_shape else 1
        return x.size

    def forward(self, x: np.ndarray, target: np.ndarray) -> np.ndarray:
        x, target = self._broadcast(x, target, warn=False)  # PyTorch does not warn here
        self.x, self.target = x, target
        if self.log_target:
            self.q = np.exp(target)
            losses = self.q * (target - x)
        else:
            self.q = target
            zero = target == 0
            with np.errstate(invalid="ignore"):  # a negative q: NaN, as in PyTorch
                self.log_q = np.log(np.where(zero, 1, target))
            losses = np.where(zero, 0, target * self.log_q) - target * x
        self.count = self._count(x)
        losses = losses.astype(x.dtype, copy=False)
        if self.reduction == "batchmean":
            if not self.count:  # an empty batch: NaN, as in PyTorch
                return np.asarray(np.nan, dtype=losses.dtype)
            return np.asarray(losses.sum() / x.dtype.type(self.count))
        return self._reduce(losses, self.count)

    def _scale(self, grad_loss: np.ndarray, count: float) -> np.ndarray | float:
        if self.reduction in ("mean", "batchmean"):
            return grad_loss / count if count else grad_loss * np.nan
        return grad_loss

    def backward(self, grad_loss: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        scale = self._scale(grad_loss, self.count)
        grad_x = -self.q * scale
        grad_target = None
        if self.wants_grad(1):
            if self.log_target:
                grad_target = self.q * (self.target - self.x + 1) * scale
            else:
                grad_target = (self.log_q + 1 - self.x) * scale
        return self._unbroadcast(grad_x, grad_target)
