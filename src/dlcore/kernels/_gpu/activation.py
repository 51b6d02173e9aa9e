"""Activations, softmax and log-softmax on CuPy arrays (see docs/kernel_api.md).

Elementwise, any shape; `out=` optional and may be the input itself (in place). Backward takes the
forward output y for relu / sigmoid / tanh and the input x for the others.
CUDA version: csrc/cuda/activation.cu (the formulas of csrc/common/scalar_math.h). Fallback: one
cupy.ElementwiseKernel per activation and direction, the same formulas written as C expressions.
"""
from __future__ import annotations

import functools
import math

from .._validate import check_shape, gpu_float_array, gpu_output, same_dtype
from ._backends import register
from .device import cp, is_f64, ptr, stream

# name: (code in csrc/cuda/kernels.cuh, forward expression, backward expression (dy, z, p -> dx))
_ACT = {
    "relu": (0, "y = x > T(0) ? x : T(0)", "dx = z > T(0) ? dy : T(0)"),
    "leaky_relu": (1, "y = x > T(0) ? x : p * x", "dx = z > T(0) ? dy : p * dy"),
    "elu": (2, "y = x > T(0) ? x : p * expm1(x)", "dx = z > T(0) ? dy : dy * p * exp(z)"),
    "gelu": (3, "y = x * T(0.5) * erfc(-x * T(0.70710678118654752440))",
             "dx = dy * (T(0.5) * erfc(-z * T(0.70710678118654752440)) + z * T(0.39894228040143267794) * exp(T(-0.5) * z * z))"),
    "gelu_tanh": (4, "T u = T(0.79788456080286535588) * (x + T(0.044715) * x * x * x); y = x / (T(1) + exp(T(-2) * u))",
                  "T u = T(0.79788456080286535588) * (z + T(0.044715) * z * z * z);"
                  "T du = T(0.79788456080286535588) * (T(1) + T(3 * 0.044715) * z * z);"
                  "T s = T(1) / (T(1) + exp(T(-2) * u));"
                  "dx = dy * (s + z * s * (T(1) - s) * T(2) * du)"),
    "sigmoid": (5, "y = T(1) / (T(1) + exp(-x))", "dx = dy * z * (T(1) - z)"),
    "tanh": (6, "y = tanh(x)", "dx = dy * (T(1) - z * z)"),
    "softplus": (7, "y = (x > T(0) ? x : T(0)) + log1p(exp(-fabs(x)))", "dx = dy / (T(1) + exp(-z))"),
    "silu": (8, "y = x / (T(1) + exp(-x))", "T s = T(1) / (T(1) + exp(-z)); dx = dy * s * (T(1) + z * (T(1) - s))"),
}


@functools.lru_cache(maxsize=None)
def _kernel(name, backward):
    code, fwd, bwd = _ACT[name]
    if backward:
        return cp.ElementwiseKernel("T dy, T z, T p", "T dx", bwd, f"dlcore_{name}_backward")
    return cp.ElementwiseKernel("T x, T p", "T y", fwd, f"dlcore_{name}_forward")


def _elementwise_out(out, like, op, *inputs):
    """Where to write: a new array, `out` itself (also when it is exactly an input: in place), or a
    temporary when `out` is strided or partly overlaps an input."""
    if out is None:
        return cp.empty(like.shape, dtype=like.dtype), None
    out = gpu_float_array(out, op, "out")
    if out.dtype != like.dtype:
        raise TypeError(f"{op}: 'out' must have dtype {like.dtype}, got {out.dtype}")
    check_shape(out, like.shape, op, "out")
    same = lambda a: ptr(a) == ptr(out) and a.strides == out.strides  # noqa: E731
    if out.flags.c_contiguous and all(same(a) or not cp.may_share_memory(a, out) for a in inputs):
        return out, None
    return cp.empty(like.shape, dtype=like.dtype), out


def _run_forward(name, x, param, out, op, _cuda):
    x = gpu_float_array(x, op, "x")
    target, final = _elementwise_out(out, x, op, x)
    if _cuda is None:
        _kernel(name, False)(x, x.dtype.type(param), target)
    elif x.size:
        x = cp.ascontiguousarray(x)
        _cuda.activation_forward(_ACT[name][0], ptr(x), ptr(target), x.size, float(param), is_f64(x.dtype), stream())
    if final is not None:
        final[...] = target
        return final
    return target


def _run_backward(name, dy, z, param, out, op, zname, _cuda):
    dy = gpu_float_array(dy, op, "dy")
    z = gpu_float_array(z, op, zname)
    same_dtype(op, dy=dy, **{zname: z})
    if dy.shape != z.shape:
        raise ValueError(f"{op}: 'dy' and '{zname}' must have the same shape, got {dy.shape} and {z.shape}")
    target, final = _elementwise_out(out, dy, op, dy, z)
    if _cuda is None:
        _kernel(name, True)(dy, z, dy.dtype.type(param), target)
    elif dy.size:
        dy, z = cp.ascontiguousarray(dy), cp.ascontiguousarray(z)
        _cuda.activation_backward(_ACT[name][0], ptr(dy), ptr(z), ptr(target), dy.size, float(param),
                                  is_f64(dy.dtype), stream())
    if final is not None:
        final[...] = target
        return final
    return target


def relu_forward(x, out=None, *, _cuda):
    return _run_forward("relu", x, 0.0, out, "relu_forward", _cuda)


def relu_backward(dy, y, out=None, *, _cuda):
    return _run_backward("relu", dy, y, 0.0, out, "relu_backward", "y", _cuda)


def sigmoid_forward(x, out=None, *, _cuda):
    return _run_forward("sigmoid", x, 0.0, out, "sigmoid_forward", _cuda)


