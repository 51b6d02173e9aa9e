"""TimeDistributed: one layer applied to every time step of a sequence (Keras's TimeDistributed)."""
from __future__ import annotations

from ..module import Module
from ..saving import deserialize_layer, serialize_layer
from .base import Layer


class TimeDistributed(Layer):
    """Applies `layer` to every step of (batch, steps, ...) inputs, with the same weights for all steps.

    The steps are folded into the batch axis, the wrapped layer runs once on (batch * steps, ...) and
    its output is unfolded to (batch, steps, ...). The wrapped layer's weights are this layer's
    (named "layer.<name>"); it is saved and loaded with it.

    Args:
        layer: the layer (any dlcore layer or Module) to apply to each step.

    Input shape: (batch, steps, ...) where `layer` takes (batch, ...).
    Output shape: (batch, steps) + the layer's output shape without its batch axis.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    td = dl.layers.TimeDistributed(dl.layers.Dense(3))
    y = td(np.random.rand(2, 5, 4).astype("float32"))
    assert y.shape == (2, 5, 3) and td.layer.kernel.shape == (4, 3)
    ```
    """

    takes_list = True

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Module):
            raise TypeError(f"{self._where()}: 'layer' must be a dlcore layer (a Module), got {type(layer).__name__}")
        self.layer = layer

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"{self._where()}: expected an input (batch, steps, ...) of at least 3 dimensions, got "
                             f"shape {tuple(input_shape)}")
        if not self.layer.built:
            self.layer.build(self._inner(input_shape))
            self.layer.built = True
        self.built = True

    @staticmethod
    def _inner(shape):
        b, t = shape[0], shape[1]
        return (None if b is None or t is None else b * t,) + tuple(shape[2:])

    def call(self, inputs, training=None):
        if inputs.ndim < 3:
            raise ValueError(f"{self._where()}: expected an input (batch, steps, ...) of at least 3 dimensions, got "
                             f"shape {tuple(inputs.shape)}")
        b, t = inputs.shape[0], inputs.shape[1]
        folded = inputs.reshape(b * t, *inputs.shape[2:])
        y = self.layer(folded, training=training) if isinstance(self.layer, Layer) else self.layer(folded)
        return y.reshape(b, t, *y.shape[1:])

    def compute_output_shape(self, input_shape):
        out = self.layer.compute_output_shape(self._inner(input_shape))
        return (input_shape[0], input_shape[1]) + tuple(out[1:])

    def get_config(self):
        return {**super().get_config(), "layer": serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(deserialize_layer(config.pop("layer")), **config)
