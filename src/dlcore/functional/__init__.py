"""Differentiable functions on Tensors (`import dlcore.functional as F`).

One `Function` per kernel family, forward and backward side by side; the array work is done by the
kernel API (`dlcore.kernels`, see docs/kernel_api.md). Layouts are Keras's: images NHWC, conv
weights (kh, kw, c_in, c_out), Dense weights (in, out), sequences (batch, time, features), LSTM gates
i, f, c, o. `batch_norm`, `layer_norm`, `embedding` and `dropout` have no C++ kernel: they are
written here with array operations through `xp` (NumPy or CuPy).

Every function takes Tensors (arrays are wrapped as constants) and returns Tensors. One file per
family, each holding its Functions beside the functions that check the arguments and apply them:

    activation.py     relu sigmoid tanh leaky_relu elu gelu softplus silu softmax log_softmax
                      (their Functions are in dlcore.primitives.activation, shared with Tensor's methods)
    gemm.py           linear (K.gemm with the bias and activation fused)
    conv2d.py         conv1d conv2d (groups=) depthwise_conv2d
    conv_transpose.py conv1d_transpose conv2d_transpose
    pool2d.py         max_pool2d avg_pool2d global_avg_pool2d global_max_pool2d max_pool1d avg_pool1d
                      global_avg_pool1d global_max_pool1d
    upsample2d.py     upsampling1d upsampling2d
    reshaping.py      zero_padding cropping repeat_vector
    noise.py          gaussian_noise gaussian_dropout seeded_dropout spatial_dropout
    activation_layers.py  relu_layer prelu masked_softmax
    rnn.py            lstm gru simple_rnn
    normalization.py  batch_norm layer_norm group_norm
    core.py           dropout embedding
    loss.py           mse mae binary/categorical/sparse_categorical_cross_entropy huber
    pad.py            pad (PyTorch's arguments; dl.pad takes NumPy's)
"""
from .activation import (elu, gelu, leaky_relu, linear_activation, log_softmax, relu, sigmoid, silu, softmax, softplus,
                         swish, tanh)
from .conv2d import Conv1D, Conv2D, conv1d, conv2d
from .core import Dropout, Embedding, dropout, embedding
from .gemm import Linear, linear
from .loss import (binary_cross_entropy, categorical_cross_entropy, huber, mae, mean_absolute_error,
                   mean_squared_error, mse, sparse_categorical_cross_entropy)
from .normalization import BatchNorm, LayerNorm, batch_norm, layer_norm
from .pad import pad
from .pool2d import AvgPool2D, GlobalAvgPool2D, MaxPool2D, avg_pool2d, global_avg_pool2d, max_pool2d
from .rnn import GRU, LSTM, SimpleRNN, gru, lstm, simple_rnn
from .activation_layers import masked_softmax, prelu, relu_layer
from .conv2d import depthwise_conv2d
from .conv_transpose import Conv1DTranspose, Conv2DTranspose, conv1d_transpose, conv2d_transpose
from .noise import gaussian_dropout, gaussian_noise, seeded_dropout, spatial_dropout
from .normalization import GroupNorm, group_norm
from .pool2d import (AvgPool1D, GlobalMaxPool2D, MaxPool1D, avg_pool1d, global_avg_pool1d, global_max_pool1d,
                     global_max_pool2d, max_pool1d)
from .reshaping import cropping, repeat_vector, zero_padding
from .upsample2d import UpSampling1D, UpSampling2D, upsampling1d, upsampling2d

# The engine and the activation Functions, importable from here as before the split.
from ..autograd import Function  # noqa: F401
from ..primitives import get_array_module  # noqa: F401
from ..primitives.activation import Elu, Gelu, LeakyRelu, LogSoftmax, Relu, Sigmoid, Silu, Softmax, Softplus, Tanh  # noqa: F401
from ..tensor import Tensor  # noqa: F401

__all__ = [
    # activations
    "relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softplus", "silu", "swish", "softmax", "log_softmax",
    "linear_activation",
    # layers' functions
    "linear", "conv1d", "conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool2d", "lstm", "gru", "simple_rnn",
    "dropout", "batch_norm", "layer_norm", "embedding", "pad",
    # losses
    "mse", "mean_squared_error", "mae", "mean_absolute_error", "binary_cross_entropy", "categorical_cross_entropy",
    "sparse_categorical_cross_entropy", "huber",
    # their Functions
    "Linear", "Conv1D", "Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "LSTM", "GRU", "SimpleRNN", "Dropout",
    "BatchNorm", "LayerNorm", "Embedding",
]
__all__ += [  # the functions of the layers added in issue 12 (conv variants, pooling, reshaping, noise, ...)
    "depthwise_conv2d", "conv1d_transpose", "conv2d_transpose", "max_pool1d", "avg_pool1d", "global_max_pool2d",
    "global_avg_pool1d", "global_max_pool1d", "upsampling1d", "upsampling2d", "zero_padding", "cropping",
    "repeat_vector", "gaussian_noise", "gaussian_dropout", "seeded_dropout", "spatial_dropout", "group_norm",
    "relu_layer", "prelu", "masked_softmax",
    "Conv1DTranspose", "Conv2DTranspose", "MaxPool1D", "AvgPool1D", "GlobalMaxPool2D", "UpSampling1D",
    "UpSampling2D", "GroupNorm",
]
