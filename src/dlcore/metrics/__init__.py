"""Metrics (Keras's `keras.metrics`): stateful objects with update_state / result / reset_state,
computed on host arrays in float64.

"accuracy" resolves the way Keras does: from the loss when it names one (binary / categorical /
sparse categorical cross-entropy), otherwise from the shapes at the first update (last dimension
1 -> binary; y_true shaped like y_pred -> categorical; else sparse).
"""
from __future__ import annotations

from .accuracy import (Accuracy, AutoAccuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
                       SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, sparse_top_k_categorical_accuracy,
                       top_k_categorical_accuracy)
from .base import Mean, MeanMetricWrapper, Metric
from .confusion import (AUC, FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives, TruePositives)
from .f_score import F1Score, FBetaScore
from .regression import MeanAbsoluteError, MeanSquaredError, R2Score, RootMeanSquaredError

__all__ = ["Metric", "Mean", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
           "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
           "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "MeanSquaredError", "MeanAbsoluteError",
           "RootMeanSquaredError", "R2Score", "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
           "Precision", "Recall", "AUC", "FBetaScore", "F1Score", "get"]

_NAMES = {
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy, "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError, "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "root_mean_squared_error": RootMeanSquaredError, "precision": Precision, "recall": Recall, "auc": AUC,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy, "r2_score": R2Score, "f1_score": F1Score,
    "fbeta_score": FBetaScore, "true_positives": TruePositives, "false_positives": FalsePositives,
    "true_negatives": TrueNegatives, "false_negatives": FalseNegatives,
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
    """A Metric from a name ("accuracy", "acc", "mae", "auc", "precision", ...), a Metric, a Metric
    class, or a function (a MeanMetricWrapper of it).

    "accuracy"/"acc" become binary / categorical / sparse accuracy from `loss` when it names a
    cross-entropy (the metric keeps the name "accuracy"), else they are resolved from shapes.

    Example:

    ```python
    import dlcore as dl

    m = dl.metrics.get("auc")
    print(type(m).__name__, m.curve)    # AUC ROC
    ```
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
        return MeanMetricWrapper(identifier)
    raise TypeError(f"metric must be a name, a Metric or a callable, got {type(identifier).__name__}")
