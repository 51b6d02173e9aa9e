"""MNIST: 70 000 hand-written digits, 28x28 grey levels, from Keras's copy (`mnist.npz`).

    (x_train, y_train), (x_test, y_test) = dl.datasets.mnist.load_data()
"""
from __future__ import annotations

import numpy as np

from ._common import check_array, fetch

__all__ = ["load_data"]

FILES = {"mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"}  # sha256, Keras's


def load_data(path="mnist.npz"):
    """Load the MNIST data set (downloaded once, about 11 MB, then read from the cache).

    60 000 training and 10 000 test images of the digits 0-9, 28x28 pixels with grey levels 0-255,
    as Keras returns them. The file is Keras's `mnist.npz`, checked against its sha256 and read with
    allow_pickle=False.

    Args:
        path: the file's name in the cache folder (`~/.dlcore/datasets/`).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape (60000, 28, 28) and
        (10000, 28, 28), uint8 labels of shape (60000,) and (10000,).

    Example:
    ```python
    import dlcore as dl
    try:
        (x_train, y_train), (x_test, y_test) = dl.datasets.mnist.load_data()
        assert x_train.shape == (60000, 28, 28) and y_test.shape == (10000,)
    except OSError:
        pass  # no network here, and the file is not in the cache
    ```

    License: Yann LeCun and Corinna Cortes hold the copyright of MNIST, a derivative of NIST's data;
    it is available under the Creative Commons Attribution-Share Alike 3.0 license.
    """
    where = "mnist.load_data"
    fname = "mnist.npz"
    local = fetch(fname, "keras", FILES[fname], cache_name=path)
    with np.load(local, allow_pickle=False) as f:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
        if missing:
            raise ValueError(f"{where}: {local} lacks {sorted(missing)}; delete it to download it again")
        x_train, y_train, x_test, y_test = f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    for name, a, nd in (("x_train", x_train, 3), ("y_train", y_train, 1), ("x_test", x_test, 3), ("y_test", y_test, 1)):
        check_array(a, name, where, "u", ndim=nd, shape_tail=(28, 28) if nd == 3 else None)
    return (x_train, y_train), (x_test, y_test)
