"""Normalization without a C++ kernel, written with array code through `xp`: batch_norm, layer_norm."""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..primitives import get_array_module
from ..tensor import Tensor
from ._common import _array, _t


class BatchNorm(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, statistics over every axis but `axis`.

    backward (xhat = normalized x, m = elements per channel):
        dbeta = sum(g), dgamma = sum(g * xhat)
        dx = gamma / sqrt(var + eps) * (g - dbeta/m - xhat * dgamma/m)
    """

    training = True

    def forward(self, x, gamma, beta, mean, var, epsilon, reduce_axes, shape):
        xp = get_array_module(x)
        self.inv_std = 1.0 / xp.sqrt(var.reshape(shape) + epsilon)
        self.xhat = (x - mean.reshape(shape)) * self.inv_std
        self.gamma = gamma.reshape(shape) if gamma is not None else None
        self.reduce_axes, self.shape = reduce_axes, shape
        self.has_beta = beta is not None
        y = self.xhat * self.gamma if gamma is not None else self.xhat
        return y + beta.reshape(shape) if beta is not None else y

    def backward(self, g):
        ax = self.reduce_axes
        dbeta = g.sum(axis=ax) if self.has_beta else None
        dgamma = (g * self.xhat).sum(axis=ax) if self.gamma is not None else None
        gg = g * self.gamma if self.gamma is not None else g
        if self.training:  # the statistics came from this batch: their gradient flows too
            m = int(np.prod([g.shape[a] for a in ax]))
            dx = self.inv_std * (gg - gg.mean(axis=ax, keepdims=True)
                                 - self.xhat * (gg * self.xhat).sum(axis=ax, keepdims=True) / m)
        else:
            dx = gg * self.inv_std
        return dx, None if dgamma is None else dgamma.astype(g.dtype), None if dbeta is None else dbeta, None, None


class _BatchNormTrain(BatchNorm):
    training = True


class _BatchNormInfer(BatchNorm):
    training = False


def batch_norm(x, gamma, beta, moving_mean, moving_var, training=False, momentum=0.99, epsilon=1e-3, axis=-1):
    """Batch normalization (Keras semantics) over every axis but `axis`.

    training=True: normalize with the batch mean/variance (biased) and update `moving_mean` /
    `moving_var` in place: moving = moving * momentum + batch * (1 - momentum). training=False:
    normalize with the moving statistics. gamma/beta may be None (scale/center off).
    """
    x = _t(x)
    axis = axis % x.ndim
    c = x.shape[axis]
    reduce_axes = tuple(i for i in range(x.ndim) if i != axis)
    shape = tuple(c if i == axis else 1 for i in range(x.ndim))
    mm, mv = _array(moving_mean), _array(moving_var)
    if training:
        xd = x.data
        mean = xd.mean(axis=reduce_axes)
        var = xd.var(axis=reduce_axes)
        mm[...] = mm * momentum + mean * (1.0 - momentum)
        mv[...] = mv * momentum + var * (1.0 - momentum)
        op = _BatchNormTrain
    else:
        mean, var = mm, mv
        op = _BatchNormInfer
    return op.apply(x, _t(gamma), _t(beta), Tensor._make(mean), Tensor._make(var),
                    epsilon=epsilon, reduce_axes=reduce_axes, shape=shape)


class LayerNorm(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, statistics over `axes` of each sample.

    backward: dx = inv_std * (gg - mean(gg) - xhat * mean(gg * xhat)),  gg = g * gamma.
    """

    def forward(self, x, gamma, beta, axes, epsilon):
        xp = get_array_module(x)
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)
        self.inv_std = 1.0 / xp.sqrt(var + epsilon)
        self.xhat = (x - mean) * self.inv_std
        self.gamma, self.has_beta, self.axes = gamma, beta is not None, axes
        y = self.xhat * gamma if gamma is not None else self.xhat
        return y + beta if beta is not None else y

    def backward(self, g):
        lead = tuple(range(g.ndim - (self.gamma.ndim if self.gamma is not None else 0)))
        dgamma = (g * self.xhat).sum(axis=lead) if self.gamma is not None else None
        dbeta = g.sum(axis=lead) if self.has_beta else None
        gg = g * self.gamma if self.gamma is not None else g
        ax = self.axes
        dx = self.inv_std * (gg - gg.mean(axis=ax, keepdims=True)
                             - self.xhat * (gg * self.xhat).mean(axis=ax, keepdims=True))
        return dx, dgamma, dbeta


