"""Fashion-MNIST: 70 000 28x28 grey images of 10 kinds of clothing (Zalando), in MNIST's IDX format.

    (x_train, y_train), (x_test, y_test) = dl.datasets.fashion_mnist.load_data()
"""
from __future__ import annotations

import os

from ._common import check_array, fetch
from ._idx import read_idx_gz

__all__ = ["load_data", "CLASS_NAMES"]

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")

# Keras pins no hash for these files. These are the md5s Fashion-MNIST's authors publish in their
# README (github.com/zalandoresearch/fashion-mnist); no sha256 is published. Keras's copies have the
# same byte sizes as the authors' files (26421880, 29515, 4422102, 5148).
FILES = {
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
}


def load_data():
    """Load the Fashion-MNIST data set (downloaded once, about 30 MB, then read from the cache).

    60 000 training and 10 000 test images, 28x28 pixels with grey levels 0-255, labels 0-9 naming
    `CLASS_NAMES` (0 T-shirt/top, 1 Trouser, ..., 9 Ankle boot), from Keras's origin. Each of the four
    files is checked against the md5 its authors publish before it is read.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape (60000, 28, 28) and
        (10000, 28, 28), uint8 labels of shape (60000,) and (10000,).

    Example:
    ```python
    import dlcore as dl
    try:
        (x_train, y_train), _ = dl.datasets.fashion_mnist.load_data()
        print(dl.datasets.fashion_mnist.CLASS_NAMES[y_train[0]])
    except OSError:
        pass  # no network here, and the files are not in the cache
    ```

    License: MIT, Copyright (c) 2017 Zalando SE.
    """
    where = "fashion_mnist.load_data"
    sub = os.path.join("datasets", "fashion-mnist")
    paths = {f: fetch(f, "keras", h, cache_subdir=sub) for f, h in FILES.items()}
    out = []
    for split in ("train", "t10k"):
        y = read_idx_gz(paths[f"{split}-labels-idx1-ubyte.gz"], where, 1)
        x = read_idx_gz(paths[f"{split}-images-idx3-ubyte.gz"], where, 3)
        check_array(x, f"{split} images", where, "u", 3, (28, 28))
        check_array(y, f"{split} labels", where, "u", 1)
        if len(x) != len(y) or (y.size and y.max() > 9):
            raise ValueError(f"{where}: the {split} files hold {len(x)} images and {len(y)} labels "
                             f"(max {y.max() if y.size else None}); delete them to download them again")
        out.append((x, y))
    return tuple(out)
