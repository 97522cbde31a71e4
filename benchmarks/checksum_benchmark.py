"""What the SHA-256 checksums cost: save and load with and without them, for the CLI's default
MLP (784-512-256-10; its model.safetensors, and its checkpoint.safetensors with the Adam
moments) and for a 100 MB model; and a whole per-epoch save of a default run against the time
of one of its epochs. Prints a table (median of --rounds, milliseconds).

    .venv/bin/python benchmarks/checksum_benchmark.py [--rounds 7] [--no-epoch]

"Without" is the write and read path as it was before checksums: safetensors' bytes written
atomically (fsync included), and the header checks followed by safetensors' load. A benchmark,
not a test: run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import safetensors.numpy

import layerwise as lw
from layerwise import checkpoint
from layerwise.models import build_model
from layerwise.train.config import RunConfig

REFERENCE_HIDDEN = [512, 256]


def median_ms(action: Callable[[], object], rounds: int) -> float:
    action()  # warm-up: the page cache, the first allocation
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def reference_tensors() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The default MLP's weights, and a checkpoint's tensors: the weights and Adam's moments."""
    config = RunConfig(hidden=REFERENCE_HIDDEN).validate()
    model, _ = build_model(config, (784,), 10, np.zeros(784, np.float32),
                           np.ones(784, np.float32))
    weights = model.state_dict()
    tensors = {f"model.{name}": value for name, value in weights.items()}
    for index, parameter in enumerate(model.parameters()):
        for moment in ("exp_avg", "exp_avg_sq"):
            tensors[f"optimizer.{index}.{moment}"] = np.random.default_rng(index).random(
                parameter.shape, dtype=np.float32)
    return weights, tensors


def large_tensors() -> dict[str, np.ndarray]:
    """100 MB of float32 weights in five 5000 x 1000 matrices."""
    rng = np.random.default_rng(0)
    return {f"layer{index}.weight": rng.random((5000, 1000), dtype=np.float32)
            for index in range(5)}


def save_without(arrays: dict[str, np.ndarray], path: Path) -> None:
    checkpoint.write_atomically(path, safetensors.numpy.save(arrays, metadata={"epoch": "1"}))


def load_without(path: Path) -> dict[str, np.ndarray]:
    data, _ = checkpoint._read_checked(path, with_data=True)
    return safetensors.numpy.load(data)


def file_row(label: str, arrays: dict[str, np.ndarray], folder: Path,
             rounds: int) -> tuple[str, float, float, float, float, float]:
    """Size (MB), and save and load without and with checksums (ms), of one file."""
    plain, hashed = folder / "plain.safetensors", folder / "hashed.safetensors"
    save_plain = median_ms(lambda: save_without(arrays, plain), rounds)
    save_hashed = median_ms(lambda: lw.save(arrays, hashed, metadata={"epoch": "1"}), rounds)
    load_plain = median_ms(lambda: load_without(hashed), rounds)
    load_hashed = median_ms(lambda: lw.load(hashed), rounds)
    megabytes = hashed.stat().st_size / 1e6
    return label, megabytes, save_plain, save_hashed, load_plain, load_hashed


def file_rows(rounds: int, folder: Path) -> list[tuple[str, float, float, float, float, float]]:
    weights, resume = reference_tensors()
    return [file_row("default MLP, model.safetensors", weights, folder, rounds),
            file_row("default MLP, checkpoint.safetensors (Adam)", resume, folder, rounds),
            file_row("100 MB model", large_tensors(), folder, rounds)]


def sha256_throughput(rounds: int) -> float:
    """GB/s of hashlib's SHA-256 on 100 MB."""
    data = np.random.default_rng(0).bytes(100_000_000)
    return 0.1 / (median_ms(lambda: hashlib.sha256(data).digest(), rounds) / 1000)


def epoch_and_save(folder: Path) -> tuple[float, float, float]:
    """Seconds of one epoch of the default recipe, and milliseconds of its per-epoch save
    (checkpoint, model, metrics.csv, health.json) with and without the checksums."""
    from layerwise.train.run import Run

    run = Run(RunConfig(epochs=1), folder / "run", verbose=False, health=True)
    run.folder.mkdir()
    splits = run.splits
    started = time.perf_counter()
    run.trainer.fit(splits.train_x, splits.train_y, epochs=1, batch_size=run.config.batch_size,
                    validation_data=(splits.val_x, splits.val_y))
    epoch_seconds = time.perf_counter() - started
    with_checksums = median_ms(run.save, 5)
    tensor_record = checkpoint.tensor_record  # type: ignore[attr-defined]
    checkpoint.tensor_record = lambda arrays, metadata: ""  # type: ignore[attr-defined]
    try:
        without = median_ms(run.save, 5)
    finally:
        checkpoint.tensor_record = tensor_record  # type: ignore[attr-defined]
    return epoch_seconds, with_checksums, without


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-epoch", action="store_true", help="skip the epoch of a run")
    options = parser.parse_args()
    warnings.simplefilter("ignore", lw.NoChecksumWarning)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        rows = file_rows(options.rounds, folder)
        print("| file | size | save without | save with | load without | load with |")
        print("| --- | --- | --- | --- | --- | --- |")
        for label, megabytes, save_plain, save_hashed, load_plain, load_hashed in rows:
            print(f"| {label} | {megabytes:.1f} MB | {save_plain:.1f} ms | {save_hashed:.1f} ms "
                  f"(+{save_hashed - save_plain:.1f}) | {load_plain:.1f} ms | "
                  f"{load_hashed:.1f} ms (+{load_hashed - load_plain:.1f}) |")
        print(f"\nSHA-256 (hashlib): {sha256_throughput(options.rounds):.2f} GB/s")
        if not options.no_epoch:
            epoch, saved, unhashed = epoch_and_save(folder)
            print(f"one epoch of the default recipe: {epoch:.2f} s; its save (checkpoint, model, "
                  f"metrics.csv, health.json): {saved:.1f} ms with checksums, {unhashed:.1f} ms "
                  f"without ({100 * (saved - unhashed) / 1000 / epoch:.3f} % of the epoch)")


if __name__ == "__main__":
    main()
