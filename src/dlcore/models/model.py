"""Model: a Module that trains (dlcore.trainer.Trainer), built functionally or by subclassing.

    model = dl.Model(inputs, outputs)   # functional: a dlcore.graph.Graph from dl.Input to the outputs

    class Net(dl.Model):                # subclassed: layers in __init__, the forward pass in call()
        def __init__(self):
            super().__init__()
            self.hidden = dl.layers.Dense(16, activation="relu")
            self.out = dl.layers.Dense(3)
        def call(self, x, training=None):
            return self.out(self.hidden(x))

What is the model's own lives here: the forward pass (graph run or call / forward), building,
weights as NumPy arrays, and the doors to summary (dlcore.summary_utils) and saving (dlcore.saving).
"""
from __future__ import annotations

import inspect

import numpy as np

from .. import saving, summary_utils
from ..data import to_numpy
from ..graph import Graph, dry_run_shape, is_multi_shape, shape_tuple
from ..module import Module
from ..trainer import Trainer

__all__ = ["Model", "Functional"]


class Model(Trainer, Module):
    """A trainable model: the functional form Model(inputs, outputs), or a subclass with call().

    Subclasses define their layers in __init__ and the forward pass in call(self, x, training=None)
    (or forward(self, x), PyTorch style).
    """

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        Module.__init__(self, name=name, **kwargs)
        Trainer.__init__(self)
        self._build_input_shape = None
        self._graph = None   # the functional graph, when built from inputs and outputs
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("Model(inputs, outputs): give both the inputs and the outputs")
            self._graph = Graph(inputs, outputs)
            self.layers = self._graph.layers
            self._build_input_shape = self._graph.input_shape

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"

    # ---- forward ------------------------------------------------------------------------
    def call(self, inputs, training=None):
        if self._graph is not None:
            return self._graph.run(inputs, where=self.name)
        raise NotImplementedError(f"{type(self).__name__}: define call(self, inputs, training=None) "
                                  "(or forward) in your Model subclass")

    def forward(self, *args, **kwargs):
        return self.call(*args, **kwargs)

    def __call__(self, *args, **kwargs):
        if args and self._build_input_shape is None:
            x = args[0]
            self._build_input_shape = ([(None,) + tuple(v.shape[1:]) for v in x] if isinstance(x, (list, tuple))
                                       else (None,) + tuple(x.shape[1:]))
        return super().__call__(*args, **kwargs)

    def _accepts_training(self):
        """Whether the forward pass takes training= (call's signature, or forward's for PyTorch style)."""
        cached = self.__dict__.get("_accepts_training_cache")
        if cached is None:
            own_call = self._graph is not None or type(self).call is not Model.call
            try:
                params = inspect.signature(self.call if own_call else self.forward).parameters
                cached = "training" in params or (own_call and any(p.kind == p.VAR_KEYWORD for p in params.values()))
            except (TypeError, ValueError):
                cached = False
            self.__dict__["_accepts_training_cache"] = cached
        return cached

    # ---- building -----------------------------------------------------------------------
    @property
    def built(self):
        if self._graph is not None:
            return True
        b = self.__dict__.get("_built_flag")
        if b:
            return True
        return any(True for _ in self.parameters()) and all(getattr(layer, "built", True) for layer in self._sublayers())

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
        if self._graph is not None:
            return
        shape = shape_tuple(input_shape) if not is_multi_shape(input_shape) else [shape_tuple(s) for s in input_shape]
        self._build_input_shape = shape
        if not self.built:
            dry_run_shape(self, shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        if self._graph is not None:
            return self._graph.output_shape
        return dry_run_shape(self, input_shape)

    # ---- weights ------------------------------------------------------------------------
    def get_weights(self):
        """Copies of every weight (state_dict order) as NumPy arrays."""
        return [np.array(to_numpy(v), copy=True) for v in self.state_dict().values()]

    def set_weights(self, weights):
        """Assign weights given in get_weights() order; shapes are checked before anything changes."""
        state = self.state_dict()
        weights = list(weights)
        if len(weights) != len(state):
            raise ValueError(f"{self.name}.set_weights: expected {len(state)} arrays, got {len(weights)}")
        new = {}
        for (k, cur), w in zip(state.items(), weights):
            w, cur = to_numpy(w), to_numpy(cur)
            if tuple(w.shape) != tuple(cur.shape):
                raise ValueError(f"{self.name}.set_weights: weight {k} has shape {tuple(cur.shape)}, "
                                 f"got {tuple(w.shape)}")
            new[k] = np.array(w, dtype=cur.dtype, copy=True)
        self.load_state_dict(new)

    def count_params(self):
        return int(sum(int(np.prod(p.shape)) for p in self.parameters()))

    def summary(self, line_length=None, print_fn=None):
        """Print a Keras-style table: layer (type), output shape, parameter count, and the totals."""
        summary_utils.print_summary(self, line_length=line_length, print_fn=print_fn)

    # ---- saving -------------------------------------------------------------------------
    def save(self, filepath, overwrite=True, include_optimizer=True):
        """Write architecture, weights and optimizer state to ONE file (atomic; no pickle)."""
        saving.save_model(self, filepath, include_optimizer=include_optimizer, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True):
        """Write only the weights, as a safetensors file."""
        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath):
        """Load weights from save_weights() (safetensors) or save() (model file)."""
        saving.load_weights(self, filepath)

    def get_config(self):
        if self._graph is not None:
            return {"name": self.name, **self._graph.get_config()}
        raise NotImplementedError(f"{type(self).__name__}: a subclassed model needs its own get_config() (and "
                                  "@dlcore.saving.register_serializable) to be saved whole; or use save_weights()")

    @classmethod
    def from_config(cls, config):
        if "nodes" in config:
            inputs, outputs = Graph.from_config(config)
            return cls(inputs, outputs, name=config.get("name"))
        return cls(**config)


class Functional(Model):
    """The class name a functional model is saved under (an alias of Model(inputs, outputs))."""
