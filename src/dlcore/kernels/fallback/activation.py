"""Activations and softmax on xp arrays: the formulas of csrc/common/scalar_math.h, elementwise.

Written so that nothing overflows for any finite input: exp() only ever sees non-positive arguments,
as in the C++ header. ``forward(xp, name, x, p)`` and ``backward(xp, name, dy, z, p)`` return new
arrays; ``z`` is the forward output y for relu, sigmoid and tanh, the input x for the others; ``p``
is the slope of leaky_relu or the alpha of elu.
"""
from __future__ import annotations

from ._xp import erfc

_SQRT1_2 = 0.70710678118654752440      # 1 / sqrt(2)
_INV_SQRT_2PI = 0.39894228040143267794  # 1 / sqrt(2 pi)
_GELU_C = 0.79788456080286535588        # sqrt(2 / pi)
_GELU_A = 0.044715


def _sigmoid_pair(xp, x):
    """sigmoid(x) and 1 - sigmoid(x) from one exp(-|x|) <= 1, each without cancellation."""
    e = xp.exp(-xp.abs(x))
    d = 1 / (1 + e)
    pos = x >= 0
    return xp.where(pos, d, e * d), xp.where(pos, e * d, d)


def sigmoid(xp, x):
    return _sigmoid_pair(xp, x)[0]


def _normal_cdf(xp, x):
    return 0.5 * erfc(xp, -x * _SQRT1_2)


def forward(xp, name, x, p=0.0):
    """f(x) for activation `name` (the keys of activation.ACTIVATION_CODES)."""
    if name == "relu":
        return xp.where(x < 0, 0, x).astype(x.dtype, copy=False)  # NaN propagates, as in the C++
    if name == "leaky_relu":
        return xp.where(x > 0, x, p * x).astype(x.dtype, copy=False)
    if name == "elu":
        return xp.where(x > 0, x, p * xp.expm1(xp.minimum(x, 0))).astype(x.dtype, copy=False)
    if name == "gelu":
        return x * _normal_cdf(xp, x)
    if name == "gelu_tanh":  # x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3); x^3 clamped (no inf)
        xc = xp.clip(x, -50, 50)
        return x * sigmoid(xp, 2 * _GELU_C * (xc + _GELU_A * xc * xc * xc))
    if name == "sigmoid":
        return sigmoid(xp, x)
    if name == "tanh":
        return xp.tanh(x)
    if name == "softplus":
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
    if name == "silu":
        return x * sigmoid(xp, x)
    raise ValueError(name)


def backward(xp, name, dy, z, p=0.0):
    """dy * f'(.), from the output y (relu, sigmoid, tanh) or the input x (the others)."""
    if name == "relu":
        return xp.where(z > 0, dy, 0).astype(dy.dtype, copy=False)
    if name == "leaky_relu":
        return xp.where(z > 0, dy, p * dy).astype(dy.dtype, copy=False)
    if name == "elu":
        return xp.where(z > 0, dy, dy * (p * xp.exp(xp.minimum(z, 0)))).astype(dy.dtype, copy=False)
    if name == "gelu":  # Phi(x) + x phi(x); x clamped where phi(x) is 0 anyway (no inf * 0)
        zc = xp.clip(z, -50, 50)
        return dy * (_normal_cdf(xp, z) + zc * (_INV_SQRT_2PI * xp.exp(-0.5 * zc * zc)))
    if name == "gelu_tanh":  # s + x s (1 - s) 2u'; beyond |x| = 50 the derivative is exactly 1 or 0
        zc = xp.clip(z, -50, 50)
        u = _GELU_C * (zc + _GELU_A * zc * zc * zc)
        du = _GELU_C * (1 + 3 * _GELU_A * zc * zc)
        s, sc = _sigmoid_pair(xp, 2 * u)
        return dy * (s + zc * s * sc * 2 * du)
    if name == "sigmoid":
        return dy * z * (1 - z)
    if name == "tanh":
        return dy * (1 - z * z)
    if name == "softplus":
        return dy * sigmoid(xp, z)
    if name == "silu":
        s, sc = _sigmoid_pair(xp, z)
        return dy * (s * (1 + z * sc))
    raise ValueError(name)


def softmax_forward(xp, x, axis, log):
    """softmax (or log-softmax) of x along `axis`, shifted by the maximum (no overflow)."""
    if x.size == 0:
        return x.copy()
    shifted = x - x.max(axis=axis, keepdims=True)
    e = xp.exp(shifted)
    s = e.sum(axis=axis, keepdims=True)
    return shifted - xp.log(s) if log else e / s


def softmax_backward(xp, dy, y, axis, log):
    """dx from the output y: log-softmax dy - exp(y) sum(dy); softmax y (dy - sum(dy y))."""
    if log:
        return dy - xp.exp(y) * dy.sum(axis=axis, keepdims=True)
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))
