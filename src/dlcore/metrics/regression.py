"""Regression metrics: mean squared / absolute error, root mean squared error, R^2."""
from __future__ import annotations

import numpy as np

from .base import Metric, same_rank, shape_like, to_host, weights_like


def _per_sample(v):
    return v.reshape(v.shape[0], -1).mean(axis=1) if v.ndim > 1 else v


class MeanSquaredError(Metric):
    """The running mean of the per-sample mean squared errors.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    m = dl.metrics.MeanSquaredError()
    m.update_state(np.zeros((2, 2)), np.array([[1.0, 1.0], [0.0, 2.0]]))
    print(m.result())                   # 1.5
    ```
    """

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(name, dtype)

    def _values(self, y_true, y_pred):
        return _per_sample((y_pred - shape_like(y_true, y_pred.shape, self.name)) ** 2)


class MeanAbsoluteError(Metric):
    """The running mean of the per-sample mean absolute errors.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    m = dl.metrics.MeanAbsoluteError()
    m.update_state(np.zeros((2, 1)), np.array([[1.0], [-3.0]]))
    print(m.result())                   # 2.0
    ```
    """

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(name, dtype)

    def _values(self, y_true, y_pred):
        return _per_sample(np.abs(y_pred - shape_like(y_true, y_pred.shape, self.name)))


class RootMeanSquaredError(MeanSquaredError):
    """sqrt of the running mean squared error (Keras: the root of the weighted mean over every value).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    m = dl.metrics.RootMeanSquaredError()
    m.update_state(np.zeros((2, 1)), np.array([[3.0], [4.0]]))
    print(round(m.result(), 4))         # 3.5355: sqrt((9 + 16) / 2)
    ```
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name, dtype)

    def result(self):
        return float(np.sqrt(super().result()))


class R2Score(Metric):
    """The coefficient of determination R^2 = 1 - SS_res / SS_tot per output column (Keras's R2Score).

    Args:
        class_aggregation: "uniform_average" (the mean over the columns, default),
            "variance_weighted_average" (weighted by each column's variance) or None (one score per
            column, an array).
        num_regressors: the number of independent variables, for the adjusted R^2
            1 - (1 - R^2) (n - 1) / (n - num_regressors - 1). Defaults to 0 (not adjusted).
        name: Defaults to "r2_score".

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    m = dl.metrics.R2Score()
    m.update_state(np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [2.0], [4.0]]))
    print(m.result())                   # 0.5: 1 - 1 / 2
    ```
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError(f"R2Score: class_aggregation must be None, 'uniform_average' or "
                             f"'variance_weighted_average', got {class_aggregation!r}")
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, int) or num_regressors < 0:
            raise ValueError(f"R2Score: num_regressors must be an int >= 0, got {num_regressors!r}")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        super().__init__(name, dtype)

    def reset_state(self):
        self.sum = self.squared_sum = self.total_mse = self.count = None
        self.num_samples = 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = same_rank(to_host(y_true).astype(np.float64), to_host(y_pred).astype(np.float64))
        if y_pred.ndim == 1:
            y_true, y_pred = y_true.reshape(-1, 1), y_pred.reshape(-1, 1)
        if y_pred.ndim != 2 or y_true.shape != y_pred.shape:
            raise ValueError(f"R2Score: y_true and y_pred must be (batch, outputs) of the same shape, got y_true "
                             f"{y_true.shape} and y_pred {y_pred.shape}")
        if self.sum is not None and self.sum.shape[0] != y_pred.shape[1]:
            raise ValueError(f"R2Score: y_pred has {y_pred.shape[1]} output(s), earlier batches had {self.sum.shape[0]}")
        w = np.ones_like(y_true) if sample_weight is None else weights_like(sample_weight, y_true.shape, self.name)
        if self.sum is None:
            self.sum, self.squared_sum, self.total_mse, self.count = (np.zeros(y_pred.shape[1]) for _ in range(4))
        self.sum += (y_true * w).sum(axis=0)
        self.squared_sum += (y_true * y_true * w).sum(axis=0)
        self.total_mse += ((y_true - y_pred) ** 2 * w).sum(axis=0)
        self.count += w.sum(axis=0)
        self.num_samples += y_true.size

    def result(self):
        if self.sum is None:
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum / self.count
            total = self.squared_sum - self.sum * mean
            raw = 1 - self.total_mse / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            r2 = float(raw.mean())
        elif self.class_aggregation == "variance_weighted_average":
            r2 = float((total * raw).sum() / total.sum())
        else:
            r2 = raw
        n, p = self.num_samples, self.num_regressors
        if p and p < n - 1:
            r2 = 1 - (1 - r2) * (n - 1) / (n - p - 1)
        return r2

    def get_config(self):
        return {"name": self.name, "class_aggregation": self.class_aggregation, "num_regressors": self.num_regressors}
