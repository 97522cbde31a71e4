"""The pictures of a run: loss and accuracy curves, the confusion matrix, and for 2-D data
the decision boundary. Drawn with matplotlib's file-only Agg backend."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np

from layerwise.checkpoint import write_atomically

if TYPE_CHECKING:
    from layerwise.train.run import Run
    from layerwise.train.trainer import Evaluation


def save_plots(run: Run, result: Evaluation) -> list[str]:
    """Write the run's PNG files; return their names (none when matplotlib is missing)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        run.trainer.log("matplotlib is not installed: no plots (pip install 'layerwise[cli]')")
        return []
    written = [_loss_curve(run, plt), _confusion(run, result, plt)]
    if run.splits.train_x.shape[1] == 2:
        written.append(_decision_boundary(run, plt))
    return written


def _save(figure: Any, run: Run, name: str, plt: object) -> str:
    """Render to memory, then write atomically: a stopped run never leaves half a picture."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)  # type: ignore[attr-defined]
    write_atomically(run.folder / name, buffer.getvalue())
    return name


def _loss_curve(run: Run, plt: object) -> str:
    history = run.trainer.history
    epochs = history["epoch"]
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 4))  # type: ignore[attr-defined]
    loss_axes.plot(epochs, history["loss"], marker="o", label="train")
    if history["val_loss"]:
        loss_axes.plot(epochs, history["val_loss"], marker="o", label="validation")
    loss_axes.set(xlabel="epoch", ylabel="loss", title="Loss")
    accuracy_axes.plot(epochs, history["accuracy"], marker="o", label="train")
    if history["val_accuracy"]:
        accuracy_axes.plot(epochs, history["val_accuracy"], marker="o", label="validation")
    accuracy_axes.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    return _save(figure, run, "loss_curve.png", plt)


def _confusion(run: Run, result: Evaluation, plt: object) -> str:
    counts = result.confusion_matrix
    classes = run.splits.classes
    size = max(5.0, 0.6 * len(classes) + 2)
    figure, axes = plt.subplots(figsize=(size + 1, size))  # type: ignore[attr-defined]
    image = axes.imshow(counts, cmap="Blues")
    figure.colorbar(image, ax=axes)
    ticks = np.arange(len(classes))
    axes.set_xticks(ticks, classes, rotation=45, ha="right")
    axes.set_yticks(ticks, classes)
    threshold = counts.max() / 2 if counts.size else 0
    for (row, column), count in np.ndenumerate(counts):
        axes.text(column, row, str(count), ha="center", va="center", fontsize=8,
                  color="white" if count > threshold else "black")
    axes.set(xlabel="predicted", ylabel="true",
             title=f"Test confusion matrix (accuracy {result.accuracy:.4f})")
    figure.tight_layout()
    return _save(figure, run, "confusion_matrix.png", plt)


def _decision_boundary(run: Run, plt: object) -> str:
    points, labels = run.splits.test_x, run.splits.test_y
    low, high = points.min(axis=0) - 0.5, points.max(axis=0) + 0.5
    xs, ys = np.meshgrid(np.linspace(low[0], high[0], 300), np.linspace(low[1], high[1], 300))
    grid = np.column_stack([xs.ravel(), ys.ravel()]).astype(points.dtype)
    predicted = run.trainer.predict(grid).argmax(axis=1).reshape(xs.shape)
    figure, axes = plt.subplots(figsize=(6, 6))  # type: ignore[attr-defined]
    axes.contourf(xs, ys, predicted, alpha=0.3, cmap="coolwarm")
    axes.scatter(points[:, 0], points[:, 1], c=labels, s=8, cmap="coolwarm", edgecolors="k",
                 linewidths=0.2)
    axes.set(title=f"Decision boundary on {run.config.dataset} (test points)", xlabel="x1",
             ylabel="x2")
    figure.tight_layout()
    return _save(figure, run, "decision_boundary.png", plt)
