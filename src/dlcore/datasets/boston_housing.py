"""Boston housing prices: 506 suburbs of Boston in the 1970s, 13 attributes each, and their median price.

    (x_train, y_train), (x_test, y_test) = dl.datasets.boston_housing.load_data()
"""
from __future__ import annotations

import numpy as np

from ._common import check_array, fetch, split_seed

__all__ = ["load_data"]

FILES = {"boston_housing.npz": "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"}  # sha256, Keras's


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Load the Boston housing price regression data set (downloaded once, 57 kB), as Keras does.

    Targets are the median values of owner-occupied homes, in thousands of dollars. The samples are
    shuffled with `seed`; the first (1 - test_split) train, the rest test.

    Args:
        path: the file's name in the cache folder (`~/.dlcore/datasets/`).
        test_split: the fraction of the data used for testing, in [0, 1).
        seed: the seed of the shuffle.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float64 arrays, x of shape (n, 13), y of shape (n,)
        (404 and 102 samples with the defaults).

    Example:
    ```python
    import dlcore as dl
    try:
        (x_train, y_train), (x_test, y_test) = dl.datasets.boston_housing.load_data()
        assert x_train.shape == (404, 13)
    except OSError:
        pass  # no network here, and the file is not in the cache
    ```

    Note: the data set carries an ethically problematic attribute (B, on the proportion of Black
    residents); it is here because Keras tutorials use it.
    """
    where = "boston_housing.load_data"
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float)) or not 0 <= test_split < 1:
        raise ValueError(f"{where}: 'test_split' must be in [0, 1), got {test_split!r}")
    seed = split_seed(seed, where)
    fname = "boston_housing.npz"
    local = fetch(fname, "keras", FILES[fname], cache_name=path)
    with np.load(local, allow_pickle=False) as f:
        if {"x", "y"} - set(f.files):
            raise ValueError(f"{where}: {local} lacks 'x' or 'y'; delete it to download it again")
        x, y = check_array(f["x"], "x", where, "f", 2, (13,)), check_array(f["y"], "y", where, "f", 1)
    if len(x) != len(y):
        raise ValueError(f"{where}: {len(x)} samples but {len(y)} targets")
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    n = int(len(x) * (1 - test_split))
    return (np.array(x[:n]), np.array(y[:n])), (np.array(x[n:]), np.array(y[n:]))
