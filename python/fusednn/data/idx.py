"""The IDX format of the MNIST files (gzip-compressed or not): a big-endian header of magic
(two zero bytes, a type code, the number of dimensions), the dimensions, then the data."""
from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _open(path):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


MAX_BYTES = 4 << 30  # the largest IDX payload read_idx accepts unless told otherwise


def read_idx(path, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """The array stored in an IDX file (``.gz`` or plain), with a clear error for anything
    that is not one. The header's size is checked (against the data that follows and against
    ``max_bytes``) before the data is read, so a small compressed file cannot inflate into a
    huge one."""
    try:
        return _read(path, max_bytes)
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise ValueError(f"{path}: a corrupt or cut-short gzip stream ({e})") from None


def _read(path, max_bytes):
    with _open(path) as f:
        head = f.read(4)
        if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _TYPES:
            raise ValueError(f"{path}: not an IDX file (bad magic {head!r})")
        dtype, ndim = np.dtype(_TYPES[head[2]]), head[3]
        dims = f.read(4 * ndim)
        if len(dims) != 4 * ndim:
            raise ValueError(f"{path}: IDX header is cut short")
        shape = tuple(int.from_bytes(dims[4 * i: 4 + 4 * i], "big") for i in range(ndim))
        expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
        if expected > max_bytes:
            raise ValueError(f"{path}: IDX header says shape {shape} ({expected} bytes), more "
                             f"than max_bytes={max_bytes}")
        data = f.read(expected + 1)
    if len(data) != expected:
        raise ValueError(f"{path}: IDX header says shape {shape} ({expected} bytes) but the file "
                         f"holds {'more' if len(data) > expected else len(data)} bytes of data")
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(
        dtype.newbyteorder("="), copy=True)


def write_idx(path, array: np.ndarray) -> None:
    """Write ``array`` as IDX (gzip-compressed when ``path`` ends in .gz)."""
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder(">") if np.dtype(v).itemsize > 1 else np.dtype(v): k
             for k, v in _TYPES.items()}
    big = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if big not in codes:
        raise TypeError(f"IDX cannot store {array.dtype}")
    header = bytes([0, 0, codes[big], array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    payload = header + array.astype(big).tobytes()
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)
