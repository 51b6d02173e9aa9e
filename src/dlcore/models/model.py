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

import numpy as np

from .. import saving, summary_utils
from ..graph import Graph, dry_run_shape, is_multi_shape, shape_tuple
from ..module import Module
from ..trainer import Trainer

__all__ = ["Model", "Functional"]


class Model(Trainer, Module):
    """A trainable model: the functional form Model(inputs, outputs), or a subclass with call().

    Subclasses define their layers in __init__ and the forward pass in call(self, x, training=None)
    (or forward(self, x), PyTorch style).
    """

    default_training = False  # Keras: model(x) is inference

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
            if not self.trainable:
                self.trainable = False  # freezes every layer inside

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

    def _forward_fn(self):
        """call() (functional or subclassed Keras style), or forward() (PyTorch style)."""
        return type(self).call if type(self).forward is Model.forward else type(self).forward

    # ---- the functional API -------------------------------------------------------------
    def _require_graph(self, what):
        if self._graph is None:
            raise AttributeError(f"{self.name}: '{what}' exists for models built from dl.Input (functional) and for "
                                 f"built Sequential models; this {type(self).__name__} has no symbolic graph")
        return self._graph

    @property
    def inputs(self):
        """The model's input KerasTensors (a list), for building a new Model on its layers."""
        return list(self._require_graph("inputs").inputs)

    @property
    def outputs(self):
        """The model's output KerasTensors (a list)."""
        return list(self._require_graph("outputs").outputs)

    @property
    def input(self):
        graph = self._require_graph("input")
        return list(graph.inputs) if graph.multi_input else graph.inputs[0]

    @property
    def output(self):
        graph = self._require_graph("output")
        return list(graph.outputs) if graph.multi_output else graph.outputs[0]

    @property
    def input_names(self):
        return self._graph.input_names if self._graph is not None else []

    @property
    def output_names(self):
        """The names of the outputs: the keys of loss / metric dicts in compile() and of y dicts in fit()."""
        return self._graph.output_names if self._graph is not None else []

    def get_layer(self, name=None, index=None):
        """The layer called `name`, or at position `index` of `model.layers` (Keras)."""
        layers = self._sublayers()
        if (name is None) == (index is None):
            raise ValueError(f"{self.name}.get_layer: give either name= or index=, got name={name!r}, "
                             f"index={index!r}")
        if index is not None:
            if not isinstance(index, int) or not -len(layers) <= index < len(layers):
                raise ValueError(f"{self.name}.get_layer: index {index!r} is out of range for a model with "
                                 f"{len(layers)} layers")
            return layers[index]
        for layer in layers:
            if getattr(layer, "name", None) == name:
                return layer
        raise ValueError(f"{self.name}.get_layer: no layer named {name!r}; the layers are "
                         f"{[getattr(layer, 'name', '?') for layer in layers]}")

    def reset_states(self):
        """Reset the states of every stateful recurrent layer inside (Keras)."""
        for m in self.modules():
            if m is not self and hasattr(m, "reset_states"):
                m.reset_states()

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
    def count_params(self):
        """Number of scalars in every weight, trainable and not (Keras)."""
        return int(sum(int(np.prod(p.shape)) for p in self.weights))

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
            config = {"name": self.name, **self._graph.get_config()}
            if not self.trainable:
                config["trainable"] = False
            return config
        raise NotImplementedError(f"{type(self).__name__}: a subclassed model needs its own get_config() (and "
                                  "@dlcore.saving.register_serializable) to be saved whole; or use save_weights()")

    @classmethod
    def from_config(cls, config):
        if "nodes" in config:
            inputs, outputs = Graph.from_config(config)
            return cls(inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True))
        return cls(**config)


class Functional(Model):
    """The class name a functional model is saved under (an alias of Model(inputs, outputs))."""
