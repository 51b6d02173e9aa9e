"""The activations of Keras's activation layers that the activation kernels do not cover alone: ReLU
with a ceiling, a threshold and a negative slope, PReLU with learned slopes, softmax over several
axes or under a mask. Written with array code through `xp`; the plain cases run the kernels."""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..primitives import get_array_module
from ..primitives._helpers import _unbroadcast
from ..tensor import Tensor
from ._common import _t
from .activation import leaky_relu, relu, softmax


class ReLU(Function):
    """Keras 3's relu(x, negative_slope, max_value, threshold), as keras.activations.relu computes it:

        pos = x where x > threshold, else 0;  clipped to [0, max_value] when max_value is given
        y   = pos - negative_slope * max(threshold - x, 0)
    """

    def forward(self, x, negative_slope, max_value, threshold):
        xp = get_array_module(x)
        self.x, self.cfg = x, (negative_slope, max_value, threshold)
        pos = xp.where(x > threshold, x, 0).astype(x.dtype)
        if max_value is not None:
            pos = xp.clip(pos, 0, max_value)
        return (pos - negative_slope * xp.maximum(threshold - x, 0)).astype(x.dtype)

    def backward(self, g):
        slope, max_value, threshold = self.cfg
        x = self.x
        through = x > threshold
        if max_value is not None:
            through = through & (x > 0) & (x < max_value)
        return g * (through + slope * (x < threshold)).astype(g.dtype)


def relu_layer(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras's ReLU layer: the relu kernel when it is the plain relu, leaky_relu with only a slope.

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    y = F.relu_layer(np.array([-1.0, 0.5, 2.0, 7.0]), max_value=6.0, threshold=1.0)
    assert y.numpy().tolist() == [0.0, 0.0, 2.0, 6.0]
    ```
    """
    x = _t(x)
    if max_value is None and threshold == 0.0:
        if negative_slope == 0.0:
            return relu(x)
        return leaky_relu(x, negative_slope)
    return ReLU.apply(x, negative_slope=float(negative_slope),
                      max_value=None if max_value is None else float(max_value), threshold=float(threshold))


class PReLU(Function):
    """y = x where x > 0, alpha * x elsewhere; alpha broadcast against x (shared axes of size 1)."""

    def forward(self, x, alpha):
        xp = get_array_module(x)
        self.x, self.alpha = x, alpha
        return xp.where(x > 0, x, alpha * x).astype(x.dtype)

    def backward(self, g):
        xp = get_array_module(g)
        x, alpha = self.x, self.alpha
        dx = g * xp.where(x > 0, 1, alpha).astype(g.dtype)
        dalpha = _unbroadcast(g * xp.minimum(x, 0), alpha.shape)
        return dx, dalpha


def prelu(x, alpha):
    """Parametric ReLU (Keras's PReLU): max(x, 0) + alpha * min(x, 0), alpha shaped like x without the
    batch axis (1 on the shared axes).

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    assert F.prelu(np.array([[-2.0, 3.0]]), np.array([0.5, 0.5])).numpy().tolist() == [[-1.0, 3.0]]
    ```
    """
    x, alpha = _t(x, "x"), _t(alpha, "alpha")
    if alpha.ndim > x.ndim - 1 or any(a not in (1, n) for a, n in zip(alpha.shape[::-1], x.shape[::-1])):
        raise ValueError(f"prelu: 'alpha' of shape {alpha.shape} does not broadcast against the input's "
                         f"{x.shape[1:]} (the input without its batch axis)")
    return PReLU.apply(x, alpha)


def large_negative(dtype):
    """What a masked-out logit becomes (Keras: -1e9, -3e4 in float16)."""
    return -3e4 if np.dtype(dtype) == np.float16 else -1e9


def masked_softmax(x, mask=None, axis=-1):
    """Keras's Softmax layer: softmax over `axis` (an int or a tuple of axes); where `mask` (boolean,
    broadcastable to x) is False the logit is replaced by a large negative number and the output by 0.

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    y = F.masked_softmax(np.zeros((1, 4)), mask=np.array([[True, True, False, False]]))
    assert y.numpy().tolist() == [[0.5, 0.5, 0.0, 0.0]]
    ```
    """
    x = _t(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if mask is not None:
        xp = get_array_module(x.data)
        m = xp.asarray(mask.data if isinstance(mask, Tensor) else mask)
        m = (m > 0.5) if m.dtype != bool else m
        keep = m.astype(x.dtype)
        x = x * keep + (1.0 - keep) * large_negative(x.dtype)
    if len(axes) == 1:
        y = softmax(x, axis=axes[0])
    else:
        with_max = x - x.data.max(axis=axes, keepdims=True)  # a constant shift: the same softmax
        e = with_max.exp()
        y = e / e.sum(axis=axes, keepdims=True)
    return y * keep if mask is not None else y
