"""Optimizer updates on arrays: one fused pass over parameter, gradient and state, in place.

The parameter and every state array must be C-contiguous, writable, of the parameter's shape and
dtype (a copy would silently drop the update, so a non-contiguous one is a ValueError); the
gradient may have any strides (it is copied when needed). No array that is written (the parameter,
the states) may share memory with another or with the gradient. Works on one tensor or on one flat
buffer holding all parameters of a model. Each function returns ``param``.

The formulas are PyTorch's (torch.optim, foreach=False), with Keras's default epsilon 1e-7. With
g the gradient and p the parameter:

- SGD: g' = g + wd p;  b = mu b + g'  (b starts at zero, so the first b is g', as in PyTorch);
  d = g' + mu b if nesterov else b  (d = g' when momentum == 0);  p -= lr d
- Adagrad: g' = g + wd p;  acc += g'^2;  p -= lr g' / (sqrt(acc) + eps)
- RMSprop: g' = g + wd p;  sq = rho sq + (1 - rho) g'^2;  centered: ga = rho ga + (1 - rho) g',
  denom = sqrt(sq - ga^2) + eps, else denom = sqrt(sq) + eps;  momentum: b = mu b + g' / denom,
  p -= lr b;  else p -= lr g' / denom
- Adam: g' = g + wd p (AdamW, decoupled_weight_decay=True: p *= 1 - lr wd, g' = g);
  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2;  amsgrad: v_max = max(v_max, v), v := v_max;
  p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps),  t = step (1 on the first step)

Backends: cpu, csrc/cpu/optim.cpp (the loops in optim_loops.h compiled per ISA); cuda,
csrc/cuda/optim.cu (one fused kernel per optimizer); fallback, fallback/optim.py.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _C
from ._device import cuda, f64, ptr, stream
from ._validate import float_array, is_int, writable
from .backend import CPU, CUDA, is_gpu_array, select
from .fallback import optim as fallback


def _param(xp, op, param):
    param = float_array(xp, param, op, "param")
    flags = param.flags
    if not flags.c_contiguous:
        raise ValueError(f"{op}: 'param' must be C-contiguous (it is updated in place), got strides "
                         f"{param.strides} for shape {tuple(param.shape)}")
    if not getattr(flags, "writeable", True):  # CuPy arrays are always writable
        raise ValueError(f"{op}: 'param' is read-only")
    return param


def _grad(xp, op, param, grad):
    grad = float_array(xp, grad, op, "grad")
    if grad.dtype != param.dtype:
        raise TypeError(f"{op}: 'grad' must have the parameter's dtype {param.dtype}, got {grad.dtype}")
    if grad.shape != param.shape:
        raise ValueError(f"{op}: 'grad' must have the parameter's shape {tuple(param.shape)}, "
                         f"got {tuple(grad.shape)}")
    return xp.ascontiguousarray(grad)


def _state(xp, op, param, name, s, required=True):
    if s is None:
        if required:
            raise ValueError(f"{op}: '{name}' is required here (a state array of shape {tuple(param.shape)})")
        return None
    s = float_array(xp, s, op, name)
    if s.dtype != param.dtype:
        raise TypeError(f"{op}: '{name}' must have the parameter's dtype {param.dtype}, got {s.dtype}")
    if s.shape != param.shape:
        raise ValueError(f"{op}: '{name}' must have the parameter's shape {tuple(param.shape)}, "
                         f"got {tuple(s.shape)}")
    flags = s.flags
    if not flags.c_contiguous:
        raise ValueError(f"{op}: '{name}' must be C-contiguous (it is updated in place), got strides {s.strides}")
    if not getattr(flags, "writeable", True):
        raise ValueError(f"{op}: '{name}' is read-only")
    return s


def _disjoint(xp, op, grad, **written):
    """Every written array (param first, then the states) shares no memory with an earlier one or
    with the gradient: an overlap would make the fused update read what it has just written."""
    if xp is np and grad.base is None:
        # NumPy arrays that own their memory (no base) overlap only when they are the same array:
        # answered without a memory-bounds check per pair, the cost of the common call.
        ids, n = {id(grad)}, 1
        for a in written.values():
            if a is not None:
                if a.base is not None:
                    break
                ids.add(id(a))
                n += 1
        else:
            if len(ids) == n:
                return
    seen = []
    for name, a in written.items():
        if a is None:
            continue
        for other, b in seen + [("grad", grad)]:
            if xp.may_share_memory(a, b):
                raise ValueError(f"{op}: '{name}' must not share memory with '{other}'")
        seen.append((name, a))


def _number(op, name, value, lo=None, hi=None, hi_open=False):
    if isinstance(value, (str, bytes)):  # float("0.5") would parse it: a string is not a number
        raise TypeError(f"{op}: '{name}' must be a number, got {type(value).__name__} ({value!r:.40})")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: '{name}' must be a number, got {type(value).__name__}") from None
    if not math.isfinite(v) or (lo is not None and v < lo) or (hi is not None and (v >= hi if hi_open else v > hi)):
        rng = f"[{lo}, {hi})" if hi_open else f"[{lo}, {hi}]"
        raise ValueError(f"{op}: '{name}' must be a finite number in {rng}, got {value!r}")
    return v


def sgd_update(param, grad, lr, momentum=0.0, velocity=None, nesterov=False, weight_decay=0.0):
    """SGD step in place: g' = g + wd p; b = mu b + g'; d = g' + mu b (nesterov) or b; p -= lr d."""
    op = "sgd_update"
    xp, backend = select(op, ("param", "grad", "velocity"), param, grad, velocity)
    param = _param(xp, op, param)
    grad = _grad(xp, op, param, grad)
    lr = _number(op, "lr", lr, 0.0)
    momentum = _number(op, "momentum", momentum, 0.0)
    weight_decay = _number(op, "weight_decay", weight_decay, 0.0)
    velocity = _state(xp, op, param, "velocity", velocity, required=momentum != 0.0)
    if nesterov and momentum == 0.0:
        raise ValueError(f"{op}: nesterov needs momentum > 0 (as in PyTorch)")
    _disjoint(xp, op, grad, param=param, velocity=velocity)
    if backend == CPU:
        _C.sgd_update(param, grad, velocity, lr, momentum, bool(nesterov), weight_decay)
    elif backend == CUDA:
        cuda().sgd_update(ptr(param), ptr(grad), param.size, lr, momentum, ptr(velocity), bool(nesterov), weight_decay,
                          f64(param), stream())
    else:
        fallback.sgd(xp, param, grad, velocity, lr, momentum, bool(nesterov), weight_decay)
    return param


