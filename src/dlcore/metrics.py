"""Metrics: stateful objects with update_state / result / reset_state (Keras), computed on host arrays.

"accuracy" resolves the way Keras does: from the loss when it names one (binary /
categorical / sparse categorical cross-entropy), otherwise from the shapes at the first update
(last dimension 1 -> binary; y_true shaped like y_pred -> categorical; else sparse).

Never silent: y_true must have y_pred's shape (up to a trailing axis of size 1), never reshaped
from another shape of the same size; a prediction holding NaN is no answer, so its accuracy is
NaN (the running result turns NaN, as the loss does), and Precision / Recall turn NaN too.
"""
from __future__ import annotations

import numpy as np

from .tensor import Tensor


def _np(x):
    if isinstance(x, Tensor):
        return x.numpy()
    if hasattr(x, "get") and not isinstance(x, (np.ndarray, dict)):
        return x.get()
    return np.asarray(x)


class Metric:
    """Base class: a weighted running mean of per-sample values by default."""

    def __init__(self, name=None, dtype=None):
        self.name = name or type(self).__name__.lower()
        self.reset_state()

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = np.asarray(self._values(_np(y_true), _np(y_pred)), dtype=np.float64).reshape(-1)
        if sample_weight is not None:
            w = np.broadcast_to(_np(sample_weight).astype(np.float64).reshape(-1), values.shape)
            self.total += float((values * w).sum())
            self.count += float(w.sum())
        else:
            self.total += float(values.sum())
            self.count += values.size

    def _values(self, y_true, y_pred):  # pragma: no cover - interface
        raise NotImplementedError

    def result(self):
        return self.total / self.count if self.count else 0.0

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Stateless use: the metric on this batch alone."""
        m = type(self).from_config(self.get_config())
        m.update_state(y_true, y_pred, sample_weight)
        return m.result()

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, result={self.result():.4g})"


class Mean(Metric):
    """Running (weighted) mean of the values given: update_state(values, sample_weight=None)."""

    def update_state(self, values, sample_weight=None):
        values = np.asarray(_np(values), dtype=np.float64).reshape(-1)
        w = np.ones_like(values) if sample_weight is None else np.broadcast_to(
            _np(sample_weight).astype(np.float64).reshape(-1), values.shape)
        self.total += float((values * w).sum())
        self.count += float(w.sum())


def _like(y_true, shape, where):
    """y_true reshaped to `shape` when it differs at most by a trailing axis of size 1 (Keras), else a
    ValueError: a transposed y of the same size is an error, not reshaped."""
    t, p = tuple(y_true.shape), tuple(shape)
    if t == p or t == p + (1,) or t + (1,) == p:
        return y_true.reshape(p)
    raise ValueError(f"{where}: y_true must have the shape of y_pred {p} (up to a trailing axis of size 1), got {t}")


def _nan_where(values, y_pred, axis=None):
    """`values` as float64 with NaN where the prediction (its row, when `axis` is given) holds a NaN."""
    values = np.asarray(values, dtype=np.float64)
    if y_pred.dtype.kind == "f":
        bad = np.isnan(y_pred) if axis is None else np.isnan(y_pred).any(axis=axis)
        if bad.any():
            values = np.where(bad, np.nan, values)
    return values


def _per_sample(v):
    return v.reshape(v.shape[0], -1).mean(axis=1) if v.ndim > 1 else v


class Accuracy(Metric):
    """Exact equality of y_true and y_pred."""

    def _values(self, y_true, y_pred):
        return _nan_where(_like(y_true, y_pred.shape, self.name) == y_pred, y_pred)


class BinaryAccuracy(Metric):
    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        self.threshold = float(threshold)
        super().__init__(name)

    def _values(self, y_true, y_pred):
        return _nan_where(_like(y_true, y_pred.shape, self.name) == (y_pred > self.threshold), y_pred)

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


class CategoricalAccuracy(Metric):
    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(name)

    def _values(self, y_true, y_pred):
        if y_true.shape != y_pred.shape:
            raise ValueError(f"{self.name}: y_true must be one-hot rows of y_pred's shape {y_pred.shape}, "
                             f"got {y_true.shape}")
        return _nan_where(y_true.argmax(-1) == y_pred.argmax(-1), y_pred, axis=-1)


class SparseCategoricalAccuracy(Metric):
    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(name)

    def _values(self, y_true, y_pred):
        labels = _like(y_true, y_pred.shape[:-1], self.name)
        return _nan_where(labels.astype(np.int64) == y_pred.argmax(-1), y_pred, axis=-1)


class AutoAccuracy(Metric):
    """Keras's "accuracy": binary, categorical or sparse categorical, chosen from the loss or the shapes."""

    def __init__(self, name="accuracy", dtype=None, kind=None):
        self.kind = kind
        super().__init__(name)

    def _values(self, y_true, y_pred):
        if self.kind is None:
            if y_pred.ndim == 1 or y_pred.shape[-1] == 1:
                self.kind = "binary"
            elif y_true.shape == y_pred.shape:
                self.kind = "categorical"
            else:
                self.kind = "sparse"
        return {"binary": BinaryAccuracy, "categorical": CategoricalAccuracy,
                "sparse": SparseCategoricalAccuracy}[self.kind]()._values(y_true, y_pred)

    def get_config(self):
        return {"name": self.name, "kind": self.kind}


