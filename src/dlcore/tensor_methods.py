"""The methods of Tensor that apply ops: arithmetic, comparisons, shape, reductions, math, activations.

`TensorMethods` is a base class of `dlcore.tensor.Tensor` (as tinygrad's Tensor takes its operators
from a math mixin): each method applies one Function of `dlcore.primitives` to the tensor. It holds no
state and relies on three hooks of the class that inherits it:

    _other(o)        o as a tensor operand (numbers and arrays become constants)
    _cmp(o, f)       f(self.data, o) as a constant tensor (comparisons carry no gradient)
    _wrap(a, fn, i)  a constant tensor around array a (fn None, i 0)

Names follow PyTorch (`clamp`, `permute`, `expand`, `swapaxes`); reductions take NumPy's `axis` /
`keepdims` and PyTorch's `dim` / `keepdim` alike. The reductions (`sum`, `mean`, `var`, `argmax`,
...) are in `tensor_reduce.py`, the selection and rearrangement methods (`split`, `gather`, `sort`,
...) in `tensor_rearrange.py`, the in-place ones in `tensor_inplace.py`.
"""
from __future__ import annotations

import numpy as np

from .primitives import (Abs, Add, BroadcastTo, Clip, Clone, Div, Exp, Log, LogSoftmax, MatMul, Maximum,
                  Mul, Neg, Pow, PowScalar, Relu, Reshape, Sigmoid, Softmax, Sqrt, Sub, Tanh, Transpose, Where)


def _axis(axis):
    if isinstance(axis, list):
        return tuple(axis)
    return axis


def _pick(op, axis, dim, a="axis", b="dim"):
    """`axis` or its PyTorch name `dim` (only one of them may be given)."""
    if dim is None:
        return axis
    if axis is not None:
        raise TypeError(f"{op}: got both '{a}' and '{b}' (its PyTorch name); pass one of them")
    return dim


def _axis_arg(op, axis, ndim):
    """An int axis in [-ndim, ndim), normalized to [0, ndim)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: 'dim' must be an int, got {type(axis).__name__}")
    if not -max(ndim, 1) <= axis < max(ndim, 1):
        raise ValueError(f"{op}: 'dim' must be in [{-max(ndim, 1)}, {max(ndim, 1)}) for a tensor with {ndim} "
                         f"dimension(s), got {axis}")
    return int(axis) % max(ndim, 1)


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

    # PyTorch's and NumPy's names of the comparisons
    def eq(self, o):
        return self == o

    def ne(self, o):
        return self != o

    def lt(self, o):
        return self < o

    def le(self, o):
        return self <= o

    def gt(self, o):
        return self > o

    def ge(self, o):
        return self >= o

    equal, not_equal, less, less_equal, greater, greater_equal = eq, ne, lt, le, gt, ge

    # logical operators on boolean (or integer) tensors: masks for where(), no gradient
    def __and__(self, o):
        return self._cmp(o, lambda a, b: a & b)

    def __or__(self, o):
        return self._cmp(o, lambda a, b: a | b)

    def __xor__(self, o):
        return self._cmp(o, lambda a, b: a ^ b)

    def __invert__(self):
        if self.dtype.kind not in "biu":
            raise TypeError(f"~ (logical not): expected a boolean or integer tensor, got dtype {self.dtype}")
        return self._wrap(~self.data, None, 0)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

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
            return self.swapaxes(*axes)
        return Transpose.apply(self, axes=axes or None)

    def permute(self, *dims):
        """The axes in the order `dims` (PyTorch's name of NumPy's `transpose(axes)`)."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if sorted(d % max(self.ndim, 1) for d in dims) != list(range(self.ndim)):
            raise ValueError(f"permute: 'dims' must order all {self.ndim} axes once each, got {dims}")
        return Transpose.apply(self, axes=tuple(int(d) % self.ndim for d in dims))

    def swapaxes(self, axis0, axis1):
        """The tensor with axes `axis0` and `axis1` exchanged (a view)."""
        perm = list(range(self.ndim))
        i, j = _axis_arg("swapaxes", axis0, self.ndim), _axis_arg("swapaxes", axis1, self.ndim)
        perm[i], perm[j] = perm[j], perm[i]
        return Transpose.apply(self, axes=tuple(perm))

    swapdims = swapaxes

    @property
    def T(self):
        return Transpose.apply(self, axes=None)

    @property
    def mT(self):
        """The last two axes swapped (a batch of matrices transposed)."""
        return self.swapaxes(-1, -2)

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

    def broadcast_to(self, shape):
        """A read-only view repeated along new or size-1 axes to `shape` (NumPy's broadcasting rules)."""
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        try:
            np.broadcast_shapes(self.shape, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: a tensor of shape {self.shape} cannot be broadcast to {shape}") from None
        if np.broadcast_shapes(self.shape, shape) != shape:
            raise ValueError(f"broadcast_to: a tensor of shape {self.shape} cannot be broadcast to {shape}")
        return BroadcastTo.apply(self, shape=shape)

    def expand(self, *sizes):
        """PyTorch's broadcast_to: -1 keeps an axis's size."""
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        lead = len(sizes) - self.ndim
        shape = tuple(self.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
        return self.broadcast_to(shape)

    def expand_as(self, other):
        return self.broadcast_to(other.shape)

    def clone(self):
        """A copy with storage of its own; differentiable (the gradient passes unchanged)."""
        return Clone.apply(self)

    # ---- elementwise math -------------------------------------------------------------------
    def exp(self):
        return Exp.apply(self)

    def log(self):
        return Log.apply(self)

    def sqrt(self):
        return Sqrt.apply(self)

    def abs(self):
        return Abs.apply(self)

    def clamp(self, min=None, max=None):
        """Clip to [min, max] (either may be None). Bounds may be numbers or tensors (broadcast); the
        gradient goes to the input where min <= x <= max, else to the bound that was taken."""
        if min is None and max is None:
            raise ValueError("clamp: at least one of 'min' and 'max' must be given")
        if (min is None or isinstance(min, (int, float))) and (max is None or isinstance(max, (int, float))):
            return Clip.apply(self, lo=min, hi=max)
        out = self
        if min is not None:
            lo = self._other(min)
            out = Where.apply(lo, out, cond=out.data < lo.data)
        if max is not None:
            hi = self._other(max)
            out = Where.apply(hi, out, cond=out.data > hi.data)
        return out

    clip = clamp

    def maximum(self, other):
        """The elementwise maximum with `other` (broadcast); ties split the gradient in halves."""
        return Maximum.apply(self, self._other(other), sign=1)

    def minimum(self, other):
        """The elementwise minimum with `other` (broadcast); ties split the gradient in halves."""
        return Maximum.apply(self, self._other(other), sign=-1)

    def where(self, condition, other):
        """self where `condition` holds, else `other` (PyTorch's `x.where(cond, y)`)."""
        cond = condition.data if hasattr(condition, "_ctx") else self.xp.asarray(condition)
        if cond.dtype != np.bool_:
            raise TypeError(f"where: 'condition' must be a boolean tensor, got dtype {cond.dtype}")
        return Where.apply(self, self._other(other), cond=cond)

    def pow(self, p):
        return self ** p

    def neg(self):
        return Neg.apply(self)

    # ---- activations (the Functions of dlcore.primitives.activation; dlcore.functional applies the same) --
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
