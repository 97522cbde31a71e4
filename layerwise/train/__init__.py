"""Training: Trainer and fit, History, callbacks, metrics."""

from layerwise.train.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LRSchedulerStep,
    ModelCheckpoint,
)
from layerwise.train.history import History
from layerwise.train.metrics import accuracy, confusion_matrix, per_class_accuracy
from layerwise.train.trainer import (
    EpochInProgress,
    Evaluation,
    Trainer,
    TrainingDivergedError,
    evaluate,
    fit,
    predict_logits,
)

__all__ = [
    "CSVLogger", "Callback", "EarlyStopping", "EpochInProgress", "Evaluation", "History",
    "LRSchedulerStep", "ModelCheckpoint", "Trainer", "TrainingDivergedError", "accuracy",
    "confusion_matrix", "evaluate", "fit", "per_class_accuracy", "predict_logits",
]
