"""The compile step of a Model: `compile()` and the state it leaves (a mixin of dlcore.trainer.Trainer).

`CompileMixin` holds `compile()`, the per-output losses and metrics resolved on the first batch,
targets given by output name, the compile settings a model file stores (`get_compile_config`), the
optimizer bound to the model's trainable weights (and its state restored from a file), and the
running loss means and logs that fit(), evaluate() and the one-batch methods report. The loss and
metric containers themselves are dlcore.compile_utils.
"""
from __future__ import annotations

from . import optimizers
from .compile_utils import CompileLoss, CompileMetrics, MeanTracker
from .saving import serialize_compile

__all__ = ["CompileMixin"]


def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


class CompileMixin:
    """compile(), the compiled losses and metrics, the bound optimizer and the logs; mixed into `Trainer`."""

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
