"""Fashion-MNIST: 70,000 grayscale 28x28 images of clothing in 10 classes (Xiao, Rasul and
Vollgraf, 2017), found on disk or downloaded with the published MD5 sums checked.

The folders searched: the `root` you pass, and only it; else the folder named by the
LAYERWISE_DATA environment variable, and only it (a folder that does not hold the files is an
error naming it, as a `root` is, not a reason to look elsewhere); else, in order, Debian's
dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist) and the user cache
~/.cache/layerwise/fashion-mnist. A folder may hold the files directly or in a
``fashion-mnist`` subfolder, gzip-compressed or not.
Local files are not MD5-checked: Debian recompressed its copies, so their sums differ from the
published ones while their contents are the same. Every file is checked as IDX data instead.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from layerwise.checkpoint import write_atomically
from layerwise.data.errors import DataError, DatasetNotFoundError
from layerwise.data.idx import read_idx

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
# The (images, labels) files of each split, without the optional .gz.
SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
DATA_VARIABLE = "LAYERWISE_DATA"
DEBIAN_FOLDER = Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_TIMEOUT_SECONDS = 60
IMAGE_SHAPE = (28, 28)


class LabelledImages(NamedTuple):
    """A labelled image set.

    Attributes:
        images: uint8 array (N, 28, 28), pixel values 0 (background) to 255.
        labels: int64 array (N,), class indices 0 to 9.
        classes: the name of each class index.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]


def fashion_mnist(split: str = "train", root: str | os.PathLike[str] | None = None,
                  download: bool = False) -> LabelledImages:
    """Load the training (60,000 images) or test (10,000 images) split of Fashion-MNIST.

    Args:
        split: "train" or "test".
        root: the folder holding the files; when None, the folders of the module docstring
            are searched.
        download: when no folder holds the files, download them into `root` (or the
            LAYERWISE_DATA folder, or the user cache) instead of raising.

    Returns:
        LabelledImages(images uint8 (N, 28, 28), labels int64 (N,), classes).

    Raises:
        ValueError: `split` is not "train" or "test".
        DatasetNotFoundError: no folder holds the files and `download` is False; the
            message names the folders searched (`root`, or the LAYERWISE_DATA folder, when set).
        DataError: a file is not valid IDX data, images are not 28x28, or the counts of
            images and labels differ; or the download failed.
    """
    if split not in SPLIT_FILES:
        raise ValueError(f"fashion_mnist: split must be 'train' or 'test', got {split!r}")
    stems = SPLIT_FILES[split]
    folders = _search_folders(root)
    found = next((paths for folder in folders if (paths := _files_in(folder, stems))), None)
    if found is None:
        if not download:
            raise DatasetNotFoundError(_not_found_message(split, stems, folders, root))
        folder = download_fashion_mnist(_download_folder(root))
        found = _files_in(folder, stems)
        if found is None:
            raise DataError(f"{folder}: the download finished but {stems[0]}.gz and "
                            f"{stems[1]}.gz are not there")
    return _load_split(*found)


def find_fashion_mnist(root: str | os.PathLike[str] | None = None) -> Path | None:
    """The first folder searched (see the module docstring) that holds all four files, or None."""
    stems = SPLIT_FILES["train"] + SPLIT_FILES["test"]
    for folder in _search_folders(root):
        paths = _files_in(folder, stems)
        if paths:
            return paths[0].parent
    return None


def cache_folder() -> Path:
    """Where downloads go when no root is given: ~/.cache/layerwise/fashion-mnist."""
    return Path.home() / ".cache" / "layerwise" / "fashion-mnist"


