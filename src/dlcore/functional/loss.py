"""Losses: value and gradient in one kernel pass (Keras argument order: y_true first)."""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..primitives import get_array_module
from ..primitives._helpers import _kernel
from ..tensor import Tensor
from ._common import _array, _t


class _Loss(Function):
    """A loss kernel returning (loss, dloss/dpred) in one pass; targets get no gradient.

    reduction "none" gives per-sample losses (N,); their kernel grad is that of their sum, so the
    incoming gradient of each sample scales its own row.
    """

    saved_inputs = ()  # the gradient is computed by the forward's kernel call

    def forward(self, pred, kernel_name, target, sample_weight, reduction):
        loss, self.grad = _kernel(kernel_name)(pred, target, reduction=reduction, sample_weight=sample_weight)
        self.reduction, self.shape, self.kernel_name = reduction, pred.shape, kernel_name
        return get_array_module(pred).asarray(loss, dtype=pred.dtype)

    @property
    def name(self):
        return self.__dict__.get("kernel_name", "loss")

    def backward(self, g):
        grad = self.grad
        if self.reduction == "none":
            g = g.reshape(g.shape + (1,) * (grad.ndim - g.ndim))
        return (grad * g).reshape(self.shape)


_REDUCTIONS = ("mean", "sum", "none", "sum_over_batch_size", None)


def _like_prediction(target_shape, pred_shape) -> bool:
    """Keras's rule for y_true against y_pred: the same shape, or the same once a trailing axis of
    size 1 is dropped from one of them ((N,) against (N, 1)). Any other shape holding the same number
    of values -- a transposed (2, N) against (N, 2) -- is an error, never reshaped."""
    t, p = tuple(target_shape), tuple(pred_shape)
    return t == p or t == p + (1,) or t + (1,) == p


def _loss(kernel_name, y_pred, y_true, reduction, sample_weight, op, sparse=False):
    y_pred = _t(y_pred, "y_pred")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean' (sum over batch size), 'sum' or 'none', got {reduction!r}")
    reduction = "mean" if reduction in ("sum_over_batch_size", None) else reduction
    xp = get_array_module(y_pred.data)
    target = _array(y_true)
    if not hasattr(target, "dtype"):
        target = np.asarray(target)
    pred = y_pred
    shape = pred.shape
    if sparse:
        if pred.ndim < 2:
            raise ValueError(f"{op}: y_pred must be (N, C) (or (N, ..., C)) class scores, got shape {shape}")
        expected = tuple(shape[:-1])
        if tuple(target.shape) not in (expected, expected + (1,)):
            raise ValueError(f"{op}: labels must have shape {expected} (or {expected + (1,)}) for predictions of "
                             f"shape {shape}, got {tuple(target.shape)}")
        target = target.reshape(-1)
        if pred.ndim > 2:
            pred = pred.reshape(-1, pred.shape[-1])
        if target.dtype.kind == "f":
            if not (target == xp.round(target)).all():
                raise ValueError(f"{op}: labels must be integer class indices, got non-integer floats")
            target = target.astype(np.int64)
        if target.dtype.kind not in "iu":
            raise TypeError(f"{op}: labels must be integer class indices, got dtype {target.dtype}")
        if target.shape != (pred.shape[0],):
            raise ValueError(f"{op}: labels must have shape ({pred.shape[0]},) for predictions of shape "
                             f"{shape}, got {target.shape}")
        n_classes = pred.shape[-1]
        if target.size and (int(target.min()) < 0 or int(target.max()) >= n_classes):
            raise ValueError(f"{op}: labels must be in [0, {n_classes}) for {n_classes} classes, got values in "
                             f"[{int(target.min())}, {int(target.max())}]")
    else:
        if target.dtype != pred.dtype:
            target = target.astype(pred.dtype)
        if target.shape != pred.shape:
            if not _like_prediction(target.shape, pred.shape):
                raise ValueError(f"{op}: y_true and y_pred must have the same shape (up to a trailing axis of "
                                 f"size 1), got y_true {tuple(target.shape)} and y_pred {tuple(pred.shape)}")
            target = target.reshape(pred.shape)
        if pred.ndim == 1:
            pred = pred.reshape(-1, 1)
            target = target.reshape(-1, 1)
    if sample_weight is not None:
        sample_weight = xp.asarray(_array(sample_weight), dtype=pred.dtype).reshape(-1)
    return _loss_apply(pred, target, sample_weight, kernel_name, reduction)


def _loss_apply(pred, target, sample_weight, kernel_name, reduction):
    return _Loss.apply(pred, kernel_name=kernel_name, target=target, sample_weight=sample_weight, reduction=reduction)


def mse(y_true, y_pred, reduction="mean", sample_weight=None):
    """Mean squared error (Keras argument order: y_true first)."""
    return _loss("mean_squared_error", y_pred, y_true, reduction, sample_weight, "mean_squared_error")


mean_squared_error = mse


def mae(y_true, y_pred, reduction="mean", sample_weight=None):
    """Mean absolute error."""
    return _loss("mean_absolute_error", y_pred, y_true, reduction, sample_weight, "mean_absolute_error")


mean_absolute_error = mae


def binary_cross_entropy(y_true, y_pred, from_logits=False, reduction="mean", sample_weight=None):
    """Binary cross-entropy on probabilities (clipped like Keras) or logits (from_logits=True)."""
    name = "binary_cross_entropy_with_logits" if from_logits else "binary_cross_entropy"
    return _loss(name, y_pred, y_true, reduction, sample_weight, "binary_cross_entropy")


def categorical_cross_entropy(y_true, y_pred, from_logits=False, reduction="mean", sample_weight=None):
    """Cross-entropy with one-hot / soft targets (N, C); probabilities or logits."""
    name = "softmax_cross_entropy" if from_logits else "categorical_cross_entropy"
    return _loss(name, y_pred, y_true, reduction, sample_weight, "categorical_cross_entropy")


def sparse_categorical_cross_entropy(y_true, y_pred, from_logits=False, reduction="mean", sample_weight=None):
    """Cross-entropy with integer labels (N,) and probabilities or logits (N, C)."""
    name = "softmax_cross_entropy" if from_logits else "sparse_categorical_cross_entropy"
    return _loss(name, y_pred, y_true, reduction, sample_weight, "sparse_categorical_cross_entropy", sparse=True)


def huber(y_true, y_pred, delta=1.0, reduction="mean", sample_weight=None):
    """Huber loss: 0.5 d^2 where |d| <= delta, delta (|d| - 0.5 delta) beyond (composed from tensor ops)."""
    y_pred = _t(y_pred)
    target = _array(_t(y_true))
    if not _like_prediction(target.shape, y_pred.shape):
        raise ValueError(f"huber: y_true and y_pred must have the same shape (up to a trailing axis of size 1), "
                         f"got y_true {tuple(target.shape)} and y_pred {tuple(y_pred.shape)}")
    y_true = Tensor._make(target.astype(y_pred.dtype).reshape(y_pred.shape))
    d = abs(y_pred - y_true)
    quad = d.clip(None, delta)
    per = (quad * quad * 0.5 + (d - quad) * delta)
    per = per.mean(axis=-1) if per.ndim > 1 else per
    if sample_weight is not None:
        per = per * Tensor._make(get_array_module(per.data).asarray(_array(sample_weight), dtype=per.dtype))
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    return per.sum() / max(per.shape[0] if per.ndim else 1, 1)
