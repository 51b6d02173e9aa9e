"""ModelCheckpoint: save the model during training."""
from __future__ import annotations

import os

from .base import Callback, _mode_fns, _monitored


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) after every epoch, or only when `monitor` improves.

    filepath may contain {epoch} (1-based) and any log value, e.g. "ckpt-{epoch:02d}-{val_loss:.3f}.dlc".

    Args:
        filepath: where to save (a format string).
        monitor: the log value save_best_only watches. Defaults to "val_loss".
        verbose: print a line per save. Defaults to 0.
        save_best_only: save only when monitor improves. Defaults to False.
        save_weights_only: save the weights only (model.save_weights). Defaults to False.
        mode: "min", "max" or "auto". Defaults to "auto".
        save_freq: only "epoch" is supported.
        initial_value_threshold: the value the first save must beat. Defaults to None.

    Example:

    ```python
    import os
    import tempfile
    import numpy as np
    import dlcore as dl

    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    y = x @ np.ones((4, 1), "float32")
    model = dl.Sequential([dl.layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer="sgd", loss="mse")
    path = os.path.join(tempfile.mkdtemp(), "best.dlc")
    checkpoint = dl.callbacks.ModelCheckpoint(path, monitor="loss", save_best_only=True)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[checkpoint])
    print(os.path.exists(path))         # True
    ```
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        if save_freq != "epoch":
            raise ValueError(f"ModelCheckpoint: only save_freq='epoch' is supported, got {save_freq!r}")
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.is_better, best = _mode_fns(mode, monitor, 0.0, "ModelCheckpoint")
        self.best = best if initial_value_threshold is None else initial_value_threshold

    def _path(self, epoch, logs):
        try:
            return self.filepath.format(epoch=epoch + 1, **(logs or {}))
        except KeyError as e:
            raise KeyError(f"ModelCheckpoint: filepath {self.filepath!r} names {e} which is not in the "
                           f"logs (available: epoch, {', '.join(sorted(logs or {}))})") from None

    def on_epoch_end(self, epoch, logs=None):
        path = self._path(epoch, logs)
        if self.save_best_only:
            current = _monitored(logs, self.monitor, "ModelCheckpoint")
            if current is None or not self.is_better(current, self.best):
                return
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, "
                      f"saving model to {path}")
            self.best = current
        elif self.verbose:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


