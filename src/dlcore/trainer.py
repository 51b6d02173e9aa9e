"""Trainer: compile / fit / evaluate / predict and the one-batch steps, mixed into dlcore.models.Model.

One training step is: forward under autograd with training=True, loss (weighted by sample / class
weights and the loss weights of several outputs, masked time steps left out), backward, optimizer
step on the trainable weights. evaluate() and predict() run under no_grad() with training=False.
None of them changes the mode a user set with .train() / .eval(): the training flag reaches every
layer through the call (dlcore.call_context). The data plumbing (arrays, loaders, generators,
validation split, class weights) is dlcore.data.EpochIterator; the compiled loss and metrics are
dlcore.compile_utils containers.

The class mixing Trainer in is a Module (parameters(), __call__ with training=) that may have
`output_names` (a functional model's).

Where the rest is: compile() and the compiled losses, metrics, optimizer and logs in
dlcore.trainer_compile; evaluate(), predict() and the one-batch methods in dlcore.trainer_eval. This
module keeps the one-batch steps and fit().
"""
from __future__ import annotations

import functools
import numbers
import signal
import sys
import threading

import numpy as np

from . import callbacks as callbacks_module
from . import data as data_module
from .call_context import get_mask
from .data import map_arrays, num_samples
from .distributed import fit as distributed_fit
from .tensor import Tensor, no_grad
from .trainer_compile import CompileMixin, _as_list
from .trainer_eval import EvaluateMixin

__all__ = ["Trainer"]


def _to_tensor(x, device=None):
    """A Tensor for one batch (float64 data becomes float32), on `device` (the model's) if given."""
    if isinstance(x, Tensor):
        return x if device is None or x.device == device else x.to(device)
    a = np.asarray(x)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    return Tensor(a, device=None if device == "cpu" else device)


def _validation_freq(freq):
    """Keras's validation_freq: an int n >= 1 (validate after every n-th epoch), or a list of the epochs
    (counted from 1) to validate after; returned as an int or a frozenset."""
    if isinstance(freq, (list, tuple)):
        if not all(isinstance(e, numbers.Integral) and not isinstance(e, bool) and e >= 1 for e in freq):
            raise ValueError(f"fit: 'validation_freq' given as a list must hold epoch numbers >= 1 (counted from "
                             f"1), got {freq!r}")
        return frozenset(int(e) for e in freq)
    if isinstance(freq, bool) or not isinstance(freq, numbers.Integral):
        raise TypeError(f"fit: 'validation_freq' must be an int (validate every n epochs) or a list of epochs "
                        f"(counted from 1), got {type(freq).__name__} {freq!r}")
    if freq < 1:
        raise ValueError(f"fit: 'validation_freq' must be >= 1, got {freq!r}")
    return int(freq)


def _validates_after(epoch, freq):
    """Whether epoch (counted from 0) is followed by validation under _validation_freq's `freq`."""
    return epoch + 1 in freq if isinstance(freq, frozenset) else (epoch + 1) % freq == 0


