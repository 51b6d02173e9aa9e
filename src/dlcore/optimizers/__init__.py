"""Optimizers (Keras's `keras.optimizers`), each usable with Keras's arguments or PyTorch's.

    opt = dl.optimizers.Adam(learning_rate=1e-3)                       # Keras's formulas
    opt = dl.optimizers.Adam(model.parameters(), lr=1e-3)              # PyTorch's formulas

SGD, Adagrad, RMSprop, Adam, AdamW, Nadam, Adamax, Adadelta, Lion; `schedules` holds Keras's
learning-rate schedules (`dl.optimizers.schedules.ExponentialDecay`, ...). How the style is chosen,
and what each style means, is in `dl.optimizers.Optimizer`'s docstring (optimizers/base.py); the
PyTorch names (`NAdam`, `lr_scheduler`) are in `dl.optim`.
"""
from __future__ import annotations

from . import schedules
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .base import Optimizer
from .lion import Lion
from .nadam import Nadam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Nadam", "Adamax", "Adadelta", "Lion",
           "schedules", "get", "serialize", "deserialize"]

_ALL = {c.__name__.lower(): c for c in (SGD, Adagrad, RMSprop, Adam, AdamW, Nadam, Adamax, Adadelta, Lion)}


def get(identifier, **kwargs):
    """An optimizer from a name ("adam"), a config dict {"class_name", "config"} or an instance.

    Example:

    ```python
    import dlcore as dl

    opt = dl.optimizers.get("rmsprop")
    print(type(opt).__name__, opt.learning_rate)        # RMSprop 0.001
    ```
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _ALL.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {identifier!r}; expected one of {sorted(_ALL)}")
        return cls(**kwargs)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(f"optimizer must be a name, a config dict or an Optimizer, got {type(identifier).__name__}")


def serialize(opt):
    """{"class_name", "config"} of an optimizer (Keras's serialize)."""
    return {"class_name": type(opt).__name__, "config": opt.get_config()}


def deserialize(config):
    """The optimizer a serialize() dict describes."""
    name = config["class_name"]
    cls = {c.__name__: c for c in _ALL.values()}.get(name) or _ALL.get(name.lower())
    if cls is None:
        raise ValueError(f"unknown optimizer class {name!r}")
    return cls.from_config(config.get("config", {}))
