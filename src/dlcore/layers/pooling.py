"""Pooling layers: MaxPooling1D/2D, AveragePooling1D/2D, GlobalAveragePooling1D/2D, GlobalMaxPooling1D/2D.

channels_last (Keras's default) runs the pooling kernels directly; data_format="channels_first" moves
the channels last and back around them (two transposing copies).
"""
from __future__ import annotations

from .. import functional as F
from ..primitives import get_array_module
from ..tensor import Tensor
from ._layout import (data_format_arg, shape_to_channels_first, shape_to_channels_last, to_channels_first,
                      to_channels_last)
from .base import Layer, SpatialLayout, conv_output_length, int_tuple, padding_arg


class _Pool(SpatialLayout, Layer):
    rank = 2
    kind = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        where, n = self._where(), self.rank
        self.data_format = data_format_arg(where, data_format)
        self.pool_size = int_tuple(pool_size, n, where, "pool_size")
        self.strides = int_tuple(strides, n, where, "strides") if strides is not None else self.pool_size
        self.padding = padding_arg(padding, where)

    def call(self, inputs, training=None):
        if inputs.ndim != self.rank + 2:
            raise ValueError(f"{self._where()}: expected a {self.rank + 2}-D input {self._layout()}, "
                             f"got shape {tuple(inputs.shape)}")
        x = to_channels_last(inputs) if self.data_format == "channels_first" else inputs
        if self.padding == "valid" and any(n < k for n, k in zip(x.shape[1:-1], self.pool_size)):
            raise ValueError(f"{self._where()}: input of shape {tuple(inputs.shape)} is smaller than pool_size "
                             f"{self.pool_size} with padding='valid'")
        if self.rank == 2:
            fn = F.max_pool2d if self.kind == "max" else F.avg_pool2d
            y = fn(x, self.pool_size, self.strides, self.padding)
        else:
            fn = F.max_pool1d if self.kind == "max" else F.avg_pool1d
            y = fn(x, self.pool_size[0], self.strides[0], self.padding)
        return to_channels_first(y) if self.data_format == "channels_first" else y

    def compute_output_shape(self, input_shape):
        first = self.data_format == "channels_first"
        shape = shape_to_channels_last(input_shape) if first else tuple(input_shape)
        spatial = tuple(conv_output_length(n, k, self.padding, s) for n, k, s in
                        zip(shape[1:-1], self.pool_size, self.strides))
        out = (shape[0],) + spatial + (shape[-1],)
        return shape_to_channels_first(out) if first else out

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format}


_POOL_DOC = """{what} pooling over windows of `pool_size` {units}, moved by `strides`.

    Args:
        pool_size: {size_arg} (default 2).
        strides: {size_arg}, or None for `pool_size`.
        padding: "valid" (windows inside the input) or "same" (ceil(length / stride) outputs; the
            padding takes no part{avg_note}).
        data_format: "channels_last" (default) or "channels_first".

    Input shape: {input_shape} (channels_last).
    Output shape: {output_shape}.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.{name}({example_args})(np.random.rand({example_shape}).astype("float32"))
    assert y.shape == {example_out}
    ```
    """


class MaxPooling2D(_Pool):
    rank, kind = 2, "max"
    __doc__ = _POOL_DOC.format(what="Max", units="pixels", size_arg="int or (rows, cols)", avg_note="",
                               input_shape="(batch, height, width, channels)",
                               output_shape="(batch, pooled_height, pooled_width, channels)", name="MaxPooling2D",
                               example_args="(2, 2)", example_shape="2, 8, 9, 3", example_out="(2, 4, 4, 3)")


class AveragePooling2D(_Pool):
    rank, kind = 2, "avg"
    __doc__ = _POOL_DOC.format(what="Average", units="pixels", size_arg="int or (rows, cols)",
                               avg_note=", not counted by the average",
                               input_shape="(batch, height, width, channels)",
                               output_shape="(batch, pooled_height, pooled_width, channels)",
                               name="AveragePooling2D", example_args="2, padding=\"same\"",
                               example_shape="2, 7, 7, 3", example_out="(2, 4, 4, 3)")


class MaxPooling1D(_Pool):
    rank, kind = 1, "max"
    __doc__ = _POOL_DOC.format(what="Max", units="steps", size_arg="int", avg_note="",
                               input_shape="(batch, steps, features)", output_shape="(batch, pooled_steps, features)",
                               name="MaxPooling1D", example_args="3, strides=1", example_shape="2, 10, 4",
                               example_out="(2, 8, 4)")


class AveragePooling1D(_Pool):
    rank, kind = 1, "avg"
    __doc__ = _POOL_DOC.format(what="Average", units="steps", size_arg="int", avg_note=", not counted by the average",
                               input_shape="(batch, steps, features)", output_shape="(batch, pooled_steps, features)",
                               name="AveragePooling1D", example_args="2", example_shape="2, 10, 4",
                               example_out="(2, 5, 4)")


