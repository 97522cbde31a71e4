"""The reverse-mode engine: records ops as they run and walks them backwards.

`record` runs one op's forward and, when any input requires grad, links the result to the op and
its inputs. `backward` orders that graph without recursion (a chain of 100,000 ops is fine),
hands each op the gradient of its output once all of it has arrived, checks what the op returns,
and accumulates gradients for every input. Ops never see Tensors or `.grad`; this module does
all of the bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from layerwise import settings
from layerwise.tensor import Tensor, as_array

if TYPE_CHECKING:
    from layerwise.ops.base import Op


# Functions called as tracer(op, inputs, arrays, result, in_place) after every op that record()
# runs, whether it is recorded in the graph or not: `arrays` are what forward got (numbers
# converted), `in_place` says that the caller writes the result into inputs[0]'s memory.
# layerwise.onnx installs one for the length of a forward pass, to see every input of every op
# (the graph keeps only the inputs that require grad). Empty otherwise, which costs one test.
tracers: list[Callable[[Op, Sequence[Any], list[np.ndarray], Tensor, bool], None]] = []


def record(op: Op, inputs: Sequence[Any], first_array: np.ndarray | None = None) -> Tensor:
    """Run `op.forward` on the inputs' arrays; link the result into the graph when needed.

    While recording, the version of every Tensor input is noted with the result, so that
    backward can tell whether one was changed in place after this forward. `first_array`,
    when given, is what forward gets in place of the first input's array (an in-place op
    passes a copy of its tensor's values, see layerwise.inplace).
    """
    tracking = settings.grad_enabled
    arrays: list[np.ndarray] = []
    parents: list[Tensor | None] = []
    versions: list[tuple[Tensor, int]] = []
    numbers = False
    for value in inputs:
        if isinstance(value, Tensor):
            arrays.append(value.data)
            if tracking:
                parents.append(value if value.requires_grad else None)
                counter = value._version_counter  # None until the tensor is changed or viewed
                versions.append((value, 0 if counter is None else counter.value))
            else:
                parents.append(None)
        elif isinstance(value, np.ndarray):
            arrays.append(value)
            parents.append(None)
        else:
            arrays.append(None)  # type: ignore[arg-type]  # filled in below
            parents.append(None)
            numbers = True
    if numbers:  # Python numbers and lists, converted once the arrays they meet are known
        reference_dtype = next((array.dtype for array in arrays if array is not None), None)
        for position, value in enumerate(inputs):
            if arrays[position] is None:
                arrays[position] = _constant_array(value, reference_dtype)
    if first_array is not None:
        arrays[0] = first_array
    needs_grad = tuple([parent is not None for parent in parents])  # a list is built faster
    any_grad = True in needs_grad
    op.needs_grad = needs_grad
    try:
        out = op.forward(*arrays)
    except ValueError:
        problem = op.explain_failure([np.shape(array) for array in arrays])
        if problem is not None:
            raise ValueError(problem) from None
        raise
    except TypeError:
        for position, array in enumerate(arrays):
            if getattr(array, "dtype", None) is not None and array.dtype.kind not in "biufc":
                raise TypeError(
                    f"{type(op).__name__}: input {position} has dtype {array.dtype}; expected "
                    f"numbers (bool, integer, floating or complex)") from None
        raise
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if settings.anomaly_detection:
        _check_finite(out, op, "forward", arrays)
    if any_grad:
        result = Tensor._from_op(out, op, tuple(parents), tuple(versions))
    else:
        result = Tensor._constant(out)
    if out.base is not None:
        _share_memory_with_input(result, inputs)
    else:
        for array in arrays:
            if array is out:  # an op that returns its input unchanged: a view of it too
                _share_memory_with_input(result, inputs)
                break
    if tracers:
        for tracer in tracers:
            tracer(op, inputs, arrays, result, first_array is not None)
    return result


def _share_memory_with_input(result: Tensor, inputs: Sequence[Any]) -> None:
    """Make `result` a view of the input Tensor whose memory it shares (reshape, transpose,
    basic indexing): it gets that tensor's version counter, so that a change in place through
    either is seen by backward, and `_base`, which in-place ops on views consult."""
    for value in inputs:
        if isinstance(value, Tensor) and np.may_share_memory(result.data, value.data):
            result._base = value
            result._version_counter = value._shared_version_counter()
            result._output_version = value._version
            return


def _constant_array(value: Any, reference_dtype: np.dtype | None) -> np.ndarray:
    """A Python number takes the dtype of the arrays it meets (as in `x * 2`) when it is of
    their kind; a float meeting integers or bools takes the default dtype, and an int meeting
    bools int64, as in PyTorch. Lists become arrays as tensor() makes them."""
    if value is None:
        raise TypeError("an op input is None; pass an array, a number or a Tensor")
    if isinstance(value, bool | int | float) and reference_dtype is not None:
        if isinstance(value, float) and reference_dtype.kind in "biu":
            return np.asarray(value, dtype=settings.default_dtype)
        if not isinstance(value, bool) and isinstance(value, int) \
                and reference_dtype.kind == "b":
            return np.asarray(value, dtype=np.int64)
        return np.asarray(value, dtype=np.result_type(reference_dtype, value))
    return as_array(value)


def backward(root: Tensor, grad: Any = None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into the `.grad` of every leaf that requires grad."""
    _run(root, _root_grad(root, grad), retain_graph, capture=None, user_grad=grad is not None)


