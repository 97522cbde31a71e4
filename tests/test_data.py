"""Data: IDX files read exactly or refused with a sentence, Fashion-MNIST found where it lives
or downloaded with its MD5 checked, synthetic sets no line separates, and a DataLoader that
visits every sample once per epoch without copying the dataset."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import re
import socket
import struct
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import layerwise as lw
import layerwise.data.fashion as fashion
from layerwise.data import (
    FASHION_MNIST_CLASSES,
    SYNTHETIC_DATASETS,
    DataError,
    DataLoader,
    DatasetNotFoundError,
    download_fashion_mnist,
    fashion_mnist,
    find_fashion_mnist,
    read_idx,
    spirals,
    write_idx,
)

DEBIAN_FOLDER = Path("/usr/share/datasets/fashion-mnist")
IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
FILE_NAMES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def idx_header(type_code: int, *shape: int) -> bytes:
    return bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def starts_with_file(path: Path) -> str:
    """A regex for a message that begins by naming `path`."""
    return f"^{re.escape(str(path))}: "


def write_bytes(path: Path, payload: bytes, compress: bool) -> Path:
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


# ---------------------------------------------------------------------------------------------
# IDX files

@pytest.mark.parametrize("suffix", [".idx", ".idx.gz"])
@pytest.mark.parametrize("dtype", IDX_DTYPES, ids=lambda d: np.dtype(d).name)
def test_idx_round_trip_of_every_type_code(tmp_path: Path, dtype: type, suffix: str) -> None:
    array: np.ndarray = (np.random.default_rng(0).standard_normal((3, 4, 5)) * 60).astype(dtype)
    path = tmp_path / f"array{suffix}"
    write_idx(path, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == suffix.endswith(".gz")
    loaded = read_idx(path)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    assert loaded.shape == (3, 4, 5) and loaded.flags.writeable
    np.testing.assert_array_equal(loaded, array)


def test_idx_values_are_big_endian_and_c_ordered(tmp_path: Path) -> None:
    payload = idx_header(0x0B, 2, 3) + struct.pack(">6h", 1, -2, 300, 4, -5000, 6)
    loaded = read_idx(write_bytes(tmp_path / "by-hand.idx", payload, compress=False))
    np.testing.assert_array_equal(loaded, [[1, -2, 300], [4, -5000, 6]])
    write_idx(tmp_path / "again.idx", loaded)
    assert (tmp_path / "again.idx").read_bytes() == payload


def test_gzip_is_detected_by_its_magic_bytes_not_the_name(tmp_path: Path) -> None:
    array = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", array)
    os.rename(tmp_path / "a.gz", tmp_path / "compressed-but-named-raw")
    write_idx(tmp_path / "raw", array)
    os.rename(tmp_path / "raw", tmp_path / "raw-but-named.gz")
    np.testing.assert_array_equal(read_idx(tmp_path / "compressed-but-named-raw"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "raw-but-named.gz"), array)


HUGE = 2**32 - 1
IDX_ERRORS = [
    ("empty", b"", r"truncated IDX header: expected a 4-byte magic number, the file holds 0"),
    ("zip", b"PK\x03\x04" + bytes(20),
     r"not an IDX file: expected its first two bytes to be 0x00 0x00, got 0x50 0x4B"),
    ("type-code", idx_header(0x07, 3) + bytes(3),
     r"unknown IDX type code 0x07; expected one of 0x08 \(uint8\), 0x09 \(int8\), "
     r"0x0B \(int16\), 0x0C \(int32\), 0x0D \(float32\), 0x0E \(float64\)"),
    ("no-dimensions", bytes([0, 0, 8, 0]),
     r"the IDX header declares 0 dimensions; expected 1 to 32"),
    ("short-header", bytes([0, 0, 8, 3]) + bytes(5),
     r"truncated IDX header: it declares 3 dimensions \(12 bytes of sizes\) but the file "
     r"holds 5"),
    ("truncated", idx_header(0x0C, 2, 3) + bytes(20),
     r"truncated IDX data: the header declares 6 values \(24 bytes\) but the file holds 20"),
    ("huge", idx_header(0x08, HUGE, HUGE, HUGE) + bytes(7),
     rf"truncated IDX data: the header declares {HUGE**3} values \({HUGE**3} bytes\) but the "
     rf"file holds 7"),
]


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize(("name", "payload", "message"), IDX_ERRORS,
                         ids=[case[0] for case in IDX_ERRORS])
def test_idx_errors_name_the_file_and_what_was_expected(
        tmp_path: Path, name: str, payload: bytes, message: str, compress: bool) -> None:
    path = write_bytes(tmp_path / f"{name}.idx", payload, compress)
    with pytest.raises(DataError, match=starts_with_file(path) + message):
        read_idx(path)


def test_truncated_labels_message_reads_as_documented(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "t10k-labels-idx1-ubyte.gz",
                       idx_header(0x08, 10000) + bytes(9990), compress=True)
    with pytest.raises(DataError) as caught:
        read_idx(path)
    assert str(caught.value) == (f"{path}: truncated IDX data: the header declares 10000 values "
                                 f"(10000 bytes) but the file holds 9990")


def test_trailing_bytes_are_refused(tmp_path: Path) -> None:
    payload = idx_header(0x08, 2, 4) + bytes(10)
    raw = write_bytes(tmp_path / "raw.idx", payload, compress=False)
    with pytest.raises(DataError, match=r"trailing bytes after the IDX data: the header "
                                        r"declares 8 values \(8 bytes\) but the file holds 10$"):
        read_idx(raw)
    compressed = write_bytes(tmp_path / "compressed.idx.gz", payload, compress=True)
    with pytest.raises(DataError, match=r"trailing bytes .* but the file holds more than 8$"):
        read_idx(compressed)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_a_huge_declared_size_allocates_nothing_large(tmp_path: Path, compress: bool) -> None:
    # 2 GiB declared, 100 bytes held: reading must cost about what the file holds.
    path = write_bytes(tmp_path / "liar.idx", idx_header(0x08, 2**16, 2**15) + bytes(100),
                       compress)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"2147483648 bytes\) but the file holds 100$"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20


def test_cut_gzip_stream_and_corrupt_gzip_are_data_errors(tmp_path: Path) -> None:
    values = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)
    compressed = gzip.compress(idx_header(0x08, 5000) + values.tobytes())
    cut = tmp_path / "cut.idx.gz"
    cut.write_bytes(compressed[:len(compressed) // 2])
    with pytest.raises(DataError, match=starts_with_file(cut) + "truncated gzip file: the "
                                        "compressed stream ends before its end marker$"):
        read_idx(cut)
    corrupt = tmp_path / "corrupt.idx.gz"
    corrupt.write_bytes(compressed[:10] + bytes(range(256)) * 4)
    with pytest.raises(DataError, match=starts_with_file(corrupt) + "not a readable gzip file"):
        read_idx(corrupt)


def test_read_idx_of_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing.idx")


def test_write_idx_refuses_what_idx_cannot_hold(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"IDX files hold uint8, int8, int16, int32, float32 or "
                                        r"float64, got int64"):
        write_idx(tmp_path / "a.idx", np.arange(3))
    with pytest.raises(ValueError, match=r"got a 0-d array"):
        write_idx(tmp_path / "a.idx", np.float32(1.0))
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------------------------------
# Fashion-MNIST

@pytest.mark.parametrize(("split", "count"), [("train", 60000), ("test", 10000)])
def test_real_fashion_mnist_from_the_debian_package(split: str, count: int) -> None:
    images, labels, classes = fashion_mnist(split, root=DEBIAN_FOLDER)
    assert images.shape == (count, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (count,) and labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [count // 10] * 10
    assert classes == FASHION_MNIST_CLASSES and len(classes) == 10
    assert classes[0] == "T-shirt/top" and classes[9] == "Ankle boot"
    assert 0 < images.mean() < 255


def make_fake_fashion(folder: Path, train: int = 6, test: int = 4, compress: bool = True,
                      ) -> dict[str, str]:
    """Tiny IDX files under the Fashion-MNIST names; returns name -> MD5."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(train)
    suffix = ".gz" if compress else ""
    for prefix, count in [("train", train), ("t10k", test)]:
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}",
                  rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}",
                  (np.arange(count) % 10).astype(np.uint8))
    return {path.name: hashlib.md5(path.read_bytes()).hexdigest()
            for path in sorted(folder.iterdir())}


