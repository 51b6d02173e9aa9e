"""Losses (Keras's `keras.losses`): classes that weight and reduce, and per-sample functions.

    loss = dl.losses.CategoricalCrossentropy(label_smoothing=0.1)
    value = loss(y_true, y_pred, sample_weight=None)        # a scalar Tensor
    per_sample = dl.losses.categorical_crossentropy(y_true, y_pred)   # one value per sample

`reduction`: "sum_over_batch_size" (default), "sum", "none"/None, "mean_with_sample_weight" (see
`dl.losses.Loss`). `dl.losses.get` resolves names ("mse", "huber", "kld", ...), class names, config
dicts, Loss objects and callables (wrapped in a LossFunctionWrapper, so that a per-sample function
is reduced like any loss). The cross-entropies, MSE and MAE run on fused kernels (value and
gradient in one pass); the others are composed from differentiable tensor ops.
"""
from __future__ import annotations

from .base import Loss, LossFunctionWrapper, reduce_weighted
from .hinge import CategoricalHinge, Hinge, SquaredHinge, categorical_hinge, hinge, squared_hinge
from .probabilistic import (BinaryCrossentropy, CategoricalCrossentropy, KLDivergence, Poisson,
                            SparseCategoricalCrossentropy, binary_crossentropy, categorical_crossentropy, kl_divergence,
                            poisson, sparse_categorical_crossentropy)
from .regression import (CosineSimilarity, Huber, LogCosh, MeanAbsoluteError, MeanAbsolutePercentageError,
                         MeanSquaredError, MeanSquaredLogarithmicError, cosine_similarity, huber, log_cosh,
                         mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
                         mean_squared_logarithmic_error)

mse, mae, mape, msle, kld = (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
                             mean_squared_logarithmic_error, kl_divergence)
MSE, MAE, MAPE, MSLE, KLD = (MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
                             MeanSquaredLogarithmicError, KLDivergence)

__all__ = ["Loss", "LossFunctionWrapper", "reduce_weighted", "get", "serialize", "deserialize",
           "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
           "CosineSimilarity", "Huber", "LogCosh", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge",
           "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
           "mean_squared_logarithmic_error", "cosine_similarity", "huber", "log_cosh", "binary_crossentropy",
           "categorical_crossentropy", "sparse_categorical_crossentropy", "kl_divergence", "poisson", "hinge",
           "squared_hinge", "categorical_hinge", "mse", "mae", "mape", "msle", "kld", "MSE", "MAE", "MAPE", "MSLE",
           "KLD"]

_NAMES = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError, "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError, "cosine_similarity": CosineSimilarity,
    "huber": Huber, "huber_loss": Huber, "log_cosh": LogCosh, "logcosh": LogCosh,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy, "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence, "kld": KLDivergence, "kullback_leibler_divergence": KLDivergence,
    "poisson": Poisson, "hinge": Hinge, "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
}
_CLASSES = {c.__name__: c for c in set(_NAMES.values())}
# the function forms, resolved to their classes (the fused kernels where there is one)
_FUNCTIONS = {mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
              mean_absolute_percentage_error: MeanAbsolutePercentageError,
              mean_squared_logarithmic_error: MeanSquaredLogarithmicError, cosine_similarity: CosineSimilarity,
              huber: Huber, log_cosh: LogCosh, binary_crossentropy: BinaryCrossentropy,
              categorical_crossentropy: CategoricalCrossentropy,
              sparse_categorical_crossentropy: SparseCategoricalCrossentropy, kl_divergence: KLDivergence,
              poisson: Poisson, hinge: Hinge, squared_hinge: SquaredHinge, categorical_hinge: CategoricalHinge}


def get(identifier):
    """A Loss from a Keras name, a class name, a config dict, a Loss (kept), a Loss class, or a
    callable (one of the function forms: its class; any other: a LossFunctionWrapper).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    loss = dl.losses.get("kld")
    print(type(loss).__name__, loss.name)      # KLDivergence kld
    ```
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier.lower()) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"unknown loss {identifier!r}; expected one of {sorted(_NAMES)} or a callable")
        obj = cls()
        obj.name = identifier if identifier in _NAMES else obj.name
        return obj
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        cls = _FUNCTIONS.get(identifier)
        if cls is not None:
            obj = cls()
            obj.name = identifier.__name__
            return obj
        return LossFunctionWrapper(identifier)
    raise TypeError(f"loss must be a name, a Loss or a callable, got {type(identifier).__name__}")


def serialize(loss):
    """{"class_name", "config"} of a Loss; the name of a wrapped or plain function."""
    if type(loss) is LossFunctionWrapper:
        return getattr(loss.fn, "__name__", str(loss.fn))
    if isinstance(loss, Loss):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    return getattr(loss, "__name__", str(loss))


def deserialize(config):
    """The Loss a serialize() result describes."""
    if isinstance(config, str):
        return get(config)
    cls = _CLASSES.get(config["class_name"])
    if cls is None:
        raise ValueError(f"unknown loss class {config['class_name']!r}")
    return cls.from_config(config.get("config", {}))
