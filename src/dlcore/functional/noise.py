"""Noise and structured dropout (Keras's GaussianNoise, GaussianDropout, SpatialDropout1D/2D/3D), written
with array code through `xp`. Active only in training; identity at inference.

The random numbers come from `rng` (a NumPy Generator: a layer's own when it has a seed, else dlcore's
global one, `dl.manual_seed`), drawn on the host and moved to the input's device.
"""
from __future__ import annotations

from .. import _random
from ..autograd import Function
from ..primitives import get_array_module
from ._common import _t


class NoiseMul(Function):
    """x * mask for a constant mask (broadcast to x); the gradient is g * mask."""

    def forward(self, x, mask):
        self.mask = mask
        return x * mask

    def backward(self, g):
        return g * self.mask


def _draw(x, rng, kind, shape, **kw):
    xp = get_array_module(x.data)
    rng = rng if rng is not None else _random.generator()
    return xp.asarray(getattr(rng, kind)(size=shape, **kw).astype(x.dtype))


def _rate(op, rate):
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
        raise ValueError(f"{op}: 'rate' must be a float in [0, 1), got {rate!r}")
    return float(rate)


def gaussian_noise(x, stddev, training=True, rng=None):
    """x + N(0, stddev^2) noise in training; x at inference.

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    x = np.zeros((100, 100))
    assert F.gaussian_noise(x, 0.5, training=False).numpy().std() == 0.0
    assert abs(F.gaussian_noise(x, 0.5, rng=np.random.default_rng(0)).numpy().std() - 0.5) < 0.02
    ```
    """
    x = _t(x)
    if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or stddev < 0:
        raise ValueError(f"gaussian_noise: 'stddev' must be a float >= 0, got {stddev!r}")
    if not training or stddev == 0:
        return x
    return x + _draw(x, rng, "normal", x.shape, scale=float(stddev))


def gaussian_dropout(x, rate, training=True, rng=None):
    """x * N(1, rate / (1 - rate)) noise in training (multiplicative, mean 1); x at inference.

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    y = F.gaussian_dropout(np.ones((200, 100)), 0.5, rng=np.random.default_rng(0)).numpy()
    assert abs(y.mean() - 1.0) < 0.02 and abs(y.std() - 1.0) < 0.02
    ```
    """
    x = _t(x)
    rate = _rate("gaussian_dropout", rate)
    if not training or rate == 0:
        return x
    return NoiseMul.apply(x, mask=_draw(x, rng, "normal", x.shape, loc=1.0, scale=(rate / (1.0 - rate)) ** 0.5))


def seeded_dropout(x, rate, training=True, rng=None, noise_shape=None):
    """Inverted dropout with the numbers of `rng`: each element (or each cell of `noise_shape`,
    broadcast over the axes where it is 1) zeroed with probability `rate`, the rest scaled by
    1 / (1 - rate). Identity at inference.

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    y = F.seeded_dropout(np.ones((4, 10)), 0.5, rng=np.random.default_rng(0), noise_shape=(4, 1)).numpy()
    assert all(len(set(row)) == 1 for row in y)  # one draw per row
    ```
    """
    x = _t(x)
    rate = _rate("dropout", rate)
    if not training or rate == 0:
        return x
    shape = x.shape if noise_shape is None else tuple(noise_shape)
    keep = _draw(x, rng, "random", shape) >= rate
    return NoiseMul.apply(x, mask=keep.astype(x.dtype) / x.dtype.type(1.0 - rate))


def spatial_dropout(x, rate, training=True, rng=None, channel_axis=-1):
    """Dropout of whole feature maps: one keep/drop draw per (sample, channel), shared by every spatial
    position, kept values scaled by 1 / (1 - rate) (Keras's SpatialDropout1D/2D/3D).

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    y = F.spatial_dropout(np.ones((2, 5, 3)), 0.5, rng=np.random.default_rng(1)).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and (y == y[:, :1]).all()
    ```
    """
    x = _t(x)
    if x.ndim < 3:
        raise ValueError(f"spatial_dropout: expected an input (batch, ..., channels) with a spatial axis, got shape "
                         f"{x.shape}")
    axis = channel_axis % x.ndim
    shape = tuple(n if i in (0, axis) else 1 for i, n in enumerate(x.shape))
    return seeded_dropout(x, rate, training, rng, noise_shape=shape)
