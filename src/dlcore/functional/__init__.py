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
    conv2d.py         conv1d conv2d
    pool2d.py         max_pool2d avg_pool2d global_avg_pool2d
    rnn.py            lstm gru simple_rnn
    normalization.py  batch_norm layer_norm
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
