"""In-place operations (x += 1, x.mul_(2), x[0] = 5, x.zero_()), with PyTorch's rules.

An in-place op changes the tensor's memory and returns the same tensor. Which of three cases
applies depends on whether the change has to be recorded for backward:

1. Nothing to record (under `no_grad()`, or when neither the tensor nor the other operand
   requires grad): the values change and that is all. This is how an optimizer step or the
   manual update `with torch.no_grad(): w -= lr * w.grad` works: `w` stays the same leaf.
2. A leaf that requires grad, while recording: refused, as in PyTorch. Its old values are
   what its gradient is about; change it under `no_grad()` instead.
3. Otherwise (a tensor made by ops, or any tensor meeting an operand that requires grad): the
   op is recorded, and the tensor becomes its output; backward goes through the op to the
   tensor's previous history. An in-place change through a view (indexing, reshape) while
   recording is refused: layerwise does not rewrite the viewed tensor's history (PyTorch does).

Every change adds 1 to the tensor's version counter, which its views share. An op that saved
those values for backward (exp and sigmoid keep their output, mul its inputs) finds the
version changed and backward raises an error that names it, instead of computing a gradient
from the changed values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from layerwise import dtypes, engine, ops, settings
from layerwise.ops.shape import _as_index
from layerwise.shapes import masked_fill_arguments
from layerwise.tensor import Tensor


def _recording(target: Tensor, others: tuple[Any, ...]) -> bool:
    return settings.grad_enabled and (target.requires_grad or any(
        isinstance(other, Tensor) and other.requires_grad for other in others))


def _refuse_unrecordable(name: str, target: Tensor) -> None:
    if target.is_leaf and target.requires_grad:
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad cannot be changed in place while "
            f"gradients are recorded (its gradient is about the values it has now). Change it "
            f"inside `with layerwise.no_grad():`, as an optimizer step does, or make a new "
            f"tensor (x = x + ...)")
    if target._base is not None:
        raise RuntimeError(
            f"{name}: this tensor is a view of another one (from indexing, reshape, transpose, "
            f"expand...) and the change would have to be recorded for backward, which "
            f"layerwise does not do through a view. Change the viewed tensor itself, or a "
            f"clone() of the view")


def _write(name: str, target: Tensor, values: np.ndarray, keep_kind: bool = True) -> None:
    """Copy `values` into the tensor's memory and count the change."""
    if values.shape != target.shape:
        raise ValueError(f"{name}: the result has shape {values.shape} but the tensor changed "
                         f"in place has shape {target.shape}; an in-place op cannot change a "
                         f"tensor's shape")
    if keep_kind and dtypes.category(values.dtype) > dtypes.category(target.dtype):
        raise TypeError(f"{name}: the result is {values.dtype} but the tensor is "
                        f"{target.dtype}; an in-place op keeps the tensor's dtype (convert the "
                        f"tensor first, or make a new one: x = x + ...)")
    _writable(name, target)
    np.copyto(target.data, values, casting="unsafe")
    target._changed_in_place()


def _writable(name: str, target: Tensor) -> None:
    if not target.data.flags.writeable:
        raise RuntimeError(f"{name}: this tensor's memory is read-only (an expand()ed view, "
                           f"whose values share memory, or a read-only array); clone() it "
                           f"first")


def _previous_history(target: Tensor) -> Tensor:
    """A tensor that stands for `target` as it was: the same memory and version counter, the
    op that made it. It becomes the in-place op's input; `target` becomes its output."""
    assert target.grad_fn is not None
    previous = Tensor._from_op(target.data, target.grad_fn, target._inputs,
                               target._recorded_versions)
    previous._version_counter = target._shared_version_counter()
    previous._output_version = target._output_version
    return previous


def apply(name: str, target: Tensor, op_class: type[ops.Op], *others: Any,
          keep_kind: bool = True, **options: Any) -> Tensor:
    """Change `target` to op_class(**options) applied to (target, *others), in place."""
    if not _recording(target, others):
        _write(name, target, op_class.apply(target, *others, **options).data, keep_kind)
        return target
    _refuse_unrecordable(name, target)
    _writable(name, target)
    # The op may keep its first input for backward: give it a copy that the write below
    # leaves alone.
    snapshot = target.data.copy()
    first = _previous_history(target) if target.requires_grad else snapshot
    result = engine.record(op_class(**options), (first, *others), first_array=snapshot)
    _write(name, target, result.data, keep_kind)
    target.grad_fn, target._inputs = result.grad_fn, result._inputs
    target._recorded_versions = result._recorded_versions
    target.requires_grad, target.is_leaf = True, False
    target._output_version = target._version
    return target


