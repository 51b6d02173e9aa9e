"""dlcore.kernels: the raw kernels on arrays.

NumPy arrays in, NumPy arrays out (CPU, the C++ kernels in dlcore._C). Every function validates its
arguments once and raises TypeError/ValueError naming the kernel and the shapes before any
kernel runs. This is the layer that tests/ compares with the float64 references and bench/ times.
"""
from .gemm import GEMM_ACTIVATIONS, gemm
from .conv import (CONV_ACTIVATIONS, conv1d_backward_bias, conv1d_backward_data, conv1d_backward_filter,
                   conv1d_forward, conv1d_output_shape, conv2d_backward_bias, conv2d_backward_data,
                   conv2d_backward_filter, conv2d_forward, conv2d_output_shape)
from .pool import (avg_pool2d_backward, avg_pool2d_forward, global_avg_pool2d_backward, global_avg_pool2d_forward,
                   max_pool2d_backward, max_pool2d_forward, pool2d_output_shape)

__all__ = ["gemm", "GEMM_ACTIVATIONS"]
__all__ += ["CONV_ACTIVATIONS", "conv2d_output_shape", "conv2d_forward", "conv2d_backward_data",
            "conv2d_backward_filter", "conv2d_backward_bias", "conv1d_output_shape", "conv1d_forward",
            "conv1d_backward_data", "conv1d_backward_filter", "conv1d_backward_bias"]
__all__ += ["pool2d_output_shape", "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
            "avg_pool2d_backward", "global_avg_pool2d_forward", "global_avg_pool2d_backward"]
from . import activation, loss, optim
from .activation import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .optim import *  # noqa: F401,F403

__all__ += activation.__all__ + loss.__all__ + optim.__all__
from .rnn import (gru_backward, gru_forward, lstm_backward, lstm_cell_backward, lstm_cell_forward,  # noqa: E402
                  lstm_forward, simple_rnn_backward, simple_rnn_forward)

__all__ += ["lstm_forward", "lstm_backward", "lstm_cell_forward", "lstm_cell_backward",
            "gru_forward", "gru_backward", "simple_rnn_forward", "simple_rnn_backward"]