def grad(output: Tensor, inputs: Tensor | Sequence[Tensor], grad_output: Any = None,
         retain_graph: bool = False) -> tuple[np.ndarray | None, ...]:
    """Return d(output)/d(input) for each input without touching any `.grad`.

    Inputs may be leaves or intermediate tensors of the graph; an input the output does not
    depend on gets None.
    """
    targets = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    for position, target in enumerate(targets):
        if not isinstance(target, Tensor) or not target.requires_grad:
            raise ValueError(f"grad(): inputs[{position}] is not a tensor that requires grad")
    capture: dict[int, np.ndarray | None] = {id(target): None for target in targets}
    _run(output, _root_grad(output, grad_output), retain_graph, capture,
         user_grad=grad_output is not None)
    return tuple(capture[id(target)] for target in targets)


def _root_grad(root: Tensor, grad: Any) -> np.ndarray:
    if not root.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: no input of the computation "
            "had requires_grad=True, or it ran under no_grad()")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward() without a gradient needs a one-element output (a loss), got shape "
                f"{root.shape}; pass grad= an array of that shape")
        return np.ones_like(root.data)
    array = as_array(grad, dtype=root.data.dtype)
    if array.shape != root.shape:
        raise ValueError(
            f"backward(grad=...) expected a gradient of shape {root.shape}, got {array.shape}")
    return array


