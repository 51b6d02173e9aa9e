"""The callback base class, the list fit drives, and the helpers of the monitoring callbacks."""
from __future__ import annotations

import math
import warnings


class Callback:
    """Base class of the callbacks: override the hooks you need.

    fit / evaluate / predict call on_train_begin / on_epoch_begin / on_train_batch_begin /
    on_train_batch_end / on_epoch_end / on_train_end (and the test_ / predict_ hooks). Every hook
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
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


class CallbackList(Callback):
    """Calls each hook on every callback in order (what fit uses to drive the callbacks given to it).

    Args:
        callbacks: the callbacks.
        model: the model, given to every callback (set_model).
        **params: the run's parameters (epochs, steps, verbose), given to every callback (set_params).

    Example:

    ```python
    import dlcore as dl

    history = dl.callbacks.History()
    callbacks = dl.callbacks.CallbackList([history], epochs=1, steps=1, verbose=0)
    callbacks.on_train_begin()
    callbacks.on_epoch_end(0, {"loss": 0.5})
    print(history.history)              # {'loss': [0.5]}
    ```
    """

    def __init__(self, callbacks=None, model=None, **params):
        super().__init__()
        self.callbacks = list(callbacks or [])
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, cb):
        self.callbacks.append(cb)

    def set_model(self, model):
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def _call(self, name, *args):
        for cb in self.callbacks:
            getattr(cb, name)(*args)


for _hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin",
              "on_predict_end"):
    setattr(CallbackList, _hook, (lambda name: lambda self, logs=None: self._call(name, logs))(_hook))
for _hook in ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end",
              "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end"):
    setattr(CallbackList, _hook, (lambda name: lambda self, i, logs=None: self._call(name, i, logs))(_hook))


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


