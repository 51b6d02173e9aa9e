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
from .activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from .attention import Attention, MultiHeadAttention
from .conv import DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D
from .conv_transpose import Conv1DTranspose, Conv2DTranspose
from .lambda_layer import Lambda
from .noise import GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D
from .normalization import GroupNormalization
from .pooling import (AveragePooling1D, AvgPool1D, GlobalAveragePooling1D, GlobalAvgPool1D, GlobalMaxPool1D,
                      GlobalMaxPool2D, GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPool1D, MaxPooling1D)
from .reshaping import (Cropping1D, Cropping2D, Permute, RepeatVector, UpSampling1D, UpSampling2D, ZeroPadding1D,
                        ZeroPadding2D)
from .time_distributed import TimeDistributed

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
__all__ += ["Conv1DTranspose", "Conv2DTranspose", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D",
            "SeparableConv2D", "UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D",
            "Cropping2D", "RepeatVector", "Permute", "MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D",
            "GlobalMaxPooling2D", "GlobalAveragePooling1D", "MaxPool1D", "AvgPool1D", "GlobalMaxPool1D",
            "GlobalMaxPool2D", "GlobalAvgPool1D", "TimeDistributed", "Lambda", "ReLU", "LeakyReLU", "PReLU", "ELU",
            "Softmax", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
            "GaussianDropout", "GroupNormalization", "Attention", "MultiHeadAttention"]


def get_layer_class(class_name):
    """The layer class for a get_config 'class_name' (used by model loading)."""
    cls = globals().get(class_name)
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"unknown layer class {class_name!r}")
    return cls
