"""Activations on arrays, forward and backward, and softmax / log-softmax along an axis.

Elementwise, any shape, float32 or float64. ``out=`` is optional and may be the input itself (in
place). The backward of relu, sigmoid and tanh takes the forward OUTPUT ``y`` (what a layer keeps);
every other backward takes the forward INPUT ``x``. Kernels: csrc/cpu/activation.cpp (portable and
float64), activation_avx512.cpp / activation_avx2.cpp (SIMD float32, math in activation_simd.h).

Formulas (s = sigmoid):
  relu(x) = max(x, 0)                          leaky_relu(x) = x if x > 0 else slope * x
  elu(x) = x if x > 0 else alpha (e^x - 1)     sigmoid(x) = 1 / (1 + e^-x)
  tanh(x)                                      softplus(x) = log(1 + e^x)
  silu(x) = x s(x)                             gelu(x) = x Phi(x)  (Phi the normal CDF), or with
  approximate=True  x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  softmax(x)_i = e^{x_i} / sum_j e^{x_j}       log_softmax(x)_i = x_i - log sum_j e^{x_j}
"""
from __future__ import annotations

import numpy as np

from .. import _C
from ._validate import float_array, output, same_dtype

# Codes of csrc/cpu/activation.h (enum class Act).
_RELU, _LEAKY, _ELU, _GELU_ERF, _GELU_TANH, _SIGMOID, _TANH, _SOFTPLUS, _SILU = range(9)


def _contig(x):
    return np.ascontiguousarray(x)


