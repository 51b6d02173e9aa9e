"""The helpers of dl.ops: tensors from arguments, and the tensor ops some Keras ops call."""
from __future__ import annotations

from ..tensor import Tensor


def _t(x):
    """x as a Tensor (arrays keep their dtype; Python numbers and lists become float32 constants)."""
    return x if isinstance(x, Tensor) else Tensor(x)


def _needs(name, x=None, method=None):
    """The Tensor method `method` of x (the tensor ops), or NotImplementedError naming it."""
    f = getattr(x, method or name, None)
    if f is None:
        raise NotImplementedError(f"dlcore.ops.{name} needs the tensor op Tensor.{method or name} "
                                  f"(dlcore.tensor_functions), which this build of dlcore lacks")
    return f
