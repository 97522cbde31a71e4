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
from layerwise.nn.layers import Dropout, Flatten, Identity, Linear, Sequential, Standardize
from layerwise.nn.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from layerwise.nn.module import IncompatibleKeys, Module, StateDictError
from layerwise.nn.parameter import Parameter

__all__ = [
    "ELU", "GELU", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "Flatten",
    "Identity", "IncompatibleKeys", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "Module",
    "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Softplus", "Standardize",
    "StateDictError", "Tanh", "init",
]
