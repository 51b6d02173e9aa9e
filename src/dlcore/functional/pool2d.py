"""Pooling (NHWC): max, average and global average, on the pooling kernels."""
from __future__ import annotations

from ..autograd import Function
from ..primitives._helpers import _kernel
from ._common import _t


class MaxPool2D(Function):
    def forward(self, x, pool_size, strides, padding):
        self.x, self.cfg = x, dict(pool_size=pool_size, strides=strides, padding=padding)
        return _kernel("max_pool2d_forward")(x, **self.cfg)

    def backward(self, g):
        return _kernel("max_pool2d_backward")(g, self.x, **self.cfg)


class AvgPool2D(Function):
    def forward(self, x, pool_size, strides, padding):
        self.shape, self.cfg = x.shape, dict(pool_size=pool_size, strides=strides, padding=padding)
        return _kernel("avg_pool2d_forward")(x, **self.cfg)

    def backward(self, g):
        return _kernel("avg_pool2d_backward")(g, self.shape, **self.cfg)


class GlobalAvgPool2D(Function):
    def forward(self, x):
        self.shape = x.shape
        return _kernel("global_avg_pool2d_forward")(x)

    def backward(self, g):
        return _kernel("global_avg_pool2d_backward")(g, self.shape)


def _pool_checks(op, x):
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (batch, height, width, channels), got shape {x.shape}")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    x = _t(x)
    _pool_checks("max_pool2d", x)
    return MaxPool2D.apply(x, pool_size=pool_size, strides=strides, padding=padding)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    x = _t(x)
    _pool_checks("avg_pool2d", x)
    return AvgPool2D.apply(x, pool_size=pool_size, strides=strides, padding=padding)


def global_avg_pool2d(x, keepdims=False):
    x = _t(x)
    _pool_checks("global_avg_pool2d", x)
    y = GlobalAvgPool2D.apply(x)
    return y.reshape(y.shape[0], 1, 1, y.shape[1]) if keepdims else y

