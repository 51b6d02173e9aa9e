"""Callbacks for data-parallel training, for those who want each step explicit (Horovod's names).

fit() with a DistributedOptimizer already broadcasts the weights at the start, averages the logs
and averages BatchNorm's moving statistics at every step; these callbacks do the same things
explicitly (and harmlessly twice under fit), plus the learning-rate warmup of large-batch
training (Goyal et al., 2017). Put MetricAverage first in the list, so that the callbacks after
it see the averaged logs.

    callbacks = [dl.distributed.callbacks.BroadcastWeights(root=0),
                 dl.distributed.callbacks.MetricAverage(),
                 dl.distributed.callbacks.LearningRateWarmup(warmup_epochs=3),
                 dl.distributed.callbacks.AverageBatchNormStatistics()]
"""
from __future__ import annotations

import numbers

import numpy as np

from ..callbacks import Callback, get_learning_rate, set_learning_rate
from ..optimizers import Optimizer
from .collectives import check_same, plane
from .fit import batch_norm_statistics
from .optimizer import Exchange, broadcast_optimizer_state, broadcast_parameters
from .world import world

__all__ = ["BroadcastWeights", "MetricAverage", "LearningRateWarmup", "AverageBatchNormStatistics",
           "BroadcastGlobalVariablesCallback", "MetricAverageCallback", "LearningRateWarmupCallback"]


def _rank_arg(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name}: root must be a rank (an int >= 0), got {value!r}")
    return int(value)


class BroadcastWeights(Callback):
    """Give every process rank `root`'s weights and optimizer state when training starts.

    Horovod's BroadcastGlobalVariablesCallback. If the model is not built when training starts
    (a subclassed model without an input shape), it broadcasts after the first batch instead.

    Args:
        root: the rank whose weights everyone receives.

    Example:

    ```python
    import numpy as np
    import dlcore as dl
    model = dl.Sequential([dl.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"), verbose=0,
              callbacks=[dl.distributed.callbacks.BroadcastWeights(root=0)])
    ```
    """

    def __init__(self, root=0):
        super().__init__()
        self.root = _rank_arg("BroadcastWeights", root)
        self._done = False

    def on_train_begin(self, logs=None):
        self._done = False
        if self.model.built:
            self._broadcast()

    def on_train_batch_end(self, batch, logs=None):
        if not self._done:
            self._broadcast()

    def _broadcast(self):
        broadcast_parameters(self.model.state_dict(), root=self.root)
        opt = getattr(self.model, "optimizer", None)
        if isinstance(opt, Optimizer) and opt.built:
            broadcast_optimizer_state(opt, root=self.root)
        self._done = True


class MetricAverage(Callback):
    """Average the epoch logs (loss, metrics, val_*) over the processes, in place.

    Horovod's MetricAverageCallback; place it before the callbacks that read the logs
    (EarlyStopping, ModelCheckpoint, CSVLogger).

    Example:

    ```python
    import numpy as np
    import dlcore as dl
    model = dl.Sequential([dl.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"), epochs=2, verbose=0,
                        callbacks=[dl.distributed.callbacks.MetricAverage()])
    ```
    """

    def on_epoch_end(self, epoch, logs=None):
        w = world()
        if logs is None or w.size == 1:
            return
        keys = [k for k, v in logs.items() if isinstance(v, (numbers.Real, np.number)) and not isinstance(v, bool)]
        check_same(w, "MetricAverage: the logs", tuple(keys))
        if not keys:
            return
        values = np.array([float(logs[k]) for k in keys], np.float64)
        plane(w, "host").allreduce_(values, "sum")
        for k, v in zip(keys, (values / w.size).tolist()):
            logs[k] = v


