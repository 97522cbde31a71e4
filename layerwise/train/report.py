"""report.html: one self-contained page about a run folder, for a reader who would rather look
than read files.

The page holds the run's state (finished, or partial: where Ctrl-C stopped it), the loss and
accuracy curves and the metrics per epoch, the test confusion matrix and the most confident
mistakes on the test images (for 2-D points, the decision boundary), the training-health
findings and plots, the model's layers with their parameter counts, and the config with the
library versions. Pictures are inline (PNG data: URIs, SVG), styles are inline, and a
Content-Security-Policy forbids loading anything, so the file can be mailed or archived alone
and opened without a network. No JavaScript.

The test evaluation is made afresh from model.safetensors on the test split, so a partial run
gets one too; it needs the data (Fashion-MNIST or the seeded 2-D set), and without it the page
falls back to the confusion matrix in metrics.json and says so.
"""

from __future__ import annotations

import csv
import html
import json
import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from layerwise import functional as F
from layerwise.checkpoint import CheckpointError, load_metadata, read_json, write_atomically
from layerwise.data import DataError, fashion_mnist
from layerwise.models import IMAGE_SHAPE
from layerwise.nn.summary import layer_rows
from layerwise.settings import no_grad
from layerwise.tensor import Tensor
from layerwise.train.config import RunConfig
from layerwise.train.inline import PNG_SIGNATURE, data_uri, gray_pixels, line_chart, png_bytes
from layerwise.train.metrics import confusion_matrix
from layerwise.train.run import (
    TrainedModel,
    load_splits,
    load_trained_model,
    model_inputs,
    read_run_config,
)
from layerwise.train.trainer import predict_logits

REPORT_NAME = "report.html"
GALLERY_SIZE = 32  # misclassified test images shown, the most confident mistakes first
NO_HEALTH = ("No health data: health.json is absent (a run from before health data existed, "
             "or trained with --no-health).")
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def write_report(folder: str | os.PathLike[str]) -> Path:
    """Write `folder`/report.html (atomically) from the files of a `layerwise train` run, and
    return its path.

    Raises:
        FileNotFoundError: the folder does not exist, or holds no config.json (not a run).
        NotADirectoryError: `folder` is a file.
        ValueError: config.json is not the JSON that layerwise train writes.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"no such folder: {folder}")
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file; layerwise report takes a run folder (the "
                                 f"--out of layerwise train)")
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} is not a layerwise run folder: it has no config.json, "
                                f"the first file layerwise train writes")
    config = read_run_config(folder)
    path = folder / REPORT_NAME
    write_atomically(path, render(RunFolder.read(folder, config)).encode("utf-8"))
    return path


# --- what the folder holds --------------------------------------------------------------------


@dataclass
class TestResults:
    """The trained model's class probabilities on the test split."""

    inputs: np.ndarray
    labels: np.ndarray
    probabilities: np.ndarray

    @property
    def predicted(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.predicted == self.labels)) if len(self.labels) else math.nan


@dataclass
class RunFolder:
    """Everything the page shows, read from the folder (and the model run on the test set)."""

    folder: Path
    config: RunConfig
    saved: dict[str, Any]  # config.json: config, versions, command
    history: list[dict[str, float]]
    metrics: dict[str, Any] | None  # metrics.json, when the run finished
    trained: TrainedModel | None
    epochs_done: int
    partial: bool
    state: str  # "finished: 20 of 20 epochs" or "partial: ..."
    test: TestResults | None
    test_note: str  # why there is no fresh test evaluation, when there is none

    @classmethod
    def read(cls, folder: Path, config: RunConfig) -> RunFolder:
        saved = read_json(folder / "config.json")
        metrics = _read_json(folder / "metrics.json")
        weights = folder / "model.safetensors"
        trained = load_trained_model(folder) if weights.is_file() else None
        metadata = load_metadata(weights) if trained is not None else None
        epochs_done = int(metadata.get("epoch", 0)) if metadata is not None else 0
        if metrics is not None and metrics.get("epochs") != epochs_done:
            metrics = None  # from an earlier finish of a run resumed since
        partial, state = _state(config, metadata, epochs_done, metrics is not None)
        test, note = None, ""
        if trained is None:
            note = "no trained weights yet (model.safetensors is written after the first epoch)"
        else:
            try:
                test = _evaluate(trained, config)
            except (FileNotFoundError, DataError) as error:
                note = f"the test set could not be loaded ({error})"
        return cls(folder, config, saved, _read_history(folder, metrics), metrics, trained,
                   epochs_done, partial, state, test, note)

    def picture(self, name: str) -> str | None:
        """A PNG of the folder as a data: URI (None when absent or not a PNG)."""
        path = self.folder / name
        if not path.is_file():
            return None
        content = path.read_bytes()
        return data_uri(content) if content.startswith(PNG_SIGNATURE) else None


