"""Argument helpers shared by the layers of issue 12 (pooling, reshaping, convolution variants): the
`data_format` argument and the moves between channels_first and channels_last."""
from __future__ import annotations

import numbers

FORMATS = ("channels_last", "channels_first")


def data_format_arg(where, data_format, supported=FORMATS):
    """"channels_last" for None (Keras's default image_data_format), else the checked value."""
    value = "channels_last" if data_format is None else data_format
    if value not in supported:
        only = "only " if len(supported) == 1 else ""
        raise ValueError(f"{where}: 'data_format' must be {only}{' or '.join(repr(f) for f in supported)}, "
                         f"got {data_format!r}")
    return value


def to_channels_last(x):
    """(batch, channels, d1, ...) -> (batch, d1, ..., channels)."""
    return x.transpose(0, *range(2, x.ndim), 1)


def to_channels_first(x):
    """(batch, d1, ..., channels) -> (batch, channels, d1, ...)."""
    return x.transpose(0, x.ndim - 1, *range(1, x.ndim - 1))


def shape_to_channels_last(shape):
    return (shape[0],) + tuple(shape[2:]) + (shape[1],)


def shape_to_channels_first(shape):
    return (shape[0], shape[-1]) + tuple(shape[1:-1])


def positive_int(where, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{where}: '{name}' must be a positive int, got {value!r}")
    return int(value)


def check_input_rank(layer, inputs, rank, layout):
    if inputs.ndim != rank:
        raise ValueError(f"{layer._where()}: expected a {rank}-D input {layout}, got shape {tuple(inputs.shape)}")
