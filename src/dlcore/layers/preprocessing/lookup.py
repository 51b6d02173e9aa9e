"""Vocabulary lookups and category encodings: StringLookup, IntegerLookup, CategoryEncoding (Keras's).

A lookup layer maps tokens to indices in its vocabulary:

    index 0                 the mask token, if mask_token is set
    next num_oov_indices    out-of-vocabulary tokens (several: spread by a hash of the token)
    then                    the vocabulary, most frequent first when learned by adapt()

and encodes them as the indices ('int'), or as vectors of vocabulary_size() entries: 'one_hot'
(one per token), 'multi_hot' (one per sample: which tokens occur), 'count' (how often) or
'tf_idf' (counts times the inverse document frequency learned by adapt). With invert=True the
layer maps indices back to tokens. The vocabulary is part of the layer's config, so it is saved
with the model. These layers are not differentiable (their outputs are integers or counts).
"""
from __future__ import annotations

import numbers
import zlib

import numpy as np

from ...data_loader import to_numpy
from ...tensor import Tensor
from ..base import Layer

__all__ = ["StringLookup", "IntegerLookup", "CategoryEncoding"]

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def encode(indices, mode, depth, where, weights=None, dtype=np.float32):
    """one_hot / multi_hot / count / tf_idf vectors of `depth` entries from integer indices (NumPy)."""
    idx = np.asarray(indices)
    if idx.size and (idx.min() < 0 or idx.max() >= depth):
        raise ValueError(f"{where}: indices must be in [0, {depth}), got values in [{idx.min()}, {idx.max()}]")
    if mode == "one_hot":
        if idx.ndim >= 1 and idx.shape[-1] == 1:
            idx = idx[..., 0]
        out = np.zeros(idx.shape + (depth,), dtype)
        np.put_along_axis(out, idx[..., None], 1, axis=-1)
        return out
    if idx.ndim == 0:
        idx = idx.reshape(1)
    lead = idx.shape[:-1]
    flat = idx.reshape(-1, idx.shape[-1])
    out = np.zeros((len(flat), depth), dtype)
    rows = np.repeat(np.arange(len(flat)), flat.shape[1])
    np.add.at(out, (rows, flat.reshape(-1)), 1)
    if mode == "multi_hot":
        out = np.minimum(out, 1)
    elif mode == "tf_idf":
        out = out * np.asarray(weights, dtype)
    return out.reshape(lead + (depth,))