@pytest.fixture
def no_data_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME in tmp_path, no LAYERWISE_DATA, no Debian package; returns the home folder."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("LAYERWISE_DATA", raising=False)
    monkeypatch.setattr(fashion, "DEBIAN_FOLDER", tmp_path / "not-installed")
    return home


def test_root_is_used_with_gzip_or_uncompressed_names(tmp_path: Path) -> None:
    make_fake_fashion(tmp_path / "gz")
    make_fake_fashion(tmp_path / "raw", compress=False)
    for folder in ["gz", "raw"]:
        train, test = (fashion_mnist(split, root=tmp_path / folder) for split in ["train", "test"])
        assert train.images.shape == (6, 28, 28) and test.images.shape == (4, 28, 28)
        assert test.labels.tolist() == [0, 1, 2, 3]
        assert find_fashion_mnist(tmp_path / folder) == tmp_path / folder


def test_an_explicit_root_without_the_files_does_not_fall_back(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="the folder passed as root"):
        fashion_mnist("test", root=tmp_path / "empty")
    assert find_fashion_mnist(tmp_path / "empty") is None


def test_layerwise_data_comes_before_the_debian_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_fake_fashion(tmp_path / "mine" / "fashion-mnist", train=3)
    monkeypatch.setenv("LAYERWISE_DATA", str(tmp_path / "mine"))
    assert fashion_mnist("train").images.shape == (3, 28, 28)
    assert find_fashion_mnist() == tmp_path / "mine" / "fashion-mnist"
    monkeypatch.delenv("LAYERWISE_DATA")
    assert find_fashion_mnist() == DEBIAN_FOLDER


