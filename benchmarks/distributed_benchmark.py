"""Data-parallel training of the reference MLP: one process against two ranks under mpiexec.

    python benchmarks/distributed_benchmark.py [--rounds 3] [--steps 200]

Each round runs, alternating, one process (two BLAS threads, as `layerwise train` runs) and
two ranks under MPICH's mpiexec (one BLAS thread each, so the two ranks share the two cores)
for the same global batches of 128 through Trainer.fit, and reports steps per second and the
share of a rank's step spent summing gradients (DistributedOptimizer.reduce_gradients: packing,
the allreduce and unpacking). benchmarks/run.py prints the same rows in its table.
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
from layerwise.train import Trainer

BATCH = 128
MPIEXEC = Path(sys.executable).with_name("mpiexec")


def worker(steps: int) -> None:
    """Train two epochs of `steps` global batches; rank 0 prints, as JSON, the seconds, the
    steps and the seconds spent summing gradients."""
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
    trainer.fit(x, y, epochs=2, batch_size=BATCH)
    seconds = time.perf_counter() - started
    if comm.rank == 0:
        print(json.dumps({"seconds": seconds, "steps": 2 * steps, "reduce": reduce_seconds}))


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
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        worker(arguments.worker)
        return
    if not MPIEXEC.exists():
        sys.exit(f"no mpiexec beside {sys.executable}: pip install 'layerwise[distributed]'")
    measured = measure(arguments.rounds, arguments.steps)
    one, two = measured["1"], measured["2"]
    print(f"1 process: {one['steps_per_second']:.1f} steps/s")
    print(f"2 ranks: {two['steps_per_second']:.1f} steps/s "
          f"({two['steps_per_second'] / one['steps_per_second']:.2f}x), summing gradients "
          f"{two['reduce_ms']:.3f} ms a step ({two['reduce_share']:.1%} of it)")


if __name__ == "__main__":
    main()
