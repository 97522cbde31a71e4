"""Element-wise arithmetic: one output value per (broadcast) input position.

Binary ops broadcast like NumPy and give PyTorch's result dtype (layerwise.dtypes.promote:
float32 * int64 is float32, and dividing integers gives the default floating dtype); their
backward sums each gradient back to its input's shape with `unbroadcast`.
"""

from __future__ import annotations

import numpy as np

from layerwise.dtypes import floating, promote
from layerwise.ops.base import Op, _Broadcasting, unbroadcast
from layerwise.ops.special import erf


class Add(_Broadcasting):
    """y = a + b.

    Shape: a, b broadcastable -> y of the broadcast shape.
    Backward: grad_a = grad_y;  grad_b = grad_y  (each summed back to its input's shape).
    """

    label = "add"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.dtype != b.dtype:
            a, b = promote(a, b)
        self.shape_a, self.shape_b = a.shape, b.shape
        return a + b

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return unbroadcast(grad_y, self.shape_a), unbroadcast(grad_y, self.shape_b)


class Sub(_Broadcasting):
    """y = a - b.

    Shape: a, b broadcastable -> y of the broadcast shape.
    Backward: grad_a = grad_y;  grad_b = -grad_y.
    """

    label = "subtract"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.dtype != b.dtype:
            a, b = promote(a, b)
        self.shape_a, self.shape_b = a.shape, b.shape
        return a - b

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        grad_b = -unbroadcast(grad_y, self.shape_b) if self.wants_grad(1) else None
        return unbroadcast(grad_y, self.shape_a), grad_b


class Mul(_Broadcasting):
    """y = a * b.

    Shape: a, b broadcastable -> y of the broadcast shape.
    Backward: grad_a = grad_y * b;  grad_b = grad_y * a.
    """

    label = "multiply"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.dtype != b.dtype:
            a, b = promote(a, b)
        self.a, self.b = a, b
        return a * b

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        grad_a = unbroadcast(grad_y * self.b, self.a.shape) if self.wants_grad(0) else None
        grad_b = unbroadcast(grad_y * self.a, self.b.shape) if self.wants_grad(1) else None
        return grad_a, grad_b


class Div(_Broadcasting):
    """y = a / b.

    Shape: a, b broadcastable -> y of the broadcast shape.
    Backward: grad_a = grad_y / b;  grad_b = -grad_y * a / b^2 = -grad_y * y / b.
    """

    label = "divide"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.dtype != b.dtype:
            a, b = promote(a, b)
        if a.dtype.kind in "biu":  # true division of integers gives the default dtype
            a, b = floating(a), floating(b)
        self.shape_a, self.b = a.shape, b
        self.y = a / b
        return self.y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        grad_a = unbroadcast(grad_y / self.b, self.shape_a) if self.wants_grad(0) else None
        grad_b = (unbroadcast(-grad_y * self.y / self.b, self.b.shape)
                  if self.wants_grad(1) else None)
        return grad_a, grad_b


class Neg(Op):
    """y = -x.  Backward: grad_x = -grad_y."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return -x

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (-grad_y,)


class Pow(_Broadcasting):
    """y = a ** b.

    Shape: a, b broadcastable -> y of the broadcast shape.
    Backward: grad_a = grad_y * b * a^(b-1);  grad_b = grad_y * y * log(a).
    At a = 0, grad_b is 0 (where b >= 0) as in PyTorch; for a < 0 log(a) is NaN, so a gradient
    for the exponent of a negative base is NaN.
    """

    label = "power"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.dtype != b.dtype:
            a, b = promote(a, b)
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b = self.a, self.b
        grad_a = grad_b = None
        if self.wants_grad(0):
            grad_a = unbroadcast(grad_y * b * a ** (b - 1), a.shape)
        if self.wants_grad(1):
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where(a == 0, 0.0, np.log(np.where(a == 0, 1, a)))
            grad_b = unbroadcast(grad_y * self.y * log_a, b.shape)
        return grad_a, grad_b


class Exp(Op):
    """y = e^x.  Backward: grad_x = grad_y * y."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = np.exp(x)
        return self.y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * self.y,)