class _Lookup(Layer):
    """What StringLookup, IntegerLookup and TextVectorization share: the vocabulary, adapt and the encodings."""

    cast_inputs = False

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=None, vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False, **kwargs):
        super().__init__(**kwargs)
        w = self._where()
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, numbers.Integral)
                                       or max_tokens < 1):
            raise ValueError(f"{w}: 'max_tokens' must be a positive int or None, got {max_tokens!r}")
        if isinstance(num_oov_indices, bool) or not isinstance(num_oov_indices, numbers.Integral) \
                or num_oov_indices < 0:
            raise ValueError(f"{w}: 'num_oov_indices' must be an int >= 0, got {num_oov_indices!r}")
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"{w}: 'output_mode' must be one of {list(OUTPUT_MODES)}, got {output_mode!r}")
        if invert and output_mode != "int":
            raise ValueError(f"{w}: invert=True needs output_mode='int', got {output_mode!r}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{w}: pad_to_max_tokens=True needs max_tokens")
        if sparse:
            raise ValueError(f"{w}: sparse=True is not supported (dlcore has no sparse tensors)")
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.num_oov_indices, self.mask_token, self.oov_token = int(num_oov_indices), mask_token, oov_token
        self.invert, self.output_mode = bool(invert), output_mode
        self.pad_to_max_tokens, self.sparse = bool(pad_to_max_tokens), False
        self._vocab, self._idf, self._table = [], None, {}
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            raise ValueError(f"{w}: 'idf_weights' needs 'vocabulary'")
        self.built = True

    # ---- the vocabulary ------------------------------------------------------------------------
    def _token(self, t):
        return t

    def _specials(self):
        return ([self.mask_token] if self.mask_token is not None else []) + [self.oov_token] * self.num_oov_indices

    def get_vocabulary(self, include_special_tokens=True):
        """The tokens in index order (with the mask and OOV tokens first unless include_special_tokens=False)."""
        return (self._specials() if include_special_tokens else []) + list(self._vocab)

    def vocabulary_size(self):
        """The number of indices: the vocabulary plus the mask and OOV tokens."""
        return len(self._specials()) + len(self._vocab)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Use `vocabulary` (tokens without the special ones, or a file with one token per line)."""
        w = self._where()
        if isinstance(vocabulary, str):
            try:
                with open(vocabulary, encoding="utf-8") as f:
                    vocabulary = [line.rstrip("\n") for line in f if line.rstrip("\n")]
            except OSError as e:
                raise ValueError(f"{w}: 'vocabulary' is a string, read as a file with one token per line, which "
                                 f"cannot be read: {e}") from None
        tokens = [self._token(t) for t in to_numpy(np.asarray(vocabulary, dtype=object)).reshape(-1).tolist()]
        specials = set(self._specials())
        tokens = [t for t in tokens if t not in specials] if tokens[:len(self._specials())] == self._specials() \
            else tokens
        if len(set(tokens)) != len(tokens):
            raise ValueError(f"{w}: the vocabulary repeats tokens")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(f"{w}: the vocabulary holds the mask token {self.mask_token!r}")
        if self.max_tokens is not None and len(tokens) + len(self._specials()) > self.max_tokens:
            raise ValueError(f"{w}: {len(tokens)} tokens and {len(self._specials())} special ones exceed "
                             f"max_tokens={self.max_tokens}")
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(f"{w}: output_mode='tf_idf' with a given vocabulary needs 'idf_weights'")
            idf = np.asarray(idf_weights, np.float64).reshape(-1)
            if len(idf) not in (len(tokens), len(tokens) + len(self._specials())):
                raise ValueError(f"{w}: {len(idf)} idf_weights for {len(tokens)} tokens")
            self._idf = idf[-len(tokens):] if tokens else idf[:0]
        elif idf_weights is not None:
            raise ValueError(f"{w}: 'idf_weights' is only used with output_mode='tf_idf'")
        self._vocab = tokens
        self._table = {t: i + len(self._specials()) for i, t in enumerate(tokens)}

    def _documents(self, data):
        """The samples of `data` (an array / list, or an iterable of batches), each as a list of tokens."""
        if isinstance(data, (np.ndarray, list, tuple, Tensor, str)):
            batches = [data]
        else:
            batches = (b[0] if isinstance(b, tuple) else b for b in data)
        for b in batches:
            if isinstance(b, (str, bytes, numbers.Number, np.generic)):
                yield [self._token(b)]
                continue
            for row in (b if isinstance(b, (list, tuple)) else to_numpy(b)):  # a row: one document
                row = to_numpy(row) if hasattr(row, "numpy") else row
                items = row.reshape(-1).tolist() if isinstance(row, np.ndarray) else \
                    list(row) if isinstance(row, (list, tuple)) else [row]
                yield [self._token(t) for t in items]

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (the most frequent tokens first, up to max_tokens) and, for tf_idf, the
        inverse document frequencies, from `data`: an array or list of tokens, or batches of them."""
        counts, docs_with, n_docs = {}, {}, 0
        skip = self.mask_token
        for step, doc in enumerate(self._documents(data)):
            if steps is not None and step >= steps:
                break
            n_docs += 1
            for t in doc:
                if t != skip:
                    counts[t] = counts.get(t, 0) + 1
            for t in set(doc):
                if t != skip:
                    docs_with[t] = docs_with.get(t, 0) + 1
        if not n_docs:
            raise ValueError(f"{self._where()}: adapt() got no data")
        tokens = [t for t in counts if t != self.oov_token]
        # as Keras: by count, then by token, both descending
        order = np.lexsort((np.array(tokens), np.array([counts[t] for t in tokens])))[::-1] if tokens else []
        tokens = [tokens[i] for i in order]
        if self.max_tokens is not None:
            tokens = tokens[:max(self.max_tokens - len(self._specials()), 0)]
        idf = None
        if self.output_mode == "tf_idf":
            idf = np.log1p(n_docs / (1.0 + np.array([docs_with[t] for t in tokens], np.float64)))
        self._vocab, self._idf = [], None
        out_mode, self.output_mode = self.output_mode, "int"  # idf given below, not through set_vocabulary's check
        self.set_vocabulary(tokens)
        self.output_mode, self._idf = out_mode, idf

    # ---- the lookup ----------------------------------------------------------------------------
    def _oov_index(self, token):
        start = 1 if self.mask_token is not None else 0
        if self.num_oov_indices == 1:
            return start
        return start + self._oov_hash(token) % self.num_oov_indices

    def _oov_hash(self, token):
        return zlib.crc32(str(token).encode("utf-8"))

    def _lookup(self, arr):
        """Indices (int64, same shape) of the tokens in `arr`."""
        flat = arr.reshape(-1)
        if flat.size == 0:
            return np.zeros(arr.shape, np.int64)
        uniq, inverse = np.unique(flat, return_inverse=True)
        out = np.empty(len(uniq), np.int64)
        for i, u in enumerate(uniq.tolist()):
            t = self._token(u)
            if self.mask_token is not None and t == self.mask_token:
                out[i] = 0
            elif t in self._table:
                out[i] = self._table[t]
            elif self.num_oov_indices == 0:
                raise ValueError(f"{self._where()}: token {t!r} is not in the vocabulary and num_oov_indices=0")
            else:
                out[i] = self._oov_index(t)
        return out[inverse].reshape(arr.shape)

    def _depth(self):
        return self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()

    def _encode_indices(self, idx):
        if self.output_mode == "int":
            return idx
        if self.output_mode != "one_hot" and idx.ndim == 1:
            idx = idx[:, None]  # one token per sample
        weights = None
        if self.output_mode == "tf_idf":
            if self._idf is None:
                raise ValueError(f"{self._where()}: output_mode='tf_idf' needs adapt() or idf_weights first")
            special = np.zeros(len(self._specials()))
            if self.num_oov_indices and len(self._idf):
                special[-self.num_oov_indices:] = self._idf.mean()  # as Keras: OOV weighs the mean idf
            weights = np.concatenate([special, self._idf, np.zeros(self._depth() - self.vocabulary_size())])
        out = encode(idx, self.output_mode, self._depth(), self._where(), weights, self.dtype)
        if self.mask_token is not None and self.output_mode in ("multi_hot", "count", "tf_idf"):
            out[..., 0] = 0  # the mask token is not a token
        return out

    def _invert(self, idx):
        vocab = np.array(self.get_vocabulary(), dtype=object)
        if idx.size and (idx.min() < 0 or idx.max() >= len(vocab)):
            raise ValueError(f"{self._where()}: indices must be in [0, {len(vocab)}) to invert")
        return vocab[idx]

    def _raw(self, inputs):
        if isinstance(inputs, Tensor):
            return inputs.data if isinstance(inputs.data, np.ndarray) else to_numpy(inputs.data)
        if isinstance(inputs, (str, bytes, numbers.Number)):
            return np.asarray([inputs], dtype=object)
        return np.asarray(to_numpy(inputs) if not isinstance(inputs, (list, tuple)) else inputs, dtype=object)

    def _call_eager(self, inputs, training=None):
        raw = self._raw(inputs)
        if self.invert:
            return Tensor(self._invert(np.asarray(raw, dtype=np.int64)))
        return Tensor(self._encode_indices(self._lookup(raw)))

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        if self.output_mode == "one_hot":
            return (shape[:-1] if shape and shape[-1] == 1 else shape) + (self._depth(),)
        return (shape[:-1] if len(shape) > 1 else shape) + (self._depth(),)

    def get_config(self):
        return {**super().get_config(), "max_tokens": self.max_tokens, "num_oov_indices": self.num_oov_indices,
                "mask_token": self.mask_token, "oov_token": self.oov_token,
                "vocabulary": list(self._vocab) if self._vocab else None,
                "idf_weights": None if self._idf is None or not self._vocab else [float(v) for v in self._idf],
                "invert": self.invert, "output_mode": self.output_mode, "pad_to_max_tokens": self.pad_to_max_tokens,
                "sparse": self.sparse}


