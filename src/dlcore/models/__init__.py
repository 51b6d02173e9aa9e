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

Where things live: the Model class (model.py) and Sequential (sequential.py) here; the symbolic
graph (KerasTensor, Input, nodes, shape inference) in dlcore.graph; compile / fit / evaluate /
predict in dlcore.trainer (the loss and metric containers in dlcore.compile_utils, the batching in
dlcore.data.EpochIterator); summary() in dlcore.summary_utils; the file format and the registry
of classes a file may name in dlcore.saving.
"""
from ..graph import Input, KerasTensor
from ..saving import deserialize_model, load_model, save_model
from .model import Functional, Model  # noqa: F401  (dl.models.Functional: the functional class name files may use)
from .sequential import Sequential

__all__ = ["Model", "Sequential", "Input", "load_model", "model_from_config", "KerasTensor"]
__all__ += ["save_model"]


def model_from_config(spec):
    """Rebuild a model (fresh weights, built for its recorded input shape) from its architecture JSON."""
    return deserialize_model(spec)
