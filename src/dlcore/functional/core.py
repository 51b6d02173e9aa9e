"""Ops without a C++ kernel, written with array code through `xp`: dropout and embedding."""
from __future__ import annotations

import numpy as np

from .. import _random
from ..autograd import Function
from ..primitives import get_array_module
from ._common import _array, _t


class Dropout(Function):
    """y = x * mask / (1 - rate), one Bernoulli(1 - rate) draw per element of `noise_shape`
    (broadcast over the axes where it is 1); dx = g * the same mask."""

    def forward(self, x, rate, noise_shape, rng):
        xp = get_array_module(x)
        keep = rng.random(noise_shape) >= rate
        self.mask = xp.asarray(keep.astype(x.dtype) / x.dtype.type(1.0 - rate))
        return x * self.mask

    def backward(self, g):
        return g * self.mask


def dropout(x, rate=0.5, training=True, noise_shape=None, rng=None):
    """Inverted dropout: zero each element with probability `rate`, scale the rest by 1/(1-rate).

    noise_shape: the shape of the random mask, broadcast to the input's (Keras: an entry None or
    equal to the input's keeps that axis, 1 shares one draw along it, e.g. (batch, 1, features)
    drops the same features at every time step). rng: the np.random.Generator to draw from
    (default: dlcore's, which dl.manual_seed seeds).
    """
    x = _t(x)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    if not training or rate == 0.0:
        return x
    shape = tuple(x.shape)
    if noise_shape is not None:
        noise_shape = tuple(noise_shape)
        if len(noise_shape) != x.ndim or any(n is not None and n not in (1, d) for n, d in zip(noise_shape, shape)):
            raise ValueError(f"dropout: noise_shape must have one entry per input axis, each None, 1 or the input's "
                             f"size, got {noise_shape} for an input of shape {shape}")
        shape = tuple(d if n is None else n for n, d in zip(noise_shape, shape))
    return Dropout.apply(x, rate=float(rate), noise_shape=shape, rng=rng if rng is not None else _random.generator())

class Embedding(Function):
    def forward(self, weights, ids):
        self.ids, self.shape = ids, weights.shape
        return weights[ids]

    def backward(self, g):
        xp = get_array_module(g)
        dw = xp.zeros(self.shape, dtype=g.dtype)
        np.add.at(dw, self.ids, g) if xp is np else xp.add.at(dw, self.ids, g)
        return dw


def embedding(ids, weights):
    """Rows of `weights` (vocab, dim) picked by integer `ids` (any shape) -> ids.shape + (dim,)."""
    ids_arr = _array(ids)
    ids_arr = np.asarray(ids_arr) if not hasattr(ids_arr, "dtype") else ids_arr
    if ids_arr.dtype.kind not in "iu":
        if ids_arr.dtype.kind == "f" and ids_arr.size and (ids_arr == ids_arr.astype(np.int64)).all():
            ids_arr = ids_arr.astype(np.int64)
        else:
            raise TypeError(f"embedding: ids must be integers, got dtype {ids_arr.dtype}")
    weights = _t(weights)
    vocab = weights.shape[0]
    if ids_arr.size and (ids_arr.min() < 0 or ids_arr.max() >= vocab):
        raise ValueError(f"embedding: ids must be in [0, {vocab}) (input_dim={vocab}), got values in "
                         f"[{int(ids_arr.min())}, {int(ids_arr.max())}]")
    return Embedding.apply(weights, ids=ids_arr)

