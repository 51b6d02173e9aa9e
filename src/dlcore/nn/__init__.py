"""PyTorch's `torch.nn` names where dlcore's map exactly: `Module`, `Parameter` and `utils`
(`clip_grad_norm_`, `clip_grad_value_`).

dlcore's layers keep Keras's names, layouts and arguments (`dl.layers.Dense(units)`, kernels
(in, out)); they are Modules and train with PyTorch-style loops, but are not offered here under
torch.nn's names (nn.Linear's weight is (out, in), its constructor takes in_features first).
"""
from ..module import Module
from ..tensor import Parameter
from . import utils

__all__ = ["Module", "Parameter", "utils"]
