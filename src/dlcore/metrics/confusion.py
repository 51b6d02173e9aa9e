"""Metrics from confusion counts at thresholds: TruePositives, FalsePositives, TrueNegatives,
FalseNegatives, Precision, Recall and AUC (ROC and PR), with Keras's semantics: a prediction is
positive at threshold t when y_pred > t; top_k keeps only each sample's k highest predictions;
class_id looks at one column; sample weights broadcast from the batch axis."""
from __future__ import annotations

import numpy as np

from .base import Metric, same_rank, to_host, weights_like

EPSILON = 1e-7   # Keras's backend epsilon (AUC's outer thresholds)
NEG_INF = -1e10  # Keras's value for the predictions top_k filters out


def _thresholds(op, thresholds, default):
    values = [default] if thresholds is None else (list(thresholds) if isinstance(thresholds, (list, tuple))
                                                    else [thresholds])
    for t in values:
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0.0 <= t <= 1.0:
            if thresholds is not None:
                raise ValueError(f"{op}: thresholds must be numbers in [0, 1], got {thresholds!r}")
    return np.asarray(values, dtype=np.float64)


def _prepare(op, y_true, y_pred, sample_weight, top_k=None, class_id=None):
    """(labels as bools, predictions, weights), all of y_pred's shape, after top_k and class_id."""
    y_true, y_pred = same_rank(to_host(y_true), to_host(y_pred).astype(np.float64))
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{op}: y_true and y_pred must have the same shape, got y_true {y_true.shape} and y_pred "
                         f"{y_pred.shape}")
    w = np.ones(y_pred.shape) if sample_weight is None else weights_like(sample_weight, y_pred.shape, op)
    if top_k is not None:
        k = min(int(top_k), y_pred.shape[-1])
        keep = np.zeros(y_pred.shape, bool)
        np.put_along_axis(keep, np.argsort(-y_pred, axis=-1, kind="stable")[..., :k], True, axis=-1)
        y_pred = np.where(keep, y_pred, NEG_INF)
    if class_id is not None:
        if y_pred.ndim < 2:
            raise ValueError(f"{op}: class_id needs y_pred of shape (samples, classes), got {y_pred.shape}")
        y_true, y_pred, w = y_true[..., class_id], y_pred[..., class_id], w[..., class_id]
    return y_true.astype(bool), y_pred, w


def confusion_counts(truth, pred, weights, thresholds):
    """(tp, fp, tn, fn) at each threshold (any order), over all elements: positive when pred > t."""
    truth, pred, weights = truth.reshape(-1), pred.reshape(-1), weights.reshape(-1)
    order = np.argsort(thresholds, kind="stable")
    below = np.searchsorted(thresholds[order], pred, side="left")  # thresholds strictly below each prediction
    n = len(thresholds)

    def above(w):  # at sorted threshold j: the weight of predictions with more than j thresholds below
        hist = np.bincount(below, weights=w, minlength=n + 1)
        return np.cumsum(hist[::-1])[::-1][1:]

    tp_s, fp_s = above(weights * truth), above(weights * ~truth)
    pos, neg = float((weights * truth).sum()), float((weights * ~truth).sum())
    tp, fp = np.empty(n), np.empty(n)
    tp[order], fp[order] = tp_s, fp_s
    return tp, fp, neg - fp, pos - tp