class _GlobalPool(SpatialLayout, Layer):
    rank = 2
    kind = "avg"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_arg(self._where(), data_format)
        self.keepdims = bool(keepdims)

    def call(self, inputs, training=None, mask=None):
        if inputs.ndim != self.rank + 2:
            raise ValueError(f"{self._where()}: expected a {self.rank + 2}-D input {self._layout()}, "
                             f"got shape {tuple(inputs.shape)}")
        x = to_channels_last(inputs) if self.data_format == "channels_first" else inputs
        if any(n == 0 for n in x.shape[1:-1]):
            raise ValueError(f"{self._where()}: the input must have at least one position to pool, got shape "
                             f"{tuple(inputs.shape)}")
        if mask is not None:
            y = self._masked(x, mask)
        elif self.rank == 2:
            y = (F.global_avg_pool2d if self.kind == "avg" else F.global_max_pool2d)(x)
        else:
            y = (F.global_avg_pool1d if self.kind == "avg" else F.global_max_pool1d)(x)
        if not self.keepdims:
            return y
        ones = (1,) * self.rank
        shape = (y.shape[0], y.shape[1]) + ones if self.data_format == "channels_first" else \
            (y.shape[0],) + ones + (y.shape[1],)
        return y.reshape(*shape)

    def _masked(self, x, mask):
        raise ValueError(f"{self._where()}: this layer takes no mask (Keras's {type(self).__name__} does not either)")

    def compute_output_shape(self, input_shape):
        c = input_shape[1] if self.data_format == "channels_first" else input_shape[-1]
        if not self.keepdims:
            return (input_shape[0], c)
        ones = (1,) * self.rank
        return (input_shape[0], c) + ones if self.data_format == "channels_first" else (input_shape[0],) + ones + (c,)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


_GLOBAL_DOC = """The {what} of each channel over {over}: {input_shape} -> (batch, channels), or
    {keep_shape} with keepdims=True.{extra}

    Args:
        data_format: "channels_last" (default) or "channels_first" ({first_shape}).
        keepdims: keep the pooled axes, with size 1 (default False).

    Input shape: {input_shape} (channels_last).
    Output shape: (batch, channels), or {keep_shape} with keepdims=True.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.{name}()(np.random.rand({example_shape}).astype("float32"))
    assert y.shape == {example_out}
    ```
    """


class GlobalAveragePooling2D(_GlobalPool):
    rank, kind = 2, "avg"
    __doc__ = _GLOBAL_DOC.format(what="mean", over="height and width", input_shape="(batch, height, width, channels)",
                                 keep_shape="(batch, 1, 1, channels)", extra="",
                                 first_shape="(batch, channels, height, width)", name="GlobalAveragePooling2D",
                                 example_shape="2, 5, 5, 3", example_out="(2, 3)")


class GlobalMaxPooling2D(_GlobalPool):
    rank, kind = 2, "max"
    __doc__ = _GLOBAL_DOC.format(what="maximum", over="height and width",
                                 input_shape="(batch, height, width, channels)", keep_shape="(batch, 1, 1, channels)",
                                 extra=" The gradient goes to the first position of the maximum.",
                                 first_shape="(batch, channels, height, width)", name="GlobalMaxPooling2D",
                                 example_shape="2, 5, 5, 3", example_out="(2, 3)")


class GlobalMaxPooling1D(_GlobalPool):
    rank, kind = 1, "max"
    __doc__ = _GLOBAL_DOC.format(what="maximum", over="the steps", input_shape="(batch, steps, features)",
                                 keep_shape="(batch, 1, features)",
                                 extra=" The gradient goes to the first step holding the maximum.",
                                 first_shape="(batch, features, steps)", name="GlobalMaxPooling1D",
                                 example_shape="2, 7, 4", example_out="(2, 4)")


class GlobalAveragePooling1D(_GlobalPool):
    rank, kind = 1, "avg"
    __doc__ = _GLOBAL_DOC.format(what="mean", over="the steps", input_shape="(batch, steps, features)",
                                 keep_shape="(batch, 1, features)",
                                 extra=" With `mask` (batch, steps) given to the call, the mean is over the "
                                       "unmasked steps only (Keras).",
                                 first_shape="(batch, features, steps)", name="GlobalAveragePooling1D",
                                 example_shape="2, 7, 4", example_out="(2, 4)")

    def _masked(self, x, mask):
        xp = get_array_module(x.data)
        m = xp.asarray(mask.data if isinstance(mask, Tensor) else mask)
        if tuple(m.shape) != tuple(x.shape[:2]):
            raise ValueError(f"{self._where()}: 'mask' must have shape {tuple(x.shape[:2])} (batch, steps), got "
                             f"{tuple(m.shape)}")
        keep = (m > 0.5 if m.dtype != bool else m).astype(x.dtype)[:, :, None]
        return (x * keep).sum(axis=1) / keep.sum(axis=1)


MaxPool2D, AvgPool2D, AveragePool2D, GlobalAvgPool2D = MaxPooling2D, AveragePooling2D, AveragePooling2D, \
    GlobalAveragePooling2D
MaxPool1D, AvgPool1D, GlobalMaxPool1D, GlobalMaxPool2D, GlobalAvgPool1D = MaxPooling1D, AveragePooling1D, \
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalAveragePooling1D
