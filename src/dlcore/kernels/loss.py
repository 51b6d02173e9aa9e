"""Losses on arrays: value and gradient in one pass.

Each function returns ``(loss, grad)``: ``grad`` is the gradient of the returned (reduced) loss with
respect to the prediction, with the prediction's shape and dtype. ``reduction`` is

- ``"mean"`` (Keras's "sum over batch size"): per-sample losses l_i (the mean over the non-batch
  axes), weighted by ``sample_weight`` (N,), summed and divided by N; a 0-d array;
- ``"sum"``: the weighted per-sample losses summed; a 0-d array;
- ``"none"``: the weighted per-sample losses, shape (N,); ``grad`` is then the gradient of their sum.

Per-sample formulas (axis c runs over classes, d over the flattened features of one sample):

- softmax_cross_entropy(logits, labels): l = logsumexp(x) - x[label] (int labels), or
  l = sum_c t_c (logsumexp(x) - x_c) (one-hot/soft labels);  grad = sum(t) softmax(x) - t
- categorical_cross_entropy(probs, targets) (Keras): q = clip(p / sum_c p_c, eps, 1 - eps),
  l = -sum_c t_c log q_c;  sparse_categorical_cross_entropy: the same with one-hot(labels)
- binary_cross_entropy(probs, targets): q = clip(p, eps, 1 - eps), l = mean_d -(t log q + (1-t) log(1-q))
- binary_cross_entropy_with_logits: l = mean_d max(x, 0) - x t + log(1 + exp(-|x|))
- mean_squared_error: l = mean_d (p - t)^2;  mean_absolute_error: l = mean_d |p - t|

Clipped probabilities have zero gradient outside (eps, 1 - eps), as Keras's clip does. eps = 1e-7.
Kernels: csrc/cpu/loss.cpp.
"""
from __future__ import annotations

import numpy as np

from .. import _C
from ._validate import float_array, same_dtype

EPSILON = 1e-7  # Keras's backend epsilon
REDUCTIONS = ("mean", "sum", "none")

# Codes of csrc/cpu/loss.h (enum class Loss).
_SOFTMAX_XENT, _CATEGORICAL, _BINARY, _BINARY_LOGITS, _MSE, _MAE = range(6)


def _check_reduction(op, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _weights(op, sample_weight, n, dtype):
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight) if not isinstance(sample_weight, np.ndarray) else sample_weight
    if w.dtype.kind not in "fiu":
        raise TypeError(f"{op}: 'sample_weight' must be a numeric array, got dtype {w.dtype}")
    if w.shape != (n,):
        raise ValueError(f"{op}: 'sample_weight' must have shape ({n},), got {w.shape}")
    return np.ascontiguousarray(w, dtype=dtype)


def _reduce(per_sample, grad, reduction, n, dtype):
    if reduction == "none":
        return per_sample, grad
    total = float(np.sum(per_sample, dtype=np.float64))
    if reduction == "mean":
        total = total / n if n > 0 else 0.0
    return np.asarray(total, dtype=dtype), grad


def _gscale(reduction, n):
    return 1.0 / n if reduction == "mean" and n > 0 else 1.0


def _dense(op, kind, pred, target, reduction, sample_weight, pred_name, target_name, eps=EPSILON, ndim=None):
    _check_reduction(op, reduction)
    pred = float_array(pred, op, pred_name)
    target = float_array(target, op, target_name)
    dtype = same_dtype(op, **{pred_name: pred, target_name: target})
    if ndim is not None and pred.ndim != ndim:
        raise ValueError(f"{op}: '{pred_name}' must be {ndim}-D (N, C), got shape {pred.shape}")
    if pred.ndim < 1:
        raise ValueError(f"{op}: '{pred_name}' must have a batch axis, got shape {pred.shape}")
    if pred.shape != target.shape:
        raise ValueError(f"{op}: '{pred_name}' and '{target_name}' must have the same shape, "
                         f"got {pred.shape} and {target.shape}")
    n = pred.shape[0]
    d = int(np.prod(pred.shape[1:], dtype=np.int64))
    w = _weights(op, sample_weight, n, dtype)
    per_sample = np.empty(n, dtype)
    grad = np.empty(pred.shape, dtype)
    _C.loss_dense(kind, np.ascontiguousarray(pred), np.ascontiguousarray(target), w, n, d,
                  _gscale(reduction, n), eps, per_sample, grad)
    return _reduce(per_sample, grad, reduction, n, dtype)