class MeanSquaredError(Metric):
    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(name)

    def _values(self, y_true, y_pred):
        return _per_sample((y_pred - _like(y_true, y_pred.shape, self.name)) ** 2)


class MeanAbsoluteError(Metric):
    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(name)

    def _values(self, y_true, y_pred):
        return _per_sample(np.abs(y_pred - _like(y_true, y_pred.shape, self.name)))


class _Confusion(Metric):
    """Binary precision/recall at `thresholds` (0.5): counts of true/false positives/negatives."""

    def __init__(self, thresholds=None, name=None, dtype=None):
        self.thresholds = 0.5 if thresholds is None else float(thresholds)
        super().__init__(name)

    def reset_state(self):
        self.tp = self.fp = self.fn = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _np(y_pred)
        y_true = _like(_np(y_true), y_pred.shape, self.name).astype(bool)
        if y_pred.dtype.kind == "f" and np.isnan(y_pred).any():
            self.tp = self.fp = self.fn = float("nan")  # a NaN prediction is no answer: the result is NaN
        pred = y_pred > self.thresholds
        w = 1.0 if sample_weight is None else np.broadcast_to(
            _np(sample_weight).reshape((-1,) + (1,) * (y_pred.ndim - 1)), y_pred.shape)
        self.tp += float(np.sum(w * (pred & y_true)))
        self.fp += float(np.sum(w * (pred & ~y_true)))
        self.fn += float(np.sum(w * (~pred & y_true)))

    def get_config(self):
        return {"name": self.name, "thresholds": self.thresholds}


class Precision(_Confusion):
    def __init__(self, thresholds=None, name="precision", dtype=None):
        super().__init__(thresholds, name)

    def result(self):
        d = self.tp + self.fp
        return self.tp / d if d else 0.0


class Recall(_Confusion):
    def __init__(self, thresholds=None, name="recall", dtype=None):
        super().__init__(thresholds, name)

    def result(self):
        d = self.tp + self.fn
        return self.tp / d if d else 0.0


_NAMES = {
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy, "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError, "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "precision": Precision, "recall": Recall,
}
_LOSS_TO_ACCURACY = {
    "binary_crossentropy": "binary", "bce": "binary", "BinaryCrossentropy": "binary",
    "categorical_crossentropy": "categorical", "CategoricalCrossentropy": "categorical",
    "sparse_categorical_crossentropy": "sparse", "SparseCategoricalCrossentropy": "sparse",
}


def _loss_key(loss):
    if loss is None:
        return None
    if isinstance(loss, str):
        return loss
    return type(loss).__name__ if not callable(loss) or hasattr(loss, "_compute") else getattr(loss, "__name__", None)


def get(identifier, loss=None):
    """A Metric from a name ("accuracy", "acc", "mae", "precision", ...), a Metric or a class.

    "accuracy"/"acc" become binary / categorical / sparse accuracy from `loss` when it names a
    cross-entropy (the metric keeps the name "accuracy"), else they are resolved from shapes.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            kind = _LOSS_TO_ACCURACY.get(_loss_key(loss))
            return AutoAccuracy(name=identifier, kind=kind)
        cls = _NAMES.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown metric {identifier!r}; expected 'accuracy' or one of {sorted(_NAMES)}")
        return cls(name=identifier)
    if callable(identifier):
        return _FunctionMetric(identifier)
    raise TypeError(f"metric must be a name, a Metric or a callable, got {type(identifier).__name__}")


class _FunctionMetric(Metric):
    """A running mean of fn(y_true, y_pred) per batch."""

    def __init__(self, fn, name=None):
        self.fn = fn
        super().__init__(name or getattr(fn, "__name__", "metric"))

    def _values(self, y_true, y_pred):
        v = self.fn(y_true, y_pred)
        return _np(v)

    def get_config(self):
        return {"name": self.name}
