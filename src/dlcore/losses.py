"""Loss classes and names (Keras): `loss(y_true, y_pred, sample_weight=None)` -> scalar Tensor.

`reduction`: "sum_over_batch_size" (default: per-sample losses summed and divided by the batch
size), "sum", or "none"/None (per-sample losses). `dl.losses.get("sparse_categorical_crossentropy")`
resolves names, config dicts, Loss objects and plain callables.
"""
from __future__ import annotations

from . import functional as F
from .utils import Configurable

_REDUCTIONS = {"sum_over_batch_size": "mean", "mean": "mean", "auto": "mean", "sum": "sum", "none": "none",
               None: "none"}


class Loss(Configurable):
    """Base class: subclasses implement `_compute(y_true, y_pred, reduction, sample_weight)`."""

    def __init__(self, reduction="sum_over_batch_size", name=None):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be 'sum_over_batch_size', 'sum' or 'none', "
                             f"got {reduction!r}")
        self.reduction = reduction
        self.name = name or _snake_name(type(self).__name__)

    def __call__(self, y_true, y_pred, sample_weight=None):
        return self._compute(y_true, y_pred, _REDUCTIONS[self.reduction], sample_weight)

    def call(self, y_true, y_pred):
        """Per-sample losses (Keras's Loss.call)."""
        return self._compute(y_true, y_pred, "none", None)

    def get_config(self):
        return {"reduction": self.reduction, "name": self.name}

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


def _snake_name(name):
    import re
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class MeanSquaredError(Loss):
    def _compute(self, y_true, y_pred, reduction, sample_weight):
        return F.mse(y_true, y_pred, reduction=reduction, sample_weight=sample_weight)


class MeanAbsoluteError(Loss):
    def _compute(self, y_true, y_pred, reduction, sample_weight):
        return F.mae(y_true, y_pred, reduction=reduction, sample_weight=sample_weight)


class _FromLogits(Loss):
    def __init__(self, from_logits=False, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


class BinaryCrossentropy(_FromLogits):
    def _compute(self, y_true, y_pred, reduction, sample_weight):
        return F.binary_cross_entropy(y_true, y_pred, from_logits=self.from_logits, reduction=reduction,
                                      sample_weight=sample_weight)


class CategoricalCrossentropy(_FromLogits):
    def _compute(self, y_true, y_pred, reduction, sample_weight):
        return F.categorical_cross_entropy(y_true, y_pred, from_logits=self.from_logits, reduction=reduction,
                                           sample_weight=sample_weight)


class SparseCategoricalCrossentropy(_FromLogits):
    def _compute(self, y_true, y_pred, reduction, sample_weight):
        return F.sparse_categorical_cross_entropy(y_true, y_pred, from_logits=self.from_logits, reduction=reduction,
                                                  sample_weight=sample_weight)


class Huber(Loss):
    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        self.delta = float(delta)

    def _compute(self, y_true, y_pred, reduction, sample_weight):
        return F.huber(y_true, y_pred, delta=self.delta, reduction=reduction, sample_weight=sample_weight)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


# function-style names (Keras): loss(y_true, y_pred) -> per-sample mean reduced to a scalar
def mean_squared_error(y_true, y_pred):
    return F.mse(y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    return F.mae(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    return F.binary_cross_entropy(y_true, y_pred, from_logits=from_logits)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    return F.categorical_cross_entropy(y_true, y_pred, from_logits=from_logits)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return F.sparse_categorical_cross_entropy(y_true, y_pred, from_logits=from_logits)


mse, mae = mean_squared_error, mean_absolute_error

_NAMES = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError, "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError, "binary_crossentropy": BinaryCrossentropy,
    "bce": BinaryCrossentropy, "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy, "huber": Huber, "huber_loss": Huber,
}
_CLASSES = {c.__name__: c for c in (MeanSquaredError, MeanAbsoluteError, BinaryCrossentropy, CategoricalCrossentropy,
                                    SparseCategoricalCrossentropy, Huber)}


def get(identifier):
    """A Loss object from a Keras name, a class name, a config dict, a Loss, or a callable (kept as is)."""
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
        return identifier
    raise TypeError(f"loss must be a name, a Loss or a callable, got {type(identifier).__name__}")


def serialize(loss):
    if isinstance(loss, Loss):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    return getattr(loss, "__name__", str(loss))


def deserialize(config):
    if isinstance(config, str):
        return get(config)
    cls = _CLASSES.get(config["class_name"])
    if cls is None:
        raise ValueError(f"unknown loss class {config['class_name']!r}")
    return cls.from_config(config.get("config", {}))
