"""Training health: what cs231n's "babysitting the learning process" and Karpathy's "A Recipe
for Training Neural Networks" look at, recorded while a Trainer runs and turned into findings.

`TrainingHealth` is a callback. Every `every` steps (and always at step 1) it records, per layer
(each module without sub-modules, named as `named_modules()` and `summary()` name it):

- the mean and std of the layer's output;
- for ReLU, the dead fraction: the share of units that are 0 for every sample of the batch (a
  unit is a feature of an (N, D) output, a channel of an (N, C, H, W) one);
- for Sigmoid and Tanh, the saturated fraction: the share of units that are saturated for more
  than half of the batch's samples (and positions, for feature maps), saturated meaning
  |tanh| > 0.99, or a sigmoid outside [0.01, 0.99]: there the local gradient is below 0.02
  (tanh: 1 - 0.99^2) or 0.0099 (sigmoid: 0.99 * 0.01) of its value at 0, so almost no gradient
  passes;
- quantiles of the output (1, 10, 50, 90 and 99 %, of at most 4096 evenly spaced values),
  drawn in activations.png;

and per parameter: the gradient norm ||dL/dW||, the weight norm ||W|| before the step and the
update ratio ||W_after - W_before|| / ||W_before|| of the step. At step 1 it keeps the loss, to
compare with ln C, the loss of uniform predictions over C classes (with or without label
smoothing: the smoothed target still sums to 1, and -sum_c t_c ln(1/C) = ln C).

It never changes training: forward hooks are registered only for the sampled steps and return
nothing, the weights are copied, never written, gradients are read through `_grad` (reading
`.grad` would wrap the array in a Tensor), and no random number is drawn.

`findings(report)` turns the records into plain-word findings; the thresholds are the constants
below, with their reasons.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from layerwise.checkpoint import CheckpointError, read_json, write_json
from layerwise.nn.module import Module, RemovableHandle
from layerwise.tensor import Tensor
from layerwise.train.callbacks import Callback

if TYPE_CHECKING:
    from layerwise.train.trainer import Trainer

VERSION = 1
DEFAULT_EVERY = 50  # steps between samples; the overhead at 50 is measured in docs/benchmarks.md
QUANTILES = (0.01, 0.1, 0.5, 0.9, 0.99)
QUANTILE_VALUES = 4096

# --- thresholds of the findings -------------------------------------------------------------
# cs231n: "the ratio of the updates to the values [...] should be somewhere around 1e-3. If it
# is lower than this then the learning rate might be too low. If it is higher then the learning
# rate is likely too high." Adam moves every weight by about lr at its first step, whatever the
# gradient, so at the recipe's lr 1e-3 a Linear(784, 512) (weights ~0.02) measures 0.048 at
# step 1 and 0.006-0.02 later (measured, docs/diagnostics.md); at lr 0.1 it measures 4.8 at
# step 1, after which the weights have grown and the ratio falls back. So: too high when any
# sample, the first included, exceeds 300x the usual; too low when even the fastest-moving
# weight has a median ratio 10x under the usual (one slow layer among normal ones is a
# gradient-flow problem, not a learning-rate one).
USUAL_UPDATE_RATIO = 1e-3
HIGH_UPDATE_RATIO = 0.3
LOW_UPDATE_RATIO = 1e-4
# A ReLU unit that is 0 for a whole batch gets no gradient from it; a few are normal, a quarter
# of a layer is capacity lost (cs231n: "as much as 40% of your network can be dead"). Up to
# half a layer is a note (info): the CLI's CNN trains to its accuracy with the dense layer
# after its convolutions 40% dead; from half a layer on, a warning.
DEAD_FRACTION = 0.25
DEAD_WARNING_FRACTION = 0.5
SATURATED_FRACTION = 0.25  # of a sigmoid/tanh layer's units saturated for most of the batch
SATURATED_VALUE = 0.99  # |tanh| above this, sigmoid outside [1 - this, this]
MOST_OF_THE_BATCH = 0.5  # a unit counts as dead only if 0 for all; saturated for more than half
# The first weight's gradient norm over the last's: in a healthy MLP or CNN it is within a
# factor of ~10 either way (the first layer has more weights, which adds to its norm); a
# factor 1000 means the signal fades (or grows) on its way back through the layers.
VANISHING_RATIO = 1e-3
EXPLODING_RATIO = 1e3
# The loss at step 1 against ln C: Karpathy's "verify loss @ init". A loss 1.5 times ln C or
# more means confident wrong predictions at init (a too large last layer); under half of it
# means the model is sure and right before training (a leak, or pre-trained weights).
HIGH_INITIAL_LOSS = 1.5
LOW_INITIAL_LOSS = 0.5
PROBABILITY_TOLERANCE = 1e-3  # outputs count as probabilities: >= 0, rows summing to 1 +- this


@dataclass
class Finding:
    """One finding: its kind, "warning" or "info", the message with the measured figure and
    what to try, and where (the step and the layer, when it is about one)."""

    kind: str
    severity: str
    message: str
    step: int | None = None
    layer: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def expected_initial_loss(classes: int) -> float:
    """ln C: the cross-entropy of uniform predictions over C classes."""
    return math.log(classes)


def double_softmax_floor(classes: int) -> float:
    """The lowest cross-entropy a model that outputs probabilities p can reach when the loss
    applies softmax to them again: -log(e^1 / (e^1 + (C - 1) e^0)) = ln(e + C - 1) - 1, at a
    one-hot p (1.46 for 10 classes, against 0 for logits)."""
    return math.log(math.e + classes - 1) - 1


def smoothed_cross_entropy_floor(classes: int, label_smoothing: float) -> float:
    """The lowest a label-smoothed cross-entropy can go: its target t (1 - s + s/C on the label,
    s/C elsewhere) is reached by predictions q = t, and the loss is then the entropy of t,
    -sum_c t_c ln t_c (0 without smoothing; 0.50 for s = 0.1 over 10 classes)."""
    if label_smoothing <= 0:
        return 0.0
    on = 1 - label_smoothing + label_smoothing / classes
    off = label_smoothing / classes
    return float(-(on * math.log(on) + (classes - 1) * off * math.log(off)))


def layer_label(name: str, kind: str) -> str:
    """The way summary() names a layer: "1 (Linear)"."""
    return f"{name} ({kind})" if name else kind


def _norm(array: np.ndarray) -> float:
    """||a||, by one BLAS dot product in the array's dtype (float64 if that overflows)."""
    flat = array.ravel()
    norm = float(np.sqrt(np.dot(flat, flat)))
    if not math.isfinite(norm):
        flat = flat.astype(np.float64)
        norm = float(np.sqrt(np.dot(flat, flat)))
    return norm


