"""Test accuracy and training time of a `layerwise train` recipe over several seeds.

    .venv/bin/python benchmarks/accuracy.py [--model mlp|cnn] [--seeds 0,1,2]
                                            [--write docs/accuracy.md]

Each seed trains the model's default recipe (RunConfig, with CNN_RECIPE for the CNN) on
Fashion-MNIST in this process (the same code path as `layerwise train`) and reports the test
accuracy and the seconds spent in training (fit, validation included; loading data and the
final test pass excluded). --write replaces the model's section of the page and keeps the
other's. A benchmark, not a test: run it on demand, on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import layerwise
from layerwise.train.config import RunConfig
from layerwise.train.run import Run


def blas_kernel() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl to see it)"
    infos = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    return ", ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
                     f"({i.get('num_threads')} threads)" for i in infos) or "none found"


TITLE = "# Test accuracy of the recipes on Fashion-MNIST"
SECTIONS = {"mlp": "## The MLP: `layerwise train`",
            "cnn": "## The CNN: `layerwise train --model cnn`"}


def replace_section(page: str, heading: str, section: str) -> str:
    """The page with the section under `heading` replaced by `section` (or added), the
    sections in the order of SECTIONS."""
    parts = {name: "" for name in SECTIONS.values()}
    current = None
    for line in page.splitlines(keepends=True):
        if line.startswith("## "):
            current = line.strip() if line.strip() in parts else None
        if current is not None:
            parts[current] += line
    parts[heading] = section
    return "\n".join([TITLE + "\n", *(part.rstrip("\n") + "\n" for part in parts.values()
                                      if part)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--write", metavar="FILE", help="also write the table to this file")
    arguments = parser.parse_args()
    seeds = [int(seed) for seed in arguments.seeds.split(",")]
    rows = []
    for seed in seeds:
        config = RunConfig.from_dict({"model": arguments.model, "seed": seed}, "recipe")
        with tempfile.TemporaryDirectory() as folder:
            run = Run(config, Path(folder), verbose=False)
            started = time.perf_counter()
            run.trainer.fit(run.splits.train_x, run.splits.train_y, epochs=config.epochs,
                            batch_size=config.batch_size,
                            validation_data=(run.splits.val_x, run.splits.val_y))
            seconds = time.perf_counter() - started
            result = run.trainer.evaluate(run.splits.test_x, run.splits.test_y)
        rows.append((seed, result.accuracy, seconds))
        print(f"seed {seed}: test accuracy {result.accuracy:.4f}, training {seconds:.1f} s",
              flush=True)
    accuracies = [accuracy for _, accuracy, _ in rows]
    lines = [
        "| seed | test accuracy | training seconds |",
        "| ---: | ---: | ---: |",
        *(f"| {seed} | {accuracy:.4f} | {seconds:.1f} |" for seed, accuracy, seconds in rows),
        f"| all | median {statistics.median(accuracies):.4f}, min {min(accuracies):.4f}, "
        f"mean {statistics.mean(accuracies):.4f} | max {max(s for *_, s in rows):.1f} |",
    ]
    environment = {key: os.environ[key] for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
                   if key in os.environ}
    recipe = RunConfig.from_dict({"model": arguments.model}, "recipe").to_dict()
    header = [
        SECTIONS[arguments.model],
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, NumPy {np.__version__}, layerwise "
        f"{layerwise.__version__}.",
        f"BLAS: {blas_kernel()}; environment: {environment or 'no OPENBLAS_* overrides'}.",
        "",
        f"Recipe: {recipe}",
        "",
        f"Command: `.venv/bin/python benchmarks/accuracy.py --model {arguments.model} --seeds "
        f"{arguments.seeds}`",
        "",
    ]
    section = "\n".join(header + lines) + "\n"
    print(section)
    if arguments.write:
        path = Path(arguments.write)
        path.write_text(replace_section(path.read_text() if path.exists() else "",
                                        SECTIONS[arguments.model], section))


if __name__ == "__main__":
    main()
