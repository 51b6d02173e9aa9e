"""The in-place methods of Tensor: `+=` and friends, `add_`..., `clamp_`, `fill_`, `zero_`, `copy_`,
and item assignment `t[index] = value`.

`InplaceMethods` is a base class of `dlcore.tensor.Tensor`, like `TensorMethods` (whose hook
`_other` it uses). Every in-place change writes into the tensor's own storage (views of it see
the change, as in PyTorch) and bumps its version counter, so that a backward needing the old
values raises instead of using the new ones (see `dlcore.autograd`).

While gradients are recorded and the tensor or the operand requires them, the change is itself
differentiable: the op runs on a stand-in holding the tensor's past (its history, and its values
when the op's backward reads them), and the tensor takes the op's node as its new history. Nodes
recorded before keep seeing the tensor as it was. Two changes are refused with a RuntimeError
rather than giving a wrong gradient:

- a leaf that requires grad (a weight): change it under `dl.no_grad()`, as optimizers do;
- a tensor that shares its storage with another (a view from indexing, reshape, transpose,
  expand, split, or `detach()`): the other tensor's history would not follow. Change a `clone()`.

Changes through `.data` (the raw array) are not seen, as in PyTorch: `.data` is the escape hatch.
"""
from __future__ import annotations

import numpy as np

from .autograd import _bump, is_grad_enabled, no_grad
from .primitives import Add, Div, Mul, Pow, PowScalar, SetItem, Sub


def _plain_index(index):
    """An index with Tensors replaced by their arrays (they index; they carry no gradient)."""
    if hasattr(index, "_ctx"):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if hasattr(i, "_ctx") else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


class InplaceMethods:
    """In-place ops and item assignment; mixed into `Tensor` (see the module docstring)."""

    __slots__ = ()

    @property
    def _version(self):
        """How many in-place changes the tensor's storage has seen (PyTorch's `t._version`)."""
        return 0 if self._vc is None else self._vc[0]

    def _inplace(self, op, make, *operands, reads_self=False):
        """self <- make(self, *operands), written into self's storage. `reads_self`: the op's backward
        reads its first input's values (they are kept in a copy when recording)."""
        others = [self._other(o) for o in operands]
        track = is_grad_enabled() and (self.requires_grad or any(o.requires_grad for o in others))
        if track:
            if self.requires_grad and self._ctx is None:
                raise RuntimeError(
                    f"{op}: a leaf tensor that requires grad (shape {self.shape}) cannot be changed in place while "
                    f"gradients are recorded: its gradient would no longer match its value. Change it under "
                    f"dl.no_grad() (as an optimizer step does), or change a copy (t.clone())")
            if self._vc is not None and self._vc[1]:
                raise RuntimeError(
                    f"{op}: this tensor (shape {self.shape}) shares its storage with another tensor (a view made by "
                    f"indexing, reshape, transpose, expand, split or detach()), whose gradient would not follow an "
                    f"in-place change made while recording; change a copy (t.clone()) instead, or build the result "
                    f"out of place (dl.where, dl.concatenate, dl.stack)")
            past = self._wrap(self.data.copy() if reads_self else self.data, self._ctx, self._index)
            new = make(past, *others)
        else:
            with no_grad():
                new = make(self, *others)
        if new.shape != self.shape:
            raise ValueError(f"{op}: the result has shape {new.shape}, not the tensor's {self.shape} (operand shapes "
                             f"{[o.shape for o in others]}): an in-place op cannot change a tensor's shape")
        if new.data is not self.data:
            if new.dtype != self.dtype and not np.can_cast(new.dtype, self.dtype, "same_kind"):
                raise TypeError(f"{op}: the result has dtype {new.dtype}, which cannot be stored in place in a "
                                f"tensor of dtype {self.dtype}; convert the tensor first (t.astype('{new.dtype}'))")
            self.data[...] = new.data
        version = _bump(self)
        if track:
            node = new._ctx
            node.rebase_version = version
            self._ctx, self._index, self.requires_grad = node, new._index, True
        return self

    # ---- arithmetic in place ----------------------------------------------------------------
    def __iadd__(self, o):
        return self._inplace("+=", Add.apply, o)

    def __isub__(self, o):
        return self._inplace("-=", Sub.apply, o)

    def __imul__(self, o):  # Mul reads the tensor's old values only for the operand's gradient
        return self._inplace("mul_", Mul.apply, o, reads_self=getattr(o, "requires_grad", False))

    def __itruediv__(self, o):
        return self._inplace("div_", Div.apply, o, reads_self=getattr(o, "requires_grad", False))

    def __ipow__(self, o):
        if isinstance(o, (int, float)):
            return self._inplace("**=", lambda t: PowScalar.apply(t, p=o), reads_self=True)
        return self._inplace("**=", Pow.apply, o, reads_self=True)

    def add_(self, other, alpha=1):
        """self += alpha * other, in place."""
        return self._inplace("add_", Add.apply, other if alpha == 1 else self._other(other) * alpha)

    def sub_(self, other, alpha=1):
        """self -= alpha * other, in place."""
        return self._inplace("sub_", Sub.apply, other if alpha == 1 else self._other(other) * alpha)

    def mul_(self, other):
        return self.__imul__(other)

    def div_(self, other):
        return self.__itruediv__(other)

    def pow_(self, exponent):
        return self.__ipow__(exponent)

    def clamp_(self, min=None, max=None):
        """clamp (see `Tensor.clamp`), in place."""
        return self._inplace("clamp_", lambda t: t.clamp(min, max), reads_self=True)

    clip_ = clamp_

    # ---- assignment -------------------------------------------------------------------------
    def __setitem__(self, index, value):
        """t[index] = value: differentiable with respect to the tensor and the value."""
        index = _plain_index(index)
        try:
            return self._inplace("__setitem__", lambda t, v: SetItem.apply(t, v, index=index), value)
        except ValueError as e:
            if "could not broadcast" not in str(e) and "shape mismatch" not in str(e):
                raise
            raise ValueError(f"__setitem__: cannot assign a value of shape {np.shape(value)} to the entries "
                             f"{index!r} of a tensor of shape {self.shape}: {e}") from None

    def fill_(self, value):
        """Every entry set to `value` (a number or a one-element tensor), in place."""
        return self._inplace("fill_", lambda t, v: SetItem.apply(t, v, index=Ellipsis), value)

    def zero_(self):
        return self.fill_(0)

    def copy_(self, src):
        """The values of `src` (broadcast to this shape) copied into this tensor; differentiable."""
        return self._inplace("copy_", lambda t, v: SetItem.apply(t, v, index=Ellipsis), src)
