"""The pictures of a run: loss and accuracy curves, the confusion matrix, for 2-D data the
decision boundary, for a CNN its first layer's filters with the feature maps they make of a
test image, and with training health on, the gradient flow and activation distributions. Drawn
with matplotlib's file-only Agg backend."""

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
    if run.health is not None and run.health.samples:
        written += [_gradient_flow(run, plt), _activations(run, plt)]
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


def _gradient_flow(run: Run, plt: object) -> str:
    """The gradient norm of every weight over the steps, on a log scale: the lines of the first
    layers far under the last ones is vanishing gradients (cs231n's gradient-flow picture)."""
    assert run.health is not None
    samples = run.health.samples
    steps = [sample["step"] for sample in samples]
    names = list(dict.fromkeys(name for sample in samples for name in sample["parameters"]))
    figure, (grad_axes, ratio_axes) = plt.subplots(1, 2, figsize=(12, 4.5))  # type: ignore[attr-defined]
    colours = plt.get_cmap("viridis")  # type: ignore[attr-defined]
    weights = [name for name in names if not name.rsplit(".", 1)[-1].startswith("bias")]
    for index, name in enumerate(weights):
        colour = colours(index / max(len(weights) - 1, 1))
        grads = [sample["parameters"].get(name, {}).get("grad_norm", np.nan) for sample in samples]
        ratios = [sample["parameters"].get(name, {}).get("update_ratio") for sample in samples]
        grad_axes.plot(steps, np.maximum(grads, 1e-30), marker=".", color=colour, label=name)
        ratio_axes.plot(steps, [np.nan if r is None else max(r, 1e-30) for r in ratios],
                        marker=".", color=colour, label=name)
    ratio_axes.axhline(1e-3, color="gray", linestyle="--", linewidth=1, label="1e-3 (cs231n)")
    grad_axes.set(xlabel="step", ylabel="||dL/dW||", yscale="log",
                  title="Gradient norm per layer (first layers dark)")
    ratio_axes.set(xlabel="step", ylabel="||dW|| / ||W||", yscale="log",
                   title="Update-to-weight ratio per layer")
    for axes in (grad_axes, ratio_axes):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7)
    figure.tight_layout()
    return _save(figure, run, "gradient_flow.png", plt)


def _activations(run: Run, plt: object) -> str:
    """Per layer, the distribution of its output over the steps: the median, the 10-90 % band
    and the 1-99 % band; titles give dead or saturated fractions at the last sample."""
    assert run.health is not None
    samples = run.health.samples
    steps = np.array([sample["step"] for sample in samples])
    names = list(dict.fromkeys(name for sample in samples for name in sample["layers"]))
    columns = min(4, max(len(names), 1))
    rows = -(-len(names) // columns)
    figure, axes_grid = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows),  # type: ignore[attr-defined]
                                     squeeze=False)
    for axes, name in zip(axes_grid.ravel(), names, strict=False):
        quantiles = np.array([sample["layers"].get(name, {}).get("quantiles", [np.nan] * 5)
                              for sample in samples], dtype=float)
        axes.fill_between(steps, quantiles[:, 0], quantiles[:, 4], alpha=0.2, color="C0",
                          label="1-99 %")
        axes.fill_between(steps, quantiles[:, 1], quantiles[:, 3], alpha=0.4, color="C0",
                          label="10-90 %")
        axes.plot(steps, quantiles[:, 2], color="C0", label="median")
        last = samples[-1]["layers"].get(name, {})
        title = f"{name} ({last.get('kind', '?')})"
        if last.get("dead_fraction") is not None:
            title += f": {last['dead_fraction']:.0%} dead"
        if last.get("saturated_fraction") is not None:
            title += f": {last['saturated_fraction']:.0%} saturated"
        axes.set_title(title, fontsize=9)
        axes.set_xlabel("step", fontsize=8)
        axes.tick_params(labelsize=7)
        axes.grid(alpha=0.3)
    for axes in axes_grid.ravel()[len(names):]:
        axes.axis("off")
    if names:
        axes_grid.ravel()[0].legend(fontsize=7)
    figure.suptitle("Activations per layer over the steps")
    figure.tight_layout()
    return _save(figure, run, "activations.png", plt)
