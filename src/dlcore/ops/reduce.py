"""Reductions: sum, mean, max/min over axes, forward and backward side by side."""
from __future__ import annotations

from ..autograd import Function
from ._helpers import get_array_module


class Sum(Function):
    def forward(self, a, axis, keepdims):
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        return a.sum(axis=axis, keepdims=keepdims)

    def backward(self, g):
        xp = get_array_module(g)
        if self.axis is not None and not self.keepdims:
            g = xp.expand_dims(g, self.axis)
        return xp.broadcast_to(g, self.shape)


class Mean(Function):
    def forward(self, a, axis, keepdims):
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        y = a.mean(axis=axis, keepdims=keepdims)
        self.count = (a.size // y.size) if y.size else 1
        return y

    def backward(self, g):
        xp = get_array_module(g)
        if self.axis is not None and not self.keepdims:
            g = xp.expand_dims(g, self.axis)
        return xp.broadcast_to(g / self.count, self.shape)


class Max(Function):
    """max (sign=1) or min (sign=-1) over axes; ties share the gradient equally.

    A NaN makes the max and the min NaN (NumPy's, PyTorch's); the gradient then goes to the NaN
    entries (shared among them), as max pooling sends it to the NaN -- never to a non-NaN entry,
    and never lost."""

    def forward(self, a, axis, keepdims, sign):
        self.a, self.axis, self.keepdims = a, axis, keepdims
        y = a.max(axis=axis, keepdims=True) if sign > 0 else a.min(axis=axis, keepdims=True)
        self.y = y
        return y if keepdims else (y.reshape(()) if axis is None else y.squeeze(axis))

    def backward(self, g):
        if not self.keepdims:
            g = g.reshape(self.y.shape)
        xp = get_array_module(g)
        mask = (self.a == self.y)
        if self.a.dtype.kind in "fc":
            mask |= xp.isnan(self.a) & xp.isnan(self.y)
        count = mask.sum(axis=self.axis, keepdims=True)
        return (g * mask / count).astype(self.a.dtype)