def _read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object of the folder; None when absent or not JSON (the page says so), and a
    CheckpointError when its checksums do not match (a file to restore)."""
    try:
        content = read_json(path)
    except CheckpointError as error:
        raise CheckpointError(f"{error}; restore {path.name} from a copy of the run, or delete "
                              f"it (the report does without)") from None
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def _read_history(folder: Path, metrics: dict[str, Any] | None) -> list[dict[str, float]]:
    """The per-epoch records: metrics.csv (rewritten after every epoch), else metrics.json."""
    path = folder / "metrics.csv"
    if path.is_file():
        with path.open(newline="") as file:
            rows = list(csv.DictReader(file))
        return [{key: number for key, value in row.items() if (number := _float(value))
                 is not None} for row in rows]
    if metrics is not None and isinstance(metrics.get("history"), list):
        return [dict(record) for record in metrics["history"]]
    return []


def _float(text: str | None) -> float | None:
    """The number in a CSV cell; None for an empty or foreign one (the page shows a gap)."""
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _state(config: RunConfig, metadata: dict[str, str] | None, epochs_done: int,
           finished: bool) -> tuple[bool, str]:
    """Whether the run is partial, and where it stands, in words."""
    planned = config.epochs
    if metadata is None:
        return True, (f"partial: stopped during epoch 1 of {planned}, before any weights were "
                      f"saved")
    if "epoch_in_progress" in metadata:
        try:
            where = json.loads(metadata["epoch_in_progress"])
            epoch, step, batches = int(where["epoch"]), int(where["step"]), int(where["batches"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            return True, f"partial: stopped in the middle of epoch {epochs_done + 1} of {planned}"
        return True, (f"partial: stopped in epoch {epoch} of {planned}, after step {step} of "
                      f"{batches} ({100 * step / batches:.0f} % of that epoch; {epochs_done} "
                      f"epoch{'s' * (epochs_done != 1)} finished)")
    if finished:
        return False, f"finished: {epochs_done} of {planned} epochs"
    if epochs_done < planned:
        return True, (f"partial: stopped after epoch {epochs_done} of {planned} "
                      f"({100 * epochs_done / planned:.0f} % of the run)")
    return True, (f"partial: all {epochs_done} epochs trained, but the run stopped before its "
                  f"test evaluation was written")


def _test_split(config: RunConfig, input_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The run's test inputs (float32, shaped for the model) and labels."""
    if config.dataset == "fashion-mnist":
        test = fashion_mnist("test", root=config.data)
        return model_inputs(test.images, input_shape), test.labels
    splits = load_splits(config)  # the seeded 2-D points: cheap to draw again
    return splits.test_x, splits.test_y


def _evaluate(trained: TrainedModel, config: RunConfig) -> TestResults:
    inputs, labels = _test_split(config, trained.input_shape)
    with no_grad():
        probabilities = F.softmax(Tensor(predict_logits(trained.model, inputs))).data
    return TestResults(inputs, np.asarray(labels), probabilities)


# --- the page ---------------------------------------------------------------------------------


def render(run: RunFolder) -> str:
    """The whole HTML page."""
    sections = [_state_section(run), _curves_section(run), _confusion_section(run),
                _mistakes_section(run), _health_section(run), _structure_section(run),
                _config_section(run)]
    title = f"layerwise run report: {run.folder.name}"
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>", f"<style>{STYLE}</style>", "</head>",
        "<body>", f"<h1>{html.escape(title)}</h1>", *sections,
        f'<footer>Written by layerwise report on {time.strftime("%Y-%m-%d %H:%M:%S")} from '
        f"{html.escape(str(run.folder))}.</footer>", "</body>", "</html>", ""])