class Erf(Op):
    """y = erf(x) = 2/sqrt(pi) integral_0^x e^(-t^2) dt, the error function (ONNX's Erf, in
    the exact GELU).  Backward: grad_x = grad_y * 2/sqrt(pi) e^(-x^2)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return erf(x)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        slope = (2.0 / np.sqrt(np.pi)) * np.exp(-self.x * self.x)
        return (grad_y * slope.astype(self.x.dtype, copy=False),)


class Log(Op):
    """y = ln x (natural logarithm; -inf at 0, NaN below).  Backward: grad_x = grad_y / x."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.log(x)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y / self.x,)


class Sqrt(Op):
    """y = sqrt(x).  Backward: grad_x = grad_y / (2 y); infinite at x = 0."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = np.sqrt(x)
        return self.y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y / (2 * self.y),)


class Abs(Op):
    """y = |x|.  Backward: grad_x = grad_y * sign(x); at the kink x = 0 the gradient is 0."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.abs(x)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * np.sign(self.x),)


class Clip(Op):
    """y = min(max(x, min), max); either bound may be None.

    Backward: grad_x = grad_y where min <= x <= max, else 0. At a bound itself the gradient
    passes (as in PyTorch's clamp).
    """

    def __init__(self, min: float | None = None, max: float | None = None) -> None:
        if min is None and max is None:
            raise ValueError("clip needs at least one of min and max")
        if min is not None and max is not None and min > max:
            raise ValueError(f"clip: min ({min}) must not be greater than max ({max})")
        self.min, self.max = min, max

    def forward(self, x: np.ndarray) -> np.ndarray:
        inside = np.ones(x.shape, dtype=bool)
        if self.min is not None:
            inside &= x >= self.min
        if self.max is not None:
            inside &= x <= self.max
        self.inside = inside
        return np.clip(x, self.min, self.max).astype(x.dtype, copy=False)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * self.inside,)


class Maximum(_Broadcasting):
    """y = max(a, b) element-wise.

    Backward: the gradient goes to the larger input; where a == b it is split in half between
    them (as in PyTorch).
    """

    label = "maximum"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.dtype != b.dtype:
            a, b = promote(a, b)
        self.shape_a, self.shape_b = a.shape, b.shape
        self.share_a = (a > b) + 0.5 * (a == b)
        return np.maximum(a, b)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        grad_a = grad_y * self.share_a
        return unbroadcast(grad_a, self.shape_a), unbroadcast(grad_y - grad_a, self.shape_b)


class Minimum(_Broadcasting):
    """y = min(a, b) element-wise.

    Backward: the gradient goes to the smaller input; where a == b it is split in half.
    """

    label = "minimum"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.dtype != b.dtype:
            a, b = promote(a, b)
        self.shape_a, self.shape_b = a.shape, b.shape
        self.share_a = (a < b) + 0.5 * (a == b)
        return np.minimum(a, b)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        grad_a = grad_y * self.share_a
        return unbroadcast(grad_a, self.shape_a), unbroadcast(grad_y - grad_a, self.shape_b)


class Where(_Broadcasting):
    """y = a where condition else b.

    Shape: condition, a, b broadcastable -> y of the broadcast shape.
    Backward: grad_a = grad_y where condition, else 0;  grad_b = grad_y elsewhere;
    the boolean condition gets no gradient (None).
    """

    label = "where"

    def forward(self, condition: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.condition = condition.astype(bool, copy=False)
        if a.dtype != b.dtype:
            a, b = promote(a, b)
        self.shape_a, self.shape_b = a.shape, b.shape
        return np.where(self.condition, a, b)

    def backward(self, grad_y: np.ndarray) -> tuple[None, np.ndarray, np.ndarray]:
        zero = np.zeros((), dtype=grad_y.dtype)
        grad_a = np.where(self.condition, grad_y, zero)
        grad_b = np.where(self.condition, zero, grad_y)
        return None, unbroadcast(grad_a, self.shape_a), unbroadcast(grad_b, self.shape_b)


# --- the rest of PyTorch's everyday element-wise math ---


class Sin(Op):
    """y = sin x.  Backward: grad_x = grad_y cos x."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.sin(x)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * np.cos(self.x),)


class Cos(Op):
    """y = cos x.  Backward: grad_x = -grad_y sin x."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.cos(x)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (-grad_y * np.sin(self.x),)


class Tan(Op):
    """y = tan x (infinite at odd multiples of pi/2).  Backward: grad_x = grad_y (1 + y^2)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = np.tan(x)
        return self.y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * (1 + self.y * self.y),)


class Log1p(Op):
    """y = ln(1 + x), exact for tiny x where log(1 + x) rounds 1 + x first.

    Backward: grad_x = grad_y / (1 + x); infinite at x = -1.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.log1p(x)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y / (1 + self.x),)


