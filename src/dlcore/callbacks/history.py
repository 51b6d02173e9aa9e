"""The logging callbacks fit adds itself: History and ProgbarLogger."""
from __future__ import annotations

import sys

from ..utils import Progbar
from .base import Callback


class History(Callback):
    """Records the epoch logs: history.history['loss'] is the list of the epoch losses (fit adds one
    History to every run and returns it).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    y = x @ np.ones((4, 1), "float32")
    model = dl.Sequential([dl.layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, epochs=3, verbose=0, validation_split=0.25)
    print(sorted(history.history), len(history.history["loss"]))   # ['loss', 'val_loss'] 3
    ```
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class ProgbarLogger(Callback):
    """Prints 'Epoch i/n' and a progress bar (verbose=1) or one line per epoch (verbose=2); fit adds
    one when verbose is not 0.

    Args:
        verbose: 1 (a progress bar) or 2 (one line per epoch). Defaults to 1.
        stream: where to write. Defaults to sys.stdout.

    Example:

    ```python
    import io
    import numpy as np
    import dlcore as dl

    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    y = x @ np.ones((4, 1), "float32")
    model = dl.Sequential([dl.layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer="sgd", loss="mse")
    out = io.StringIO()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[dl.callbacks.ProgbarLogger(verbose=2, stream=out)])
    print(out.getvalue().splitlines()[0])     # Epoch 1/1
    ```
    """

    def __init__(self, verbose=1, stream=None):
        super().__init__()
        self.verbose = verbose
        self.stream = stream
        self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        stream = self.stream or sys.stdout
        if self.verbose:
            stream.write(f"Epoch {epoch + 1}/{self.params.get('epochs')}\n")
            stream.flush()
        self.bar = Progbar(self.params.get("steps"), verbose=self.verbose, stream=stream)

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is not None:
            self.bar.update(batch + 1, logs, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:
            self.bar.update(self.bar.seen, logs, finalize=True)
            self.bar = None


