"""Datasets and batching: PyTorch-style Dataset, TensorDataset and DataLoader, the IDX reader,
Fashion-MNIST, small synthetic sets."""

from layerwise.data.dataset import (
    ConcatDataset,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)
from layerwise.data.errors import DataError, DatasetNotFoundError
from layerwise.data.fashion import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_MD5,
    FASHION_MNIST_URL,
    LabelledImages,
    download_fashion_mnist,
    fashion_mnist,
    find_fashion_mnist,
)
from layerwise.data.idx import read_idx, write_idx
from layerwise.data.loader import DataLoader
from layerwise.data.synthetic import SYNTHETIC_DATASETS, circles, moons, spirals, xor

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_MD5",
    "FASHION_MNIST_URL",
    "SYNTHETIC_DATASETS",
    "ConcatDataset",
    "DataError",
    "DataLoader",
    "Dataset",
    "DatasetNotFoundError",
    "LabelledImages",
    "Subset",
    "TensorDataset",
    "circles",
    "default_collate",
    "download_fashion_mnist",
    "fashion_mnist",
    "find_fashion_mnist",
    "moons",
    "random_split",
    "read_idx",
    "spirals",
    "write_idx",
    "xor",
]
