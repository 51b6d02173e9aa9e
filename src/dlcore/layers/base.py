"""Layer: a Module with the Keras lifecycle.

`__init__` validates and standardizes arguments, `build(input_shape)` creates the weights (when
the constructor returns if the input shape is known -- `input_shape=`, `input_dim=` -- else on the
first call, from the input's shape), `call(inputs, training=None)` stays short and delegates to
`dlcore.functional`. Inputs may be Tensors or NumPy arrays, or a list of them (merge layers);
floats are cast to the layer's dtype (float32 unless `dtype=` says otherwise).

Masks (Keras): a layer whose `call` takes `mask` receives the mask of its input (from
`dlcore.call_context`); after the call, a layer with `supports_masking = True` gives its output the
mask `compute_mask(inputs, mask)` returns (by default the input's: the layer keeps time steps as
they are). A mask reaching a layer that does not support masking is dropped with a warning, as in
Keras.
"""
from __future__ import annotations

import math
import numbers
import warnings

from .. import activations
from ..call_context import get_mask, set_mask
from ..module import Module, boundary_error


def _is_list(x):
    return isinstance(x, (list, tuple))


class Layer(Module):
    default_training = False  # Keras: a layer called without training= (and outside any call) infers
    cast_inputs = True  # Embedding keeps integer ids as they are
    supports_masking = False
    takes_list = False  # merge and attention layers (and wrappers of any layer) take a list of inputs

    def _takes_list(self):
        # a layer defined outside dlcore may take a list in its call, as in Keras
        return self.takes_list or not type(self).__module__.startswith("dlcore.")

    def _after_init(self):
        shape = self._known_input_shape()
        if shape is not None and not self.built:
            self.build(shape)
            self.built = True

    def _known_input_shape(self):
        """The input shape (batch axis first) when the constructor's arguments tell it, else None."""
        return self.batch_input_shape

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except (TypeError, ValueError) as e:
            # the call is the boundary: its errors name the layer (a kernel's message names the kernel)
            named = boundary_error(e, self._where(), type(self).__name__, self.name)
            if named is None:
                raise
            raise named from e

    def _call_eager(self, inputs, *args, **kwargs):
        if _is_list(inputs) and not self._takes_list():
            raise TypeError(f"{self._where()}: expected one input (an array or a Tensor), got a list of {len(inputs)}; "
                            f"a nested list of numbers is one input once made an array: np.asarray(...)")
        in_mask = [get_mask(x) for x in inputs] if _is_list(inputs) else get_mask(inputs)
        if _is_list(inputs):
            inputs = [self._as_input(x, f"inputs[{i}]", cast=self.cast_inputs) for i, x in enumerate(inputs)]
            for x, m in zip(inputs, in_mask):
                if m is not None:
                    set_mask(x, m)  # a cast input keeps its mask
        else:
            inputs = self._as_input(inputs, cast=self.cast_inputs)
            if in_mask is not None:
                set_mask(inputs, in_mask)
        if not self.built:
            self.build([tuple(x.shape) for x in inputs] if _is_list(inputs) else tuple(inputs.shape))
            self.built = True
        has_mask = any(m is not None for m in in_mask) if _is_list(in_mask) else in_mask is not None
        if has_mask and kwargs.get("mask") is None and self._forward_takes("mask"):
            kwargs["mask"] = in_mask
        outputs = self.call(inputs, *args, **kwargs)
        if self.supports_masking:
            mask = kwargs.get("mask", in_mask)
            _attach_masks(outputs, self.compute_mask(inputs, mask))
        elif has_mask:
            warnings.warn(f"{self._where()} was given an input with a mask, but it does not support masking: the "
                          f"mask stops here and the layers after it will not see it", stacklevel=3)
        return outputs

    def call(self, inputs, training=None):  # pragma: no cover - interface
        raise NotImplementedError

    def compute_mask(self, inputs, mask=None):
        """The mask of the output (Keras): the input's, for a layer that keeps the time steps."""
        return mask if self.supports_masking else None

    def _forward_fn(self):
        return type(self).call

    def forward(self, *args, **kwargs):
        return self(*args, **kwargs)

    def _need_built(self):
        if not self.built:
            raise ValueError(f"{self._where()}: the layer is not built yet; call it on an input or pass input_shape=")


def _attach_masks(outputs, masks):
    """Record each output's mask (unless it has one already: a layer may return its input as is)."""
    if masks is None:
        return
    outs = list(outputs) if _is_list(outputs) else [outputs]
    if _is_list(masks):
        masks = list(masks)
    else:  # one mask: the (first) output's; the others (final RNN states) are per sample
        masks = [masks] + [None] * (len(outs) - 1)
    for out, mask in zip(outs, masks):
        if mask is not None and get_mask(out) is None:
            set_mask(out, mask)


def check_rank(layer, input_shape, rank, layout):
    """ValueError unless inputs are `rank`-D (batch axis included)."""
    if len(input_shape) != rank:
        raise ValueError(f"{layer._where()}: expected a {rank}-D input {layout}, got shape {tuple(input_shape)}")


class SpatialLayout:
    """For layers on inputs of `rank` spatial axes between the batch and the channels (channels last,
    or first where the layer's `data_format` says so): the layout their messages name, and the channel
    count their weights are built for."""

    def _layout(self):
        if getattr(self, "data_format", None) == "channels_first":
            return "(batch, channels, height, width)" if self.rank == 2 else "(batch, channels, steps)"
        return "(batch, height, width, channels)" if self.rank == 2 else "(batch, steps, channels)"

    def _known_channels(self, input_shape):
        """The channel count of a (rank + 2)-D channels-last input shape; ValueError unless it is known."""
        check_rank(self, input_shape, self.rank + 2, self._layout())
        if input_shape[-1] is None:
            raise ValueError(f"{self._where()}: the channel dimension of the input must be known, got {input_shape}")
        return input_shape[-1]


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
