"""Regression losses: MSE and MAE (fused kernels), MAPE, MSLE, Huber, LogCosh, CosineSimilarity.

Each has a function form returning the per-sample losses (Keras's: the mean over the last axis)
and a class that weights and reduces them.
"""
from __future__ import annotations

import math

from .. import functional as F
from ..tensor import Tensor, get_array_module
from .base import Loss, LossFunctionWrapper, pair, reduce_weighted

EPSILON = 1e-7  # Keras's backend epsilon


# ---- per-sample functions ------------------------------------------------------------------------

def mean_squared_error(y_true, y_pred):
    """Per-sample mean squared error: mean((y_true - y_pred)^2, axis=-1).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(dl.losses.mean_squared_error(np.zeros((2, 2)), np.array([[1.0, 1.0], [0.0, 2.0]])).numpy())  # [1. 2.]
    ```
    """
    return F.mse(y_true, y_pred, reduction="none")


def mean_absolute_error(y_true, y_pred):
    """Per-sample mean absolute error: mean(|y_true - y_pred|, axis=-1).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(dl.losses.mean_absolute_error(np.zeros((1, 2)), np.array([[1.0, -3.0]])).numpy())     # [2.]
    ```
    """
    return F.mae(y_true, y_pred, reduction="none")


def mean_absolute_percentage_error(y_true, y_pred):
    """Per-sample 100 * mean(|(y_true - y_pred) / max(|y_true|, 1e-7)|, axis=-1).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(dl.losses.mean_absolute_percentage_error(np.array([[2.0, 4.0]]), np.array([[1.0, 5.0]])).numpy())  # [37.5]
    ```
    """
    t, p = pair(y_true, y_pred, "mean_absolute_percentage_error")
    xp = get_array_module(t)
    scale = Tensor(100.0 / xp.maximum(xp.abs(t), t.dtype.type(EPSILON)))
    return ((p - Tensor(t)).abs() * scale).mean(axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Per-sample mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))^2, axis=-1).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    e = np.e - 1.0
    print(dl.losses.mean_squared_logarithmic_error(np.array([[0.0]]), np.array([[e]])).numpy())   # [0.9999998]
    ```
    """
    t, p = pair(y_true, y_pred, "mean_squared_logarithmic_error")
    xp = get_array_module(t)
    d = (p.clip(EPSILON, None) + 1.0).log() - Tensor(xp.log(xp.maximum(t, t.dtype.type(EPSILON)) + 1))
    return (d * d).mean(axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Per-sample Huber loss: mean(0.5 x^2 if |x| <= delta else delta (|x| - 0.5 delta), axis=-1),
    x = y_pred - y_true.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(dl.losses.huber(np.zeros((1, 2)), np.array([[0.5, 3.0]])).numpy())   # [1.3125]: (0.125 + 2.5) / 2
    ```
    """
    return F.huber(y_true, y_pred, delta=delta, reduction="none")


def log_cosh(y_true, y_pred):
    """Per-sample mean(log(cosh(y_pred - y_true)), axis=-1), computed as x + softplus(-2x) - log(2)
    (no overflow for large |x|).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(dl.losses.log_cosh(np.zeros((1, 1)), np.array([[1.0]])).numpy())    # [0.43378]: log(cosh(1))
    ```
    """
    t, p = pair(y_true, y_pred, "log_cosh")
    x = p - Tensor(t)
    return (x + F.softplus(x * -2.0) - math.log(2.0)).mean(axis=-1)


def _l2_normalize(x, axis):
    """x / max(||x||, 1e-7) along axis (Keras's normalize), on a Tensor or an array."""
    if isinstance(x, Tensor):
        return x / (x * x).sum(axis=axis, keepdims=True).clip(EPSILON ** 2, None).sqrt()
    xp = get_array_module(x)
    return x / xp.sqrt(xp.maximum((x * x).sum(axis=axis, keepdims=True), x.dtype.type(EPSILON ** 2)))


def cosine_similarity(y_true, y_pred, axis=-1):
    """Per-sample -sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): -1 for the same
    direction, 0 for orthogonal vectors, 1 for opposite ones (a loss to minimize).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(dl.losses.cosine_similarity(np.array([[1.0, 0.0]]), np.array([[2.0, 0.0]])).numpy())   # [-1.]
    ```
    """
    t, p = pair(y_true, y_pred, "cosine_similarity")
    return -(_l2_normalize(p, axis) * Tensor(_l2_normalize(t, axis))).sum(axis=axis)


# ---- classes --------------------------------------------------------------------------------------

class MeanSquaredError(Loss):
    """Mean of the squared errors (a fused kernel: value and gradient in one pass).

    Args:
        reduction: see `dl.losses.Loss`. Defaults to "sum_over_batch_size".
        name: Defaults to "mean_squared_error".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    mse = dl.losses.MeanSquaredError()
    print(mse(np.zeros((2, 2)), np.array([[1.0, 1.0], [0.0, 2.0]])).item())     # 1.5
    ```
    """

    def _compute(self, y_true, y_pred, reduction, sample_weight):
        if reduction == "mean_with_sample_weight":
            return reduce_weighted(self.call(y_true, y_pred), reduction, sample_weight, self.name)
        return F.mse(y_true, y_pred, reduction=reduction, sample_weight=sample_weight)


class MeanAbsoluteError(Loss):
    """Mean of the absolute errors (a fused kernel).

    Args:
        reduction: see `dl.losses.Loss`. Defaults to "sum_over_batch_size".
        name: Defaults to "mean_absolute_error".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(dl.losses.MeanAbsoluteError()(np.zeros((2, 1)), np.array([[1.0], [-3.0]])).item())    # 2.0
    ```
    """

    def _compute(self, y_true, y_pred, reduction, sample_weight):
        if reduction == "mean_with_sample_weight":
            return reduce_weighted(self.call(y_true, y_pred), reduction, sample_weight, self.name)
        return F.mae(y_true, y_pred, reduction=reduction, sample_weight=sample_weight)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """Mean absolute percentage error: 100 * mean(|(y_true - y_pred) / y_true|) (|y_true| floored at 1e-7).

    Args:
        reduction: see `dl.losses.Loss`. Defaults to "sum_over_batch_size".
        name: Defaults to "mean_absolute_percentage_error".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    mape = dl.losses.MeanAbsolutePercentageError()
    print(mape(np.array([[2.0], [4.0]]), np.array([[1.0], [5.0]])).item())      # 37.5
    ```
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error"):
        super().__init__(mean_absolute_percentage_error, reduction=reduction, name=name)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """Mean squared logarithmic error: mean((log(1 + y_pred) - log(1 + y_true))^2) (both floored at 1e-7).

    Args:
        reduction: see `dl.losses.Loss`. Defaults to "sum_over_batch_size".
        name: Defaults to "mean_squared_logarithmic_error".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    msle = dl.losses.MeanSquaredLogarithmicError()
    print(round(msle(np.array([[0.0]]), np.array([[np.e - 1]])).item(), 4))   # 1.0
    ```
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error"):
        super().__init__(mean_squared_logarithmic_error, reduction=reduction, name=name)


