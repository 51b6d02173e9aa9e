"""Keras-style models: Sequential, the functional API (Input -> layers -> Model) and subclassed models,
with compile / fit / evaluate / predict, summary(), get_weights / set_weights and save / load.

    model = dl.Sequential([dl.layers.Dense(64, activation="relu", input_shape=(20,)),
                           dl.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, batch_size=32, validation_split=0.1)
    loss, acc = model.evaluate(x_test, y_test)

    inputs = dl.Input(shape=(20,))
    h = dl.layers.Dense(64, activation="relu")(inputs)
    model = dl.Model(inputs, dl.layers.Dense(10, activation="softmax")(h))

    class MyModel(dl.Model):
        def __init__(self):
            super().__init__()
            self.hidden = dl.layers.Dense(64, activation="relu")
            self.out = dl.layers.Dense(10)
        def call(self, x, training=None):
            return self.out(self.hidden(x))

One training step is: forward under autograd, loss (weighted by sample / class weights), backward,
optimizer step. evaluate() and predict() run under no_grad() with the model in eval() mode.
"""
from __future__ import annotations

import math
import numbers
import re
import signal
import sys
import threading

import numpy as np

from . import callbacks as callbacks_module
from . import data as data_module
from .module import Module
from .tensor import Tensor, no_grad

__all__ = ["Model", "Sequential", "Input", "load_model", "model_from_config", "KerasTensor"]


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def _np(x):
    """A NumPy array from a Tensor, NumPy array or array-like (CuPy arrays are copied to the host)."""
    if isinstance(x, Tensor):
        x = x.data
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "get") and hasattr(x, "__cuda_array_interface__"):
        return x.get()
    return np.asarray(x)


def _to_tensor(x, device=None):
    """A Tensor for one batch (float64 data becomes float32), on `device` (the model's) if given."""
    if isinstance(x, Tensor):
        return x if device is None or x.device == device else x.to(device)
    a = np.asarray(x)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    return Tensor(a, device=None if device == "cpu" else device)


def _map(fn, x):
    """Apply fn to an array or to each array of a list/tuple (multi-input / multi-output)."""
    if isinstance(x, (list, tuple)):
        return [fn(v) for v in x]
    if isinstance(x, dict):
        return {k: fn(v) for k, v in x.items()}
    return fn(x)


def _first(x):
    if isinstance(x, (list, tuple)):
        return x[0]
    if isinstance(x, dict):
        return next(iter(x.values()))
    return x


def _num_samples(x) -> int:
    return len(_first(x))


def _take(x, idx):
    return _map(lambda a: a[idx], x)


def _shape_tuple(shape):
    if shape is None:
        return None
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    return tuple(None if d is None else int(d) for d in shape)


def _layer_input_shape(layer):
    """The input_shape=... a user gave a layer (Keras style), without the batch axis, or None."""
    if isinstance(layer, Model):  # a nested model knows its input shape once built
        shape = layer._build_input_shape
        if shape is None:
            pending = getattr(layer, "_pending_input_shape", None)
            return tuple(pending) if pending is not None else None
        return None if _is_multi_shape(shape) else tuple(shape[1:])
    for attr in ("input_shape_arg", "_input_shape_arg", "_input_shape", "input_shape_", "batch_input_shape",
                 "_batch_input_shape"):
        v = getattr(layer, attr, None)
        if v is not None and not callable(v):
            shape = _shape_tuple(v)
            return shape[1:] if "batch" in attr else shape
    cfg = None
    try:
        cfg = layer.get_config() if hasattr(layer, "get_config") else None
    except Exception:
        cfg = None
    if isinstance(cfg, dict):
        if cfg.get("input_shape") is not None:
            return _shape_tuple(cfg["input_shape"])
        if cfg.get("batch_input_shape") is not None:
            return _shape_tuple(cfg["batch_input_shape"])[1:]
    return None


def _output_shape(layer, input_shape):
    """Output shape of `layer` for `input_shape` (batch axis included, maybe None).

    Uses the layer's compute_output_shape; layers without one are run once on zeros.
    """
    fn = getattr(layer, "compute_output_shape", None)
    if fn is not None:
        try:
            out = fn(input_shape)
            if out is not None:
                return out if _is_multi_shape(out) else _shape_tuple(out)
        except NotImplementedError:
            pass
    return _dry_run_shape(layer, input_shape)


def _is_multi_shape(shape):
    return isinstance(shape, (list, tuple)) and len(shape) > 0 and isinstance(shape[0], (list, tuple))


def _dry_run_shape(layer, input_shape):
    def zeros(shape):
        return Tensor(np.zeros(tuple(1 if d is None else d for d in shape), np.float32))
    was_training = getattr(layer, "training", False)
    with no_grad():
        _set_mode(layer, False)
        try:
            args = [zeros(s) for s in input_shape] if _is_multi_shape(input_shape) else [zeros(input_shape)]
            out = layer(*args) if _is_multi_shape(input_shape) else layer(args[0])
        finally:
            _set_mode(layer, was_training)
    batch = input_shape[0][0] if _is_multi_shape(input_shape) else input_shape[0]
    if isinstance(out, (list, tuple)):
        return [(batch,) + tuple(o.shape[1:]) for o in out]
    return (batch,) + tuple(out.shape[1:])


def _set_mode(module, training: bool):
    if training:
        module.train()
    else:
        module.eval()


def _build_layer(layer, input_shape):
    if not getattr(layer, "built", False) and hasattr(layer, "build"):
        layer.build(input_shape)


def _count(layer):
    if hasattr(layer, "count_params"):
        try:
            return int(layer.count_params())
        except Exception:
            pass
    return int(sum(int(np.prod(p.shape)) for p in layer.parameters()))