@pytest.fixture
def data_everywhere_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The files in the Debian folder and in the user cache, where a fallback would find them;
    returns the cache folder."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(fashion, "DEBIAN_FOLDER", tmp_path / "debian")
    make_fake_fashion(tmp_path / "debian", train=2)
    make_fake_fashion(fashion.cache_folder(), train=2)
    return fashion.cache_folder()


@pytest.mark.parametrize("made", [False, True], ids=["missing-folder", "empty-folder"])
def test_layerwise_data_without_the_files_is_an_error_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_everywhere_else: Path,
        made: bool) -> None:
    """Like root (--data): the folder set is the one to use, not a hint to look elsewhere."""
    chosen = tmp_path / "mine"
    if made:
        chosen.mkdir()
    monkeypatch.setenv("LAYERWISE_DATA", str(chosen))
    with pytest.raises(DatasetNotFoundError) as caught:
        fashion_mnist("train")
    where = (f" in LAYERWISE_DATA={chosen} (searched {chosen} and {chosen / 'fashion-mnist'})"
             if made else f": LAYERWISE_DATA={chosen} names a folder that does not exist")
    assert str(caught.value) == (
        f"Fashion-MNIST train files (train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz, "
        f"or uncompressed) not found{where}; point LAYERWISE_DATA at a folder that holds them, "
        f"unset it to search {tmp_path / 'debian'} and {data_everywhere_else}, or run "
        f"`layerwise download fashion-mnist` to download them into {chosen}")
    assert find_fashion_mnist() is None
    monkeypatch.setenv("LAYERWISE_DATA", "")  # set but empty is not set
    assert find_fashion_mnist() == tmp_path / "debian"


