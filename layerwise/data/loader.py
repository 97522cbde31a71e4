"""DataLoader: an iterable over mini-batches of a dataset held in arrays."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from layerwise.rng import default_generator
from layerwise.tensor import Tensor


class DataLoader:
    """Mini-batches of (inputs, targets) as Tensors, in order or reshuffled every epoch.

    The loader keeps references to the arrays it is given and gathers one batch at a time, so
    an epoch never copies the dataset. Each iteration (epoch) with `shuffle=True` draws a new
    permutation from `rng` at its start: the same seed gives the same sequence of epochs, and
    saving ``loader.rng.bit_generator.state`` between epochs lets a run resume where it was;
    `iter_from` starts an epoch at a later batch, to resume in the middle of one.

    Args:
        inputs: array (N, ...) of samples (a Tensor's data is used as is).
        targets: array (N, ...) of targets, or None to yield inputs alone.
        batch_size: samples per batch, at least 1.
        shuffle: visit the samples in a new random order each epoch.
        rng: the generator the permutations come from (default:
            layerwise.rng.default_generator() at construction).
        drop_last: drop the final batch when it has fewer than `batch_size` samples.

    Example:
        >>> loader = DataLoader(images, labels, batch_size=64, shuffle=True,
        ...                     rng=np.random.default_rng(0))
        >>> for x, y in loader:  # x: Tensor (64, 28, 28), y: Tensor (64,)
        ...     ...
    """

    def __init__(self, inputs: Any, targets: Any = None, batch_size: int = 32,
                 shuffle: bool = False, rng: np.random.Generator | None = None,
                 drop_last: bool = False) -> None:
        self.inputs = _as_samples(inputs, "inputs")
        self.targets = None if targets is None else _as_samples(targets, "targets")
        for name, array in (("inputs", self.inputs), ("targets", self.targets)):
            if array is not None and array.dtype.kind not in "biuf":
                raise TypeError(f"DataLoader: {name} must hold numbers, got dtype {array.dtype}")
        if self.targets is not None and len(self.targets) != len(self.inputs):
            raise ValueError(f"DataLoader: inputs and targets must have the same length, got "
                             f"{len(self.inputs)} inputs and {len(self.targets)} targets")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be an integer >= 1, got "
                             f"{batch_size!r}")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.rng = rng if rng is not None else default_generator()
        self.drop_last = drop_last

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        if self.drop_last:
            return len(self.inputs) // self.batch_size
        return math.ceil(len(self.inputs) / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        """Start an epoch: draw its order now (if shuffling) and yield its batches."""
        return self.iter_from(0)

    def iter_from(self, batch: int) -> Iterator[Any]:
        """Start an epoch at batch `batch` (counted from 0): the order is drawn as `iter(loader)`
        draws it, and the batches before `batch` are skipped without being gathered.

        With the generator set back to its state at the start of an interrupted epoch, this
        yields the rest of that epoch.
        """
        if isinstance(batch, bool) or not isinstance(batch, int | np.integer) \
                or not 0 <= batch <= len(self):
            raise ValueError(f"DataLoader.iter_from: batch must be an integer in [0, "
                             f"{len(self)}], got {batch!r}")
        count = len(self.inputs)
        order = self.rng.permutation(count) if self.shuffle else np.arange(count)
        return self._batches(order, int(batch))

    def _batches(self, order: np.ndarray, first: int) -> Iterator[Any]:
        for batch in range(first, len(self)):
            indices = order[batch * self.batch_size:(batch + 1) * self.batch_size]
            x = Tensor(self.inputs[indices])
            yield x if self.targets is None else (x, Tensor(self.targets[indices]))

    def __repr__(self) -> str:
        return (f"DataLoader({len(self.inputs)} samples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, "
                f"targets={self.targets is not None})")


def _as_samples(data: Any, name: str) -> np.ndarray:
    """The array behind `data`, the same object when it already is one (no copy)."""
    array = data.data if isinstance(data, Tensor) else np.asarray(data)
    if array.ndim == 0:
        raise ValueError(f"DataLoader: {name} must have a first dimension of samples, got a "
                         f"0-d array")
    return array
