"""Speed and memory of layerwise against PyTorch (CPU, 2 threads) and scikit-learn, measured
side by side in one process, alternating frameworks, median of several rounds after a
warm-up. Prints a table and writes it to docs/benchmarks.md.

    .venv/bin/python benchmarks/run.py [--rounds 5] [--quick] [--no-write] [--health-only]

Needs the bench extra: pip install -e '.[bench]'. A benchmark, not a test: run it on an
otherwise idle machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(name in os.environ for name in OPENBLAS_VARIABLES) and "--keep-openblas-env" not in sys.argv:
    # They slow current NumPy here; drop both for this process only (the table says which
    # kernel ran).
    environment = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARIABLES}
    os.execve(sys.executable, [sys.executable, *sys.argv], environment)

import cnn_benchmark as cnn  # noqa: E402  (beside this file)
import distributed_benchmark as distributed  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import layerwise as lw  # noqa: E402
import layerwise.functional as F  # noqa: E402
from layerwise import nn, optim  # noqa: E402
from layerwise.check.health import TrainingHealth  # noqa: E402
from layerwise.data import DataLoader, fashion_mnist  # noqa: E402
from layerwise.train import Trainer  # noqa: E402

torch.set_num_threads(2)
REFERENCE = (784, 256, 128, 10)
WIDE = (784, 2048, 2048, 10)
TINY = (2, 16, 16, 1)


# --- data and models ---------------------------------------------------------------------


def fashion() -> tuple[np.ndarray, np.ndarray]:
    train = fashion_mnist("train")
    return train.images.reshape(-1, 784).astype(np.float32) / 255, train.labels


def layerwise_mlp(sizes: tuple[int, ...], seed: int = 0) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    layers: list[nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(fan_in, fan_out, rng=rng))
        if index < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def torch_mlp(sizes: tuple[int, ...]) -> torch.nn.Sequential:
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(torch.nn.Linear(fan_in, fan_out))
        if index < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


# --- one epoch, written the way a user writes it ---------------------------------------------


def layerwise_epoch(model: nn.Module, optimizer: optim.Optimizer, x: np.ndarray,
                    y: np.ndarray, batch: int, rng: np.random.Generator) -> None:
    for inputs, labels in DataLoader(x, y, batch_size=batch, shuffle=True, rng=rng):
        loss = F.cross_entropy(model(inputs), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def torch_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
                y: torch.Tensor, batch: int, generator: torch.Generator) -> None:
    order = torch.randperm(len(x), generator=generator)
    for start in range(0, len(x), batch):
        index = order[start:start + batch]
        loss = torch.nn.functional.cross_entropy(model(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def hand_written_epoch(model: nn.Sequential, optimizer: optim.Optimizer, x: np.ndarray,
                       y: np.ndarray, batch: int, rng: np.random.Generator) -> None:
    """The same epoch written out in NumPy, as in a lecture's exercise: forward and backward
    by hand, no engine, no modules; the same Adam on the same Parameters. What layerwise adds
    on top of this is the framework's cost."""
    layers = [layer for layer in model if isinstance(layer, nn.Linear)]
    order = rng.permutation(len(x))
    for start in range(0, len(x), batch):
        index = order[start:start + batch]
        inputs, labels = x[index], y[index]
        activations, masks = [inputs], []
        for position, layer in enumerate(layers):
            z = activations[-1] @ layer.weight.data.T
            z += layer.bias.data  # type: ignore[union-attr]
            if position < len(layers) - 1:
                masks.append(z > 0)
                z = np.maximum(z, 0)
            activations.append(z)
        logits = activations[-1]
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        probs[np.arange(len(labels)), labels] -= 1
        delta = probs / np.float32(len(labels))
        for position in range(len(layers) - 1, -1, -1):
            layer = layers[position]
            layer.weight.grad = delta.T @ activations[position]
            layer.bias.grad = delta.sum(axis=0)  # type: ignore[union-attr]
            if position:
                delta = (delta @ layer.weight.data) * masks[position - 1]
        optimizer.step()


def sklearn_classifier(batch: int) -> Any:
    from sklearn.neural_network import MLPClassifier  # type: ignore[import-untyped]

    return MLPClassifier(hidden_layer_sizes=REFERENCE[1:-1], solver="adam", batch_size=batch,
                         learning_rate_init=1e-3, alpha=0.0, max_iter=1, shuffle=True,
                         random_state=0)


