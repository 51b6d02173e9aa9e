"""Regularization layers active only in training: GaussianNoise, GaussianDropout, SpatialDropout1D/2D/3D.

Each draws from its own NumPy Generator when given a `seed` (reproducible per layer), else from dlcore's
global one (`dl.manual_seed`).
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import functional as F
from .base import Layer


def _seed_arg(where, seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise ValueError(f"{where}: 'seed' must be None or an int >= 0, got {seed!r}")
    return None if seed is None else int(seed)


def _rate_arg(where, rate):
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
        raise ValueError(f"{where}: 'rate' must be a float in [0, 1), got {rate!r}")
    return float(rate)


class _Noise(Layer):
    def _init_seed(self, seed):
        self.seed = _seed_arg(self._where(), seed)
        self._rng = np.random.default_rng(self.seed) if self.seed is not None else None


class GaussianNoise(_Noise):
    """Adds zero-mean Gaussian noise of standard deviation `stddev` in training; the identity at inference.

    Args:
        stddev: the standard deviation of the noise (>= 0).
        seed: an int for this layer's own random stream, or None for dlcore's global one.

    Input shape: any. Output shape: the input's.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    layer = dl.layers.GaussianNoise(0.1, seed=0)
    x = np.zeros((2, 3), "float32")
    assert np.array_equal(layer(x, training=False).numpy(), x)
    assert layer(x, training=True).numpy().std() > 0
    ```
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, numbers.Real) or stddev < 0:
            raise ValueError(f"{self._where()}: 'stddev' must be a float >= 0, got {stddev!r}")
        self.stddev = float(stddev)
        self._init_seed(seed)

    def call(self, inputs, training=None):
        return F.gaussian_noise(inputs, self.stddev, training=self._training(training), rng=self._rng)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_Noise):
    """Multiplies by Gaussian noise of mean 1 and standard deviation sqrt(rate / (1 - rate)) in
    training; the identity at inference.

    Args:
        rate: the drop probability the noise is equivalent to, in [0, 1).
        seed: an int for this layer's own random stream, or None for dlcore's global one.

    Input shape: any. Output shape: the input's.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    layer = dl.layers.GaussianDropout(0.5, seed=1)
    x = np.ones((1000,), "float32").reshape(10, 100)
    y = layer(x, training=True).numpy()
    assert abs(y.mean() - 1.0) < 0.1 and abs(y.std() - 1.0) < 0.1
    ```
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate_arg(self._where(), rate)
        self._init_seed(seed)

    def call(self, inputs, training=None):
        return F.gaussian_dropout(inputs, self.rate, training=self._training(training), rng=self._rng)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class _SpatialDropout(_Noise):
    rank = 2

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        where = self._where()
        self.rate = _rate_arg(where, rate)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(f"{where}: 'data_format' must be 'channels_last' or 'channels_first', got "
                             f"{data_format!r}")
        self.data_format = data_format or "channels_last"
        self._init_seed(seed)

    def call(self, inputs, training=None):
        if inputs.ndim != self.rank + 2:
            raise ValueError(f"{self._where()}: expected a {self.rank + 2}-D input (batch, ..., channels), got shape "
                             f"{tuple(inputs.shape)}")
        axis = -1 if self.data_format == "channels_last" else 1
        return F.spatial_dropout(inputs, self.rate, training=self._training(training), rng=self._rng,
                                 channel_axis=axis)

    def get_config(self):
        config = {**super().get_config(), "rate": self.rate, "seed": self.seed}
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole feature channels of sequences: in training each (sample, channel) is zeroed
    at every step with probability `rate`, the rest scaled by 1 / (1 - rate); identity at inference.

    Args:
        rate: the drop probability, in [0, 1).
        seed: an int for this layer's own random stream, or None for dlcore's global one.

    Input shape: (batch, steps, channels). Output shape: the input's.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.SpatialDropout1D(0.5, seed=0)(np.ones((4, 6, 8), "float32"), training=True).numpy()
    assert all(len(set(y[n, :, c])) == 1 for n in range(4) for c in range(8))  # whole channels
    ```
    """

    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, data_format=None, seed=seed, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole feature maps: in training each (sample, channel) map is zeroed with
    probability `rate`, the rest scaled by 1 / (1 - rate); identity at inference.

    Args:
        rate: the drop probability, in [0, 1).
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for this layer's own random stream, or None for dlcore's global one.

    Input shape: (batch, height, width, channels) (channels_last). Output shape: the input's.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.SpatialDropout2D(0.5, seed=0)(np.ones((2, 4, 4, 6), "float32"), training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0}
    ```
    """

    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Dropout of whole 3-D feature volumes (batch, d1, d2, d3, channels), as SpatialDropout2D.

    Input shape: (batch, d1, d2, d3, channels) (channels_last). Output shape: the input's.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.SpatialDropout3D(0.25, seed=0)(np.ones((2, 2, 2, 2, 3), "float32"), training=False)
    assert np.array_equal(y.numpy(), np.ones((2, 2, 2, 2, 3)))
    ```
    """

    rank = 3
