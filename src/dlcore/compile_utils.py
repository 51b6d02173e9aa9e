"""What model.compile() holds: the compiled loss, the compiled metrics and the running mean of the loss.

    loss = CompileLoss("sparse_categorical_crossentropy"); loss.build(["dense_1"])
    metrics = CompileMetrics(["accuracy"], loss="sparse_categorical_crossentropy")
    value, parts = loss(y, y_pred, sample_weight, extra=model.losses)   # a scalar Tensor, {} (one output)
    metrics.update_state(y, y_pred); metrics.results()                   # {"accuracy": 0.93}

Several outputs: `build(output_names)` resolves lists and dicts of losses, loss weights and
metrics per output; the per-output losses and metrics are logged as '<output>_loss' and
'<output>_<metric>', as in Keras.

This module also declares losses, metrics and optimizers to dlcore.saving's registry, so that a
model file may name their classes (saving itself imports none of them).
"""
from __future__ import annotations

import numbers

import numpy as np

from . import losses, metrics, optimizers
from .call_context import get_mask
from .data import to_numpy
from .primitives import get_array_module
from .tensor import Tensor
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


def _outputs_list(y_pred):
    return list(y_pred) if isinstance(y_pred, (list, tuple)) else [y_pred]


def _per_output(spec, names, arg, allow_scalar):
    """`spec` (one value, a list with one entry per output, or a dict by output name) as a list per output.

    A single value applies to every output when `allow_scalar`; a dict leaves the outputs it does
    not name at None.
    """
    n = len(names)
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in names]
        if unknown:
            raise ValueError(f"compile: '{arg}' names outputs {unknown} the model does not have; its outputs are "
                             f"{names}")
        return [spec.get(name) for name in names]
    if isinstance(spec, (list, tuple)) and (n > 1 or not allow_scalar):
        if len(spec) != n:
            raise ValueError(f"compile: '{arg}' must have one entry per output ({n}: {names}), got {len(spec)}")
        return list(spec)
    if not allow_scalar and n > 1:
        raise ValueError(f"compile: '{arg}' for a model with {n} outputs must be a list or a dict by output name "
                         f"{names}, got {spec!r}")
    return [spec] * n


def _masked_view(y_true, y_pred, mask, sample_weight):
    """Flatten the masked leading axes (batch, time): per-time-step y_true / y_pred and weights."""
    xp = get_array_module(y_pred.data)
    mask = xp.asarray(mask)
    lead = mask.shape
    if tuple(y_pred.shape[:mask.ndim]) != tuple(lead):
        raise ValueError(f"compile: the mask of the model's output has shape {tuple(lead)}, which does not lead the "
                         f"output's shape {tuple(y_pred.shape)}")
    n = int(np.prod(lead))
    pred = y_pred.reshape((n,) + tuple(y_pred.shape[mask.ndim:]))
    yt = y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true)
    yt = yt.reshape((n,) + tuple(yt.shape[mask.ndim:])) if yt.size % n == 0 else yt
    w = mask.astype(pred.dtype)
    if sample_weight is not None:
        sw = xp.asarray(sample_weight, dtype=pred.dtype)
        sw = sw.reshape(sw.shape + (1,) * (len(lead) - sw.ndim))
        w = w * xp.broadcast_to(sw, lead)
    return Tensor(yt) if isinstance(y_true, Tensor) else yt, pred, w.reshape(n)


