"""CIFAR-100: 60 000 32x32 colour images in 100 classes (20 superclasses), from the binary archive.

    (x_train, y_train), (x_test, y_test) = dl.datasets.cifar100.load_data(label_mode="fine")
"""
from __future__ import annotations

import os

import numpy as np

from ._cifar import read_records
from ._common import fetch

__all__ = ["load_data"]

# The md5 the data set's page publishes for the binary version (no sha256 is published there).
FILES = {"cifar-100-binary.tar.gz": "03b5dce01913d631647c71ecec9e9cb8"}


def load_data(label_mode="fine"):
    """Load the CIFAR-100 data set (downloaded once, about 160 MB, then read from the cache).

    50 000 training and 10 000 test colour images, 32x32 pixels, channels last, each labelled with
    one of 100 fine classes and one of 20 coarse superclasses, as Keras returns them. dlcore reads
    the binary archive (no pickle), checked against the md5 the data set's page publishes.

    Args:
        label_mode: 'fine' (100 classes) or 'coarse' (20 superclasses).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape (50000, 32, 32, 3) and
        (10000, 32, 32, 3), int64 labels of shape (50000, 1) and (10000, 1).

    Example:
    ```python
    import dlcore as dl
    try:
        (x_train, y_train), _ = dl.datasets.cifar100.load_data(label_mode="coarse")
        assert int(y_train.max()) == 19
    except OSError:
        pass  # no network here, and the archive is not in the cache
    ```

    Source: Alex Krizhevsky, Learning Multiple Layers of Features from Tiny Images (2009).
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"cifar100.load_data: 'label_mode' must be 'fine' or 'coarse', got {label_mode!r}")
    where = "cifar100.load_data"
    fname = "cifar-100-binary.tar.gz"
    folder = os.path.join(fetch(fname, "toronto", FILES[fname], extract=True), "cifar-100-binary")
    column = 1 if label_mode == "fine" else 0
    out = []
    for split in ("train", "test"):
        x, labels = read_records(os.path.join(folder, f"{split}.bin"), 2, (20, 100), where)
        out.append((x, labels[:, column:column + 1].astype(np.int64)))
    return tuple(out)
