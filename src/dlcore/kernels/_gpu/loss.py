"""Losses on CuPy arrays: value and gradient in one pass (see docs/kernel_api.md).

Each returns ``(loss, grad)``. ``loss`` is a 0-d CuPy array for reduction "mean" / "sum" (no
device-to-host copy inside the op; ``float(loss)`` when you need the number) and the per-sample
losses ``(N,)`` for "none". ``grad`` is the gradient of the returned (reduced) loss, or of the sum of
the per-sample losses for "none". "mean" is Keras's sum over batch size: per sample the mean over
the non-batch elements (the sum over classes for the categorical losses), times sample_weight,
summed, divided by N.
CUDA version: csrc/cuda/loss.cu (one warp per sample). Fallback: CuPy array expressions.
"""
from __future__ import annotations

import math

from .._validate import gpu_float_array, same_dtype
from ._backends import register
from .device import cp, is_f64, ptr, stream

EPS = 1e-7  # Keras's backend epsilon: probabilities are clipped to [EPS, 1 - EPS]
_REDUCTIONS = ("mean", "sum", "none")
_CODES = {"mean_squared_error": 0, "mean_absolute_error": 1, "binary_cross_entropy": 2,
          "binary_cross_entropy_with_logits": 3, "categorical_cross_entropy": 4, "sparse_categorical_cross_entropy": 5}


def _prepare(op, pred, reduction, sample_weight, pred_name="pred"):
    pred = gpu_float_array(pred, op, pred_name)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if pred.ndim < 1:
        raise ValueError(f"{op}: '{pred_name}' must have a batch axis, got shape {pred.shape}")
    N = pred.shape[0]
    if sample_weight is not None:
        sample_weight = gpu_float_array(sample_weight, op, "sample_weight")
        same_dtype(op, **{pred_name: pred, "sample_weight": sample_weight})
        if sample_weight.shape != (N,):
            raise ValueError(f"{op}: 'sample_weight' must have shape ({N},) for {pred_name}.shape {pred.shape}, "
                             f"got {sample_weight.shape}")
        sample_weight = cp.ascontiguousarray(sample_weight)
    scale = 1.0 / N if (reduction == "mean" and N > 0) else 1.0
    return pred, sample_weight, scale


def _sparse_labels(labels, N, C, op):
    if not hasattr(labels, "dtype") or labels.dtype.kind not in "iu":
        raise TypeError(f"{op}: sparse 'labels' must be an integer CuPy array, got "
                        f"{getattr(labels, 'dtype', type(labels).__name__)}")
    labels = cp.asarray(labels)
    if labels.shape != (N,):
        raise ValueError(f"{op}: 'labels' must have shape ({N},), got {labels.shape}")
    labels = cp.ascontiguousarray(labels, dtype=cp.int64)
    if N and bool(((labels < 0) | (labels >= C)).any()):
        bad = labels[(labels < 0) | (labels >= C)][0]
        raise ValueError(f"{op}: labels must lie in [0, {C}), got {int(bad)}")
    return labels


def _dense_targets(targets, pred, op, name="targets"):
    targets = gpu_float_array(targets, op, name)
    same_dtype(op, pred=pred, **{name: targets})
    if targets.shape != pred.shape:
        raise ValueError(f"{op}: '{name}' must have the shape of the predictions {pred.shape}, got {targets.shape}")
    return cp.ascontiguousarray(targets)


def _reduce(per_sample, reduction, N):
    if reduction == "none":
        return per_sample
    total = per_sample.sum()
    return total / N if (reduction == "mean" and N > 0) else total


def _weighted(per_sample, grad, sample_weight, scale):
    if sample_weight is not None:
        per_sample = per_sample * sample_weight
        grad *= sample_weight.reshape((-1,) + (1,) * (grad.ndim - 1))
    if scale != 1.0:
        grad *= scale
    return per_sample, grad


def softmax_cross_entropy(logits, labels, reduction="mean", sample_weight=None, *, _cuda):
    """Cross-entropy of softmax(logits) (N, C) against int labels (N,) or targets (N, C)."""
    op = "softmax_cross_entropy"
    x, w, scale = _prepare(op, logits, reduction, sample_weight, "logits")
    if x.ndim != 2:
        raise ValueError(f"{op}: 'logits' must be 2-D (N, C), got shape {x.shape}")
    N, C = x.shape
    sparse = hasattr(labels, "dtype") and labels.dtype.kind in "iu"
    lab = _sparse_labels(labels, N, C, op) if sparse else None
    tgt = None if sparse else _dense_targets(labels, x, op, "labels")
    if _cuda is None:
        shifted = x - x.max(axis=1, keepdims=True) if x.size else x
        e = cp.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        lse = cp.log(s)
        p = e / s
        if sparse:
            rows = cp.arange(N)
            per = lse[:, 0] - shifted[rows, lab]
            grad = p
            grad[rows, lab] -= 1
        else:
            per = (tgt * (lse - shifted)).sum(axis=1)
            grad = p * tgt.sum(axis=1, keepdims=True) - tgt
        per, grad = _weighted(per, grad, w, scale)
        return _reduce(per, reduction, N), grad
    x = cp.ascontiguousarray(x)
    per = cp.empty((N,), dtype=x.dtype)
    grad = cp.empty((N, C), dtype=x.dtype)
    _cuda.softmax_cross_entropy(ptr(x), ptr(lab), ptr(tgt), ptr(w), N, C, scale, ptr(per), ptr(grad),
                                is_f64(x.dtype), stream())
    return _reduce(per, reduction, N), grad


