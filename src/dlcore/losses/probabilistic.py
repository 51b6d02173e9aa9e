"""Probabilistic losses: the cross-entropies (fused kernels, with Keras's label smoothing),
KLDivergence and Poisson."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..functional._common import _array
from ..tensor import Tensor, get_array_module
from .base import Loss, LossFunctionWrapper, pair, reduce_weighted

EPSILON = 1e-7  # Keras's backend epsilon


def _smoothing(op, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be a number in [0, 1], got {value!r}")
    return float(value)


def _axis(op, axis):
    if axis != -1:
        raise ValueError(f"{op}: only axis=-1 (the class axis last, Keras's default) is supported, got axis={axis!r}")


def _smoothed(y_true, label_smoothing, classes):
    """y_true * (1 - s) + s / classes, as a float array (Keras's label smoothing)."""
    t = _array(y_true)
    t = t.astype(np.float32) if getattr(t, "dtype", np.dtype("f")).kind != "f" else t
    return t * (1.0 - label_smoothing) + label_smoothing / classes


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample binary cross-entropy, mean over the last axis; probabilities (clipped to
    [1e-7, 1 - 1e-7] as Keras does) or logits. label_smoothing s: targets y (1 - s) + s / 2.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    y, p = np.array([[1.0], [0.0]]), np.array([[0.9], [0.2]])
    print(dl.losses.binary_crossentropy(y, p).numpy())          # [0.10536 0.22314]: -log(0.9), -log(0.8)
    ```
    """
    s = _smoothing("binary_crossentropy", label_smoothing)
    _axis("binary_crossentropy", axis)
    if s:
        y_true = _smoothed(y_true, s, 2.0)
    return F.binary_cross_entropy(y_true, y_pred, from_logits=from_logits, reduction="none")


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample cross-entropy with one-hot (or soft) targets over the last axis; probabilities
    (normalized and clipped as Keras does) or logits. label_smoothing s: y (1 - s) + s / classes.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    y, p = np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])
    print(dl.losses.categorical_crossentropy(y, p).numpy())     # [0.6931472]: log(2)
    ```
    """
    s = _smoothing("categorical_crossentropy", label_smoothing)
    _axis("categorical_crossentropy", axis)
    if s:
        y_true = _smoothed(y_true, s, float(np.shape(_array(y_pred))[-1]))
    return F.categorical_cross_entropy(y_true, y_pred, from_logits=from_logits, reduction="none")


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    """Per-sample cross-entropy with integer class labels; probabilities or logits over the last axis.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(dl.losses.sparse_categorical_crossentropy(np.array([1]), np.array([[0.5, 0.5]])).numpy())  # [0.6931472]
    ```
    """
    _axis("sparse_categorical_crossentropy", axis)
    return F.sparse_categorical_cross_entropy(y_true, y_pred, from_logits=from_logits, reduction="none")


def kl_divergence(y_true, y_pred):
    """Per-sample Kullback-Leibler divergence sum(y_true log(y_true / y_pred), axis=-1), both clipped
    to [1e-7, 1].

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    y, p = np.array([[0.5, 0.5]]), np.array([[0.25, 0.75]])
    print(dl.losses.kl_divergence(y, p).numpy())                # [0.14384]: 0.5 log 2 + 0.5 log(2/3)
    ```
    """
    t, p = pair(y_true, y_pred, "kl_divergence")
    xp = get_array_module(t)
    t = xp.clip(t, t.dtype.type(EPSILON), t.dtype.type(1.0))
    return (Tensor(t * xp.log(t)) - p.clip(EPSILON, 1.0).log() * Tensor(t)).sum(axis=-1)


def poisson(y_true, y_pred):
    """Per-sample Poisson loss mean(y_pred - y_true log(y_pred + 1e-7), axis=-1).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(dl.losses.poisson(np.array([[1.0]]), np.array([[1.0]])).numpy())    # [0.9999999]: 1 - log(1 + 1e-7)
    ```
    """
    t, p = pair(y_true, y_pred, "poisson")
    return (p - (p + EPSILON).log() * Tensor(t)).mean(axis=-1)


class _CrossEntropy(Loss):
    """The arguments Keras's cross-entropy classes share, and the kernel path of their reductions."""

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}

    def _reduce(self, kernel_fn, y_true, y_pred, reduction, sample_weight):
        if reduction == "mean_with_sample_weight":
            return reduce_weighted(self.call(y_true, y_pred), reduction, sample_weight, self.name)
        return kernel_fn(y_true, y_pred, from_logits=self.from_logits, reduction=reduction,
                         sample_weight=sample_weight)


class BinaryCrossentropy(_CrossEntropy):
    """Binary cross-entropy between labels in [0, 1] and predicted probabilities (or logits).

    Args:
        from_logits: y_pred are logits (a fused sigmoid + cross-entropy). Defaults to False.
        label_smoothing: in [0, 1]; targets become y (1 - s) + s / 2. Defaults to 0.
        axis: the class axis; only -1. Defaults to -1.
        reduction: see `dl.losses.Loss`. Defaults to "sum_over_batch_size".
        name: Defaults to "binary_crossentropy".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    bce = dl.losses.BinaryCrossentropy(label_smoothing=0.2)
    print(round(bce(np.array([[1.0]]), np.array([[0.9]])).item(), 4))     # 0.3251: targets 0.9
    ```
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_crossentropy"):
        super().__init__(from_logits, reduction, name)
        self.label_smoothing = _smoothing("BinaryCrossentropy", label_smoothing)
        _axis("BinaryCrossentropy", axis)
        self.axis = axis

    def _compute(self, y_true, y_pred, reduction, sample_weight):
        if self.label_smoothing:
            y_true = _smoothed(y_true, self.label_smoothing, 2.0)
        return self._reduce(F.binary_cross_entropy, y_true, y_pred, reduction, sample_weight)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing, "axis": self.axis}


