"""Optimizer updates on arrays: one fused pass over parameter, gradient and state, in place.

The parameter and every state array must be C-contiguous, writable, of the parameter's shape and
dtype (a copy would silently drop the update, so a non-contiguous one is a ValueError); the
gradient may have any strides (it is copied when needed). Works on one tensor or on one flat buffer
holding all parameters of a model. Each function returns ``param``.

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

Kernels: csrc/cpu/optim.cpp, the loops in optim_loops.h compiled per ISA.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _C
from ._validate import float_array


def _param(op, param):
    param = float_array(param, op, "param")
    if not param.flags.c_contiguous:
        raise ValueError(f"{op}: 'param' must be C-contiguous (it is updated in place), got strides {param.strides} "
                         f"for shape {param.shape}")
    if not param.flags.writeable:
        raise ValueError(f"{op}: 'param' is read-only")
    return param


def _grad(op, param, grad):
    grad = float_array(grad, op, "grad")
    if grad.dtype != param.dtype:
        raise TypeError(f"{op}: 'grad' must have the parameter's dtype {param.dtype}, got {grad.dtype}")
    if grad.shape != param.shape:
        raise ValueError(f"{op}: 'grad' must have the parameter's shape {param.shape}, got {grad.shape}")
    return np.ascontiguousarray(grad)


def _state(op, param, name, s, required=True):
    if s is None:
        if required:
            raise ValueError(f"{op}: '{name}' is required here (a state array of shape {param.shape})")
        return None
    s = float_array(s, op, name)
    if s.dtype != param.dtype:
        raise TypeError(f"{op}: '{name}' must have the parameter's dtype {param.dtype}, got {s.dtype}")
    if s.shape != param.shape:
        raise ValueError(f"{op}: '{name}' must have the parameter's shape {param.shape}, got {s.shape}")
    if not s.flags.c_contiguous:
        raise ValueError(f"{op}: '{name}' must be C-contiguous (it is updated in place), got strides {s.strides}")
    if not s.flags.writeable:
        raise ValueError(f"{op}: '{name}' is read-only")
    if np.may_share_memory(s, param):
        raise ValueError(f"{op}: '{name}' must not share memory with 'param'")
    return s


def _number(op, name, value, lo=None, hi=None, hi_open=False):
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
    param = _param(op, param)
    grad = _grad(op, param, grad)
    lr = _number(op, "lr", lr, 0.0)
    momentum = _number(op, "momentum", momentum, 0.0)
    weight_decay = _number(op, "weight_decay", weight_decay, 0.0)
    velocity = _state(op, param, "velocity", velocity, required=momentum != 0.0)
    if nesterov and momentum == 0.0:
        raise ValueError(f"{op}: nesterov needs momentum > 0 (as in PyTorch)")
    _C.sgd_update(param, grad, velocity, lr, momentum, bool(nesterov), weight_decay)
    return param


def adagrad_update(param, grad, accum, lr, eps=1e-7, weight_decay=0.0):
    """Adagrad step in place: g' = g + wd p; acc += g'^2; p -= lr g' / (sqrt(acc) + eps)."""
    op = "adagrad_update"
    param = _param(op, param)
    grad = _grad(op, param, grad)
    accum = _state(op, param, "accum", accum)
    _C.adagrad_update(param, grad, accum, _number(op, "lr", lr, 0.0), _number(op, "eps", eps, 0.0),
                      _number(op, "weight_decay", weight_decay, 0.0))
    return param


def rmsprop_update(param, grad, sq_avg, lr, rho=0.9, eps=1e-7, momentum=0.0, mom_buf=None, centered=False,
                   grad_avg=None, weight_decay=0.0):
    """RMSprop step in place (PyTorch's, alpha = rho); formulas in the module docstring."""
    op = "rmsprop_update"
    param = _param(op, param)
    grad = _grad(op, param, grad)
    sq_avg = _state(op, param, "sq_avg", sq_avg)
    momentum = _number(op, "momentum", momentum, 0.0)
    mom_buf = _state(op, param, "mom_buf", mom_buf, required=momentum != 0.0)
    grad_avg = _state(op, param, "grad_avg", grad_avg, required=bool(centered))
    _C.rmsprop_update(param, grad, sq_avg, mom_buf, grad_avg, _number(op, "lr", lr, 0.0),
                      _number(op, "rho", rho, 0.0, 1.0), _number(op, "eps", eps, 0.0), momentum, bool(centered),
                      _number(op, "weight_decay", weight_decay, 0.0))
    return param


def adam_update(param, grad, m, v, lr, step, beta1=0.9, beta2=0.999, eps=1e-7, weight_decay=0.0,
                decoupled_weight_decay=False, amsgrad=False, v_max=None):
    """Adam / AdamW step in place (PyTorch's formulas, bias-corrected; `step` = 1 on the first call).

    m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2;  (amsgrad: v_max = max(v_max, v), used for v)
    p -= lr / (1 - b1^step) * m / (sqrt(v) / sqrt(1 - b2^step) + eps), with g' = g + wd p (Adam), or
    p *= 1 - lr wd first and g' = g (AdamW, decoupled_weight_decay=True).
    """
    op = "adam_update"
    param = _param(op, param)
    grad = _grad(op, param, grad)
    m = _state(op, param, "m", m)
    v = _state(op, param, "v", v)
    v_max = _state(op, param, "v_max", v_max, required=bool(amsgrad))
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
        raise TypeError(f"{op}: 'step' must be an int, got {type(step).__name__}")
    if step < 1:
        raise ValueError(f"{op}: 'step' must be >= 1 (the step being taken), got {step}")
    _C.adam_update(param, grad, m, v, v_max, _number(op, "lr", lr, 0.0), int(step),
                   _number(op, "beta1", beta1, 0.0, 1.0, hi_open=True), _number(op, "beta2", beta2, 0.0, 1.0, hi_open=True),
                   _number(op, "eps", eps, 0.0), _number(op, "weight_decay", weight_decay, 0.0),
                   bool(decoupled_weight_decay), bool(amsgrad))
    return param


def _array_list(op, arrays):
    if isinstance(arrays, np.ndarray):
        arrays = [arrays]
    arrays = list(arrays)
    for i, a in enumerate(arrays):
        float_array(a, op, f"arrays[{i}]")
    return arrays


def global_norm(arrays):
    """sqrt(sum over all arrays of sum(x^2)), accumulated in float64; returns a Python float."""
    op = "global_norm"
    total = 0.0
    for a in _array_list(op, arrays):
        total += _C.sum_squares(np.ascontiguousarray(a))
    return math.sqrt(total)


def scale_(arrays, factor):
    """x *= factor in place for every array (gradient clipping: factor = clip_norm / max(norm, clip_norm))."""
    op = "scale_"
    factor = _number(op, "factor", factor)
    arrays = _array_list(op, arrays)
    for i, a in enumerate(arrays):
        if not a.flags.writeable:
            raise ValueError(f"{op}: arrays[{i}] is read-only")
    for a in arrays:
        if a.flags.c_contiguous:
            _C.scale_inplace(a, factor)
        else:
            a *= a.dtype.type(factor)
    return arrays


__all__ = ["sgd_update", "adagrad_update", "rmsprop_update", "adam_update", "global_norm", "scale_"]
