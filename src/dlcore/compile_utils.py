"""What model.compile() holds: the compiled loss, the compiled metrics and the running mean of the loss.

    loss = CompileLoss("sparse_categorical_crossentropy")
    metrics = CompileMetrics(["accuracy"], loss="sparse_categorical_crossentropy")
    value = loss(y, y_pred, sample_weight, extra=model.losses)   # a scalar Tensor
    metrics.update_state(y, y_pred); metrics.results()           # {"accuracy": 0.93}

This module also declares losses, metrics and optimizers to dlcore.saving's registry, so that a
model file may name their classes (saving itself imports none of them).
"""
from __future__ import annotations

import numpy as np

from . import losses, metrics, optimizers
from .data import to_numpy
from .saving import register_kind, register_serializable
from .utils import snake_case

__all__ = ["CompileLoss", "CompileMetrics", "MeanTracker"]


def _register_classes():
    """Files may name dlcore's public loss, metric and optimizer classes (looked up by kind)."""
    for kind, module, base in (("loss", losses, losses.Loss), ("metric", metrics, metrics.Metric),
                               ("optimizer", optimizers, optimizers.Optimizer)):
        register_kind(kind, base)
        for name, obj in vars(module).items():
            if isinstance(obj, type) and issubclass(obj, base) and not name.startswith("_"):
                register_serializable(obj, name=name)


_register_classes()


class CompileLoss:
    """compile(loss=...): the loss function and the batch loss with sample weights and extra terms."""

    def __init__(self, loss):
        if loss is None:
            raise ValueError("compile: give a loss, e.g. loss='mse' or loss='sparse_categorical_crossentropy'")
        if isinstance(loss, (list, dict)):
            raise ValueError("compile: one loss per model is supported (multi-output models: combine the "
                             "outputs in a custom training loop)")
        self.spec = loss  # as given, for the model file
        self.fn = losses.get(loss)

    def __call__(self, y_true, y_pred, sample_weight=None, extra=()):
        """The batch loss as a scalar Tensor (sum of weighted per-sample losses / batch size) + extra."""
        if sample_weight is None:
            loss = self.fn(y_true, y_pred)
        elif isinstance(self.fn, losses.Loss):
            sw = np.asarray(sample_weight, dtype=np.float32).reshape(-1)
            loss = self.fn(y_true, y_pred, sample_weight=sw)
        else:
            raise ValueError("sample_weight / class_weight need a dlcore Loss (a name like 'mse' or a "
                             "dl.losses.Loss object), not a plain function")
        for term in extra:  # weight regularizers and add_loss terms
            loss = loss + term
        return loss


class CompileMetrics:
    """compile(metrics=[...]): the metric objects by name ('accuracy' picks its kind from the loss)."""

    def __init__(self, specs, loss):
        if specs is None:
            specs = []
        if isinstance(specs, str) or not isinstance(specs, (list, tuple)):
            specs = [specs]
        self.specs = list(specs)
        self.metrics = []
        for spec in self.specs:
            m = metrics.get(spec, loss=loss)
            name = spec if isinstance(spec, str) else getattr(m, "name", None) or snake_case(type(m).__name__)
            self.metrics.append((name, m))

    @property
    def names(self):
        return [name for name, _ in self.metrics]

    def reset_state(self):
        for _, m in self.metrics:
            m.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_arr, p_arr = to_numpy(y_true), to_numpy(y_pred)
        for _, m in self.metrics:
            if sample_weight is None:
                m.update_state(y_arr, p_arr)
            else:
                m.update_state(y_arr, p_arr, sample_weight=np.asarray(sample_weight, np.float32))

    def results(self) -> dict:
        out = {}
        for name, m in self.metrics:
            r = m.result()
            out[name] = float(to_numpy(r)) if not isinstance(r, float) else r
        return out


class MeanTracker:
    """A weighted running mean (the loss shown in logs: average over the batches seen)."""

    def __init__(self):
        self.total = 0.0
        self.count = 0.0

    def update(self, value, weight):
        self.total += float(value) * weight
        self.count += weight

    def result(self):
        return self.total / self.count if self.count else float("nan")
