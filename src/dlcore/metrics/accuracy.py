"""Accuracy metrics: exact, binary, categorical, sparse categorical, "accuracy" chosen from the
loss or the shapes, and the top-k accuracies."""
from __future__ import annotations

import numpy as np

from .base import Metric, MeanMetricWrapper, nan_where, same_rank, shape_like


class Accuracy(Metric):
    """How often y_pred equals y_true exactly.

    Example:

    ```python
    import dlcore as dl

    m = dl.metrics.Accuracy()
    m.update_state([1, 2, 3], [1, 2, 4])
    print(round(m.result(), 4))         # 0.6667
    ```
    """

    def _values(self, y_true, y_pred):
        return nan_where(shape_like(y_true, y_pred.shape, self.name) == y_pred, y_pred)


class BinaryAccuracy(Metric):
    """How often the thresholded prediction (y_pred > threshold) equals the binary label.

    Args:
        name: Defaults to "binary_accuracy".
        threshold: Defaults to 0.5.

    Example:

    ```python
    import dlcore as dl

    m = dl.metrics.BinaryAccuracy()
    m.update_state([[1], [0]], [[0.8], [0.7]])
    print(m.result())                   # 0.5
    ```
    """

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        self.threshold = float(threshold)
        super().__init__(name, dtype)

    def _values(self, y_true, y_pred):
        return nan_where(shape_like(y_true, y_pred.shape, self.name) == (y_pred > self.threshold), y_pred)

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


class CategoricalAccuracy(Metric):
    """How often the predicted class (argmax) matches the one-hot label's.

    Example:

    ```python
    import dlcore as dl

    m = dl.metrics.CategoricalAccuracy()
    m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    print(m.result())                   # 0.5
    ```
    """

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(name, dtype)

    def _values(self, y_true, y_pred):
        if y_true.shape != y_pred.shape:
            raise ValueError(f"{self.name}: y_true must be one-hot rows of y_pred's shape {y_pred.shape}, "
                             f"got {y_true.shape}")
        return nan_where(y_true.argmax(-1) == y_pred.argmax(-1), y_pred, axis=-1)


class SparseCategoricalAccuracy(Metric):
    """How often the predicted class (argmax) matches the integer label.

    Example:

    ```python
    import dlcore as dl

    m = dl.metrics.SparseCategoricalAccuracy()
    m.update_state([2, 1], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    print(m.result())                   # 0.5
    ```
    """

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(name, dtype)

    def _values(self, y_true, y_pred):
        labels = shape_like(y_true, y_pred.shape[:-1], self.name)
        return nan_where(labels.astype(np.int64) == y_pred.argmax(-1), y_pred, axis=-1)


class AutoAccuracy(Metric):
    """Keras's "accuracy": binary, categorical or sparse categorical, chosen from the loss (when it
    names a cross-entropy) or from the shapes at the first update (last axis 1: binary; y_true
    shaped like y_pred: categorical; else sparse).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    m = dl.metrics.get("accuracy", loss="sparse_categorical_crossentropy")
    m.update_state(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]))
    print(m.kind, m.result())           # sparse 0.5
    ```
    """

    def __init__(self, name="accuracy", dtype=None, kind=None):
        self.kind = kind
        super().__init__(name, dtype)

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


def _in_top_k(labels, y_pred, k):
    """labels[i] is among the k largest of y_pred[i] (ties with the k-th count, as Keras's in_top_k)."""
    y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    labels = labels.reshape(-1).astype(np.int64)
    if y_pred.shape[0] != labels.shape[0]:
        raise ValueError(f"top_k_categorical_accuracy: {labels.shape[0]} labels for {y_pred.shape[0]} predictions")
    if k >= y_pred.shape[-1]:
        return np.ones(labels.shape, np.float64)
    kth = np.sort(y_pred, axis=-1)[:, -k]
    return (y_pred[np.arange(labels.size), labels] >= kth).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Per sample: 1.0 when the one-hot label's class is among the k highest predictions.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    y, p = np.array([[0, 0, 1], [0, 1, 0]]), np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    print(dl.metrics.top_k_categorical_accuracy(y, p, k=2))        # [1. 1.]
    ```
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred, dtype=np.float64)
    return _in_top_k(y_true.argmax(-1), y_pred, int(k)).reshape(y_true.shape[:-1])


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """Per sample: 1.0 when the integer label is among the k highest predictions (from_sorted_ids:
    y_pred holds class ids, best first, and the label must be among the first k).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    p = np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    print(dl.metrics.sparse_top_k_categorical_accuracy(np.array([2, 2]), p, k=2))   # [1. 0.]
    ```
    """
    y_true, y_pred = same_rank(np.asarray(y_true), np.asarray(y_pred))
    if from_sorted_ids:
        ids = y_pred.reshape(-1, y_pred.shape[-1])[:, :int(k)]
        return (ids == y_true.reshape(-1, 1)).any(axis=-1).astype(np.float64).reshape(y_true.shape)
    return _in_top_k(y_true, y_pred.astype(np.float64), int(k)).reshape(y_true.shape)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the k highest predictions.

    Args:
        k: the number of top predictions considered. Defaults to 5.
        name: Defaults to "top_k_categorical_accuracy".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    m = dl.metrics.TopKCategoricalAccuracy(k=1)
    m.update_state(np.array([[0, 0, 1], [0, 1, 0]]), np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
    print(m.result())                   # 0.5
    ```
    """

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name, dtype, k=int(k))


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the k highest predictions.

    Args:
        k: the number of top predictions considered. Defaults to 5.
        name: Defaults to "sparse_top_k_categorical_accuracy".
        from_sorted_ids: y_pred holds class ids sorted best first (e.g. from a top-k search).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    m = dl.metrics.SparseTopKCategoricalAccuracy(k=2)
    m.update_state(np.array([2, 2]), np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
    print(m.result())                   # 0.5
    ```
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(sparse_top_k_categorical_accuracy, name, dtype, k=int(k),
                         from_sorted_ids=bool(from_sorted_ids))
