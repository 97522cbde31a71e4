"""Every differentiable op of layerwise, one class each; see `Op` for the contract.

`ALL_OPS` is the registry the gradient tests iterate: an op defined here and missing from it
fails the test suite.
"""

from layerwise.ops.activation import (
    CELU,
    ELU,
    GELU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
    Threshold,
)
from layerwise.ops.base import Op, unbroadcast
from layerwise.ops.conv import Conv1d, Conv2d, ConvTranspose2d
from layerwise.ops.elementwise import (
    Abs,
    Acos,
    Add,
    Asin,
    Atan,
    Atan2,
    Cast,
    Ceil,
    Clamp,
    Clip,
    Clone,
    Cos,
    Cosh,
    Div,
    Erf,
    Exp,
    Exp2,
    Expm1,
    Floor,
    Frac,
    Log,
    Log1p,
    Log2,
    Log10,
    Maximum,
    Minimum,
    Mul,
    NanToNum,
    Neg,
    Pow,
    Round,
    Sin,
    Sinh,
    Sqrt,
    Sub,
    Tan,
    Trunc,
    Where,
)
from layerwise.ops.indexing import Embedding, Gather, ScatterAdd, SetItem
from layerwise.ops.linalg import Einsum, Linear, MatMul
from layerwise.ops.loss import (
    L1,
    MSE,
    NLL,
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    Huber,
    KLDiv,
    SmoothL1,
    SoftmaxCrossEntropy,
)
from layerwise.ops.normalization import BatchNorm
from layerwise.ops.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from layerwise.ops.reduction import (
    Cumsum,
    LogSumExp,
    Max,
    Mean,
    Min,
    Norm,
    Prod,
    Sum,
    Var,
)
from layerwise.ops.regularization import Dropout, Dropout2d
from layerwise.ops.shape import (
    Concatenate,
    Expand,
    Flip,
    GetItem,
    Pad,
    Repeat,
    Reshape,
    Roll,
    Stack,
    Transpose,
    Tril,
    Triu,
)

ALL_OPS: tuple[type[Op], ...] = (
    Add, Sub, Mul, Div, Neg, Pow, Exp, Log, Sqrt, Abs, Clip, Maximum, Minimum, Where,
    MatMul, Linear,
    Sum, Mean, Max, Min,
    Reshape, Transpose, GetItem, Concatenate, Stack,
    ReLU, LeakyReLU, ELU, GELU, Sigmoid, Tanh, Softplus, Softmax, LogSoftmax,
    Dropout,
    Conv2d, Conv1d, ConvTranspose2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, BatchNorm,
    Dropout2d,
    MSE, SoftmaxCrossEntropy, BinaryCrossEntropy, BinaryCrossEntropyWithLogits,
    # --- the everyday PyTorch API ---
    Sin, Cos, Tan, Log1p, Expm1, Clamp, Cast, Clone,
    Var, Norm, Prod, Cumsum,
    Expand, Repeat, Pad,
    Gather, ScatterAdd, SetItem, Embedding,
    Einsum,
    NLL, L1, SmoothL1, Huber, KLDiv,
    # --- for ONNX import (the exact GELU of PyTorch's exports) ---
    Erf,
    # --- tensor math ---
    Floor, Ceil, Round, Trunc, Frac, NanToNum,
    Log2, Log10, Exp2, Sinh, Cosh, Asin, Acos, Atan, Atan2,
    LogSumExp, Flip, Roll, Tril, Triu,
    # --- activations (SiLU, Hardtanh, LogSigmoid, ...) ---
    SiLU, Hardtanh, LogSigmoid, Softsign, SELU, CELU, Mish, Hardswish, Hardsigmoid, Threshold,
    PReLU,
)

__all__ = ["ALL_OPS", "Op", "unbroadcast"] + [op.__name__ for op in ALL_OPS]