class StringLookup(_Lookup):
    """Map strings to indices in a vocabulary (or back, with invert=True): Keras's StringLookup.

    Args:
        max_tokens: the largest vocabulary size, special tokens included (None: no limit).
        num_oov_indices: indices for out-of-vocabulary tokens (0: unknown tokens raise; n > 1: spread
            by a CRC-32 of the token, where Keras uses a FarmHash).
        mask_token: a token that maps to index 0 (None: no mask).
        oov_token: the token returned for OOV indices when inverting.
        vocabulary: a list of tokens or a file with one per line (else call adapt()).
        idf_weights: with output_mode='tf_idf' and a given vocabulary, one weight per token.
        invert: map indices to tokens.
        output_mode: 'int', 'one_hot', 'multi_hot', 'count' or 'tf_idf'.
        pad_to_max_tokens: encode into max_tokens entries rather than vocabulary_size().
        sparse: False (no sparse outputs in dlcore).
        encoding: the encoding of bytes inputs.

    Input shape: any array of strings. Output shape: the same with 'int'; (..., vocabulary_size)
    otherwise (multi_hot / count / tf_idf reduce the last axis: one vector per sample).

    Example:
    ```python
    import dlcore as dl
    lookup = dl.layers.StringLookup(vocabulary=["a", "b", "c"])
    assert lookup([["a", "c"], ["d", "b"]]).numpy().tolist() == [[1, 3], [0, 2]]  # 'd' is OOV: 0
    ```
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", **kwargs):
        self.encoding = encoding
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                         output_mode, pad_to_max_tokens, sparse, **kwargs)

    def _token(self, t):
        if isinstance(t, bytes):
            return t.decode(self.encoding)
        if not isinstance(t, str):
            raise TypeError(f"{self._where()}: expected string tokens, got {type(t).__name__} {t!r}")
        return str(t)

    def get_config(self):
        return {**super().get_config(), "encoding": self.encoding}


class IntegerLookup(_Lookup):
    """Map integers to indices in a vocabulary (or back, with invert=True): Keras's IntegerLookup.

    Args:
        max_tokens, num_oov_indices, vocabulary, idf_weights, invert, output_mode,
        pad_to_max_tokens, sparse: as in StringLookup (several OOV indices: token mod n, Keras's
            'floormod').
        mask_token: an integer that maps to index 0 (None: no mask).
        oov_token: the integer returned for OOV indices when inverting (default -1).
        vocabulary_dtype: 'int64' or 'int32'.

    Input shape: any array of integers. Output shape: as in StringLookup.

    Example:
    ```python
    import dlcore as dl
    lookup = dl.layers.IntegerLookup(vocabulary=[12, 36, 1138, 42])
    assert lookup([[12, 1138, 42], [42, 1000, 36]]).numpy().tolist() == [[1, 3, 4], [4, 0, 2]]
    ```
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, **kwargs):
        if vocabulary_dtype not in ("int64", "int32"):
            raise ValueError(f"IntegerLookup: 'vocabulary_dtype' must be 'int64' or 'int32', got {vocabulary_dtype!r}")
        self.vocabulary_dtype = vocabulary_dtype
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                         output_mode, pad_to_max_tokens, sparse, **kwargs)

    def _token(self, t):
        if isinstance(t, (bool, np.bool_)) or not isinstance(t, (numbers.Integral, np.integer)):
            if isinstance(t, (float, np.floating)) and float(t).is_integer():
                return int(t)
            raise TypeError(f"{self._where()}: expected integer tokens, got {type(t).__name__} {t!r}")
        return int(t)

    def _oov_hash(self, token):
        return int(token)

    def _invert(self, idx):
        return super()._invert(idx).astype(self.vocabulary_dtype)

    def get_config(self):
        return {**super().get_config(), "vocabulary_dtype": self.vocabulary_dtype}


