"""Upsampling by integer factors on xp arrays, NHWC: nearest by repetition, bilinear as gathers of
each axis's two taps (the backward pass scatters them back).

Every function takes the checked arrays and the family's UpsampleGeometry ``g``
(kernels/upsample2d.py) and writes into a preallocated output. The bilinear taps of an axis of
``L`` inputs upsampled by ``f``: output o reads ``1 - frac`` of ``i0`` and ``frac`` of ``i1``, with
``src = max((o + 0.5) / f - 0.5, 0)``, ``i0 = floor(src)``, ``i1 = min(i0 + 1, L - 1)``,
``frac = src - i0``.
"""
from __future__ import annotations

from ._xp import scatter_add


def _taps(xp, length, f, dtype):
    """(i0, i1, w0, w1) of every output position of an axis: output o reads inputs i0[o] and i1[o]
    with weights w0[o] = 1 - frac and w1[o] = frac."""
    o = xp.arange(length * f, dtype=xp.float64)
    src = xp.maximum((o + 0.5) / f - 0.5, 0.0)
    i0 = xp.minimum(xp.floor(src), length - 1)
    i1 = xp.minimum(i0 + 1, length - 1)
    frac = src - i0
    return i0.astype(xp.int64), i1.astype(xp.int64), (1.0 - frac).astype(dtype), frac.astype(dtype)


def _shape(w, axis, ndim):
    return w.reshape((-1,) + (1,) * (ndim - axis - 1))


def _lerp(xp, a, axis, length, f):
    """a interpolated along `axis` (bilinear taps): a gather of both taps, never a product with a
    matrix of weights, so a NaN or an infinity reaches only the outputs that read it (a matmul would
    multiply it by the zero weights of every other output)."""
    i0, i1, w0, w1 = _taps(xp, length, f, a.dtype)
    return (xp.take(a, i0, axis=axis) * _shape(w0, axis, a.ndim) +
            xp.take(a, i1, axis=axis) * _shape(w1, axis, a.ndim))


def _lerp_backward(xp, g, axis, length, f):
    """The transpose of _lerp: each output's gradient added to the inputs it read with a nonzero
    weight (a tap of weight 0 passes nothing, not even a NaN, as in the C++ and CUDA kernels)."""
    i0, i1, w0, w1 = _taps(xp, length, f, g.dtype)
    g = xp.moveaxis(g, axis, 0)
    out = xp.zeros((length,) + g.shape[1:], dtype=g.dtype)
    for i, w in ((i0, w0), (i1, w1)):
        w = w.reshape((-1,) + (1,) * (g.ndim - 1))
        scatter_add(xp, out, i, xp.where(w != 0, g * w, 0))
    return xp.moveaxis(out, 0, axis)


def forward(xp, x, g, mode, y):
    if y.size == 0:
        return
    if mode == "nearest":
        y[...] = xp.repeat(xp.repeat(x, g.fh, axis=1), g.fw, axis=2)
        return
    y[...] = _lerp(xp, _lerp(xp, x, 1, g.H, g.fh), 2, g.W, g.fw)


def backward(xp, dy, g, mode, dx):
    if dx.size == 0:
        return
    if mode == "nearest":
        dx[...] = dy.reshape(g.N, g.H, g.fh, g.W, g.fw, g.C).sum(axis=(2, 4))
        return
    dx[...] = _lerp_backward(xp, _lerp_backward(xp, dy, 2, g.W, g.fw), 1, g.H, g.fh)
