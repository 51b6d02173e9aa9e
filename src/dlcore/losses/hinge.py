"""Hinge losses (maximum-margin classification): Hinge, SquaredHinge, CategoricalHinge."""
from __future__ import annotations

from ..tensor import Tensor, get_array_module
from .base import LossFunctionWrapper, pair


def _hinge_labels(t):
    """Labels in {0, 1} become {-1, 1} (Keras's convert_binary_labels_to_hinge); others are kept."""
    xp = get_array_module(t)
    return t * 2 - 1 if bool(xp.all((t == 0) | (t == 1))) else t


def hinge(y_true, y_pred):
    """Per-sample mean(max(1 - y_true * y_pred, 0), axis=-1); labels -1/1 (0/1 are converted).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(dl.losses.hinge(np.array([[1.0], [0.0]]), np.array([[0.3], [-2.0]])).numpy())   # [0.7 0. ]
    ```
    """
    t, p = pair(y_true, y_pred, "hinge")
    return (1.0 - p * Tensor(_hinge_labels(t))).relu().mean(axis=-1)


def squared_hinge(y_true, y_pred):
    """Per-sample mean(max(1 - y_true * y_pred, 0)^2, axis=-1); labels -1/1 (0/1 are converted).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(dl.losses.squared_hinge(np.array([[1.0]]), np.array([[0.5]])).numpy())   # [0.25]
    ```
    """
    t, p = pair(y_true, y_pred, "squared_hinge")
    m = (1.0 - p * Tensor(_hinge_labels(t))).relu()
    return (m * m).mean(axis=-1)


def categorical_hinge(y_true, y_pred):
    """Per-sample max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0): the margin of the
    true class (one-hot y_true) over the best other class.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(dl.losses.categorical_hinge(np.array([[0.0, 1.0]]), np.array([[0.6, 0.4]])).numpy())   # [1.2]
    ```
    """
    t, p = pair(y_true, y_pred, "categorical_hinge")
    pos = (p * Tensor(t)).sum(axis=-1)
    neg = (p * Tensor(1 - t)).max(axis=-1)
    return (neg - pos + 1.0).relu()


class Hinge(LossFunctionWrapper):
    """Hinge loss for labels -1/1 (0/1 are converted) and real-valued scores.

    Args:
        reduction: see `dl.losses.Loss`. Defaults to "sum_over_batch_size".
        name: Defaults to "hinge".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(dl.losses.Hinge()(np.array([[1.0], [0.0]]), np.array([[0.3], [-2.0]])).item())   # 0.35
    ```
    """

    def __init__(self, reduction="sum_over_batch_size", name="hinge"):
        super().__init__(hinge, reduction=reduction, name=name)


class SquaredHinge(LossFunctionWrapper):
    """Squared hinge loss for labels -1/1 (0/1 are converted).

    Args:
        reduction: see `dl.losses.Loss`. Defaults to "sum_over_batch_size".
        name: Defaults to "squared_hinge".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(dl.losses.SquaredHinge()(np.array([[1.0]]), np.array([[0.5]])).item())     # 0.25
    ```
    """

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge"):
        super().__init__(squared_hinge, reduction=reduction, name=name)


class CategoricalHinge(LossFunctionWrapper):
    """Categorical hinge loss for one-hot labels and per-class scores.

    Args:
        reduction: see `dl.losses.Loss`. Defaults to "sum_over_batch_size".
        name: Defaults to "categorical_hinge".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    print(round(dl.losses.CategoricalHinge()(np.array([[0.0, 1.0]]), np.array([[0.6, 0.4]])).item(), 4))   # 1.2
    ```
    """

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge"):
        super().__init__(categorical_hinge, reduction=reduction, name=name)