def download_fashion_mnist(folder: str | os.PathLike[str], base_url: str = FASHION_MNIST_URL,
                           md5: Mapping[str, str] = FASHION_MNIST_MD5) -> Path:
    """Download the Fashion-MNIST files into `folder`, checking each one's MD5 sum.

    Files already in the folder with the right MD5 are kept; each new file is written
    atomically (temporary file, fsync, rename) and only after its MD5 matched, so an
    interrupted or corrupted download leaves no file behind.

    Args:
        folder: where to put the files (created if missing).
        base_url: the address the file names are appended to.
        md5: file name -> expected MD5 (hex); the files downloaded are its keys.

    Returns:
        The folder, as a Path.

    Raises:
        DataError: a download failed (the message names the URL) or its MD5 differs from the
            expected one.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, expected in md5.items():
        target = folder / name
        if target.is_file() and _md5(target.read_bytes()) == expected.lower():
            continue
        url = f"{base_url.rstrip('/')}/{name}"
        payload = _fetch(url)
        actual = _md5(payload)
        if actual != expected.lower():
            raise DataError(f"{name}: MD5 mismatch in the download from {url}: expected "
                            f"{expected.lower()}, got {actual}; the file was not saved")
        write_atomically(target, payload)
    return folder


def _chosen_folder(root: str | os.PathLike[str] | None) -> Path | None:
    """The one folder to look in: `root`, else the LAYERWISE_DATA folder; None for the
    default search."""
    if root is not None:
        return Path(root)
    if os.environ.get(DATA_VARIABLE):
        return Path(os.environ[DATA_VARIABLE])
    return None


def _search_folders(root: str | os.PathLike[str] | None) -> list[Path]:
    chosen = _chosen_folder(root)
    if chosen is not None:
        return [chosen, chosen / "fashion-mnist"]
    return [DEBIAN_FOLDER, cache_folder()]


def _download_folder(root: str | os.PathLike[str] | None) -> Path:
    chosen = _chosen_folder(root)
    return chosen if chosen is not None else cache_folder()


def _files_in(folder: Path, stems: tuple[str, ...]) -> tuple[Path, ...] | None:
    """The path of each file in `folder` (gzip name preferred), or None if one is missing."""
    paths = []
    for stem in stems:
        candidates = [folder / f"{stem}.gz", folder / stem]
        path = next((candidate for candidate in candidates if candidate.is_file()), None)
        if path is None:
            return None
        paths.append(path)
    return tuple(paths)


def _not_found_message(split: str, stems: tuple[str, ...], folders: list[Path],
                       root: str | os.PathLike[str] | None) -> str:
    searched = ", ".join(str(folder) for folder in folders)
    files = f"Fashion-MNIST {split} files ({stems[0]}.gz and {stems[1]}.gz, or uncompressed)"
    if root is None and os.environ.get(DATA_VARIABLE):
        setting = f"{DATA_VARIABLE}={os.environ[DATA_VARIABLE]}"
        where = (f" in {setting} (searched {folders[0]} and {folders[1]})"
                 if folders[0].is_dir() else f": {setting} names a folder that does not exist")
        return (f"{files} not found{where}; point {DATA_VARIABLE} at a folder that holds "
                f"them, unset it to search {DEBIAN_FOLDER} and {cache_folder()}, or run "
                f"`layerwise download fashion-mnist` to download them into {folders[0]}")
    where = f"the folder passed as root ({searched})" if root is not None else searched
    return (f"{files} not found in {where}; get them with `apt-get install "
            f"dataset-fashion-mnist`, set {DATA_VARIABLE}=DIR or pass --data DIR (root=DIR in "
            f"Python) for a folder that holds them, or run `layerwise download fashion-mnist` "
            f"(download=True)")


def _load_split(images_path: Path, labels_path: Path) -> LabelledImages:
    images = read_idx(images_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DataError(f"{images_path}: expected Fashion-MNIST images, uint8 of shape "
                        f"(N, 28, 28), got {images.dtype} of shape {images.shape}")
    labels = read_idx(labels_path)
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(f"{labels_path}: expected Fashion-MNIST labels, uint8 of shape (N,), "
                        f"got {labels.dtype} of shape {labels.shape}")
    if len(labels) != len(images):
        raise DataError(f"{labels_path}: expected one label for each of the {len(images)} "
                        f"images in {images_path.name}, got {len(labels)} labels")
    if labels.size and labels.max() >= len(FASHION_MNIST_CLASSES):
        raise DataError(f"{labels_path}: expected labels 0 to 9, got {labels.max()}")
    return LabelledImages(images, labels.astype(np.int64), FASHION_MNIST_CLASSES)


def _fetch(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
            payload: bytes = response.read()
            return payload
    except urllib.error.HTTPError as error:
        reason = f"HTTP {error.code} {error.reason}"
    except urllib.error.URLError as error:
        reason = str(error.reason)
    except (OSError, http.client.HTTPException) as error:
        reason = f"{type(error).__name__}: {error}"
    raise DataError(f"could not download {url}: {' '.join(reason.split())}")


def _md5(payload: bytes) -> str:
    return hashlib.md5(payload, usedforsecurity=False).hexdigest()
