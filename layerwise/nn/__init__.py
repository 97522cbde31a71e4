"""Modules: layers that own parameters, activations and losses as objects, initializers."""

from layerwise.nn import init
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
from layerwise.nn.conv import Conv1d, Conv2d, ConvTranspose2d
from layerwise.nn.layers import (
    Dropout,
    Dropout2d,
    Flatten,
    Identity,
    Linear,
    Sequential,
    Standardize,
)
from layerwise.nn.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from layerwise.nn.module import IncompatibleKeys, Module, StateDictError
from layerwise.nn.normalization import BatchNorm1d, BatchNorm2d
from layerwise.nn.parameter import Parameter
from layerwise.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d

__all__ = [
    "ELU", "GELU", "AdaptiveAvgPool2d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss",
    "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "ConvTranspose2d", "CrossEntropyLoss",
    "Dropout", "Dropout2d", "Flatten", "Identity", "IncompatibleKeys", "LeakyReLU", "Linear",
    "LogSoftmax", "MSELoss", "MaxPool2d", "Module", "Parameter", "ReLU", "Sequential",
    "Sigmoid", "Softmax", "Softplus", "Standardize", "StateDictError", "Tanh", "init",
]
