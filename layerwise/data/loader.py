"""DataLoader: an iterable over mini-batches, of a dataset held in arrays or of any object
with __len__ and __getitem__ (a PyTorch-style Dataset)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from layerwise.data.dataset import TensorDataset, default_collate
from layerwise.rng import default_generator
from layerwise.tensor import Tensor


class DataLoader:
    """Mini-batches as Tensors, in order or reshuffled every epoch, in one of two forms:

    - arrays: `DataLoader(inputs, targets=None, batch_size=32, ...)` yields (x, y) Tensors
      gathered from the arrays (or x alone without targets). The loader keeps references to
      the arrays and gathers one batch at a time, so an epoch never copies the dataset.
    - a dataset, as in PyTorch: `DataLoader(dataset, batch_size=1, shuffle=False, ...)` with
      any object that has `__len__` and `__getitem__` (a `Dataset`, a `TensorDataset`, a
      list); each batch is `collate_fn` of the samples, by default `default_collate`
      (tensors stacked, numbers made tensors, tuples collated field by field).

    Each iteration (epoch) with `shuffle=True` draws a new permutation from `rng` at its
    start: the same seed gives the same sequence of epochs, and saving
    ``loader.rng.bit_generator.state`` between epochs lets a run resume where it was;
    `iter_from` starts an epoch at a later batch, to resume in the middle of one.

    Args:
        inputs: array (N, ...) of samples (a Tensor's data is used as is), or a dataset.
        targets: array (N, ...) of targets, or None to yield inputs alone (arrays only; with
            a dataset a number here is the batch size, as in PyTorch's positional order).
        batch_size: samples per batch, at least 1 (32 for arrays, 1 for a dataset).
        shuffle: visit the samples in a new random order each epoch.
        rng: the generator the permutations come from (default:
            layerwise.rng.default_generator() at construction); `generator` is its PyTorch
            name.
        drop_last: drop the final batch when it has fewer than `batch_size` samples.
        collate_fn: makes a batch from a list of samples (datasets only).
        num_workers, pin_memory: accepted for PyTorch code; batches are made in this process.

    `len(loader)` is the number of batches, `len(loader.dataset)` the number of samples.

    Example:
        >>> loader = DataLoader(images, labels, batch_size=64, shuffle=True,
        ...                     rng=np.random.default_rng(0))
        >>> for x, y in loader:  # x: Tensor (64, 28, 28), y: Tensor (64,)
        ...     ...
    """

    def __init__(self, inputs: Any, targets: Any = None, batch_size: int | None = None,
                 shuffle: bool = False, rng: np.random.Generator | None = None,
                 drop_last: bool = False, *, generator: np.random.Generator | None = None,
                 collate_fn: Callable[[list[Any]], Any] | None = None, num_workers: int = 0,
                 pin_memory: bool = False) -> None:
        self.from_arrays = isinstance(inputs, np.ndarray | np.generic | Tensor)
        if self.from_arrays:
            self.inputs = _as_samples(inputs, "inputs")
            self.targets = None if targets is None else _as_samples(targets, "targets")
            for name, array in (("inputs", self.inputs), ("targets", self.targets)):
                if array is not None and array.dtype.kind not in "biuf":
                    raise TypeError(f"DataLoader: {name} must hold numbers, got dtype "
                                    f"{array.dtype}")
            if self.targets is not None and len(self.targets) != len(self.inputs):
                raise ValueError(f"DataLoader: inputs and targets must have the same length, "
                                 f"got {len(self.inputs)} inputs and {len(self.targets)} "
                                 f"targets")
            self.dataset: Any = TensorDataset(*(array for array in (self.inputs, self.targets)
                                                if array is not None))
        else:
            if not (hasattr(inputs, "__len__") and hasattr(inputs, "__getitem__")):
                raise TypeError(f"DataLoader: expected arrays or a dataset (an object with "
                                f"__len__ and __getitem__), got {type(inputs).__name__}")
            if isinstance(targets, int | np.integer) and batch_size is None:
                batch_size, targets = int(targets), None
            if targets is not None:
                raise TypeError("DataLoader: a dataset yields its own targets; pass targets "
                                "only with an array of inputs")
            self.dataset = inputs
        if batch_size is None:
            batch_size = 32 if self.from_arrays else 1
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be an integer >= 1, got "
                             f"{batch_size!r}")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        chosen = rng if rng is not None else generator
        self.rng = chosen if chosen is not None else default_generator()
        self.drop_last = drop_last
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        self.num_workers = num_workers

    def _count(self) -> int:
        return len(self.inputs) if self.from_arrays else len(self.dataset)

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        if self.drop_last:
            return self._count() // self.batch_size
        return math.ceil(self._count() / self.batch_size)

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
        count = self._count()
        order = self.rng.permutation(count) if self.shuffle else np.arange(count)
        return self._batches(order, int(batch))

    def _batches(self, order: np.ndarray, first: int) -> Iterator[Any]:
        for batch in range(first, len(self)):
            indices = order[batch * self.batch_size:(batch + 1) * self.batch_size]
            if self.from_arrays:
                x = Tensor(self.inputs[indices])
                yield x if self.targets is None else (x, Tensor(self.targets[indices]))
            elif isinstance(self.dataset, TensorDataset) and self.collate_fn is default_collate:
                # The same batch as collating sample by sample, gathered at once.
                yield tuple(Tensor._constant(tensor.data[indices])
                            for tensor in self.dataset.tensors)
            else:
                yield self.collate_fn([self.dataset[int(index)] for index in indices])

    def __repr__(self) -> str:
        if not self.from_arrays:
            return (f"DataLoader({type(self.dataset).__name__} of {self._count()} samples, "
                    f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                    f"drop_last={self.drop_last})")
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
