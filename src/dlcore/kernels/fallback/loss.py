"""Losses on xp arrays: per-sample values and the gradient in one pass (the formulas of
csrc/cpu/loss.cpp).

``loss(xp, name, pred, target, labels, weight, gscale, eps, per_sample, grad)`` takes the prediction
as (N, D), dense targets like it or int64 labels (N,), optional sample weights (N,), and writes
``per_sample[i] = w_i l_i`` and ``grad = gscale w_i dl_i/dpred`` (gscale = 1/N for "mean").
"""
from __future__ import annotations

from .activation import sigmoid


def _unclipped(p, eps):
    """Inside the clip range (eps, 1 - eps), or NaN: a NaN input gets a NaN gradient, not a silent 0."""
    return ~((p <= eps) | (p >= 1 - eps))


def _one_hot(xp, labels, like):
    t = xp.zeros_like(like)
    t[xp.arange(like.shape[0]), labels] = 1
    return t


def _softmax_xent(xp, x, t, labels):
    """l = sum_c t_c (lse - x_c) (labels: lse - x[label]);  g = sum(t) softmax(x) - t."""
    shifted = x - x.max(axis=1, keepdims=True)
    e = xp.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    lse = xp.log(s)  # of the shifted row; the shift cancels in l
    g = e / s
    if labels is not None:
        rows = xp.arange(x.shape[0])
        g[rows, labels] -= 1
        return lse[:, 0] - shifted[rows, labels], g
    st = t.sum(axis=1, keepdims=True)
    return (st * lse)[:, 0] - (t * shifted).sum(axis=1), st * g - t


def _categorical(xp, p, t, eps):
    """Keras's: q = p / sum(p), r = clip(q, eps, 1 - eps), l = -sum_c t_c log r_c; the gradient
    -t/r inside the clip range (0 outside), through the normalization: (dq - sum(dq q)) / sum(p)."""
    s = p.sum(axis=1, keepdims=True)
    q = p / s
    r = xp.clip(q, eps, 1 - eps)
    dq = xp.where(_unclipped(q, eps), -t / r, 0)
    l = -xp.where(t == 0, 0, t * xp.log(r)).sum(axis=1)
    return l, (dq - (dq * q).sum(axis=1, keepdims=True)) / s


def _binary(xp, p, t, eps):
    q = xp.clip(p, eps, 1 - eps)
    l = -(t * xp.log(q) + (1 - t) * xp.log(1 - q))
    return l, xp.where(_unclipped(p, eps), -(t / q - (1 - t) / (1 - q)), 0)


def _binary_logits(xp, x, t):
    l = xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))
    return l, sigmoid(xp, x) - t


def loss(xp, name, pred, target, labels, weight, gscale, eps, per_sample, grad):
    """Fill per_sample (N,) and grad (N, D) for loss `name` (a kernel name of kernels/loss.py)."""
    d = pred.shape[1]
    if name == "softmax_cross_entropy":
        l, g = _softmax_xent(xp, pred, target, labels)
    elif name in ("categorical_cross_entropy", "sparse_categorical_cross_entropy"):
        t = _one_hot(xp, labels, pred) if labels is not None else target
        l, g = _categorical(xp, pred, t, eps)
    else:  # the elementwise losses: the mean over the sample's D elements
        if name == "binary_cross_entropy":
            l, g = _binary(xp, pred, target, eps)
        elif name == "binary_cross_entropy_with_logits":
            l, g = _binary_logits(xp, pred, target)
        elif name == "mean_squared_error":
            r = pred - target
            l, g = r * r, 2 * r
        elif name == "mean_absolute_error":
            r = pred - target
            l, g = xp.abs(r), xp.sign(r)
        else:
            raise ValueError(name)
        l, g = l.sum(axis=1) / d, g / d
    if weight is not None:
        l = l * weight
        gscale = gscale * weight[:, None]
    per_sample[...] = l
    grad[...] = g * gscale
