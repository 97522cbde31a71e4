"""PyTorch's map-style datasets: Dataset (any object with __len__ and __getitem__),
TensorDataset, Subset, ConcatDataset, random_split, and default_collate, which turns a list
of samples into a batch."""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from layerwise.rng import default_generator
from layerwise.tensor import Tensor, as_array


class Dataset:
    """Base class of map-style datasets: subclasses define `__getitem__(index)`, returning
    one sample (often a tuple (x, y)), and `__len__()`. `a + b` chains two datasets.

    Any object with those two methods works with DataLoader; subclassing is optional.
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} does not define __len__")

    def __add__(self, other: Any) -> ConcatDataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the i-th rows of the given tensors (or arrays): dataset[i] is
    (tensors[0][i], tensors[1][i], ...). All must have the same first dim."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(value if isinstance(value, Tensor) else Tensor(value)
                             for value in tensors)
        lengths = [len(value.data) if value.ndim else None for value in self.tensors]
        if None in lengths or len(set(lengths)) != 1:
            shapes = [value.shape for value in self.tensors]
            raise ValueError(f"TensorDataset: every tensor needs the same first dimension (the "
                             f"samples), got shapes {shapes}")

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(value[index] for value in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0].data)


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = [int(index) for index in indices]

    def __getitem__(self, index: int) -> Any:
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after the other."""

    def __init__(self, datasets: Sequence[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        self.ends = list(np.cumsum([len(dataset) for dataset in self.datasets]))

    def __getitem__(self, index: int) -> Any:
        total = len(self)
        if not -total <= index < total:
            raise IndexError(f"ConcatDataset index {index} is out of range for {total} samples")
        index %= total
        which = bisect.bisect_right(self.ends, index)
        start = self.ends[which - 1] if which else 0
        return self.datasets[which][index - start]

    def __len__(self) -> int:
        return int(self.ends[-1])


def random_split(dataset: Any, lengths: Sequence[float],
                 generator: np.random.Generator | None = None) -> list[Subset]:
    """Split into non-overlapping random subsets of the given lengths, or of the given
    fractions of len(dataset) (what remains after rounding down goes one by one to the
    first subsets, as in PyTorch)."""
    total = len(dataset)
    counts = [int(length) for length in lengths]
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:  # fractions
        counts = [math.floor(total * length) for length in lengths]
        for position in range(total - sum(counts)):
            counts[position % len(counts)] += 1
    if sum(counts) != total or any(count < 0 for count in counts):
        raise ValueError(f"random_split: lengths {list(lengths)} must add up to the dataset's "
                         f"{total} samples (or be fractions adding up to 1)")
    order = (generator if generator is not None else default_generator()).permutation(total)
    subsets, start = [], 0
    for count in counts:
        subsets.append(Subset(dataset, order[start:start + count].tolist()))
        start += count
    return subsets


def default_collate(samples: list[Any]) -> Any:
    """A batch from a list of samples, field by field as PyTorch's: tensors and arrays are
    stacked along a new first dim, numbers become a tensor (int64, float64 or bool), tuples,
    lists and dicts are collated per field, and strings are kept as a list."""
    first = samples[0]
    if isinstance(first, Tensor | np.ndarray | np.generic):
        return Tensor._constant(np.stack([as_array(sample) for sample in samples]))
    if isinstance(first, bool | int | float):
        dtype = (np.bool_ if isinstance(first, bool) else
                 np.int64 if isinstance(first, int) else np.float64)
        return Tensor._constant(np.asarray(samples, dtype=dtype))
    if isinstance(first, str | bytes):
        return list(samples)
    if isinstance(first, Mapping):
        return {key: default_collate([sample[key] for sample in samples]) for key in first}
    if isinstance(first, tuple | list):
        if any(len(sample) != len(first) for sample in samples):
            raise ValueError("default_collate: samples of a batch must all have the same "
                             "number of fields")
        fields = [default_collate(list(field)) for field in zip(*samples, strict=True)]
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; "
                    f"pass a collate_fn")