class Huber(LossFunctionWrapper):
    """Huber loss: quadratic for |error| <= delta, linear beyond (less sensitive to outliers than MSE).

    Args:
        delta: where the quadratic part ends. Defaults to 1.0.
        reduction: see `dl.losses.Loss`. Defaults to "sum_over_batch_size".
        name: Defaults to "huber_loss".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(dl.losses.Huber(delta=1.0)(np.zeros((2, 1)), np.array([[0.5], [3.0]])).item())   # 1.3125
    ```
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss"):
        super().__init__(huber, reduction=reduction, name=name, delta=float(delta))

    @property
    def delta(self):
        return self._fn_kwargs["delta"]


class LogCosh(LossFunctionWrapper):
    """Logarithm of the hyperbolic cosine of the error: about x^2 / 2 for small errors, |x| - log 2 for large.

    Args:
        reduction: see `dl.losses.Loss`. Defaults to "sum_over_batch_size".
        name: Defaults to "log_cosh".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(round(dl.losses.LogCosh()(np.zeros((1, 1)), np.array([[1.0]])).item(), 5))     # 0.43378
    ```
    """

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh"):
        super().__init__(log_cosh, reduction=reduction, name=name)


class CosineSimilarity(LossFunctionWrapper):
    """The negated cosine similarity of y_true and y_pred along `axis` (-1: same direction).

    Args:
        axis: the axis along which the similarity is computed. Defaults to -1.
        reduction: see `dl.losses.Loss`. Defaults to "sum_over_batch_size".
        name: Defaults to "cosine_similarity".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    loss = dl.losses.CosineSimilarity()
    print(loss(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 0.0], [1.0, 0.0]])).item())   # -0.5
    ```
    """

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity"):
        super().__init__(cosine_similarity, reduction=reduction, name=name, axis=int(axis))