class Trainer(CompileMixin, EvaluateMixin):
    """compile(), fit(), evaluate(), predict(), train_on_batch(), test_on_batch(), predict_on_batch()."""

    def __init__(self):
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._compiled = False
        self._compile_loss = None
        self._compile_metrics = None
        self._optimizer_bound = False

    # ---- one step -----------------------------------------------------------------------
    def _forward(self, x, training):
        xt = map_arrays(functools.partial(_to_tensor, device=self._device()), x)
        return self(xt, training=training)

    def _loss_and_metrics_inputs(self, x, y, training):
        y_pred = self._forward(x, training=training)
        names = None
        if isinstance(y_pred, dict):  # outputs by name (Keras): in the order of the sorted names (output_names)
            names = sorted(y_pred)
            y_pred = [y_pred[n] for n in names] if len(names) > 1 else y_pred[names[0]]
        self._build_compiled(y_pred, names)
        y = self._targets(y)
        y_t = map_arrays(functools.partial(_to_tensor, device=self._device()), y) if isinstance(y, (list, tuple)) \
            else _to_tensor(y, self._device())
        return y, y_t, y_pred

    def train_step(self, x, y, sample_weight=None):
        """forward (training=True, autograd on) -> loss -> backward -> optimizer step on the trainable
        weights. Returns (loss, {per-output loss: value}) as floats."""
        y, y_t, y_pred = self._loss_and_metrics_inputs(x, y, training=True)
        loss, parts = self._compile_loss(y_t, y_pred, sample_weight, extra=self.losses)
        trainable = self._bind_optimizer()
        self.optimizer.zero_grad()
        loss.backward()
        for p in self.optimizer.params:  # frozen since the optimizer got them: not updated
            if id(p) not in trainable:
                p.grad = None
        self.optimizer.step()
        preds = _as_list(y_pred)
        masks = [get_mask(p) for p in preds]
        with no_grad():
            detached = [p.detach() if isinstance(p, Tensor) else p for p in preds]
            self._compile_metrics.update_state(y, detached if isinstance(y_pred, (list, tuple)) else detached[0],
                                               sample_weight, masks=masks)
        return float(loss.item()), parts

    def test_step(self, x, y, sample_weight=None):
        """forward (training=False) -> loss; updates the metrics. Returns (loss, {per-output loss})."""
        y, y_t, y_pred = self._loss_and_metrics_inputs(x, y, training=False)
        loss, parts = self._compile_loss(y_t, y_pred, sample_weight, extra=self.losses)
        masks = [get_mask(p) for p in _as_list(y_pred)]
        self._compile_metrics.update_state(y, y_pred, sample_weight, masks=masks)
        return float(loss.item()), parts

    def _device(self):
        """Where the weights live ('cpu' or 'cuda:N'); batches are moved there. None before build."""
        for p in self.parameters():
            return p.device
        return None

    # ---- fit ----------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for `epochs` epochs; returns a History (history.history['loss'], ['val_loss'], ...).

        x, y: arrays (or lists of arrays for several inputs), or x alone as a DataLoader, Dataset or
        generator of (x, y) / (x, y, sample_weight) batches (then give steps_per_epoch for an endless
        generator). validation_freq: validate after every n-th epoch (an int), or after the epochs a
        list names (counted from 1), as Keras. Ctrl-C stops training after the current batch and returns
        the History so far.
        """
        self._require_compiled("fit")
        if x is None:
            raise ValueError("fit: give the training data x (and y)")
        batch_size = 32 if batch_size is None else batch_size
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"fit: batch_size must be a positive int, got {batch_size!r}")
        verbose = 1 if verbose == "auto" else verbose
        if verbose not in (0, 1, 2):
            raise ValueError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split}")
        if data_module.is_array_data(x) and y is None:
            raise ValueError("fit: give the targets y with the arrays x")
        validation_freq = _validation_freq(validation_freq)
        # the hooks of data-parallel training (dlcore.distributed.fit): no-ops unless the optimizer is distributed
        dist = distributed_fit.session(self, x)
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = data_module.train_validation_split(x, y, sample_weight,
                                                                                        validation_split)
        batches = dist.epoch_iterator(x, y, sample_weight, batch_size, steps_per_epoch, shuffle, class_weight)

        history = callbacks_module.History()
        cbs = list(callbacks or []) + ([callbacks_module.ProgbarLogger(verbose)] if verbose else []) + [history]
        cbs = dist.callbacks(cbs)
        cb = callbacks_module.CallbackList(cbs, model=self, epochs=epochs, steps=batches.num_batches, verbose=verbose)
        self.history = history
        self.stop_training = False
        interrupted = _InterruptFlag()
        logs = {}
        with interrupted:
            try:
                cb.on_train_begin()
                for epoch in range(initial_epoch, epochs):
                    if self.stop_training or interrupted.set:
                        break
                    self._reset_metrics()
                    cb.on_epoch_begin(epoch)
                    seen = 0
                    for step, (xb, yb, swb) in enumerate(batches):
                        cb.on_train_batch_begin(step)
                        self._track_loss(*self.train_step(xb, yb, swb), num_samples(xb))
                        seen += 1
                        logs = dist.logs(self._logs())
                        cb.on_train_batch_end(step, logs)
                        self.stop_training, interrupted.set = dist.stop(self.stop_training, interrupted.set)
                        if self.stop_training or interrupted.set:
                            break
                    if seen == 0:
                        raise ValueError("fit: the training data produced no batch")
                    if interrupted.set:
                        break
                    epoch_logs = dict(logs)
                    if validation_data is not None and _validates_after(epoch, validation_freq):
                        val = dist.evaluate(self, validation_data, validation_batch_size or batch_size,
                                            validation_steps)
                        epoch_logs.update({"val_" + k: v for k, v in val.items()})
                    cb.on_epoch_end(epoch, epoch_logs)
                    self.stop_training, interrupted.set = dist.stop(self.stop_training, interrupted.set)
                    logs = epoch_logs
            except KeyboardInterrupt:
                interrupted.set = True
            if interrupted.set:
                sys.stdout.write("\nTraining interrupted: stopped after the current batch; the model keeps the "
                                 "weights of the last completed step.\n")
                sys.stdout.flush()
            cb.on_train_end(logs)
        return history


class _InterruptFlag:
    """While active (main thread only), the first Ctrl-C sets .set instead of raising, so fit() stops
    cleanly after the current batch; a second Ctrl-C raises KeyboardInterrupt as usual."""

    def __init__(self):
        self.set = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.set:
            raise KeyboardInterrupt
        self.set = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._handler)
            except (ValueError, OSError):
                self._previous = None
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False