def _unit_axes(array: np.ndarray) -> tuple[int, ...]:
    """The axes over which a unit is the same: all but axis 1 (the features or channels)."""
    return (0, *range(2, array.ndim))


def layer_statistics(kind: str, output: np.ndarray) -> dict[str, Any]:
    """Mean, std, dead and saturated fractions and quantiles of one layer's output (N, ...)."""
    values = np.asarray(output)
    record: dict[str, Any] = {
        "kind": kind, "mean": float(values.mean(dtype=np.float64)),
        "std": float(values.std(dtype=np.float64)), "dead_fraction": None,
        "saturated_fraction": None}
    if values.size:  # of at most QUANTILE_VALUES evenly spaced values: a picture needs no more
        spaced = values.ravel()[::max(1, values.size // QUANTILE_VALUES)]
        record["quantiles"] = [float(q) for q in np.quantile(spaced, QUANTILES)]
    if values.ndim < 2 or not values.size:
        return record
    axes = _unit_axes(values)
    if kind == "ReLU":
        record["dead_fraction"] = float(np.mean(np.all(values == 0, axis=axes)))
    elif kind in ("Sigmoid", "Tanh"):
        if kind == "Tanh":
            saturated = np.abs(values) > SATURATED_VALUE
        else:
            saturated = (values < 1 - SATURATED_VALUE) | (values > SATURATED_VALUE)
        share = saturated.mean(axis=axes)
        record["saturated_fraction"] = float(np.mean(share > MOST_OF_THE_BATCH))
    return record


def _is_probabilities(output: np.ndarray) -> bool:
    values = np.asarray(output, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] < 2 or (values < 0).any():
        return False
    return bool(np.all(np.abs(values.sum(axis=1) - 1) <= PROBABILITY_TOLERANCE))


class TrainingHealth(Callback):
    """Records the health of training every `every` steps (see the module docstring); the
    records are `report()`, in the schema of health.json.

    Args:
        classes: C, the number of classes (for ln C and the softmax check).
        every: steps between samples (the first step is always sampled); steps are counted
            over the whole run: (epoch - 1) * batches per epoch + step in the epoch.
        path: where `write()` puts health.json (None: nowhere unless given).

    Example:
        >>> health = TrainingHealth(classes=10)
        >>> Trainer(model, optimizer, callbacks=[health]).fit(x, y)
        >>> for finding in findings(health.report()): print(finding.message)
    """

    def __init__(self, classes: int, every: int = DEFAULT_EVERY,
                 path: str | Path | None = None) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"TrainingHealth: every must be a positive number of steps, got "
                             f"{every!r}")
        if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
            raise ValueError(f"TrainingHealth: classes must be at least 2, got {classes!r}")
        self.classes, self.every = classes, every
        self.path = Path(path) if path is not None else None
        self.initial_loss: float | None = None
        self.samples: list[dict[str, Any]] = []
        self._hooks: list[RemovableHandle] = []
        self._outputs: dict[str, dict[str, Any]] = {}
        self._output_is_probabilities = False
        self._before: dict[str, np.ndarray] = {}
        self._pending: tuple[int, int] | None = None  # (global step, epoch) being sampled

    # --- the callback -------------------------------------------------------------------
    def global_step(self, trainer: Trainer, step: int) -> tuple[int, int]:
        """(steps since the run began, the epoch) of the epoch's step `step`."""
        progress = trainer.epoch_in_progress
        if progress is None:
            return step, trainer.epoch + 1
        return (progress.epoch - 1) * progress.batches + step, progress.epoch

    def is_sampled(self, global_step: int) -> bool:
        return global_step == 1 or global_step % self.every == 0

    def on_batch_begin(self, trainer: Trainer, step: int) -> None:
        global_step, epoch = self.global_step(trainer, step)
        if not self.is_sampled(global_step):
            return
        self._pending = global_step, epoch
        self._outputs, self._output_is_probabilities = {}, False
        model = trainer.model
        self._before = {name: parameter.data.copy()
                        for name, parameter in model.named_parameters()}
        for name, module in model.named_modules():
            if not module._modules and name:
                self._hooks.append(module.register_forward_hook(self._recorder(name)))
        self._hooks.append(model.register_forward_hook(self._output_recorder))

    def _recorder(self, name: str) -> Any:
        def record(module: Module, inputs: Any, output: Any) -> None:
            if isinstance(output, Tensor):
                self._outputs[name] = layer_statistics(type(module).__name__, output.data)
        return record

    def _output_recorder(self, module: Module, inputs: Any, output: Any) -> None:
        if isinstance(output, Tensor):
            self._output_is_probabilities = _is_probabilities(output.data)

    def on_batch_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        if self._pending is None:
            return
        global_step, epoch = self._pending
        self._remove_hooks()
        if global_step == 1:
            self.initial_loss = float(logs["loss"])
        parameters: dict[str, dict[str, float]] = {}
        for name, parameter in trainer.model.named_parameters():
            grad = parameter._grad
            if grad is None or name not in self._before:
                continue
            before = self._before[name]
            grad_array = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
            weight_norm = _norm(before)
            update_norm = _norm(parameter.data - before)
            parameters[name] = {
                "grad_norm": _norm(grad_array), "weight_norm": weight_norm,
                "update_ratio": update_norm / weight_norm if weight_norm > 0 else
                (0.0 if update_norm == 0 else math.inf)}
        self.samples.append({"step": global_step, "epoch": epoch, "loss": float(logs["loss"]),
                             "layers": self._outputs, "parameters": parameters,
                             "outputs_are_probabilities": self._output_is_probabilities})
        self._before, self._outputs, self._pending = {}, {}, None

    def on_train_end(self, trainer: Trainer) -> None:
        self._remove_hooks()  # a step that raised leaves them on
        self._pending = None

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.path is not None:
            self.write(self.path)

    def _remove_hooks(self) -> None:
        for handle in self._hooks:
            handle.remove()
        self._hooks = []

    # --- the report -----------------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        """The records in the schema of health.json, findings included."""
        report: dict[str, Any] = {
            "version": VERSION, "every": self.every, "classes": self.classes,
            "initial_loss": self.initial_loss,
            "expected_initial_loss": expected_initial_loss(self.classes),
            "samples": self.samples}
        report["findings"] = [finding.to_dict() for finding in findings(report)]
        return report

    def write(self, path: str | Path) -> None:
        """Write report() as JSON, atomically (non-finite figures as null)."""
        write_json(path, _finite(self.report()), indent=1)

    def restore(self, report: dict[str, Any], up_to_step: int) -> None:
        """Continue from an earlier report (a resumed run): its initial loss, and its samples
        up to `up_to_step`, the last step the resumed weights have seen."""
        check_report(report, "the health report")
        self.initial_loss = report["initial_loss"]
        self.samples = report["samples"]
        self.rewind(up_to_step)

    def rewind(self, up_to_step: int) -> None:
        """Keep the samples up to `up_to_step` and drop the step in flight, if one raised
        (training that diverged, started again from a checkpoint)."""
        self._remove_hooks()
        self._before, self._outputs, self._pending = {}, {}, None
        self.samples = [sample for sample in self.samples if sample["step"] <= up_to_step]


def _finite(value: Any) -> Any:
    """JSON has no inf or NaN: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def check_report(report: Any, source: str) -> None:
    """Raise ValueError naming what a health report lacks."""
    if not isinstance(report, dict):
        raise ValueError(f"{source}: expected a JSON object as layerwise train writes it, got "
                         f"{type(report).__name__}")
    missing = [key for key in ("version", "every", "classes", "initial_loss", "samples")
               if key not in report]
    if missing:
        raise ValueError(f"{source}: not a health report of layerwise train (no "
                         f"{', '.join(missing)})")
    samples = report["samples"]
    if not isinstance(samples, list) or not all(
            isinstance(sample, dict) and isinstance(sample.get("step"), int)
            and isinstance(sample.get("layers"), dict)
            and isinstance(sample.get("parameters"), dict) for sample in samples):
        raise ValueError(f"{source}: its samples are not a list of records with a step, layers "
                         f"and parameters")
    if report["version"] != VERSION:
        raise ValueError(f"{source}: health report version {report['version']!r}; this "
                         f"layerwise reads version {VERSION}")


def read_report(path: Path) -> dict[str, Any]:
    """health.json, checked (its checksums too: CheckpointError when they do not match)."""
    try:
        report = read_json(path)
    except CheckpointError as error:
        raise CheckpointError(f"{error}; restore {path.name} from a copy of the run") from None
    check_report(report, str(path))
    return report


# --- findings ---------------------------------------------------------------------------------


def _weights(samples: list[dict[str, Any]]) -> list[str]:
    """The parameters that are not biases, in order: those whose update ratio makes sense (a
    bias starts at 0, so its ratio is infinite at first). A BatchNorm scale, named "weight" and
    starting at 1, counts as a weight."""
    names: list[str] = []
    for sample in samples:
        names += [name for name in sample["parameters"] if name not in names
                  and not name.rsplit(".", 1)[-1].startswith("bias")]
    return names


def _kind_of(samples: list[dict[str, Any]], parameter: str) -> str:
    module = parameter.rsplit(".", 1)[0] if "." in parameter else ""
    for sample in samples:
        if module in sample["layers"]:
            return str(sample["layers"][module]["kind"])
    return ""


def _parameter_label(samples: list[dict[str, Any]], parameter: str) -> str:
    module = parameter.rsplit(".", 1)[0] if "." in parameter else ""
    kind = _kind_of(samples, parameter)
    return f"{layer_label(module, kind)}, {parameter}" if kind else parameter


def _figure(value: float) -> str:
    return f"{value:.2g}" if value < 0.01 or value >= 100 else f"{value:.2f}"


def findings(report: dict[str, Any]) -> list[Finding]:
    """Plain-word findings from a health report (TrainingHealth.report() or health.json), each
    with the measured figure and what to try. See the thresholds at the top of this module."""
    samples: list[dict[str, Any]] = report["samples"]
    found: list[Finding] = []
    found += _initial_loss_findings(report)
    found += _softmax_findings(report)
    found += _update_findings(samples)
    found += _activation_findings(samples)
    found += _gradient_findings(samples)
    return found


def _initial_loss_findings(report: dict[str, Any]) -> list[Finding]:
    loss, expected = report.get("initial_loss"), report.get("expected_initial_loss")
    if loss is None or not expected:
        return []
    classes = report["classes"]
    if loss >= HIGH_INITIAL_LOSS * expected:
        return [Finding(
            "initial_loss_high", "warning",
            f"the loss at step 1 is {loss:.3g}, {loss / expected:.1f}x ln {classes} = "
            f"{expected:.3g} (the loss of uniform predictions): the model starts confidently "
            f"wrong; scale the last layer's initial weights down (or start its bias at 0)", 1)]
    if loss <= LOW_INITIAL_LOSS * expected:
        return [Finding(
            "initial_loss_low", "info",
            f"the loss at step 1 is {loss:.3g}, only {loss / expected:.2f}x ln {classes} = "
            f"{expected:.3g}: the model is right and sure before training; if the weights are "
            f"new, check that the labels do not leak into the inputs", 1)]
    return []


def _softmax_findings(report: dict[str, Any]) -> list[Finding]:
    flagged = [sample for sample in report["samples"] if sample.get("outputs_are_probabilities")]
    if not flagged:
        return []
    classes, first = report["classes"], flagged[0]
    loss = report.get("initial_loss")
    at_init = (f"; the loss at step 1 ({loss:.3g}) is close to ln {classes} = "
               f"{expected_initial_loss(classes):.3g} and cannot show it"
               if loss is not None else "")
    return [Finding(
        "softmax_before_loss", "warning",
        f"the model's outputs are probabilities (every row >= 0 and summing to 1) at step "
        f"{first['step']}: a softmax before CrossEntropyLoss, which applies log-softmax itself; "
        f"the loss cannot go below ln(e + C - 1) - 1 = {double_softmax_floor(classes):.3g} and "
        f"its gradients shrink{at_init}. Remove the softmax: the loss wants logits",
        first["step"])]


def _update_ratios(samples: list[dict[str, Any]], name: str) -> list[tuple[float, int]]:
    """(update ratio, step) of one parameter over the samples."""
    return [(sample["parameters"][name]["update_ratio"], sample["step"]) for sample in samples
            if name in sample["parameters"]
            and sample["parameters"][name]["update_ratio"] is not None]


def _update_findings(samples: list[dict[str, Any]]) -> list[Finding]:
    found: list[Finding] = []
    weights = _weights(samples)
    highs = []
    for name in weights:
        ratios = _update_ratios(samples, name)
        if ratios and max(ratios)[0] > HIGH_UPDATE_RATIO:
            highs.append((*max(ratios), name))
    if highs:
        highs.sort(reverse=True)
        ratio, step, name = highs[0]
        others = "".join(f"; {other} {_figure(value)} at step {at}"
                         for value, at, other in highs[1:])
        found.append(Finding(
            "lr_too_high", "warning",
            f"{_parameter_label(samples, name)}: updates are {_figure(ratio)} of the weights at "
            f"step {step}, about {ratio / USUAL_UPDATE_RATIO:.0f}x the usual 1e-3{others}; the "
            f"learning rate is likely too high: try it 10x smaller", step, name))
        return found
    # Later samples only, when there are some: Adam's first step is full-size whatever the rate.
    later = samples[1:] if len(samples) > 1 else samples
    medians = []
    for name in weights:
        ratios = _update_ratios(later, name)
        if ratios:
            medians.append((float(np.median([value for value, _ in ratios])), name, ratios))
    if medians and max(medians)[0] < LOW_UPDATE_RATIO:
        median, name, ratios = max(medians)
        span = f"steps {ratios[0][1]}-{ratios[-1][1]}" if len(ratios) > 1 else \
            f"step {ratios[0][1]}"
        found.append(Finding(
            "lr_too_low", "warning",
            f"{_parameter_label(samples, name)}: updates are {_figure(median)} of the weights "
            f"(median over {span}), {USUAL_UPDATE_RATIO / max(median, 1e-300):.0f}x under the "
            f"usual 1e-3, and no weight moves faster; the learning rate is likely too low: try "
            f"it 10x larger", ratios[-1][1], name))
    return found


def _activation_findings(samples: list[dict[str, Any]]) -> list[Finding]:
    """Dead ReLUs and saturated units, from the last sample (dead units rarely come back)."""
    if not samples:
        return []
    last = samples[-1]
    found: list[Finding] = []
    for name, layer in last["layers"].items():
        label = layer_label(name, layer["kind"])
        dead, saturated = layer.get("dead_fraction"), layer.get("saturated_fraction")
        if dead is not None and dead >= DEAD_FRACTION:
            first = next(sample["step"] for sample in samples
                         if (sample["layers"].get(name, {}).get("dead_fraction") or 0)
                         >= DEAD_FRACTION)
            found.append(Finding(
                "dead_relu", "warning" if dead >= DEAD_WARNING_FRACTION else "info",
                f"{label}: {dead:.0%} of the units output 0 for every sample of the batch at "
                f"step {last['step']} (since step {first}): dead ReLUs get no gradient"
                f"{', and none reaches the layers before' if dead == 1 else ''}; check "
                f"the initialization of the layer before (a large negative bias?), lower the "
                f"learning rate, or try LeakyReLU", last["step"], name))
        if saturated is not None and saturated >= SATURATED_FRACTION:
            bound = "|y| > 0.99" if layer["kind"] == "Tanh" else "y outside [0.01, 0.99]"
            found.append(Finding(
                "saturated", "warning",
                f"{label}: {saturated:.0%} of the units are saturated ({bound}) for most of the "
                f"batch at step {last['step']}: their local gradient is near 0; scale the "
                f"initial weights of the layer before down (Xavier/Glorot: std sqrt(1/fan_in)) "
                f"or standardize the inputs", last["step"], name))
    return found


def _gradient_findings(samples: list[dict[str, Any]]) -> list[Finding]:
    """Vanishing or exploding gradients: the first weight's gradient norm over the last's."""
    weights = [name for name in _weights(samples) if name]
    if len(weights) < 2:
        return []
    first, last = weights[0], weights[-1]
    ratios = [(sample["parameters"][first]["grad_norm"] / sample["parameters"][last]["grad_norm"],
               sample["step"]) for sample in samples
              if first in sample["parameters"] and last in sample["parameters"]
              and sample["parameters"][last]["grad_norm"] > 0]
    if not ratios:
        return []
    median = float(np.median([ratio for ratio, _ in ratios]))
    step = ratios[-1][1]
    if any(layer.get("dead_fraction") == 1.0 for layer in samples[-1]["layers"].values()):
        return []  # a layer of dead ReLUs stops every gradient: the dead-ReLU finding says why
    where = (f"{_parameter_label(samples, first)} against {_parameter_label(samples, last)}")
    if median < VANISHING_RATIO:
        return [Finding(
            "vanishing_gradients", "warning",
            f"gradients vanish: the first layer's weight gradient norm is {_figure(median)} of "
            f"the last layer's (median over the samples; {where}); the early layers barely "
            f"learn: use ReLU rather than sigmoid/tanh, Kaiming initialization, or batch "
            f"normalization", step, first)]
    if median > EXPLODING_RATIO:
        return [Finding(
            "exploding_gradients", "warning",
            f"gradients explode: the first layer's weight gradient norm is {_figure(median)}x "
            f"the last layer's (median over the samples; {where}); scale the initial weights "
            f"down (Kaiming: std sqrt(2/fan_in)), add batch normalization, or clip the gradient "
            f"norm", step, first)]
    return []


def key_figures(report: dict[str, Any]) -> list[str]:
    """The figures behind "no findings": the initial loss, update ratios, gradient ratio, dead
    and saturated fractions, as short lines."""
    lines = []
    if report.get("initial_loss") is not None:
        lines.append(f"initial loss {report['initial_loss']:.3f} (ln {report['classes']} = "
                     f"{report['expected_initial_loss']:.3f})")
    samples = report["samples"]
    later = samples[1:] if len(samples) > 1 else samples
    for name in _weights(later):
        ratios = [sample["parameters"][name]["update_ratio"] for sample in later
                  if name in sample["parameters"]
                  and sample["parameters"][name]["update_ratio"] is not None]
        if ratios:
            lines.append(f"{name}: median update ratio {float(np.median(ratios)):.2g}")
    if samples:
        for name, layer in samples[-1]["layers"].items():
            for key, what in (("dead_fraction", "dead"), ("saturated_fraction", "saturated")):
                if layer.get(key) is not None:
                    lines.append(f"{layer_label(name, layer['kind'])}: {layer[key]:.0%} {what} "
                                 f"at step {samples[-1]['step']}")
    return lines


def summarize_findings(found: Iterable[Finding]) -> str:
    """One line per finding, warnings first."""
    ordered = sorted(found, key=lambda finding: finding.severity != "warning")
    return "\n".join(f"{finding.severity}: {finding.message}" for finding in ordered)
