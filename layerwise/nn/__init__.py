"""Modules: layers that own parameters, activations and losses as objects, containers,
initializers and nn.utils."""

from layerwise.nn import init, utils
from layerwise.nn.activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from layerwise.nn.containers import ModuleDict, ModuleList
from layerwise.nn.conv import Conv1d, Conv2d, ConvTranspose2d
from layerwise.nn.layers import (
    Dropout,
    Dropout2d,
    Embedding,
    Flatten,
    Identity,
    LayerNorm,
    Linear,
    Sequential,
    Standardize,
    Unflatten,
)
from layerwise.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from layerwise.nn.module import IncompatibleKeys, Module, RemovableHandle, StateDictError
from layerwise.nn.normalization import BatchNorm1d, BatchNorm2d
from layerwise.nn.parameter import Parameter
from layerwise.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d

__all__ = [
    "ELU", "GELU", "AdaptiveAvgPool2d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss",
    "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "ConvTranspose2d", "CrossEntropyLoss",
    "Dropout", "Dropout2d", "Embedding", "Flatten", "HuberLoss", "Identity", "IncompatibleKeys",
    "KLDivLoss", "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss",
    "MaxPool2d", "Module", "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU",
    "RemovableHandle", "Sequential", "Sigmoid", "SmoothL1Loss", "Softmax", "Softplus",
    "Standardize", "StateDictError", "Tanh", "Unflatten", "init", "utils",
]