class CompileLoss:
    """compile(loss=..., loss_weights=...): the total loss of a batch, over one or several outputs.

    `loss`: one loss (applied to every output), a list with one per output, or a dict by output
    name (outputs without a loss do not count). `loss_weights`: a number (one output), a list or a
    dict by output name; the total is the weighted sum of the outputs' losses plus the extra terms
    (regularization, add_loss). Where an output has a mask (Masking, Embedding(mask_zero=True)),
    the masked time steps do not count: the loss is averaged over the unmasked ones (Keras).
    """

    def __init__(self, loss, loss_weights=None):
        if loss is None:
            raise ValueError("compile: give a loss, e.g. loss='mse' or loss='sparse_categorical_crossentropy'")
        self.spec = loss  # as given, for the model file
        self.weights_spec = loss_weights
        if isinstance(loss, dict):
            self.fn = {k: None if v is None else losses.get(v) for k, v in loss.items()}
        elif isinstance(loss, (list, tuple)):
            self.fn = [None if v is None else losses.get(v) for v in loss]
        else:
            self.fn = losses.get(loss)
        if loss_weights is not None and not isinstance(loss_weights, (dict, list, tuple, numbers.Real)):
            raise TypeError(f"compile: 'loss_weights' must be a number, a list or a dict by output name, got "
                            f"{type(loss_weights).__name__}")
        self.output_names = None
        self.fns = None
        self.loss_weights = None

    def build(self, output_names):
        """Resolve the losses and weights per output, once the model's outputs are known."""
        fns = self.fn if isinstance(self.fn, (dict, list)) else self.fn
        if isinstance(fns, list) and len(output_names) == 1 and len(fns) == 1:
            fns = fns[0]
        self.fns = _per_output(fns, output_names, "loss", allow_scalar=True)
        if all(f is None for f in self.fns):
            raise ValueError(f"compile: no output has a loss (outputs {output_names}, loss={self.spec!r})")
        weights = self.weights_spec if self.weights_spec is not None else [1.0] * len(output_names)
        if isinstance(weights, (list, tuple)) and len(output_names) == 1 and len(weights) == 1:
            weights = weights[0]
        weights = _per_output(weights, output_names, "loss_weights", allow_scalar=len(output_names) == 1)
        self.loss_weights = [1.0 if w is None else float(w) for w in weights]
        self.output_names = list(output_names)

    @property
    def names(self):
        """The per-output loss names shown in the logs (models with several outputs only)."""
        if self.output_names is None or len(self.output_names) < 2:
            return []
        return [f"{n}_loss" for n, f in zip(self.output_names, self.fns) if f is not None]

    def __call__(self, y_true, y_pred, sample_weight=None, extra=()):
        """(total loss as a scalar Tensor, {per-output loss name: float})."""
        preds = _outputs_list(y_pred)
        trues = _outputs_list(y_true) if len(preds) > 1 else [y_true]
        if len(trues) != len(preds):
            raise ValueError(f"the model has {len(preds)} outputs {self.output_names}, but y has {len(trues)} "
                             f"array(s); give one target per output (a list, or a dict by output name)")
        total, parts = None, {}
        for name, fn, w, yt, yp in zip(self.output_names, self.fns, self.loss_weights, trues, preds):
            if fn is None:
                continue
            value = self._one(fn, yt, yp, sample_weight, name)
            if len(preds) > 1:
                parts[f"{name}_loss"] = float(value.item())
            value = value * w if w != 1.0 else value
            total = value if total is None else total + value
        for term in extra:  # weight regularizers and add_loss terms
            total = total + term
        return total, parts

    @staticmethod
    def _one(fn, y_true, y_pred, sample_weight, name):
        mask = get_mask(y_pred) if isinstance(y_pred, Tensor) else None
        if mask is not None:
            if not isinstance(fn, losses.Loss):
                raise ValueError(f"compile: output '{name}' has a mask, which needs a dlcore Loss (a name like 'mse' "
                                 f"or a dl.losses.Loss object) to leave the masked time steps out, not a plain function")
            yt, yp, w = _masked_view(y_true, y_pred, mask, sample_weight)
            per = fn.call(yt, yp)
            weighted = (per * Tensor(w)).sum()
            if fn.reduction in ("sum", "none", None):
                return weighted
            valid = float(mask.sum())  # Keras: the mean over the unmasked steps
            return weighted * (1.0 / (valid + 1e-7))
        if sample_weight is None:
            return fn(y_true, y_pred)
        if isinstance(fn, losses.Loss):
            sw = np.asarray(sample_weight, dtype=np.float32).reshape(-1)
            return fn(y_true, y_pred, sample_weight=sw)
        raise ValueError("sample_weight / class_weight need a dlcore Loss (a name like 'mse' or a "
                         "dl.losses.Loss object), not a plain function")