class LearningRateWarmup(Callback):
    """Ramp the learning rate from lr / size() up to lr over the first epochs, batch by batch.

    Large global batches (size() processes x batch_size) train well with a learning rate
    scaled up by size() once training is under way, but diverge when they start with it; this
    callback starts at the single-process rate and reaches the target after `warmup_epochs`
    (Goyal et al., 2017; Horovod's LearningRateWarmupCallback): at epoch e (fractional),
    lr = target * (1 + e * (size - 1) / warmup_epochs) / size.

    Args:
        warmup_epochs: epochs over which to ramp (a number > 0).
        initial_learning_rate: the target; default: the optimizer's learning rate when training
            starts.
        steps_per_epoch: batches per epoch, for the fractional epoch; default: what fit reports.
        verbose: 1 prints (on rank 0) when the warmup ends.
        momentum_correction: when the rate changes from lr to lr', scale the momentum of a
            Keras-style SGD or RMSprop by lr' / lr (Goyal et al.'s correction: their momentum holds
            lr times the gradients). PyTorch-style optimizers apply lr after their momentum and need
            none.

    Example:

    ```python
    import numpy as np
    import dlcore as dl
    lr = 0.01 * dl.distributed.size()          # scaled with the global batch
    model = dl.Sequential([dl.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer=dl.distributed.DistributedOptimizer(dl.optimizers.SGD(learning_rate=lr)), loss="mse")
    model.fit(np.ones((8, 2), "float32"), np.ones((8, 1), "float32"), epochs=2, batch_size=4, verbose=0,
              callbacks=[dl.distributed.callbacks.LearningRateWarmup(warmup_epochs=1)])
    ```
    """

    def __init__(self, warmup_epochs=5, initial_learning_rate=None, steps_per_epoch=None, verbose=0,
                 momentum_correction=False):
        super().__init__()
        if not isinstance(momentum_correction, (bool, np.bool_)):
            raise TypeError(f"LearningRateWarmup: momentum_correction must be True or False, got "
                            f"{momentum_correction!r}")
        self.momentum_correction = bool(momentum_correction)
        if isinstance(warmup_epochs, bool) or not isinstance(warmup_epochs, numbers.Real) or not warmup_epochs > 0:
            raise ValueError(f"LearningRateWarmup: warmup_epochs must be a number > 0, got {warmup_epochs!r}")
        if initial_learning_rate is not None and (not isinstance(initial_learning_rate, numbers.Real)
                                                  or initial_learning_rate < 0):
            raise ValueError("LearningRateWarmup: initial_learning_rate must be a number >= 0 or None, got "
                             f"{initial_learning_rate!r}")
        if steps_per_epoch is not None and (isinstance(steps_per_epoch, bool) or not isinstance(
                steps_per_epoch, numbers.Integral) or steps_per_epoch < 1):
            raise ValueError(f"LearningRateWarmup: steps_per_epoch must be a positive int or None, got "
                             f"{steps_per_epoch!r}")
        self.warmup_epochs = float(warmup_epochs)
        self.initial_learning_rate = initial_learning_rate
        self.steps_per_epoch = steps_per_epoch
        self.verbose = verbose
        self.epoch = 0

    def on_train_begin(self, logs=None):
        self.target = (float(self.initial_learning_rate) if self.initial_learning_rate is not None
                       else get_learning_rate(self.model.optimizer))
        self.steps = self.steps_per_epoch or self.params.get("steps")
        if not self.steps:
            raise ValueError("LearningRateWarmup: the number of batches per epoch is unknown (a generator); give "
                             "steps_per_epoch=")
        self.finished = False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def learning_rate(self, epoch, batch):
        """The learning rate at batch `batch` of epoch `epoch`."""
        e = epoch + batch / self.steps
        n = world().size
        if e >= self.warmup_epochs:
            return self.target
        return self.target * (1.0 + e * (n - 1) / self.warmup_epochs) / n

    def on_train_batch_begin(self, batch, logs=None):
        if self.finished:
            return
        lr = self.learning_rate(self.epoch, batch)
        opt = self.model.optimizer
        old = get_learning_rate(opt)
        set_learning_rate(opt, lr)
        if self.momentum_correction and old > 0 and lr != old and getattr(opt, "api", None) == "keras":
            for slots in opt.state:
                m = slots.get("momentum")
                if m is not None:
                    m *= m.dtype.type(lr / old)
        if lr == self.target and self.epoch + batch / self.steps >= self.warmup_epochs:
            self.finished = True
            if self.verbose and world().rank == 0:
                print(f"\nEpoch {self.epoch + 1}: LearningRateWarmup done, learning rate {lr:g}.")


