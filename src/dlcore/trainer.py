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
from .call_context import get_mask
from .compile_utils import CompileLoss, CompileMetrics, MeanTracker
from .data import map_arrays, num_samples, to_numpy
from .distributed import fit as distributed_fit
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


def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


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
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=None, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Choose the optimizer, the loss(es) and the metrics (Keras).

        Args:
            optimizer: a name ('adam') or an optimizer object.
            loss: a name, a dl.losses.Loss or a function; for a model with several outputs, a list
                with one per output or a dict by output name (`model.output_names`).
            loss_weights: a number (one output), a list or a dict by output name: the total loss is
                the weighted sum of the outputs' losses.
            metrics: a list of metrics; several outputs: a list with one entry per output or a dict
                by output name. They ignore sample weights.
            weighted_metrics: like `metrics`, weighted by `sample_weight` / `class_weight`.
            run_eagerly, jit_compile: execution hints of Keras's compiled backends. dlcore always
                runs eagerly, which gives the same results; any value is accepted.
            steps_per_execution: 1 only (dlcore runs one batch per step; more would change when
                callbacks run, so it is refused).
            auto_scale_loss: accepted (True or False): it scales losses for float16 training, which
                dlcore does not do, so it changes nothing, as in Keras without mixed precision.
        """
        if steps_per_execution != 1:
            raise ValueError(f"compile: steps_per_execution={steps_per_execution!r} is not supported (dlcore runs "
                             f"one batch per step, and callbacks after every batch); use 1")
        if jit_compile not in (True, False, "auto"):
            raise ValueError(f"compile: 'jit_compile' must be True, False or 'auto', got {jit_compile!r}")
        if not isinstance(auto_scale_loss, bool):
            raise TypeError(f"compile: 'auto_scale_loss' must be a bool, got {auto_scale_loss!r}")
        if run_eagerly not in (None, True, False):
            raise TypeError(f"compile: 'run_eagerly' must be a bool or None, got {run_eagerly!r}")
        optimizer_obj = optimizers.get(optimizer)
        compile_loss = CompileLoss(loss, loss_weights)
        compile_metrics = CompileMetrics(metrics, loss=loss, weighted_specs=weighted_metrics)
        names = list(getattr(self, "output_names", None) or [])
        if names:
            compile_loss.build(names)
            compile_metrics.build(names)
        self.optimizer, self.loss = optimizer_obj, compile_loss.fn
        self._compile_loss, self._compile_metrics = compile_loss, compile_metrics
        self._compiled = True
        self._optimizer_bound = False
        self.stop_training = False

    def _build_compiled(self, y_pred, names=None):
        """Resolve the per-output losses and metrics on the first batch (models without output_names);
        `names`: the keys of outputs given as a dict (a subclassed model's call may return one)."""
        if self._compile_loss.output_names is not None:
            n = len(self._compile_loss.output_names)
            if n == len(_as_list(y_pred)) or (n == 1 and not isinstance(y_pred, (list, tuple))):
                return
        preds = _as_list(y_pred)
        names = list(names or getattr(self, "output_names", None) or [])
        if len(names) != len(preds):
            names = ["output"] if len(preds) == 1 else [f"output_{i}" for i in range(len(preds))]
        self._compile_loss.build(names)
        self._compile_metrics.build(names)

    def _targets(self, y):
        """y as a list in output order when it is a dict by output name (several outputs)."""
        if not isinstance(y, dict):
            return y
        names = self._compile_loss.output_names or list(getattr(self, "output_names", None) or [])
        unknown = [k for k in y if k not in names]
        if unknown or not names:
            raise ValueError(f"{self.name}: y is a dict with keys {sorted(y)}, but the model's outputs are {names}")
        missing = [n for n in names if n not in y]
        for n in missing:
            if self._compile_loss.fns is not None and self._compile_loss.fns[names.index(n)] is not None:
                raise ValueError(f"{self.name}: y has no target for output '{n}', which has a loss")
        return [y.get(n) for n in names] if len(names) > 1 else y[names[0]]

    def get_compile_config(self):
        """The compile settings as JSON data (what a model file stores), or None before compile()."""
        if not self._compiled:
            return None
        return serialize_compile(self.optimizer, self._compile_loss.spec, self._compile_metrics.specs,
                                 loss_weights=self._compile_loss.weights_spec,
                                 weighted_metrics=self._compile_metrics.weighted_specs)

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
        """Give the optimizer the model's trainable parameters (they exist only once the model is built).

        Checked at every step: a layer frozen (trainable = False) since the last step is skipped by
        the optimizer, one unfrozen is added to it.
        """
        params = [p for p in self.parameters() if getattr(p, "requires_grad", True)]
        ids = frozenset(id(p) for p in params)
        if self._optimizer_bound and ids == self.__dict__.get("_bound_ids"):
            return ids
        self.__dict__["_bound_ids"] = ids
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
        return ids

    @property
    def metrics_names(self):
        names = ["loss"]
        if self._compile_loss is not None:
            names += self._compile_loss.names
        return names + (self._compile_metrics.names if self._compile_metrics else [])

    def _reset_metrics(self):
        if self._compile_metrics is not None:
            self._compile_metrics.reset_state()
        self._loss_means = {}

    def _track_loss(self, loss, parts, n):
        means = self.__dict__.setdefault("_loss_means", {})
        for name, value in (("loss", loss), *parts.items()):
            means.setdefault(name, MeanTracker()).update(value, n)

    def _logs(self):
        means = self.__dict__.get("_loss_means") or {}
        logs = {name: m.result() for name, m in means.items()}
        logs.setdefault("loss", float("nan"))
        return {**logs, **(self._compile_metrics.results() if self._compile_metrics else {})}

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

    # ---- evaluate / predict -------------------------------------------------------------
    def evaluate_data(self, validation_data, batch_size, steps=None):
        """Loss and metrics (a dict) over validation data: (x, y[, sw]) arrays or a loader."""
        if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
            x, y = validation_data[0], validation_data[1]
            sw = validation_data[2] if len(validation_data) == 3 else None
            return self.evaluate(x, y, batch_size=batch_size, sample_weight=sw, verbose=0, steps=steps,
                                 return_dict=True)
        return self.evaluate(validation_data, batch_size=batch_size, verbose=0, steps=steps, return_dict=True)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Loss (and metrics) over the data, in eval mode without gradients.

        verbose: 0 silent, 1 a progress bar, 2 one line ("auto", the default, is 1, as Keras).
        Returns the loss alone when there are no metrics, else [loss, *metrics]; a dict with
        return_dict=True.
        """
        self._require_compiled("evaluate")
        batch_size = 32 if batch_size is None else batch_size
        verbose = 1 if verbose == "auto" else verbose
        if verbose not in (0, 1, 2):
            raise ValueError(f"evaluate: verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
        batches = data_module.EpochIterator(x, y, sample_weight, batch_size, steps, what="evaluate")
        cb = callbacks_module.CallbackList(callbacks, model=self, steps=batches.num_batches, verbose=verbose)
        bar = Progbar(batches.num_batches, verbose=verbose) if verbose else None
        self._reset_metrics()
        cb.on_test_begin()
        with no_grad():
            for step, (xb, yb, swb) in enumerate(batches):
                cb.on_test_batch_begin(step)
                self._track_loss(*self.test_step(xb, yb, swb), num_samples(xb))
                logs = self._logs()
                cb.on_test_batch_end(step, logs)
                if bar is not None:
                    bar.update(step + 1, logs, finalize=False)
        if not (self.__dict__.get("_loss_means") or {}).get("loss", MeanTracker()).count:
            # a loss and metrics over no sample are undefined, not nan / 0.0
            raise ValueError("evaluate: the data holds no samples (or produced no batch); give at least one")
        logs = self._logs()
        if bar is not None:
            bar.update(bar.seen, logs, finalize=True)
        cb.on_test_end(logs)
        return self._result(logs, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for x, computed in batches with training=False without gradients; NumPy array(s): one,
        a list, or a dict by output name (a model built with a dict of outputs).

        verbose: 0 silent, 1 a progress bar, 2 one line ("auto" is 1). callbacks get
        on_predict_begin / on_predict_batch_begin / on_predict_batch_end (logs {"outputs": ...}) /
        on_predict_end, as in Keras.
        """
        batch_size = 32 if batch_size is None else batch_size
        verbose = 1 if verbose == "auto" else verbose
        if verbose not in (0, 1, 2):
            raise ValueError(f"predict: verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
        batches = data_module.EpochIterator(x, None, None, batch_size, steps, what="predict")
        cb = callbacks_module.CallbackList(callbacks, model=self, steps=batches.num_batches, verbose=verbose)
        bar = Progbar(batches.num_batches, verbose=verbose) if verbose else None
        outs = []
        cb.on_predict_begin()
        with no_grad():
            for step, (xb, _, _) in enumerate(batches):
                cb.on_predict_batch_begin(step)
                out = self._forward(xb, training=False)
                outs.append(map_arrays(lambda t: np.array(to_numpy(t)), out))
                cb.on_predict_batch_end(step, {"outputs": outs[-1]})
                if bar is not None:
                    bar.update(step + 1, None, finalize=False)
        if bar is not None:
            bar.update(bar.seen, None, finalize=True)
        cb.on_predict_end()
        if not outs:
            raise ValueError("predict: no input batches")
        if isinstance(outs[0], dict):  # a model built with a dict of outputs
            return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}
        if isinstance(outs[0], list):
            return [np.concatenate([o[i] for o in outs]) for i in range(len(outs[0]))]
        return np.concatenate(outs)

    # ---- one batch ----------------------------------------------------------------------
    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(num_samples(x), 1), verbose=0)

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
        self._loss_means = {}  # the loss of this batch
        self._track_loss(*self.train_step(x, y, sample_weight), 1)
        return self._result(self._logs(), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        self._require_compiled("test_on_batch")
        if reset_metrics:
            self._reset_metrics()
        self._loss_means = {}
        with no_grad():
            self._track_loss(*self.test_step(map_arrays(to_numpy, x), map_arrays(to_numpy, y), sample_weight), 1)
        return self._result(self._logs(), return_dict)

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