def _divide(a, b):
    """a / b, 0 where b is 0 (Keras's divide_no_nan), NaN where a count is NaN (a NaN prediction was seen)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.where(np.isnan(a) | np.isnan(b), np.nan, 0.0))


class _Thresholded(Metric):
    """The state of the confusion metrics: counts at each threshold."""

    default_threshold = 0.5

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        op = type(self).__name__
        default = self.default_threshold if top_k is None else NEG_INF
        self.init_thresholds = thresholds
        self.thresholds = _thresholds(op, thresholds, default)
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"{op}: top_k must be a positive int, got {top_k!r}")
        self.top_k, self.class_id = top_k, class_id
        super().__init__(name, dtype)

    def reset_state(self):
        n = len(self.thresholds)
        self.tp, self.fp, self.tn, self.fn = (np.zeros(n) for _ in range(4))

    def update_state(self, y_true, y_pred, sample_weight=None):
        truth, pred, w = _prepare(self.name, y_true, y_pred, sample_weight, self.top_k, self.class_id)
        tp, fp, tn, fn = confusion_counts(truth, pred, w, self.thresholds)
        if np.isnan(pred).any():  # a NaN prediction is no answer: the counts, and so the result, turn NaN
            tp, fp, tn, fn = (np.full_like(tp, np.nan) for _ in range(4))
        self.tp += tp
        self.fp += fp
        self.tn += tn
        self.fn += fn

    def _scalar(self, values):
        return float(values[0]) if len(values) == 1 and not isinstance(self.init_thresholds, (list, tuple)) \
            else [float(v) for v in values]

    def get_config(self):
        return {"name": self.name, "thresholds": self.init_thresholds, "top_k": self.top_k, "class_id": self.class_id}


class _Count(_Thresholded):
    kind = ""

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(thresholds, None, None, name, dtype)

    def result(self):
        return self._scalar(getattr(self, self.kind))

    def get_config(self):
        return {"name": self.name, "thresholds": self.init_thresholds}


class TruePositives(_Count):
    """The (weighted) number of true positives: label 1, prediction > threshold.

    Args:
        thresholds: a threshold in [0, 1] or a list of them (the result is then a list).
            Defaults to 0.5.
        name: Defaults to "truepositives".

    Example:

    ```python
    import dlcore as dl

    m = dl.metrics.TruePositives()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    print(m.result())                   # 2.0
    ```
    """

    kind = "tp"


class FalsePositives(_Count):
    """The (weighted) number of false positives: label 0, prediction > threshold.

    Args:
        thresholds: a threshold or a list of them. Defaults to 0.5.
        name: Defaults to "falsepositives".

    Example:

    ```python
    import dlcore as dl

    m = dl.metrics.FalsePositives()
    m.update_state([0, 1, 0, 0], [0, 0, 1, 1])
    print(m.result())                   # 2.0
    ```
    """

    kind = "fp"


class TrueNegatives(_Count):
    """The (weighted) number of true negatives: label 0, prediction <= threshold.

    Args:
        thresholds: a threshold or a list of them. Defaults to 0.5.
        name: Defaults to "truenegatives".

    Example:

    ```python
    import dlcore as dl

    m = dl.metrics.TrueNegatives()
    m.update_state([0, 1, 0, 0], [1, 1, 0, 0])
    print(m.result())                   # 2.0
    ```
    """

    kind = "tn"


class FalseNegatives(_Count):
    """The (weighted) number of false negatives: label 1, prediction <= threshold.

    Args:
        thresholds: a threshold or a list of them. Defaults to 0.5.
        name: Defaults to "falsenegatives".

    Example:

    ```python
    import dlcore as dl

    m = dl.metrics.FalseNegatives()
    m.update_state([0, 1, 1, 1], [0, 1, 0, 0])
    print(m.result())                   # 2.0
    ```
    """

    kind = "fn"


class Precision(_Thresholded):
    """Precision tp / (tp + fp) of the predictions above a threshold (0 when nothing is predicted).

    Args:
        thresholds: a threshold in [0, 1] or a list of them (the result is then a list). Defaults
            to 0.5 (with top_k: every kept prediction counts as positive).
        top_k: only each sample's k highest predictions count as positive.
        class_id: compute it for this column (class) only.
        name: Defaults to "precision".

    Example:

    ```python
    import dlcore as dl

    m = dl.metrics.Precision()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    print(round(m.result(), 4))         # 0.6667
    m = dl.metrics.Precision(top_k=1)
    m.update_state([[0, 0, 1, 1]], [[1, 1, 0, 0]])
    print(m.result())                   # 0.0
    ```
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="precision", dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        return self._scalar(_divide(self.tp, self.tp + self.fp))