# --- timing ------------------------------------------------------------------------------------


def alternate(candidates: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds of each candidate: one warm-up each, then rounds taken in turn."""
    for run in candidates.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, run in candidates.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def reference_epoch(x: np.ndarray, y: np.ndarray, batch: int, rounds: int,
                    with_baselines: bool) -> dict[str, float]:
    """Median seconds of a reference epoch in each framework; with_baselines adds
    scikit-learn and the NumPy baselines of `numpy_baselines`."""
    ours = layerwise_mlp(REFERENCE)
    our_optimizer = optim.Adam(ours.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    theirs = torch_mlp(REFERENCE)
    their_optimizer = torch.optim.Adam(theirs.parameters(), lr=1e-3)
    x_torch, y_torch = torch.from_numpy(x), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)
    trainer_model = layerwise_mlp(REFERENCE)
    trainer = Trainer(trainer_model, optim.Adam(trainer_model.parameters(), lr=1e-3),
                      rng=np.random.default_rng(0), verbose=False)
    candidates: dict[str, Callable[[], object]] = {
        "layerwise": lambda: layerwise_epoch(ours, our_optimizer, x, y, batch, rng),
        "layerwise Trainer": lambda: trainer.fit(x, y, epochs=trainer.epoch + 1,
                                                 batch_size=batch),
        "pytorch": lambda: torch_epoch(theirs, their_optimizer, x_torch, y_torch, batch,
                                       generator),
    }
    if with_baselines:
        candidates.update(numpy_baselines(x, y, batch))
        classifier = sklearn_classifier(batch)
        classes = np.arange(10)

        def sklearn_epoch() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                classifier.partial_fit(x, y, classes=classes)

        candidates["scikit-learn"] = sklearn_epoch
    return alternate(candidates, rounds)


def health_overhead(x: np.ndarray, y: np.ndarray, batch: int, rounds: int) -> dict[str, float]:
    """Median seconds of a reference Trainer epoch without and with TrainingHealth (its default
    sampling, every 50 steps), alternating, each on its own model of the same init."""
    trainers = {}
    for name, callbacks in (("without", []), ("with health", [TrainingHealth(10)])):
        model = layerwise_mlp(REFERENCE)
        trainers[name] = Trainer(model, optim.Adam(model.parameters(), lr=1e-3),
                                 callbacks=callbacks, rng=np.random.default_rng(0),
                                 verbose=False)

    def epoch(trainer: Trainer) -> Callable[[], object]:
        return lambda: trainer.fit(x, y, epochs=trainer.epoch + 1, batch_size=batch)

    return alternate({name: epoch(trainer) for name, trainer in trainers.items()}, rounds)


def numpy_baselines(x: np.ndarray, y: np.ndarray,
                    batch: int) -> dict[str, Callable[[], object]]:
    """Parts of a reference epoch, each alone: its matrix products, its Adam updates, and the
    whole epoch written by hand in NumPy."""
    batches = [min(batch, len(x) - start) for start in range(0, len(x), batch)]
    floor_rng = np.random.default_rng(1)
    weights = [layer.weight.data for layer in layerwise_mlp(REFERENCE)
               if isinstance(layer, nn.Linear)]
    activations = {size: random_activations(REFERENCE, size, floor_rng) for size in set(batches)}

    def matrix_products_of_an_epoch() -> None:
        for size in batches:
            matrix_products(weights, activations[size])

    updated = layerwise_mlp(REFERENCE)
    for parameter in updated.parameters():
        parameter.grad = floor_rng.standard_normal(parameter.shape).astype(np.float32)
    update = optim.Adam(updated.parameters(), lr=1e-3)

    def adam_updates_of_an_epoch() -> None:
        for _ in batches:
            update.step()

    by_hand = layerwise_mlp(REFERENCE)
    by_hand_optimizer = optim.Adam(by_hand.parameters(), lr=1e-3)
    by_hand_rng = np.random.default_rng(0)
    return {
        "matrix products": matrix_products_of_an_epoch,
        "adam updates": adam_updates_of_an_epoch,
        "hand-written": lambda: hand_written_epoch(by_hand, by_hand_optimizer, x, y, batch,
                                                   by_hand_rng),
    }


def matrix_products(weights: list[np.ndarray], activations: list[np.ndarray]) -> None:
    """Exactly the matrix products of one training step of an MLP, in NumPy: for each layer
    the forward product, grad_W, and grad_x (which the first layer does not need)."""
    for layer, W in enumerate(weights):
        inputs, outputs = activations[layer], activations[layer + 1]
        _ = inputs @ W.T
        _ = outputs.T @ inputs
        if layer:
            _ = outputs @ W


def random_activations(sizes: tuple[int, ...], batch: int,
                       rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.random((batch, width), dtype=np.float32) for width in sizes]


def wide_step(rounds: int, steps: int = 10) -> dict[str, float]:
    """Seconds per training step of the wide MLP, and of exactly its matrix products."""
    batch = 512
    rng = np.random.default_rng(0)
    x = rng.random((batch, WIDE[0]), dtype=np.float32)
    y = rng.integers(0, WIDE[-1], batch)
    model = layerwise_mlp(WIDE)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    weights = [layer.weight.data for layer in model if isinstance(layer, nn.Linear)]
    activations = [x, *random_activations(WIDE[1:], batch, rng)]

    def train_steps() -> None:
        for _ in range(steps):
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def gemm_steps() -> None:
        for _ in range(steps):
            matrix_products(weights, activations)

    timed = alternate({"step": train_steps, "gemm": gemm_steps}, rounds)
    flops = sum(2 * batch * W.size * (3 if layer else 2) for layer, W in enumerate(weights))
    return {"step": timed["step"] / steps, "gemm": timed["gemm"] / steps, "flops": flops}


def tiny_step(rounds: int, steps: int = 200) -> dict[str, float]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 2)).astype(np.float32)
    y = (x[:, :1] * x[:, 1:] > 0).astype(np.float32)
    ours = layerwise_mlp(TINY)
    our_optimizer = optim.Adam(ours.parameters(), lr=1e-2)
    theirs = torch_mlp(TINY)
    their_optimizer = torch.optim.Adam(theirs.parameters(), lr=1e-2)
    x_torch, y_torch = torch.from_numpy(x), torch.from_numpy(y)

    def layerwise_steps() -> None:
        for _ in range(steps):
            loss = F.binary_cross_entropy_with_logits(ours(x), y)
            our_optimizer.zero_grad()
            loss.backward()
            our_optimizer.step()

    def torch_steps() -> None:
        for _ in range(steps):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(theirs(x_torch), y_torch)
            their_optimizer.zero_grad()
            loss.backward()
            their_optimizer.step()

    timed = alternate({"layerwise": layerwise_steps, "pytorch": torch_steps}, rounds)
    return {name: seconds / steps for name, seconds in timed.items()}


# --- memory: each framework in a fresh process -------------------------------------------------


def resident_bytes(field: str = "VmRSS") -> int:
    """VmRSS (now) or VmHWM (the peak since the last reset) of this process, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> None:
    """Start VmHWM afresh (Linux: writing 5 to clear_refs), so loading the data is not counted,
    after handing the heap's free memory back to the system (glibc's malloc_trim): layerwise
    keeps freed blocks for reuse (layerwise/memory.py), and blocks freed while the data was
    loaded would otherwise serve the measured steps without showing in their growth."""
    import ctypes
    import ctypes.util

    ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")


MEMORY_CHILDREN = ("layerwise", "layerwise-numpy", "pytorch", "layerwise-cold", "pytorch-cold")


def start_up(framework: str) -> None:
    """One Adam step of a throwaway 2-2 model: the one-time start-up of each framework (for
    layerwise, loading numba and its compiled kernel; for PyTorch, autograd's engine and
    allocator), which a long-running process pays once, like the import."""
    if framework.startswith("layerwise"):
        model = layerwise_mlp((2, 2))
        optimizer = optim.Adam(model.parameters(), fused=False if "numpy" in framework else None)
        layerwise_epoch(model, optimizer, np.ones((1, 2), np.float32), np.zeros(1, np.int64),
                        1, np.random.default_rng(0))
    else:
        theirs = torch_mlp((2, 2))
        their_optimizer = torch.optim.Adam(theirs.parameters())
        torch_epoch(theirs, their_optimizer, torch.ones(1, 2), torch.zeros(1, dtype=torch.int64),
                    1, torch.Generator().manual_seed(0))


def memory_child(framework: str) -> None:
    """Peak resident growth, in bytes, of building the reference MLP and training it for one
    epoch (batch 128): parameters, gradients, optimizer state and the activations of a step,
    over a baseline taken once the data is loaded and, unless the framework's name ends in
    -cold, once the framework has started up."""
    x, y = fashion()
    x_torch, y_torch = torch.from_numpy(x), torch.from_numpy(y)
    if not framework.endswith("-cold"):
        start_up(framework)
    reset_peak()
    before = resident_bytes()
    if framework.startswith("layerwise"):
        model = layerwise_mlp(REFERENCE)
        optimizer = optim.Adam(model.parameters(), lr=1e-3,
                               fused=False if framework == "layerwise-numpy" else None)
        layerwise_epoch(model, optimizer, x, y, 128, np.random.default_rng(0))
    else:
        theirs = torch_mlp(REFERENCE)
        their_optimizer = torch.optim.Adam(theirs.parameters(), lr=1e-3)
        torch_epoch(theirs, their_optimizer, x_torch, y_torch, 128,
                    torch.Generator().manual_seed(0))
    print(json.dumps({"growth": resident_bytes("VmHWM") - before}))


def peak_memory() -> dict[str, float]:
    result = {}
    for framework in MEMORY_CHILDREN:
        finished = subprocess.run([sys.executable, __file__, "--memory-child", framework],
                                  capture_output=True, text=True, check=True)
        result[framework] = json.loads(finished.stdout.strip().splitlines()[-1])["growth"]
    return result


# --- report -------------------------------------------------------------------------------------


def blas_kernel() -> str:
    from threadpoolctl import threadpool_info  # type: ignore[import-untyped]

    infos = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    kernels = {f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, "
               f"{i.get('num_threads')} threads)" for i in infos}
    return "; ".join(sorted(kernels)) or "none found"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def reading(reference: dict[str, float]) -> str:
    """What the reference figures of this run mean for the 0.5x target, in a paragraph."""
    pytorch, budget = reference["pytorch"], 0.5 * reference["pytorch"]
    floor, adam = reference["matrix products"], reference["adam updates"]
    rest = reference["layerwise"] - floor - adam
    return (
        "## Reading the table\n\n"
        "Every ratio is layerwise's figure over the other's, from the same run. In this run "
        f"PyTorch's reference epoch took {pytorch:.3f} s, so the 0.5x target allows "
        f"{budget:.3f} s. The epoch's matrix products alone, in NumPy on the same BLAS, took "
        f"{floor:.3f} s ({floor / pytorch:.2f}x PyTorch), and its Adam updates alone "
        f"{adam:.3f} s (one compiled pass that reads four values and writes three per "
        f"parameter, with the square root and two divisions of PyTorch's formula); together "
        f"{floor + adam:.3f} s, "
        f"{(floor + adam) / pytorch:.2f}x PyTorch, before any activation, loss, batch or "
        f"line of Python. Everything else took layerwise {rest:.3f} s, and the epoch written "
        f"by hand in NumPy, with no framework at all, {reference['hand-written']:.3f} s "
        f"({reference['hand-written'] / pytorch:.2f}x PyTorch). The wide-MLP row shows how "
        "close the matrix products run to the machine's peak.\n")


def cnn_rows(images: np.ndarray, labels: np.ndarray, rounds: int,
             add: Callable[[str, float, float, str, str], None]
             ) -> tuple[dict[str, float], dict[str, float]]:
    """The CNN's rows (see benchmarks/cnn_benchmark.py); returns the milliseconds per step of
    each candidate, and where a layerwise step's time goes."""
    steps = 10
    numpy_path = cnn.layerwise_steps(images, labels, steps)

    def numpy_loops_steps() -> None:
        with cnn.numpy_loops():
            numpy_path()

    timed = alternate({"layerwise": cnn.layerwise_steps(images, labels, steps),
                       "pytorch": cnn.torch_steps(images, labels, steps),
                       "matrix products": cnn.matrix_products(steps),
                       "numpy loops": numpy_loops_steps}, rounds)
    per_step = {name: seconds / steps * 1e3 for name, seconds in timed.items()}
    name = "CLI CNN (32/64 channels) training step, batch 128"
    add(f"{name}: layerwise / PyTorch", per_step["layerwise"], per_step["pytorch"], "ms",
        "<= 1.00x")
    add(f"{name}: its matrix products alone in NumPy (the GEMM-bound floor) / PyTorch",
        per_step["matrix products"], per_step["pytorch"], "ms", "-")
    add(f"{name}: layerwise without its compiled loops (NumPy paths) / PyTorch",
        per_step["numpy loops"], per_step["pytorch"], "ms", "-")
    memory = cnn.peak_memory(__file__)
    add("peak memory growth of 20 CNN steps (model built, after start-up): layerwise / PyTorch",
        memory["layerwise"] / 2**20, memory["pytorch"] / 2**20, "MiB", "-")
    return per_step, cnn.step_profile(images, labels, 20)


def cnn_reading(per_step: dict[str, float], profile: dict[str, float]) -> str:
    """What the CNN's figures of this run mean for the 1.0x target, in a paragraph."""
    pytorch, ours = per_step["pytorch"], per_step["layerwise"]
    floor, numpy_paths = per_step["matrix products"], per_step["numpy loops"]
    spatial = sum(seconds for name, seconds in profile.items()
                  if name.split(".")[0] in ("ReLU", "MaxPool2d")) * 1e3
    return (
        "## Reading the CNN rows\n\n"
        f"PyTorch's step of the CNN took {pytorch:.1f} ms and layerwise's {ours:.1f} ms "
        f"({ours / pytorch:.2f}x). The matrix products of the step alone (the convolutions as "
        f"im2col products with their bias column, and the Linear layers), in NumPy on the same "
        f"BLAS, took {floor:.1f} ms ({floor / pytorch:.2f}x PyTorch): that is the floor of "
        f"this formulation, and it leaves {pytorch - floor:.1f} ms for everything else if "
        f"layerwise is to match PyTorch. The rest of layerwise's step took "
        f"{ours - floor:.1f} ms: copying windows into X_col and adding them back (im2col and "
        f"col2im, inside the convolutions' rows below), ReLU and max pooling "
        f"({spatial:.1f} ms together; the first layer's maps are 13 MB a step), and the small "
        f"ops. "
        f"These run on one core while the matrix products use two, and they are bound by "
        f"memory traffic: the second convolution's X_col alone is 29 MB per step, written "
        f"once and read twice. Without the compiled loops (NumPy slices for im2col, col2im "
        f"and pooling) the step took {numpy_paths:.1f} ms ({numpy_paths / pytorch:.2f}x).\n")


def profile_table(profile: dict[str, float]) -> str:
    """Where a layerwise CNN step goes: each op's forward and backward, slowest first."""
    step = profile.pop("step")
    lines = ["## Where a layerwise CNN step goes", "",
             f"Timers around each op's forward and backward over 20 steps of the CLI's CNN "
             f"(a step took {step * 1e3:.1f} ms with the timers on):", "",
             "| part | ms per step | share |", "| --- | ---: | ---: |"]
    for name, seconds in sorted(profile.items(), key=lambda item: -item[1]):
        if seconds >= 5e-5:
            lines.append(f"| {name} | {seconds * 1e3:.2f} | {seconds / step:.0%} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="batch 128 only, 3 rounds")
    parser.add_argument("--no-write", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument("--health-only", action="store_true",
                        help="only the training-health overhead row, printed, not written")
    parser.add_argument("--keep-openblas-env", action="store_true")
    parser.add_argument("--memory-child", choices=MEMORY_CHILDREN,
                        help=argparse.SUPPRESS)
    parser.add_argument("--cnn-memory-child", choices=("layerwise", "pytorch"),
                        help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.memory_child:
        memory_child(arguments.memory_child)
        return
    if arguments.cnn_memory_child:
        images, labels = fashion()
        cnn.memory_child(arguments.cnn_memory_child, images.reshape(-1, 1, 28, 28), labels,
                         resident_bytes, reset_peak)
        return
    rounds = 3 if arguments.quick else arguments.rounds
    x, y = fashion()
    rows: list[tuple[str, str, str, str]] = []
    reference: dict[str, float] = {}

    def add(name: str, ours: float, theirs: float, unit: str, target: str) -> None:
        rows.append((name, f"{ours:.3f} {unit} vs {theirs:.3f} {unit}", f"{ours / theirs:.2f}x",
                     target))
        print(f"{name}: {rows[-1][1]} = {rows[-1][2]} (target {target})", flush=True)

    def add_health_row() -> None:
        timed = health_overhead(x, y, 128, rounds)
        add("reference MLP epoch, batch 128: Trainer with training health (sampled every 50 "
            "steps) / without", timed["with health"], timed["without"], "s", "<= 1.05x")

    if arguments.health_only:
        add_health_row()
        return

    for batch in ((128,) if arguments.quick else (128, 32, 512)):
        timed = reference_epoch(x, y, batch, rounds, with_baselines=batch == 128)
        if batch == 128:
            reference = timed
        target = "<= 0.50x" if batch == 128 else "-"
        add(f"reference MLP epoch, batch {batch}: layerwise / PyTorch", timed["layerwise"],
            timed["pytorch"], "s", target)
        if batch == 128:
            add("reference MLP epoch, batch 128: its matrix products alone in NumPy (the "
                "GEMM-bound floor) / PyTorch", timed["matrix products"], timed["pytorch"], "s",
                "-")
            add("reference MLP epoch, batch 128: its matrix products and Adam updates alone "
                "/ PyTorch", timed["matrix products"] + timed["adam updates"], timed["pytorch"],
                "s", "-")
            add("reference MLP epoch, batch 128: the epoch written by hand in NumPy (no "
                "engine, the same Adam) / PyTorch", timed["hand-written"], timed["pytorch"], "s",
                "-")
        if "scikit-learn" in timed:
            add("reference MLP epoch, batch 128: layerwise / scikit-learn", timed["layerwise"],
                timed["scikit-learn"], "s", "<= 0.55x")
        add(f"reference MLP epoch, batch {batch}: Trainer / plain loop",
            timed["layerwise Trainer"], timed["layerwise"], "s", "small overhead")
        if batch == 128:
            add_health_row()
    wide = wide_step(rounds)
    achieved, limit = wide["flops"] / wide["step"] / 1e9, wide["flops"] / wide["gemm"] / 1e9
    rows.append(("wide MLP 784-2048-2048-10, batch 512: achieved / GEMM-bound GFLOP/s",
                 f"{achieved:.1f} vs {limit:.1f} GFLOP/s", f"{achieved / limit:.0%}", ">= 60%"))
    print(f"wide MLP: {rows[-1][1]} = {rows[-1][2]}", flush=True)
    tiny = tiny_step(rounds)
    add("tiny 2-16-16-1 step on 256 points: layerwise / PyTorch", tiny["layerwise"] * 1e6,
        tiny["pytorch"] * 1e6, "us", "<= 0.40x")
    memory = peak_memory()
    add("peak memory growth of a reference epoch, after start-up: layerwise / PyTorch",
        memory["layerwise"] / 2**20, memory["pytorch"] / 2**20, "MiB", "<= 1.00x")
    add("the same, layerwise with the NumPy Adam (fused=False) / PyTorch",
        memory["layerwise-numpy"] / 2**20, memory["pytorch"] / 2**20, "MiB", "<= 1.00x")
    add("the same from a cold start (start-up counted: numba's LLVM for layerwise) / PyTorch",
        memory["layerwise-cold"] / 2**20, memory["pytorch-cold"] / 2**20, "MiB", "-")
    cnn_per_step, profile = cnn_rows(x.reshape(-1, 1, 28, 28), y, rounds, add)
    if distributed.MPIEXEC.exists():
        ranks = distributed.measure(rounds, distributed.STEPS)
        one, two = ranks["1"], ranks["2"]
        add("reference MLP training (Trainer, batch 128): steps per second, 2 ranks under "
            "mpiexec (1 BLAS thread each) / 1 process (2 BLAS threads)",
            two["steps_per_second"], one["steps_per_second"], "steps/s", "-")
        add("the same, 2 ranks: summing the gradients (pack, allreduce, unpack) / the step",
            two["reduce_ms"], 1e3 / two["steps_per_second"], "ms", "-")

    header = [
        "# Benchmarks",
        "",
        f"Machine: {cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"NumPy {np.__version__}, PyTorch {torch.__version__} ({torch.get_num_threads()} "
        f"threads), layerwise {lw.__version__}.",
        f"BLAS: {blas_kernel()}.",
        f"Command: `.venv/bin/python benchmarks/run.py{' --quick' if arguments.quick else ''}`"
        f" (median of {rounds} rounds after a warm-up, frameworks alternating).",
        "",
        "| measurement | values | ratio | target |",
        "| --- | --- | ---: | --- |",
    ]
    table = "\n".join(header + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]) + "\n"
    table += ("\n" + reading(reference) + "\n" + cnn_reading(cnn_per_step, profile) + "\n"
              + profile_table(profile))
    print()
    print(table)
    if not arguments.no_write:
        Path(__file__).resolve().parent.parent.joinpath("docs", "benchmarks.md").write_text(table)


if __name__ == "__main__":
    main()
