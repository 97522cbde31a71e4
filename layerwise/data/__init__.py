"""Datasets and batching: the IDX reader, Fashion-MNIST, small synthetic sets, DataLoader."""

from layerwise.data.errors import DataError, DatasetNotFoundError
from layerwise.data.fashion import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_MD5,
    FASHION_MNIST_URL,
    Dataset,
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
    "DataError",
    "DataLoader",
    "Dataset",
    "DatasetNotFoundError",
    "circles",
    "download_fashion_mnist",
    "fashion_mnist",
    "find_fashion_mnist",
    "moons",
    "read_idx",
    "spirals",
    "write_idx",
    "xor",
]