class Recall(_Thresholded):
    """Recall tp / (tp + fn): the fraction of positive labels predicted above a threshold.

    Args:
        thresholds: a threshold in [0, 1] or a list of them (the result is then a list). Defaults to 0.5.
        top_k: only each sample's k highest predictions count as positive.
        class_id: compute it for this column (class) only.
        name: Defaults to "recall".

    Example:

    ```python
    import dlcore as dl

    m = dl.metrics.Recall()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    print(round(m.result(), 4))         # 0.6667
    ```
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="recall", dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        return self._scalar(_divide(self.tp, self.tp + self.fn))


class AUC(Metric):
    """The area under the ROC curve (or the precision-recall curve), approximated by a Riemann sum
    over confusion counts at num_thresholds thresholds (Keras's AUC).

    Thresholds: -1e-7, 1/(n-1), ..., (n-2)/(n-1), 1 + 1e-7 (or the given ones between -1e-7 and
    1 + 1e-7); predictions are clipped to [0, 1]. ROC: x = false-positive rate, y = recall. PR:
    x = recall, y = precision, with "interpolation" Davis & Goadrich's interpolation of precision.

    Args:
        num_thresholds: the number of thresholds (> 1). Defaults to 200.
        curve: "ROC" (default), "PR" or "PRGAIN".
        summation_method: "interpolation" (trapezoids, default), "minoring" or "majoring".
        name: Defaults to "auc".
        thresholds: explicit thresholds in [0, 1] (num_thresholds becomes len + 2).
        multi_label: one curve per label column, averaged (label_weights: weighted). Defaults to False.
        num_labels: the number of label columns with multi_label (else taken from the first batch).
        label_weights: weights of the label columns (averaging with multi_label; otherwise they
            weight the confusion counts).
        from_logits: y_pred are logits (a sigmoid is applied). Defaults to False.

    Example:

    ```python
    import dlcore as dl

    m = dl.metrics.AUC(num_thresholds=3)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    print(m.result())                   # 0.75
    ```
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name="auc", dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        op = "AUC"
        curve = curve.upper() if isinstance(curve, str) else curve
        if curve not in ("ROC", "PR", "PRGAIN"):
            raise ValueError(f"{op}: curve must be 'ROC', 'PR' or 'PRGAIN', got {curve!r}")
        summation = summation_method.lower() if isinstance(summation_method, str) else summation_method
        if summation not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"{op}: summation_method must be 'interpolation', 'minoring' or 'majoring', got "
                             f"{summation_method!r}")
        if thresholds is not None:
            inner = sorted(_thresholds(op, list(thresholds), 0.5).tolist())
            num_thresholds = len(inner) + 2
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds <= 1:
                raise ValueError(f"{op}: num_thresholds must be an int > 1, got {num_thresholds!r}")
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        if num_labels is not None and not multi_label:
            raise ValueError(f"{op}: num_labels is needed only when multi_label=True")
        self.num_thresholds, self.curve, self.summation_method = num_thresholds, curve, summation
        self.init_thresholds = None if thresholds is None else list(thresholds)
        self.thresholds = np.array([0.0 - EPSILON] + inner + [1.0 + EPSILON])
        self.multi_label, self.num_labels = bool(multi_label), num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, dtype=np.float64)
        self.from_logits = bool(from_logits)
        super().__init__(name, dtype)

    def reset_state(self):
        shape = (self.num_thresholds,) if not self.multi_label or self.num_labels is None else \
            (self.num_thresholds, self.num_labels)
        self.tp, self.fp, self.tn, self.fn = (np.zeros(shape) for _ in range(4))

    def update_state(self, y_true, y_pred, sample_weight=None):
        truth, pred, w = _prepare(self.name, y_true, y_pred, sample_weight)
        if np.isnan(pred).any():  # a NaN prediction is no answer: the counts, and so the AUC, turn NaN
            self.tp, self.fp, self.tn, self.fn = (np.full_like(c, np.nan) for c in (self.tp, self.fp, self.tn, self.fn))
            return
        if self.from_logits:
            pred = 1.0 / (1.0 + np.exp(-pred))
        pred = np.clip(pred, 0.0, 1.0)
        if self.multi_label:
            if pred.ndim != 2:
                raise ValueError(f"AUC: y_pred must have rank 2 when multi_label=True, got shape {pred.shape}")
            if self.tp.ndim == 1:
                self.num_labels = pred.shape[1]
                self.reset_state()
            if pred.shape[1] != self.tp.shape[1]:
                raise ValueError(f"AUC: y_pred has {pred.shape[1]} labels, expected {self.tp.shape[1]}")
            counts = [confusion_counts(truth[:, j], pred[:, j], w[:, j], self.thresholds) for j in range(pred.shape[1])]
            for k, name in enumerate(("tp", "fp", "tn", "fn")):
                setattr(self, name, getattr(self, name) + np.stack([c[k] for c in counts], axis=1))
            return
        if self.label_weights is not None:
            w = w * np.broadcast_to(self.label_weights, pred.shape)
        for name, c in zip(("tp", "fp", "tn", "fn"), confusion_counts(truth, pred, w, self.thresholds)):
            setattr(self, name, getattr(self, name) + c)

    def _average(self, by_label):
        if not self.multi_label:
            return float(by_label)
        by_label = by_label.sum(axis=0)
        if self.label_weights is None:
            return float(by_label.mean())
        return float(_divide((by_label * self.label_weights).sum(), self.label_weights.sum()))

    def _interpolate_pr_auc(self):
        tp, fp, fn = self.tp, self.fp, self.fn
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), _divide(p[:-1], np.maximum(p[1:], 0)), 1.0)
        increment = _divide(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))
        return self._average(increment if self.multi_label else increment.sum())

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        tp, fp, tn, fn = self.tp, self.fp, self.tn, self.fn
        recall = _divide(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _divide(tp, tp + fp)
        else:  # PRGAIN
            scale = _divide(tp + fn, tn + fp)
            x = np.maximum(np.where(tp == 0, 0.0, 1.0 - scale * _divide(fn, tp)), 0.0)
            y = np.where(tp == 0, 1.0, 1.0 - scale * _divide(fp, tp))
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        terms = (x[:-1] - x[1:]) * heights
        return self._average(terms if self.multi_label else terms.sum())

    def get_config(self):
        return {"name": self.name, "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "thresholds": self.init_thresholds,
                "multi_label": self.multi_label, "num_labels": self.num_labels,
                "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
                "from_logits": self.from_logits}