class CategoricalCrossentropy(_CrossEntropy):
    """Cross-entropy between one-hot (or soft) targets and predicted probabilities (or logits).

    Args:
        from_logits: y_pred are logits (a fused log-softmax + cross-entropy). Defaults to False.
        label_smoothing: in [0, 1]; targets become y (1 - s) + s / classes. Defaults to 0.
        axis: the class axis; only -1. Defaults to -1.
        reduction: see `dl.losses.Loss`. Defaults to "sum_over_batch_size".
        name: Defaults to "categorical_crossentropy".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    cce = dl.losses.CategoricalCrossentropy(from_logits=True)
    print(round(cce(np.array([[0.0, 1.0]]), np.array([[0.0, 0.0]])).item(), 4))   # 0.6931
    ```
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy"):
        super().__init__(from_logits, reduction, name)
        self.label_smoothing = _smoothing("CategoricalCrossentropy", label_smoothing)
        _axis("CategoricalCrossentropy", axis)
        self.axis = axis

    def _compute(self, y_true, y_pred, reduction, sample_weight):
        if self.label_smoothing:
            y_true = _smoothed(y_true, self.label_smoothing, float(np.shape(_array(y_pred))[-1]))
        return self._reduce(F.categorical_cross_entropy, y_true, y_pred, reduction, sample_weight)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(_CrossEntropy):
    """Cross-entropy between integer class labels and predicted probabilities (or logits).

    Args:
        from_logits: y_pred are logits. Defaults to False.
        reduction: see `dl.losses.Loss`. Defaults to "sum_over_batch_size".
        name: Defaults to "sparse_categorical_crossentropy".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    scce = dl.losses.SparseCategoricalCrossentropy()
    print(round(scce(np.array([1, 0]), np.array([[0.5, 0.5], [0.9, 0.1]])).item(), 4))   # 0.3993
    ```
    """

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", name="sparse_categorical_crossentropy"):
        super().__init__(from_logits, reduction, name)

    def _compute(self, y_true, y_pred, reduction, sample_weight):
        return self._reduce(F.sparse_categorical_cross_entropy, y_true, y_pred, reduction, sample_weight)


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence sum(y_true log(y_true / y_pred)) between two distributions.

    Args:
        reduction: see `dl.losses.Loss`. Defaults to "sum_over_batch_size".
        name: Defaults to "kl_divergence".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    kld = dl.losses.KLDivergence()
    print(round(kld(np.array([[0.5, 0.5]]), np.array([[0.5, 0.5]])).item(), 6))    # 0.0
    ```
    """

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence"):
        super().__init__(kl_divergence, reduction=reduction, name=name)


class Poisson(LossFunctionWrapper):
    """Poisson loss mean(y_pred - y_true log(y_pred)) (y_pred: predicted rates, > 0).

    Args:
        reduction: see `dl.losses.Loss`. Defaults to "sum_over_batch_size".
        name: Defaults to "poisson".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(dl.losses.Poisson()(np.array([[2.0]]), np.array([[1.0]])).item())     # 0.9999998: 1 - 2 log(1 + 1e-7)
    ```
    """

    def __init__(self, reduction="sum_over_batch_size", name="poisson"):
        super().__init__(poisson, reduction=reduction, name=name)
