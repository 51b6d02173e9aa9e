"""Convolution layers (channels_last): Conv1D, Conv2D (with `groups`), DepthwiseConv1D / 2D and
SeparableConv1D / 2D. Thin subclasses of one base, as Keras."""
from __future__ import annotations

import numbers

from .. import activations, initializers, regularizers
from .. import functional as F
from ._layout import positive_int
from .base import Layer, SpatialLayout, activation_arg, conv_output_length, int_tuple, padding_arg


class _Conv(SpatialLayout, Layer):
    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        where, n = self._where(), self.rank
        if isinstance(filters, bool) or not isinstance(filters, numbers.Integral) or filters < 1:
            raise ValueError(f"{where}: 'filters' must be a positive int, got {filters!r}")
        self.groups = positive_int(where, "groups", groups)
        if filters % self.groups:
            raise ValueError(f"{where}: 'filters' must be divisible by 'groups', got filters={filters} and "
                             f"groups={groups}")
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

    def build(self, input_shape):
        self._known_channels(input_shape)
        if input_shape[-1] % self.groups:
            raise ValueError(f"{self._where()}: the input channels ({input_shape[-1]}) must be divisible by "
                             f"groups={self.groups}, got input shape {tuple(input_shape)}")
        self.add_weight("kernel", self.kernel_size + (input_shape[-1] // self.groups, self.filters),
                        self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                    regularizer=self.bias_regularizer) if self.use_bias else None
        self.built = True

    def _check(self, inputs):
        if inputs.ndim != self.rank + 2:
            raise ValueError(f"{self._where()}: expected a {self.rank + 2}-D input {self._layout()}, "
                             f"got shape {tuple(inputs.shape)}")
        channels = self.kernel.shape[-2] * self.groups
        if inputs.shape[-1] != channels:
            raise ValueError(f"{self._where()}: expected input with {channels} channels (last dimension), "
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
                "groups": self.groups, "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer)}

    def extra_repr(self):
        return f"filters={self.filters}, kernel_size={self.kernel_size}, strides={self.strides}, padding={self.padding!r}"


class Conv2D(_Conv):
    """2-D convolution over NHWC images; kernel (kh, kw, c_in / groups, filters).

    With `groups` > 1 the input channels and the filters are split into that many groups, each
    convolved with its own filters only (Keras's `groups`).
    """

    rank = 2

    def call(self, inputs, training=None):
        self._check(inputs)
        return F.conv2d(inputs, self.kernel, self.bias, strides=self.strides, padding=self.padding,
                        dilation=self.dilation_rate, activation=self.activation, groups=self.groups)


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels); kernel (k, c_in / groups, filters)."""

    rank = 1

    def call(self, inputs, training=None):
        self._check(inputs)
        return F.conv1d(inputs, self.kernel, self.bias, strides=self.strides[0], padding=self.padding,
                        dilation=self.dilation_rate[0], activation=self.activation, groups=self.groups)


class _DepthwiseBase(SpatialLayout, Layer):
    """What DepthwiseConv and SeparableConv share: the window arguments and the depthwise step."""

    rank = 2

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        where, n = self._where(), self.rank
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{where}: only data_format='channels_last' is supported, got {data_format!r}")
        self.kernel_size = int_tuple(kernel_size, n, where, "kernel_size")
        self.strides = int_tuple(strides, n, where, "strides")
        self.dilation_rate = int_tuple(dilation_rate, n, where, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{where}: strides > 1 together with dilation_rate > 1 is not supported "
                             f"(got strides={self.strides}, dilation_rate={self.dilation_rate})")
        self.padding = padding_arg(padding, where)
        self.depth_multiplier = positive_int(where, "depth_multiplier", depth_multiplier)
        self.activation = activation_arg(where, activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def _build_depthwise(self, channels):
        self.add_weight("depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier),
                        self.depthwise_initializer, regularizer=self.depthwise_regularizer)

    def _check(self, inputs):
        channels = self.depthwise_kernel.shape[-2]
        if inputs.ndim != self.rank + 2 or inputs.shape[-1] != channels:
            raise ValueError(f"{self._where()}: expected a {self.rank + 2}-D input {self._layout()} with {channels} "
                             f"channels, got shape {tuple(inputs.shape)}")
        for axis, (k, d) in enumerate(zip(self.kernel_size, self.dilation_rate), start=1):
            if self.padding == "valid" and inputs.shape[axis] < (k - 1) * d + 1:
                raise ValueError(f"{self._where()}: input of shape {tuple(inputs.shape)} is smaller than the kernel "
                                 f"{self.kernel_size} (dilation {self.dilation_rate}) with padding='valid'")

    def _depthwise(self, inputs, bias, activation):
        w = self.depthwise_kernel
        if self.rank == 2:
            return F.depthwise_conv2d(inputs, w, bias, strides=self.strides, padding=self.padding,
                                      dilation=self.dilation_rate, activation=activation)
        k, c, m = w.shape
        return F.conv1d(inputs, w.reshape(k, 1, c * m), bias, strides=self.strides[0], padding=self.padding,
                        dilation=self.dilation_rate[0], activation=activation, groups=c)

    def _spatial(self, input_shape):
        return tuple(conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
                     zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate))

    def get_config(self):
        return {**super().get_config(), "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "depth_multiplier": self.depth_multiplier,
                "dilation_rate": list(self.dilation_rate), "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer)}


class _DepthwiseConv(_DepthwiseBase):
    def build(self, input_shape):
        channels = self._known_channels(input_shape)
        self._build_depthwise(channels)
        self.bias = self.add_weight("bias", (channels * self.depth_multiplier,), self.bias_initializer,
                                    regularizer=self.bias_regularizer) if self.use_bias else None
        self.built = True

    def call(self, inputs, training=None):
        self._check(inputs)
        return self._depthwise(inputs, self.bias, self.activation)

    def compute_output_shape(self, input_shape):
        c = input_shape[-1]
        return (input_shape[0],) + self._spatial(input_shape) + (None if c is None else c * self.depth_multiplier,)


class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise 2-D convolution: each input channel convolved with its own `depth_multiplier` filters.

    Weights: `depthwise_kernel` (kh, kw, channels, depth_multiplier), `bias` (channels * depth_multiplier,).
    Output channel `c * depth_multiplier + j` comes from input channel c and filter j. Runs the
    depthwise kernels (SIMD over channels), not one convolution per channel.

    Args:
        kernel_size: int or (kh, kw).
        strides: int or pair (default 1).
        padding: "valid" or "same".
        depth_multiplier: filters per input channel (default 1).
        data_format: "channels_last" (or None).
        dilation_rate: int or pair (default 1).
        activation: activation name or callable (default none).
        use_bias: whether to add a bias (default True).
        depthwise_initializer, bias_initializer: initializers.
        depthwise_regularizer, bias_regularizer: regularizers.

    Input shape: (batch, height, width, channels).
    Output shape: (batch, new_height, new_width, channels * depth_multiplier).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    layer = dl.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)
    y = layer(np.random.rand(4, 8, 8, 3).astype("float32"))
    assert y.shape == (4, 8, 8, 6)
    ```
    """

    rank = 2


class DepthwiseConv1D(_DepthwiseConv):
    """Depthwise 1-D convolution over (batch, steps, channels): each channel with its own filters.

    Weights: `depthwise_kernel` (k, channels, depth_multiplier), `bias` (channels * depth_multiplier,).
    Arguments as DepthwiseConv2D, with ints for the window, strides and dilation.

    Input shape: (batch, steps, channels).
    Output shape: (batch, new_steps, channels * depth_multiplier).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.DepthwiseConv1D(3, padding="same")(np.random.rand(2, 10, 4).astype("float32"))
    assert y.shape == (2, 10, 4)
    ```
    """

    rank = 1


class _SeparableConv(_DepthwiseBase):
    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, **kwargs)
        self.filters = positive_int(self._where(), "filters", filters)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)

    def build(self, input_shape):
        channels = self._known_channels(input_shape)
        self._build_depthwise(channels)
        self.add_weight("pointwise_kernel", (1,) * self.rank + (channels * self.depth_multiplier, self.filters),
                        self.pointwise_initializer, regularizer=self.pointwise_regularizer)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                    regularizer=self.bias_regularizer) if self.use_bias else None
        self.built = True

    def call(self, inputs, training=None):
        self._check(inputs)
        mid = self._depthwise(inputs, None, None)
        conv = F.conv2d if self.rank == 2 else F.conv1d
        return conv(mid, self.pointwise_kernel, self.bias, activation=self.activation)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._spatial(input_shape) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
                "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer)}


