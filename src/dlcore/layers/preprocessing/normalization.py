"""Rescaling and Normalization: affine maps of the inputs, run inside the model (and saved with it)."""
from __future__ import annotations

import numbers

import numpy as np

from ...data_loader import to_numpy
from ..base import Layer

__all__ = ["Rescaling", "Normalization"]


class Rescaling(Layer):
    """out = inputs * scale + offset (Keras's Rescaling), e.g. pixels 0..255 to [0, 1] or [-1, 1].

    Args:
        scale: a float, or a list of one float per channel (the last axis).
        offset: a float, or a list of one float per channel.

    Input shape: any. Output shape: the same (floats of the layer's dtype).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    out = dl.layers.Rescaling(1 / 127.5, offset=-1)(np.array([[0, 255]], np.uint8))
    assert out.numpy().tolist() == [[-1.0, 1.0]]
    ```
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = self._number(scale, "scale"), self._number(offset, "offset")

    def _number(self, v, arg):
        if isinstance(v, (list, tuple)) and v and all(isinstance(a, numbers.Real) and not isinstance(a, bool) for a in v):
            return [float(a) for a in v]
        if isinstance(v, numbers.Real) and not isinstance(v, bool):
            return float(v)
        raise ValueError(f"{self._where()}: '{arg}' must be a float or a list of floats (one per channel), got {v!r}")

    def call(self, inputs, training=None):
        scale = np.asarray(self.scale, dtype=self.dtype)
        offset = np.asarray(self.offset, dtype=self.dtype)
        for v in (scale, offset):
            if v.ndim and v.shape[0] != inputs.shape[-1]:
                raise ValueError(f"{self._where()}: {v.shape[0]} per-channel values for inputs with "
                                 f"{inputs.shape[-1]} channels")
        return inputs * inputs.xp.asarray(scale) + inputs.xp.asarray(offset)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Normalization(Layer):
    """Shift and scale inputs to mean 0 and variance 1 with statistics learned by `adapt` (Keras's).

    out = (inputs - mean) / sqrt(variance), per index of the kept `axis` (by default the last: one
    mean and variance per feature), over every other axis. `adapt(data)` computes them from data;
    or give `mean` and `variance`. They are non-trainable weights: saved with the model.

    Args:
        axis: the axis (or axes) that keep their own statistics; None: one mean and variance for all.
        mean, variance: the statistics, instead of adapt (broadcast to the kept axes).
        invert: apply the inverse map, inputs * sqrt(variance) + mean.

    Input shape: any with the kept axes' sizes fixed by adapt. Output shape: the same.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    data = np.array([[0.0, 10.0], [2.0, 30.0]])
    norm = dl.layers.Normalization()
    norm.adapt(data)
    np.testing.assert_allclose(norm(data).numpy(), [[-1, -1], [1, 1]], atol=1e-6)
    ```
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            axis = (int(axis),)
        elif isinstance(axis, (tuple, list)) and all(isinstance(a, numbers.Integral) for a in axis):
            axis = tuple(int(a) for a in axis)
        else:
            raise ValueError(f"{self._where()}: 'axis' must be an int, a tuple of ints or None, got {axis!r}")
        if 0 in axis:
            raise ValueError(f"{self._where()}: 'axis' cannot include the batch axis 0")
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError(f"{self._where()}: give both 'mean' and 'variance', or neither (and call adapt)")
        self.input_mean = None if mean is None else np.asarray(mean, np.float64).tolist()
        self.input_variance = None if variance is None else np.asarray(variance, np.float64).tolist()
        for arg, value in (("mean", self.input_mean), ("variance", self.input_variance)):
            if value is not None and not np.all(np.isfinite(value)):
                raise ValueError(f"{self._where()}: '{arg}' must be finite, got {value!r:.60}")
        if self.input_variance is not None and np.any(np.asarray(self.input_variance) < 0):
            raise ValueError(f"{self._where()}: 'variance' must be >= 0")
        self.invert = bool(invert)
        self._adapted = mean is not None

    def _kept(self, ndim):
        if any(not -ndim <= a < ndim for a in self.axis):  # a 0-D input included
            raise ValueError(f"{self._where()}: axis={self.axis} does not fit inputs of rank {ndim}")
        kept = tuple(sorted(a % ndim for a in self.axis))
        if any(a == 0 for a in kept) or len(set(kept)) != len(kept):
            raise ValueError(f"{self._where()}: axis={self.axis} does not fit inputs of rank {ndim}")
        return kept

    def build(self, input_shape):
        kept = self._kept(len(input_shape))
        shape = tuple(input_shape[a] for a in kept) or (1,)  # axis=None: one value (never 0-d: files keep 1-d)
        if any(d is None for d in shape):
            raise ValueError(f"{self._where()}: the kept axes {self.axis} need known sizes, got input shape "
                             f"{tuple(input_shape)}")
        self.add_weight("mean", shape, "zeros", trainable=False)
        self.add_weight("variance", shape, "ones", trainable=False)
        if self.input_mean is not None:
            self.mean.data[...] = np.broadcast_to(np.asarray(self.input_mean, self.dtype), shape)
            self.variance.data[...] = np.broadcast_to(np.asarray(self.input_variance, self.dtype), shape)
        self._build_ndim = len(input_shape)
        self.built = True

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the mean and variance of `data`: an array, or an iterable of batches (a DataLoader)."""
        if isinstance(data, (np.ndarray, list, tuple)) or hasattr(data, "numpy"):
            batches = [to_numpy(data)]
        else:
            batches = (b[0] if isinstance(b, tuple) else b for b in data)
        count, total, total_sq, shape = 0, None, None, None
        for step, b in enumerate(batches):
            if steps is not None and step >= steps:
                break
            b = np.asarray(to_numpy(b), np.float64)
            kept = self._kept(b.ndim)
            reduce = tuple(a for a in range(b.ndim) if a not in kept)
            n = int(np.prod([b.shape[a] for a in reduce]))
            s, sq = b.sum(axis=reduce), (b * b).sum(axis=reduce)
            total, total_sq = (s, sq) if total is None else (total + s, total_sq + sq)
            count += n
            shape = b.shape
        if not count:
            raise ValueError(f"{self._where()}: adapt() got no data")
        mean = total / count
        variance = np.maximum(total_sq / count - mean * mean, 0.0)
        if not self.built:
            self.build((None,) + tuple(shape[1:]))
        self.mean.data[...] = mean.astype(self.dtype).reshape(self.mean.shape)
        self.variance.data[...] = variance.astype(self.dtype).reshape(self.variance.shape)
        self._adapted = True

    def call(self, inputs, training=None):
        kept = self._kept(inputs.ndim)
        shape = [1] * inputs.ndim
        for a, d in zip(kept, self.mean.shape):
            if inputs.shape[a] != d:
                raise ValueError(f"{self._where()}: expected size {d} on axis {a} (what adapt saw), got input shape "
                                 f"{tuple(inputs.shape)}")
            shape[a] = d
        mean, var = self.mean.data.reshape(shape), self.variance.data.reshape(shape)  # axis=None: (1,) to 1s
        std = inputs.xp.maximum(inputs.xp.sqrt(var), 1e-7)
        if self.invert:
            return inputs * std + mean
        return (inputs - mean) / std

    def get_config(self):
        axis = None if self.axis == () else (self.axis[0] if len(self.axis) == 1 else list(self.axis))
        return {**super().get_config(), "axis": axis, "mean": self.input_mean, "variance": self.input_variance,
                "invert": self.invert}
