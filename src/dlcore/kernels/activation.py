"""Activations on arrays, forward and backward, and softmax / log-softmax along an axis.

Elementwise, any shape, float32 or float64. ``out=`` is optional and may be the input itself (in
place). The backward of relu, sigmoid and tanh takes the forward OUTPUT ``y`` (what a layer keeps);
every other backward takes the forward INPUT ``x``. Backends: cpu, csrc/cpu/activation.cpp (portable
and float64), activation_avx512.cpp / activation_avx2.cpp (SIMD float32, math in activation_simd.h);
cuda, csrc/cuda/activation.cu; both with the formulas of csrc/common/scalar_math.h, which
fallback/activation.py writes with xp array operations.

Formulas (s = sigmoid):
  relu(x) = max(x, 0)                          leaky_relu(x) = x if x > 0 else slope * x
  elu(x) = x if x > 0 else alpha (e^x - 1)     sigmoid(x) = 1 / (1 + e^-x)
  tanh(x)                                      softplus(x) = log(1 + e^x)
  silu(x) = x s(x)                             gelu(x) = x Phi(x)  (Phi the normal CDF), or with
  approximate=True  x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  softmax(x)_i = e^{x_i} / sum_j e^{x_j}       log_softmax(x)_i = x_i - log sum_j e^{x_j}
"""
from __future__ import annotations

import math
import numbers

from .. import _C
from . import codes
from ._device import cuda, f64, ptr, stream
from ._validate import contiguous, finish, float_array, is_int, output, same_dtype
from .backend import CPU, CUDA, select
from .fallback import activation as fallback

# The activation codes of csrc/cpu/activation.h (enum class Act), which dlcore._cuda shares.
ACTIVATION_CODES = codes.ACTIVATIONS  # name -> Activation code (csrc/common/codes.h)


