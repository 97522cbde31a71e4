"""The pictures of a run: loss and accuracy curves, the confusion matrix, for 2-D data the
decision boundary, and for a CNN its first layer's filters with the feature maps they make of a
test image. Drawn with matplotlib's file-only Agg backend."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np

from layerwise import nn
from layerwise.checkpoint import write_atomically
from layerwise.settings import no_grad

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
    if run.splits.train_x.ndim == 2 and run.splits.train_x.shape[1] == 2:
        written.append(_decision_boundary(run, plt))
    if any(isinstance(layer, nn.Conv2d) for layer in run.model):
        written.append(_feature_maps(run, plt))
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


def first_feature_maps(model: nn.Sequential, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first convolution's filters (C, k_h, k_w) (of the first input channel), and the maps
    (C, H, W) that the layers up to its activation make of one image (1, H, W)."""
    layers = list(model)
    first = next(index for index, layer in enumerate(layers) if isinstance(layer, nn.Conv2d))
    end = first + 1
    while end < len(layers) and isinstance(layers[end], nn.BatchNorm2d):
        end += 1
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            maps = nn.Sequential(*layers[:end + 1])(image[np.newaxis]).data[0]
    finally:
        model.train(was_training)
    conv = layers[first]
    assert isinstance(conv, nn.Conv2d)
    return conv.weight.data[:, 0], maps


def mosaic(tiles: np.ndarray, columns: int, signed: bool = False) -> np.ndarray:
    """Tiles (count, h, w), each scaled to [0, 1] on its own, in a grid with a 1-pixel gap;
    `signed` keeps 0 at 0.5, so that a diverging colour map shows the signs of weights."""
    count, h, w = tiles.shape
    rows = -(-count // columns)
    grid = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    for index, tile in enumerate(tiles):
        low, high = tile.min(), tile.max()
        if signed:
            high = max(abs(low), abs(high))
            low = -high
        row, column = divmod(index, columns)
        grid[row * (h + 1):row * (h + 1) + h, column * (w + 1):column * (w + 1) + w] = (
            (tile - low) / (high - low) if high > low else 0.5)
    return grid


def _feature_maps(run: Run, plt: object) -> str:
    image = run.splits.test_x[0]
    filters, maps = first_feature_maps(run.model, image)
    columns = 8
    figure, axes = plt.subplots(1, 3, figsize=(13, 4.2),  # type: ignore[attr-defined]
                                gridspec_kw={"width_ratios": [1, 2, 2]})
    axes[0].imshow(image[0], cmap="gray")
    axes[0].set_title(f"test image ({run.splits.classes[run.splits.test_y[0]]})")
    axes[1].imshow(mosaic(filters, columns, signed=True), cmap="coolwarm")
    axes[1].set_title(f"the {len(filters)} filters of the first convolution")
    axes[2].imshow(mosaic(maps, columns), cmap="magma")
    axes[2].set_title("what they make of the image (after the activation)")
    for axis in axes:
        axis.axis("off")
    figure.tight_layout()
    return _save(figure, run, "feature_maps.png", plt)
