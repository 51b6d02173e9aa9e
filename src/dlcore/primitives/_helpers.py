"""Helpers shared by the ops: the array module of an array, un-broadcasting, scatter-add, kernel lookup."""
from __future__ import annotations

import numpy as np

from .. import kernels as K


def get_array_module(a):
    """`numpy` for NumPy arrays (and scalars), `cupy` for CuPy arrays (the Chainer `xp` idiom)."""
    if isinstance(a, np.ndarray) or type(a).__module__ == "numpy":
        return np
    if type(a).__module__.startswith("cupy"):
        import cupy
        return cupy
    return np


def _unbroadcast(g, shape):
    """Sum `g` over the axes that broadcasting added or stretched, so that it has `shape`.

    Written with the methods arrays and Tensors share (`sum`, `reshape`), so that backward and
    backward_graph use it alike.
    """
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra < 0:  # a value with extra leading 1s (assigned into a slot of fewer dimensions)
        g = g.reshape((1,) * -extra + tuple(g.shape))
    elif extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _kernel(name):
    """The kernel `dlcore.kernels.<name>`, or a clear error when this build lacks it."""
    f = getattr(K, name, None)
    if f is None:
        raise NotImplementedError(f"dlcore.kernels.{name} is not available in this build of dlcore "
                                  f"(its kernel family is not compiled in)")
    return f


def _scatter_add(out, index, g):
    """out[index] += g with repeated positions adding up (NumPy's add.at, CuPy's add.at)."""
    get_array_module(out).add.at(out, index, g)


def _const(like, array):
    """`array` as a constant tensor of the class of tensor `like` (for backward_graph)."""
    return type(like)._wrap(array, None, 0)