def topological_order(root: Tensor) -> list[Tensor]:
    """Every tensor `root` depends on through recorded ops, each after all of its inputs.

    An explicit stack instead of recursion, so the depth of the graph is not limited by Python's.
    """
    order: list[Tensor] = []
    visited = {id(root)}
    stack = [(root, iter(root._inputs))]
    while stack:
        node, inputs = stack[-1]
        for parent in inputs:
            if parent is not None and id(parent) not in visited:
                visited.add(id(parent))
                if not parent._inputs:  # a leaf is done as soon as it is reached
                    order.append(parent)
                    continue
                stack.append((parent, iter(parent._inputs)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _run(root: Tensor, root_grad: np.ndarray, retain_graph: bool,
         capture: dict[int, np.ndarray | None] | None, user_grad: bool) -> None:
    if root.grad_fn is not None and root.grad_fn.released:
        raise RuntimeError(_FREED_MESSAGE)
    pending: dict[int, np.ndarray] = {id(root): root_grad}
    # Buffers the engine allocated itself while summing contributions: only these may be added
    # into in place. Any other gradient may be shared (Add hands the same array to both inputs).
    owned: set[int] = set()
    # Buffers already stored as some tensor's .grad; a second tensor gets a copy, so that
    # changing one .grad in place never changes another's.
    handed_out: set[int] = {id(_base(root_grad))} if user_grad else set()
    anomaly_detection = settings.anomaly_detection

    for node in reversed(topological_order(root)):
        node_grad = pending.pop(id(node), None)
        if node_grad is None:
            continue
        if capture is not None:
            if id(node) in capture:
                capture[id(node)] = node_grad
        elif node.is_leaf or node.retains_grad:
            _store_grad(node, node_grad, handed_out)
        op = node.grad_fn
        if op is None:
            continue
        if op.released:
            raise RuntimeError(_FREED_MESSAGE)
        for tensor, version in node._recorded_versions:
            counter = tensor._version_counter
            if counter is not None and counter.value != version:
                check_changed_input(node, op, tensor, version)
        counter = node._version_counter
        if counter is not None and counter.value != node._output_version:
            check_changed_output(node, op)
        input_grads = op.backward(node_grad)
        inputs = node._inputs
        if not isinstance(input_grads, tuple) or len(input_grads) != len(inputs):
            raise _not_one_gradient_per_input(op, inputs, input_grads)
        for position, (parent, input_grad) in enumerate(zip(inputs, input_grads, strict=True)):
            if parent is None or input_grad is None:
                continue
            if type(input_grad) is not np.ndarray:  # NumPy returns scalars for 0-d arithmetic
                _check_shape(op, position, parent, input_grad)
                input_grad = np.asarray(input_grad)
            elif input_grad.shape != parent.data.shape:
                _check_shape(op, position, parent, input_grad)
            if anomaly_detection:
                _check_finite(input_grad, op, "backward",
                              [p.data for p in inputs if p is not None], position)
            if input_grad.dtype != parent.data.dtype:
                input_grad = input_grad.astype(parent.data.dtype)
            key = id(parent)
            previous = pending.get(key)
            if previous is None:
                pending[key] = input_grad
            elif key in owned:
                previous += input_grad
            else:
                pending[key] = np.asarray(previous + input_grad)  # 0-d sums are scalars
                owned.add(key)
        if not retain_graph:
            op.release()
            node._inputs = node._recorded_versions = ()


_FREED_MESSAGE = (
    "backward() reached part of a graph whose cached arrays were already freed by an earlier "
    "backward(); pass retain_graph=True to the first call to backpropagate through it twice")


def _base(array: np.ndarray) -> np.ndarray:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _store_grad(node: Tensor, grad: np.ndarray, handed_out: set[int]) -> None:
    existing = node._grad
    if existing is not None:
        earlier = existing.data if isinstance(existing, Tensor) else existing
        node._grad = np.asarray(earlier + grad)
        return
    base_id = id(_base(grad))
    if not grad.flags.writeable or base_id in handed_out:
        grad = grad.copy()
    else:
        handed_out.add(base_id)
    node._grad = grad  # an array; the .grad property wraps it in a Tensor when it is read


# --- in-place changes seen by backward ---------------------------------------------------------


def _saved_arrays(op: Op) -> list[np.ndarray]:
    """The arrays an op keeps for backward (its attributes, and arrays in tuples or lists)."""
    found: list[np.ndarray] = []
    for value in vars(op).values():
        if isinstance(value, np.ndarray):
            found.append(value)
        elif isinstance(value, tuple | list):
            found.extend(item for item in value if isinstance(item, np.ndarray))
    return found


def _kept_by(op: Op, array: np.ndarray) -> bool:
    return any(np.shares_memory(saved, array) for saved in _saved_arrays(op))


def _modified_message(op: Op, what: str, tensor: Tensor, then: int) -> str:
    return (f"{type(op).__name__}.backward needs {what} as it was in the forward pass, but it "
            f"was changed in place since: a tensor of shape {tensor.shape} ({tensor.dtype}) "
            f"is at version {tensor._version}, {type(op).__name__} saw version "
            f"{then}. Change a copy instead (x = x.clone() before the in-place op), or write "
            f"the op out of place (x = x * 2 instead of x *= 2)")


def check_changed_input(node: Tensor, op: Op, tensor: Tensor, then: int) -> None:
    """Refuse to backpropagate through `op` when one of its inputs was changed in place after
    its forward and the op kept that memory, or when the input was recorded as the output of
    a new op since (an in-place op while recording): its gradient would then go to the new
    op instead of to the tensor `op` saw."""
    if _kept_by(op, tensor.data):
        raise RuntimeError(_modified_message(op, "one of its inputs", tensor, then))
    is_edge = any(parent is tensor for parent in node._inputs)
    if is_edge and tensor._output_version > then and node._base is not tensor:
        raise RuntimeError(
            f"{type(op).__name__}.backward cannot run: one of its inputs (shape "
            f"{tensor.shape}) was changed by an in-place op that was recorded after "
            f"{type(op).__name__} used it, so its history now ends in that op. Clone the "
            f"tensor before changing it in place (y = x.clone(); y += 1), or write the op out "
            f"of place (x = x + 1)")


def check_changed_output(node: Tensor, op: Op) -> None:
    """Refuse to backpropagate through `op` when its output, which it kept for backward
    (exp, sigmoid, tanh, softmax do), was changed in place after the forward."""
    if _kept_by(op, node.data):
        raise RuntimeError(_modified_message(op, "its output", node, node._output_version))


def _not_one_gradient_per_input(op: Op, inputs: tuple[Tensor | None, ...],
                                input_grads: Any) -> TypeError:
    count = len(input_grads) if isinstance(input_grads, tuple) else type(input_grads).__name__
    return TypeError(
        f"{type(op).__name__}.backward must return a tuple with one gradient per input "
        f"({len(inputs)}), got {count}")


def _check_shape(op: Op, position: int, parent: Tensor, input_grad: Any) -> None:
    """ValueError naming the op when the gradient for input `position` does not have its shape."""
    if getattr(input_grad, "shape", None) != parent.data.shape:
        got = getattr(input_grad, "shape", type(input_grad).__name__)
        raise ValueError(
            f"{type(op).__name__}.backward returned a gradient of shape {got} for input "
            f"{position}, which has shape {parent.data.shape}")


def _check_finite(array: np.ndarray, op: Op, direction: str, arrays: Sequence[Any],
                  position: int | None = None) -> None:
    if array.dtype.kind not in "fc" or np.isfinite(array).all():
        return
    kind = "NaN" if np.isnan(array).any() else "inf"
    shapes = ", ".join(str(np.shape(a)) for a in arrays)
    where = f" in the gradient for input {position}" if position is not None else ""
    raise FloatingPointError(
        f"{type(op).__name__} {direction} produced {kind}{where} (input shapes: {shapes})")
