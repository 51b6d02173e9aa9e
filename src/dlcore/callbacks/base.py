"""The callback base class and the helpers of the monitoring callbacks."""
from __future__ import annotations

import math
import warnings


class Callback:
    """Base class of the callbacks: override the hooks you need.

    fit / evaluate / predict call on_train_begin / on_epoch_begin / on_train_batch_begin /
    on_train_batch_end / on_epoch_end / on_train_end (and the test_ / predict_ hooks). As in Keras,
    on_batch_begin / on_batch_end are aliases of on_train_batch_begin / on_train_batch_end: the
    default on_train_batch_* calls them, so an override of either runs. Every hook
    gets `logs`, a dict of floats (maybe empty): per batch the running averages of the loss and the
    metrics, per epoch the epoch's averages plus the val_* values. `self.model` is the model being
    trained (set by fit), `self.params` {'epochs', 'steps', 'verbose'}.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    y = x @ np.ones((4, 1), "float32")
    model = dl.Sequential([dl.layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer="sgd", loss="mse")

    class CountBatches(dl.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1

    counter = CountBatches()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[counter])
    print(counter.batches)              # 8: two epochs of four batches
    ```
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)  # Keras's alias (overriding this one replaces it)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


def _mode_fns(mode, monitor, min_delta, name):
    """(is_better(current, best), initial best) for mode 'min' / 'max' / 'auto'."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{name}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        mode = "max" if any(s in monitor for s in ("acc", "auc", "precision", "recall", "f1")) else "min"
    delta = abs(min_delta)
    if mode == "min":
        return (lambda cur, best: cur < best - delta), math.inf
    return (lambda cur, best: cur > best + delta), -math.inf


def _monitored(logs, monitor, name):
    value = (logs or {}).get(monitor)
    if value is None:
        warnings.warn(f"{name}: metric {monitor!r} is not in the logs (available: {sorted(logs or {})}); "
                      "skipping", RuntimeWarning, stacklevel=3)
    return value


