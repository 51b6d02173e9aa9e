"""Pooling layers (channels_last): MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D."""
from __future__ import annotations

from .. import functional as F
from .base import Layer, conv_output_length, int_tuple, padding_arg


class _Pool2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        where = self._where()
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{where}: only data_format='channels_last' (NHWC) is supported, got {data_format!r}")
        self.pool_size = int_tuple(pool_size, 2, where, "pool_size")
        self.strides = int_tuple(strides, 2, where, "strides") if strides is not None else self.pool_size
        self.padding = padding_arg(padding, where)

    def _check(self, inputs):
        if inputs.ndim != 4:
            raise ValueError(f"{self._where()}: expected a 4-D input (batch, height, width, channels), "
                             f"got shape {tuple(inputs.shape)}")
        if self.padding == "valid" and (inputs.shape[1] < self.pool_size[0] or inputs.shape[2] < self.pool_size[1]):
            raise ValueError(f"{self._where()}: input of shape {tuple(inputs.shape)} is smaller than pool_size "
                             f"{self.pool_size} with padding='valid'")

    def compute_output_shape(self, input_shape):
        h, w = (conv_output_length(n, k, self.padding, s) for n, k, s in
                zip(input_shape[1:3], self.pool_size, self.strides))
        return (input_shape[0], h, w, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


class MaxPooling2D(_Pool2D):
    def call(self, inputs, training=None):
        self._check(inputs)
        return F.max_pool2d(inputs, self.pool_size, self.strides, self.padding)


class AveragePooling2D(_Pool2D):
    def call(self, inputs, training=None):
        self._check(inputs)
        return F.avg_pool2d(inputs, self.pool_size, self.strides, self.padding)


class GlobalAveragePooling2D(Layer):
    """(batch, h, w, c) -> (batch, c) (or (batch, 1, 1, c) with keepdims=True)."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{self._where()}: only data_format='channels_last' is supported, got {data_format!r}")
        self.keepdims = bool(keepdims)

    def call(self, inputs, training=None):
        if inputs.ndim != 4:
            raise ValueError(f"{self._where()}: expected a 4-D input (batch, height, width, channels), "
                             f"got shape {tuple(inputs.shape)}")
        return F.global_avg_pool2d(inputs, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1, 1, input_shape[3]) if self.keepdims else (input_shape[0], input_shape[3])

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


MaxPool2D, AvgPool2D, AveragePool2D, GlobalAvgPool2D = MaxPooling2D, AveragePooling2D, AveragePooling2D, \
    GlobalAveragePooling2D
