"""Keras-style layers (channels_last layouts), each a `dlcore.Module`.

Lifecycle: `__init__` validates the arguments, `build(input_shape)` creates the weights on the first
call, `call(inputs, training=None)` computes through `dlcore.functional`. Every layer has
`compute_output_shape`, `get_config` (JSON-able; `Class.from_config(config)` rebuilds it) and
`count_params`.
"""
from ..graph import Input  # keras.layers.Input
from .base import Layer
from .conv import Conv1D, Conv2D
from .core import Activation, Dense, Dropout, Embedding, Flatten, Masking, Reshape
from .merge import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
                    dot, maximum, minimum, multiply, subtract)
from .normalization import BatchNormalization, LayerNormalization
from .pooling import (AveragePooling2D, AvgPool2D, GlobalAveragePooling2D, GlobalAvgPool2D, MaxPool2D,
                      MaxPooling2D)
from .recurrent import GRU, LSTM, Bidirectional, SimpleRNN
from .preprocessing import (CategoryEncoding, CenterCrop, IntegerLookup, Normalization, RandomContrast, RandomCrop,
                            RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Rescaling, Resizing, StringLookup,
                            TextVectorization)

__all__ = ["Layer", "Dense", "Activation", "Flatten", "Reshape", "Dropout", "Embedding", "Conv1D", "Conv2D",
           "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D",
           "BatchNormalization", "LayerNormalization", "SimpleRNN", "LSTM", "GRU", "Bidirectional",
           "get_layer_class"]
__all__ += ["Masking", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "add",
            "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"]
__all__ += ["Rescaling", "Normalization", "Resizing", "CenterCrop", "RandomFlip", "RandomRotation", "RandomZoom",
            "RandomTranslation", "RandomCrop", "RandomContrast", "TextVectorization", "StringLookup", "IntegerLookup",
            "CategoryEncoding"]
__all__ += ["Input"]


def get_layer_class(class_name):
    """The layer class for a get_config 'class_name' (used by model loading)."""
    cls = globals().get(class_name)
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"unknown layer class {class_name!r}")
    return cls
