"""dl.ops, neural-network part: activations, one_hot, cross-entropies, convolution and pooling
(Keras's keras.ops.nn)."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..tensor import tensor as _tensor
from ._common import _t
from .numpy import convert_to_numpy

__all__ = [
    "relu", "relu6", "sigmoid", "tanh", "softmax", "log_softmax", "gelu", "elu", "selu", "leaky_relu", "silu",
    "swish", "softplus", "one_hot", "categorical_crossentropy", "sparse_categorical_crossentropy", "conv",
    "max_pool", "average_pool",
]


def relu(x):
    return F.relu(_t(x))


def relu6(x):
    return F.relu(_t(x)).clip(None, 6.0)


def sigmoid(x):
    return F.sigmoid(_t(x))


def tanh(x):
    return F.tanh(_t(x))


def softmax(x, axis=-1):
    return F.softmax(_t(x), axis=axis)


def log_softmax(x, axis=-1):
    return F.log_softmax(_t(x), axis=axis)


def gelu(x, approximate=True):
    """GELU; Keras's default is the tanh approximation (approximate=True)."""
    return F.gelu(_t(x), approximate=approximate)


def elu(x, alpha=1.0):
    return F.elu(_t(x), alpha=alpha)


def selu(x):
    scale, alpha = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717
    return F.elu(_t(x), alpha=alpha) * scale


def leaky_relu(x, negative_slope=0.2):
    return F.leaky_relu(_t(x), negative_slope=negative_slope)


def silu(x):
    return F.silu(_t(x))


swish = silu


def softplus(x):
    return F.softplus(_t(x))


def one_hot(x, num_classes, axis=-1, dtype=None):
    """One-hot vectors of integer classes (a new last axis; no gradient)."""
    if axis != -1:
        raise ValueError(f"dlcore.ops.one_hot: only axis=-1 is supported, got {axis!r}")
    labels = convert_to_numpy(x).astype(np.int64)
    return _tensor(np.eye(num_classes, dtype=dtype or np.float32)[labels])


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per-sample cross-entropy over the last axis (one-hot / soft targets)."""
    if axis != -1:
        raise ValueError(f"dlcore.ops.categorical_crossentropy: only axis=-1 is supported, got {axis!r}")
    return F.categorical_cross_entropy(target, output, from_logits=from_logits, reduction="none")


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per-sample cross-entropy with integer targets."""
    if axis != -1:
        raise ValueError(f"dlcore.ops.sparse_categorical_crossentropy: only axis=-1 is supported, got {axis!r}")
    return F.sparse_categorical_cross_entropy(target, output, from_logits=from_logits, reduction="none")


def _channels_last(op, data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"dlcore.ops.{op}: only data_format='channels_last' is supported, got {data_format!r}")


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """1-D (N, W, C) or 2-D (N, H, W, C) convolution with a (k..., C_in, C_out) kernel."""
    _channels_last("conv", data_format)
    x = _t(inputs)
    fn = {3: F.conv1d, 4: F.conv2d}.get(x.ndim)
    if fn is None:
        raise ValueError(f"dlcore.ops.conv: inputs of rank 3 or 4 (channels last), got shape {x.shape}")
    return fn(x, _t(kernel), strides=strides, padding=padding, dilation=dilation_rate)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """2-D max pooling of (N, H, W, C) inputs."""
    _channels_last("max_pool", data_format)
    return F.max_pool2d(_t(inputs), pool_size=pool_size, strides=strides, padding=padding)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """2-D average pooling of (N, H, W, C) inputs."""
    _channels_last("average_pool", data_format)
    return F.avg_pool2d(_t(inputs), pool_size=pool_size, strides=strides, padding=padding)
