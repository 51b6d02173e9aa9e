"""Indexing, item assignment, reshaping, transposing, broadcasting, splitting, joining, padding, copying.

Forward and backward side by side. The backward of each is linear in the gradient and reads no
input, so its `backward_graph` is the same rule applied with these ops on Tensors: indexing and
scatter-add (`GetItem`, `ScatterAdd`) are each other's backward, as are `Split` and `Concatenate`.

The ops whose output shares the input's storage (indexing with ints and slices, reshape when it
needs no copy, transpose, broadcast_to, split) say so (`view_of`), so that the engine gives the
output the input's version counter: an in-place change through either is seen by both.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ._helpers import _const, _scatter_add, _unbroadcast, get_array_module


def _is_basic(index):
    """True for ints/slices/None/Ellipsis only (no repeated element can be selected)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice, np.integer)) for i in items)


def _scatter(g, shape, index):
    """Zeros of `shape` with `g` added at `index` (repeated positions add up)."""
    out = get_array_module(g).zeros(shape, dtype=g.dtype)
    if _is_basic(index):
        out[index] = g
    else:
        _scatter_add(out, index, g)
    return out


class GetItem(Function):
    saved_inputs = ()

    def forward(self, a, index):
        self.shape, self.index = a.shape, index
        y = a[index]
        if get_array_module(a).may_share_memory(y, a):
            self.view_of = 0
        return y

    def backward(self, g):
        return _scatter(g, self.shape, self.index)

    def backward_graph(self, g, a):
        return ScatterAdd.apply(g, shape=self.shape, index=self.index)


class ScatterAdd(Function):
    """Zeros of `shape` with g added at `index`: the backward of indexing, as an op of its own."""

    saved_inputs = ()

    def forward(self, g, shape, index):
        self.index = index
        return _scatter(g, shape, index)

    def backward(self, gg):
        return gg[self.index]

    def backward_graph(self, gg, g):
        return GetItem.apply(gg, index=self.index)


class SetItem(Function):
    """a[index] = v, written into a's own storage: the output array is `a` itself.

    Only for the in-place methods of Tensor (`t[index] = v`, `copy_`, `fill_`, `zero_`), which apply
    it to a stand-in of the tensor that shares its storage and then give the tensor this node as
    its history. backward: the gradient passes to `a` except at `index`, and to `v` from `index`.
    """

    saved_inputs = ()

    def forward(self, a, v, index):
        self.index, self.sv = index, v.shape
        a[index] = v
        return a

    def backward(self, g):
        ga = g.copy()
        ga[self.index] = 0
        return ga, _unbroadcast(g[self.index], self.sv)

    def backward_graph(self, g, a, v):
        keep = get_array_module(g.data).ones(g.shape, dtype=g.dtype)
        keep[self.index] = 0
        return g * keep, _unbroadcast(GetItem.apply(g, index=self.index), self.sv)


class Reshape(Function):
    saved_inputs = ()

    def forward(self, a, shape):
        self.shape = a.shape
        y = a.reshape(shape)
        if get_array_module(a).may_share_memory(y, a):
            self.view_of = 0
        return y

    def backward(self, g):
        return g.reshape(self.shape)

    def backward_graph(self, g, a):
        return Reshape.apply(g, shape=self.shape)


class Transpose(Function):
    saved_inputs = ()
    view_of = 0

    def forward(self, a, axes):
        self.axes = None if axes is None else tuple(int(i) % max(a.ndim, 1) for i in axes)
        return a.transpose(self.axes) if axes is not None else a.T

    def backward(self, g):
        if self.axes is None:
            return g.T
        return g.transpose(tuple(np.argsort(self.axes)))

    def backward_graph(self, g, a):
        return Transpose.apply(g, axes=None if self.axes is None else tuple(int(i) for i in np.argsort(self.axes)))


class BroadcastTo(Function):
    """A read-only view of `a` repeated along the broadcast axes; backward sums them back."""

    saved_inputs = ()
    view_of = 0

    def forward(self, a, shape):
        self.shape = a.shape
        return get_array_module(a).broadcast_to(a, shape)

    def backward(self, g):
        return _unbroadcast(g, self.shape)

    def backward_graph(self, g, a):
        return _unbroadcast(g, self.shape)


