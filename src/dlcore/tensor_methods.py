"""The methods of Tensor that apply ops: arithmetic, comparisons, shape, reductions, math, activations.

`TensorMethods` is a base class of `dlcore.tensor.Tensor` (as tinygrad's Tensor takes its operators
from a math mixin): each method applies one Function of `dlcore.ops` to the tensor. It holds no
state and relies on three hooks of the class that inherits it:

    _other(o)        o as a tensor operand (numbers and arrays become constants)
    _cmp(o, f)       f(self.data, o) as a constant tensor (comparisons carry no gradient)
    _wrap(a, fn, i)  a constant tensor around array a (fn None, i 0)
"""
from __future__ import annotations

from .ops import (Abs, Add, Clip, Div, Exp, Log, LogSoftmax, MatMul, Max, Mean, Mul, Neg, Pow, PowScalar, Relu,
                  Reshape, Sigmoid, Softmax, Sqrt, Sub, Sum, Tanh, Transpose)


def _axis(axis):
    if isinstance(axis, list):
        return tuple(axis)
    return axis


class TensorMethods:
    """Operators and methods that apply ops; mixed into `Tensor` (see the module docstring)."""

    __slots__ = ()

    # ---- arithmetic -------------------------------------------------------------------------
    def __add__(self, o):
        return Add.apply(self, self._other(o))

    def __radd__(self, o):
        return Add.apply(self._other(o), self)

    def __sub__(self, o):
        return Sub.apply(self, self._other(o))

    def __rsub__(self, o):
        return Sub.apply(self._other(o), self)

    def __mul__(self, o):
        return Mul.apply(self, self._other(o))

    def __rmul__(self, o):
        return Mul.apply(self._other(o), self)

    def __truediv__(self, o):
        return Div.apply(self, self._other(o))

    def __rtruediv__(self, o):
        return Div.apply(self._other(o), self)

    def __neg__(self):
        return Neg.apply(self)

    def __pos__(self):
        return self

    def __pow__(self, o):
        if isinstance(o, (int, float)):
            return PowScalar.apply(self, p=o)
        return Pow.apply(self, self._other(o))

    def __rpow__(self, o):
        return Pow.apply(self._other(o), self)

    def __matmul__(self, o):
        return MatMul.apply(self, self._other(o))

    def __rmatmul__(self, o):
        return MatMul.apply(self._other(o), self)

    def __abs__(self):
        return Abs.apply(self)

    # comparisons: no gradient, boolean result
    def __eq__(self, o):
        return self._cmp(o, lambda a, b: a == b)

    def __ne__(self, o):
        return self._cmp(o, lambda a, b: a != b)

    def __lt__(self, o):
        return self._cmp(o, lambda a, b: a < b)

    def __le__(self, o):
        return self._cmp(o, lambda a, b: a <= b)

    def __gt__(self, o):
        return self._cmp(o, lambda a, b: a > b)

    def __ge__(self, o):
        return self._cmp(o, lambda a, b: a >= b)

    __hash__ = object.__hash__  # defining __eq__ alone would make tensors unhashable

    # ---- shape ------------------------------------------------------------------------------
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self, start_dim=0):
        return self.reshape(self.shape[:start_dim] + (-1,))

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if len(axes) == 2 and self.ndim != 2:  # torch style: swap two axes
            perm = list(range(self.ndim))
            perm[axes[0]], perm[axes[1]] = perm[axes[1]], perm[axes[0]]
            axes = tuple(perm)
        return Transpose.apply(self, axes=axes or None)

    @property
    def T(self):
        return Transpose.apply(self, axes=None)

    def squeeze(self, axis=None):
        shape = self.shape
        if axis is None:
            new = tuple(s for s in shape if s != 1)
        else:
            axes = {a % self.ndim for a in ((axis,) if isinstance(axis, int) else axis)}
            new = tuple(s for i, s in enumerate(shape) if i not in axes)
        return self.reshape(new)

    def unsqueeze(self, axis):
        shape = list(self.shape)
        shape.insert(axis if axis >= 0 else len(shape) + 1 + axis, 1)
        return self.reshape(tuple(shape))

    expand_dims = unsqueeze

    # ---- reductions -------------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return Sum.apply(self, axis=_axis(axis), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return Mean.apply(self, axis=_axis(axis), keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return Max.apply(self, axis=_axis(axis), keepdims=keepdims, sign=1)

    def min(self, axis=None, keepdims=False):
        return Max.apply(self, axis=_axis(axis), keepdims=keepdims, sign=-1)

    def var(self, axis=None, keepdims=False):
        d = self - self.mean(axis, keepdims=True)
        return (d * d).mean(axis, keepdims=keepdims)

    def argmax(self, axis=None):
        return self._wrap(self.data.argmax(axis=axis), None, 0)

    def argmin(self, axis=None):
        return self._wrap(self.data.argmin(axis=axis), None, 0)

    # ---- elementwise math -------------------------------------------------------------------
    def exp(self):
        return Exp.apply(self)

    def log(self):
        return Log.apply(self)

    def sqrt(self):
        return Sqrt.apply(self)

    def abs(self):
        return Abs.apply(self)

    def clip(self, min=None, max=None):
        return Clip.apply(self, lo=min, hi=max)

    clamp = clip

    def pow(self, p):
        return self ** p

    def neg(self):
        return Neg.apply(self)

    # ---- activations (the Functions of dlcore.ops.activation; dlcore.functional applies the same) --
    def relu(self):
        return Relu.apply(self)

    def sigmoid(self):
        return Sigmoid.apply(self)

    def tanh(self):
        return Tanh.apply(self)

    def softmax(self, axis=-1):
        return Softmax.apply(self, axis=int(axis))

    def log_softmax(self, axis=-1):
        return LogSoftmax.apply(self, axis=int(axis))