def _section(anchor: str, heading: str, *body: str) -> str:
    return f'<section id="{anchor}">\n<h2>{html.escape(heading)}</h2>\n' + "\n".join(body) + \
        "\n</section>"


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def _table(header: Iterable[str] | None, rows: Iterable[Iterable[str]], css: str = "") -> str:
    """A table of already escaped cells (without a header row when `header` is None)."""
    head = ("<thead><tr>" + "".join(f"<th>{cell}</th>" for cell in header) + "</tr></thead>"
            if header is not None else "")
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f'<table class="{css}">{head}<tbody>{body}</tbody></table>'


def _state_section(run: RunFolder) -> str:
    config = run.config
    model = (f"CNN, channels {config.channels}, dense {config.hidden}" if config.model == "cnn"
             else f"MLP, hidden {config.hidden}")
    facts = [("dataset", config.dataset), ("model", model),
             ("epochs finished", f"{run.epochs_done} of {config.epochs}")]
    if run.test is not None:
        facts.append(("test accuracy", f"{run.test.accuracy:.4f} on {len(run.test.labels):,} "
                                       f"test samples (of the weights in model.safetensors)"))
    if run.metrics is not None and "test_loss" in run.metrics:
        facts.append(("test loss", f"{run.metrics['test_loss']:.4f} (metrics.json)"))
    banner = (f'<p class="banner {"partial" if run.partial else "finished"}">'
              f"{html.escape(run.state[0].upper() + run.state[1:])}"
              + (". Everything below is of the run as it was saved then." if run.partial
                 else ".") + "</p>")
    rows = [(html.escape(name), html.escape(value)) for name, value in facts]
    return _section("state", "The run", banner, _table(None, rows, "facts"))


def _curves_section(run: RunFolder) -> str:
    history = run.history
    if not history:
        return _section("curves", "Loss and accuracy per epoch",
                        _note("No finished epoch: metrics.csv has no rows yet."))
    epochs = [record.get("epoch", index + 1) for index, record in enumerate(history)]

    def series(*names: str) -> dict[str, list[float]]:
        labels = {"loss": "train", "accuracy": "train", "val_loss": "validation",
                  "val_accuracy": "validation"}
        return {labels[name]: [record.get(name, math.nan) for record in history]
                for name in names if any(name in record for record in history)}

    charts = ('<div class="charts">'
              + line_chart("Loss", epochs, series("loss", "val_loss"), "loss")
              + line_chart("Accuracy", epochs, series("accuracy", "val_accuracy"), "accuracy")
              + "</div>")
    columns = [name for name in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr",
                                 "seconds") if any(name in record for record in history)]
    rows = [[_number(name, record.get(name)) for name in columns] for record in history]
    return _section("curves", "Loss and accuracy per epoch", charts,
                    _note("Train: the mean over the epoch's batches, measured while training "
                          "(dropout on). Validation: after the epoch. From metrics.csv."),
                    _table(columns, rows, "numbers"))


