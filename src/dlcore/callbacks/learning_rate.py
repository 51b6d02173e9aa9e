"""Learning-rate callbacks: LearningRateScheduler and ReduceLROnPlateau (Keras's)."""
from __future__ import annotations

import math

from .base import Callback, _mode_fns, _monitored


def get_learning_rate(optimizer) -> float:
    """The optimizer's current learning rate (Keras `learning_rate` or PyTorch `lr`)."""
    for attr in ("learning_rate", "lr"):
        if hasattr(optimizer, attr):
            v = getattr(optimizer, attr)
            return float(v.numpy() if hasattr(v, "numpy") else v)
    groups = getattr(optimizer, "param_groups", None)
    if groups:
        return float(groups[0]["lr"])
    raise AttributeError(f"{type(optimizer).__name__} has no learning rate attribute")


def set_learning_rate(optimizer, value: float) -> None:
    """Set the optimizer's learning rate: its `learning_rate` (or `lr`) attribute (a dlcore optimizer in
    PyTorch's style sets every param group's), else every param group's "lr"."""
    value = float(value)
    for attr in ("learning_rate", "lr"):
        if hasattr(optimizer, attr):
            try:
                setattr(optimizer, attr, value)
                return
            except AttributeError:
                pass
    groups = getattr(optimizer, "param_groups", None)
    if not groups:
        raise AttributeError(f"{type(optimizer).__name__}: cannot set its learning rate")
    for g in groups:
        g["lr"] = value


class LearningRateScheduler(Callback):
    """At each epoch start, set the learning rate to schedule(epoch, lr) (or schedule(epoch)), and log it
    as "learning_rate".

    Args:
        schedule: a function of (epoch, current lr) or of (epoch), returning the new rate.
        verbose: print the rate each epoch. Defaults to 0.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    y = x @ np.ones((4, 1), "float32")
    model = dl.Sequential([dl.layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer="sgd", loss="mse")
    halve = dl.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[halve])
    print(history.history["learning_rate"])   # [0.01, 0.005, 0.0025]
    ```
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = get_learning_rate(self.model.optimizer)
        try:
            new = self.schedule(epoch, lr)
        except TypeError:
            new = self.schedule(epoch)
        new = float(new)
        if not math.isfinite(new):
            raise ValueError(f"LearningRateScheduler: schedule returned {new} at epoch {epoch}")
        set_learning_rate(self.model.optimizer, new)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {new}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = get_learning_rate(self.model.optimizer)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` when `monitor` has not improved for `patience` epochs
    (Keras's callback; `dl.optim.lr_scheduler.ReduceLROnPlateau` is PyTorch's scheduler).

    Args:
        monitor: the log value to watch. Defaults to "val_loss".
        factor: the factor (< 1). Defaults to 0.1.
        patience: epochs without improvement before a reduction. Defaults to 10.
        verbose: print a line per reduction. Defaults to 0.
        mode: "min", "max" or "auto". Defaults to "auto".
        min_delta: the smallest change that counts as an improvement. Defaults to 1e-4.
        cooldown: epochs to wait after a reduction. Defaults to 0.
        min_lr: the lower bound. Defaults to 0.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    y = x @ np.ones((4, 1), "float32")
    model = dl.Sequential([dl.layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer="sgd", loss="mse")
    reduce = dl.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[reduce])
    print(history.history["learning_rate"])   # [0.01, 0.01, 0.005]: cut after epoch 2 (no gain of 10)
    ```
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1, got {factor}")
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.min_lr = min_lr
        self.is_better, self._init_best = _mode_fns(mode, monitor, min_delta, "ReduceLROnPlateau")

    def on_train_begin(self, logs=None):
        self.best = self._init_best
        self.wait = 0
        self.cooldown_counter = 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = get_learning_rate(self.model.optimizer)
        current = _monitored(logs, self.monitor, "ReduceLROnPlateau")
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.is_better(current, self.best):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = get_learning_rate(self.model.optimizer)
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    set_learning_rate(self.model.optimizer, new)
                    if self.verbose:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


