"""Reuters newswires: 11 228 newswires in 46 topics, as sequences of word indices.

    (x_train, y_train), (x_test, y_test) = dl.datasets.reuters.load_data(num_words=10000)
"""
from __future__ import annotations

import numpy as np

from ._common import check_array, fetch, split_seed
from ._npz import load_npz
from ._sequences import check_args, load_word_index, object_array, prepare

__all__ = ["load_data", "get_word_index", "get_label_names"]

FILES = {"reuters.npz": "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",  # sha256, Keras's
         "reuters_word_index.json": "4d44cc38712099c9e383dc6e5f11a921"}                      # md5, Keras's

LABEL_NAMES = ("cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee",
               "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx",
               "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock",
               "retail", "ipi", "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
               "dlr", "gas", "silver", "wpi", "hog", "lead")


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113, start_char=1,
              oov_char=2, index_from=3):
    """Load the Reuters newswire topics data set (downloaded once, about 2 MB), as Keras does.

    The newswires are shuffled with `seed`, then the last `test_split` of them form the test set.
    Words are indexed as in `imdb.load_data`. The pickled lists in Keras's `reuters.npz` are read by
    a reader that rebuilds lists of ints and nothing else, after checking the sha256.

    Args:
        path: the file's name in the cache folder (`~/.dlcore/datasets/`).
        num_words: keep the `num_words` most frequent words (None: all).
        skip_top: the `skip_top` most frequent words become `oov_char`.
        maxlen: drop the sequences of `maxlen` words or more (None: keep all).
        test_split: the fraction of the data used for testing, in [0, 1).
        seed: the seed of the shuffle.
        start_char: the index marking the start of each sequence (None: no mark).
        oov_char: the index replacing dropped words (None: drop them).
        index_from: the offset added to the word ranks.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: object arrays of lists of ints, int64 topic labels
        0-45 (`get_label_names()` names them).

    Example:
    ```python
    import dlcore as dl
    try:
        (x_train, y_train), (x_test, y_test) = dl.datasets.reuters.load_data(num_words=10000)
        topic = dl.datasets.reuters.get_label_names()[y_train[0]]
    except OSError:
        pass  # no network here, and the file is not in the cache
    ```
    """
    where = "reuters.load_data"
    check_args(where, num_words, skip_top, maxlen, start_char, oov_char, index_from)
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float)) or not 0 <= test_split < 1:
        raise ValueError(f"{where}: 'test_split' must be in [0, 1), got {test_split!r}")
    seed = split_seed(seed, where)
    fname = "reuters.npz"
    f = load_npz(fetch(fname, "keras", FILES[fname], cache_name=path), where)
    if {"x", "y"} - set(f):
        raise ValueError(f"{where}: the file lacks 'x' or 'y'")
    xs, labels = f["x"], check_array(f["y"], "y", where, "iu", 1)
    if len(xs) != len(labels):
        raise ValueError(f"{where}: {len(xs)} newswires but {len(labels)} labels")
    order = np.arange(len(xs))
    np.random.RandomState(seed).shuffle(order)
    xs, labels = prepare(list(xs[order]), labels[order], where, num_words, skip_top, maxlen, start_char, oov_char,
                         index_from)
    labels = np.asarray(labels, dtype=f["y"].dtype)
    idx = int(len(xs) * (1 - test_split))
    return (object_array(xs[:idx]), labels[:idx]), (object_array(xs[idx:]), labels[idx:])


def get_word_index(path="reuters_word_index.json"):
    """The Reuters word index: {word: rank}, downloaded once (see imdb.get_word_index).

    Example:
    ```python
    import dlcore as dl
    try:
        index = dl.datasets.reuters.get_word_index()
    except OSError:
        pass  # no network here, and the file is not in the cache
    ```
    """
    fname = "reuters_word_index.json"
    return load_word_index(fname, FILES[fname], path, "reuters.get_word_index")


def get_label_names():
    """The 46 topic names, indexed by label: get_label_names()[y] names topic y.

    Example:
    ```python
    import dlcore as dl
    assert dl.datasets.reuters.get_label_names()[3] == "earn"
    ```
    """
    return LABEL_NAMES