def _number(name: str, value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "" if value is None else html.escape(str(value))
    if name == "epoch":
        return f"{value:g}"
    if name == "lr":
        return f"{value:.3g}"
    if name == "seconds":
        return f"{value:.1f}"
    return f"{value:.4f}"


def _confusion_section(run: RunFolder) -> str:
    classes = run.trained.classes if run.trained is not None else None
    if run.test is not None and classes is not None:
        counts = confusion_matrix(run.test.predicted, run.test.labels, len(classes))
        source = ("Computed by the report from model.safetensors on the test set. Rows: the true "
                  "class; columns: the predicted one.")
    elif run.metrics is not None and "confusion_matrix" in run.metrics:
        counts = np.asarray(run.metrics["confusion_matrix"], dtype=np.int64)
        classes = list(run.metrics.get("classes", [str(c) for c in range(len(counts))]))
        source = (f"From metrics.json, as {run.test_note}. Rows: the true class; columns: the "
                  f"predicted one.")
    else:
        return _section("confusion", "Confusion matrix on the test set",
                        _note(f"No confusion matrix: {run.test_note}."))
    totals = counts.sum(axis=1)
    head = ['<span class="corner">true \\ predicted</span>'] + [html.escape(name)
                                                              for name in classes]
    rows = []
    for true, name in enumerate(classes):
        cells = [f"<b>{html.escape(name)}</b>"]
        for predicted, count in enumerate(counts[true]):
            share = count / totals[true] if totals[true] else 0.0
            # Mistakes are rarer than hits: the square root lets a 5 % confusion show.
            alpha = share if predicted == true else math.sqrt(share)
            colour = "31, 119, 180" if predicted == true else "214, 39, 40"
            ink = "#fff" if alpha > 0.55 else "#000"
            cells.append(f'<span class="cell" style="background: rgba({colour}, {alpha:.3f}); '
                         f'color: {ink}" title="{share:.1%} of {html.escape(name)}">'
                         f"{count}</span>")
        recall = counts[true, true] / totals[true] if totals[true] else math.nan
        cells.append(f"{recall:.3f}")
        rows.append(cells)
    return _section("confusion", "Confusion matrix on the test set", _note(source),
                    _table([*head, "class accuracy"], rows, "confusion"),
                    _note("Shading: the share of the true class's samples in the cell, blue "
                          "on the diagonal (right), red off it (wrong)."))


def _mistakes_section(run: RunFolder) -> str:
    heading = "Misclassified test images"
    if run.config.dataset != "fashion-mnist":
        boundary = run.picture("decision_boundary.png")
        body = [_note(f"{run.config.dataset} is a set of 2-D points, not images: the decision "
                      f"boundary shows the mistakes, test points on the wrong colour.")]
        if run.test is not None:
            wrong = int(np.sum(run.test.predicted != run.test.labels))
            body.append(_note(f"{wrong} of {len(run.test.labels)} test points misclassified."))
        if boundary is not None:
            stale = " (drawn when the run last finished)" if run.partial else ""
            body.append(f'<figure><img src="{boundary}" alt="decision boundary" width="480">'
                        f"<figcaption>decision_boundary.png{html.escape(stale)}</figcaption>"
                        f"</figure>")
        else:
            body.append(_note("No decision_boundary.png: it is drawn when the run finishes "
                              "(with matplotlib)."))
        return _section("mistakes", "Decision boundary", *body)
    if run.test is None or run.trained is None:
        return _section("mistakes", heading, _note(f"No gallery: {run.test_note}."))
    test, classes = run.test, run.trained.classes
    predicted = test.predicted
    confidence = test.probabilities[np.arange(len(predicted)), predicted]
    mistakes = np.flatnonzero(predicted != test.labels)
    shown = mistakes[np.argsort(-confidence[mistakes], kind="stable")][:GALLERY_SIZE]
    figures = []
    for index in shown:
        image = test.inputs[index].reshape(IMAGE_SHAPE[-2:])
        source = data_uri(png_bytes(gray_pixels(image)))
        true_name, predicted_name = classes[test.labels[index]], classes[predicted[index]]
        figures.append(
            f'<figure class="sample"><img src="{source}" width="84" height="84" '
            f'alt="test image {index}"><figcaption>#{index}<br>true: '
            f"{html.escape(true_name)}<br>predicted: <b>{html.escape(predicted_name)}</b> "
            f"({confidence[index]:.2f})</figcaption></figure>")
    summary = (f"{len(mistakes):,} of {len(predicted):,} test images misclassified; the "
               f"{len(shown)} the model was surest of are shown, with the softmax probability of "
               f"its (wrong) choice.")
    return _section("mistakes", heading, _note(summary),
                    '<div class="gallery">' + "".join(figures) + "</div>")


def _health_section(run: RunFolder) -> str:
    heading = "Training health"
    path = run.folder / "health.json"
    if not path.is_file():
        return _section("health", heading, _note(NO_HEALTH))
    health = _read_json(path)
    findings = health.get("findings") if health is not None else None
    if health is None or not isinstance(findings, list) or not all(
            isinstance(finding, dict) and isinstance(finding.get("message"), str)
            for finding in findings):
        return _section("health", heading, _note(
            "health.json is not readable: expected a JSON object with a list of findings, "
            "each with a message."))
    body = []
    facts = []
    if isinstance(health.get("every"), int):
        facts.append(f"sampled every {health['every']} steps")
    initial, expected = health.get("initial_loss"), health.get("expected_initial_loss")
    if isinstance(initial, int | float) and isinstance(expected, int | float):
        facts.append(f"initial loss {initial:.4f}, against {expected:.4f} expected "
                     f"(ln C for C = {health.get('classes', '?')} classes)")
    if facts:
        body.append(_note("; ".join(facts) + "."))
    if findings:
        rows = [[f'<span class="{html.escape(str(finding.get("severity", "info")))}">'
                 f'{html.escape(str(finding.get("severity", "info")))}</span>',
                 html.escape(finding["message"]),
                 html.escape(str(finding.get("step")) if finding.get("step") is not None
                             else ""),
                 html.escape(str(finding.get("layer") or ""))] for finding in findings]
        body.append(_table(["severity", "finding", "step", "layer"], rows, "findings"))
    else:
        body.append('<p class="banner finished">No findings: nothing looked unhealthy.</p>')
    for name, caption in (("gradient_flow.png", "gradient flow per layer over time"),
                          ("activations.png", "activation distributions per layer")):
        picture = run.picture(name)
        if picture is not None:
            body.append(f'<figure><img src="{picture}" alt="{caption}"><figcaption>{name}: '
                        f"{caption}</figcaption></figure>")
    return _section("health", heading, *body)


def _structure_section(run: RunFolder) -> str:
    heading = "The model"
    if run.trained is None:
        return _section("model", heading, _note("No trained weights yet, so no model to show."))
    rows = layer_rows(run.trained.model, (1, *run.trained.input_shape), np.float32)
    total = sum(p.numel() for p in run.trained.model.parameters())
    cells = [[html.escape(name), html.escape(kind), html.escape(shape), f"{count:,}"]
             for name, kind, shape, count in rows]
    cells.append(["<b>total</b>", "", "", f"<b>{total:,}</b>"])
    body = [_note(f"Input of one sample: {run.trained.input_shape}; output shapes for a batch of "
                  f"one."), _table(["layer", "type", "output shape", "parameters"], cells,
                                   "numbers")]
    maps = run.picture("feature_maps.png")
    if maps is not None:
        body.append(f'<figure><img src="{maps}" alt="feature maps"><figcaption>feature_maps.png:'
                    f" the first convolution's filters and what they make of a test image"
                    f"</figcaption></figure>")
    return _section("model", heading, *body)


def _config_section(run: RunFolder) -> str:
    settings = run.config.to_dict()
    rows = [(html.escape(name), html.escape(json.dumps(value))) for name, value in
            settings.items()]
    versions = run.saved.get("versions", {})
    version_rows = [(html.escape(str(name)), html.escape(str(value))) for name, value in
                    (versions.items() if isinstance(versions, dict) else [])]
    command = run.saved.get("command")
    body = [_table(["setting", "value"], rows, "facts")]
    if version_rows:
        body += ["<h3>Library versions</h3>", _table(["library", "version"], version_rows,
                                                     "facts")]
    if isinstance(command, str):
        body.append(f"<h3>Command</h3><pre>{html.escape(command)}</pre>")
    return _section("config", "Config (config.json)", *body)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; }
