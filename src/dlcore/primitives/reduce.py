"""Reductions and scans: sum, mean, max/min over axes, cumulative sum; forward and backward side by side."""
from __future__ import annotations

from ..autograd import Function
from ._helpers import get_array_module
from .shape import BroadcastTo, GetItem


def _kept(g, shape, axis):
    """`g`, reduced over `axis` of an input of `shape`, reshaped with those axes kept as 1s."""
    if axis is None:
        return g.reshape((1,) * len(shape))
    axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return g.reshape(tuple(1 if i in axes else s for i, s in enumerate(shape)))


class Sum(Function):
    saved_inputs = ()

    def forward(self, a, axis, keepdims):
        self.shape, self.axis = a.shape, axis
        return a.sum(axis=axis, keepdims=keepdims)

    def backward(self, g):
        return get_array_module(g).broadcast_to(_kept(g, self.shape, self.axis), self.shape)

    def backward_graph(self, g, a):
        return BroadcastTo.apply(_kept(g, self.shape, self.axis), shape=self.shape)


class Mean(Function):
    saved_inputs = ()

    def forward(self, a, axis, keepdims):
        self.shape, self.axis = a.shape, axis
        y = a.mean(axis=axis, keepdims=keepdims)
        self.count = (a.size // y.size) if y.size else 1
        return y

    def backward(self, g):
        return get_array_module(g).broadcast_to(_kept(g, self.shape, self.axis) / self.count, self.shape)

    def backward_graph(self, g, a):
        return BroadcastTo.apply(_kept(g, self.shape, self.axis) / self.count, shape=self.shape)


class Max(Function):
    """max (sign=1) or min (sign=-1) over axes; ties share the gradient equally.

    A NaN makes the max and the min NaN (NumPy's, PyTorch's); the gradient then goes to the NaN
    entries (shared among them), as max pooling sends it to the NaN -- never to a non-NaN entry,
    and never lost."""

    saved_inputs = (0,)
    saves_output = True

    def forward(self, a, axis, keepdims, sign):
        self.a, self.axis, self.keepdims = a, axis, keepdims
        y = a.max(axis=axis, keepdims=True) if sign > 0 else a.min(axis=axis, keepdims=True)
        self.y = y
        return y if keepdims else (y.reshape(()) if axis is None else y.squeeze(axis))

    def backward(self, g):
        if not self.keepdims:
            g = g.reshape(self.y.shape)
        mask = (self.a == self.y)
        if self.a.dtype.kind in "fc":
            xp = get_array_module(self.a)
            mask |= xp.isnan(self.a) & xp.isnan(self.y)
        count = mask.sum(axis=self.axis, keepdims=True)
        return (g * mask / count).astype(self.a.dtype)

    def backward_graph(self, g, a):  # the mask is a constant of the input: the same code on Tensors
        return self.backward(g)


def _flip(g, axis):
    return (slice(None),) * (axis % g.ndim) + (slice(None, None, -1),)


class Cumsum(Function):
    """Cumulative sum along `axis` (None: over the flattened array); backward: the reversed cumsum."""

    saved_inputs = ()

    def forward(self, a, axis):
        self.shape, self.axis = a.shape, axis
        return get_array_module(a).cumsum(a, axis=axis)

    def backward(self, g):
        xp = get_array_module(g)
        axis = 0 if self.axis is None else self.axis
        return xp.flip(xp.cumsum(xp.flip(g, axis), axis=axis), axis).reshape(self.shape)

    def backward_graph(self, g, a):
        axis = 0 if self.axis is None else self.axis
        flip = _flip(g, axis)
        return GetItem.apply(Cumsum.apply(GetItem.apply(g, index=flip), axis=axis), index=flip).reshape(self.shape)
