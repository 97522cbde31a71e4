"""Matrix products: the fully connected layer of the lectures and general (batched) matmul."""

from __future__ import annotations

import numpy as np

from layerwise.ops.base import Op, broadcast_problem, unbroadcast


class Linear(Op):
    """y = x W^T + b, the fully connected layer (y = W x for one column vector x).

    Shape: x (N, D_in) or (*, D_in), W (D_out, D_in), b (D_out,) -> y (N, D_out) or (*, D_out).
    Backward (delta = grad_y, the lecture's error signal):
        grad_x = delta W            (the lecture's W^T delta, one row per sample);
        grad_W = delta^T x          (the lecture's delta x^T, summed over the batch);
        grad_b = sum over N of delta.
    The bias may be left out: `forward(x, W)` returns y = x W^T and backward gives (grad_x,
    grad_W).
    """

    def forward(self, x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        self.x, self.W, self.has_bias = x, W, b is not None
        y = x @ W.T
        if b is not None:
            y += b
        return y

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x, W = self.x, self.W
        grad_x = grad_y @ W if self.wants_grad(0) else None
        grad_W = None
        if self.wants_grad(1):
            if x.ndim == 2:
                grad_W = grad_y.T @ x
            else:
                grad_W = grad_y.reshape(-1, W.shape[0]).T @ x.reshape(-1, W.shape[1])
        if not self.has_bias:
            return grad_x, grad_W
        grad_b = None
        if self.wants_grad(2):
            grad_b = grad_y.sum(axis=tuple(range(grad_y.ndim - 1)))
        return grad_x, grad_W, grad_b


class MatMul(Op):
    """y = a @ b, NumPy's matmul: matrix products over the last two axes, broadcast batches.

    Shape: a (..., n, k), b (..., k, m) -> y (..., n, m); a 1-D a is a row (k,), a 1-D b a
    column (k,), and their axis is dropped from y, as in NumPy.
    Backward: grad_a = grad_y @ b^T;  grad_b = a^T @ grad_y  (batch axes summed back to each
    input's shape).
    """

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return np.matmul(a, b)

    def explain_failure(self, shapes: list[tuple[int, ...]]) -> str | None:
        problem = matmul_problem(*shapes)
        return None if problem is None else f"matmul: {problem}"

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b = self.a, self.b
        if a.ndim == 1 and b.ndim == 1:  # the dot product: grad_y is a scalar
            return grad_y * b, grad_y * a
        # Treat vectors as matrices so that one formula covers every case.
        a2 = a[np.newaxis, :] if a.ndim == 1 else a
        b2 = b[:, np.newaxis] if b.ndim == 1 else b
        grad = grad_y
        if a.ndim == 1:
            grad = np.expand_dims(grad, -2)
        if b.ndim == 1:
            grad = np.expand_dims(grad, -1)
        grad_a = grad_b = None
        if self.wants_grad(0):
            grad_a2 = np.matmul(grad, np.swapaxes(b2, -1, -2))
            grad_a = unbroadcast(grad_a2, a2.shape).reshape(a.shape)
        if self.wants_grad(1):
            grad_b2 = np.matmul(np.swapaxes(a2, -1, -2), grad)
            grad_b = unbroadcast(grad_b2, b2.shape).reshape(b.shape)
        return grad_a, grad_b


def matmul_problem(shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> str | None:
    """Why a @ b fails for these shapes (NumPy's matmul rules), as a sentence; None if it fits."""
    if not shape_a or not shape_b:
        return (f"cannot multiply shapes {shape_a} and {shape_b}: both need at least one axis "
                f"(use * to multiply by a scalar)")
    inner_b, which = (shape_b[-2], "second-to-last") if len(shape_b) >= 2 else (shape_b[0], "only")
    if shape_a[-1] != inner_b:
        return (f"cannot multiply shapes {shape_a} and {shape_b}: the first's last axis has "
                f"length {shape_a[-1]} but the second's {which} axis has {inner_b} (they must "
                f"be equal)")
    batch_a, batch_b = shape_a[:-2], shape_b[:-2]
    batch_problem = broadcast_problem([batch_a, batch_b])
    if batch_problem is not None:
        return (f"cannot multiply shapes {shape_a} and {shape_b}: their batch axes {batch_a} and "
                f"{batch_b} do not broadcast: {batch_problem}")
    return None


# --- einsum ---


def parse_einsum(equation: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """The subscripts of each operand and of the output, with every '...' written out as
    letters the equation does not use and the implicit output (no '->') made explicit: the
    letters that appear once, in alphabetical order, after the ellipsis letters.

    Raises ValueError, in the user's terms, for a malformed equation or operands that do
    not fit it.
    """
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string, got {type(equation).__name__}")
    text = equation.replace(" ", "")
    if text.count("->") > 1:
        raise ValueError(f"einsum: equation {equation!r} has more than one '->'")
    left, arrow, right = text.partition("->")
    terms = left.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: equation {equation!r} has {len(terms)} operand "
                         f"term{'s' * (len(terms) != 1)} but {len(shapes)} operand"
                         f"{'s were' if len(shapes) != 1 else ' was'} given")
    for term in [*terms, right]:
        rest = term.replace("...", "", 1)
        wrong = next((character for character in rest if not character.isalpha()
                      or not character.isascii()), None)
        if wrong is not None:
            raise ValueError(f"einsum: equation {equation!r} has {wrong!r} in {term!r}; use "
                             f"letters, ',', '->' and at most one '...' per term")
    used = {character for character in text if character.isalpha()}
    spare = [character for character in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
             if character not in used]
    widths = []
    for position, (term, shape) in enumerate(zip(terms, shapes, strict=True)):
        named = len(term.replace("...", ""))
        if ("..." in term and named > len(shape)) or ("..." not in term
                                                     and named != len(shape)):
            raise ValueError(f"einsum: operand {position} has {len(shape)} dimensions "
                             f"{shape} but its subscripts {term!r} name {named}")
        widths.append(len(shape) - named if "..." in term else 0)
    ellipsis = "".join(spare[:max(widths, default=0)])
    subscripts = [term.replace("...", ellipsis[len(ellipsis) - width:] if width else "")
                  for term, width in zip(terms, widths, strict=True)]
    if arrow:
        output = right.replace("...", ellipsis)
        for character in output:
            if output.count(character) > 1:
                raise ValueError(f"einsum: output subscript {character!r} appears more than "
                                 f"once in {equation!r}")
            if not any(character in term for term in subscripts):
                raise ValueError(f"einsum: output subscript {character!r} of {equation!r} "
                                 f"appears in no operand")
    else:
        counts = "".join(subscripts)
        output = ellipsis + "".join(sorted(character for character in set(counts)
                                           if counts.count(character) == 1
                                           and character not in ellipsis))
    return subscripts, output


class Einsum(Op):
    """y = the Einstein summation `equation` of the operands (np.einsum / torch.einsum):
    letters name axes, a letter shared by operands pairs them up, and letters missing from
    the output are summed over. Axes of length 1 broadcast against the same letter elsewhere.

    Backward: the gradient for operand k is the einsum of grad_y with the other operands
    whose output is operand k's subscripts ("ij,jk->ik" gives grad_a = "ik,jk->ij"(grad_y,
    b)); letters only operand k sums over are broadcast back, a repeated letter ("ii")
    puts the gradient on the diagonal, and broadcast axes are summed back.
    """

    def __init__(self, equation: str) -> None:
        self.equation = equation

    def forward(self, *operands: np.ndarray) -> np.ndarray:
        self.subscripts, self.output = parse_einsum(self.equation,
                                                    [array.shape for array in operands])
        sizes: dict[str, int] = {}
        for position, (term, array) in enumerate(zip(self.subscripts, operands, strict=True)):
            for letter, length in zip(term, array.shape, strict=True):
                known = sizes.get(letter, 1)
                if length != 1 and known not in (1, length):
                    raise ValueError(
                        f"einsum: subscript {letter!r} has length {known} in an earlier "
                        f"operand but {length} in operand {position} (they must be equal, or "
                        f"1) in {self.equation!r}")
                sizes[letter] = max(known, length)
        self.sizes = sizes
        self.input_shapes = [array.shape for array in operands]
        self.operands = [np.broadcast_to(array, [sizes[letter] for letter in term])
                         for term, array in zip(self.subscripts, operands, strict=True)]
        return np.asarray(np.einsum(self._equation(self.subscripts, self.output),
                                    *self.operands, optimize=len(operands) > 2))

    @staticmethod
    def _equation(inputs: list[str], output: str) -> str:
        return ",".join(inputs) + "->" + output

    def backward(self, grad_y: np.ndarray) -> tuple[np.ndarray | None, ...]:
        return tuple(self._grad_of(position, grad_y) if self.wants_grad(position) else None
                     for position in range(len(self.operands)))

    def _grad_of(self, position: int, grad_y: np.ndarray) -> np.ndarray:
        term = self.subscripts[position]
        others = [(t, a) for k, (t, a) in enumerate(zip(self.subscripts, self.operands,
                                                          strict=True)) if k != position]
        available = set(self.output).union(*(set(t) for t, _ in others))
        letters = "".join(dict.fromkeys(term))  # unique, in order of first appearance
        present = "".join(letter for letter in letters if letter in available)
        partial = np.einsum(self._equation([self.output, *(t for t, _ in others)], present),
                            grad_y, *(a for _, a in others), optimize=len(others) > 1)
        expanded = np.broadcast_to(
            np.reshape(partial, [self.sizes[letter] if letter in present else 1
                                 for letter in letters]),
            [self.sizes[letter] for letter in letters])
        if len(letters) == len(term):
            grad = np.array(expanded, dtype=grad_y.dtype)
        else:  # a repeated letter: the gradient lives on that diagonal only
            grad = np.zeros([self.sizes[letter] for letter in term], dtype=grad_y.dtype)
            np.einsum(self._equation([term], letters), grad)[...] = expanded
        return unbroadcast(grad, self.input_shapes[position])
