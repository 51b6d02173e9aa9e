"""Indexing, reshaping, transposing, concatenating and stacking: forward and backward side by side."""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ._helpers import get_array_module


def _is_basic(index):
    """True for ints/slices/None/Ellipsis only (no repeated element can be selected)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice, np.integer)) for i in items)


class GetItem(Function):
    def forward(self, a, index):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return a[index]

    def backward(self, g):
        xp = get_array_module(g)
        ga = xp.zeros(self.shape, dtype=self.dtype)
        if _is_basic(self.index):
            ga[self.index] = g
        else:  # advanced indexing may pick an element twice: scatter-add
            if xp is np:
                np.add.at(ga, self.index, g)
            else:
                xp.add.at(ga, self.index, g)
        return ga


class Reshape(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return g.reshape(self.shape)


class Transpose(Function):
    def forward(self, a, axes):
        self.axes = axes
        return a.transpose(axes) if axes is not None else a.T

    def backward(self, g):
        if self.axes is None:
            return g.T
        return g.transpose(np.argsort(self.axes))


class Concatenate(Function):
    def forward(self, *arrays, axis):
        xp = get_array_module(arrays[0])
        self.axis = axis
        self.sizes = [a.shape[axis] for a in arrays]
        return xp.concatenate(arrays, axis=axis)

    def backward(self, g):
        xp = get_array_module(g)
        cuts = np.cumsum(self.sizes)[:-1]
        return tuple(xp.split(g, cuts, axis=self.axis))


class Stack(Function):
    def forward(self, *arrays, axis):
        xp = get_array_module(arrays[0])
        self.axis = axis
        return xp.stack(arrays, axis=axis)

    def backward(self, g):
        xp = get_array_module(g)
        n = g.shape[self.axis]
        return tuple(xp.take(g, i, axis=self.axis) for i in range(n))