def _count_trainable(module):
    return int(sum(int(np.prod(p.shape)) for p in module.parameters() if getattr(p, "trainable", True)
                   and getattr(p, "requires_grad", True)))


# --------------------------------------------------------------------------------------------
# The functional API: symbolic tensors and graph nodes
# --------------------------------------------------------------------------------------------

class KerasTensor:
    """A symbolic tensor: a shape (batch axis None) and the layer call that produces it.

    dl.Input(shape) makes one; calling a layer on it records a graph node and returns a new
    KerasTensor instead of computing anything. dl.Model(inputs, outputs) turns the graph into a model.
    """

    def __init__(self, shape, node=None, index=0, name=None, dtype="float32"):
        self.shape = _shape_tuple(shape)
        self.node = node      # the _Node that produced it (None for an Input)
        self.index = index    # which output of that node
        self.name = name
        self.dtype = dtype

    def __repr__(self):
        return f"<KerasTensor shape={self.shape} name={self.name!r}>"

    @property
    def ndim(self):
        return len(self.shape)


class _Node:
    """One call of a layer on symbolic inputs."""

    def __init__(self, layer, inputs, kwargs, outputs_shape):
        self.layer = layer
        self.inputs = inputs      # a KerasTensor or a list of them
        self.kwargs = kwargs
        multi = _is_multi_shape(outputs_shape)
        shapes = outputs_shape if multi else [outputs_shape]
        self.outputs = [KerasTensor(s, node=self, index=i) for i, s in enumerate(shapes)]
        self.multi_output = multi


def Input(shape=None, batch_size=None, name=None, dtype="float32", batch_shape=None):
    """A symbolic input of `shape` (without the batch axis), the start of a functional model."""
    if batch_shape is not None:
        shape = tuple(batch_shape)[1:]
        batch_size = tuple(batch_shape)[0]
    if shape is None:
        raise ValueError("Input: give shape=(...) (without the batch axis)")
    shape = _shape_tuple(shape)
    _enable_symbolic_calls()  # layer classes defined since import take part too
    return KerasTensor((batch_size,) + shape, name=name, dtype=dtype)


def _is_symbolic(args) -> bool:
    if not args:
        return False
    a = args[0]
    if isinstance(a, KerasTensor):
        return True
    return isinstance(a, (list, tuple)) and len(a) > 0 and all(isinstance(v, KerasTensor) for v in a)


def _symbolic_call(layer, args, kwargs):
    """layer(keras_tensor): build the layer for the input shape and record a graph node."""
    if len(args) != 1:
        raise ValueError(f"{type(layer).__name__}: a layer in a functional model takes one input "
                         "(or one list of inputs)")
    inputs = args[0]
    in_shape = [t.shape for t in inputs] if isinstance(inputs, (list, tuple)) else inputs.shape
    _build_layer(layer, in_shape)
    out_shape = _output_shape(layer, in_shape)
    node = _Node(layer, inputs, dict(kwargs), out_shape)
    return node.outputs if node.multi_output else node.outputs[0]


# Calling a layer on a KerasTensor records a graph node instead of computing. The functional API
# needs this at every class that defines __call__ (Module, Layer, and any user layer that overrides
# it): each such __call__ is wrapped once, and the wrapper hands plain Tensors straight through.

def _wrap_call(cls):
    original = cls.__dict__["__call__"]
    if getattr(original, "_dlcore_functional", False):
        return

    def __call__(self, *args, **kwargs):
        if _is_symbolic(args):
            return _symbolic_call(self, args, kwargs)
        return original(self, *args, **kwargs)

    __call__._dlcore_functional = True
    __call__.__doc__ = original.__doc__
    __call__.__wrapped__ = original
    cls.__call__ = __call__


def _enable_symbolic_calls():
    """Wrap __call__ of Module and of every subclass defined so far that has its own."""
    stack = [Module]
    while stack:
        cls = stack.pop()
        if "__call__" in cls.__dict__:
            _wrap_call(cls)
        stack.extend(cls.__subclasses__())


_enable_symbolic_calls()


# --------------------------------------------------------------------------------------------
# Losses, metrics and optimizers: resolving compile() arguments
# --------------------------------------------------------------------------------------------

def _losses():
    from . import losses
    return losses


def _metrics():
    from . import metrics
    return metrics


def _optimizers():
    from . import optimizers
    return optimizers


def _loss_name(loss) -> str:
    if isinstance(loss, str):
        return loss
    return getattr(loss, "name", None) or _snake(type(loss).__name__ if not callable(loss) or hasattr(loss, "get_config")
                                                 else getattr(loss, "__name__", "loss"))


class _MeanTracker:
    """A weighted running mean (the loss shown in logs: average over the batches seen)."""

    def __init__(self):
        self.total = 0.0
        self.count = 0.0

    def update(self, value, weight):
        self.total += float(value) * weight
        self.count += weight

    def result(self):
        return self.total / self.count if self.count else float("nan")

    def reset(self):
        self.total = 0.0
        self.count = 0.0


_ACCURACY_NAMES = ("accuracy", "acc")


def _metric_name(metric, fallback):
    return getattr(metric, "name", None) or fallback


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------

