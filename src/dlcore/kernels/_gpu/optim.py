"""Optimizer updates on CuPy arrays, in place, one pass over flat buffers (PyTorch's formulas).

param, grad and every state array have one shape and dtype; param and the states must be
C-contiguous (they are updated in place); grad may be strided (copied then). Formulas are in
csrc/cuda/optim.cu's header comment. CUDA version: one fused kernel per optimizer. Fallback:
CuPy in-place array operations (Adam as one cupy.ElementwiseKernel).
"""
from __future__ import annotations

import functools
import math

from .._validate import gpu_float_array, same_dtype
from ._backends import register
from .device import cp, is_f64, ptr, stream


def _state(x, name, param, op, required=True):
    if x is None:
        if required:
            raise ValueError(f"{op}: '{name}' is required here")
        return None
    x = gpu_float_array(x, op, name)
    if x.shape != param.shape:
        raise ValueError(f"{op}: '{name}' must have the shape of 'param' {param.shape}, got {x.shape}")
    if x.dtype != param.dtype:
        raise TypeError(f"{op}: '{name}' must have dtype {param.dtype} like 'param', got {x.dtype}")
    if not x.flags.c_contiguous:
        raise ValueError(f"{op}: '{name}' must be C-contiguous (it is updated in place)")
    return x


def _param_grad(param, grad, op):
    param = gpu_float_array(param, op, "param")
    grad = gpu_float_array(grad, op, "grad")
    same_dtype(op, param=param, grad=grad)
    if grad.shape != param.shape:
        raise ValueError(f"{op}: 'grad' must have the shape of 'param' {param.shape}, got {grad.shape}")
    if not param.flags.c_contiguous:
        raise ValueError(f"{op}: 'param' must be C-contiguous (it is updated in place)")
    return param, cp.ascontiguousarray(grad)


def _nonneg(op, **values):
    for name, v in values.items():
        if not v >= 0:  # also rejects NaN
            raise ValueError(f"{op}: '{name}' must be >= 0, got {v!r}")


