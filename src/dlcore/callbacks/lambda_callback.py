"""TerminateOnNaN and LambdaCallback."""
from __future__ import annotations

import numpy as np

from .base import Callback


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    y = x @ np.ones((4, 1), "float32")
    model = dl.Sequential([dl.layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y * np.nan, epochs=5, verbose=0, callbacks=[dl.callbacks.TerminateOnNaN()])
    # the callback prints "Batch 0: invalid loss, terminating training"
    print(len(history.history.get("loss", [])) < 5)   # True
    ```
    """

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(f"Batch {batch}: invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions: LambdaCallback(on_epoch_end=lambda epoch, logs: ...).

    Args:
        on_epoch_begin, on_epoch_end: functions of (epoch, logs).
        on_train_begin, on_train_end: functions of (logs).
        on_train_batch_begin, on_train_batch_end: functions of (batch, logs).
        on_batch_begin, on_batch_end: functions of (batch, logs), Keras's aliases of the two above
            (called by them unless those are given too).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    y = x @ np.ones((4, 1), "float32")
    model = dl.Sequential([dl.layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer="sgd", loss="mse")
    losses = []
    log = dl.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
    model.fit(x, y, epochs=2, verbose=0, callbacks=[log])
    print(len(losses))                  # 2
    ```
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, on_batch_begin=None, on_batch_end=None):
        super().__init__()
        # on_batch_* are Keras's aliases: the default on_train_batch_* calls them (Callback)
        fns = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                   on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                   on_train_batch_end=on_train_batch_end, on_batch_begin=on_batch_begin, on_batch_end=on_batch_end)
        for name, fn in fns.items():
            if fn is not None:
                setattr(self, name, fn)
