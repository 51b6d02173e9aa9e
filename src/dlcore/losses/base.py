"""The loss base classes and the reduction every loss shares.

`loss(y_true, y_pred, sample_weight=None)` -> a Tensor: the per-sample losses (one per sample, or
per sample and time step for (batch, time, features) inputs with the losses that reduce the last
axis only), weighted by `sample_weight` and reduced by `reduction`:

    "sum_over_batch_size" (default): sum of the weighted values / their number
    "sum": their sum;   "none" / None: the weighted values themselves
    "mean_with_sample_weight": sum / sum of the weights

Keras's argument order (y_true first). Inputs of shape (N,) are N samples of one value each.
"""
from __future__ import annotations

import numpy as np

from ..functional._common import _array
from ..tensor import Tensor, get_array_module
from ..utils import Configurable, snake_case

REDUCTIONS = {"sum_over_batch_size": "mean", "mean": "mean", "auto": "mean", "sum": "sum", "none": "none",
              None: "none", "mean_with_sample_weight": "mean_with_sample_weight"}


class Loss(Configurable):
    """Base class of the losses: `call(y_true, y_pred)` gives the per-sample losses, `__call__`
    weights and reduces them. Subclasses implement `_compute(y_true, y_pred, reduction,
    sample_weight)` (reduction: "mean", "sum", "none" or "mean_with_sample_weight"), or derive
    from `LossFunctionWrapper` and give a per-sample function.

    Args:
        reduction: "sum_over_batch_size" (default), "sum", "none"/None or "mean_with_sample_weight".
        name: the loss's name (default: its class name in snake_case).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    class ScaledMSE(dl.losses.Loss):
        def __init__(self, scale=2.0, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

        def _compute(self, y_true, y_pred, reduction, sample_weight):
            per = dl.losses.mean_squared_error(y_true, y_pred) * self.scale
            return dl.losses.reduce_weighted(per, reduction, sample_weight)

    print(ScaledMSE()(np.zeros((2, 1)), np.ones((2, 1))).item())      # 2.0
    ```
    """

    def __init__(self, reduction="sum_over_batch_size", name=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be 'sum_over_batch_size', 'sum', 'none' or "
                             f"'mean_with_sample_weight', got {reduction!r}")
        self.reduction = reduction
        self.name = name or snake_case(type(self).__name__)

    def __call__(self, y_true, y_pred, sample_weight=None):
        return self._compute(y_true, y_pred, REDUCTIONS[self.reduction], sample_weight)

    def call(self, y_true, y_pred):
        """Per-sample losses (Keras's Loss.call)."""
        return self._compute(y_true, y_pred, "none", None)

    def _compute(self, y_true, y_pred, reduction, sample_weight):  # pragma: no cover - interface
        raise NotImplementedError

    def get_config(self):
        return {"reduction": self.reduction, "name": self.name}

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


def reduce_weighted(values, reduction="mean", sample_weight=None, op="loss"):
    """Weight per-sample values by sample_weight (broadcast from the batch axis) and reduce them.

    reduction: "mean" (= "sum_over_batch_size": sum / number of values), "sum", "none",
    "mean_with_sample_weight" (sum / sum of the weights).
    """
    values = values if isinstance(values, Tensor) else Tensor(np.asarray(values, dtype=np.float32))
    reduction = REDUCTIONS.get(reduction, reduction)
    if reduction not in ("mean", "sum", "none", "mean_with_sample_weight"):
        raise ValueError(f"{op}: reduction must be 'sum_over_batch_size', 'sum', 'none' or "
                         f"'mean_with_sample_weight', got {reduction!r}")
    weights = None
    if sample_weight is not None:
        xp = get_array_module(values.data)
        w = xp.asarray(_array(sample_weight), dtype=values.dtype)
        if 0 < w.ndim < values.ndim:
            w = w.reshape(w.shape + (1,) * (values.ndim - w.ndim))
        if w.ndim == values.ndim + 1 and w.shape[-1] == 1:
            w = w.reshape(w.shape[:-1])
        try:
            weights = xp.broadcast_to(w, values.shape)
        except ValueError:
            raise ValueError(f"{op}: sample_weight of shape {tuple(np.shape(_array(sample_weight)))} does not "
                             f"broadcast to the per-sample losses of shape {tuple(values.shape)}") from None
        values = values * Tensor(weights)
    if reduction == "none":
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weights is not None:
        divisor = float(weights.sum())
    else:
        divisor = float(values.size)
    return total / divisor if divisor else total * 0.0


def pair(y_true, y_pred, op):
    """(y_true as a constant array of y_pred's dtype, y_pred as a Tensor), shapes made equal the way
    Keras does (a trailing axis of 1 squeezed or added), and (N,) read as N samples of one value."""
    if not isinstance(y_pred, Tensor):
        y_pred = Tensor(np.asarray(y_pred))
    if y_pred.dtype.kind != "f":
        y_pred = y_pred.astype(np.float32)
    xp = get_array_module(y_pred.data)
    y_true = xp.asarray(_array(y_true)).astype(y_pred.dtype)
    if y_true.shape != y_pred.shape:
        if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
            y_true = y_true.reshape(y_true.shape[:-1])
        elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
            y_pred = y_pred.reshape(y_pred.shape[:-1])
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{op}: y_true and y_pred must have the same shape, got y_true {tuple(y_true.shape)} and "
                         f"y_pred {tuple(y_pred.shape)}")
    if y_pred.ndim == 1:
        y_true, y_pred = y_true.reshape(-1, 1), y_pred.reshape(-1, 1)
    return y_true, y_pred


class LossFunctionWrapper(Loss):
    """A Loss from a per-sample function `fn(y_true, y_pred, **kwargs)` (Keras's wrapper): the
    function's values are weighted and reduced like every loss's.

    Args:
        fn: the per-sample loss function.
        reduction, name: as in `Loss` (name defaults to the function's name).
        **kwargs: passed to fn on every call.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    def worst_error(y_true, y_pred):
        return (y_pred - dl.tensor(y_true)).abs().max(axis=-1)

    loss = dl.losses.LossFunctionWrapper(worst_error)
    print(loss(np.zeros((2, 2)), dl.tensor([[1.0, 3.0], [2.0, 0.0]])).item())    # 2.5
    ```
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, **kwargs):
        super().__init__(reduction, name or getattr(fn, "__name__", None))
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def _compute(self, y_true, y_pred, reduction, sample_weight):
        return reduce_weighted(self.call(y_true, y_pred), reduction, sample_weight, self.name)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        if cls is LossFunctionWrapper:
            raise ValueError("LossFunctionWrapper: a wrapped Python function cannot be rebuilt from a config; "
                             "register the function (dl.saving.register_serializable) or use a Loss class")
        return cls(**config)