def _sparse(op, kind, pred, labels, reduction, sample_weight, pred_name, eps=EPSILON):
    _check_reduction(op, reduction)
    pred = float_array(pred, op, pred_name)
    if pred.ndim != 2:
        raise ValueError(f"{op}: '{pred_name}' must be 2-D (N, C), got shape {pred.shape}")
    n, c = pred.shape
    if not isinstance(labels, np.ndarray):
        raise TypeError(f"{op}: 'labels' must be a NumPy array, got {type(labels).__name__}")
    if labels.dtype.kind == "f":  # class indices stored as floats (Keras accepts them): must be whole numbers
        if labels.size and not np.all(np.isfinite(labels) & (labels == np.floor(labels))):
            raise ValueError(f"{op}: float 'labels' of shape {labels.shape} must hold whole class indices")
    elif labels.dtype.kind not in "iu":
        raise TypeError(f"{op}: integer 'labels' must have an integer or float dtype, got {labels.dtype}")
    if labels.shape != (n,):
        raise ValueError(f"{op}: 'labels' must have shape ({n},) for {pred_name} of shape {pred.shape}, "
                         f"got {labels.shape}")
    if n:
        lo, hi = labels.min(), labels.max()
        bad = lo if lo < 0 else hi if hi >= c else None
        if bad is not None:
            raise ValueError(f"{op}: label {int(bad)} is out of range for {c} classes (expected 0 <= label < {c})")
    w = _weights(op, sample_weight, n, pred.dtype)
    per_sample = np.empty(n, pred.dtype)
    grad = np.empty(pred.shape, pred.dtype)
    _C.loss_sparse(kind, np.ascontiguousarray(pred), np.ascontiguousarray(labels, dtype=np.int64), w, n, c,
                   _gscale(reduction, n), eps, per_sample, grad)
    return _reduce(per_sample, grad, reduction, n, pred.dtype)


def softmax_cross_entropy(logits, labels, reduction="mean", sample_weight=None):
    """Cross-entropy of softmax(logits) (N, C) against int labels (N,) or one-hot/soft labels (N, C).

    Labels of shape (N,) are class indices (an integer dtype, or floats holding whole numbers).

    Per sample: l = logsumexp(x) - x[label], or sum_c t_c (logsumexp(x) - x_c);
    gradient w.r.t. the logits: sum(t) * softmax(x) - t, scaled by the weights and the reduction.
    """
    op = "softmax_cross_entropy"
    if isinstance(labels, np.ndarray) and (labels.dtype.kind in "iu" or (labels.ndim == 1 and labels.dtype.kind == "f")):
        return _sparse(op, _SOFTMAX_XENT, logits, labels, reduction, sample_weight, "logits")
    return _dense(op, _SOFTMAX_XENT, logits, labels, reduction, sample_weight, "logits", "labels", ndim=2)


def categorical_cross_entropy(probs, targets, reduction="mean", sample_weight=None):
    """Keras's categorical cross-entropy from probabilities (N, C) and one-hot/soft targets (N, C).

    q = clip(p / sum_c p_c, eps, 1 - eps), l = -sum_c t_c log q_c (eps = 1e-7).
    """
    return _dense("categorical_cross_entropy", _CATEGORICAL, probs, targets, reduction, sample_weight,
                  "probs", "targets", ndim=2)


def sparse_categorical_cross_entropy(probs, labels, reduction="mean", sample_weight=None):
    """Keras's sparse categorical cross-entropy: probabilities (N, C), int labels (N,); l = -log q_label."""
    return _sparse("sparse_categorical_cross_entropy", _CATEGORICAL, probs, labels, reduction, sample_weight, "probs")


def binary_cross_entropy(probs, targets, reduction="mean", sample_weight=None):
    """Keras's binary cross-entropy from probabilities, any shape (N, ...).

    q = clip(p, eps, 1 - eps), l = mean over the non-batch axes of -(t log q + (1 - t) log(1 - q)).
    """
    return _dense("binary_cross_entropy", _BINARY, probs, targets, reduction, sample_weight, "probs", "targets")


def binary_cross_entropy_with_logits(logits, targets, reduction="mean", sample_weight=None):
    """Binary cross-entropy from logits, stable for any x: l = mean(max(x, 0) - x t + log(1 + exp(-|x|)))."""
    return _dense("binary_cross_entropy_with_logits", _BINARY_LOGITS, logits, targets, reduction, sample_weight,
                  "logits", "targets")


def mean_squared_error(pred, target, reduction="mean", sample_weight=None):
    """l = mean over the non-batch axes of (pred - target)^2."""
    return _dense("mean_squared_error", _MSE, pred, target, reduction, sample_weight, "pred", "target")


def mean_absolute_error(pred, target, reduction="mean", sample_weight=None):
    """l = mean over the non-batch axes of |pred - target| (gradient sign(pred - target), 0 at 0)."""
    return _dense("mean_absolute_error", _MAE, pred, target, reduction, sample_weight, "pred", "target")


__all__ = ["softmax_cross_entropy", "categorical_cross_entropy", "sparse_categorical_cross_entropy",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "mean_squared_error",
           "mean_absolute_error"]
