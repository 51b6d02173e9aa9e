"""Sequential: a stack of layers, each feeding the next.

    model = dl.Sequential([dl.layers.Dense(64, activation="relu", input_shape=(20,)),
                           dl.layers.Dense(10, activation="softmax")])
    model.add(dl.layers.Dropout(0.1))
"""
from __future__ import annotations

from ..graph import Graph, Input, KerasTensor, is_multi_shape, output_shape, shape_tuple
from ..module import Module
from ..saving import deserialize_layer, serialize_layer
from .model import Model

__all__ = ["Sequential"]


def _layer_input_shape(layer):
    """The input_shape=... a user gave a layer (Keras style), without the batch axis, or None."""
    if isinstance(layer, Model):  # a nested model knows its input shape once built
        shape = layer._build_input_shape
        if shape is None:
            pending = getattr(layer, "_pending_input_shape", None)
            return tuple(pending) if pending is not None else None
        return None if is_multi_shape(shape) else tuple(shape[1:])
    for attr in ("input_shape_arg", "_input_shape_arg", "_input_shape", "input_shape_", "batch_input_shape",
                 "_batch_input_shape"):
        v = getattr(layer, attr, None)
        if v is not None and not callable(v):
            shape = shape_tuple(v)
            return shape[1:] if "batch" in attr else shape
    cfg = None
    try:
        cfg = layer.get_config() if hasattr(layer, "get_config") else None
    except Exception:
        cfg = None
    if isinstance(cfg, dict):
        if cfg.get("input_shape") is not None:
            return shape_tuple(cfg["input_shape"])
        if cfg.get("batch_input_shape") is not None:
            return shape_tuple(cfg["batch_input_shape"])[1:]
    return None


class Sequential(Model):
    """A stack of layers, each feeding the next: Sequential([layer, ...]) or .add(layer).

    The first layer may carry input_shape=(...) (without the batch axis), or start with
    dl.Input(shape); otherwise the model is built on its first call. A Sequential is itself a
    layer, so models nest (an autoencoder is Sequential([encoder, decoder])).
    """

    def __init__(self, layers=None, trainable=True, name=None, input_shape=None):
        super().__init__(name=name)
        self.layers = []
        self._seq_graph = None   # the symbolic graph of the built model (model.inputs, layer.output)
        self._pending_input_shape = shape_tuple(input_shape) if input_shape is not None else None
        for layer in layers or []:
            self.add(layer)
        if not trainable:
            self.trainable = False  # freezes every layer inside

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
        layer = self.layers.pop()
        if self._build_input_shape is not None and self.layers:
            self._try_build(self._build_input_shape)
        return layer

    def _try_build(self, input_shape):
        """Build every layer by calling it on a dl.Input of `input_shape`: the symbolic graph that
        model.inputs / model.outputs and layer.output read (replacing the one of an earlier build)."""
        self._build_input_shape = input_shape
        for layer in self.layers:
            nodes = layer.__dict__.get("_inbound_nodes")
            if nodes and self._seq_graph is not None:
                ours = {id(n) for n in self._seq_graph.nodes}
                nodes[:] = [n for n in nodes if id(n) not in ours]
        inputs = x = Input(batch_shape=input_shape)
        for layer in self.layers:
            x = layer(x)
            if isinstance(x, list):
                raise ValueError(f"{self.name}: every layer of a Sequential model must have one output; "
                                 f"{type(layer).__name__} '{layer.name}' has {len(x)} (use the functional API)")
        self._seq_graph = Graph(inputs, x)

    def _require_graph(self, what):
        if self._seq_graph is None or not self.built:
            raise AttributeError(f"{self.name}: '{what}' needs the model built (give input_shape= to its first "
                                 f"layer, start it with dl.Input, or call build())")
        return self._seq_graph

    @property
    def input_names(self):
        return self._seq_graph.input_names if self._seq_graph is not None else []

    @property
    def output_names(self):
        return self._seq_graph.output_names if self._seq_graph is not None else []

    def build(self, input_shape=None):
        shape = input_shape
        if shape is None and self._pending_input_shape is not None:
            shape = (None,) + tuple(self._pending_input_shape)
        if shape is None:
            raise ValueError(f"{self.name}.build: give the input shape (with the batch axis, e.g. (None, 28, 28, 1))")
        self._try_build(shape_tuple(shape))

    @property
    def built(self):
        return bool(self.layers) and all(getattr(layer, "built", True) for layer in self.layers) and \
            self._build_input_shape is not None

    @built.setter
    def built(self, value):
        pass

    def call(self, x, training=None):
        for layer in self.layers:
            x = layer(x)
        return x

    def compute_output_shape(self, input_shape):
        shape = shape_tuple(input_shape)
        for layer in self.layers:
            shape = output_shape(layer, shape)
        return shape

    def get_config(self):
        config = {"name": self.name, "layers": [serialize_layer(layer) for layer in self.layers]}
        if not self.trainable:
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config):
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise ValueError("model file: a Sequential config needs a list of layers")
        return cls([deserialize_layer(s) for s in layers], name=config.get("name"),
                   trainable=config.get("trainable", True))