def adagrad_update(param, grad, accum, lr, eps=1e-7, weight_decay=0.0):
    """Adagrad step in place: g' = g + wd p; acc += g'^2; p -= lr g' / (sqrt(acc) + eps)."""
    op = "adagrad_update"
    xp, backend = select(op, ("param", "grad", "accum"), param, grad, accum)
    param = _param(xp, op, param)
    grad = _grad(xp, op, param, grad)
    accum = _state(xp, op, param, "accum", accum)
    lr, eps = _number(op, "lr", lr, 0.0), _number(op, "eps", eps, 0.0)
    weight_decay = _number(op, "weight_decay", weight_decay, 0.0)
    _disjoint(xp, op, grad, param=param, accum=accum)
    if backend == CPU:
        _C.adagrad_update(param, grad, accum, lr, eps, weight_decay)
    elif backend == CUDA:
        cuda().adagrad_update(ptr(param), ptr(grad), ptr(accum), param.size, lr, eps, weight_decay, f64(param),
                              stream())
    else:
        fallback.adagrad(xp, param, grad, accum, lr, eps, weight_decay)
    return param


def rmsprop_update(param, grad, sq_avg, lr, rho=0.9, eps=1e-7, momentum=0.0, mom_buf=None, centered=False,
                   grad_avg=None, weight_decay=0.0):
    """RMSprop step in place (PyTorch's, alpha = rho); formulas in the module docstring."""
    op = "rmsprop_update"
    xp, backend = select(op, ("param", "grad", "sq_avg", "mom_buf", "grad_avg"), param, grad, sq_avg, mom_buf,
                         grad_avg)
    param = _param(xp, op, param)
    grad = _grad(xp, op, param, grad)
    sq_avg = _state(xp, op, param, "sq_avg", sq_avg)
    momentum = _number(op, "momentum", momentum, 0.0)
    mom_buf = _state(xp, op, param, "mom_buf", mom_buf, required=momentum != 0.0)
    grad_avg = _state(xp, op, param, "grad_avg", grad_avg, required=bool(centered))
    lr, rho = _number(op, "lr", lr, 0.0), _number(op, "rho", rho, 0.0, 1.0)
    eps, weight_decay = _number(op, "eps", eps, 0.0), _number(op, "weight_decay", weight_decay, 0.0)
    _disjoint(xp, op, grad, param=param, sq_avg=sq_avg, mom_buf=mom_buf, grad_avg=grad_avg)
    if backend == CPU:
        _C.rmsprop_update(param, grad, sq_avg, mom_buf, grad_avg, lr, rho, eps, momentum, bool(centered), weight_decay)
    elif backend == CUDA:
        cuda().rmsprop_update(ptr(param), ptr(grad), ptr(sq_avg), param.size, lr, rho, eps, momentum, ptr(mom_buf),
                              ptr(grad_avg if centered else None), weight_decay, f64(param), stream())
    else:
        fallback.rmsprop(xp, param, grad, sq_avg, mom_buf, grad_avg, lr, rho, eps, momentum, bool(centered),
                         weight_decay)
    return param