class Expm1(Op):
    """y = e^x - 1, exact for tiny x.  Backward: grad_x = grad_y (y + 1) = grad_y e^x."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = np.expm1(x)
        return self.y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * (self.y + 1),)


class Clamp(_Broadcasting):
    """y = min(max(x, low), high) with tensor bounds (PyTorch's clamp(min=Tensor, max=Tensor));
    a missing bound is passed as -inf or +inf. Where low > high, y = high.

    Shape: x, low, high broadcastable -> y of the broadcast shape.
    Backward (as in PyTorch): grad_x = grad_y where low <= x <= high (bounds included);
    grad_low = grad_y where x < low and low < high; grad_high = grad_y where x > high or
    high < low; each summed back to its input's shape.
    """

    label = "clamp"

    def forward(self, x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        x, low, high = promote(x, low, high)
        self.shapes = x.shape, low.shape, high.shape
        self.inside = (x >= low) & (x <= high)
        self.below = (x < low) & (low < high)
        self.above = (x > high) | (high < low)
        return np.minimum(np.maximum(x, low), high)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray | None, ...]:
        zero = np.zeros((), dtype=grad_y.dtype)
        grads = [np.where(mask, grad_y, zero) if self.wants_grad(position) else None
                 for position, mask in enumerate((self.inside, self.below, self.above))]
        return tuple(None if grad is None else unbroadcast(grad, shape)
                     for grad, shape in zip(grads, self.shapes, strict=True))


class Cast(Op):
    """y = x converted to another floating or complex `dtype` (x.double(), x.to(float32)).

    Backward: grad_x = grad_y, converted back to x's dtype by the engine.
    """

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = np.dtype(dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.astype(self.dtype)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y,)


class Clone(Op):
    """y = a copy of x in its own (C-ordered) memory: x.clone(), x.contiguous().

    Backward: grad_x = grad_y.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.array(x, order="C", copy=True)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y,)


# --- tensor math: rounding, logarithms and powers of 2 and 10, hyperbolic and inverse
# trigonometric functions, atan2 ---


class _Step(Op):
    """A piecewise-constant function of x: its derivative is 0 wherever it exists, and at the
    jumps (the kinks) the gradient is taken as 0 too, as in PyTorch."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.step(x)

    def step(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (np.zeros(grad_y.shape, dtype=grad_y.dtype),)


class Floor(_Step):
    """y = floor x, the largest integer <= x.  Backward: grad_x = 0 (also at the integers,
    where floor jumps)."""

    def step(self, x: np.ndarray) -> np.ndarray:
        return np.floor(x)


class Ceil(_Step):
    """y = ceil x, the smallest integer >= x.  Backward: grad_x = 0 (also at the jumps)."""

    def step(self, x: np.ndarray) -> np.ndarray:
        return np.ceil(x)


class Trunc(_Step):
    """y = trunc x, x with its fractional part dropped (towards 0).  Backward: grad_x = 0
    (also at the jumps)."""

    def step(self, x: np.ndarray) -> np.ndarray:
        return np.trunc(x)


class Round(_Step):
    """y = x rounded to `decimals` decimal places, halves to even (round(2.5) = 2, as PyTorch
    and NumPy do); decimals may be negative (round to tens, hundreds...).

    Backward: grad_x = 0 (also at the halves, where round jumps).
    """

    def __init__(self, decimals: int = 0) -> None:
        self.decimals = decimals

    def step(self, x: np.ndarray) -> np.ndarray:
        return np.round(x, self.decimals)

    def __repr__(self) -> str:
        return f"Round(decimals={self.decimals})"


class Frac(Op):
    """y = x - trunc x, the fractional part with x's sign (frac(-1.5) = -0.5).

    Backward: grad_x = grad_y; at the integers, where frac jumps, the gradient is 1 too (as in
    PyTorch).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x - np.trunc(x)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y,)


