"""Optimizers (each states its update rule in its docstring) and learning-rate schedules."""

from layerwise.optim import lr_scheduler
from layerwise.optim.adagrad import Adagrad
from layerwise.optim.adam import Adam, AdamW
from layerwise.optim.optimizer import Optimizer
from layerwise.optim.rmsprop import RMSprop
from layerwise.optim.sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
