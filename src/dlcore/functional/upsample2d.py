"""Upsampling (NHWC / (batch, steps, features)) on the upsample2d kernels: Keras's UpSampling2D
("nearest" or "bilinear") and UpSampling1D (repetition)."""
from __future__ import annotations

from ..autograd import Function
from ..primitives._helpers import _kernel
from ._common import _t


class UpSampling2D(Function):
    def forward(self, x, size, interpolation):
        self.shape, self.cfg = x.shape, dict(size=size, interpolation=interpolation)
        return _kernel("upsample2d_forward")(x, **self.cfg)

    def backward(self, g):
        return _kernel("upsample2d_backward")(g, self.shape, **self.cfg)


class UpSampling1D(Function):
    def forward(self, x, size):
        self.shape, self.size = x.shape, size
        return _kernel("upsample1d_forward")(x, size)

    def backward(self, g):
        return _kernel("upsample1d_backward")(g, self.shape, self.size)


def upsampling2d(x, size=2, interpolation="nearest"):
    """(N, H, W, C) -> (N, H*fh, W*fw, C) for size = fh or (fh, fw): "nearest" repeats every pixel,
    "bilinear" interpolates with half-pixel centres (Keras's UpSampling2D).

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    y = F.upsampling2d(np.arange(4.0).reshape(1, 2, 2, 1), 2, "bilinear")
    assert y.shape == (1, 4, 4, 1) and float(y.numpy()[0, 0, 1, 0]) == 0.25
    ```
    """
    x = _t(x)
    if x.ndim != 4:
        raise ValueError(f"upsampling2d: expected a 4-D input (batch, height, width, channels), got shape {x.shape}")
    return UpSampling2D.apply(x, size=size, interpolation=interpolation)


def upsampling1d(x, size=2):
    """(N, L, C) -> (N, L*size, C): every step repeated `size` times (Keras's UpSampling1D).

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    assert F.upsampling1d(np.array([[[1.0], [2.0]]]), 2).numpy().ravel().tolist() == [1.0, 1.0, 2.0, 2.0]
    ```
    """
    x = _t(x)
    if x.ndim != 3:
        raise ValueError(f"upsampling1d: expected a 3-D input (batch, steps, features), got shape {x.shape}")
    return UpSampling1D.apply(x, size=size)
