"""Losses on arrays: value and gradient in one pass.

Each function returns ``(loss, grad)``: ``grad`` is the gradient of the returned (reduced) loss with
respect to the prediction, with the prediction's shape and dtype. ``reduction`` is

- ``"mean"`` (Keras's "sum over batch size"): per-sample losses l_i (the mean over the non-batch
  axes), weighted by ``sample_weight`` (N,), summed and divided by N; a 0-d array;
- ``"sum"``: the weighted per-sample losses summed; a 0-d array;
- ``"none"``: the weighted per-sample losses, shape (N,); ``grad`` is then the gradient of their sum.

On the GPU the loss stays on the device (a 0-d CuPy array: no copy to the host inside the op).

Per-sample formulas (axis c runs over classes, d over the flattened features of one sample):

- softmax_cross_entropy(logits, labels): l = logsumexp(x) - x[label] (int labels), or
  l = sum_c t_c (logsumexp(x) - x_c) (one-hot/soft labels);  grad = sum(t) softmax(x) - t
- categorical_cross_entropy(probs, targets) (Keras): q = clip(p / sum_c p_c, eps, 1 - eps),
  l = -sum_c t_c log q_c;  sparse_categorical_cross_entropy: the same with one-hot(labels)
- binary_cross_entropy(probs, targets): q = clip(p, eps, 1 - eps), l = mean_d -(t log q + (1-t) log(1-q))
- binary_cross_entropy_with_logits: l = mean_d max(x, 0) - x t + log(1 + exp(-|x|))
- mean_squared_error: l = mean_d (p - t)^2;  mean_absolute_error: l = mean_d |p - t|

Clipped probabilities have zero gradient outside (eps, 1 - eps), as Keras's clip does. eps = 1e-7.
A NaN in the prediction gives a NaN loss and a NaN gradient (never a silent 0). logsumexp(x) - x_c
is computed as (max - x_c) + log(sum(exp(x - max))), which keeps full precision for large logits.
Backends: cpu, csrc/cpu/loss.cpp; cuda, csrc/cuda/loss.cu; fallback, fallback/loss.py.
"""
from __future__ import annotations

import math

from .. import _C
from . import codes
from ._device import cuda, f64, ptr, stream
from ._validate import contiguous, float_array, same_dtype
from .backend import CPU, CUDA, select
from .fallback import loss as fallback

EPSILON = 1e-7  # Keras's backend epsilon
REDUCTIONS = ("mean", "sum", "none")

# The loss codes of each binding: csrc/cpu/loss.h (enum class Loss) and csrc/cuda/loss.cu.
CPU_LOSS_CODES, CUDA_LOSS_CODES = codes.CPU_LOSSES, codes.CUDA_LOSSES  # csrc/common/codes.h


