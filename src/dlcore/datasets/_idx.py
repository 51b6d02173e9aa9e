"""The IDX format of the MNIST family: a big-endian header (magic, dims) followed by the raw values."""
from __future__ import annotations

import gzip

import numpy as np

_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"),
          0x0E: np.dtype(">f8")}


def read_idx_gz(path, where, ndim):
    """The array in a gzip-compressed IDX file, checked to have `ndim` dimensions and exactly the values its
    header announces."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        raise ValueError(f"{where}: {path} is not an IDX file (bad magic number)")
    dims = data[3]
    if dims != ndim or len(data) < 4 + 4 * dims:
        raise ValueError(f"{where}: {path} holds a {dims}-D IDX array, expected {ndim}-D")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=dims, offset=4))
    dtype = np.dtype(_TYPES[data[2]])
    body = len(data) - 4 - 4 * dims
    if body != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise ValueError(f"{where}: {path} has {body} bytes of values, its header announces shape {shape}")
    return np.frombuffer(data, dtype, offset=4 + 4 * dims).reshape(shape).astype(dtype.newbyteorder("="))
