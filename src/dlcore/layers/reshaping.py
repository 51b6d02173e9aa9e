"""Reshaping layers: UpSampling1D/2D, ZeroPadding1D/2D, Cropping1D/2D, RepeatVector, Permute.

UpSampling runs the upsample2d kernels (C++ / CUDA); the others are one copy each (dlcore.functional
reshaping). The 2-D layers take data_format="channels_first" too: only the axes they act on change.
"""
from __future__ import annotations

from .. import functional as F
from ..functional.reshaping import _pairs
from ._layout import data_format_arg, positive_int, to_channels_first, to_channels_last
from .base import Layer, int_tuple

_INTERPOLATIONS = ("nearest", "bilinear")
_KERAS_ONLY = ("bicubic", "lanczos3", "lanczos5", "area")


def _spatial_axes(rank, data_format):
    return tuple(range(1, rank + 1)) if data_format == "channels_last" else tuple(range(2, rank + 2))


def _rank_check(layer, inputs, n, layout):
    if inputs.ndim != n:
        raise ValueError(f"{layer._where()}: expected a {n}-D input {layout}, got shape {tuple(inputs.shape)}")


def _layout2d(data_format):
    return "(batch, height, width, channels)" if data_format == "channels_last" else "(batch, channels, height, width)"


class UpSampling1D(Layer):
    """Repeats every step `size` times along the time axis (Keras's UpSampling1D).

    Args:
        size: the upsampling factor, a positive int (default 2).

    Input shape: (batch, steps, features).
    Output shape: (batch, steps * size, features).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.UpSampling1D(3)(np.arange(4, dtype="float32").reshape(1, 2, 2))
    assert y.shape == (1, 6, 2) and y.numpy()[0, :3, 0].tolist() == [0.0, 0.0, 0.0]
    ```
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = positive_int(self._where(), "size", size)

    def call(self, inputs, training=None):
        _rank_check(self, inputs, 3, "(batch, steps, features)")
        return F.upsampling1d(inputs, self.size)

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n * self.size, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class UpSampling2D(Layer):
    """Upsamples images by integer factors (Keras's UpSampling2D) on the upsample2d kernels.

    Args:
        size: int or (rows, cols) factors (default (2, 2)).
        data_format: "channels_last" (default) or "channels_first".
        interpolation: "nearest" (every pixel repeated) or "bilinear" (half-pixel centres, as Keras's
            and tf.image.resize's). Keras's "bicubic", "lanczos3", "lanczos5" and "area" are not
            implemented and raise.

    Input shape: (batch, height, width, channels) (channels_last).
    Output shape: (batch, height * rows, width * cols, channels).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.UpSampling2D((2, 3), interpolation="bilinear")(np.random.rand(2, 4, 4, 3).astype("float32"))
    assert y.shape == (2, 8, 12, 3)
    ```
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        where = self._where()
        self.size = int_tuple(size, 2, where, "size")
        self.data_format = data_format_arg(where, data_format)
        if interpolation in _KERAS_ONLY:
            raise ValueError(f"{where}: interpolation={interpolation!r} is not implemented; use 'nearest' or "
                             f"'bilinear'")
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"{where}: 'interpolation' must be 'nearest' or 'bilinear', got {interpolation!r}")
        self.interpolation = interpolation

    def call(self, inputs, training=None):
        _rank_check(self, inputs, 4, _layout2d(self.data_format))
        if self.data_format == "channels_first":
            return to_channels_first(F.upsampling2d(to_channels_last(inputs), self.size, self.interpolation))
        return F.upsampling2d(inputs, self.size, self.interpolation)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for axis, f in zip(_spatial_axes(2, self.data_format), self.size):
            out[axis] = None if out[axis] is None else out[axis] * f
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format,
                "interpolation": self.interpolation}


class _Padding(Layer):
    rank = 2
    kind = "pad"  # or "crop"

    def _layout(self):
        return "(batch, steps, features)" if self.rank == 1 else _layout2d(self.data_format)

    def call(self, inputs, training=None):
        _rank_check(self, inputs, self.rank + 2, self._layout())
        axes = _spatial_axes(self.rank, self.data_format)
        if self.kind == "pad":
            return F.zero_padding(inputs, self.amounts, axes)
        for axis, (before, after) in zip(axes, self.amounts):
            if before + after >= inputs.shape[axis]:
                raise ValueError(f"{self._where()}: cropping {(before, after)} removes every position of axis "
                                 f"{axis} of the input of shape {tuple(inputs.shape)}")
        return F.cropping(inputs, self.amounts, axes)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        sign = 1 if self.kind == "pad" else -1
        for axis, (before, after) in zip(_spatial_axes(self.rank, self.data_format), self.amounts):
            out[axis] = None if out[axis] is None else out[axis] + sign * (before + after)
        return tuple(out)


class ZeroPadding1D(_Padding):
    """Adds zeros at the start and end of the time axis (Keras's ZeroPadding1D).

    Args:
        padding: int (both ends) or (start, end) (default 1).

    Input shape: (batch, steps, features).
    Output shape: (batch, start + steps + end, features).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.ZeroPadding1D((1, 2))(np.ones((2, 3, 4), "float32"))
    assert y.shape == (2, 6, 4) and float(y.numpy()[:, 0].sum()) == 0.0
    ```
    """

    rank, kind, data_format = 1, "pad", "channels_last"

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.amounts = _pairs(self._where(), "padding", padding, 1)

    def get_config(self):
        return {**super().get_config(), "padding": list(self.amounts[0])}


class ZeroPadding2D(_Padding):
    """Adds rows and columns of zeros around images (Keras's ZeroPadding2D).

    Args:
        padding: int (every side), (rows, cols) (symmetric) or ((top, bottom), (left, right)) (default (1, 1)).
        data_format: "channels_last" (default) or "channels_first".

    Input shape: (batch, height, width, channels) (channels_last).
    Output shape: (batch, top + height + bottom, left + width + right, channels).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.ZeroPadding2D(((1, 0), (2, 2)))(np.ones((2, 3, 3, 1), "float32"))
    assert y.shape == (2, 4, 7, 1)
    ```
    """

    rank, kind = 2, "pad"

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_arg(self._where(), data_format)
        self.amounts = _pairs(self._where(), "padding", padding, 2)

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.amounts], "data_format": self.data_format}


class Cropping1D(_Padding):
    """Removes steps at the start and end of the time axis (Keras's Cropping1D).

    Args:
        cropping: int (both ends) or (start, end) (default (1, 1)).

    Input shape: (batch, steps, features).
    Output shape: (batch, steps - start - end, features).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.Cropping1D((1, 2))(np.random.rand(2, 6, 4).astype("float32"))
    assert y.shape == (2, 3, 4)
    ```
    """

    rank, kind, data_format = 1, "crop", "channels_last"

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.amounts = _pairs(self._where(), "cropping", cropping, 1)

    def get_config(self):
        return {**super().get_config(), "cropping": list(self.amounts[0])}


class Cropping2D(_Padding):
    """Removes rows and columns at the borders of images (Keras's Cropping2D).

    Args:
        cropping: int (every side), (rows, cols) (symmetric) or ((top, bottom), (left, right))
            (default ((0, 0), (0, 0))).
        data_format: "channels_last" (default) or "channels_first".

    Input shape: (batch, height, width, channels) (channels_last).
    Output shape: (batch, height - top - bottom, width - left - right, channels).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.Cropping2D(((2, 0), (1, 1)))(np.random.rand(2, 6, 5, 3).astype("float32"))
    assert y.shape == (2, 4, 3, 3)
    ```
    """

    rank, kind = 2, "crop"

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_arg(self._where(), data_format)
        self.amounts = _pairs(self._where(), "cropping", cropping, 2)

    def get_config(self):
        return {**super().get_config(), "cropping": [list(p) for p in self.amounts], "data_format": self.data_format}


class RepeatVector(Layer):
    """Repeats a vector `n` times: (batch, features) -> (batch, n, features) (Keras's RepeatVector),
    e.g. to feed an encoder's summary to every step of a decoder.

    Args:
        n: the number of repetitions, a positive int.

    Input shape: (batch, features).
    Output shape: (batch, n, features).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.RepeatVector(3)(np.array([[1.0, 2.0]], "float32"))
    assert y.numpy().tolist() == [[[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]]]
    ```
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = positive_int(self._where(), "n", n)

    def call(self, inputs, training=None):
        _rank_check(self, inputs, 2, "(batch, features)")
        return F.repeat_vector(inputs, self.n)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Permute(Layer):
    """Permutes the axes of the input but the batch axis (Keras's Permute).

    Args:
        dims: a permutation of 1 .. rank - 1 (the batch axis is 0 and stays first), e.g. (2, 1) swaps
            the two axes of a (batch, steps, features) input.

    Input shape: (batch, d1, ..., dk).
    Output shape: (batch, d[dims[0]], ..., d[dims[k-1]]).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.Permute((2, 1))(np.random.rand(4, 10, 3).astype("float32"))
    assert y.shape == (4, 3, 10)
    ```
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            dims = tuple(int(d) for d in dims)
        except TypeError:
            raise TypeError(f"{self._where()}: 'dims' must be a tuple of ints, got {dims!r}") from None
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"{self._where()}: 'dims' must be a permutation of 1 .. {len(dims)} (the batch axis 0 is "
                             f"not permuted), got {dims}")
        self.dims = dims

    def call(self, inputs, training=None):
        if inputs.ndim != len(self.dims) + 1:
            raise ValueError(f"{self._where()}: dims {self.dims} permute a {len(self.dims) + 1}-D input, got shape "
                             f"{tuple(inputs.shape)}")
        return inputs.transpose(0, *self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}