def sgd_update(param, grad, lr, momentum=0.0, velocity=None, nesterov=False, weight_decay=0.0, *, _cuda):
    op = "sgd_update"
    param, grad = _param_grad(param, grad, op)
    _nonneg(op, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if nesterov and momentum == 0:
        raise ValueError(f"{op}: nesterov needs momentum > 0")
    velocity = _state(velocity, "velocity", param, op, required=momentum != 0)
    if _cuda is None:
        g = grad + weight_decay * param if weight_decay else grad
        if momentum:
            velocity *= momentum
            velocity += g
            g = g + momentum * velocity if nesterov else velocity
        param -= lr * g
    else:
        _cuda.sgd_update(ptr(param), ptr(grad), param.size, float(lr), float(momentum), ptr(velocity), bool(nesterov),
                         float(weight_decay), is_f64(param.dtype), stream())
    return param


def adagrad_update(param, grad, accum, lr, eps=1e-7, weight_decay=0.0, *, _cuda):
    op = "adagrad_update"
    param, grad = _param_grad(param, grad, op)
    _nonneg(op, lr=lr, eps=eps, weight_decay=weight_decay)
    accum = _state(accum, "accum", param, op)
    if _cuda is None:
        g = grad + weight_decay * param if weight_decay else grad
        accum += g * g
        param -= lr * g / (cp.sqrt(accum) + eps)
    else:
        _cuda.adagrad_update(ptr(param), ptr(grad), ptr(accum), param.size, float(lr), float(eps), float(weight_decay),
                             is_f64(param.dtype), stream())
    return param


def rmsprop_update(param, grad, sq_avg, lr, rho=0.9, eps=1e-7, momentum=0.0, mom_buf=None, centered=False,
                   grad_avg=None, weight_decay=0.0, *, _cuda):
    op = "rmsprop_update"
    param, grad = _param_grad(param, grad, op)
    _nonneg(op, lr=lr, rho=rho, eps=eps, momentum=momentum, weight_decay=weight_decay)
    sq_avg = _state(sq_avg, "sq_avg", param, op)
    mom_buf = _state(mom_buf, "mom_buf", param, op, required=momentum != 0)
    grad_avg = _state(grad_avg, "grad_avg", param, op, required=bool(centered))
    if not centered:
        grad_avg = None
    if _cuda is None:
        g = grad + weight_decay * param if weight_decay else grad
        sq_avg *= rho
        sq_avg += (1 - rho) * g * g
        if grad_avg is not None:
            grad_avg *= rho
            grad_avg += (1 - rho) * g
            denom = cp.sqrt(sq_avg - grad_avg * grad_avg) + eps
        else:
            denom = cp.sqrt(sq_avg) + eps
        if momentum:
            mom_buf *= momentum
            mom_buf += g / denom
            param -= lr * mom_buf
        else:
            param -= lr * g / denom
    else:
        _cuda.rmsprop_update(ptr(param), ptr(grad), ptr(sq_avg), param.size, float(lr), float(rho), float(eps),
                             float(momentum), ptr(mom_buf), ptr(grad_avg), float(weight_decay), is_f64(param.dtype),
                             stream())
    return param


@functools.lru_cache(maxsize=None)
def _adam_kernel(amsgrad):
    body = """
        T g = grad;
        T p = param;
        if (decoupled) p *= T(1) - lr * wd; else g += wd * p;
        m = b1 * m + (T(1) - b1) * g;
        v = b2 * v + (T(1) - b2) * g * g;
        T vh = v;
        %s
        param = p - (lr / c1) * m / (sqrt(vh) / sqrt(c2) + eps);
    """ % ("vmax = vh = max(vmax, v);" if amsgrad else "")
    outs = "T param, T m, T v" + (", T vmax" if amsgrad else "")
    return cp.ElementwiseKernel("T grad, T lr, T b1, T b2, T eps, T wd, bool decoupled, T c1, T c2",
                                outs, body, f"dlcore_adam{'_amsgrad' if amsgrad else ''}")


def adam_update(param, grad, m, v, lr, step, beta1=0.9, beta2=0.999, eps=1e-7, weight_decay=0.0,
                decoupled_weight_decay=False, amsgrad=False, v_max=None, *, _cuda):
    """Adam (AdamW with decoupled_weight_decay=True); `step` counts from 1."""
    op = "adam_update"
    param, grad = _param_grad(param, grad, op)
    _nonneg(op, lr=lr, eps=eps, weight_decay=weight_decay)
    if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
        raise ValueError(f"{op}: beta1 and beta2 must lie in [0, 1), got {beta1!r}, {beta2!r}")
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise ValueError(f"{op}: 'step' must be an int >= 1 (the step being taken), got {step!r}")
    m = _state(m, "m", param, op)
    v = _state(v, "v", param, op)
    v_max = _state(v_max, "v_max", param, op, required=bool(amsgrad)) if amsgrad else None
    c1, c2 = 1.0 - beta1 ** step, 1.0 - beta2 ** step
    if _cuda is None:
        T = param.dtype.type
        args = (grad, T(lr), T(beta1), T(beta2), T(eps), T(weight_decay), bool(decoupled_weight_decay), T(c1), T(c2),
                param, m, v) + ((v_max,) if amsgrad else ())
        _adam_kernel(bool(amsgrad))(*args)
    else:
        _cuda.adam_update(ptr(param), ptr(grad), ptr(m), ptr(v), ptr(v_max), param.size, float(lr), float(beta1),
                          float(beta2), float(eps), float(weight_decay), bool(decoupled_weight_decay), c1, c2,
                          is_f64(param.dtype), stream())
    return param


def _arrays(arrays, op):
    if not isinstance(arrays, (list, tuple)):
        arrays = [arrays]
    return [gpu_float_array(a, op, f"arrays[{i}]") for i, a in enumerate(arrays)]


def global_norm(arrays, *, _cuda):
    """The L2 norm over every element of every array (float; one device-to-host copy)."""
    arrays = _arrays(arrays, "global_norm")
    if _cuda is None:
        total = sum((cp.sum(cp.square(a.astype(cp.float64, copy=False))) for a in arrays), cp.zeros((), cp.float64))
        return float(math.sqrt(float(total)))
    acc = cp.zeros((1,), dtype=cp.float64)
    for a in arrays:
        a = cp.ascontiguousarray(a)
        _cuda.sum_squares(ptr(a), a.size, ptr(acc), is_f64(a.dtype), stream())
    return float(math.sqrt(float(acc[0])))


def scale_(arrays, factor, *, _cuda):
    """Multiply every array by `factor`, in place (gradient clipping by global norm)."""
    arrays = _arrays(arrays, "scale_")
    for a in arrays:
        if _cuda is None or not a.flags.c_contiguous:
            a *= factor
        else:
            _cuda.scale_inplace(ptr(a), a.size, float(factor), is_f64(a.dtype), stream())
    return arrays


FALLBACK, CUDA = {}, {}
register(FALLBACK, CUDA, sgd_update, adagrad_update, rmsprop_update, adam_update, global_norm, scale_)
