"""Activations on Tensors (F.relu, F.softmax, ...) and the Keras activation names.

The Functions (forward and backward on the activation kernels) are in `dlcore.primitives.activation`,
where Tensor's methods (`t.relu()`) apply them too. `ACTIVATIONS` and `get_activation` resolve
Keras names (`dl.activations` is built on them) so that `linear(..., activation="gelu")` and conv
can apply an activation given by name.
"""
from __future__ import annotations

from ..primitives.activation import Elu, Gelu, LeakyRelu, LogSoftmax, Relu, Sigmoid, Silu, Softmax, Softplus, Tanh
from ._common import _t


def relu(x):
    return Relu.apply(_t(x))


def sigmoid(x):
    return Sigmoid.apply(_t(x))


def tanh(x):
    return Tanh.apply(_t(x))


def leaky_relu(x, negative_slope=0.2):
    """max(x, negative_slope * x); Keras's default slope 0.2."""
    return LeakyRelu.apply(_t(x), negative_slope=float(negative_slope))


def elu(x, alpha=1.0):
    return Elu.apply(_t(x), alpha=float(alpha))


def gelu(x, approximate=False):
    return Gelu.apply(_t(x), approximate=bool(approximate))


def softplus(x):
    return Softplus.apply(_t(x))


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    return Silu.apply(_t(x))


swish = silu


def softmax(x, axis=-1):
    return Softmax.apply(_t(x), axis=int(axis))


def log_softmax(x, axis=-1):
    return LogSoftmax.apply(_t(x), axis=int(axis))


def linear_activation(x):
    return x


# Keras names -> activations (`dl.activations.get` resolves through this table)
ACTIVATIONS = {
    "linear": linear_activation, "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax,
    "log_softmax": log_softmax, "gelu": gelu, "elu": elu, "leaky_relu": leaky_relu, "softplus": softplus,
    "swish": swish, "silu": silu,
}


def get_activation(identifier):
    """The activation callable for a Keras name, a callable, or None (-> linear)."""
    if identifier is None:
        return linear_activation
    if isinstance(identifier, str):
        fn = ACTIVATIONS.get(identifier.lower())
        if fn is None:
            raise ValueError(f"unknown activation {identifier!r}; expected one of {sorted(ACTIVATIONS)} or a callable")
        return fn
    if callable(identifier):
        return identifier
    raise TypeError(f"activation must be a string or a callable, got {type(identifier).__name__}")
