"""The reductions of Tensor: sum, mean, max, min, var, std, cumsum, argmax, argmin.

`ReduceMethods` is a base class of `dlcore.tensor.Tensor`, like `TensorMethods` (whose hooks and
argument helpers it shares): each method applies one Function of `dlcore.primitives.reduce`
(argmax / argmin compute indices, without a gradient). Reductions take NumPy's `axis` / `keepdims`
and PyTorch's `dim` / `keepdim` alike.
"""
from __future__ import annotations

import numpy as np

from .primitives import Cumsum, Max, Mean, Sum
from .tensor_methods import _axis, _axis_arg, _pick


class ReduceMethods:
    """The reductions; mixed into `Tensor` (see the module docstring)."""

    __slots__ = ()

    # ---- reductions -------------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _pick("sum", axis, dim), _pick("sum", keepdims or None, keepdim, "keepdims", "keepdim")
        return Sum.apply(self, axis=_axis(axis), keepdims=bool(keepdims))

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _pick("mean", axis, dim), _pick("mean", keepdims or None, keepdim, "keepdims", "keepdim")
        return Mean.apply(self, axis=_axis(axis), keepdims=bool(keepdims))

    def max(self, axis=None, keepdims=False):
        return Max.apply(self, axis=_axis(axis), keepdims=keepdims, sign=1)

    def min(self, axis=None, keepdims=False):
        return Max.apply(self, axis=_axis(axis), keepdims=keepdims, sign=-1)

    def var(self, axis=None, keepdims=False, *, correction=None, ddof=None, unbiased=None, dim=None, keepdim=None):
        """Variance over `axis` (all axes by default): sum((x - mean)^2) / (N - correction).

        `correction` (PyTorch) = `ddof` (NumPy); `unbiased=True` is correction 1. The default is 0,
        the population variance, as in NumPy and Keras (`keras.ops.var`); PyTorch's `var` defaults
        to 1: pass `correction=1` for its result.
        """
        axis = _axis(_pick("var", axis, dim))
        keepdims = bool(_pick("var", keepdims or None, keepdim, "keepdims", "keepdim"))
        c = _correction("var", correction, ddof, unbiased)
        m = self.mean(axis, keepdims=True)
        d = self - m
        n = self.size // max(m.size, 1) if self.size else 0
        return (d * d).sum(axis, keepdims=keepdims) / max(n - c, 0)

    def std(self, axis=None, keepdims=False, *, correction=None, ddof=None, unbiased=None, dim=None, keepdim=None):
        """Standard deviation: the square root of `var` (same arguments; population by default)."""
        return self.var(axis, keepdims, correction=correction, ddof=ddof, unbiased=unbiased, dim=dim,
                        keepdim=keepdim).sqrt()

    def cumsum(self, axis=None, *, dim=None):
        """Cumulative sum along `axis` (`dim`); None sums over the flattened tensor, as NumPy does."""
        axis = _pick("cumsum", axis, dim)
        if axis is not None:
            axis = _axis_arg("cumsum", axis, self.ndim)
        return Cumsum.apply(self, axis=axis)

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Indices of the maxima along `axis` (over the flattened tensor when None); int64, no gradient."""
        return self._arg("argmax", axis, keepdims, dim, keepdim)

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Indices of the minima along `axis` (over the flattened tensor when None); int64, no gradient."""
        return self._arg("argmin", axis, keepdims, dim, keepdim)

    def _arg(self, op, axis, keepdims, dim, keepdim):
        axis = _pick(op, axis, dim)
        keepdims = bool(_pick(op, keepdims or None, keepdim, "keepdims", "keepdim"))
        if axis is not None:
            axis = _axis_arg(op, axis, self.ndim)
        if self.size == 0:
            raise ValueError(f"{op}: the tensor is empty (shape {self.shape}); there is no extreme to point at")
        out = getattr(self.data, op)(axis=axis)
        if keepdims:
            out = out.reshape((1,) * self.ndim) if axis is None else self.xp.expand_dims(out, axis)
        return self._wrap(out.astype(np.int64, copy=False), None, 0)


def _correction(op, correction, ddof, unbiased):
    given = [(n, v) for n, v in (("correction", correction), ("ddof", ddof), ("unbiased", unbiased)) if v is not None]
    if len(given) > 1:
        raise TypeError(f"{op}: pass one of 'correction', 'ddof' and 'unbiased', got {[n for n, _ in given]}")
    if not given:
        return 0
    name, value = given[0]
    if name == "unbiased":
        return 1 if value else 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{op}: '{name}' must be a non-negative number, got {value!r}")
    return value
