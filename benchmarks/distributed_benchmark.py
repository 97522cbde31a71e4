"""Data-parallel training of the reference MLP: one process against two ranks under mpiexec.

    python benchmarks/distributed_benchmark.py [--rounds 3] [--steps 200]
    python benchmarks/distributed_benchmark.py --allreduce


Each round runs, alternating, one process (two BLAS threads, as `layerwise train` runs) and
two ranks under MPICH's mpiexec (one BLAS thread each, so the two ranks share the two cores)
for the same global batches of 128 through Trainer.fit, and reports steps per second and the
share of a rank's step spent summing gradients (DistributedOptimizer.reduce_gradients: packing,
the allreduce and unpacking). benchmarks/run.py prints the same rows in its table.

`--allreduce` measures, on two ranks, the gradient sum alone for the CLI's two models (the
MLP and the CNN of their recipes): the allreduce of one flat float32 buffer, and
DistributedOptimizer.reduce_gradients with its packing; docs/distributed.md's cost model
starts from these figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import layerwise as lw
from layerwise import nn, optim
from layerwise.data import fashion_mnist
from layerwise.distributed import DistributedOptimizer, world
from layerwise.models import build_model
from layerwise.train import Trainer
from layerwise.train.config import RunConfig

BATCH = 128
STEPS = 200  # global batches of the timed epoch
MPIEXEC = Path(sys.executable).with_name("mpiexec")


def worker(steps: int) -> None:
    """Train one epoch of `steps` global batches (after a one-step warm-up epoch); rank 0
    prints, as JSON, the seconds, the steps and the seconds spent summing gradients."""
    train = fashion_mnist("train")
    count = steps * BATCH
    x = train.images[:count].reshape(count, -1).astype(np.float32) / 255
    y = train.labels[:count]
    lw.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    comm = world()
    optimizer = DistributedOptimizer(optim.Adam(model.parameters(), lr=1e-3), comm)
    reduce_seconds = 0.0
    reduce = optimizer.reduce_gradients

    def timed_reduce(weight: float = 1.0) -> None:
        nonlocal reduce_seconds
        started = time.perf_counter()
        reduce(weight)
        reduce_seconds += time.perf_counter() - started

    optimizer.reduce_gradients = timed_reduce  # type: ignore[method-assign]
    trainer = Trainer(model, optimizer, rng=np.random.default_rng(0), verbose=False)
    trainer.fit(x[:BATCH], y[:BATCH], epochs=1, batch_size=BATCH)  # warm-up: one step
    reduce_seconds = 0.0
    started = time.perf_counter()
    trainer.fit(x, y, epochs=2, batch_size=BATCH)  # the second epoch: all `steps` batches
    seconds = time.perf_counter() - started
    if comm.rank == 0:
        print(json.dumps({"seconds": seconds, "steps": steps, "reduce": reduce_seconds}))


def allreduce_worker(repeats: int = 200) -> None:
    """Rank 0 prints, as JSON per model, its parameter count and the median milliseconds of
    the raw allreduce and of reduce_gradients."""
    comm = world()
    results = {}
    for name in ("mlp", "cnn"):
        config = RunConfig.from_dict({"model": name}, "the benchmark")
        shape = (1, 28, 28) if name == "cnn" else (784,)
        statistics_shape = shape[:1] if name == "cnn" else shape
        model, _ = build_model(config, shape, 10, np.zeros(statistics_shape, np.float32),
                               np.ones(statistics_shape, np.float32))
        params = list(model.parameters())
        optimizer = DistributedOptimizer(optim.SGD(params, lr=0.0), comm)
        flat = np.ones(sum(p.data.size for p in params), np.float32)
        raw, packed = [], []
        for repeat in range(repeats + 20):  # the first 20 warm up
            for p in params:
                p._grad = np.ones_like(p.data)
            started = time.perf_counter()
            optimizer.reduce_gradients()
            middle = time.perf_counter()
            comm.allreduce(flat)
            if repeat >= 20:
                packed.append(middle - started)
                raw.append(time.perf_counter() - middle)
        results[name] = {"parameters": flat.size, "allreduce_ms": statistics.median(raw) * 1e3,
                         "reduce_gradients_ms": statistics.median(packed) * 1e3}
    if comm.rank == 0:
        print(json.dumps(results))


def run(ranks: int, steps: int) -> dict[str, float]:
    """One measurement: a fresh process (or `ranks` of them) training `steps` batches."""
    command = [sys.executable, __file__, "--worker", str(steps)]
    environment = dict(os.environ)
    if ranks > 1:
        command = [str(MPIEXEC), "-n", str(ranks), *command]
        environment.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    output = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            env=environment, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def measure(rounds: int, steps: int) -> dict[str, dict[str, float]]:
    """Median steps per second and reduce share for 1 and 2 ranks, alternating."""
    results: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    for _ in range(rounds):
        for ranks in (1, 2):
            results[ranks].append(run(ranks, steps))
    return {str(ranks): {
        "steps_per_second": statistics.median(r["steps"] / r["seconds"] for r in runs),
        "reduce_share": statistics.median(r["reduce"] / r["seconds"] for r in runs),
        "reduce_ms": statistics.median(r["reduce"] / r["steps"] * 1e3 for r in runs)}
        for ranks, runs in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--allreduce", action="store_true",
                        help="only the gradient sums of the CLI's models on two ranks")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--allreduce-worker", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        worker(arguments.worker)
        return
    if arguments.allreduce_worker:
        allreduce_worker()
        return
    if not MPIEXEC.exists():
        sys.exit(f"no mpiexec beside {sys.executable}: pip install 'layerwise[distributed]'")
    if arguments.allreduce:
        environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        output = subprocess.run([str(MPIEXEC), "-n", "2", sys.executable, __file__,
                                 "--allreduce-worker"], capture_output=True, text=True,
                                timeout=600, env=environment, check=True).stdout
        for name, figures in json.loads(output.strip().splitlines()[-1]).items():
            megabytes = figures["parameters"] * 4 / 1e6
            print(f"{name}: {figures['parameters']:,} parameters ({megabytes:.2f} MB): "
                  f"allreduce {figures['allreduce_ms']:.3f} ms, reduce_gradients "
                  f"{figures['reduce_gradients_ms']:.3f} ms")
        return
    measured = measure(arguments.rounds, arguments.steps)
    one, two = measured["1"], measured["2"]
    print(f"1 process: {one['steps_per_second']:.1f} steps/s")
    print(f"2 ranks: {two['steps_per_second']:.1f} steps/s "
          f"({two['steps_per_second'] / one['steps_per_second']:.2f}x), summing gradients "
          f"{two['reduce_ms']:.3f} ms a step ({two['reduce_share']:.1%} of it)")


if __name__ == "__main__":
    main()
