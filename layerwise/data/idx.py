"""IDX files, the format of MNIST and Fashion-MNIST: read (raw or gzip) with every size checked
before anything large is allocated, and write.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
then each dimension as a big-endian uint32, then the values in C order, big-endian.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from layerwise.checkpoint import write_atomically
from layerwise.data.errors import DataError

# Type code -> the dtype of the values as stored.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
TYPE_NAMES = ", ".join(f"0x{code:02X} ({dtype.name})" for code, dtype in IDX_DTYPES.items())
GZIP_MAGIC = b"\x1f\x8b"
# NumPy 1.26, the oldest we support, allows at most 32 dimensions, and no array of more than
# the largest intp bytes, counting only the nonzero sizes: a (0, 2**32 - 1, 2**32 - 1) float64
# array holds no values and still cannot be made.
MAX_DIMENSIONS = 32
MAX_ARRAY_BYTES = int(np.iinfo(np.intp).max)
# Gzip data is decompressed piece by piece, so that a header declaring terabytes costs no more
# memory than the stream really holds (plus one piece: zlib sets aside the size asked for).
# Smaller pieces read Fashion-MNIST no slower.
CHUNK_BYTES = 2**18


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw (told apart by the gzip magic bytes).

    The header is checked (magic number, type code, number of dimensions) and the data must
    hold exactly the declared number of values: nothing is allocated for a size the file does
    not have.

    Args:
        path: the file, e.g. ``train-images-idx3-ubyte.gz``.

    Returns:
        An array of the declared shape and type (uint8, int8, int16, int32, float32 or float64)
        in native byte order, writable.

    Raises:
        FileNotFoundError: there is no such file (another OSError if it cannot be opened,
            such as IsADirectoryError).
        DataError: the file is not a valid IDX file; the message names it and says what was
            expected and what came.
    """
    name = os.fspath(path)
    with Path(path).open("rb") as file:
        compressed = file.read(2) == GZIP_MAGIC
        file.seek(0)
        if not compressed:
            return _read_checked(file, name, os.fstat(file.fileno()).st_size)
        try:
            with gzip.GzipFile(fileobj=file) as stream:
                return _read_checked(stream, name, None)
        except EOFError:
            raise DataError(f"{name}: truncated gzip file: the compressed stream ends before "
                            f"its end marker") from None
        except (OSError, zlib.error) as error:
            raise DataError(f"{name}: not a readable gzip file ({error})") from None


def _read_checked(stream: io.BufferedIOBase, name: str, file_size: int | None) -> np.ndarray:
    """Read header and data from `stream`; `file_size` is None when the stream is decompressed."""
    magic = stream.read(4)
    if len(magic) < 4:
        raise DataError(f"{name}: truncated IDX header: expected a 4-byte magic number, the "
                        f"file holds {len(magic)} bytes")
    if magic[:2] != b"\0\0":
        raise DataError(f"{name}: not an IDX file: expected its first two bytes to be 0x00 0x00, "
                        f"got 0x{magic[0]:02X} 0x{magic[1]:02X}")
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        raise DataError(f"{name}: unknown IDX type code 0x{code:02X}; expected one of "
                        f"{TYPE_NAMES}")
    if not 1 <= ndim <= MAX_DIMENSIONS:
        raise DataError(f"{name}: the IDX header declares {ndim} dimensions; expected 1 to "
                        f"{MAX_DIMENSIONS}")
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{name}: truncated IDX header: it declares {ndim} dimensions "
                        f"({4 * ndim} bytes of sizes) but the file holds {len(dims)}")
    shape = tuple(int.from_bytes(dims[i:i + 4], "big") for i in range(0, 4 * ndim, 4))
    dtype = IDX_DTYPES[code]
    count = math.prod(shape)
    expected = count * dtype.itemsize
    declared = f"the header declares {count} values ({expected} bytes)"

    if file_size is None:
        data = _read_at_most(stream, expected + 1)
        held = len(data)
    else:
        held = file_size - 4 - 4 * ndim
        data = bytearray()
        if held == expected:
            data = bytearray(expected)
            held = stream.readinto(data)  # fewer only if the file shrank since its size was read
    if held > expected:
        holds = f"more than {expected}" if file_size is None else str(held)
        raise DataError(f"{name}: trailing bytes after the IDX data: {declared} but the file "
                        f"holds {holds}")
    if held < expected:
        raise DataError(f"{name}: truncated IDX data: {declared} but the file holds {held}")
    if math.prod(size for size in shape if size) * dtype.itemsize > MAX_ARRAY_BYTES:
        raise DataError(f"{name}: the IDX header declares shape {shape}: no values, but sizes "
                        f"too large for a NumPy array")
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _read_at_most(stream: io.BufferedIOBase, limit: int) -> bytearray:
    data = bytearray()
    while len(data) < limit:
        piece = stream.read(min(CHUNK_BYTES, limit - len(data)))
        if not piece:
            break
        data += piece
    return data


def write_idx(path: str | os.PathLike[str], array: ArrayLike) -> None:
    """Write an array as an IDX file, gzip-compressed if the name ends in ``.gz``, atomically.

    Args:
        path: where to write.
        array: uint8, int8, int16, int32, float32 or float64, with 1 to 32 dimensions each
            smaller than 2**32.

    Raises:
        TypeError: the dtype has no IDX type code.
        ValueError: the array is 0-dimensional or a dimension does not fit in a uint32.
    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    code = next((code for code, dtype in IDX_DTYPES.items()
                 if dtype.newbyteorder("=") == native), None)
    if code is None:
        raise TypeError(f"write_idx: IDX files hold uint8, int8, int16, int32, float32 or "
                        f"float64, got {array.dtype}; convert with array.astype(...)")
    if array.ndim == 0:
        raise ValueError("write_idx: IDX files hold arrays of 1 to 32 dimensions, got a 0-d "
                         "array; reshape it to (1,)")
    if any(size >= 2**32 for size in array.shape):
        raise ValueError(f"write_idx: IDX dimensions are uint32, got shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        size.to_bytes(4, "big") for size in array.shape)
    payload = header + array.astype(IDX_DTYPES[code], copy=False).tobytes()
    if os.fspath(path).endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    write_atomically(Path(path), payload)
