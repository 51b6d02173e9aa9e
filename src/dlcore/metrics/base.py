"""The metric base classes: stateful objects with update_state / result / reset_state (Keras),
computed on host arrays in float64; `metric(y_true, y_pred)` updates the state and returns the
result, as in Keras 3.

Never silent: y_true must have y_pred's shape (up to a trailing axis of size 1), never reshaped
from another shape of the same size; a prediction holding NaN is no answer, so its accuracy is
NaN (the running result turns NaN, as the loss does), and the confusion metrics turn NaN too.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def to_host(x):
    """A Tensor, CuPy array or array-like as a NumPy array."""
    if isinstance(x, Tensor):
        return x.numpy()
    if hasattr(x, "get") and not isinstance(x, (np.ndarray, dict)):
        return x.get()
    return np.asarray(x)


_np = to_host


def same_rank(y_true, y_pred):
    """Keras's squeeze_or_expand_to_same_rank: a trailing axis of 1 dropped from the larger rank."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true.reshape(y_true.shape[:-1])
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred.reshape(y_pred.shape[:-1])
    return y_true, y_pred


def shape_like(y_true, shape, where):
    """y_true reshaped to `shape` when it differs at most by a trailing axis of size 1 (Keras), else a
    ValueError: a transposed y of the same size is an error, not reshaped."""
    t, p = tuple(y_true.shape), tuple(shape)
    if t == p or t == p + (1,) or t + (1,) == p:
        return y_true.reshape(p)
    raise ValueError(f"{where}: y_true must have the shape of y_pred {p} (up to a trailing axis of size 1), got {t}")


def nan_where(values, y_pred, axis=None):
    """`values` as float64 with NaN where the prediction (its row, when `axis` is given) holds a NaN:
    a NaN prediction is no answer, so it is never counted right or wrong."""
    values = np.asarray(values, dtype=np.float64)
    if y_pred.dtype.kind in "fc":
        bad = np.isnan(y_pred) if axis is None else np.isnan(y_pred).any(axis=axis)
        if bad.any():
            values = np.where(bad, np.nan, values)
    return values


def weights_like(sample_weight, shape, op):
    """sample_weight (one per sample, or any shape broadcasting from the batch axis) as an array of `shape`."""
    w = to_host(sample_weight).astype(np.float64)
    if 0 < w.ndim < len(shape):
        w = w.reshape(w.shape + (1,) * (len(shape) - w.ndim))
    try:
        return np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(f"{op}: sample_weight of shape {w.shape} does not broadcast to {tuple(shape)}") from None


class Metric:
    """Base class: a weighted running mean of per-sample values by default (subclasses give
    `_values(y_true, y_pred)`), or any state with update_state / result / reset_state.

    Args:
        name: the metric's name (the key in fit's logs).
        dtype: accepted for Keras's signature; results are Python floats (or NumPy arrays)
            computed in float64.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    class MaxError(dl.metrics.Metric):
        def reset_state(self):
            self.worst = 0.0

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.worst = max(self.worst, float(np.abs(np.asarray(y_true) - np.asarray(y_pred)).max()))

        def result(self):
            return self.worst

    m = MaxError(name="max_error")
    m.update_state([0.0, 1.0], [0.5, 3.0])
    print(m.result())                   # 2.0
    ```
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or type(self).__name__.lower()
        self.dtype = dtype
        self.reset_state()

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = np.asarray(self._values(to_host(y_true), to_host(y_pred)), dtype=np.float64)
        if sample_weight is not None:
            w = weights_like(sample_weight, values.shape, self.name)
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
        """Keras 3: update the state with this batch and return the result."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        r = self.result()
        shown = f"{r:.4g}" if isinstance(r, float) else repr(r)
        return f"{type(self).__name__}(name={self.name!r}, result={shown})"


class Mean(Metric):
    """Running (weighted) mean of the values given: update_state(values, sample_weight=None).

    Args:
        name: Defaults to "mean".

    Example:

    ```python
    import dlcore as dl

    m = dl.metrics.Mean()
    m.update_state([1.0, 3.0])
    m.update_state([5.0], sample_weight=[2.0])
    print(m.result())                   # 3.5: (1 + 3 + 2 * 5) / (1 + 1 + 2)
    ```
    """

    def update_state(self, values, sample_weight=None):
        values = np.asarray(to_host(values), dtype=np.float64).reshape(-1)
        w = np.ones_like(values) if sample_weight is None else weights_like(sample_weight, values.shape, self.name)
        self.total += float((values * w).sum())
        self.count += float(w.sum())


class MeanMetricWrapper(Metric):
    """The running (weighted) mean of fn(y_true, y_pred, **kwargs) per sample (Keras's wrapper; also
    what a plain function given to compile(metrics=[...]) becomes).

    Args:
        fn: a per-sample function of (y_true, y_pred), on NumPy arrays (or dlcore Tensors).
        name: Defaults to the function's name.
        **kwargs: passed to fn.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    m = dl.metrics.MeanMetricWrapper(lambda t, p: np.abs(t - p).max(axis=-1), name="worst")
    m.update_state(np.zeros((2, 2)), np.array([[1.0, 3.0], [2.0, 0.0]]))
    print(m.result())                   # 2.5
    ```
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self.fn, self._fn_kwargs = fn, kwargs
        super().__init__(name or getattr(fn, "__name__", "metric"), dtype)

    def _values(self, y_true, y_pred):
        return to_host(self.fn(y_true, y_pred, **self._fn_kwargs))

    def get_config(self):
        return {"name": self.name, **self._fn_kwargs}