class Concatenate(Function):
    saved_inputs = ()

    def forward(self, *arrays, axis):
        xp = get_array_module(arrays[0])
        self.axis = axis
        self.sizes = [a.shape[axis] for a in arrays]
        return xp.concatenate(arrays, axis=axis)

    def backward(self, g):
        xp = get_array_module(g)
        cuts = np.cumsum(self.sizes)[:-1]
        return tuple(xp.split(g, cuts, axis=self.axis))

    def backward_graph(self, g, *arrays):
        parts = Split.apply(g, sizes=tuple(self.sizes), axis=self.axis)
        return parts if type(parts) is tuple else (parts,)


class Split(Function):
    """Consecutive pieces of `sizes` along `axis` (views), one output each; backward joins them."""

    saved_inputs = ()
    view_of = 0

    def forward(self, a, sizes, axis):
        self.axis, self.shape, self.dtype = axis % a.ndim, a.shape, a.dtype
        self.sizes = sizes
        lead = (slice(None),) * self.axis
        ends = np.cumsum(sizes)
        return tuple(a[lead + (slice(int(e - s), int(e)),)] for s, e in zip(sizes, ends))

    def _piece_shape(self, k):
        return self.shape[:self.axis] + (self.sizes[k],) + self.shape[self.axis + 1:]

    def backward(self, grads):
        xp = get_array_module(next(g for g in grads if g is not None))
        parts = [g if g is not None else xp.zeros(self._piece_shape(k), dtype=self.dtype) for k, g in enumerate(grads)]
        return xp.concatenate(parts, axis=self.axis)

    def backward_graph(self, grads, a):
        xp = get_array_module(a.data)
        parts = [g if g is not None else _const(a, xp.zeros(self._piece_shape(k), dtype=self.dtype))
                 for k, g in enumerate(grads)]
        return Concatenate.apply(*parts, axis=self.axis)


class Stack(Function):
    saved_inputs = ()

    def forward(self, *arrays, axis):
        xp = get_array_module(arrays[0])
        self.axis = axis % (arrays[0].ndim + 1)
        return xp.stack(arrays, axis=axis)

    def backward(self, g):
        xp = get_array_module(g)
        n = g.shape[self.axis]
        return tuple(xp.take(g, i, axis=self.axis) for i in range(n))

    def backward_graph(self, g, *arrays):
        lead = (slice(None),) * self.axis
        return tuple(GetItem.apply(g, index=lead + (i,)) for i in range(g.shape[self.axis]))


class Tile(Function):
    """`a` repeated reps[i] times along axis i (one entry per axis); backward sums the copies."""

    saved_inputs = ()

    def forward(self, a, reps):
        self.shape, self.reps = a.shape, reps
        return get_array_module(a).tile(a, reps)

    def backward(self, g):  # axis i of g is reps[i] copies of a's axis i side by side
        g = g.reshape(sum(((r, n) for r, n in zip(self.reps, self.shape)), ()))
        return g.sum(axis=tuple(range(0, 2 * len(self.shape), 2)))

    def backward_graph(self, g, a):  # reshape and sum: the same code on Tensors
        return self.backward(g)


class Pad(Function):
    """Constant padding: `pad_width` one (before, after) pair per axis, filled with `value`."""

    saved_inputs = ()

    def forward(self, a, pad_width, value):
        self.index = tuple(slice(b, b + n) for (b, _), n in zip(pad_width, a.shape))
        return get_array_module(a).pad(a, pad_width, mode="constant", constant_values=value)

    def backward(self, g):
        return g[self.index]

    def backward_graph(self, g, a):
        return GetItem.apply(g, index=self.index)


class Clone(Function):
    """A copy with storage of its own (differentiable: the gradient passes unchanged)."""

    saved_inputs = ()

    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return g

    def backward_graph(self, g, a):
        return g