class _MetricSet:
    """The metrics of one output: (display name, metric) pairs."""

    def __init__(self, specs, loss, output_name, weighted):
        if specs is None:
            specs = []
        if isinstance(specs, str) or not isinstance(specs, (list, tuple)):
            specs = [specs]
        self.metrics = []
        for spec in specs:
            m = metrics.get(spec, loss=loss)
            name = spec if isinstance(spec, str) else getattr(m, "name", None) or snake_case(type(m).__name__)
            self.metrics.append((name, m))
        self.output_name, self.weighted = output_name, weighted


class CompileMetrics:
    """compile(metrics=[...], weighted_metrics=[...]): the metric objects per output.

    Single output: a list of metrics ('accuracy' picks its kind from the loss). Several outputs: a
    list with one entry (a metric or a list of them) per output, or a dict by output name; the
    logs name them '<output>_<metric>'. `metrics` ignore sample weights; `weighted_metrics` use
    them (Keras). Masked time steps do not count.
    """

    def __init__(self, specs, loss, weighted_specs=None):
        for arg, v in (("metrics", specs), ("weighted_metrics", weighted_specs)):
            if v is not None and not isinstance(v, (list, tuple, dict)):
                raise TypeError(f"compile: '{arg}' must be a list (or a dict by output name), got "
                                f"{type(v).__name__} {v!r}")
        self.specs = [] if specs is None else specs
        self.weighted_specs = [] if weighted_specs is None else weighted_specs
        self.loss = loss
        self.sets, self.output_names, self._index = [], None, {}
        nested = any(isinstance(v, dict) or (isinstance(v, (list, tuple)) and any(isinstance(m, (list, tuple))
                                                                                     for m in v))
                     for v in (self.specs, self.weighted_specs))
        if not nested:
            self.build(["output"])  # one output, until the model's outputs are known

    def build(self, output_names):
        n = len(output_names)
        sets = []
        for specs, weighted, arg in ((self.specs, False, "metrics"), (self.weighted_specs, True, "weighted_metrics")):
            if n == 1:
                if isinstance(specs, dict):
                    specs = _per_output(specs, output_names, arg, allow_scalar=True)[0] if specs else []
                sets.append(_MetricSet(specs, self._loss_for(0, output_names), None, weighted))
                continue
            if not specs:
                continue
            per = _per_output(specs, output_names, arg, allow_scalar=False)
            for i, (name, spec) in enumerate(zip(output_names, per)):
                sets.append(_MetricSet(spec, self._loss_for(i, output_names), name, weighted))
        self.sets = sets
        self.output_names = list(output_names)
        self._index = {name: i for i, name in enumerate(output_names)}

    def _loss_for(self, i, names):
        loss = self.loss
        if isinstance(loss, dict):
            return loss.get(names[i])
        if isinstance(loss, (list, tuple)):
            return loss[i] if i < len(loss) else None
        return loss

    @property
    def names(self):
        return list(self._names())

    def _names(self):
        seen = {}
        for mset in self.sets:
            for name, _ in mset.metrics:
                full = f"{mset.output_name}_{name}" if mset.output_name else name
                if full in seen and mset.weighted:
                    full = f"{mset.output_name}_weighted_{name}" if mset.output_name else f"weighted_{name}"
                if full in seen:
                    seen[full] += 1
                    full = f"{full}_{seen[full] - 1}"
                else:
                    seen[full] = 1
                yield full

    @property
    def metrics(self):
        return [(name, m) for name, (_, m) in zip(self._names(), (p for s in self.sets for p in s.metrics))]

    def reset_state(self):
        for mset in self.sets:
            for _, m in mset.metrics:
                m.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None, masks=None):
        preds = _outputs_list(y_pred)
        trues = _outputs_list(y_true) if len(preds) > 1 else [y_true]
        masks = masks if masks is not None else [None] * len(preds)
        for mset in self.sets:
            i = self._index.get(mset.output_name, 0) if mset.output_name else 0
            y_arr, p_arr, mask = to_numpy(trues[i]), to_numpy(preds[i]), masks[i]
            sw = sample_weight if mset.weighted else None
            if mask is not None:
                y_arr, p_arr, sw = _masked_view(y_arr, Tensor(p_arr), to_numpy(mask), sw)
                p_arr = p_arr.data
            for _, m in mset.metrics:
                if sw is None:
                    m.update_state(y_arr, p_arr)
                else:
                    m.update_state(y_arr, p_arr, sample_weight=np.asarray(sw, np.float32))

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
