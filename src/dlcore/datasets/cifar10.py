"""CIFAR-10: 60 000 32x32 colour images in 10 classes, read from the binary (pickle-free) archive.

    (x_train, y_train), (x_test, y_test) = dl.datasets.cifar10.load_data()
"""
from __future__ import annotations

import os

import numpy as np

from ._cifar import read_records
from ._common import fetch

__all__ = ["load_data", "CLASS_NAMES"]

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

# The md5 the data set's page publishes for the binary version (no sha256 is published there; Keras
# pins the sha256 of the pickled "python version", which dlcore does not read).
FILES = {"cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"}


def load_data():
    """Load the CIFAR-10 data set (downloaded once, about 170 MB, then read from the cache).

    50 000 training and 10 000 test colour images, 32x32 pixels, channels last, in 10 classes
    (`CLASS_NAMES`: airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck), as Keras
    returns them. dlcore reads the data set's binary archive (the same images and labels as the
    pickled one Keras reads, with no code in it), checked against the md5 the data set's page
    publishes before it is extracted.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape (50000, 32, 32, 3) and
        (10000, 32, 32, 3), uint8 labels 0-9 of shape (50000, 1) and (10000, 1).

    Example:
    ```python
    import dlcore as dl
    try:
        (x_train, y_train), _ = dl.datasets.cifar10.load_data()
        assert x_train.shape == (50000, 32, 32, 3) and y_train.shape == (50000, 1)
    except OSError:
        pass  # no network here, and the archive is not in the cache
    ```

    Source: Alex Krizhevsky, Learning Multiple Layers of Features from Tiny Images (2009).
    """
    where = "cifar10.load_data"
    fname = "cifar-10-binary.tar.gz"
    folder = os.path.join(fetch(fname, "toronto", FILES[fname], extract=True), "cifar-10-batches-bin")
    parts = [read_records(os.path.join(folder, f"data_batch_{i}.bin"), 1, (10,), where) for i in range(1, 6)]
    x_test, y_test = read_records(os.path.join(folder, "test_batch.bin"), 1, (10,), where)
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    return (x_train, y_train), (x_test, y_test)