def sigmoid_backward(dy, y, out=None, *, _cuda):
    return _run_backward("sigmoid", dy, y, 0.0, out, "sigmoid_backward", "y", _cuda)


def tanh_forward(x, out=None, *, _cuda):
    return _run_forward("tanh", x, 0.0, out, "tanh_forward", _cuda)


def tanh_backward(dy, y, out=None, *, _cuda):
    return _run_backward("tanh", dy, y, 0.0, out, "tanh_backward", "y", _cuda)


def leaky_relu_forward(x, negative_slope=0.2, out=None, *, _cuda):
    return _run_forward("leaky_relu", x, negative_slope, out, "leaky_relu_forward", _cuda)


def leaky_relu_backward(dy, x, negative_slope=0.2, out=None, *, _cuda):
    return _run_backward("leaky_relu", dy, x, negative_slope, out, "leaky_relu_backward", "x", _cuda)


def elu_forward(x, alpha=1.0, out=None, *, _cuda):
    return _run_forward("elu", x, alpha, out, "elu_forward", _cuda)


def elu_backward(dy, x, alpha=1.0, out=None, *, _cuda):
    return _run_backward("elu", dy, x, alpha, out, "elu_backward", "x", _cuda)


def gelu_forward(x, approximate=False, out=None, *, _cuda):
    return _run_forward("gelu_tanh" if approximate else "gelu", x, 0.0, out, "gelu_forward", _cuda)


def gelu_backward(dy, x, approximate=False, out=None, *, _cuda):
    return _run_backward("gelu_tanh" if approximate else "gelu", dy, x, 0.0, out, "gelu_backward", "x", _cuda)


def softplus_forward(x, out=None, *, _cuda):
    return _run_forward("softplus", x, 0.0, out, "softplus_forward", _cuda)


def softplus_backward(dy, x, out=None, *, _cuda):
    return _run_backward("softplus", dy, x, 0.0, out, "softplus_backward", "x", _cuda)


def silu_forward(x, out=None, *, _cuda):
    return _run_forward("silu", x, 0.0, out, "silu_forward", _cuda)


def silu_backward(dy, x, out=None, *, _cuda):
    return _run_backward("silu", dy, x, 0.0, out, "silu_backward", "x", _cuda)


# ---- softmax ----------------------------------------------------------------------------------------

def _axis(x, axis, op):
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise TypeError(f"{op}: 'axis' must be an int, got {axis!r}")
    if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for an array of shape {x.shape}")
    a = axis % x.ndim
    return a, math.prod(x.shape[:a]), x.shape[a], math.prod(x.shape[a + 1:])


def _softmax_forward(x, axis, log, op, _cuda):
    x = gpu_float_array(x, op, "x")
    a, outer, n, inner = _axis(x, axis, op)
    if _cuda is None:
        shifted = x - x.max(axis=a, keepdims=True) if x.size else x.copy()
        if log:
            return shifted - cp.log(cp.exp(shifted).sum(axis=a, keepdims=True))
        e = cp.exp(shifted)
        return e / e.sum(axis=a, keepdims=True)
    x = cp.ascontiguousarray(x)
    y = cp.empty(x.shape, dtype=x.dtype)
    _cuda.softmax_forward(ptr(x), ptr(y), outer, n, inner, log, is_f64(x.dtype), stream())
    return y


def _softmax_backward(dy, y, axis, log, op, _cuda):
    dy = gpu_float_array(dy, op, "dy")
    y = gpu_float_array(y, op, "y")
    same_dtype(op, dy=dy, y=y)
    if dy.shape != y.shape:
        raise ValueError(f"{op}: 'dy' and 'y' must have the same shape, got {dy.shape} and {y.shape}")
    a, outer, n, inner = _axis(y, axis, op)
    if _cuda is None:
        if log:
            return dy - cp.exp(y) * dy.sum(axis=a, keepdims=True)
        return y * (dy - (dy * y).sum(axis=a, keepdims=True))
    dy, y = cp.ascontiguousarray(dy), cp.ascontiguousarray(y)
    dx = cp.empty(y.shape, dtype=y.dtype)
    _cuda.softmax_backward(ptr(dy), ptr(y), ptr(dx), outer, n, inner, log, is_f64(y.dtype), stream())
    return dx


def _into(result, out, op, *inputs):
    """Return `result`, or copy it into a caller's `out` (validated like the CPU kernels' out=)."""
    if out is None:
        return result
    _, out = gpu_output(out, result.shape, result.dtype, op, *inputs)
    out[...] = result
    return out


def softmax_forward(x, axis=-1, out=None, *, _cuda):
    return _into(_softmax_forward(x, axis, False, "softmax_forward", _cuda), out, "softmax_forward", x)


def softmax_backward(dy, y, axis=-1, out=None, *, _cuda):
    return _into(_softmax_backward(dy, y, axis, False, "softmax_backward", _cuda), out, "softmax_backward", dy, y)


def log_softmax_forward(x, axis=-1, out=None, *, _cuda):
    return _into(_softmax_forward(x, axis, True, "log_softmax_forward", _cuda), out, "log_softmax_forward", x)


def log_softmax_backward(dy, y, axis=-1, out=None, *, _cuda):
    return _into(_softmax_backward(dy, y, axis, True, "log_softmax_backward", _cuda), out, "log_softmax_backward", dy, y)


FALLBACK, CUDA = {}, {}
register(FALLBACK, CUDA, relu_forward, relu_backward, sigmoid_forward, sigmoid_backward, tanh_forward, tanh_backward,
         leaky_relu_forward, leaky_relu_backward, elu_forward, elu_backward, gelu_forward, gelu_backward,
         softplus_forward, softplus_backward, silu_forward, silu_backward, softmax_forward, softmax_backward,
         log_softmax_forward, log_softmax_backward)
