"""dlcore.kernels: the raw kernels on arrays.

NumPy arrays in, NumPy arrays out (CPU, the C++ kernels in dlcore._C). Every function validates its
arguments once and raises TypeError/ValueError naming the kernel and the shapes before any
kernel runs. This is the layer that tests/ compares with the float64 references and bench/ times.
"""
from .gemm import GEMM_ACTIVATIONS, gemm

__all__ = ["gemm", "GEMM_ACTIVATIONS"]
from .rnn import (gru_backward, gru_forward, lstm_backward, lstm_cell_backward, lstm_cell_forward,  # noqa: E402
                  lstm_forward, simple_rnn_backward, simple_rnn_forward)

__all__ += ["lstm_forward", "lstm_backward", "lstm_cell_forward", "lstm_cell_backward",
            "gru_forward", "gru_backward", "simple_rnn_forward", "simple_rnn_backward"]
