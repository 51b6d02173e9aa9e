"""Layer: a Module with the Keras lifecycle.

`__init__` validates and standardizes arguments, `build(input_shape)` creates the weights (on the
first call, from the input's shape), `call(inputs, training=None)` stays short and delegates to
`dlcore.functional`. Inputs may be Tensors or NumPy arrays; floats are cast to the layer's dtype
(float32 unless `dtype=` says otherwise).
"""
from __future__ import annotations

import math
import numbers

from .. import activations
from ..module import Module


class Layer(Module):
    cast_inputs = True  # Embedding keeps integer ids as they are

    def _call_eager(self, inputs, *args, **kwargs):
        inputs = self._as_input(inputs, cast=self.cast_inputs)
        if not self.built:
            self.build(tuple(inputs.shape))
            self.built = True
        return self.call(inputs, *args, **kwargs)

    def call(self, inputs, training=None):  # pragma: no cover - interface
        raise NotImplementedError

    def forward(self, *args, **kwargs):
        return self(*args, **kwargs)

    def _training(self, training):
        return self.training if training is None else bool(training)

    def _need_built(self):
        if not self.built:
            raise ValueError(f"{self._where()}: the layer is not built yet; call it on an input or pass input_shape=")


def check_rank(layer, input_shape, rank, layout):
    """ValueError unless inputs are `rank`-D (batch axis included)."""
    if len(input_shape) != rank:
        raise ValueError(f"{layer._where()}: expected a {rank}-D input {layout}, got shape {tuple(input_shape)}")


def activation_arg(layer_name, activation):
    """Validate an activation argument early (a Keras name, a callable or None)."""
    try:
        activations.get(activation)
    except (ValueError, TypeError) as e:
        raise type(e)(f"{layer_name}: invalid 'activation': {e}") from None
    return activation


def float_arg(value, layer_name, arg, low=-math.inf, high=math.inf, low_open=False, high_open=False):
    """A real number (Python's or NumPy's) in the range, as a float: TypeError for anything else
    (a bool, a string), ValueError for NaN or a value out of the range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{layer_name}: '{arg}' must be a number, got {type(value).__name__} ({value!r:.60})")
    v = float(value)
    if math.isnan(v) or (v <= low if low_open else v < low) or (v >= high if high_open else v > high):
        lo, hi = ("(" if low_open else "[") + f"{low:g}", f"{high:g}" + (")" if high_open else "]")
        raise ValueError(f"{layer_name}: '{arg}' must be a float in {lo}, {hi}, got {value!r}")
    return v


def int_tuple(value, n, layer_name, arg):
    """An int or an n-sequence of ints as an n-tuple of positive ints."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,) * n
    try:
        value = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"{layer_name}: '{arg}' must be an int or a tuple of {n} ints, got {value!r}") from None
    if len(value) != n or any(v < 1 for v in value):
        raise ValueError(f"{layer_name}: '{arg}' must be an int or a tuple of {n} positive ints, got {value!r}")
    return value


def padding_arg(padding, layer_name):
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"{layer_name}: 'padding' must be 'valid' or 'same', got {padding!r}")
    return padding.lower()


def conv_output_length(length, kernel, padding, stride, dilation=1):
    """Keras's output length of a conv/pool window along one axis (None stays None)."""
    if length is None:
        return None
    if padding == "same":
        return -(-length // stride)
    eff = (kernel - 1) * dilation + 1
    return max((length - eff) // stride + 1, 0)
