"""Upsampling by integer factors on xp arrays, NHWC: nearest by repetition, bilinear as a product with
each axis's interpolation matrix.

Every function takes the checked arrays and the family's UpsampleGeometry ``g``
(kernels/upsample2d.py) and writes into a preallocated output. The bilinear matrix of an axis of
``L`` inputs upsampled by ``f`` is (L*f, L): row o holds ``1 - frac`` at ``i0`` and ``frac`` at ``i1``
with ``src = max((o + 0.5) / f - 0.5, 0)``, ``i0 = floor(src)``, ``i1 = min(i0 + 1, L - 1)``,
``frac = src - i0``; the backward pass multiplies by its transpose.
"""
from __future__ import annotations


def _matrix(xp, length, f, dtype):
    o = xp.arange(length * f, dtype=xp.float64)
    src = xp.maximum((o + 0.5) / f - 0.5, 0.0)
    i0 = xp.minimum(xp.floor(src), length - 1)
    i1 = xp.minimum(i0 + 1, length - 1)
    frac = src - i0
    cols = xp.arange(length, dtype=xp.float64)[None, :]
    m = (1.0 - frac)[:, None] * (i0[:, None] == cols) + frac[:, None] * (i1[:, None] == cols)
    return m.astype(dtype)


def forward(xp, x, g, mode, y):
    if y.size == 0:
        return
    if mode == "nearest":
        y[...] = xp.repeat(xp.repeat(x, g.fh, axis=1), g.fw, axis=2)
        return
    ho, wo = g.H * g.fh, g.W * g.fw
    rows = xp.matmul(_matrix(xp, g.H, g.fh, x.dtype), x.reshape(g.N, g.H, g.W * g.C))  # (N, Ho, W*C)
    y[...] = xp.matmul(_matrix(xp, g.W, g.fw, x.dtype), rows.reshape(g.N * ho, g.W, g.C)).reshape(g.N, ho, wo, g.C)


def backward(xp, dy, g, mode, dx):
    if dx.size == 0:
        return
    if mode == "nearest":
        dx[...] = dy.reshape(g.N, g.H, g.fh, g.W, g.fw, g.C).sum(axis=(2, 4))
        return
    ho, wo = g.H * g.fh, g.W * g.fw
    cols = xp.matmul(_matrix(xp, g.W, g.fw, dy.dtype).T, dy.reshape(g.N * ho, wo, g.C))  # (N*Ho, W, C)
    dx[...] = xp.matmul(_matrix(xp, g.H, g.fh, dy.dtype).T, cols.reshape(g.N, ho, g.W * g.C)).reshape(dx.shape)
