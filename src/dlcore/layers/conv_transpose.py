"""Transposed convolution layers (channels_last): Conv1DTranspose, Conv2DTranspose. The forward pass is
the convolution's backward-data pass (dlcore.functional.conv_transpose)."""
from __future__ import annotations

from .. import activations, initializers, regularizers
from .. import functional as F
from ..functional.conv_transpose import conv_transpose_length
from .base import Layer, SpatialLayout, activation_arg, int_tuple, padding_arg


class _ConvTranspose(SpatialLayout, Layer):
    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        where, n = self._where(), self.rank
        if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
            raise ValueError(f"{where}: 'filters' must be a positive int, got {filters!r}")
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{where}: only data_format='channels_last' is supported, got {data_format!r}")
        self.filters = filters
        self.kernel_size = int_tuple(kernel_size, n, where, "kernel_size")
        self.strides = int_tuple(strides, n, where, "strides")
        self.dilation_rate = int_tuple(dilation_rate, n, where, "dilation_rate")
        self.padding = padding_arg(padding, where)
        if output_padding is None:
            self.output_padding = None
        else:
            if isinstance(output_padding, int) and not isinstance(output_padding, bool):
                output_padding = (output_padding,) * n
            try:
                self.output_padding = tuple(int(v) for v in output_padding)
            except TypeError:
                raise TypeError(f"{where}: 'output_padding' must be None, an int or a tuple of {n} ints, got "
                                f"{output_padding!r}") from None
            if len(self.output_padding) != n or min(self.output_padding) < 0:
                raise ValueError(f"{where}: 'output_padding' must be None, an int or a tuple of {n} ints >= 0, "
                                 f"got {output_padding!r}")
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(f"{where}: 'output_padding' must be smaller than the strides on every axis, got "
                                 f"output_padding={self.output_padding} and strides={self.strides}")
        self.activation = activation_arg(where, activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_shape):
        self._known_channels(input_shape)
        self.add_weight("kernel", self.kernel_size + (self.filters, input_shape[-1]), self.kernel_initializer,
                        regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                    regularizer=self.bias_regularizer) if self.use_bias else None
        self.built = True

    def call(self, inputs, training=None):
        channels = self.kernel.shape[-1]
        if inputs.ndim != self.rank + 2 or inputs.shape[-1] != channels:
            raise ValueError(f"{self._where()}: expected a {self.rank + 2}-D input {self._layout()} with {channels} "
                             f"channels, got shape {tuple(inputs.shape)}")
        fn = F.conv2d_transpose if self.rank == 2 else F.conv1d_transpose
        unwrap = (lambda t: t) if self.rank == 2 else (lambda t: None if t is None else t[0])
        return fn(inputs, self.kernel, self.bias, strides=unwrap(self.strides), padding=self.padding,
                  output_padding=unwrap(self.output_padding), dilation=unwrap(self.dilation_rate),
                  activation=self.activation)

    def compute_output_shape(self, input_shape):
        ops = self.output_padding or (None,) * self.rank
        spatial = tuple(conv_transpose_length(n, k, s, d, self.padding, o)[0] for n, k, s, d, o in
                        zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate, ops))
        return (input_shape[0],) + spatial + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding,
                "output_padding": None if self.output_padding is None else list(self.output_padding),
                "dilation_rate": list(self.dilation_rate), "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer)}

    def extra_repr(self):
        return (f"filters={self.filters}, kernel_size={self.kernel_size}, strides={self.strides}, "
                f"padding={self.padding!r}")


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution ("deconvolution"), as Keras: the gradient of a convolution with
    respect to its input, used to upsample feature maps (decoders, GAN generators).

    Weights: `kernel` (kh, kw, filters, input channels) -- Keras's layout, the channel axes of a
    Conv2D's kernel swapped -- and `bias` (filters,).

    Args:
        filters: output channels.
        kernel_size: int or (kh, kw).
        strides: int or pair (default 1).
        padding: "valid" or "same".
        output_padding: None, an int or a pair, each smaller than its stride: the extra rows / columns
            at the bottom / right of the output (None: inferred, as Keras).
        data_format: "channels_last" (or None).
        dilation_rate: int or pair (default 1).
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer: as Conv2D.

    Input shape: (batch, height, width, channels).
    Output shape: (batch, new_height, new_width, filters), per axis with k = (kernel - 1) * dilation + 1:
    "same": length * stride; "valid": (length - 1) * stride + max(k, stride); with output_padding p:
    (length - 1) * stride + k % 2 + p ("same") or (length - 1) * stride + k + p ("valid").

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    layer = dl.layers.Conv2DTranspose(4, 3, strides=2, padding="same")
    y = layer(np.random.rand(2, 7, 7, 8).astype("float32"))
    assert y.shape == (2, 14, 14, 4)
    ```
    """

    rank = 2


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution over (batch, steps, channels), as Keras.

    Weights: `kernel` (k, filters, input channels), `bias` (filters,). Arguments and output lengths as
    Conv2DTranspose, with ints for the window, strides, output_padding and dilation.

    Input shape: (batch, steps, channels).
    Output shape: (batch, new_steps, filters).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.Conv1DTranspose(3, 4, strides=2)(np.random.rand(2, 5, 6).astype("float32"))
    assert y.shape == (2, 12, 3)
    ```
    """

    rank = 1