def _shape_check(op, **arrays):
    shapes = {n: a.shape for n, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{n}.shape={s}" for n, s in shapes.items())
        raise ValueError(f"{op}: arrays must have the same shape, got {listed}")


def _forward(op, code, x, out, param=0.0):
    x = float_array(x, op, "x")
    if isinstance(out, np.ndarray):
        same_dtype(op, x=x, out=out)
    target, out = output(out, x.shape, x.dtype, op)  # out may be x itself: the kernel runs in place
    if target is out and out is not x and np.may_share_memory(out, x):
        target = np.empty(x.shape, x.dtype)  # partial overlap: compute aside
    _C.activation_forward(code, _contig(x), target, float(param))
    if target is not out:
        out[...] = target
    return out


def _backward(op, code, dy, z, zname, out, param=0.0):
    dy = float_array(dy, op, "dy")
    z = float_array(z, op, zname)
    same_dtype(op, dy=dy, **{zname: z}, out=out if isinstance(out, np.ndarray) else None)
    _shape_check(op, dy=dy, **{zname: z})
    target, out = output(out, dy.shape, dy.dtype, op)
    if target is out and any(out is not a and np.may_share_memory(out, a) for a in (dy, z)):
        target = np.empty(dy.shape, dy.dtype)
    _C.activation_backward(code, _contig(dy), _contig(z), target, float(param))
    if target is not out:
        out[...] = target
    return out


def relu_forward(x, out=None):
    """y = max(x, 0)."""
    return _forward("relu_forward", _RELU, x, out)


def relu_backward(dy, y, out=None):
    """dx = dy where y > 0, else 0 (y the forward output)."""
    return _backward("relu_backward", _RELU, dy, y, "y", out)


def leaky_relu_forward(x, negative_slope=0.2, out=None):
    """y = x if x > 0 else negative_slope * x (Keras's default slope 0.2)."""
    return _forward("leaky_relu_forward", _LEAKY, x, out, negative_slope)


def leaky_relu_backward(dy, x, negative_slope=0.2, out=None):
    """dx = dy if x > 0 else negative_slope * dy."""
    return _backward("leaky_relu_backward", _LEAKY, dy, x, "x", out, negative_slope)


def elu_forward(x, alpha=1.0, out=None):
    """y = x if x > 0 else alpha * (exp(x) - 1)."""
    return _forward("elu_forward", _ELU, x, out, alpha)


def elu_backward(dy, x, alpha=1.0, out=None):
    """dx = dy if x > 0 else dy * alpha * exp(x)."""
    return _backward("elu_backward", _ELU, dy, x, "x", out, alpha)


def gelu_forward(x, approximate=False, out=None):
    """Exact: y = x * Phi(x) = x/2 (1 + erf(x / sqrt 2)); approximate: x/2 (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))."""
    return _forward("gelu_forward", _GELU_TANH if approximate else _GELU_ERF, x, out)


def gelu_backward(dy, x, approximate=False, out=None):
    """Exact: dx = dy (Phi(x) + x phi(x)); approximate: the derivative of the tanh form."""
    return _backward("gelu_backward", _GELU_TANH if approximate else _GELU_ERF, dy, x, "x", out)


def sigmoid_forward(x, out=None):
    """y = 1 / (1 + exp(-x)), stable for any x."""
    return _forward("sigmoid_forward", _SIGMOID, x, out)


def sigmoid_backward(dy, y, out=None):
    """dx = dy * y * (1 - y) (y the forward output)."""
    return _backward("sigmoid_backward", _SIGMOID, dy, y, "y", out)


def tanh_forward(x, out=None):
    """y = tanh(x)."""
    return _forward("tanh_forward", _TANH, x, out)


def tanh_backward(dy, y, out=None):
    """dx = dy * (1 - y^2) (y the forward output)."""
    return _backward("tanh_backward", _TANH, dy, y, "y", out)


def softplus_forward(x, out=None):
    """y = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))."""
    return _forward("softplus_forward", _SOFTPLUS, x, out)


def softplus_backward(dy, x, out=None):
    """dx = dy * sigmoid(x)."""
    return _backward("softplus_backward", _SOFTPLUS, dy, x, "x", out)


def silu_forward(x, out=None):
    """y = x * sigmoid(x) (swish)."""
    return _forward("silu_forward", _SILU, x, out)


def silu_backward(dy, x, out=None):
    """dx = dy * s * (1 + x (1 - s)), s = sigmoid(x)."""
    return _backward("silu_backward", _SILU, dy, x, "x", out)


swish_forward = silu_forward
swish_backward = silu_backward


# ------------------------------------------------------------------------------- softmax family

def _axis_split(op, shape, axis):
    """(outer, n, inner) of `shape` around `axis`, or a ValueError."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__}")
    nd = len(shape)
    if not -nd <= axis < nd:
        raise ValueError(f"{op}: axis {axis} is out of range for an array of shape {tuple(shape)}")
    axis = int(axis) % nd
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return outer, int(shape[axis]), inner


def _softmax_fwd(op, x, axis, out, log):
    x = float_array(x, op, "x")
    if isinstance(out, np.ndarray):
        same_dtype(op, x=x, out=out)
    outer, n, inner = _axis_split(op, x.shape, axis)
    target, out = output(out, x.shape, x.dtype, op)
    if target is out and out is not x and np.may_share_memory(out, x):
        target = np.empty(x.shape, x.dtype)
    _C.softmax_forward(_contig(x), target, outer, n, inner, log)
    if target is not out:
        out[...] = target
    return out


def _softmax_bwd(op, dy, y, axis, out, log):
    dy = float_array(dy, op, "dy")
    y = float_array(y, op, "y")
    same_dtype(op, dy=dy, y=y, out=out if isinstance(out, np.ndarray) else None)
    _shape_check(op, dy=dy, y=y)
    outer, n, inner = _axis_split(op, dy.shape, axis)
    target, out = output(out, dy.shape, dy.dtype, op)
    if target is out and any(out is not a and np.may_share_memory(out, a) for a in (dy, y)):
        target = np.empty(dy.shape, dy.dtype)
    _C.softmax_backward(_contig(dy), _contig(y), target, outer, n, inner, log)
    if target is not out:
        out[...] = target
    return out


def softmax_forward(x, axis=-1, out=None):
    """y = exp(x - max) / sum(exp(x - max)) along `axis` (any axis; the last is the fast path)."""
    return _softmax_fwd("softmax_forward", x, axis, out, False)


def softmax_backward(dy, y, axis=-1, out=None):
    """dx = y * (dy - sum(dy * y, axis)) (y the softmax output)."""
    return _softmax_bwd("softmax_backward", dy, y, axis, out, False)


def log_softmax_forward(x, axis=-1, out=None):
    """y = x - max - log(sum(exp(x - max))) along `axis`."""
    return _softmax_fwd("log_softmax_forward", x, axis, out, True)


def log_softmax_backward(dy, y, axis=-1, out=None):
    """dx = dy - exp(y) * sum(dy, axis) (y the log-softmax output)."""
    return _softmax_bwd("log_softmax_backward", dy, y, axis, out, True)


__all__ = [
    "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward", "elu_forward", "elu_backward",
    "gelu_forward", "gelu_backward", "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
    "softplus_forward", "softplus_backward", "silu_forward", "silu_backward", "swish_forward", "swish_backward",
    "softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward",
]
