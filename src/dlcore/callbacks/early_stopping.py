"""EarlyStopping: stop training when a monitored value has stopped improving."""
from __future__ import annotations

from .base import Callback, _mode_fns, _monitored


class EarlyStopping(Callback):
    """Stop training when `monitor` has not improved by min_delta for `patience` epochs.

    restore_best_weights=True puts back the weights of the best epoch when training ends —
    whether it stopped early or ran to the last epoch.

    Args:
        monitor: the log value to watch. Defaults to "val_loss".
        min_delta: the smallest change that counts as an improvement. Defaults to 0.
        patience: epochs without improvement before stopping. Defaults to 0.
        verbose: print a line when stopping / restoring. Defaults to 0.
        mode: "min", "max" or "auto" (max for accuracy-like names). Defaults to "auto".
        baseline: a value to improve on (training stops unless it is beaten). Defaults to None.
        restore_best_weights: restore the best epoch's weights at the end. Defaults to False.
        start_from_epoch: epochs to wait before watching. Defaults to 0.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    y = x @ np.ones((4, 1), "float32")
    model = dl.Sequential([dl.layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer="sgd", loss="mse")
    stop = dl.callbacks.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=50, verbose=0, callbacks=[stop])
    print(len(history.history["loss"]) <= 50)     # True
    ```
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.min_delta = min_delta
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.is_better, self._init_best = _mode_fns(mode, monitor, min_delta, "EarlyStopping")

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self._init_best if self.baseline is None else self.baseline
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "EarlyStopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()  # never restore to nothing
        self.wait += 1
        if self.is_better(current, self.best):
            self.best = current
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


