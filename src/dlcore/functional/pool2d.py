"""Pooling (NHWC, and (batch, steps, features) for 1-D): max, average, global average and global max,
on the pooling kernels."""
from __future__ import annotations

from ..autograd import Function
from ..primitives._helpers import _kernel
from ._common import _t


class MaxPool2D(Function):
    def forward(self, x, pool_size, strides, padding):
        self.x, self.cfg = x, dict(pool_size=pool_size, strides=strides, padding=padding)
        return _kernel("max_pool2d_forward")(x, **self.cfg)

    def backward(self, g):
        return _kernel("max_pool2d_backward")(g, self.x, **self.cfg)


class AvgPool2D(Function):
    def forward(self, x, pool_size, strides, padding):
        self.shape, self.cfg = x.shape, dict(pool_size=pool_size, strides=strides, padding=padding)
        return _kernel("avg_pool2d_forward")(x, **self.cfg)

    def backward(self, g):
        return _kernel("avg_pool2d_backward")(g, self.shape, **self.cfg)


class GlobalAvgPool2D(Function):
    def forward(self, x):
        self.shape = x.shape
        return _kernel("global_avg_pool2d_forward")(x)

    def backward(self, g):
        return _kernel("global_avg_pool2d_backward")(g, self.shape)


class MaxPool1D(Function):
    def forward(self, x, pool_size, strides, padding):
        self.x, self.cfg = x, dict(pool_size=pool_size, strides=strides, padding=padding)
        return _kernel("max_pool1d_forward")(x, **self.cfg)

    def backward(self, g):
        return _kernel("max_pool1d_backward")(g, self.x, **self.cfg)


class AvgPool1D(Function):
    def forward(self, x, pool_size, strides, padding):
        self.shape, self.cfg = x.shape, dict(pool_size=pool_size, strides=strides, padding=padding)
        return _kernel("avg_pool1d_forward")(x, **self.cfg)

    def backward(self, g):
        return _kernel("avg_pool1d_backward")(g, self.shape, **self.cfg)


class GlobalMaxPool2D(Function):
    def forward(self, x):
        self.x = x
        return _kernel("global_max_pool2d_forward")(x)

    def backward(self, g):
        return _kernel("global_max_pool2d_backward")(g, self.x)


def _pool_checks(op, x):
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (batch, height, width, channels), got shape {x.shape}")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    x = _t(x)
    _pool_checks("max_pool2d", x)
    return MaxPool2D.apply(x, pool_size=pool_size, strides=strides, padding=padding)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    x = _t(x)
    _pool_checks("avg_pool2d", x)
    return AvgPool2D.apply(x, pool_size=pool_size, strides=strides, padding=padding)


def global_avg_pool2d(x, keepdims=False):
    x = _t(x)
    _pool_checks("global_avg_pool2d", x)
    y = GlobalAvgPool2D.apply(x)
    return y.reshape(y.shape[0], 1, 1, y.shape[1]) if keepdims else y



def _seq_checks(op, x):
    if x.ndim != 3:
        raise ValueError(f"{op}: expected a 3-D input (batch, steps, features), got shape {x.shape}")


def max_pool1d(x, pool_size=2, strides=None, padding="valid"):
    """Max over windows of `pool_size` steps: (N, L, C) -> (N, Lo, C) (Keras's MaxPooling1D);
    `strides` (None: pool_size) and `padding` ("valid" / "same") as max_pool2d's.

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    y = F.max_pool1d(np.array([[[1.0], [3.0], [2.0], [0.0]]]), 2)
    assert y.numpy().ravel().tolist() == [3.0, 2.0]
    ```
    """
    x = _t(x)
    _seq_checks("max_pool1d", x)
    return MaxPool1D.apply(x, pool_size=pool_size, strides=strides, padding=padding)


def avg_pool1d(x, pool_size=2, strides=None, padding="valid"):
    """Mean over windows of `pool_size` steps (padding not counted): (N, L, C) -> (N, Lo, C).

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    y = F.avg_pool1d(np.array([[[1.0], [3.0], [2.0]]]), 2, padding="same")
    assert y.numpy().ravel().tolist() == [2.0, 2.0]
    ```
    """
    x = _t(x)
    _seq_checks("avg_pool1d", x)
    return AvgPool1D.apply(x, pool_size=pool_size, strides=strides, padding=padding)


def global_max_pool2d(x, keepdims=False):
    """(N, H, W, C) -> (N, C) (or (N, 1, 1, C)): the maximum of each channel; its gradient goes to the
    first position of the maximum.

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    assert F.global_max_pool2d(np.arange(8.0).reshape(1, 2, 2, 2), keepdims=True).shape == (1, 1, 1, 2)
    ```
    """
    x = _t(x)
    _pool_checks("global_max_pool2d", x)
    y = GlobalMaxPool2D.apply(x)
    return y.reshape(y.shape[0], 1, 1, y.shape[1]) if keepdims else y


def global_avg_pool1d(x, keepdims=False):
    """(N, L, C) -> (N, C) (or (N, 1, C)): the mean over the steps.

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    assert F.global_avg_pool1d(np.array([[[1.0], [3.0]]])).numpy().tolist() == [[2.0]]
    ```
    """
    x = _t(x)
    _seq_checks("global_avg_pool1d", x)
    y = GlobalAvgPool2D.apply(x.reshape(x.shape[0], x.shape[1], 1, x.shape[2]))
    return y.reshape(y.shape[0], 1, y.shape[1]) if keepdims else y


def global_max_pool1d(x, keepdims=False):
    """(N, L, C) -> (N, C) (or (N, 1, C)): the maximum over the steps.

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    assert F.global_max_pool1d(np.array([[[1.0], [3.0]]])).numpy().tolist() == [[3.0]]
    ```
    """
    x = _t(x)
    _seq_checks("global_max_pool1d", x)
    y = GlobalMaxPool2D.apply(x.reshape(x.shape[0], x.shape[1], 1, x.shape[2]))
    return y.reshape(y.shape[0], 1, y.shape[1]) if keepdims else y
