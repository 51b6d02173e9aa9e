"""Sequential: a stack of layers, each feeding the next.

    model = dl.Sequential([dl.layers.Dense(64, activation="relu", input_shape=(20,)),
                           dl.layers.Dense(10, activation="softmax")])
    model.add(dl.layers.Dropout(0.1))
"""
from __future__ import annotations

from ..graph import KerasTensor, build_layer, is_multi_shape, output_shape, shape_tuple
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

    def __init__(self, layers=None, name=None, input_shape=None):
        super().__init__(name=name)
        self.layers = []
        self._pending_input_shape = shape_tuple(input_shape) if input_shape is not None else None
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
            build_layer(layer, shape)
            shape = output_shape(layer, shape)

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
        return {"name": self.name, "layers": [serialize_layer(layer) for layer in self.layers]}

    @classmethod
    def from_config(cls, config):
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise ValueError("model file: a Sequential config needs a list of layers")
        return cls([deserialize_layer(s) for s in layers], name=config.get("name"))