class SeparableConv2D(_SeparableConv):
    """Depthwise separable 2-D convolution: a depthwise convolution (each channel with its own
    `depth_multiplier` filters) followed by a 1x1 convolution mixing the channels into `filters`.

    Weights: `depthwise_kernel` (kh, kw, channels, depth_multiplier), `pointwise_kernel`
    (1, 1, channels * depth_multiplier, filters), `bias` (filters,). The bias and the activation come
    after the pointwise step, as in Keras.

    Args:
        filters: output channels.
        kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier: as DepthwiseConv2D.
        activation, use_bias: as Conv2D.
        depthwise_initializer, pointwise_initializer, bias_initializer: initializers.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer: regularizers.

    Input shape: (batch, height, width, channels).
    Output shape: (batch, new_height, new_width, filters).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.SeparableConv2D(8, 3, activation="relu")(np.random.rand(2, 9, 9, 4).astype("float32"))
    assert y.shape == (2, 7, 7, 8)
    ```
    """

    rank = 2


class SeparableConv1D(_SeparableConv):
    """Depthwise separable 1-D convolution (depthwise, then a pointwise convolution to `filters`).

    Weights: `depthwise_kernel` (k, channels, depth_multiplier), `pointwise_kernel`
    (1, channels * depth_multiplier, filters), `bias` (filters,).

    Input shape: (batch, steps, channels).
    Output shape: (batch, new_steps, filters).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.SeparableConv1D(6, 3, padding="same")(np.random.rand(2, 12, 4).astype("float32"))
    assert y.shape == (2, 12, 6)
    ```
    """

    rank = 1
