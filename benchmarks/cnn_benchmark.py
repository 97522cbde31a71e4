"""The CNN rows of benchmarks/run.py: a training step of the CLI's CNN (`layerwise train
--model cnn`) against the same network in PyTorch, its matrix products alone, where the step's
time goes, and peak memory. Imported by run.py, which alternates the frameworks in one run.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from layerwise import jit, nn, ops, optim
from layerwise.models import build_model, input_statistics
from layerwise.train.config import RunConfig

BATCH = 128
CONFIG = RunConfig.from_dict({"model": "cnn"}, "benchmark")


def layerwise_cnn(images: np.ndarray, config: RunConfig = CONFIG
                  ) -> tuple[nn.Sequential, optim.Optimizer, nn.Module]:
    """The CLI's CNN, its AdamW and its loss, as `layerwise train --model cnn` builds them."""
    mean, std = input_statistics(config, images)
    model, _ = build_model(config, images.shape[1:], 10, mean, std)
    optimizer = optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return model, optimizer, nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)


def torch_cnn(images: np.ndarray, config: RunConfig = CONFIG
              ) -> tuple[torch.nn.Module, torch.optim.Optimizer, Any]:
    """The same network in PyTorch: standardization, the 3x3 convolutions (with batch norm when
    the recipe has it) with ReLU and 2x2 max pooling, 3136-128-10 with dropout; AdamW and label
    smoothing as in the recipe."""
    torch.manual_seed(0)
    mean, std = float(images.mean()), float(images.std())
    channels, layers = 1, [torch.nn.Identity()]
    for width in config.channels:
        layers.append(torch.nn.Conv2d(channels, width, 3, padding=1, bias=not config.batch_norm))
        if config.batch_norm:
            layers.append(torch.nn.BatchNorm2d(width))
        layers += [torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        channels = width
    layers += [torch.nn.Flatten(), torch.nn.Linear(channels * 7 * 7, config.hidden[0]),
               torch.nn.ReLU(), torch.nn.Dropout(config.dropout),
               torch.nn.Linear(config.hidden[0], 10)]

    class Standardized(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = torch.nn.Sequential(*layers)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body((x - mean) / std)  # type: ignore[no-any-return]

    model = Standardized()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    return model, optimizer, torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)


def batches(images: np.ndarray, labels: np.ndarray, count: int,
            batch: int = BATCH) -> list[tuple[Any, Any]]:
    rng = np.random.default_rng(0)
    chosen = [rng.choice(len(images), batch, replace=False) for _ in range(count)]
    return [(images[index], labels[index]) for index in chosen]


def layerwise_steps(images: np.ndarray, labels: np.ndarray, count: int,
                    batch: int = BATCH, config: RunConfig = CONFIG) -> Callable[[], None]:
    model, optimizer, loss_fn = layerwise_cnn(images, config)
    return training_loop(model, optimizer, loss_fn, batches(images, labels, count, batch))


def torch_steps(images: np.ndarray, labels: np.ndarray, count: int,
                batch: int = BATCH, config: RunConfig = CONFIG) -> Callable[[], None]:
    model, optimizer, loss_fn = torch_cnn(images, config)
    return training_loop(model, optimizer, loss_fn, [
        (torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches(images, labels, count,
                                                                       batch)])


def training_loop(model: Any, optimizer: Any, loss_fn: Any,
                  data: list[tuple[Any, Any]]) -> Callable[[], None]:
    """Steps over `data` as a user writes them, in either framework (the same code)."""
    def steps() -> None:
        for x, y in data:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return steps


def matrix_products(count: int) -> Callable[[], None]:
    """Exactly the matrix products of `count` steps of the CNN, in NumPy on random arrays of
    their shapes: per convolution the forward product (X_col, with a column of ones for the
    bias, times W_col^T), grad_W and (not for the first layer) grad_X_col; per Linear layer
    the forward product, grad_W and grad_x."""
    rng = np.random.default_rng(1)
    products: list[tuple[np.ndarray, np.ndarray]] = []
    channels, size = 1, 28
    ones = 0 if CONFIG.batch_norm else 1  # batch norm replaces the convolutions' bias
    for layer, width in enumerate(CONFIG.channels):
        rows, columns = BATCH * size * size, 9 * channels
        cols = rng.random((rows, columns + ones), dtype=np.float32)
        weight = rng.random((width, columns + ones), dtype=np.float32)
        delta = rng.random((rows, width), dtype=np.float32)
        products += [(cols, weight.T), (delta.T, cols)]
        if layer:
            products.append((delta, np.ascontiguousarray(weight[:, :columns])))
        channels, size = width, size // 2
    widths = [channels * size * size, *CONFIG.hidden, 10]
    for layer in range(len(widths) - 1):
        x = rng.random((BATCH, widths[layer]), dtype=np.float32)
        weight = rng.random((widths[layer + 1], widths[layer]), dtype=np.float32)
        delta = rng.random((BATCH, widths[layer + 1]), dtype=np.float32)
        products += [(x, weight.T), (delta.T, x), (delta, weight)]

    def run() -> None:
        for _ in range(count):
            for a, b in products:
                _ = a @ b

    return run


@contextmanager
def numpy_loops() -> Iterator[None]:
    """The spatial ops' NumPy paths instead of their compiled loops."""
    enabled = jit.enabled
    jit.enabled = False
    try:
        yield
    finally:
        jit.enabled = enabled


def step_profile(images: np.ndarray, labels: np.ndarray, count: int) -> dict[str, float]:
    """Seconds per step spent in each op's forward and backward (and in the optimizer), from
    timers around the op classes' methods: where a layerwise step goes."""
    model, optimizer, loss_fn = layerwise_cnn(images)
    data = batches(images, labels, count)
    spent: dict[str, float] = collections.defaultdict(float)
    originals = {}
    for op in ops.ALL_OPS:
        for method in ("forward", "backward"):
            original = op.__dict__.get(method)
            if original is None:
                continue
            originals[op, method] = original

            def timed(self: Any, *args: Any, _original: Any = original,
                      _key: str = f"{op.__name__}.{method}", **kwargs: Any) -> Any:
                started = time.perf_counter()
                result = _original(self, *args, **kwargs)
                spent[_key] += time.perf_counter() - started
                return result

            setattr(op, method, timed)
    try:
        for _ in range(2):  # a warm-up, then the measured pass
            spent.clear()
            started = time.perf_counter()
            for x, y in data:
                loss = loss_fn(model(x), y)
                optimizer.zero_grad()
                loss.backward()
                step_started = time.perf_counter()
                optimizer.step()
                spent["AdamW.step"] += time.perf_counter() - step_started
            total = time.perf_counter() - started
    finally:
        for (op, method), original in originals.items():
            setattr(op, method, original)
    profile = {name: seconds / count for name, seconds in spent.items()}
    profile["everything else (engine, modules, Python)"] = (
        total - sum(spent.values())) / count
    profile["step"] = total / count
    return profile


# --- memory, each framework in a fresh process ----------------------------------------------


def memory_child(framework: str, images: np.ndarray, labels: np.ndarray,
                 resident_bytes: Callable[..., int], reset_peak: Callable[[], None]) -> None:
    """Peak resident growth of training the CNN for 20 steps: activations, gradients and the
    optimizer's state. The baseline is taken once the model and its batches are built, and
    after one step of a tiny CNN on two images (the start-up: numba compiles the spatial
    loops, PyTorch sets up autograd and its allocator), which allocates little."""
    make = layerwise_steps if framework == "layerwise" else torch_steps
    tiny = RunConfig.from_dict({"model": "cnn", "channels": [2, 2], "hidden": [4]}, "start-up")
    make(images[:2], labels[:2], 1, batch=2, config=tiny)()
    steps = make(images, labels, 20)
    reset_peak()
    before = resident_bytes()
    steps()
    print(json.dumps({"growth": resident_bytes("VmHWM") - before}))


def peak_memory(script: str) -> dict[str, float]:
    result = {}
    for framework in ("layerwise", "pytorch"):
        finished = subprocess.run([sys.executable, script, "--cnn-memory-child", framework],
                                  capture_output=True, text=True, check=True, timeout=600)
        result[framework] = json.loads(finished.stdout.strip().splitlines()[-1])["growth"]
    return result