class CategoryEncoding(Layer):
    """Encode integer categories in [0, num_tokens) as one-hot, multi-hot or count vectors (Keras's).

    Args:
        num_tokens: the number of categories.
        output_mode: 'one_hot' (one vector per input value; a trailing axis of 1 is replaced),
            'multi_hot' (one vector per sample: which categories occur in the last axis) or 'count'
            (how often).
        sparse: False (no sparse outputs in dlcore).

    Input shape: integers (..., k). Output shape: (..., k, num_tokens) for one_hot ((..., num_tokens)
    when k is 1), (..., num_tokens) otherwise.

    Example:
    ```python
    import dlcore as dl
    enc = dl.layers.CategoryEncoding(num_tokens=4, output_mode="multi_hot")
    assert enc([[0, 1], [0, 0], [1, 2], [3, 1]]).numpy().tolist() == [
        [1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]]
    ```
    """

    cast_inputs = False

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, numbers.Integral) or num_tokens < 1:
            raise ValueError(f"{self._where()}: 'num_tokens' must be a positive int (the number of categories), got "
                             f"{num_tokens!r}")
        if output_mode not in ("one_hot", "multi_hot", "count"):
            raise ValueError(f"{self._where()}: 'output_mode' must be 'one_hot', 'multi_hot' or 'count', got "
                             f"{output_mode!r}")
        if sparse:
            raise ValueError(f"{self._where()}: sparse=True is not supported (dlcore has no sparse tensors)")
        self.num_tokens, self.output_mode, self.sparse = int(num_tokens), output_mode, False
        self.built = True

    def _call_eager(self, inputs, training=None):
        x = to_numpy(inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs))
        if x.dtype.kind == "f" and x.size and not np.all(x == np.round(x)):
            raise TypeError(f"{self._where()}: inputs must be integer categories, got non-integer floats")
        if x.dtype.kind not in "iuf":
            raise TypeError(f"{self._where()}: inputs must be integer categories, got dtype {x.dtype}")
        return Tensor(encode(x.astype(np.int64), self.output_mode, self.num_tokens, self._where(), dtype=self.dtype))

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.output_mode == "one_hot":
            return (shape[:-1] if shape and shape[-1] == 1 else shape) + (self.num_tokens,)
        return shape[:-1] + (self.num_tokens,)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode,
                "sparse": self.sparse}
