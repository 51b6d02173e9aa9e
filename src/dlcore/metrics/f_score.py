"""F-scores (Keras's FBetaScore and F1Score) for multi-class and multi-label classification."""
from __future__ import annotations

import numpy as np

from .base import Metric, to_host, weights_like

EPSILON = 1e-7  # Keras's backend epsilon


class FBetaScore(Metric):
    """F-beta = (1 + beta^2) precision recall / (beta^2 precision + recall), per class or averaged.

    Predictions are made binary with `threshold` (y_pred > threshold), or, without one, by marking
    each sample's highest prediction (ties all marked). Inputs: (batch, classes), one-hot or
    multi-hot labels.

    Args:
        average: None (one score per class: an array), "micro" (global counts), "macro" (the
            unweighted mean of the class scores) or "weighted" (weighted by the classes' support).
        beta: the weight of recall relative to precision. Defaults to 1.
        threshold: a float in (0, 1], or None for "the highest prediction". Defaults to None.
        name: Defaults to "fbeta_score".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    m = dl.metrics.FBetaScore(beta=2.0, average="micro")
    m.update_state(np.array([[1, 0], [1, 0], [0, 1]]), np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]]))
    print(round(m.result(), 4))         # 0.6667
    ```
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        op = type(self).__name__
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"{op}: average must be None, 'micro', 'macro' or 'weighted', got {average!r}")
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta <= 0:
            raise ValueError(f"{op}: beta must be a number > 0, got {beta!r}")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                      or not 0 < threshold <= 1):
            raise ValueError(f"{op}: threshold must be a number in (0, 1] or None, got {threshold!r}")
        self.average, self.beta, self.threshold = average, float(beta), threshold
        super().__init__(name, dtype)

    def reset_state(self):
        self.true_positives = self.false_positives = self.false_negatives = self.intermediate_weights = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        op = type(self).__name__
        y_true, y_pred = to_host(y_true).astype(np.float64), to_host(y_pred).astype(np.float64)
        if y_pred.ndim != 2 or y_true.shape != y_pred.shape:
            raise ValueError(f"{op}: y_true and y_pred must be (batch, classes) of the same shape, got y_true "
                             f"{y_true.shape} and y_pred {y_pred.shape}")
        if self.threshold is None:
            pred = ((y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)).astype(np.float64)
        else:
            pred = (y_pred > self.threshold).astype(np.float64)
        w = np.ones(y_pred.shape) if sample_weight is None else weights_like(sample_weight, y_pred.shape, op)
        axis = None if self.average == "micro" else 0
        counts = [((pred * y_true) * w).sum(axis=axis), ((pred * (1 - y_true)) * w).sum(axis=axis),
                  (((1 - pred) * y_true) * w).sum(axis=axis), (y_true * w).sum(axis=axis)]
        if self.true_positives is None:
            self.true_positives, self.false_positives, self.false_negatives, self.intermediate_weights = counts
        else:
            if np.shape(counts[0]) != np.shape(self.true_positives):
                raise ValueError(f"{op}: y_pred has {y_pred.shape[1]} classes, earlier batches had "
                                 f"{np.shape(self.true_positives)[0]}")
            self.true_positives = self.true_positives + counts[0]
            self.false_positives = self.false_positives + counts[1]
            self.false_negatives = self.false_negatives + counts[2]
            self.intermediate_weights = self.intermediate_weights + counts[3]

    def result(self):
        if self.true_positives is None:
            return 0.0
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        precision = tp / (tp + fp + EPSILON)
        recall = tp / (tp + fn + EPSILON)
        b2 = self.beta ** 2
        score = (1 + b2) * precision * recall / (b2 * precision + recall + EPSILON)
        if self.average == "weighted":
            weights = self.intermediate_weights / (self.intermediate_weights.sum() + EPSILON)
            return float((score * weights).sum())
        if self.average is not None:
            return float(np.mean(score))
        return np.asarray(score, dtype=np.float64)

    def get_config(self):
        return {"name": self.name, "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 = 2 precision recall / (precision + recall) (FBetaScore with beta = 1).

    Args:
        average: None (one score per class), "micro", "macro" or "weighted". Defaults to None.
        threshold: a float in (0, 1], or None for "the highest prediction". Defaults to None.
        name: Defaults to "f1_score".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    m = dl.metrics.F1Score(average="macro")
    m.update_state(np.array([[1, 0], [1, 0], [0, 1]]), np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]]))
    print(round(m.result(), 4))         # 0.6667
    ```
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "average": self.average, "threshold": self.threshold}
