"""Element-wise arithmetic: one output value per (broadcast) input position.

Binary ops broadcast like NumPy; their backward sums each gradient back to its input's shape
with `unbroadcast`.
"""

from __future__ import annotations

import numpy as np

from layerwise.ops.base import Op, _Broadcasting, unbroadcast


class Add(_Broadcasting):
    """y = a + b.

    Shape: a, b broadcastable -> y of the broadcast shape.
    Backward: grad_a = grad_y;  grad_b = grad_y  (each summed back to its input's shape).
    """

    label = "add"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
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
        self.shape_a, self.shape_b = a.shape, b.shape
        return np.where(self.condition, a, b)

    def backward(self, grad_y: np.ndarray) -> tuple[None, np.ndarray, np.ndarray]:
        zero = np.zeros((), dtype=grad_y.dtype)
        grad_a = np.where(self.condition, grad_y, zero)
        grad_b = np.where(self.condition, zero, grad_y)
        return None, unbroadcast(grad_a, self.shape_a), unbroadcast(grad_b, self.shape_b)
