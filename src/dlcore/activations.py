"""Activation functions by Keras name: `dl.activations.get("relu")` -> a callable on Tensors."""
from __future__ import annotations

from . import functional as F


def linear(x):
    return x


relu = F.relu
sigmoid = F.sigmoid
tanh = F.tanh
gelu = F.gelu
elu = F.elu
leaky_relu = F.leaky_relu
softplus = F.softplus
silu = F.silu
swish = F.silu


def softmax(x, axis=-1):
    return F.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return F.log_softmax(x, axis=axis)


ACTIVATIONS = {
    "linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax,
    "log_softmax": log_softmax, "gelu": gelu, "elu": elu, "leaky_relu": leaky_relu, "softplus": softplus,
    "swish": swish, "silu": silu,
}


def get(identifier):
    """The activation callable for a Keras name, a callable, or None (-> linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = ACTIVATIONS.get(identifier.lower())
        if fn is None:
            raise ValueError(f"unknown activation {identifier!r}; expected one of {sorted(ACTIVATIONS)} or a callable")
        return fn
    if callable(identifier):
        return identifier
    raise TypeError(f"activation must be a string or a callable, got {type(identifier).__name__}")


def serialize(activation):
    """The name of an activation (for get_config); custom callables give their __name__."""
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        return activation
    for name, fn in ACTIVATIONS.items():
        if fn is activation:
            return name
    return getattr(activation, "__name__", repr(activation))
