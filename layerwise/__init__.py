"""layerwise: backpropagation through a layer abstraction, in NumPy.

Every op is an object with a `forward` that computes its output and keeps what it needs, and a
`backward` that turns the gradient from above into gradients for its inputs; the engine chains
them into reverse-mode differentiation of any feed-forward computation.
"""

from layerwise import functional, memory, nn, ops, optim
from layerwise.check import GradcheckError, detect_anomaly, gradcheck, jacobian, numerical_grad
from layerwise.checkpoint import CheckpointError, load, load_metadata, save
from layerwise.creation import arange, full, ones, ones_like, rand, randn, zeros, zeros_like
from layerwise.engine import grad
from layerwise.functional import (
    abs,
    clip,
    concatenate,
    exp,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    reshape,
    sqrt,
    stack,
    sum,
    transpose,
    where,
)
from layerwise.rng import manual_seed
from layerwise.settings import (
    enable_grad,
    get_default_dtype,
    is_grad_enabled,
    no_grad,
    set_default_dtype,
)
from layerwise.tensor import Tensor, tensor

__version__ = "0.1.0"

if memory.wanted():
    memory.keep_freed_memory()

__all__ = [
    "CheckpointError",
    "GradcheckError",
    "Tensor",
    "__version__",
    "abs",
    "arange",
    "clip",
    "concatenate",
    "detect_anomaly",
    "enable_grad",
    "exp",
    "full",
    "functional",
    "get_default_dtype",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "jacobian",
    "load",
    "load_metadata",
    "log",
    "manual_seed",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "nn",
    "no_grad",
    "numerical_grad",
    "ones",
    "ones_like",
    "ops",
    "optim",
    "rand",
    "randn",
    "reshape",
    "save",
    "set_default_dtype",
    "sqrt",
    "stack",
    "sum",
    "tensor",
    "transpose",
    "where",
    "zeros",
    "zeros_like",
]
