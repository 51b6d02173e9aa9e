"""Keras's `keras.ops`, reached as `dl.ops` (`from dlcore import ops`): NumPy-style functions over
Tensors, differentiable where Keras's are, with Keras's argument names.

    from dlcore import ops
    y = ops.relu(ops.matmul(x, w) + b)
    z = ops.mean(ops.square(y), axis=-1)

Arrays and numbers are accepted wherever a tensor is and become constant Tensors. Several are the
tensor ops of `dlcore.tensor_functions` under Keras's names and argument orders (`repeat` is
`dl.repeat_interleave`, `top_k` is `dl.topk`). The autograd primitives (the Function classes Add,
MatMul, ...) live in `dlcore.primitives`. `docs/keras_compatibility.md` lists the Keras ops that
are not provided.
"""
from __future__ import annotations

from . import nn, numpy
from .nn import *  # noqa: F401,F403
from .numpy import *  # noqa: F401,F403

__all__ = numpy.__all__ + nn.__all__

