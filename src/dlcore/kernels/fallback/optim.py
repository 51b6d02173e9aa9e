"""Optimizer updates on xp arrays, in place: the loops of csrc/cpu/optim_loops.h as array operations.

Hyperparameters are rounded once to the arrays' dtype, as the C++ loops do (``1 - beta`` and
``lr / (1 - beta1^t)`` derived in double first); the array comes first in each product, so that a
CuPy array, not the NumPy scalar, decides how it is computed. The entry has checked that no written array shares
memory with another or with the gradient, so the in-place operations are safe.
"""
from __future__ import annotations

import math


def sgd(xp, p, g, velocity, lr, momentum, nesterov, weight_decay):
    T = p.dtype.type
    g = g + p * T(weight_decay) if weight_decay != 0.0 else g
    d = g
    if momentum != 0.0 and velocity is not None:
        velocity *= T(momentum)
        velocity += g
        d = g + velocity * T(momentum) if nesterov else velocity
    p -= d * T(lr)


def adagrad(xp, p, g, acc, lr, eps, weight_decay):
    T = p.dtype.type
    g = g + p * T(weight_decay)
    acc += g * g
    p -= g * T(lr) / (xp.sqrt(acc) + T(eps))


def rmsprop(xp, p, g, sq, mom_buf, grad_avg, lr, rho, eps, momentum, centered, weight_decay):
    T = p.dtype.type
    g = g + p * T(weight_decay)
    sq *= T(rho)
    sq += g * T(1.0 - rho) * g
    var = sq
    if centered and grad_avg is not None:
        grad_avg *= T(rho)
        grad_avg += g * T(1.0 - rho)
        var = sq - grad_avg * grad_avg
    step = g / (xp.sqrt(var) + T(eps))
    if momentum != 0.0 and mom_buf is not None:
        mom_buf *= T(momentum)
        mom_buf += step
        step = mom_buf
    p -= step * T(lr)


def adam(xp, p, g, m, v, v_max, lr, step, beta1, beta2, eps, weight_decay, decoupled, amsgrad):
    T = p.dtype.type
    bc1, bc2 = 1.0 - beta1 ** step, 1.0 - beta2 ** step
    if decoupled:  # AdamW: the decay shrinks the parameter
        if weight_decay != 0.0:
            p *= T(1.0 - lr * weight_decay)
    elif weight_decay != 0.0:  # Adam: the decay joins the gradient
        g = g + p * T(weight_decay)
    m *= T(beta1)
    m += g * T(1.0 - beta1)
    v *= T(beta2)
    v += g * T(1.0 - beta2) * g
    denom = v
    if amsgrad and v_max is not None:
        xp.maximum(v_max, v, out=v_max)
        denom = v_max
    p -= m * T(lr / bc1) / (xp.sqrt(denom) * T(1.0 / math.sqrt(bc2)) + T(eps))


def sum_squares(xp, arrays):
    """sum of x^2 over all arrays, accumulated in float64 on the arrays' device; a Python float."""
    total = xp.zeros((), dtype=xp.float64)
    for a in arrays:
        a64 = a.astype(xp.float64)
        total += (a64 * a64).sum()
    return float(total)


def scale(xp, a, factor):
    a *= a.dtype.type(factor)