def _pointwise(name, pred, target, reduction, sample_weight, _cuda, pred_name="pred", target_name="target"):
    op = name
    p, w, scale = _prepare(op, pred, reduction, sample_weight, pred_name)
    code = _CODES[name]
    N = p.shape[0]
    if code in (4, 5) and p.ndim != 2:
        raise ValueError(f"{op}: '{pred_name}' must be 2-D (N, C), got shape {p.shape}")
    D = math.prod(p.shape[1:])
    if code == 5:
        lab, t = _sparse_labels(target, N, D, op), None
    else:
        lab, t = None, _dense_targets(target, p, op, target_name)
    if D == 0:
        raise ValueError(f"{op}: samples must not be empty, got {pred_name}.shape {p.shape}")
    if _cuda is None:
        p2 = p.reshape(N, D)
        t2 = None if t is None else t.reshape(N, D)
        per_elem = 1.0 / D
        if code == 0:
            e = p2 - t2
            val, d = e * e, 2 * e
        elif code == 1:
            e = p2 - t2
            val, d = cp.abs(e), cp.sign(e)
        elif code == 2:
            q = cp.clip(p2, EPS, 1 - EPS)
            inside = (p2 > EPS) & (p2 < 1 - EPS)
            val = -(t2 * cp.log(q) + (1 - t2) * cp.log(1 - q))
            d = cp.where(inside, (q - t2) / (q * (1 - q)), 0)
        elif code == 3:
            val = cp.maximum(p2, 0) - p2 * t2 + cp.log1p(cp.exp(-cp.abs(p2)))
            d = 1 / (1 + cp.exp(-p2)) - t2
        elif code == 4:
            q = cp.clip(p2, EPS, 1 - EPS)
            inside = (p2 > EPS) & (p2 < 1 - EPS)
            val, d = -t2 * cp.log(q), cp.where(inside, -t2 / q, 0)
            per_elem = 1.0
        else:
            rows = cp.arange(N)
            pl = p2[rows, lab]
            q = cp.clip(pl, EPS, 1 - EPS)
            val = cp.zeros_like(p2)
            val[rows, lab] = -cp.log(q)
            d = cp.zeros_like(p2)
            d[rows, lab] = cp.where((pl > EPS) & (pl < 1 - EPS), -1 / q, 0)
            per_elem = 1.0
        per = val.sum(axis=1) * per_elem
        grad = (d * per_elem).astype(p.dtype, copy=False).reshape(p.shape)
        per, grad = _weighted(per.astype(p.dtype, copy=False), grad, w, scale)
        return _reduce(per, reduction, N), grad
    p = cp.ascontiguousarray(p)
    per = cp.empty((N,), dtype=p.dtype)
    grad = cp.empty(p.shape, dtype=p.dtype)
    _cuda.pointwise_loss(code, ptr(p), ptr(t), ptr(lab), ptr(w), N, D, scale, EPS, ptr(per), ptr(grad),
                         is_f64(p.dtype), stream())
    return _reduce(per, reduction, N), grad


def categorical_cross_entropy(probs, targets, reduction="mean", sample_weight=None, *, _cuda):
    """-sum_c t_c log p_c per sample, p clipped to [1e-7, 1 - 1e-7]."""
    return _pointwise("categorical_cross_entropy", probs, targets, reduction, sample_weight, _cuda, "probs", "targets")


def sparse_categorical_cross_entropy(probs, labels, reduction="mean", sample_weight=None, *, _cuda):
    """-log p[label] per sample, p clipped to [1e-7, 1 - 1e-7]."""
    return _pointwise("sparse_categorical_cross_entropy", probs, labels, reduction, sample_weight, _cuda, "probs",
                      "labels")


def binary_cross_entropy(probs, targets, reduction="mean", sample_weight=None, *, _cuda):
    """mean over the sample of -(t log p + (1 - t) log(1 - p)), p clipped."""
    return _pointwise("binary_cross_entropy", probs, targets, reduction, sample_weight, _cuda, "probs", "targets")


def binary_cross_entropy_with_logits(logits, targets, reduction="mean", sample_weight=None, *, _cuda):
    """binary cross-entropy of sigmoid(logits), computed stably from the logits."""
    return _pointwise("binary_cross_entropy_with_logits", logits, targets, reduction, sample_weight, _cuda, "logits",
                      "targets")


def mean_squared_error(pred, target, reduction="mean", sample_weight=None, *, _cuda):
    return _pointwise("mean_squared_error", pred, target, reduction, sample_weight, _cuda)


def mean_absolute_error(pred, target, reduction="mean", sample_weight=None, *, _cuda):
    return _pointwise("mean_absolute_error", pred, target, reduction, sample_weight, _cuda)


FALLBACK, CUDA = {}, {}
register(FALLBACK, CUDA, softmax_cross_entropy, categorical_cross_entropy, sparse_categorical_cross_entropy,
         binary_cross_entropy, binary_cross_entropy_with_logits, mean_squared_error, mean_absolute_error)