def _scaled(other: Any, alpha: float) -> Any:
    if alpha == 1:
        return other
    return ops.Mul.apply(other, alpha) if isinstance(other, Tensor) else np.asarray(other) * alpha


def add_(target: Tensor, other: Any, alpha: float = 1) -> Tensor:
    """target += alpha * other."""
    return apply("add_", target, ops.Add, _scaled(other, alpha))


def sub_(target: Tensor, other: Any, alpha: float = 1) -> Tensor:
    """target -= alpha * other."""
    return apply("sub_", target, ops.Sub, _scaled(other, alpha))


def clamp_(target: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """target limited to [min, max] (numbers or tensors)."""
    if isinstance(min, Tensor | np.ndarray) or isinstance(max, Tensor | np.ndarray):
        low, high = _bounds(target, min, max)
        return apply("clamp_", target, ops.Clamp, low, high)
    return apply("clamp_", target, ops.Clip, min=min, max=max)


def _bounds(target: Tensor, low: Any, high: Any) -> tuple[Any, Any]:
    """Missing tensor bounds as infinities of the tensor's dtype."""
    infinity = np.asarray(np.inf, dtype=dtypes.floating(target.data).dtype)
    return (-infinity if low is None else low), (infinity if high is None else high)


def setitem(target: Tensor, index: Any, value: Any) -> None:
    """target[index] = value."""
    if not _recording(target, (value,)):
        _writable("setitem", target)
        values = value.data if isinstance(value, Tensor) else value
        target.data[_as_index(index)] = values
        target._changed_in_place()
        return
    apply("setitem", target, ops.SetItem, value, keep_kind=False, index=index)


def fill_(target: Tensor, value: Any, name: str) -> Tensor:
    """Every value of target set to `value` (a number or a 0-d tensor)."""
    if np.ndim(value.data if isinstance(value, Tensor) else value) != 0:
        raise ValueError(f"{name}: the value must be a number or a 0-d tensor, got shape "
                         f"{np.shape(value.data if isinstance(value, Tensor) else value)}")
    setitem(target, Ellipsis, value)
    return target


def copy_(target: Tensor, source: Any) -> Tensor:
    """target's values replaced by source's (broadcast to target's shape, cast to its dtype)."""
    shape = np.shape(source.data if isinstance(source, Tensor) else source)
    try:
        broadcast = np.broadcast_shapes(shape, target.shape) == target.shape
    except ValueError:
        broadcast = False
    if not broadcast:
        raise ValueError(f"copy_: a source of shape {shape} does not broadcast to the tensor's "
                         f"shape {target.shape}")
    setitem(target, Ellipsis, source)
    return target


def masked_fill_(target: Tensor, mask: Any, value: Any) -> Tensor:
    """target set to `value` where the bool mask (broadcast to target's shape) is True."""
    condition, value = masked_fill_arguments(target, mask, value, "masked_fill_")
    setitem(target, condition, value)
    return target


def _random_fill(name: str, target: Tensor, draw: Any) -> Tensor:
    if target.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point tensor, got {target.dtype}")
    setitem(target, Ellipsis, np.asarray(draw(target.shape), dtype=target.dtype))
    return target


def uniform_(target: Tensor, low: float = 0.0, high: float = 1.0,
             generator: np.random.Generator | None = None) -> Tensor:
    """target filled with values from U(low, high), drawn from `generator` (the default
    generator when None, see layerwise.manual_seed)."""
    from layerwise.rng import default_generator

    if not low <= high:
        raise ValueError(f"uniform_: expects low <= high, got low={low}, high={high}")
    rng = generator if generator is not None else default_generator()
    return _random_fill("uniform_", target, lambda shape: rng.uniform(low, high, shape))


def normal_(target: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: np.random.Generator | None = None) -> Tensor:
    """target filled with values from N(mean, std^2)."""
    from layerwise.rng import default_generator

    if not std >= 0:
        raise ValueError(f"normal_: expects std >= 0, got {std}")
    rng = generator if generator is not None else default_generator()
    return _random_fill("normal_", target, lambda shape: rng.normal(mean, std, shape))