def test_the_cli_names_a_layerwise_data_folder_without_the_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_everywhere_else: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from layerwise.cli import main

    monkeypatch.setenv("LAYERWISE_DATA", str(tmp_path / "nowhere"))
    assert main(["train", "--epochs", "1", "--quiet", "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.startswith(
        f"layerwise: error: Fashion-MNIST train files (train-images-idx3-ubyte.gz and "
        f"train-labels-idx1-ubyte.gz, or uncompressed) not found: LAYERWISE_DATA="
        f"{tmp_path / 'nowhere'} names a folder that does not exist; ")
    assert main(["evaluate", str(tmp_path / "run")]) == 2  # nothing was trained


def test_the_user_cache_is_the_last_resort(no_data_anywhere: Path) -> None:
    make_fake_fashion(no_data_anywhere / ".cache" / "layerwise" / "fashion-mnist", train=2)
    assert fashion_mnist().images.shape == (2, 28, 28)
    assert find_fashion_mnist() == no_data_anywhere / ".cache" / "layerwise" / "fashion-mnist"


def test_missing_data_says_where_it_looked_and_how_to_get_it(no_data_anywhere: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as caught:
        fashion_mnist("test")
    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError) and "\n" not in message
    assert message.startswith("Fashion-MNIST test files (t10k-images-idx3-ubyte.gz and "
                              "t10k-labels-idx1-ubyte.gz, or uncompressed) not found in ")
    for hint in [str(fashion.DEBIAN_FOLDER), str(fashion.cache_folder()),
                 "`apt-get install dataset-fashion-mnist`", "LAYERWISE_DATA", "--data DIR",
                 "`layerwise download fashion-mnist`"]:
        assert hint in message
    assert find_fashion_mnist() is None


def test_split_must_be_train_or_test() -> None:
    with pytest.raises(ValueError, match=r"split must be 'train' or 'test', got 'validation'"):
        fashion_mnist("validation")


def test_inconsistent_files_are_data_errors_naming_the_file(tmp_path: Path) -> None:
    make_fake_fashion(tmp_path)
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    write_idx(labels, np.zeros(3, dtype=np.uint8))
    with pytest.raises(DataError, match=starts_with_file(labels) + "expected one label for each "
                       "of the 4 images in t10k-images-idx3-ubyte.gz, got 3 labels$"):
        fashion_mnist("test", root=tmp_path)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx(images, np.zeros((6, 32, 32), dtype=np.uint8))
    with pytest.raises(DataError, match=starts_with_file(images) + r"expected Fashion-MNIST "
                       r"images, uint8 of shape \(N, 28, 28\), got uint8 of shape \(6, 32, 32\)"):
        fashion_mnist("train", root=tmp_path)


# ---------------------------------------------------------------------------------------------
# Downloads, from a local HTTP server

class Server:
    """A static HTTP server on 127.0.0.1 over a folder, counting the files it is asked for."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.requests: list[str] = []
        requests = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path.lstrip("/"))
                super().do_GET()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                       kwargs={"poll_interval": 0.01})
        self.thread.start()


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    running = Server(tmp_path / "served")
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()
    running.thread.join()


def test_download_checks_md5_writes_the_files_and_skips_good_ones(
        tmp_path: Path, server: Server) -> None:
    md5 = make_fake_fashion(server.folder)
    target = tmp_path / "downloaded"
    assert download_fashion_mnist(target, base_url=server.url, md5=md5) == target
    assert sorted(server.requests) == sorted(FILE_NAMES)
    assert sorted(path.name for path in target.iterdir()) == sorted(FILE_NAMES)
    for name in FILE_NAMES:
        assert (target / name).read_bytes() == (server.folder / name).read_bytes()
    assert fashion_mnist("test", root=target).images.shape == (4, 28, 28)

    server.requests.clear()
    (target / "t10k-labels-idx1-ubyte.gz").write_bytes(b"damaged")
    download_fashion_mnist(target, base_url=server.url, md5=md5)
    assert server.requests == ["t10k-labels-idx1-ubyte.gz"]
    assert fashion_mnist("test", root=target).labels.tolist() == [0, 1, 2, 3]


def test_a_download_goes_into_the_layerwise_data_folder(
        tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch,
        data_everywhere_else: Path) -> None:
    """Where the files will be looked for: `layerwise download` and `make data` with
    LAYERWISE_DATA set fill that folder, even when another folder holds the files."""
    md5 = make_fake_fashion(server.folder, train=5)
    monkeypatch.setattr(fashion, "download_fashion_mnist", functools.partial(
        download_fashion_mnist, base_url=server.url, md5=md5))
    monkeypatch.setenv("LAYERWISE_DATA", str(tmp_path / "mine"))
    assert fashion_mnist("train", download=True).images.shape == (5, 28, 28)
    assert sorted(path.name for path in (tmp_path / "mine").iterdir()) == sorted(FILE_NAMES)
    assert find_fashion_mnist() == tmp_path / "mine"


def test_fashion_mnist_downloads_into_the_cache_when_asked(
        no_data_anywhere: Path, server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    md5 = make_fake_fashion(server.folder, train=5)
    monkeypatch.setattr(fashion, "download_fashion_mnist", functools.partial(
        download_fashion_mnist, base_url=server.url, md5=md5))
    assert fashion_mnist("train", download=True).images.shape == (5, 28, 28)
    assert find_fashion_mnist() == no_data_anywhere / ".cache" / "layerwise" / "fashion-mnist"


def test_an_md5_mismatch_names_the_file_and_leaves_nothing_behind(
        tmp_path: Path, server: Server) -> None:
    md5 = make_fake_fashion(server.folder)
    actual = md5["t10k-images-idx3-ubyte.gz"]
    # The bad file comes first, so that no good file gets written before the refusal.
    wrong = {"t10k-images-idx3-ubyte.gz": "0" * 32} | {
        name: digest for name, digest in md5.items() if name != "t10k-images-idx3-ubyte.gz"}
    target = tmp_path / "downloaded"
    with pytest.raises(DataError) as caught:
        download_fashion_mnist(target, base_url=server.url, md5=wrong)
    assert str(caught.value) == (
        f"t10k-images-idx3-ubyte.gz: MD5 mismatch in the download from "
        f"{server.url}t10k-images-idx3-ubyte.gz: expected {'0' * 32}, got {actual}; the file "
        f"was not saved")
    assert list(target.iterdir()) == []


def test_a_404_or_a_closed_port_is_a_one_line_error_naming_the_url(
        tmp_path: Path, server: Server) -> None:
    make_fake_fashion(server.folder)
    with pytest.raises(DataError, match=rf"^could not download {server.url}absent.gz: "
                                        rf"HTTP 404 File not found$"):
        download_fashion_mnist(tmp_path / "d", base_url=server.url, md5={"absent.gz": "0" * 32})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(DataError) as caught:
        download_fashion_mnist(tmp_path / "d", base_url=closed, md5={"a.gz": "0" * 32})
    assert str(caught.value).startswith(f"could not download {closed}/a.gz: ")
    assert "\n" not in str(caught.value)
    assert list((tmp_path / "d").iterdir()) == []


# ---------------------------------------------------------------------------------------------
# Synthetic sets

SYNTHETIC: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    **SYNTHETIC_DATASETS, "spirals3": functools.partial(spirals, classes=3)}


def linear_accuracy(X: np.ndarray, y: np.ndarray) -> float:
    """Training accuracy of least squares from [X, 1] to one-hot targets."""
    features = np.c_[X.astype(np.float64), np.ones(len(X))]
    W = np.linalg.lstsq(features, np.eye(y.max() + 1)[y], rcond=None)[0]
    return float(np.mean((features @ W).argmax(axis=1) == y))


def neighbour_accuracy(X: np.ndarray, y: np.ndarray, k: int = 5) -> float:
    """Leave-one-out accuracy of a k-nearest-neighbour vote: high when the set is learnable."""
    distances = ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=-1)
    np.fill_diagonal(distances, np.inf)
    votes = y[np.argsort(distances, axis=1)[:, :k]]
    predictions = np.array([np.bincount(row).argmax() for row in votes])
    return float(np.mean(predictions == y))


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_shapes_balance_and_reproducibility(name: str) -> None:
    make = SYNTHETIC[name]
    X, y = make(300, rng=np.random.default_rng(7))
    classes = 3 if name == "spirals3" else 2
    assert X.shape == (300, 2) and X.dtype == lw.get_default_dtype()
    assert y.shape == (300,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [300 // classes] * classes
    assert np.ptp(np.bincount(make(301, rng=np.random.default_rng(7))[1])) <= 1
    X_again, y_again = make(300, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(y, y_again)
    assert not np.array_equal(X, make(300, rng=np.random.default_rng(8))[0])
    lw.manual_seed(3)
    X_default = make(300)[0]
    lw.manual_seed(3)
    np.testing.assert_array_equal(make(300)[0], X_default)


@pytest.mark.parametrize("name", ["spirals", "spirals3", "xor", "circles"])
def test_no_line_separates_them_but_neighbours_do(name: str) -> None:
    X, y = SYNTHETIC[name](400, rng=np.random.default_rng(0))
    assert linear_accuracy(X, y) < 0.8
    assert neighbour_accuracy(X, y) > 0.9


@pytest.mark.parametrize(("call", "message"), [
    (lambda: SYNTHETIC_DATASETS["moons"](0), r"moons: n_samples must be a positive integer, "
                                             r"got 0"),
    (lambda: SYNTHETIC_DATASETS["xor"](10, noise=-1.0), r"xor: noise must be a standard "
                                                        r"deviation >= 0, got -1.0"),
    (lambda: SYNTHETIC_DATASETS["circles"](10, factor=1.5), r"factor .* must be between 0 "
                                                            r"and 1, got 1.5"),
    (lambda: spirals(10, classes=1), r"spirals: classes must be at least 2, got 1"),
])
def test_synthetic_arguments_are_validated(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------------------------------------
# DataLoader

def epoch(loader: DataLoader) -> tuple[np.ndarray, np.ndarray]:
    batches = list(loader)
    assert all(isinstance(x, lw.Tensor) and isinstance(y, lw.Tensor) for x, y in batches)
    return (np.concatenate([x.data for x, _ in batches]),
            np.concatenate([y.data for _, y in batches]))


def test_every_sample_once_per_epoch_in_a_new_order_each_epoch() -> None:
    inputs = np.arange(103, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    targets = np.arange(103) * 2
    loader = DataLoader(inputs, targets, batch_size=10, shuffle=True,
                        rng=np.random.default_rng(0))
    first, first_targets = epoch(loader)
    second, _ = epoch(loader)
    assert sorted(first[:, 0]) == list(range(103)) and sorted(second[:, 0]) == list(range(103))
    np.testing.assert_array_equal(first_targets, first[:, 0] * 2)
    assert not np.array_equal(first, second)

    same_seed = DataLoader(inputs, targets, batch_size=10, shuffle=True,
                           rng=np.random.default_rng(0))
    np.testing.assert_array_equal(epoch(same_seed)[0], first)
    np.testing.assert_array_equal(epoch(same_seed)[0], second)


def test_saving_the_rng_state_replays_an_epoch() -> None:
    loader = DataLoader(np.arange(50), np.arange(50), batch_size=8, shuffle=True,
                        rng=np.random.default_rng(1))
    state = loader.rng.bit_generator.state
    order = epoch(loader)[0]
    loader.rng.bit_generator.state = state
    np.testing.assert_array_equal(epoch(loader)[0], order)


@pytest.mark.parametrize("first", [0, 1, 4, 6, 7])
def test_iter_from_is_the_rest_of_the_epoch_the_same_state_gives(first: int) -> None:
    """7 batches of 8 (the last of 2): starting at batch `first` yields the epoch's batches
    from there on, and leaves the generator where the whole epoch leaves it."""
    loader = DataLoader(np.arange(50), np.arange(50) * 2, batch_size=8, shuffle=True,
                        rng=np.random.default_rng(1))
    state = loader.rng.bit_generator.state
    whole = [y.data for _, y in loader]
    after_epoch = loader.rng.bit_generator.state
    loader.rng.bit_generator.state = state
    rest = [(x.data, y.data) for x, y in loader.iter_from(first)]
    assert loader.rng.bit_generator.state == after_epoch
    assert len(rest) == len(whole) - first
    for (x, y), expected in zip(rest, whole[first:], strict=True):
        np.testing.assert_array_equal(y, expected)
        np.testing.assert_array_equal(x * 2, y)


@pytest.mark.parametrize("first", [-1, 8, 1.0, True])
def test_iter_from_refuses_a_batch_outside_the_epoch(first: Any) -> None:
    loader = DataLoader(np.arange(50), batch_size=8)
    with pytest.raises(ValueError, match=r"iter_from: batch must be an integer in \[0, 7\], "
                                         rf"got {first!r}"):
        loader.iter_from(first)


def test_without_shuffle_the_order_is_the_arrays_order() -> None:
    batches = list(DataLoader(np.arange(7), batch_size=3))
    assert all(isinstance(x, lw.Tensor) for x in batches)
    assert [x.data.tolist() for x in batches] == [[0, 1, 2], [3, 4, 5], [6]]


@pytest.mark.parametrize(("count", "batch_size", "drop_last", "sizes"), [
    (10, 3, False, [3, 3, 3, 1]),
    (10, 3, True, [3, 3, 3]),
    (9, 3, True, [3, 3, 3]),
    (2, 5, True, []),
    (2, 5, False, [2]),
    (0, 4, False, []),
])
def test_len_and_drop_last(count: int, batch_size: int, drop_last: bool,
                           sizes: list[int]) -> None:
    loader = DataLoader(np.zeros((count, 2)), np.zeros(count), batch_size=batch_size,
                        shuffle=True, rng=np.random.default_rng(0), drop_last=drop_last)
    assert len(loader) == len(sizes)
    assert [len(x.data) for x, _ in loader] == sizes


def test_the_loader_holds_the_arrays_and_never_copies_the_dataset() -> None:
    inputs = np.ones((20000, 100), dtype=np.float32)  # 8 MB
    targets = np.zeros(20000, dtype=np.int64)
    loader = DataLoader(inputs, targets, batch_size=100, shuffle=True,
                        rng=np.random.default_rng(0))
    assert loader.inputs is inputs and loader.targets is targets
    assert DataLoader(lw.Tensor(inputs)).inputs is inputs
    tracemalloc.start()
    try:
        for _ in loader:
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < inputs.nbytes / 10


@pytest.mark.parametrize(("arguments", "message"), [
    ((np.zeros((5, 2)), np.zeros(4)), r"inputs and targets must have the same length, got 5 "
                                      r"inputs and 4 targets"),
    ((np.zeros(5), None, 0), r"batch_size must be an integer >= 1, got 0"),
    ((np.zeros(5), None, 2.5), r"batch_size must be an integer >= 1, got 2.5"),
    ((np.float64(1.0),), r"inputs must have a first dimension of samples"),
])
def test_loader_arguments_are_validated(arguments: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DataLoader(*arguments)