class Model(Module):
    """A trainable model: the functional form Model(inputs, outputs), or a subclass with call().

    Subclasses define their layers in __init__ and the forward pass in call(self, x, training=None)
    (or forward(self, x), PyTorch style).
    """

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._compiled = False
        self._compile_config = None
        self._metric_specs = []
        self._metrics_objs = None
        self._optimizer_bound = False
        self._build_input_shape = None
        self._functional = False
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("Model(inputs, outputs): give both the inputs and the outputs")
            self._init_graph(inputs, outputs)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"

    # ---- functional graph ---------------------------------------------------------------
    def _init_graph(self, inputs, outputs):
        self._multi_input = isinstance(inputs, (list, tuple))
        self._multi_output = isinstance(outputs, (list, tuple))
        self._inputs = list(inputs) if self._multi_input else [inputs]
        self._outputs = list(outputs) if self._multi_output else [outputs]
        for t in self._inputs + self._outputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model(inputs, outputs): expected KerasTensors from dl.Input and layer calls, "
                                f"got {type(t).__name__}")
        for t in self._inputs:
            if t.node is not None:
                raise ValueError("Model(inputs, outputs): inputs must come from dl.Input(...)")
        # walk back from the outputs: depth-first post-order gives an execution order
        order, seen, on_path = [], set(), set()
        input_ids = {id(t) for t in self._inputs}

        def visit(t):
            if t.node is None:
                if id(t) not in input_ids:
                    raise ValueError(f"Model(inputs, outputs): the outputs depend on an Input {t} that is not "
                                     "among the model's inputs")
                return
            node = t.node
            if id(node) in seen:
                return
            if id(node) in on_path:
                raise ValueError("Model(inputs, outputs): the graph has a cycle")
            on_path.add(id(node))
            for src in (node.inputs if isinstance(node.inputs, (list, tuple)) else [node.inputs]):
                visit(src)
            on_path.discard(id(node))
            seen.add(id(node))
            order.append(node)

        for t in self._outputs:
            visit(t)
        self._nodes = order
        layers = []
        for node in order:
            if all(node.layer is not l for l in layers):
                layers.append(node.layer)
        self.layers = layers
        self._functional = True
        shapes = [t.shape for t in self._inputs]
        self._build_input_shape = shapes if self._multi_input else shapes[0]

    def _run_graph(self, inputs, training=None):
        xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(xs) != len(self._inputs):
            raise ValueError(f"{self.name}: expected {len(self._inputs)} inputs, got {len(xs)}")
        values = {id(t): x for t, x in zip(self._inputs, xs)}
        for node in self._nodes:
            src = node.inputs
            args = [values[id(t)] for t in src] if isinstance(src, (list, tuple)) else values[id(src)]
            out = node.layer(args, **node.kwargs)
            if node.multi_output:
                for t, o in zip(node.outputs, out):
                    values[id(t)] = o
            else:
                values[id(node.outputs[0])] = out
        outs = [values[id(t)] for t in self._outputs]
        return outs if self._multi_output else outs[0]

    # ---- forward ------------------------------------------------------------------------
    def call(self, inputs, training=None):
        if self._functional:
            return self._run_graph(inputs, training)
        raise NotImplementedError(f"{type(self).__name__}: define call(self, inputs, training=None) "
                                  "(or forward) in your Model subclass")

    def forward(self, *args, **kwargs):
        return self.call(*args, **kwargs)

    def __call__(self, *args, **kwargs):
        if args and self._build_input_shape is None and not _is_symbolic(args):
            x = args[0]
            self._build_input_shape = ([(None,) + tuple(v.shape[1:]) for v in x] if isinstance(x, (list, tuple))
                                       else (None,) + tuple(x.shape[1:]))
        return super().__call__(*args, **kwargs)

    @property
    def built(self):
        if self._functional:
            return True
        b = self.__dict__.get("_built_flag")
        if b:
            return True
        return any(True for _ in self.parameters()) and all(getattr(l, "built", True) for l in self._sublayers())

    @built.setter
    def built(self, value):
        self.__dict__["_built_flag"] = bool(value)

    def _sublayers(self):
        layers = getattr(self, "layers", None)
        if isinstance(layers, list):
            return layers
        return [m for m in self.__dict__.values() if isinstance(m, Module)]

    def build(self, input_shape):
        """Create the weights for inputs of `input_shape` (batch axis first, may be None)."""
        if self._functional:
            return
        shape = _shape_tuple(input_shape) if not _is_multi_shape(input_shape) else [_shape_tuple(s) for s in input_shape]
        self._build_input_shape = shape
        if not self.built:
            _dry_run_shape(self, shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        if self._functional:
            shapes = [t.shape for t in self._outputs]
            return shapes if self._multi_output else shapes[0]
        return _dry_run_shape(self, input_shape)

    # ---- weights ------------------------------------------------------------------------
    def get_weights(self):
        """Copies of every weight (state_dict order) as NumPy arrays."""
        return [np.array(_np(v), copy=True) for v in self.state_dict().values()]

    def set_weights(self, weights):
        """Assign weights given in get_weights() order; shapes are checked before anything changes."""
        state = self.state_dict()
        weights = list(weights)
        if len(weights) != len(state):
            raise ValueError(f"{self.name}.set_weights: expected {len(state)} arrays, got {len(weights)}")
        new = {}
        for (k, cur), w in zip(state.items(), weights):
            w = _np(w)
            if tuple(w.shape) != tuple(_np(cur).shape):
                raise ValueError(f"{self.name}.set_weights: weight {k} has shape {tuple(_np(cur).shape)}, "
                                 f"got {tuple(w.shape)}")
            new[k] = np.array(w, dtype=_np(cur).dtype, copy=True)
        self.load_state_dict(new)

    def count_params(self):
        return int(sum(int(np.prod(p.shape)) for p in self.parameters()))

    # ---- compile ------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=None, **kwargs):
        """Choose the optimizer, the loss and the metrics (strings like 'adam' or objects)."""
        O, L = _optimizers(), _losses()
        self.optimizer = O.get(optimizer)
        if loss is None:
            raise ValueError("compile: give a loss, e.g. loss='mse' or loss='sparse_categorical_crossentropy'")
        if isinstance(loss, (list, dict)):
            raise ValueError("compile: one loss per model is supported (multi-output models: combine the "
                             "outputs in a custom training loop)")
        self.loss = L.get(loss)
        self._loss_name = _loss_name(loss)
        if metrics is None:
            metrics = []
        if isinstance(metrics, (str,)) or not isinstance(metrics, (list, tuple)):
            metrics = [metrics]
        self._metric_specs = list(metrics)
        self._metrics_objs = None
        self._compiled = True
        self._optimizer_bound = False
        self._compile_config = {"optimizer": optimizer, "loss": loss, "metrics": list(metrics)}
        self._make_metrics()
        self.stop_training = False

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

    def _make_metrics(self, y_true=None, y_pred=None):
        """The metric objects, made on first use ('accuracy' picks its kind from the loss or shapes)."""
        if self._metrics_objs is None:
            M = _metrics()
            objs = []
            for spec in self._metric_specs:
                m = M.get(spec, loss=self._compile_config["loss"])
                objs.append((spec if isinstance(spec, str) else _metric_name(m, _snake(type(m).__name__)), m))
            self._metrics_objs = objs
        return self._metrics_objs

    @property
    def metrics_names(self):
        return ["loss"] + [n for n, _ in self._make_metrics()]

    def _reset_metrics(self):
        for _, m in self._metrics_objs or []:
            m.reset_state()

    def _metric_results(self):
        out = {}
        for name, m in self._metrics_objs or []:
            r = m.result()
            out[name] = float(_np(r)) if not isinstance(r, float) else r
        return out

    # ---- one step -----------------------------------------------------------------------
    def _compute_loss(self, y, y_pred, sample_weight):
        """The batch loss as a scalar Tensor (sum of weighted per-sample losses / batch size)."""
        y_t = _to_tensor(y, self._device())
        if sample_weight is None:
            loss = self.loss(y_t, y_pred)
        elif isinstance(self.loss, _losses().Loss):
            sw = np.asarray(sample_weight, dtype=np.float32).reshape(-1)
            loss = self.loss(y_t, y_pred, sample_weight=sw)
        else:
            raise ValueError("sample_weight / class_weight need a dlcore Loss (a name like 'mse' or a "
                             "dl.losses.Loss object), not a plain function")
        extra = self.losses  # weight regularizers and add_loss terms
        for term in extra:
            loss = loss + term
        return loss

    def _update_metrics(self, y, y_pred, sample_weight):
        y_arr, p_arr = _np(y), _np(y_pred)
        for _, m in self._make_metrics(y_arr, p_arr):
            if sample_weight is None:
                m.update_state(y_arr, p_arr)
            else:
                m.update_state(y_arr, p_arr, sample_weight=np.asarray(sample_weight, np.float32))

    def train_step(self, x, y, sample_weight=None):
        """forward (autograd on) -> loss -> backward -> optimizer step. Returns the loss as a float."""
        dev = self._device()
        xt = _map(lambda v: _to_tensor(v, dev), x)
        y_pred = self(xt, training=True) if self._accepts_training() else self(xt)
        loss = self._compute_loss(y, y_pred, sample_weight)
        self._bind_optimizer()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        with no_grad():
            self._update_metrics(y, y_pred.detach() if isinstance(y_pred, Tensor) else y_pred, sample_weight)
        return float(loss.item())

    def test_step(self, x, y, sample_weight=None):
        dev = self._device()
        xt = _map(lambda v: _to_tensor(v, dev), x)
        y_pred = self(xt, training=False) if self._accepts_training() else self(xt)
        loss = self._compute_loss(y, y_pred, sample_weight)
        self._update_metrics(y, y_pred, sample_weight)
        return float(loss.item())

    def _accepts_training(self):
        cached = self.__dict__.get("_accepts_training_cache")
        if cached is None:
            import inspect
            try:
                params = inspect.signature(self.call if type(self).call is not Model.call or self._functional
                                           else self.forward).parameters
                cached = "training" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
            except (TypeError, ValueError):
                cached = False
            if not self._functional and type(self).call is Model.call:
                # PyTorch-style subclass with its own forward(): check forward's signature instead
                try:
                    params = inspect.signature(self.forward).parameters
                    cached = "training" in params
                except (TypeError, ValueError):
                    cached = False
            self.__dict__["_accepts_training_cache"] = cached
        return cached

    def _device(self):
        """Where the weights live ('cpu' or 'cuda:N'); batches are moved there. None before build."""
        for p in self.parameters():
            return p.device
        return None

    # ---- data plumbing ------------------------------------------------------------------
    @staticmethod
    def _unpack(batch):
        if isinstance(batch, (list, tuple)):
            if len(batch) == 2:
                return batch[0], batch[1], None
            if len(batch) == 3:
                return batch[0], batch[1], batch[2]
            if len(batch) == 1:
                return batch[0], None, None
        return batch, None, None

    def _array_batches(self, x, y, sw, batch_size, shuffle, rng=None):
        n = _num_samples(x)
        order = (rng or data_module.global_rng()).permutation(n) if shuffle else np.arange(n)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            if not shuffle:
                idx = slice(start, start + batch_size)
            yield (_take(x, idx), None if y is None else _take(y, idx), None if sw is None else sw[idx])

    def _make_epoch_source(self, x, y, sample_weight, batch_size, shuffle, steps):
        """Returns (make_iterator() -> iterator of (x, y, sw), steps per epoch or None)."""
        if isinstance(x, data_module.Dataset):
            x = data_module.DataLoader(x, batch_size=batch_size, shuffle=shuffle)
        if isinstance(x, data_module.DataLoader) or (hasattr(x, "__iter__") and hasattr(x, "__len__")
                                                     and not isinstance(x, (np.ndarray, Tensor, list, tuple, dict))):
            loader = x
            n = steps if steps is not None else len(loader)
            return (lambda: (self._unpack(b) for b in loader)), n
        if hasattr(x, "__next__") or (hasattr(x, "__iter__") and not isinstance(x, (np.ndarray, Tensor, list, tuple, dict))):
            it = iter(x)
            if steps is None:
                # a finite generator: one pass is one epoch
                cache = {"used": False}

                def once():
                    if cache["used"]:
                        raise ValueError("fit: a generator without steps_per_epoch can only feed one epoch; "
                                         "give steps_per_epoch= or use a DataLoader")
                    cache["used"] = True
                    return (self._unpack(b) for b in it)
                return once, None

            def take():
                for _ in range(steps):
                    try:
                        b = next(it)
                    except StopIteration:
                        return
                    yield self._unpack(b)
            return take, steps
        # arrays
        x = _map(_np, x)
        y = None if y is None else _map(_np, y)
        if y is not None and _num_samples(x) != _num_samples(y):
            raise ValueError(f"fit: x has {_num_samples(x)} samples but y has {_num_samples(y)}")
        sw = None if sample_weight is None else np.asarray(sample_weight, np.float32).reshape(-1)
        if sw is not None and len(sw) != _num_samples(x):
            raise ValueError(f"fit: sample_weight has {len(sw)} entries for {_num_samples(x)} samples")
        n = _num_samples(x)
        n_steps = -(-n // batch_size)
        if steps is not None:
            n_steps = min(n_steps, steps)

        def make():
            gen = self._array_batches(x, y, sw, batch_size, shuffle)
            for i, b in enumerate(gen):
                if i >= n_steps:
                    return
                yield b
        return make, n_steps

    @staticmethod
    def _class_weights(y, class_weight):
        y = _np(y)
        labels = y.argmax(axis=-1) if (y.ndim >= 2 and y.shape[-1] > 1) else y.reshape(len(y), -1)[:, 0]
        labels = np.asarray(labels).astype(np.int64)
        table = np.ones(int(max(max(class_weight) + 1, labels.max() + 1 if labels.size else 0)), np.float32)
        for k, v in class_weight.items():
            table[int(k)] = float(v)
        return table[labels]

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
        if verbose == "auto":
            verbose = 1
        if verbose not in (0, 1, 2):
            raise ValueError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split}")
        is_arrays = not (isinstance(x, (data_module.Dataset, data_module.DataLoader)) or hasattr(x, "__next__")
                         or (hasattr(x, "__iter__") and not isinstance(x, (np.ndarray, Tensor, list, tuple, dict))))
        if is_arrays and y is None:
            raise ValueError("fit: give the targets y with the arrays x")
        if validation_split and validation_data is None:
            if not is_arrays:
                raise ValueError("fit: validation_split needs array inputs; give validation_data for loaders")
            x, y = _map(_np, x), _map(_np, y)
            n = _num_samples(x)
            n_val = int(math.floor(n * validation_split))
            if n_val == 0 or n_val == n:
                raise ValueError(f"fit: validation_split={validation_split} of {n} samples leaves an empty part")
            split = n - n_val  # like Keras: the LAST samples, before shuffling
            validation_data = (_take(x, slice(split, None)), _take(y, slice(split, None)))
            if sample_weight is not None:
                sample_weight = np.asarray(sample_weight).reshape(-1)
                validation_data = validation_data + (sample_weight[split:],)
                sample_weight = sample_weight[:split]
            x, y = _take(x, slice(0, split)), _take(y, slice(0, split))
        if class_weight is not None and is_arrays:
            cw = self._class_weights(_first(y) if isinstance(y, (list, tuple)) else y, class_weight)
            sample_weight = cw if sample_weight is None else np.asarray(sample_weight, np.float32).reshape(-1) * cw
        make_batches, steps = self._make_epoch_source(x, y, sample_weight, batch_size, shuffle, steps_per_epoch)

        history = callbacks_module.History()
        cbs = list(callbacks or [])
        if verbose:
            cbs.append(callbacks_module.ProgbarLogger(verbose))
        cbs.append(history)
        cb = callbacks_module.CallbackList(cbs, model=self, epochs=epochs, steps=steps, verbose=verbose)
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
                    loss_mean = _MeanTracker()
                    cb.on_epoch_begin(epoch)
                    _set_mode(self, True)
                    seen = 0
                    for step, (xb, yb, swb) in enumerate(make_batches()):
                        if class_weight is not None and not is_arrays:
                            cw = self._class_weights(yb, class_weight)
                            swb = cw if swb is None else np.asarray(swb, np.float32).reshape(-1) * cw
                        cb.on_train_batch_begin(step)
                        n_b = _num_samples(xb)
                        loss = self.train_step(xb, yb, swb)
                        loss_mean.update(loss, n_b)
                        seen += 1
                        logs = {"loss": loss_mean.result(), **self._metric_results()}
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
                _set_mode(self, False)
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
        if verbose == "auto":
            verbose = 0
        make_batches, n_steps = self._make_epoch_source(x, y, sample_weight, batch_size, False, steps)
        was_training = self.training if hasattr(self, "training") else False
        cb = callbacks_module.CallbackList(callbacks, model=self, steps=n_steps, verbose=verbose)
        bar = None
        if verbose:
            from .utils import Progbar
            bar = Progbar(n_steps, verbose=verbose)
        self._reset_metrics()
        loss_mean = _MeanTracker()
        _set_mode(self, False)
        try:
            cb.on_test_begin()
            with no_grad():
                for step, (xb, yb, swb) in enumerate(make_batches()):
                    cb.on_test_batch_begin(step)
                    loss = self.test_step(xb, yb, swb)
                    loss_mean.update(loss, _num_samples(xb))
                    logs = {"loss": loss_mean.result(), **self._metric_results()}
                    cb.on_test_batch_end(step, logs)
                    if bar is not None:
                        bar.update(step + 1, logs, finalize=False)
            logs = {"loss": loss_mean.result(), **self._metric_results()}
            if bar is not None:
                bar.update(bar.seen, logs, finalize=True)
            cb.on_test_end(logs)
        finally:
            _set_mode(self, was_training)
        if return_dict:
            return logs
        if len(logs) == 1:
            return logs["loss"]
        return list(logs.values())

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None):
        """Outputs for x, computed in batches in eval mode without gradients; NumPy array(s)."""
        batch_size = 32 if batch_size is None else batch_size
        make_batches, n_steps = self._make_epoch_source(x, None, None, batch_size, False, steps)
        was_training = self.training if hasattr(self, "training") else False
        outs = []
        _set_mode(self, False)
        try:
            with no_grad():
                for xb, _, _ in make_batches():
                    dev = self._device()
                    out = self(_map(lambda v: _to_tensor(v, dev), xb))
                    outs.append(_map(lambda t: np.array(_np(t)), out))
        finally:
            _set_mode(self, was_training)
        if not outs:
            raise ValueError("predict: no input batches")
        if isinstance(outs[0], list):
            return [np.concatenate([o[i] for o in outs]) for i in range(len(outs[0]))]
        return np.concatenate(outs)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(_num_samples(x), 1))

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, reset_metrics=True,
                       return_dict=False):
        """One optimizer step on one batch; returns the loss (and metrics) of that batch."""
        self._require_compiled("train_on_batch")
        if reset_metrics:
            self._reset_metrics()
        x, y = _map(_np, x), _map(_np, y)
        if class_weight is not None:
            cw = self._class_weights(y, class_weight)
            sample_weight = cw if sample_weight is None else np.asarray(sample_weight, np.float32) * cw
        _set_mode(self, True)
        try:
            loss = self.train_step(x, y, sample_weight)
        finally:
            _set_mode(self, False)
        return self._batch_result(loss, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        self._require_compiled("test_on_batch")
        if reset_metrics:
            self._reset_metrics()
        _set_mode(self, False)
        with no_grad():
            loss = self.test_step(_map(_np, x), _map(_np, y), sample_weight)
        return self._batch_result(loss, return_dict)

    def _batch_result(self, loss, return_dict):
        logs = {"loss": loss, **self._metric_results()}
        if return_dict:
            return logs
        return loss if len(logs) == 1 else list(logs.values())

    # ---- summary ------------------------------------------------------------------------
    def _summary_rows(self):
        """(name, type, output shape, params) for each direct layer."""
        rows = []
        if self._functional:
            for i, t in enumerate(self._inputs):
                rows.append((t.name or ("input_layer" if i == 0 else f"input_layer_{i}"), "InputLayer", t.shape, 0))
            for node in self._nodes:
                layer = node.layer
                shape = node.outputs[0].shape if not node.multi_output else [t.shape for t in node.outputs]
                rows.append((_layer_name(layer), type(layer).__name__, shape, _count(layer)))
            return rows
        shape = self._build_input_shape
        for layer in self._sublayers():
            out = None
            if shape is not None:
                try:
                    out = _output_shape(layer, shape)
                except Exception:
                    out = None
            rows.append((_layer_name(layer), type(layer).__name__, out if out is not None else "?", _count(layer)))
            shape = out
        return rows

    def summary(self, line_length=None, print_fn=None):
        """Print a Keras-style table: layer (type), output shape, parameter count, and the totals."""
        print_fn = print_fn or print
        if not self.built:
            raise ValueError(f"{self.name}.summary: the model is not built yet; give input_shape= to the first "
                             "layer, call model.build(input_shape), or call it on data")
        rows = self._summary_rows()
        widths = [33, 26, 12]
        total = line_length or sum(widths)
        lines = [f'Model: "{self.name}"', "_" * total,
                 _row(["Layer (type)", "Output Shape", "Param #"], widths), "=" * total]
        for i, (name, typ, shape, n) in enumerate(rows):
            lines.append(_row([f"{name} ({typ})", _fmt_shape(shape), f"{n:,}"], widths))
            lines.append(("_" if i + 1 < len(rows) else "=") * total if i + 1 < len(rows) else "=" * total)
        if not rows:
            lines.append("=" * total)
        n_total = self.count_params()
        n_train = _count_trainable(self)
        lines += [f"Total params: {n_total:,}", f"Trainable params: {n_train:,}",
                  f"Non-trainable params: {n_total - n_train:,}", "_" * total]
        print_fn("\n".join(lines))

    # ---- saving -------------------------------------------------------------------------
    def save(self, filepath, overwrite=True, include_optimizer=True):
        """Write architecture, weights and optimizer state to ONE file (atomic; no pickle)."""
        from .saving import save_model
        save_model(self, filepath, include_optimizer=include_optimizer, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True):
        """Write only the weights, as a safetensors file."""
        import os
        from .saving import save_weights
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"save_weights: {filepath} exists and overwrite=False")
        save_weights(self, filepath)

    def load_weights(self, filepath):
        """Load weights from save_weights() (safetensors) or save() (model file)."""
        from .saving import load_weights
        load_weights(self, filepath)

    def get_config(self):
        if self._functional:
            return self._functional_config()
        raise NotImplementedError(f"{type(self).__name__}: a subclassed model needs its own get_config() (and "
                                  "@dlcore.saving.register_serializable) to be saved whole; or use save_weights()")

    @classmethod
    def from_config(cls, config):
        if "nodes" in config:
            return _functional_from_config(config, cls)
        return cls(**config)

    def _serialize_architecture(self):
        from .saving import serialize_layer, _registry, _jsonable
        if self._functional:
            spec = {"class_name": "Model", "config": self._functional_config()}
        else:
            if type(self).__name__ not in _registry():
                raise ValueError(f"cannot save {type(self).__name__} whole: it is a subclassed model; decorate the "
                                 "class with @dlcore.saving.register_serializable and give it get_config(), or use "
                                 "save_weights()")
            spec = serialize_layer(self)
        if self._build_input_shape is not None:
            from .saving import _shape_to_json
            spec["build_input_shape"] = _shape_to_json(self._build_input_shape)
        return _jsonable(spec, self.name)

    def _functional_config(self):
        from .saving import serialize_layer
        index = {id(l): i for i, l in enumerate(self.layers)}
        node_index = {id(n): i for i, n in enumerate(self._nodes)}
        input_index = {id(t): i for i, t in enumerate(self._inputs)}

        def ref(t):
            if t.node is None:
                return ["input", input_index[id(t)], 0]
            return ["node", node_index[id(t.node)], t.index]

        nodes = []
        for n in self._nodes:
            src = n.inputs
            nodes.append({"layer": index[id(n.layer)],
                          "inputs": [ref(t) for t in src] if isinstance(src, (list, tuple)) else ref(src),
                          "multi_input": isinstance(src, (list, tuple)),
                          "kwargs": n.kwargs})
        return {"name": self.name,
                "layers": [serialize_layer(l) for l in self.layers],
                "inputs": [list(t.shape[1:]) for t in self._inputs],
                "nodes": nodes,
                "outputs": [ref(t) for t in self._outputs],
                "multi_input": self._multi_input, "multi_output": self._multi_output}

    def _serialize_compile(self):
        if not self._compiled:
            return None
        from .saving import _jsonable

        def ident(obj):
            if isinstance(obj, str):
                return obj
            if hasattr(obj, "get_config"):
                return {"class_name": type(obj).__name__, "config": obj.get_config()}
            name = getattr(obj, "__name__", None)
            if name:
                return name
            raise ValueError(f"cannot save the compile settings: {obj!r} has no get_config()")
        cfg = self._compile_config
        opt = self.optimizer
        return _jsonable({"optimizer": ident(opt), "loss": ident(cfg["loss"]),
                          "metrics": [ident(m) for m in cfg["metrics"]]}, "compile settings")

    def _deserialize_compile(self, comp):
        if not isinstance(comp, dict):
            raise ValueError("model file: malformed compile settings")
        O, L, M = _optimizers(), _losses(), _metrics()

        def resolve(spec, module, what):
            if isinstance(spec, str):
                try:
                    return module.get(spec)
                except Exception as e:
                    raise ValueError(f"model file: unknown {what} {spec!r} ({e})") from None
            if isinstance(spec, dict) and isinstance(spec.get("class_name"), str) and isinstance(spec.get("config"), dict):
                cls = _registry_lookup(module, spec["class_name"], what)
                try:
                    return cls.from_config(spec["config"]) if hasattr(cls, "from_config") else cls(**spec["config"])
                except Exception as e:
                    raise ValueError(f"model file: cannot rebuild {what} {spec['class_name']}: {e}") from None
            raise ValueError(f"model file: malformed {what} entry {spec!r:.80}")

        optimizer = resolve(comp.get("optimizer"), O, "optimizer")
        loss = comp.get("loss")
        loss = loss if isinstance(loss, str) else resolve(loss, L, "loss")
        metrics = comp.get("metrics") or []
        if not isinstance(metrics, list):
            raise ValueError("model file: malformed metrics list")
        metrics = [m if isinstance(m, str) else resolve(m, M, "metric") for m in metrics]
        for m in metrics:
            if isinstance(m, str):
                if m not in _ACCURACY_NAMES:
                    resolve(m, M, "metric")
        self.compile(optimizer=optimizer, loss=loss, metrics=metrics)

    def _load_optimizer_state(self, state):
        if isinstance(state, dict) and state.get("state") == [] and not state.get("iterations"):
            return  # saved before the first training step: nothing to restore
        self._bind_optimizer()
        self.optimizer.load_state_dict(state)


