"""Where the data sets come from, and the one function that fetches a file of theirs.

The origins are Keras's (so a file already in a Keras cache is the same file), each file pinned by a
hash that is checked before anything parses it. `BASE_URLS` is read at every call: point an entry
at a mirror (or, in tests, a local server) to fetch from there instead.
"""
from __future__ import annotations

import numpy as np

from ..file_utils import get_file

BASE_URLS = {
    "keras": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",  # MNIST, Fashion-MNIST, IMDB, ...
    "toronto": "https://www.cs.toronto.edu/~kriz/",                            # CIFAR-10 and CIFAR-100
}


def fetch(fname, source, file_hash, cache_name=None, cache_subdir="datasets", extract=False):
    """The local path of `fname` from BASE_URLS[source], downloaded and verified unless cached."""
    return get_file(cache_name or fname, origin=BASE_URLS[source] + fname, file_hash=file_hash,
                    cache_subdir=cache_subdir, extract=extract)


def check_array(a, name, where, dtype_kinds, ndim=None, shape_tail=None):
    """ValueError unless array `a` (member `name` of a data file) has the expected kind of dtype and shape."""
    if not isinstance(a, np.ndarray) or a.dtype.kind not in dtype_kinds or (ndim is not None and a.ndim != ndim) \
            or (shape_tail is not None and tuple(a.shape[1:]) != tuple(shape_tail)):
        got = f"{a.dtype} array of shape {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
        raise ValueError(f"{where}: the data file's {name!r} is a {got}, not what this data set holds; "
                         f"delete the cached file to download it again")
    return a


def split_seed(seed, where):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{where}: 'seed' must be an int, got {seed!r}")
    return int(seed)
