"""evaluate(), predict() and the one-batch methods of a Model (a mixin of dlcore.trainer.Trainer).

`EvaluateMixin` holds `evaluate()` (and `evaluate_data()`, fit()'s validation), `predict()`,
`train_on_batch()`, `test_on_batch()` and `predict_on_batch()`; they run the one-batch steps of
dlcore.trainer (`train_step`, `test_step`, `_forward`) under no_grad() where no gradient is needed.
"""
from __future__ import annotations

import numpy as np

from . import callbacks as callbacks_module
from . import data as data_module
from .compile_utils import MeanTracker
from .data import map_arrays, num_samples, to_numpy
from .distributed.fit import progress_verbose
from .tensor import no_grad
from .utils import Progbar

__all__ = ["EvaluateMixin"]


class EvaluateMixin:
    """evaluate, predict, train_on_batch, test_on_batch, predict_on_batch; mixed into `Trainer`."""

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

        verbose: 0 silent, 1 a progress bar, 2 one line ("auto", the default, is 1, as Keras); with a
        DistributedOptimizer only rank 0 prints, as in fit.
        Returns the loss alone when there are no metrics, else [loss, *metrics]; a dict with
        return_dict=True.
        """
        self._require_compiled("evaluate")
        batch_size = 32 if batch_size is None else batch_size
        verbose = 1 if verbose == "auto" else verbose
        if verbose not in (0, 1, 2):
            raise ValueError(f"evaluate: verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
        verbose = progress_verbose(self, verbose)
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

        verbose: 0 silent, 1 a progress bar, 2 one line ("auto" is 1; only rank 0 prints with a
        DistributedOptimizer). callbacks get
        on_predict_begin / on_predict_batch_begin / on_predict_batch_end (logs {"outputs": ...}) /
        on_predict_end, as in Keras.
        """
        batch_size = 32 if batch_size is None else batch_size
        verbose = 1 if verbose == "auto" else verbose
        if verbose not in (0, 1, 2):
            raise ValueError(f"predict: verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
        verbose = progress_verbose(self, verbose)
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
