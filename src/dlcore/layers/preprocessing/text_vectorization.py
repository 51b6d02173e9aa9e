"""TextVectorization: strings to token indices or token vectors, inside the model (Keras's)."""
from __future__ import annotations

import numbers
import re

import numpy as np

from ...data_loader import to_numpy
from ...tensor import Tensor
from .lookup import _Lookup

__all__ = ["TextVectorization"]

# Keras's DEFAULT_STRIP_REGEX: ASCII punctuation
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT = ("whitespace", "character")


class TextVectorization(_Lookup):
    """Turn strings into sequences of token indices (or token vectors): Keras's TextVectorization.

    Each string is standardized (lower-cased and stripped of ASCII punctuation by default), split
    into tokens (on whitespace by default), optionally joined into n-grams, and looked up in the
    vocabulary learned by `adapt(texts)` (most frequent first) or given. In 'int' mode, index 0 is
    padding ('') and 1 the out-of-vocabulary token ('[UNK]'); each sequence is padded with 0 or cut
    to output_sequence_length (None: to the longest in the batch). The vocabulary is part of the
    config: it is saved with the model.

    Args:
        max_tokens: the largest vocabulary size, padding and OOV included (None: no limit).
        standardize: 'lower_and_strip_punctuation', 'lower', 'strip_punctuation', None, or a
            function str -> str.
        split: 'whitespace', 'character', None (the whole string is one token), or a function
            str -> list of str.
        ngrams: None, n (all n-grams for 1..n) or a tuple of n-gram sizes.
        output_mode: 'int', 'multi_hot', 'count' or 'tf_idf'.
        output_sequence_length: 'int' mode: the length of every output sequence.
        pad_to_max_tokens: encode into max_tokens entries rather than vocabulary_size().
        vocabulary: a list of tokens or a file with one per line (else call adapt()).
        idf_weights: with output_mode='tf_idf' and a given vocabulary, one weight per token.
        sparse, ragged: False (dlcore has neither sparse nor ragged tensors).
        encoding: the encoding of bytes inputs.

    Input shape: (batch,) or (batch, 1) strings.
    Output shape: (batch, sequence_length) int64 for 'int', (batch, vocabulary_size) float32
    otherwise.

    Example:
    ```python
    import dlcore as dl
    vectorize = dl.layers.TextVectorization(output_sequence_length=4)
    vectorize.adapt(["the cat sat", "the dog ran"])
    assert vectorize.get_vocabulary()[:3] == ["", "[UNK]", "the"]
    assert vectorize(["The cat ran!"]).numpy().tolist() == [[2, 6, 4, 0]]  # ties: later tokens first, as Keras
    ```
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", **kwargs):
        self.encoding = encoding
        if output_mode == "one_hot":
            raise ValueError("TextVectorization: 'output_mode' must be 'int', 'multi_hot', 'count' or 'tf_idf', got "
                             "'one_hot'")
        super().__init__(max_tokens, 1, "" if output_mode == "int" else None, "[UNK]", None, None, False,
                         output_mode, pad_to_max_tokens, sparse, **kwargs)
        w = self._where()
        if not (standardize is None or callable(standardize) or standardize in STANDARDIZE):
            raise ValueError(f"{w}: 'standardize' must be one of {list(STANDARDIZE)}, None or a function, got "
                             f"{standardize!r}")
        if not (split is None or callable(split) or split in SPLIT):
            raise ValueError(f"{w}: 'split' must be one of {list(SPLIT)}, None or a function, got {split!r}")
        if ngrams is not None:
            sizes = (ngrams,) if isinstance(ngrams, numbers.Integral) and not isinstance(ngrams, bool) else ngrams
            if not isinstance(sizes, (tuple, list)) or not sizes or any(
                    isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1 for n in sizes):
                raise ValueError(f"{w}: 'ngrams' must be None, a positive int or a tuple of them, got {ngrams!r}")
            if split is None:
                raise ValueError(f"{w}: 'ngrams' needs a split")
        if output_sequence_length is not None:
            if output_mode != "int":
                raise ValueError(f"{w}: 'output_sequence_length' is only used with output_mode='int'")
            if isinstance(output_sequence_length, bool) or not isinstance(output_sequence_length, numbers.Integral) \
                    or output_sequence_length < 1:
                raise ValueError(f"{w}: 'output_sequence_length' must be a positive int or None, got "
                                 f"{output_sequence_length!r}")
        if ragged:
            raise ValueError(f"{w}: ragged=True is not supported (dlcore has no ragged tensors)")
        self.standardize, self.split, self.ngrams = standardize, split, ngrams
        self.output_sequence_length = None if output_sequence_length is None else int(output_sequence_length)
        self.ragged = False
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            raise ValueError(f"{w}: 'idf_weights' needs 'vocabulary'")

    # ---- strings to tokens ---------------------------------------------------------------------
    def _text(self, s):
        if isinstance(s, bytes):
            return s.decode(self.encoding)
        if not isinstance(s, str):
            raise TypeError(f"{self._where()}: expected strings, got {type(s).__name__} {s!r}")
        return str(s)

    def _tokens(self, s):
        s = self._text(s)
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            s = s.lower()
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            s = _PUNCTUATION.sub("", s)
        elif callable(self.standardize):
            s = self.standardize(s)
        if self.split is None:
            tokens = [s]
        elif self.split == "whitespace":
            tokens = s.split()
        elif self.split == "character":
            tokens = list(s)
        else:
            tokens = list(self.split(s))
        if self.ngrams is None:
            return tokens
        sizes = range(1, self.ngrams + 1) if isinstance(self.ngrams, numbers.Integral) else self.ngrams
        return [" ".join(tokens[i:i + n]) for n in sizes for i in range(len(tokens) - n + 1)]

    def _strings(self, data):
        arr = np.asarray(to_numpy(data) if not isinstance(data, (list, tuple, str, bytes)) else data, dtype=object)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(f"{self._where()}: expected strings of shape (batch,) or (batch, 1), got shape {arr.shape}")
        return arr

    def _documents(self, data):
        if isinstance(data, (np.ndarray, list, tuple, Tensor, str)):
            batches = [data]
        else:
            batches = (b[0] if isinstance(b, tuple) else b for b in data)
        for b in batches:
            for s in self._strings(b.data if isinstance(b, Tensor) else b).tolist():
                yield self._tokens(s)

    def _token(self, t):
        return self._text(t)

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and idf weights for tf_idf) from strings: an array or list, or batches."""
        super().adapt(data, batch_size, steps)

    # ---- the call ------------------------------------------------------------------------------
    def _call_eager(self, inputs, training=None):
        strings = self._strings(inputs.data if isinstance(inputs, Tensor) else inputs).tolist()
        docs = [self._tokens(s) for s in strings]
        length = self.output_sequence_length
        if length is None:
            length = max((len(d) for d in docs), default=0)
        if self.output_mode == "int":
            out = np.zeros((len(docs), length), np.int64)
            for i, d in enumerate(docs):
                d = d[:length]
                if d:
                    out[i, :len(d)] = self._lookup(np.array(d, dtype=object))
            return Tensor(out)
        width = max((len(d) for d in docs), default=0)
        if width == 0:
            return Tensor(np.zeros((len(docs), self._depth()), self.dtype))
        padded = np.zeros((len(docs), width), np.int64)
        mask = np.zeros((len(docs), width), bool)
        for i, d in enumerate(docs):
            if d:
                padded[i, :len(d)] = self._lookup(np.array(d, dtype=object))
                mask[i, :len(d)] = True
        out = np.zeros((len(docs), self._depth()), np.float64)
        rows = np.repeat(np.arange(len(docs)), width)[mask.reshape(-1)]
        np.add.at(out, (rows, padded[mask]), 1.0)
        if self.output_mode == "multi_hot":
            out = np.minimum(out, 1.0)
        elif self.output_mode == "tf_idf":
            if self._idf is None:
                raise ValueError(f"{self._where()}: output_mode='tf_idf' needs adapt() or idf_weights first")
            oov = self._idf.mean() if len(self._idf) else 0.0
            out = out * np.concatenate([[oov], self._idf, np.zeros(self._depth() - self.vocabulary_size())])
        return Tensor(out.astype(self.dtype))

    def compute_output_shape(self, input_shape):
        batch = tuple(input_shape)[:1] or (None,)
        if self.output_mode == "int":
            return batch + (self.output_sequence_length,)
        return batch + (self._depth(),)

    def get_config(self):
        config = super().get_config()
        for k in ("num_oov_indices", "mask_token", "oov_token", "invert"):
            config.pop(k)
        return {**config, "standardize": self.standardize, "split": self.split, "ngrams": self.ngrams,
                "output_sequence_length": self.output_sequence_length, "ragged": self.ragged,
                "encoding": self.encoding}