class Log2(Op):
    """y = log2 x (-inf at 0, NaN below).  Backward: grad_x = grad_y / (x ln 2)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.log2(x)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y / (self.x * np.log(2.0)),)


class Log10(Op):
    """y = log10 x (-inf at 0, NaN below).  Backward: grad_x = grad_y / (x ln 10)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.log10(x)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y / (self.x * np.log(10.0)),)


class Exp2(Op):
    """y = 2^x (inf once it overflows the dtype).  Backward: grad_x = grad_y y ln 2."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = np.exp2(x)
        return self.y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * self.y * np.log(2.0),)


class Sinh(Op):
    """y = sinh x = (e^x - e^-x) / 2 (inf beyond |x| ~ 89 in float32, 710 in float64).

    Backward: grad_x = grad_y cosh x.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.sinh(x)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * np.cosh(self.x),)


class Cosh(Op):
    """y = cosh x = (e^x + e^-x) / 2 (inf beyond |x| ~ 89 in float32, 710 in float64).

    Backward: grad_x = grad_y sinh x.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.cosh(x)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * np.sinh(self.x),)


class Asin(Op):
    """y = arcsin x in [-pi/2, pi/2] (NaN outside [-1, 1]).

    Backward: grad_x = grad_y / sqrt(1 - x^2); infinite at x = +-1, NaN outside.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.arcsin(x)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y / np.sqrt(1 - self.x * self.x),)


class Acos(Op):
    """y = arccos x in [0, pi] (NaN outside [-1, 1]).

    Backward: grad_x = -grad_y / sqrt(1 - x^2); infinite at x = +-1, NaN outside.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.arccos(x)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (-grad_y / np.sqrt(1 - self.x * self.x),)


class Atan(Op):
    """y = arctan x in (-pi/2, pi/2).  Backward: grad_x = grad_y / (1 + x^2)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.arctan(x)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y / (1 + self.x * self.x),)


class Atan2(_Broadcasting):
    """y = atan2(a, b), the angle of the point (b, a) in (-pi, pi] (a is the y coordinate).

    Shape: a, b broadcastable -> y of the broadcast shape.
    Backward: grad_a = grad_y b / (a^2 + b^2);  grad_b = -grad_y a / (a^2 + b^2). At the
    origin a = b = 0, where the angle is undefined, both gradients are 0 (as in PyTorch).
    """

    label = "atan2"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.dtype != b.dtype:
            a, b = promote(a, b)
        if a.dtype.kind in "biu":  # the angle of integers is in the default dtype
            a, b = floating(a), floating(b)
        self.a, self.b = a, b
        return np.arctan2(a, b)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b = self.a, self.b
        radius2 = a * a + b * b
        scale = np.where(radius2 == 0, 0, grad_y / np.where(radius2 == 0, 1, radius2))
        grad_a = unbroadcast(scale * b, a.shape) if self.wants_grad(0) else None
        grad_b = unbroadcast(-scale * a, b.shape) if self.wants_grad(1) else None
        return grad_a, grad_b


class NanToNum(Op):
    """y = x with NaN replaced by `nan`, +inf by `posinf` and -inf by `neginf` (by default 0,
    the largest and the lowest finite value of x's dtype).

    Backward: grad_x = grad_y where x is finite, 0 where a value was replaced (as in PyTorch).
    """

    def __init__(self, nan: float = 0.0, posinf: float | None = None,
                 neginf: float | None = None) -> None:
        self.nan, self.posinf, self.neginf = nan, posinf, neginf

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.finite = np.isfinite(x)
        return np.nan_to_num(x, nan=self.nan, posinf=self.posinf, neginf=self.neginf)

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray]:
        return (grad_y * self.finite,)