def _shape_check(op, **arrays):
    shapes = {n: tuple(a.shape) for n, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{n}.shape={s}" for n, s in shapes.items())
        raise ValueError(f"{op}: arrays must have the same shape, got {listed}")


def _target(xp, out, shape, dtype, op, *inputs):
    """(target, out) of an elementwise kernel: `out` may be exactly one of the inputs (in place); an
    out that partly overlaps an input is computed aside."""
    target, out = output(xp, out, shape, dtype, op)
    if target is out and any(out is not a and xp.may_share_memory(out, a) for a in inputs):
        target = xp.empty(shape, dtype=dtype)
    return target, out


def _param(op, name, value):
    """leaky_relu's slope or elu's alpha as a float: a finite real number, else TypeError / ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: '{name}' must be a real number, got {type(value).__name__} ({value!r:.40})")
    if not math.isfinite(value):
        raise ValueError(f"{op}: '{name}' must be finite, got {value!r}")
    return float(value)


def _forward(op, name, x, out, param=0.0):
    xp, backend = select(op, ("x", "out"), x, out)
    x = float_array(xp, x, op, "x")
    if isinstance(out, xp.ndarray):
        same_dtype(op, x=x, out=out)
    target, out = _target(xp, out, x.shape, x.dtype, op, x)
    x = contiguous(xp, x)
    if backend == CPU:
        _C.activation_forward(ACTIVATION_CODES[name], x, target, float(param))
    elif backend == CUDA:
        if x.size:
            cuda().activation_forward(ACTIVATION_CODES[name], ptr(x), ptr(target), x.size, float(param), f64(x),
                                      stream())
    else:
        target[...] = fallback.forward(xp, name, x, float(param))
    return finish(target, out)


def _backward(op, name, dy, z, zname, out, param=0.0):
    xp, backend = select(op, ("dy", zname, "out"), dy, z, out)
    dy = float_array(xp, dy, op, "dy")
    z = float_array(xp, z, op, zname)
    same_dtype(op, dy=dy, **{zname: z}, out=out if isinstance(out, xp.ndarray) else None)
    _shape_check(op, dy=dy, **{zname: z})
    target, out = _target(xp, out, dy.shape, dy.dtype, op, dy, z)
    dy, z = contiguous(xp, dy), contiguous(xp, z)
    if backend == CPU:
        _C.activation_backward(ACTIVATION_CODES[name], dy, z, target, float(param))
    elif backend == CUDA:
        if dy.size:
            cuda().activation_backward(ACTIVATION_CODES[name], ptr(dy), ptr(z), ptr(target), dy.size, float(param),
                                       f64(dy), stream())
    else:
        target[...] = fallback.backward(xp, name, dy, z, float(param))
    return finish(target, out)


def relu_forward(x, out=None):
    """y = max(x, 0)."""
    return _forward("relu_forward", "relu", x, out)


def relu_backward(dy, y, out=None):
    """dx = dy where y > 0, else 0 (y the forward output)."""
    return _backward("relu_backward", "relu", dy, y, "y", out)


def leaky_relu_forward(x, negative_slope=0.2, out=None):
    """y = x if x > 0 else negative_slope * x (Keras's default slope 0.2)."""
    op = "leaky_relu_forward"
    return _forward(op, "leaky_relu", x, out, _param(op, "negative_slope", negative_slope))


def leaky_relu_backward(dy, x, negative_slope=0.2, out=None):
    """dx = dy if x > 0 else negative_slope * dy."""
    op = "leaky_relu_backward"
    return _backward(op, "leaky_relu", dy, x, "x", out, _param(op, "negative_slope", negative_slope))


def elu_forward(x, alpha=1.0, out=None):
    """y = x if x > 0 else alpha * (exp(x) - 1)."""
    return _forward("elu_forward", "elu", x, out, _param("elu_forward", "alpha", alpha))


def elu_backward(dy, x, alpha=1.0, out=None):
    """dx = dy if x > 0 else dy * alpha * exp(x)."""
    return _backward("elu_backward", "elu", dy, x, "x", out, _param("elu_backward", "alpha", alpha))


def gelu_forward(x, approximate=False, out=None):
    """Exact: y = x * Phi(x) = x/2 (1 + erf(x / sqrt 2)); approximate: x/2 (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))."""
    return _forward("gelu_forward", "gelu_tanh" if approximate else "gelu", x, out)


def gelu_backward(dy, x, approximate=False, out=None):
    """Exact: dx = dy (Phi(x) + x phi(x)); approximate: the derivative of the tanh form."""
    return _backward("gelu_backward", "gelu_tanh" if approximate else "gelu", dy, x, "x", out)


def sigmoid_forward(x, out=None):
    """y = 1 / (1 + exp(-x)), stable for any x."""
    return _forward("sigmoid_forward", "sigmoid", x, out)


def sigmoid_backward(dy, y, out=None):
    """dx = dy * y * (1 - y) (y the forward output)."""
    return _backward("sigmoid_backward", "sigmoid", dy, y, "y", out)


def tanh_forward(x, out=None):
    """y = tanh(x)."""
    return _forward("tanh_forward", "tanh", x, out)


def tanh_backward(dy, y, out=None):
    """dx = dy * (1 - y^2) (y the forward output)."""
    return _backward("tanh_backward", "tanh", dy, y, "y", out)


def softplus_forward(x, out=None):
    """y = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))."""
    return _forward("softplus_forward", "softplus", x, out)


def softplus_backward(dy, x, out=None):
    """dx = dy * sigmoid(x)."""
    return _backward("softplus_backward", "softplus", dy, x, "x", out)


def silu_forward(x, out=None):
    """y = x * sigmoid(x) (swish)."""
    return _forward("silu_forward", "silu", x, out)


def silu_backward(dy, x, out=None):
    """dx = dy * s * (1 + x (1 - s)), s = sigmoid(x)."""
    return _backward("silu_backward", "silu", dy, x, "x", out)


def swish_forward(x, out=None):
    """silu_forward under Keras's other name (errors name swish_forward)."""
    return _forward("swish_forward", "silu", x, out)


def swish_backward(dy, x, out=None):
    """silu_backward under Keras's other name (errors name swish_backward)."""
    return _backward("swish_backward", "silu", dy, x, "x", out)


# ------------------------------------------------------------------------------- softmax family

def _axis_split(op, shape, axis):
    """(axis, outer, n, inner) of `shape` around `axis` (made non-negative), or an error."""
    if not is_int(axis):
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__}")
    nd = len(shape)
    if not -nd <= axis < nd:
        raise ValueError(f"{op}: axis {axis} is out of range for an array of shape {tuple(shape)}")
    axis = int(axis) % nd
    return axis, math.prod(shape[:axis]), int(shape[axis]), math.prod(shape[axis + 1:])


def _softmax_fwd(op, x, axis, out, log):
    xp, backend = select(op, ("x", "out"), x, out)
    x = float_array(xp, x, op, "x")
    if isinstance(out, xp.ndarray):
        same_dtype(op, x=x, out=out)
    axis, outer, n, inner = _axis_split(op, x.shape, axis)
    target, out = _target(xp, out, x.shape, x.dtype, op, x)
    x = contiguous(xp, x)
    if backend == CPU:
        _C.softmax_forward(x, target, outer, n, inner, log)
    elif backend == CUDA:
        if x.size:
            cuda().softmax_forward(ptr(x), ptr(target), outer, n, inner, log, f64(x), stream())
    else:
        target[...] = fallback.softmax_forward(xp, x, axis, log)
    return finish(target, out)


def _softmax_bwd(op, dy, y, axis, out, log):
    xp, backend = select(op, ("dy", "y", "out"), dy, y, out)
    dy = float_array(xp, dy, op, "dy")
    y = float_array(xp, y, op, "y")
    same_dtype(op, dy=dy, y=y, out=out if isinstance(out, xp.ndarray) else None)
    _shape_check(op, dy=dy, y=y)
    axis, outer, n, inner = _axis_split(op, dy.shape, axis)
    target, out = _target(xp, out, dy.shape, dy.dtype, op, dy, y)
    dy, y = contiguous(xp, dy), contiguous(xp, y)
    if backend == CPU:
        _C.softmax_backward(dy, y, target, outer, n, inner, log)
    elif backend == CUDA:
        if dy.size:
            cuda().softmax_backward(ptr(dy), ptr(y), ptr(target), outer, n, inner, log, f64(dy), stream())
    else:
        target[...] = fallback.softmax_backward(xp, dy, y, axis, log)
    return finish(target, out)


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
