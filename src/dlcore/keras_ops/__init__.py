"""Keras's `keras.ops`, reached as `dl.ops` (`from dlcore import ops`): NumPy-style functions over
Tensors, differentiable where Keras's are, with Keras's argument names.

    from dlcore import ops
    y = ops.relu(ops.matmul(x, w) + b)
    z = ops.mean(ops.square(y), axis=-1)

Arrays and numbers are accepted wherever a tensor is and become constant Tensors. The autograd
primitives (the Function classes Add, MatMul, ...) keep living in the package `dlcore.ops`
(`from dlcore.ops import MatMul`); `dl.ops.<name>` reaches them too. Ops that need the tensor ops
of `dlcore.tensor_functions` (maximum, minimum, where, cumsum, einsum, tile, repeat, flip, pad,
take_along_axis, sort, top_k) call the Tensor method or function of that name and raise
NotImplementedError naming it where this build lacks it. `docs/keras_compatibility.md` lists the
Keras ops that are not provided.
"""
from __future__ import annotations

from .. import ops as _primitives
from . import nn, numpy
from .nn import *  # noqa: F401,F403
from .numpy import *  # noqa: F401,F403

__all__ = numpy.__all__ + nn.__all__


def __getattr__(name):
    """The autograd primitives of the package dlcore.ops (Add, MatMul, ...), reached through dl.ops too."""
    try:
        return getattr(_primitives, name)
    except AttributeError:
        raise AttributeError(f"dlcore.ops has no {name!r} (Keras op or autograd primitive); see "
                             f"docs/keras_compatibility.md for the Keras ops dlcore provides") from None


def __dir__():
    return sorted(set(__all__) | set(getattr(_primitives, "__all__", ())))