def _check_reduction(op, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _weights(xp, op, sample_weight, n, dtype):
    if sample_weight is None:
        return None
    w = sample_weight if isinstance(sample_weight, xp.ndarray) else xp.asarray(sample_weight)
    if w.dtype.kind not in "fiu":
        raise TypeError(f"{op}: 'sample_weight' must be a numeric array, got dtype {w.dtype}")
    if tuple(w.shape) != (n,):
        raise ValueError(f"{op}: 'sample_weight' must have shape ({n},), got {tuple(w.shape)}")
    return xp.ascontiguousarray(w, dtype=dtype)


def _run(xp, backend, name, pred, target, labels, weight, reduction):
    """The backends on checked arrays: pred (N, D) contiguous, dense targets like it or int64 labels
    (N,). Returns (reduced loss, grad (N, D))."""
    n, d = pred.shape
    gscale = 1.0 / n if reduction == "mean" and n > 0 else 1.0
    per_sample = xp.empty((n,), dtype=pred.dtype)
    grad = xp.empty(pred.shape, dtype=pred.dtype)
    if pred.size == 0:  # no samples, or samples of no elements: every per-sample loss is 0
        per_sample[...] = 0
    elif backend == CPU:
        if labels is None:
            _C.loss_dense(CPU_LOSS_CODES[name], pred, target, weight, n, d, gscale, EPSILON, per_sample, grad)
        else:
            _C.loss_sparse(CPU_LOSS_CODES[name], pred, labels, weight, n, d, gscale, EPSILON, per_sample, grad)
    elif backend == CUDA:
        if name == "softmax_cross_entropy":
            cuda().softmax_cross_entropy(ptr(pred), ptr(labels), ptr(target), ptr(weight), n, d, gscale,
                                         ptr(per_sample), ptr(grad), f64(pred), stream())
        else:
            cuda().pointwise_loss(CUDA_LOSS_CODES[name], ptr(pred), ptr(target), ptr(labels), ptr(weight), n, d,
                                  gscale, EPSILON, ptr(per_sample), ptr(grad), f64(pred), stream())
    else:
        fallback.loss(xp, name, pred, target, labels, weight, gscale, EPSILON, per_sample, grad)
    if reduction == "none":
        return per_sample, grad
    total = per_sample.sum(dtype=xp.float64)  # accumulated in float64, on the arrays' device
    if reduction == "mean" and n > 0:
        total = total / n
    return xp.asarray(total, dtype=pred.dtype), grad


def _dense(op, name, pred, target, reduction, sample_weight, pred_name, target_name, ndim=None):
    _check_reduction(op, reduction)
    xp, backend = select(op, (pred_name, target_name, "sample_weight"), pred, target, sample_weight)
    pred = float_array(xp, pred, op, pred_name)
    target = float_array(xp, target, op, target_name)
    dtype = same_dtype(op, **{pred_name: pred, target_name: target})
    if ndim is not None and pred.ndim != ndim:
        raise ValueError(f"{op}: '{pred_name}' must be {ndim}-D (N, C), got shape {tuple(pred.shape)}")
    if pred.ndim < 1:
        raise ValueError(f"{op}: '{pred_name}' must have a batch axis, got shape {tuple(pred.shape)}")
    if pred.shape != target.shape:
        raise ValueError(f"{op}: '{pred_name}' and '{target_name}' must have the same shape, "
                         f"got {tuple(pred.shape)} and {tuple(target.shape)}")
    n = pred.shape[0]
    d = math.prod(pred.shape[1:])
    w = _weights(xp, op, sample_weight, n, dtype)
    loss, grad = _run(xp, backend, name, contiguous(xp, pred).reshape(n, d), contiguous(xp, target).reshape(n, d),
                      None, w, reduction)
    return loss, grad.reshape(pred.shape)


def _sparse_labels(xp, op, labels, n, c, pred_name, pred_shape):
    """Class indices (N,) as contiguous int64, after the type, shape and range checks."""
    if not isinstance(labels, xp.ndarray):
        raise TypeError(f"{op}: 'labels' must be a {'NumPy' if xp.__name__ == 'numpy' else 'CuPy'} array, "
                        f"got {type(labels).__name__}")
    if labels.dtype.kind == "f":  # class indices stored as floats (Keras accepts them): must be whole numbers
        if labels.size and not bool(xp.all(xp.isfinite(labels) & (labels == xp.floor(labels)))):
            raise ValueError(f"{op}: float 'labels' of shape {tuple(labels.shape)} must hold whole class indices")
    elif labels.dtype.kind not in "iu":
        raise TypeError(f"{op}: integer 'labels' must have an integer or float dtype, got {labels.dtype}")
    if tuple(labels.shape) != (n,):
        raise ValueError(f"{op}: 'labels' must have shape ({n},) for {pred_name} of shape {tuple(pred_shape)}, "
                         f"got {tuple(labels.shape)}")
    if n:
        lo, hi = labels.min(), labels.max()
        bad = lo if lo < 0 else hi if hi >= c else None
        if bad is not None:
            raise ValueError(f"{op}: label {int(bad)} is out of range for {c} classes (expected 0 <= label < {c})")
    return xp.ascontiguousarray(labels, dtype=xp.int64)


def _sparse(op, name, pred, labels, reduction, sample_weight, pred_name):
    _check_reduction(op, reduction)
    xp, backend = select(op, (pred_name, "labels", "sample_weight"), pred, labels, sample_weight)
    pred = float_array(xp, pred, op, pred_name)
    if pred.ndim != 2:
        raise ValueError(f"{op}: '{pred_name}' must be 2-D (N, C), got shape {tuple(pred.shape)}")
    n, c = pred.shape
    labels = _sparse_labels(xp, op, labels, n, c, pred_name, pred.shape)
    w = _weights(xp, op, sample_weight, n, pred.dtype)
    return _run(xp, backend, name, contiguous(xp, pred), None, labels, w, reduction)


def _is_sparse(labels):
    """Labels of shape (N,) are class indices: an integer dtype, or 1-D floats holding whole numbers."""
    dtype = getattr(labels, "dtype", None)
    return dtype is not None and (dtype.kind in "iu" or (labels.ndim == 1 and dtype.kind == "f"))


def softmax_cross_entropy(logits, labels, reduction="mean", sample_weight=None):
    """Cross-entropy of softmax(logits) (N, C) against int labels (N,) or one-hot/soft labels (N, C).

    Labels of shape (N,) are class indices (an integer dtype, or floats holding whole numbers).

    Per sample: l = logsumexp(x) - x[label], or sum_c t_c (logsumexp(x) - x_c);
    gradient w.r.t. the logits: sum(t) * softmax(x) - t, scaled by the weights and the reduction.
    """
    op = "softmax_cross_entropy"
    if _is_sparse(labels):
        return _sparse(op, op, logits, labels, reduction, sample_weight, "logits")
    return _dense(op, op, logits, labels, reduction, sample_weight, "logits", "labels", ndim=2)


def categorical_cross_entropy(probs, targets, reduction="mean", sample_weight=None):
    """Keras's categorical cross-entropy from probabilities (N, C) and one-hot/soft targets (N, C).

    q = clip(p / sum_c p_c, eps, 1 - eps), l = -sum_c t_c log q_c (eps = 1e-7).
    """
    op = "categorical_cross_entropy"
    return _dense(op, op, probs, targets, reduction, sample_weight, "probs", "targets", ndim=2)


def sparse_categorical_cross_entropy(probs, labels, reduction="mean", sample_weight=None):
    """Keras's sparse categorical cross-entropy: probabilities (N, C), int labels (N,); l = -log q_label."""
    op = "sparse_categorical_cross_entropy"
    return _sparse(op, op, probs, labels, reduction, sample_weight, "probs")


def binary_cross_entropy(probs, targets, reduction="mean", sample_weight=None):
    """Keras's binary cross-entropy from probabilities, any shape (N, ...).

    q = clip(p, eps, 1 - eps), l = mean over the non-batch axes of -(t log q + (1 - t) log(1 - q)).
    """
    op = "binary_cross_entropy"
    return _dense(op, op, probs, targets, reduction, sample_weight, "probs", "targets")


def binary_cross_entropy_with_logits(logits, targets, reduction="mean", sample_weight=None):
    """Binary cross-entropy from logits, stable for any x: l = mean(max(x, 0) - x t + log(1 + exp(-|x|)))."""
    op = "binary_cross_entropy_with_logits"
    return _dense(op, op, logits, targets, reduction, sample_weight, "logits", "targets")


def mean_squared_error(pred, target, reduction="mean", sample_weight=None):
    """l = mean over the non-batch axes of (pred - target)^2."""
    op = "mean_squared_error"
    return _dense(op, op, pred, target, reduction, sample_weight, "pred", "target")


def mean_absolute_error(pred, target, reduction="mean", sample_weight=None):
    """l = mean over the non-batch axes of |pred - target| (gradient sign(pred - target), 0 at 0)."""
    op = "mean_absolute_error"
    return _dense(op, op, pred, target, reduction, sample_weight, "pred", "target")


__all__ = ["softmax_cross_entropy", "categorical_cross_entropy", "sparse_categorical_cross_entropy",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "mean_squared_error",
           "mean_absolute_error"]