def _registry_lookup(module, name, what):
    """A class of `module` (dlcore.losses / metrics / optimizers) by name, never an arbitrary import."""
    obj = getattr(module, name, None) if not name.startswith("_") else None
    if not isinstance(obj, type):
        raise ValueError(f"model file: unknown {what} class {name!r}")
    return obj


def _layer_name(layer):
    n = getattr(layer, "name", None)
    if isinstance(n, str) and n:
        return n
    return _snake(type(layer).__name__)


def _fmt_shape(shape):
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s) for s in shape)
    if isinstance(shape, tuple):
        return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    return str(shape)


def _row(fields, widths):
    out = ""
    for f, w in zip(fields, widths):
        f = str(f)
        out += (" " + f).ljust(w)[:max(w, len(f) + 1)] if len(f) + 1 <= w else " " + f + " "
    return out.rstrip()


def _functional_from_config(config, cls=Model):
    from .saving import deserialize_layer
    try:
        layers = [deserialize_layer(s) for s in config["layers"]]
        inputs = [Input(tuple(s)) for s in config["inputs"]]
        node_outputs = []

        def get(ref):
            kind, i, k = ref
            if kind == "input":
                return inputs[i]
            if kind == "node" and 0 <= i < len(node_outputs):
                return node_outputs[i][k]
            raise ValueError(f"bad reference {ref!r}")

        for n in config["nodes"]:
            layer = layers[n["layer"]]
            src = [get(r) for r in n["inputs"]] if n.get("multi_input") else get(n["inputs"])
            kwargs = n.get("kwargs") or {}
            if not isinstance(kwargs, dict):
                raise ValueError("bad node kwargs")
            out = layer(src, **kwargs)
            node_outputs.append(out if isinstance(out, list) else [out])
        outputs = [get(r) for r in config["outputs"]]
    except ValueError as e:
        raise ValueError(f"model file: malformed functional model ({e})") from None
    except (KeyError, IndexError, TypeError) as e:
        raise ValueError(f"model file: malformed functional model ({type(e).__name__}: {e})") from None
    model = cls(inputs if config.get("multi_input") else inputs[0],
                outputs if config.get("multi_output") else outputs[0], name=config.get("name"))
    return model


