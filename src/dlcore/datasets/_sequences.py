"""What IMDB and Reuters share: the word-index JSON, and Keras's recipe that turns the stored word ranks
into the sequences load_data returns (shuffle, start mark, index offset, length and vocabulary limits)."""
from __future__ import annotations

import json
import numbers

import numpy as np

from ._common import fetch


def check_args(where, num_words, skip_top, maxlen, start_char, oov_char, index_from):
    for name, v, optional in (("num_words", num_words, True), ("skip_top", skip_top, False),
                              ("maxlen", maxlen, True), ("start_char", start_char, True),
                              ("oov_char", oov_char, True), ("index_from", index_from, False)):
        if v is None and optional:
            continue
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise ValueError(f"{where}: {name!r} must be a non-negative int{' or None' if optional else ''}, "
                             f"got {v!r}")


def object_array(seqs):
    """A 1-D object array of lists (np.array would make a 2-D array of equally long lists)."""
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = s
    return out


def prepare(xs, labels, where, num_words, skip_top, maxlen, start_char, oov_char, index_from):
    """Keras's steps, in Keras's order: mark the start, shift word ranks by index_from, drop sequences of
    maxlen words or more, then map ranks >= num_words (and < skip_top) to oov_char, or drop them."""
    if start_char is not None:
        xs = [[start_char] + [w + index_from for w in x] for x in xs]
    else:
        xs = [[w + index_from for w in x] for x in xs]
    labels = list(labels)
    if maxlen:
        kept = [(x, y) for x, y in zip(xs, labels) if len(x) < maxlen]
        xs, labels = [x for x, _ in kept], [y for _, y in kept]
    if not num_words:
        # as in Keras: the largest index present (which itself then falls outside [skip_top, num_words))
        num_words = max((max(x) for x in xs if x), default=0)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    return xs, labels


def load_word_index(fname, file_hash, path, where):
    """{word: rank} from a word-index JSON file, checked to be exactly that."""
    local = fetch(fname, "keras", file_hash, cache_name=path)
    with open(local, encoding="utf-8") as f:
        try:
            index = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{where}: {local} is not JSON ({e})") from None
    if not isinstance(index, dict) or not all(isinstance(k, str) and type(v) is int for k, v in index.items()):
        raise ValueError(f"{where}: {local} is not a {{word: index}} table")
    return index