def layer_norm(x, gamma=None, beta=None, axis=-1, epsilon=1e-3):
    """Layer normalization over the trailing axes `axis` (an int or tuple of trailing axes)."""
    x = _t(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(sorted(a % x.ndim for a in axes))
    if axes != tuple(range(x.ndim - len(axes), x.ndim)):
        raise ValueError(f"layer_norm: axis must name the trailing axes of the input, got {axis} for shape {x.shape}")
    return LayerNorm.apply(x, _t(gamma), _t(beta), axes=axes, epsilon=epsilon)



class GroupNorm(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, statistics per sample and channel group, over
    the group's channels and every other axis; x with its channels last (N, ..., C), seen as
    (N, S, G, C/G).

    backward (xhat normalized, gg = g * gamma, means over the group's S * C/G values):
        dx = inv_std * (gg - mean(gg) - xhat * mean(gg * xhat))
    """

    def forward(self, x, gamma, beta, groups, epsilon):
        xp = get_array_module(x)
        n, c = x.shape[0], x.shape[-1]
        self.shape, self.grouped = x.shape, (n, -1, groups, c // groups)
        xg = x.reshape(self.grouped)
        mean = xg.mean(axis=(1, 3), keepdims=True)
        var = xg.var(axis=(1, 3), keepdims=True)
        self.inv_std = 1.0 / xp.sqrt(var + epsilon)
        self.xhat = ((xg - mean) * self.inv_std).reshape(x.shape)
        self.gamma, self.has_beta = gamma, beta is not None
        y = self.xhat * gamma if gamma is not None else self.xhat
        return y + beta if beta is not None else y

    def backward(self, g):
        lead = tuple(range(g.ndim - 1))
        dgamma = (g * self.xhat).sum(axis=lead) if self.gamma is not None else None
        dbeta = g.sum(axis=lead) if self.has_beta else None
        gg = (g * self.gamma if self.gamma is not None else g).reshape(self.grouped)
        xhat = self.xhat.reshape(self.grouped)
        dx = self.inv_std * (gg - gg.mean(axis=(1, 3), keepdims=True)
                             - xhat * (gg * xhat).mean(axis=(1, 3), keepdims=True))
        return dx.reshape(self.shape), dgamma, dbeta


def group_norm(x, gamma=None, beta=None, groups=32, axis=-1, epsilon=1e-3):
    """Group normalization (Keras's GroupNormalization): the channels on `axis` split into `groups`
    groups; each sample normalized per group over the group's channels and every other non-batch axis.
    gamma / beta (channels,) or None.

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    y = F.group_norm(np.random.rand(2, 4, 6), groups=3).numpy()
    assert abs(y[0, :, :2].mean()) < 1e-6
    ```
    """
    x = _t(x)
    if x.ndim < 2:
        raise ValueError(f"group_norm: expected an input (batch, ..., channels), got shape {x.shape}")
    axis = axis % x.ndim
    if axis == 0:
        raise ValueError(f"group_norm: 'axis' must not be the batch axis, got {axis} for shape {x.shape}")
    c = x.shape[axis]
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 or c % groups:
        raise ValueError(f"group_norm: 'groups' must be a positive int dividing the {c} channels on axis {axis}, "
                         f"got {groups!r}")
    last = axis == x.ndim - 1
    if not last:  # channels to the end and back
        order = tuple(i for i in range(x.ndim) if i != axis) + (axis,)
        x = x.transpose(*order)
    y = GroupNorm.apply(x, _t(gamma), _t(beta), groups=groups, epsilon=float(epsilon))
    if not last:
        inverse = tuple(int(i) for i in np.argsort(order))
        y = y.transpose(*inverse)
    return y
