"""IMDB movie reviews for sentiment classification: 25 000 + 25 000 reviews as sequences of word indices.

    (x_train, y_train), (x_test, y_test) = dl.datasets.imdb.load_data(num_words=10000)
"""
from __future__ import annotations

import numpy as np

from ._common import check_array, fetch, split_seed
from ._npz import load_npz
from ._sequences import check_args, load_word_index, object_array, prepare

__all__ = ["load_data", "get_word_index"]

FILES = {"imdb.npz": "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",  # sha256, Keras's
         "imdb_word_index.json": "bfafd718b763782e994055a2d397834f"}                      # md5, Keras's


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3):
    """Load the IMDB reviews data set (downloaded once, about 17 MB), as Keras does.

    Each review is a list of word indices, a word's index being its frequency rank in the training
    set plus `index_from` (index 1 = the most frequent word when index_from=0). The reviews of each
    split are shuffled with `seed`. The file (Keras's `imdb.npz`) holds pickled lists; dlcore reads
    them with a reader that rebuilds lists of ints and nothing else, after checking the sha256.

    Args:
        path: the file's name in the cache folder (`~/.dlcore/datasets/`).
        num_words: keep the `num_words` most frequent words; rarer words become `oov_char`.
            None keeps all.
        skip_top: the `skip_top` most frequent words also become `oov_char`.
        maxlen: drop the sequences of `maxlen` words or more (None: keep all).
        seed: the seed of the shuffle.
        start_char: the index marking the start of each sequence (None: no mark).
        oov_char: the index replacing dropped words (None: drop them).
        index_from: the offset added to the word ranks.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: object arrays of lists of ints (25000 of each
        split unless `maxlen` removes some), int64 labels 0 (negative) or 1 (positive).

    Example:
    ```python
    import dlcore as dl
    try:
        (x_train, y_train), _ = dl.datasets.imdb.load_data(num_words=10000)
        x = dl.utils.pad_sequences(x_train, maxlen=200)
        assert x.shape == (25000, 200)
    except OSError:
        pass  # no network here, and the file is not in the cache
    ```
    """
    where = "imdb.load_data"
    check_args(where, num_words, skip_top, maxlen, start_char, oov_char, index_from)
    seed = split_seed(seed, where)
    fname = "imdb.npz"
    f = load_npz(fetch(fname, "keras", FILES[fname], cache_name=path), where)
    missing = {"x_train", "y_train", "x_test", "y_test"} - set(f)
    if missing:
        raise ValueError(f"{where}: the file lacks {sorted(missing)}")
    rng = np.random.RandomState(seed)
    splits = []
    for split in ("train", "test"):
        x, y = f[f"x_{split}"], check_array(f[f"y_{split}"], f"y_{split}", where, "iu", 1)
        if len(x) != len(y):
            raise ValueError(f"{where}: {len(x)} {split} reviews but {len(y)} labels")
        order = np.arange(len(x))
        rng.shuffle(order)
        splits.append((x[order], y[order]))
    xs, labels = prepare(list(splits[0][0]) + list(splits[1][0]),
                         np.concatenate([splits[0][1], splits[1][1]]), where, num_words, skip_top, maxlen,
                         start_char, oov_char, index_from)
    n_train = len(splits[0][0]) if not maxlen else None
    if maxlen:  # prepare dropped long sequences from both splits: count the training ones kept
        n_train = sum(1 for x in splits[0][0] if len(x) + (start_char is not None) < maxlen)
        if n_train == 0 or n_train == len(xs):
            raise ValueError(f"{where}: no sequence shorter than maxlen={maxlen} is left in one split; increase "
                             f"maxlen")
    labels = np.asarray(labels, dtype=splits[0][1].dtype)
    return (object_array(xs[:n_train]), labels[:n_train]), (object_array(xs[n_train:]), labels[n_train:])


def get_word_index(path="imdb_word_index.json"):
    """The IMDB word index: {word: rank} (rank 1 = the most frequent word), downloaded once.

    A sequence from `load_data` (with its defaults index_from=3, start_char=1, oov_char=2) decodes
    as `index - 3` -> word, indices 0, 1 and 2 being padding, start and out-of-vocabulary.

    Args:
        path: the file's name in the cache folder.

    Returns:
        A dict from words (str) to their ranks (int).

    Example:
    ```python
    import dlcore as dl
    try:
        index = dl.datasets.imdb.get_word_index()
        words = {i + 3: w for w, i in index.items()}
    except OSError:
        pass  # no network here, and the file is not in the cache
    ```
    """
    fname = "imdb_word_index.json"
    return load_word_index(fname, FILES[fname], path, "imdb.get_word_index")
