"""Classification metrics on plain arrays."""

from __future__ import annotations

import numpy as np


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of predicted class labels equal to the true ones."""
    if predicted.shape != labels.shape:
        raise ValueError(f"accuracy: {predicted.shape[0] if predicted.ndim else 0} predictions "
                         f"for {labels.shape[0] if labels.ndim else 0} labels")
    return float(np.mean(predicted == labels)) if labels.size else float("nan")


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """counts[i, j] = how many samples of true class i were predicted as class j."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (labels.astype(np.int64), predicted.astype(np.int64)), 1)
    return counts


def per_class_accuracy(counts: np.ndarray) -> np.ndarray:
    """Recall of each class from a confusion matrix (NaN for a class with no samples)."""
    totals = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(counts) / totals
