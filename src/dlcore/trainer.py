"""Trainer: compile / fit / evaluate / predict and the one-batch steps, mixed into dlcore.models.Model.

One training step is: forward under autograd, loss (weighted by sample / class weights), backward,
optimizer step. evaluate() and predict() run under no_grad() with the model in eval() mode. The
data plumbing (arrays, loaders, generators, validation split, class weights) is
dlcore.data.EpochIterator; the compiled loss and metrics are dlcore.compile_utils containers.

The class mixing Trainer in is a Module that also provides `_accepts_training()` (whether its
call / forward takes training=).
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
from . import optimizers
from .compile_utils import CompileLoss, CompileMetrics, MeanTracker
from .data import map_arrays, num_samples, to_numpy
from .saving import serialize_compile
from .tensor import Tensor, no_grad
from .utils import Progbar

__all__ = ["Trainer"]


def _to_tensor(x, device=None):
    """A Tensor for one batch (float64 data becomes float32), on `device` (the model's) if given."""
    if isinstance(x, Tensor):
        return x if device is None or x.device == device else x.to(device)
    a = np.asarray(x)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    return Tensor(a, device=None if device == "cpu" else device)


def _set_mode(model, training):
    if training:
        model.train()
    else:
        model.eval()


class Trainer:
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

    # ---- compile ------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=None, **kwargs):
        """Choose the optimizer, the loss and the metrics (strings like 'adam' or objects)."""
        optimizer_obj = optimizers.get(optimizer)
        compile_loss = CompileLoss(loss)
        compile_metrics = CompileMetrics(metrics, loss=loss)
        self.optimizer, self.loss = optimizer_obj, compile_loss.fn
        self._compile_loss, self._compile_metrics = compile_loss, compile_metrics
        self._compiled = True
        self._optimizer_bound = False
        self.stop_training = False

    def get_compile_config(self):
        """The compile settings as JSON data (what a model file stores), or None before compile()."""
        if not self._compiled:
            return None
        return serialize_compile(self.optimizer, self._compile_loss.spec, self._compile_metrics.specs)

    def load_optimizer_state(self, state):
        """Restore the optimizer's state_dict() once it holds this model's weights (loading a model file)."""
        if isinstance(state, dict) and state.get("state") == [] and not state.get("iterations"):
            return  # saved before the first training step: nothing to restore
        self._bind_optimizer()
        self.optimizer.load_state_dict(state)

    def _require_compiled(self, what):
        if not self._compiled:
            raise RuntimeError(f"{self.name}.{what}: call model.compile(optimizer=..., loss=...) first")

    def _bind_optimizer(self):
        """Give the optimizer the model's parameters (they exist only once the model is built)."""
        if self._optimizer_bound:
            return
        params = [p for p in self.parameters() if getattr(p, "requires_grad", True)]
        for p in params:
            # the update kernels write weights in place and need them C-contiguous (an initializer
            # may hand back a transposed view); fixing the layout before the optimizer holds them is safe
            if not p.data.flags.c_contiguous:
                p.data = p.xp.ascontiguousarray(p.data)
        opt = self.optimizer
        if hasattr(opt, "set_parameters"):
            opt.set_parameters(params)
        elif hasattr(opt, "build"):
            opt.build(params)
        else:
            raise TypeError(f"compile: optimizer {type(opt).__name__} cannot be attached to the model's parameters")
        self._optimizer_bound = True

    @property
    def metrics_names(self):
        return ["loss"] + (self._compile_metrics.names if self._compile_metrics else [])

    def _reset_metrics(self):
        if self._compile_metrics is not None:
            self._compile_metrics.reset_state()

    def _logs(self, loss):
        return {"loss": loss, **(self._compile_metrics.results() if self._compile_metrics else {})}

    # ---- one step -----------------------------------------------------------------------
    def _forward(self, x, training):
        xt = map_arrays(functools.partial(_to_tensor, device=self._device()), x)
        return self(xt, training=training) if self._accepts_training() else self(xt)

    def train_step(self, x, y, sample_weight=None):
        """forward (autograd on) -> loss -> backward -> optimizer step. Returns the loss as a float."""
        y_pred = self._forward(x, training=True)
        loss = self._compile_loss(_to_tensor(y, self._device()), y_pred, sample_weight, extra=self.losses)
        self._bind_optimizer()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        with no_grad():
            self._compile_metrics.update_state(y, y_pred.detach() if isinstance(y_pred, Tensor) else y_pred,
                                               sample_weight)
        return float(loss.item())

    def test_step(self, x, y, sample_weight=None):
        y_pred = self._forward(x, training=False)
        loss = self._compile_loss(_to_tensor(y, self._device()), y_pred, sample_weight, extra=self.losses)
        self._compile_metrics.update_state(y, y_pred, sample_weight)
        return float(loss.item())

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
        generator). Ctrl-C stops training after the current batch and returns the History so far.
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
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = data_module.train_validation_split(x, y, sample_weight,
                                                                                        validation_split)
        batches = data_module.EpochIterator(x, y, sample_weight, batch_size, steps_per_epoch, shuffle, class_weight)

        history = callbacks_module.History()
        cbs = list(callbacks or []) + ([callbacks_module.ProgbarLogger(verbose)] if verbose else []) + [history]
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
                    loss_mean = MeanTracker()
                    cb.on_epoch_begin(epoch)
                    self.train()
                    seen = 0
                    for step, (xb, yb, swb) in enumerate(batches):
                        cb.on_train_batch_begin(step)
                        loss_mean.update(self.train_step(xb, yb, swb), num_samples(xb))
                        seen += 1
                        logs = self._logs(loss_mean.result())
                        cb.on_train_batch_end(step, logs)
                        if self.stop_training or interrupted.set:
                            break
                    if seen == 0:
                        raise ValueError("fit: the training data produced no batch")
                    if interrupted.set:
                        break
                    epoch_logs = dict(logs)
                    if validation_data is not None and (epoch + 1) % validation_freq == 0:
                        val = self.evaluate_data(validation_data, validation_batch_size or batch_size,
                                                 validation_steps)
                        epoch_logs.update({"val_" + k: v for k, v in val.items()})
                    cb.on_epoch_end(epoch, epoch_logs)
                    logs = epoch_logs
            except KeyboardInterrupt:
                interrupted.set = True
            finally:
                self.eval()
            if interrupted.set:
                sys.stdout.write("\nTraining interrupted: stopped after the current batch; the model keeps the "
                                 "weights of the last completed step.\n")
                sys.stdout.flush()
            cb.on_train_end(logs)
        return history

    # ---- evaluate / predict -------------------------------------------------------------
    def evaluate_data(self, validation_data, batch_size, steps=None):
        """Loss and metrics (a dict) over validation data: (x, y[, sw]) arrays or a loader."""
        if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
            x, y = validation_data[0], validation_data[1]
            sw = validation_data[2] if len(validation_data) == 3 else None
            return self.evaluate(x, y, batch_size=batch_size, sample_weight=sw, verbose=0, steps=steps,
                                 return_dict=True)
        return self.evaluate(validation_data, batch_size=batch_size, verbose=0, steps=steps, return_dict=True)

    def evaluate(self, x=None, y=None, batch_size=None, verbose=0, sample_weight=None, steps=None, callbacks=None,
                 return_dict=False):
        """Loss (and metrics) over the data, in eval mode without gradients.

        Returns the loss alone when there are no metrics, else [loss, *metrics]; a dict with
        return_dict=True.
        """
        self._require_compiled("evaluate")
        batch_size = 32 if batch_size is None else batch_size
        verbose = 0 if verbose == "auto" else verbose
        batches = data_module.EpochIterator(x, y, sample_weight, batch_size, steps, what="evaluate")
        was_training = self.training
        cb = callbacks_module.CallbackList(callbacks, model=self, steps=batches.num_batches, verbose=verbose)
        bar = Progbar(batches.num_batches, verbose=verbose) if verbose else None
        self._reset_metrics()
        loss_mean = MeanTracker()
        self.eval()
        try:
            cb.on_test_begin()
            with no_grad():
                for step, (xb, yb, swb) in enumerate(batches):
                    cb.on_test_batch_begin(step)
                    loss_mean.update(self.test_step(xb, yb, swb), num_samples(xb))
                    logs = self._logs(loss_mean.result())
                    cb.on_test_batch_end(step, logs)
                    if bar is not None:
                        bar.update(step + 1, logs, finalize=False)
            if not loss_mean.count:  # a loss and metrics over no sample are undefined, not nan / 0.0
                raise ValueError("evaluate: the data holds no samples (or produced no batch); give at least one")
            logs = self._logs(loss_mean.result())
            if bar is not None:
                bar.update(bar.seen, logs, finalize=True)
            cb.on_test_end(logs)
        finally:
            _set_mode(self, was_training)
        return self._result(logs, return_dict)

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None):
        """Outputs for x, computed in batches in eval mode without gradients; NumPy array(s)."""
        batch_size = 32 if batch_size is None else batch_size
        batches = data_module.EpochIterator(x, None, None, batch_size, steps, what="predict")
        was_training = self.training
        outs = []
        self.eval()
        try:
            with no_grad():
                for xb, _, _ in batches:
                    out = self(map_arrays(functools.partial(_to_tensor, device=self._device()), xb))
                    outs.append(map_arrays(lambda t: np.array(to_numpy(t)), out))
        finally:
            _set_mode(self, was_training)
        if not outs:
            raise ValueError("predict: no input batches")
        if isinstance(outs[0], list):
            return [np.concatenate([o[i] for o in outs]) for i in range(len(outs[0]))]
        return np.concatenate(outs)

    # ---- one batch ----------------------------------------------------------------------
    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(num_samples(x), 1))

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, reset_metrics=True,
                       return_dict=False):
        """One optimizer step on one batch; returns the loss (and metrics) of that batch."""
        self._require_compiled("train_on_batch")
        if reset_metrics:
            self._reset_metrics()
        x, y = map_arrays(to_numpy, x), map_arrays(to_numpy, y)
        if class_weight is not None:
            cw = data_module.class_weights_to_sample_weights(y, class_weight)
            sample_weight = cw if sample_weight is None else np.asarray(sample_weight, np.float32) * cw
        self.train()
        try:
            loss = self.train_step(x, y, sample_weight)
        finally:
            self.eval()
        return self._result(self._logs(loss), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        self._require_compiled("test_on_batch")
        if reset_metrics:
            self._reset_metrics()
        self.eval()
        with no_grad():
            loss = self.test_step(map_arrays(to_numpy, x), map_arrays(to_numpy, y), sample_weight)
        return self._result(self._logs(loss), return_dict)

    @staticmethod
    def _result(logs, return_dict):
        if return_dict:
            return logs
        return logs["loss"] if len(logs) == 1 else list(logs.values())


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
