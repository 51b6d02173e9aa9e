"""Activation functions by Keras name: `dl.activations.get("relu")` -> a callable on Tensors.

The functions and the name table are those of `dlcore.functional.activation` (the functional layer
needs the names too, for `linear(..., activation="gelu")`); this module is their Keras face.
"""
from __future__ import annotations

from .functional.activation import (ACTIVATIONS, elu, gelu, get_activation, leaky_relu, log_softmax, relu, sigmoid,
                                    silu, softmax, softplus, swish, tanh)
from .functional.activation import linear_activation as linear

__all__ = ["get", "serialize", "ACTIVATIONS", "linear", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "gelu",
           "elu", "leaky_relu", "softplus", "swish", "silu"]

get = get_activation


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
