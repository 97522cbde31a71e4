"""Tensor: an ndarray, its gradient, and the op that made it.

A Tensor is what the engine walks. Arithmetic on Tensors calls ops (`a * b` is
`ops.Mul.apply(a, b)`), and each result remembers its op (`grad_fn`) and its inputs, so that
`backward()` can run the ops' backward methods in reverse order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import DTypeLike

from layerwise import dtypes, settings

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
        array = array.astype(dtypes.as_dtype(dtype, "tensor"), copy=False)
    return array


def _describe(data: Any) -> str:
    """`data` for an error message: its type, and its value when that is short to show."""
    if isinstance(data, np.ndarray | np.generic):
        return f"{type(data).__name__} data"
    return f"{type(data).__name__} data {data!r:.60}"


class VersionCounter:
    """How many times a tensor's memory was changed in place (PyTorch's `_version`).

    A tensor and its views (reshape, transpose, basic indexing, detach) share one counter, so
    a change through any of them is seen wherever that memory was saved for backward.
    """

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class Tensor:
    """An n-dimensional array that can record the ops applied to it and backpropagate.

    Attributes:
        data: the values, a NumPy array (writable; assigning replaces them).
        grad: the gradient of the last `backward()` root with respect to this tensor, a Tensor
            of the same shape (that requires no grad), or None. Filled for leaves (tensors
            made by the user) and for tensors that called `retain_grad()`; it accumulates
            across backward calls. An ndarray assigned to it is wrapped in a Tensor.
        requires_grad: whether ops applied to this tensor are recorded.
        grad_fn: the op that produced this tensor, None for leaves.
    """

    __slots__ = ("__weakref__", "_base", "_grad", "_inputs", "_output_version",
                 "_recorded_versions", "_version_counter", "data", "grad_fn", "is_leaf",
                 "requires_grad", "retains_grad")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__ instead of looping

    def __init__(self, data: Any, requires_grad: bool = False, dtype: DTypeLike | None = None):
        self.data: np.ndarray = as_array(data, dtype, requires_grad)
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")
        # The gradient, as the engine stores it (an ndarray) or as .grad handed it out (a
        # Tensor): a Tensor is only made for code that reads .grad, not on every backward.
        self._grad: Tensor | np.ndarray | None = None
        self.requires_grad = requires_grad
        self.grad_fn: Op | None = None
        self._inputs: tuple[Tensor | None, ...] = ()
        self.is_leaf = True
        self.retains_grad = False
        self._version_counter: VersionCounter | None = None  # made when first needed
        self._base: Tensor | None = None
        self._recorded_versions: tuple[tuple[Tensor, int], ...] = ()
        self._output_version = 0

    @classmethod
    def _from_op(cls, data: np.ndarray, op: Op, inputs: tuple[Tensor | None, ...],
                 recorded_versions: tuple[tuple[Tensor, int], ...]) -> Tensor:
        """The output of a recorded op; skips __init__'s conversions on the hot path.
        `recorded_versions` pairs each Tensor input with its version at the forward."""
        out = cls.__new__(cls)
        out.data, out._grad, out.requires_grad = data, None, True
        out.grad_fn, out._inputs, out.is_leaf, out.retains_grad = op, inputs, False, False
        out._version_counter, out._base = None, None
        out._recorded_versions, out._output_version = recorded_versions, 0
        return out

    @classmethod
    def _constant(cls, data: np.ndarray) -> Tensor:
        """A result that records nothing (under no_grad, or with no input requiring grad)."""
        out = cls.__new__(cls)
        out.data, out._grad, out.requires_grad = data, None, False
        out.grad_fn, out._inputs, out.is_leaf, out.retains_grad = None, (), True, False
        out._version_counter, out._base = None, None
        out._recorded_versions, out._output_version = (), 0
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
    def device(self) -> str:
        """Always "cpu": layerwise computes with NumPy."""
        return "cpu"

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def _version(self) -> int:
        """How many times this tensor's memory was changed in place (as in PyTorch)."""
        return 0 if self._version_counter is None else self._version_counter.value

    def _shared_version_counter(self) -> VersionCounter:
        """The version counter, made now if the tensor had none, to share with a view."""
        if self._version_counter is None:
            self._version_counter = VersionCounter()
        return self._version_counter

    def _changed_in_place(self) -> None:
        """Count a change of this tensor's memory (seen by every tensor sharing the counter)."""
        self._shared_version_counter().value += 1

    def size(self, dim: int | None = None) -> Any:
        """The shape, or the length of dimension `dim` (PyTorch's x.size(), x.size(1))."""
        if dim is None:
            return self.data.shape
        return self.data.shape[shapes.normalize_dim(dim, self.ndim, "size")]

    def numel(self) -> int:
        """The number of values."""
        return int(self.data.size)

    nelement = numel

    def dim(self) -> int:
        """The number of dimensions."""
        return self.data.ndim

    def element_size(self) -> int:
        """Bytes per value."""
        return int(self.data.itemsize)

    def is_floating_point(self) -> bool:
        return self.data.dtype.kind == "f"

    def is_contiguous(self) -> bool:
        return bool(self.data.flags.c_contiguous)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Any:
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[position] for position in range(len(self.data)))

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

    def __format__(self, spec: str) -> str:
        """A one-element tensor formats as its number (f"{loss:>7f}"), others as their repr."""
        if self.data.size == 1 and self.data.dtype.kind in "biuf":
            return format(self.item(), spec)
        return format(repr(self), spec)

    # --- autograd --------------------------------------------------------------------------
    @property
    def grad(self) -> Tensor | None:
        grad = self._grad
        if grad is None or isinstance(grad, Tensor):
            return grad
        wrapped = Tensor._constant(grad)  # the same array: p.grad.zero_() zeroes the gradient
        self._grad = wrapped
        return wrapped

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is None or isinstance(value, Tensor | np.ndarray):
            self._grad = value
        elif isinstance(value, np.generic | int | float):
            self._grad = np.asarray(value)
        else:
            raise TypeError(f"grad must be a Tensor, an ndarray or None, got "
                            f"{type(value).__name__}")

    def backward(self, gradient: Any = None, retain_graph: bool = False,
                 grad: Any = None) -> None:
        """Backpropagate from this tensor, accumulating into the `.grad` of every leaf.

        Args:
            gradient: dL/d(self), of this tensor's shape (PyTorch's name; `grad=` works too);
                may be left out when the tensor holds one value (a loss), where it is 1.
            retain_graph: keep the ops' cached arrays so that backward can run through the same
                graph again; by default they are freed as the pass goes.
        """
        from layerwise.engine import backward

        backward(self, _data_of(gradient if gradient is not None else grad), retain_graph)

    def retain_grad(self) -> Tensor:
        """Keep this non-leaf tensor's gradient in `.grad` after backward (leaves always do)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self.retains_grad = True
        return self

    def detach(self) -> Tensor:
        """The same data (shared, not copied) cut from the graph; an in-place change to either
        is seen by both, and by backward where the values were saved."""
        out = Tensor._constant(self.data)
        out._version_counter = self._shared_version_counter()
        return out

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared, not copied)."""
        return self.data

    def item(self) -> Any:
        """The single value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        """The values as (nested) Python lists of numbers; a 0-d tensor gives a number."""
        return self.data.tolist()

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
        self._grad = None

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

    def __floordiv__(self, other: Any) -> Tensor:
        return _not_differentiable("floor_divide", np.floor_divide, self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _not_differentiable("floor_divide", np.floor_divide, other, self)

    def __mod__(self, other: Any) -> Tensor:
        return _not_differentiable("remainder", np.mod, self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return _not_differentiable("remainder", np.mod, other, self)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.GetItem.apply(self, index=index)

    def __setitem__(self, index: Any, value: Any) -> None:
        inplace.setitem(self, index, value)

    # In-place arithmetic: the same tensor, changed (see layerwise.inplace for the rules).
    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    def __ipow__(self, exponent: Any) -> Tensor:
        return self.pow_(exponent)

    # Comparisons and logic give bool tensors that require no grad.
    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return _compare("eq", np.equal, self, other)

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return _compare("ne", np.not_equal, self, other)

    def __lt__(self, other: Any) -> Tensor:
        return _compare("lt", np.less, self, other)

    def __le__(self, other: Any) -> Tensor:
        return _compare("le", np.less_equal, self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _compare("gt", np.greater, self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _compare("ge", np.greater_equal, self, other)

    def __and__(self, other: Any) -> Tensor:
        return _logical("bitwise_and", np.bitwise_and, self, other)

    __rand__ = __and__

    def __or__(self, other: Any) -> Tensor:
        return _logical("bitwise_or", np.bitwise_or, self, other)

    __ror__ = __or__

    def __xor__(self, other: Any) -> Tensor:
        return _logical("bitwise_xor", np.bitwise_xor, self, other)

    __rxor__ = __xor__

    def __invert__(self) -> Tensor:
        if self.data.dtype.kind not in "biu":
            raise TypeError(f"~ (bitwise_not) needs a bool or integer tensor, got {self.dtype}")
        return Tensor._constant(np.invert(self.data))

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

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

    def __index__(self) -> int:
        """A one-element integer tensor used as an index (classes[pred.argmax()])."""
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError(f"only integer tensors of a single element can be converted to an "
                            f"index, got {self.dtype} of shape {self.shape}")
        return int(self.data.item())

    # --- math ------------------------------------------------------------------------------------
    def exp(self) -> Tensor:
        return F.exp(self)

    def log(self) -> Tensor:
        return F.log(self)

    def log1p(self) -> Tensor:
        return F.log1p(self)

    def expm1(self) -> Tensor:
        return F.expm1(self)

    def sqrt(self) -> Tensor:
        return F.sqrt(self)

    def rsqrt(self) -> Tensor:
        return F.rsqrt(self)

    def square(self) -> Tensor:
        return F.square(self)

    def pow(self, exponent: Any) -> Tensor:
        return ops.Pow.apply(self, exponent)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def neg(self) -> Tensor:
        return ops.Neg.apply(self)

    def sign(self) -> Tensor:
        return F.sign(self)

    def sin(self) -> Tensor:
        return F.sin(self)

    def cos(self) -> Tensor:
        return F.cos(self)

    def tan(self) -> Tensor:
        return F.tan(self)

    def add(self, other: Any, alpha: float = 1) -> Tensor:
        return F.add(self, other, alpha=alpha)

    def sub(self, other: Any, alpha: float = 1) -> Tensor:
        return F.sub(self, other, alpha=alpha)

    def mul(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, other)

    def div(self, other: Any) -> Tensor:
        return ops.Div.apply(self, other)

    def matmul(self, other: Any) -> Tensor:
        return ops.MatMul.apply(self, other)

    def maximum(self, other: Any) -> Tensor:
        return ops.Maximum.apply(self, other)

    def minimum(self, other: Any) -> Tensor:
        return ops.Minimum.apply(self, other)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        return F.clamp(self, min, max)

    clip = clamp

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    def sigmoid(self) -> Tensor:
        return F.sigmoid(self)

    def tanh(self) -> Tensor:
        return F.tanh(self)

    def softmax(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        return F.softmax(self, dim, axis=axis)

    def log_softmax(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        return F.log_softmax(self, dim, axis=axis)

    def prelu(self, weight: Any) -> Tensor:
        return F.prelu(self, weight)

    def isnan(self) -> Tensor:
        return Tensor._constant(np.isnan(self.data))

    def isinf(self) -> Tensor:
        return Tensor._constant(np.isinf(self.data))

    def isfinite(self) -> Tensor:
        return Tensor._constant(np.isfinite(self.data))

    def logical_not(self) -> Tensor:
        return Tensor._constant(np.logical_not(self.data))

    # --- tensor math (see layerwise.tensor_math) -------------------------------------------------
    def floor(self) -> Tensor:
        return tensor_math.floor(self)

    def ceil(self) -> Tensor:
        return tensor_math.ceil(self)

    def round(self, *, decimals: int = 0) -> Tensor:
        return tensor_math.round(self, decimals=decimals)

    def trunc(self) -> Tensor:
        return tensor_math.trunc(self)

    fix = trunc

    def frac(self) -> Tensor:
        return tensor_math.frac(self)

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None,
                   neginf: float | None = None) -> Tensor:
        return tensor_math.nan_to_num(self, nan, posinf, neginf)

    def log2(self) -> Tensor:
        return tensor_math.log2(self)

    def log10(self) -> Tensor:
        return tensor_math.log10(self)

    def exp2(self) -> Tensor:
        return tensor_math.exp2(self)

    def sinh(self) -> Tensor:
        return tensor_math.sinh(self)

    def cosh(self) -> Tensor:
        return tensor_math.cosh(self)

    def asin(self) -> Tensor:
        return tensor_math.asin(self)

    def acos(self) -> Tensor:
        return tensor_math.acos(self)

    def atan(self) -> Tensor:
        return tensor_math.atan(self)

    arcsin, arccos, arctan = asin, acos, atan

    def atan2(self, other: Any) -> Tensor:
        return tensor_math.atan2(self, other)

    arctan2 = atan2

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        return tensor_math.logsumexp(self, dim, keepdim)

    def count_nonzero(self, dim: Any = None) -> Tensor:
        return tensor_math.count_nonzero(self, dim)

    def flip(self, *dims: Any) -> Tensor:
        """Reverse the order along `dims` (x.flip(0, 1) or x.flip((0, 1)), as in PyTorch)."""
        return tensor_math.flip(self, dims[0] if len(dims) == 1 else dims)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        return tensor_math.roll(self, shifts, dims)

    def tril(self, diagonal: int = 0) -> Tensor:
        return tensor_math.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        return tensor_math.triu(self, diagonal)

    def diff(self, n: int = 1, dim: int = -1, prepend: Any = None,
             append: Any = None) -> Tensor:
        return tensor_math.diff(self, n, dim, prepend, append)

    def bmm(self, mat2: Any) -> Tensor:
        return tensor_math.bmm(self, mat2)

    def outer(self, vec2: Any) -> Tensor:
        return tensor_math.outer(self, vec2)

    ger = outer

    def clamp_min(self, min: Any) -> Tensor:
        return tensor_math.clamp_min(self, min)

    def clamp_max(self, max: Any) -> Tensor:
        return tensor_math.clamp_max(self, max)

    def logical_and(self, other: Any) -> Tensor:
        return tensor_math.logical_and(self, other)

    def logical_or(self, other: Any) -> Tensor:
        return tensor_math.logical_or(self, other)

    def logical_xor(self, other: Any) -> Tensor:
        return tensor_math.logical_xor(self, other)

    # --- reductions ---------------------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None, dtype: DTypeLike | None = None) -> Tensor:
        return reductions.sum(self, dim, keepdim, axis=axis, keepdims=keepdims, dtype=dtype)

    def mean(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
             keepdims: bool | None = None, dtype: DTypeLike | None = None) -> Tensor:
        return reductions.mean(self, dim, keepdim, axis=axis, keepdims=keepdims, dtype=dtype)

    def max(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None) -> Any:
        """The largest value (dim None), or (values, indices) along `dim` as PyTorch does;
        NumPy's spelling `axis=` gives the values alone."""
        return reductions.max(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def min(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None) -> Any:
        """The smallest value, or (values, indices) along `dim`; see `max`."""
        return reductions.min(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return reductions.amax(self, dim, keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return reductions.amin(self, dim, keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False, *,
               axis: int | None = None) -> Tensor:
        return reductions.argmax(self, dim, keepdim, axis=axis)

    def argmin(self, dim: int | None = None, keepdim: bool = False, *,
               axis: int | None = None) -> Tensor:
        return reductions.argmin(self, dim, keepdim, axis=axis)

    def std(self, dim: Any = None, *args: Any, **options: Any) -> Tensor:
        return reductions.std(self, dim, *args, **options)

    def var(self, dim: Any = None, *args: Any, **options: Any) -> Tensor:
        return reductions.var(self, dim, *args, **options)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:
        return reductions.norm(self, p, dim, keepdim)

    def prod(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return reductions.prod(self, dim, keepdim)

    def cumsum(self, dim: int, *, axis: int | None = None) -> Tensor:
        return reductions.cumsum(self, dim, axis=axis)

    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return reductions.all(self, dim, keepdim)

    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return reductions.any(self, dim, keepdim)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        return reductions.topk(self, k, dim, largest, sorted)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        return reductions.sort(self, dim, descending, stable=stable)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        return reductions.argsort(self, dim, descending, stable=stable)

    # --- shapes ----------------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        return shapes.reshape(self, *shape)

    def view(self, *shape: Any) -> Tensor:
        return shapes.view(self, *shape)

    def view_as(self, other: Tensor) -> Tensor:
        return shapes.view(self, other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return shapes.reshape(self, other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1, *,
                start_axis: int | None = None) -> Tensor:
        """Merge dimensions start_dim..end_dim into one: (N, 1, 28, 28).flatten(1) -> (N, 784)."""
        return shapes.flatten(self, start_dim if start_axis is None else start_axis, end_dim)

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        return shapes.unflatten(self, dim, sizes)

    def squeeze(self, dim: Any = None) -> Tensor:
        return shapes.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return shapes.unsqueeze(self, dim)

    def permute(self, *dims: Any) -> Tensor:
        return shapes.permute(self, *dims)

    def transpose(self, *dims: Any) -> Tensor:
        """transpose(d0, d1) swaps two dimensions as in PyTorch; with no argument, or with a
        permutation of every dimension, the axes are reversed or permuted as in NumPy."""
        return shapes.transpose(self, *dims)

    def t(self) -> Tensor:
        return shapes.t(self)

    @property
    def T(self) -> Tensor:
        return ops.Transpose.apply(self)

    @property
    def mT(self) -> Tensor:
        """The matrices of a batch transposed: the last two dimensions swapped."""
        return shapes.transpose(self, -2, -1)

    def expand(self, *sizes: Any) -> Tensor:
        return shapes.expand(self, *sizes)

    def expand_as(self, other: Tensor) -> Tensor:
        return shapes.expand(self, other.shape)

    def repeat(self, *sizes: Any) -> Tensor:
        return shapes.repeat(self, *sizes)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return shapes.chunk(self, chunks, dim)

    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return shapes.split(self, split_size_or_sections, dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        return shapes.unbind(self, dim)

    def gather(self, dim: int, index: Any) -> Tensor:
        return shapes.gather(self, dim, index)

    def scatter_add(self, dim: int, index: Any, src: Any) -> Tensor:
        return shapes.scatter_add(self, dim, index, src)

    def index_select(self, dim: int, index: Any) -> Tensor:
        return shapes.index_select(self, dim, index)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        return shapes.masked_fill(self, mask, value)

    def where(self, condition: Any, other: Any) -> Tensor:
        return shapes.where(condition, self, other)

    def clone(self) -> Tensor:
        return ops.Clone.apply(self)

    def contiguous(self) -> Tensor:
        """This tensor if its memory is in C order, else a copy that is."""
        return self if self.data.flags.c_contiguous else ops.Clone.apply(self)

    # --- new tensors like this one --------------------------------------------------------------
    def new_zeros(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return creation.zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return creation.ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None,
                 requires_grad: bool = False) -> Tensor:
        return creation.full(size, fill_value, dtype=dtype or self.dtype,
                             requires_grad=requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return creation.empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_tensor(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return Tensor(np.array(_data_of(data)), dtype=dtype or self.dtype,
                      requires_grad=requires_grad)

    # --- in place (see layerwise.inplace) ------------------------------------------------------
    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        return inplace.add_(self, other, alpha)

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        return inplace.sub_(self, other, alpha)

    def mul_(self, other: Any) -> Tensor:
        return inplace.apply("mul_", self, ops.Mul, other)

    def div_(self, other: Any) -> Tensor:
        return inplace.apply("div_", self, ops.Div, other)

    def pow_(self, exponent: Any) -> Tensor:
        return inplace.apply("pow_", self, ops.Pow, exponent)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return inplace.clamp_(self, min, max)

    clip_ = clamp_

    def relu_(self) -> Tensor:
        return inplace.apply("relu_", self, ops.ReLU)

    def zero_(self) -> Tensor:
        return inplace.fill_(self, 0, "zero_")

    def fill_(self, value: Any) -> Tensor:
        return inplace.fill_(self, value, "fill_")

    def copy_(self, src: Any) -> Tensor:
        return inplace.copy_(self, src)

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        return inplace.masked_fill_(self, mask, value)

    def uniform_(self, a: float = 0.0, b: float = 1.0,
                 generator: np.random.Generator | None = None) -> Tensor:
        return inplace.uniform_(self, a, b, generator)

    def normal_(self, mean: float = 0.0, std: float = 1.0,
                generator: np.random.Generator | None = None) -> Tensor:
        return inplace.normal_(self, mean, std, generator)

    def detach_(self) -> Tensor:
        """Cut this tensor from the graph in place: it becomes a leaf that requires no grad."""
        if self._base is not None and self.requires_grad:
            raise RuntimeError("detach_() on a view of a tensor that requires grad; use "
                               "detach(), which returns a new tensor")
        self.grad_fn, self._inputs, self._recorded_versions = None, (), ()
        self.requires_grad, self.is_leaf = False, True
        return self

    # --- dtypes and devices -------------------------------------------------------------------
    # Named float, int, bool... like the dtypes (as in PyTorch): kept last in the class, since
    # within it these names mean the methods from here on.
    def to(self, *args: Any, dtype: Any = None, device: Any = None, **unused: Any) -> Tensor:
        """A tensor of another dtype (x.to(lw.float64), x.to(other)); devices other than the
        CPU are refused (x.to("cpu") is x)."""
        return devices.to(self, *args, dtype=dtype, device=device)

    def type(self, dtype: Any = None) -> Any:
        """Without an argument, the type's name ("layerwise.FloatTensor"); with a dtype, the
        tensor converted to it (x.type(lw.float))."""
        if dtype is None:
            return f"layerwise.{dtypes.TYPE_NAMES.get(self.dtype, str(self.dtype))}"
        return devices.convert(self, dtypes.as_dtype(dtype, "type"))

    def type_as(self, other: Tensor) -> Tensor:
        return devices.convert(self, other.dtype)

    def float(self) -> Tensor:
        return devices.convert(self, dtypes.NAMES["float32"])

    def double(self) -> Tensor:
        return devices.convert(self, dtypes.NAMES["float64"])

    def half(self) -> Tensor:
        return devices.convert(self, dtypes.NAMES["float16"])

    def long(self) -> Tensor:
        return devices.convert(self, dtypes.NAMES["int64"])

    def int(self) -> Tensor:
        return devices.convert(self, dtypes.NAMES["int32"])

    def bool(self) -> Tensor:
        return devices.convert(self, dtypes.NAMES["bool"])

    def cpu(self) -> Tensor:
        return self

    def cuda(self, *unused: Any, **also_unused: Any) -> Tensor:
        return devices.to(self, "cuda")

def _data_of(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


def _operand(value: Any) -> np.ndarray | None:
    """The array to compare against: a Tensor's data, an array, a number or a list of them;
    None for anything else (the comparison then falls back to the other object)."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray | np.generic | bool | int | float | complex | list | tuple):
        return as_array(value)
    return None


def _compare(name: str, function: Callable[..., np.ndarray], a: Tensor, b: Any) -> Any:
    other = _operand(b)
    if other is None:
        return NotImplemented
    if isinstance(b, int | float | bool) and not isinstance(b, np.generic):
        other = np.asarray(b)  # a Python number compares by value, whatever the tensor's dtype
    return constant_result(name, function, a.data, other)


def constant_result(name: str, function: Callable[..., np.ndarray], first: np.ndarray,
                    second: np.ndarray) -> Tensor:
    """function(first, second) as a Tensor outside the graph (a comparison, a logical op);
    shapes that do not broadcast are named in the error."""
    try:
        return Tensor._constant(np.asarray(function(first, second)))
    except ValueError:
        problem = broadcast_problem([first.shape, second.shape])
        if problem is None:
            raise
        raise ValueError(f"{name}: cannot broadcast shapes {first.shape} and {second.shape}: "
                         f"{problem}") from None


def _logical(name: str, function: Callable[..., np.ndarray], a: Tensor, b: Any) -> Tensor:
    other = _operand(b)
    if other is None or a.data.dtype.kind not in "biu" or other.dtype.kind not in "biu":
        raise TypeError(f"{name} needs bool or integer tensors, got {a.dtype} and "
                        f"{getattr(other, 'dtype', type(b).__name__)}")
    return Tensor._constant(np.asarray(function(a.data, other)))


def _not_differentiable(name: str, function: Callable[..., np.ndarray], a: Any,
                        b: Any) -> Tensor:
    """An op without a gradient here (floor_divide, remainder): refused on tensors that
    require grad rather than silently cut from the graph."""
    for value in (a, b):
        if isinstance(value, Tensor) and value.requires_grad and settings.grad_enabled:
            raise RuntimeError(f"{name} is not differentiable in layerwise; use it on tensors "
                               f"that do not require grad (or under no_grad())")
    arrays = dtypes.promote(as_array(_data_of(a)), as_array(_data_of(b)))
    return Tensor._constant(np.asarray(function(*arrays)))


def tensor(data: Any, requires_grad: bool = False, dtype: DTypeLike | None = None,
           device: Any = None) -> Tensor:
    """Make a Tensor from an array, a number, a (nested) list or another Tensor's data.

    NumPy arrays keep their dtype and are not copied (as with torch.as_tensor: an in-place op
    on the tensor changes the array); Python floats take the default dtype (float32 unless
    `set_default_dtype` changed it), Python ints int64, bools bool. `device` may only be the
    CPU.

    Example:
        >>> x = layerwise.tensor([[1.0, 2.0]], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([[2., 4.]])
    """
    devices.check_device(device, "tensor")
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


# Import cycles inside the core: these modules need Tensor, and Tensor's methods need them.
from layerwise import (  # noqa: E402
    creation,
    devices,
    inplace,
    ops,
    reductions,
    shapes,
    tensor_math,
)
from layerwise import functional as F  # noqa: E402
from layerwise.ops.base import broadcast_problem  # noqa: E402