class Functional(Model):
    """The class name a functional model is saved under (an alias of Model(inputs, outputs))."""


# --------------------------------------------------------------------------------------------
# Sequential
# --------------------------------------------------------------------------------------------

class Sequential(Model):
    """A stack of layers, each feeding the next: Sequential([layer, ...]) or .add(layer).

    The first layer may carry input_shape=(...) (without the batch axis), or start with
    dl.Input(shape); otherwise the model is built on its first call. A Sequential is itself a
    layer, so models nest (an autoencoder is Sequential([encoder, decoder])).
    """

    def __init__(self, layers=None, name=None, input_shape=None):
        super().__init__(name=name)
        self.layers = []
        self._pending_input_shape = _shape_tuple(input_shape) if input_shape is not None else None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Append a layer (or a KerasTensor from dl.Input to fix the input shape)."""
        if isinstance(layer, KerasTensor):
            if self.layers:
                raise ValueError("Sequential.add: an Input can only come first")
            self._pending_input_shape = layer.shape[1:]
            return
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential.add: expected a layer (a dlcore Module), got {type(layer).__name__}")
        if not self.layers and self._pending_input_shape is None:
            shape = _layer_input_shape(layer)
            if shape is not None:
                self._pending_input_shape = shape
        self.layers.append(layer)
        self._optimizer_bound = False
        if self._pending_input_shape is not None:
            self._try_build((None,) + tuple(self._pending_input_shape))

    def pop(self):
        if not self.layers:
            raise ValueError("Sequential.pop: the model has no layers")
        self._optimizer_bound = False
        return self.layers.pop()

    def _try_build(self, input_shape):
        self._build_input_shape = input_shape
        shape = input_shape
        for layer in self.layers:
            _build_layer(layer, shape)
            shape = _output_shape(layer, shape)

    def build(self, input_shape=None):
        shape = input_shape
        if shape is None and self._pending_input_shape is not None:
            shape = (None,) + tuple(self._pending_input_shape)
        if shape is None:
            raise ValueError(f"{self.name}.build: give the input shape (with the batch axis, e.g. (None, 28, 28, 1))")
        self._try_build(_shape_tuple(shape))

    @property
    def built(self):
        return bool(self.layers) and all(getattr(l, "built", True) for l in self.layers) and \
            self._build_input_shape is not None

    @built.setter
    def built(self, value):
        pass

    def call(self, x, training=None):
        for layer in self.layers:
            x = layer(x)
        return x

    def compute_output_shape(self, input_shape):
        shape = _shape_tuple(input_shape)
        for layer in self.layers:
            shape = _output_shape(layer, shape)
        return shape

    def get_config(self):
        from .saving import serialize_layer
        return {"name": self.name, "layers": [serialize_layer(l) for l in self.layers]}

    @classmethod
    def from_config(cls, config):
        from .saving import deserialize_layer
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise ValueError("model file: a Sequential config needs a list of layers")
        model = cls([deserialize_layer(s) for s in layers], name=config.get("name"))
        return model


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

def model_from_config(spec):
    """Rebuild a model (unbuilt weights, then built for its recorded input shape) from its JSON spec."""
    from .saving import deserialize_layer
    if not isinstance(spec, dict):
        raise ValueError("model file: the architecture is missing or malformed")
    if spec.get("class_name") in ("Model", "Functional"):
        cfg = spec.get("config")
        if not isinstance(cfg, dict):
            raise ValueError("model file: malformed functional model config")
        model = _functional_from_config(cfg)
    else:
        model = deserialize_layer(spec)
        if not isinstance(model, Model):
            raise ValueError(f"model file: the top level is a {type(model).__name__}, not a model")
    shape = spec.get("build_input_shape")
    if shape is not None and not model.built:
        try:
            if _is_multi_shape(shape):
                model.build([_shape_tuple(s) for s in shape])
            else:
                model.build(_shape_tuple(shape))
        except (TypeError, ValueError) as e:
            raise ValueError(f"model file: cannot build the model for input shape {shape} ({e})") from None
    return model


def load_model(path, compile=True, custom_objects=None):
    """Load a model written by model.save(path)."""
    from .saving import load_model as _load
    return _load(path, compile=compile, custom_objects=custom_objects)


# --------------------------------------------------------------------------------------------
# Ctrl-C during fit
# --------------------------------------------------------------------------------------------

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
