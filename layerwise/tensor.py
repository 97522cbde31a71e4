"""Tensor: an ndarray, its gradient, and the op that made it.

A Tensor is what the engine walks. Arithmetic on Tensors calls ops (`a * b` is
`ops.Mul.apply(a, b)`), and each result remembers its op (`grad_fn`) and its inputs, so that
`backward()` can run the ops' backward methods in reverse order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import DTypeLike

from layerwise import settings

if TYPE_CHECKING:
    from layerwise.ops.base import Op


NUMERIC_KINDS = "biufc"  # bool, signed and unsigned integers, floating point, complex


def as_array(data: Any, dtype: DTypeLike | None = None, requires_grad: bool = False) -> np.ndarray:
    """Turn user data into an ndarray the way `layerwise.tensor` documents.

    NumPy arrays and scalars keep their dtype; Python floats (and lists holding one) take the
    default dtype; Python ints stay int64, bools stay bool, except that data meant to require
    gradients becomes the default floating dtype. Anything that is not numbers (strings, None,
    objects, ragged lists) is refused with a message that says what came.
    """
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray | np.generic):
        array = np.asarray(data)
    else:
        try:
            array = np.asarray(data)
        except ValueError as error:
            raise ValueError(
                f"cannot make a tensor from {_describe(data)}: nested sequences must have equal "
                f"lengths, like the rows of a matrix ({error})") from None
        if array.dtype.kind == "f" or (requires_grad and array.dtype.kind in "biu"):
            array = array.astype(settings.default_dtype, copy=False)
    if array.dtype.kind not in NUMERIC_KINDS:
        raise TypeError(f"cannot make a tensor from {_describe(data)}: expected numbers (bool, "
                        f"integer, floating or complex), got dtype {array.dtype}")
    if dtype is not None:
        array = array.astype(_numeric_dtype(dtype), copy=False)
    return array


def _describe(data: Any) -> str:
    """`data` for an error message: its type, and its value when that is short to show."""
    if isinstance(data, np.ndarray | np.generic):
        return f"{type(data).__name__} data"
    return f"{type(data).__name__} data {data!r:.60}"


def _numeric_dtype(dtype: DTypeLike) -> np.dtype:
    try:
        chosen = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"tensor: dtype must be a NumPy dtype such as np.float32 or 'float64', "
                        f"got {dtype!r}") from None
    if chosen.kind not in NUMERIC_KINDS:
        raise TypeError(f"tensor: dtype must be numeric (bool, integer, floating or complex), "
                        f"got {chosen}")
    return chosen


class Tensor:
    """An n-dimensional array that can record the ops applied to it and backpropagate.

    Attributes:
        data: the values, a NumPy array (writable; assigning replaces them).
        grad: the gradient of the last `backward()` root with respect to this tensor, an ndarray of
            the same shape, or None. Filled for leaves (tensors made by the user) and for
            tensors that called `retain_grad()`; it accumulates across backward calls.
        requires_grad: whether ops applied to this tensor are recorded.
        grad_fn: the op that produced this tensor, None for leaves.
    """

    __slots__ = ("__weakref__", "_inputs", "data", "grad", "grad_fn", "is_leaf", "requires_grad",
                 "retains_grad")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__ instead of looping

    def __init__(self, data: Any, requires_grad: bool = False, dtype: DTypeLike | None = None):
        self.data: np.ndarray = as_array(data, dtype, requires_grad)
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")
        self.grad: np.ndarray | None = None
        self.requires_grad = requires_grad
        self.grad_fn: Op | None = None
        self._inputs: tuple[Tensor | None, ...] = ()
        self.is_leaf = True
        self.retains_grad = False

    @classmethod
    def _from_op(cls, data: np.ndarray, op: Op, inputs: tuple[Tensor | None, ...]) -> Tensor:
        """The output of a recorded op; skips __init__'s conversions on the hot path."""
        out = cls.__new__(cls)
        out.data, out.grad, out.requires_grad = data, None, True
        out.grad_fn, out._inputs, out.is_leaf, out.retains_grad = op, inputs, False, False
        return out

    @classmethod
    def _constant(cls, data: np.ndarray) -> Tensor:
        """A result that records nothing (under no_grad, or with no input requiring grad)."""
        out = cls.__new__(cls)
        out.data, out.grad, out.requires_grad = data, None, False
        out.grad_fn, out._inputs, out.is_leaf, out.retains_grad = None, (), True, False
        return out

    # --- array facts ---------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = f", dtype={self.dtype}" if self.dtype != settings.default_dtype else ""
        if self.grad_fn is not None:
            extra += f", grad_fn={type(self.grad_fn).__name__}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # --- autograd --------------------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Backpropagate from this tensor, accumulating into the `.grad` of every leaf.

        Args:
            grad: dL/d(self), of this tensor's shape; may be left out when the tensor holds one
                value (a loss), where it is 1.
            retain_graph: keep the ops' cached arrays so that backward can run through the same
                graph again; by default they are freed as the pass goes.
        """
        from layerwise.engine import backward

        backward(self, grad, retain_graph)

    def retain_grad(self) -> Tensor:
        """Keep this non-leaf tensor's gradient in `.grad` after backward (leaves always do)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self.retains_grad = True
        return self

    def detach(self) -> Tensor:
        """The same data (shared, not copied) cut from the graph."""
        return Tensor._constant(self.data)

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared, not copied)."""
        return self.data

    def item(self) -> Any:
        """The single value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set requires_grad on this leaf in place and return it."""
        if not self.is_leaf:
            raise RuntimeError("requires_grad can only be changed on leaf tensors")
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")
        self.requires_grad = requires_grad
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (sets `.grad` to None)."""
        self.grad = None

    # --- operators ---------------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(other, self)

    def __pow__(self, exponent: Any) -> Tensor:
        return ops.Pow.apply(self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return ops.Pow.apply(base, self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(other, self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return ops.Abs.apply(self)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.GetItem.apply(self, index=index)

    # Comparisons give plain boolean arrays: they have no gradient.
    def __eq__(self, other: object) -> np.ndarray:  # type: ignore[override]
        return self.data == _data_of(other)

    def __ne__(self, other: object) -> np.ndarray:  # type: ignore[override]
        return self.data != _data_of(other)

    def __lt__(self, other: Any) -> np.ndarray:
        return self.data < _data_of(other)

    def __le__(self, other: Any) -> np.ndarray:
        return self.data <= _data_of(other)

    def __gt__(self, other: Any) -> np.ndarray:
        return self.data > _data_of(other)

    def __ge__(self, other: Any) -> np.ndarray:
        return self.data >= _data_of(other)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; reduce it "
                f"first, e.g. (x > 0).any() or (x > 0).all()")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    # --- methods -------------------------------------------------------------------------------
    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return ops.Min.apply(self, axis=axis, keepdims=keepdims)

    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        return ops.Clip.apply(self, min=min, max=max)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        target = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return ops.Reshape.apply(self, shape=tuple(target))

    def flatten(self, start_axis: int = 0) -> Tensor:
        """Merge the axes from `start_axis` on into one: (N, 1, 28, 28).flatten(1) -> (N, 784)."""
        if not -max(self.ndim, 1) <= start_axis < max(self.ndim, 1):
            raise ValueError(f"flatten: start_axis {start_axis} is out of range for a tensor of "
                             f"shape {self.shape} ({self.ndim} axes)")
        return self.reshape(*self.shape[:start_axis], -1)

    def transpose(self, *axes: int) -> Tensor:
        """Reverse the axes, or permute them: `x.transpose(0, 2, 1)`."""
        order = axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes
        return ops.Transpose.apply(self, axes=tuple(order) if order else None)

    @property
    def T(self) -> Tensor:
        return ops.Transpose.apply(self)

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def softmax(self, axis: int = -1) -> Tensor:
        return ops.Softmax.apply(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return ops.LogSoftmax.apply(self, axis=axis)


def _data_of(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


def tensor(data: Any, requires_grad: bool = False, dtype: DTypeLike | None = None) -> Tensor:
    """Make a Tensor from an array, a number, a (nested) list or another Tensor's data.

    NumPy arrays keep their dtype and are not copied; Python floats take the default dtype
    (float32 unless `set_default_dtype` changed it), Python ints int64, bools bool.

    Example:
        >>> x = layerwise.tensor([[1.0, 2.0]], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        array([[2., 4.]], dtype=float32)
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


from layerwise import ops  # noqa: E402  (ops need Tensor; Tensor's operators need ops)
