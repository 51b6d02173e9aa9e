"""Convolution layers (channels_last): Conv1D, Conv2D. Thin subclasses of one base, as Keras."""
from __future__ import annotations

import numbers

from .. import activations, initializers, regularizers
from .. import functional as F
from .base import Layer, activation_arg, check_rank, conv_output_length, int_tuple, padding_arg


class _Conv(Layer):
    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        where, n = self._where(), self.rank
        if isinstance(filters, bool) or not isinstance(filters, numbers.Integral) or filters < 1:
            raise ValueError(f"{where}: 'filters' must be a positive int, got {filters!r}")
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{where}: only data_format='channels_last' (NHWC) is supported, got {data_format!r}")
        self.filters = int(filters)
        self.kernel_size = int_tuple(kernel_size, n, where, "kernel_size")
        self.strides = int_tuple(strides, n, where, "strides")
        self.dilation_rate = int_tuple(dilation_rate, n, where, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{where}: strides > 1 together with dilation_rate > 1 is not supported "
                             f"(got strides={self.strides}, dilation_rate={self.dilation_rate})")
        self.padding = padding_arg(padding, where)
        self.activation = activation_arg(where, activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def _layout(self):
        return "(batch, height, width, channels)" if self.rank == 2 else "(batch, steps, channels)"

    def build(self, input_shape):
        check_rank(self, input_shape, self.rank + 2, self._layout())
        if input_shape[-1] is None:
            raise ValueError(f"{self._where()}: the channel dimension of the input must be known, got {input_shape}")
        self.add_weight("kernel", self.kernel_size + (input_shape[-1], self.filters), self.kernel_initializer,
                        regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                    regularizer=self.bias_regularizer) if self.use_bias else None
        self.built = True

    def _check(self, inputs):
        if inputs.ndim != self.rank + 2:
            raise ValueError(f"{self._where()}: expected a {self.rank + 2}-D input {self._layout()}, "
                             f"got shape {tuple(inputs.shape)}")
        if inputs.shape[-1] != self.kernel.shape[-2]:
            raise ValueError(f"{self._where()}: expected input with {self.kernel.shape[-2]} channels (last dimension), "
                             f"got shape {tuple(inputs.shape)}")
        for axis, (k, d) in enumerate(zip(self.kernel_size, self.dilation_rate), start=1):
            if self.padding == "valid" and inputs.shape[axis] < (k - 1) * d + 1:
                raise ValueError(f"{self._where()}: input of shape {tuple(inputs.shape)} is smaller than the kernel "
                                 f"{self.kernel_size} (dilation {self.dilation_rate}) with padding='valid'")

    def compute_output_shape(self, input_shape):
        spatial = tuple(conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
                        zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate))
        return (input_shape[0],) + spatial + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "dilation_rate": list(self.dilation_rate),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer)}

    def extra_repr(self):
        return f"filters={self.filters}, kernel_size={self.kernel_size}, strides={self.strides}, padding={self.padding!r}"


class Conv2D(_Conv):
    """2-D convolution over NHWC images; kernel (kh, kw, c_in, filters)."""

    rank = 2

    def call(self, inputs, training=None):
        self._check(inputs)
        return F.conv2d(inputs, self.kernel, self.bias, strides=self.strides, padding=self.padding,
                        dilation=self.dilation_rate, activation=self.activation)


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels); kernel (k, c_in, filters)."""

    rank = 1

    def call(self, inputs, training=None):
        self._check(inputs)
        return F.conv1d(inputs, self.kernel, self.bias, strides=self.strides[0], padding=self.padding,
                        dilation=self.dilation_rate[0], activation=self.activation)