def adam_update(param, grad, m, v, lr, step, beta1=0.9, beta2=0.999, eps=1e-7, weight_decay=0.0,
                decoupled_weight_decay=False, amsgrad=False, v_max=None):
    """Adam / AdamW step in place (PyTorch's formulas, bias-corrected; `step` = 1 on the first call).

    m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2;  (amsgrad: v_max = max(v_max, v), used for v)
    p -= lr / (1 - b1^step) * m / (sqrt(v) / sqrt(1 - b2^step) + eps), with g' = g + wd p (Adam), or
    p *= 1 - lr wd first and g' = g (AdamW, decoupled_weight_decay=True).
    """
    op = "adam_update"
    xp, backend = select(op, ("param", "grad", "m", "v", "v_max"), param, grad, m, v, v_max)
    param = _param(xp, op, param)
    grad = _grad(xp, op, param, grad)
    m = _state(xp, op, param, "m", m)
    v = _state(xp, op, param, "v", v)
    v_max = _state(xp, op, param, "v_max", v_max, required=bool(amsgrad))
    if not is_int(step):
        raise TypeError(f"{op}: 'step' must be an int, got {type(step).__name__}")
    if step < 1:
        raise ValueError(f"{op}: 'step' must be >= 1 (the step being taken), got {step}")
    lr, eps = _number(op, "lr", lr, 0.0), _number(op, "eps", eps, 0.0)
    beta1 = _number(op, "beta1", beta1, 0.0, 1.0, hi_open=True)
    beta2 = _number(op, "beta2", beta2, 0.0, 1.0, hi_open=True)
    weight_decay = _number(op, "weight_decay", weight_decay, 0.0)
    _disjoint(xp, op, grad, param=param, m=m, v=v, v_max=v_max)
    step, decoupled, amsgrad = int(step), bool(decoupled_weight_decay), bool(amsgrad)
    if backend == CPU:
        _C.adam_update(param, grad, m, v, v_max, lr, step, beta1, beta2, eps, weight_decay, decoupled, amsgrad)
    elif backend == CUDA:
        cuda().adam_update(ptr(param), ptr(grad), ptr(m), ptr(v), ptr(v_max if amsgrad else None), param.size, lr,
                           beta1, beta2, eps, weight_decay, decoupled, 1.0 - beta1 ** step, 1.0 - beta2 ** step,
                           f64(param), stream())
    else:
        fallback.adam(xp, param, grad, m, v, v_max, lr, step, beta1, beta2, eps, weight_decay, decoupled, amsgrad)
    return param


def _array_list(xp, op, arrays):
    for i, a in enumerate(arrays):
        float_array(xp, a, op, f"arrays[{i}]")
    return arrays


def _as_list(arrays):
    """`arrays` as a list: one array alone, or any sequence of them."""
    if type(arrays).__module__ == "numpy" or is_gpu_array(arrays):
        return [arrays]
    return list(arrays)


def global_norm(arrays):
    """sqrt(sum over all arrays of sum(x^2)), accumulated in float64; returns a Python float."""
    op = "global_norm"
    arrays = _as_list(arrays)
    xp, backend = select(op, None, *arrays)
    arrays = _array_list(xp, op, arrays)
    if backend == CPU:
        total = sum(_C.sum_squares(xp.ascontiguousarray(a)) for a in arrays)
    elif backend == CUDA:
        acc = xp.zeros((1,), dtype=xp.float64)
        for a in arrays:
            a = xp.ascontiguousarray(a)
            if a.size:
                cuda().sum_squares(ptr(a), a.size, ptr(acc), f64(a), stream())
        total = float(acc[0])
    else:
        total = fallback.sum_squares(xp, arrays)
    return math.sqrt(total)


def scale_(arrays, factor):
    """x *= factor in place for every array (gradient clipping: factor = clip_norm / max(norm, clip_norm))."""
    op = "scale_"
    arrays = _as_list(arrays)
    xp, backend = select(op, None, *arrays)
    factor = _number(op, "factor", factor)
    arrays = _array_list(xp, op, arrays)
    for i, a in enumerate(arrays):
        if not writable(a):
            raise ValueError(f"{op}: arrays[{i}] is read-only")
    for a in arrays:
        if backend == CPU and a.flags.c_contiguous:
            _C.scale_inplace(a, factor)
        elif backend == CUDA and a.flags.c_contiguous:
            if a.size:
                cuda().scale_inplace(ptr(a), a.size, factor, f64(a), stream())
        else:  # the fallback, and strided arrays on any backend (the kernels take contiguous ones)
            fallback.scale(xp, a, factor)
    return arrays


__all__ = ["sgd_update", "adagrad_update", "rmsprop_update", "adam_update", "global_norm", "scale_"]
