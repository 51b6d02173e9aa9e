"""Helpers of the functional families: Tensor arguments, their arrays, the fused activations."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def _t(x, name="input"):
    """`x` as a Tensor (arrays and numbers become constants)."""
    if isinstance(x, Tensor) or x is None:
        return x
    if isinstance(x, (np.ndarray, list, tuple, int, float, np.generic)) or hasattr(x, "__array__"):
        return Tensor(x)
    raise TypeError(f"expected a Tensor or an array for '{name}', got {type(x).__name__}")


def _array(x):
    return x.data if isinstance(x, Tensor) else x


# the activations the GEMM and conv kernels run fused in their epilogue, and the kernel that computes
# the backward of each from the output
_GEMM_BACKWARD = {"relu": "relu_backward", "sigmoid": "sigmoid_backward", "tanh": "tanh_backward"}

# the same backward on Tensors, from the output tensor y (for second derivatives, create_graph=True)
_GEMM_BACKWARD_GRAPH = {
    "relu": lambda g, y: g * (y.data > 0),
    "sigmoid": lambda g, y: g * (y * (1 - y)),
    "tanh": lambda g, y: g * (1 - y * y),
}