th { background: #f3f3f3; }
table.numbers td, table.confusion td { text-align: right; font-variant-numeric: tabular-nums; }
table.confusion td { padding: 0; } table.confusion td:first-child { padding: 3px 8px; }
table.confusion td:last-child { padding: 3px 8px; }
.cell { display: block; padding: 3px 8px; min-width: 2.5em; }
.corner { font-weight: normal; color: #666; }
.note { color: #555; }
.banner { padding: 0.6em 1em; border-radius: 4px; font-weight: bold; }
.banner.partial { background: #fff3cd; border: 1px solid #e0b000; }
.banner.finished { background: #e6f4ea; border: 1px solid #7cb487; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
svg.chart { font-size: 11px; background: #fff; }
svg.chart text { fill: #333; } svg.chart .chart-title { font-size: 13px; font-weight: bold; }
svg.chart .grid { stroke: #e5e5e5; } svg.chart .frame { fill: none; stroke: #999; }
.gallery { display: flex; flex-wrap: wrap; gap: 8px; }
figure { margin: 0.5em 0; } figure img { max-width: 100%; }
figure.sample { width: 110px; margin: 0; font-size: 11px; text-align: center; }
figure.sample img { image-rendering: pixelated; border: 1px solid #ccc; }
span.warning { color: #a15c00; font-weight: bold; } span.info { color: #2a6ebb; }
pre { background: #f6f6f6; padding: 0.5em; white-space: pre-wrap; }
footer { margin-top: 2em; color: #777; font-size: 0.85em; }
"""