class AverageBatchNormStatistics(Callback):
    """Average every BatchNormalization layer's moving mean and variance over the processes.

    Each process updates the moving statistics from its own batches, so the replicas' statistics
    drift apart; this callback averages them at the end of every epoch (before the checkpoint
    callbacks that follow it) and, with every_n_batches, also every that many batches.

    Args:
        every_n_batches: also average after every this many batches (None: at epoch ends only).

    Example:

    ```python
    import numpy as np
    import dlcore as dl
    model = dl.Sequential([dl.layers.Dense(4, input_shape=(2,)), dl.layers.BatchNormalization()])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 2), "float32"), np.ones((8, 4), "float32"), verbose=0,
              callbacks=[dl.distributed.callbacks.AverageBatchNormStatistics(every_n_batches=1)])
    ```
    """

    def __init__(self, every_n_batches=None):
        super().__init__()
        if every_n_batches is not None and (isinstance(every_n_batches, bool) or not isinstance(
                every_n_batches, numbers.Integral) or every_n_batches < 1):
            raise ValueError(f"AverageBatchNormStatistics: every_n_batches must be a positive int or None, got "
                             f"{every_n_batches!r}")
        self.every_n_batches = every_n_batches
        self._exchange = Exchange("average")

    def average(self):
        """Average the statistics now (every process must call it)."""
        w = world()
        if w.size == 1:
            return
        stats = batch_norm_statistics(self.model)
        self._exchange.reduce(w, [(i, t.data, "buffer") for i, t in enumerate(stats)],
                              "AverageBatchNormStatistics", None)

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_batches and (batch + 1) % self.every_n_batches == 0:
            self.average()

    def on_epoch_end(self, epoch, logs=None):
        self.average()


# ---- Horovod's names (horovod.keras.callbacks), for programs written against it ---------------------

def _no_device(what, device):
    if device:
        raise ValueError(f"{what}: device={device!r} is a TensorFlow placement; dlcore has none (leave it out)")


class BroadcastGlobalVariablesCallback(BroadcastWeights):
    """Horovod's name for BroadcastWeights: BroadcastGlobalVariablesCallback(root_rank).

    Example:

    ```python
    import dlcore as dl
    callbacks = [dl.distributed.callbacks.BroadcastGlobalVariablesCallback(0)]
    ```
    """

    def __init__(self, root_rank=0, device=""):
        _no_device("BroadcastGlobalVariablesCallback", device)
        super().__init__(root=root_rank)


class MetricAverageCallback(MetricAverage):
    """Horovod's name for MetricAverage.

    Example:

    ```python
    import dlcore as dl
    callbacks = [dl.distributed.callbacks.MetricAverageCallback()]
    ```
    """

    def __init__(self, device=""):
        _no_device("MetricAverageCallback", device)
        super().__init__()


class LearningRateWarmupCallback(LearningRateWarmup):
    """Horovod's LearningRateWarmupCallback(initial_lr, warmup_epochs=5, momentum_correction=True,
    steps_per_epoch=None, verbose=0): LearningRateWarmup with the target rate first and the momentum
    correction on by default.

    Example:

    ```python
    import numpy as np
    import dlcore as dl
    hvd = dl.distributed
    model = dl.Sequential([dl.layers.Dense(1, input_shape=(2,))])
    opt = hvd.DistributedOptimizer(dl.optimizers.SGD(learning_rate=0.01 * hvd.size(), momentum=0.9))
    model.compile(optimizer=opt, loss="mse")
    model.fit(np.ones((8, 2), "float32"), np.ones((8, 1), "float32"), epochs=2, batch_size=4, verbose=0,
              callbacks=[hvd.callbacks.BroadcastGlobalVariablesCallback(0), hvd.callbacks.MetricAverageCallback(),
                         hvd.callbacks.LearningRateWarmupCallback(initial_lr=0.01 * hvd.size(), warmup_epochs=1)])
    ```
    """

    def __init__(self, initial_lr, warmup_epochs=5, momentum_correction=True, steps_per_epoch=None, verbose=0):
        super().__init__(warmup_epochs, initial_learning_rate=initial_lr, steps_per_epoch=steps_per_epoch,
                         verbose=verbose, momentum_correction=momentum_correction)
