"""Depthwise convolution (multiplier 1) on xp arrays, NHWC: one strided slice of the zero-padded input
per filter tap.

Every function takes the checked, C-contiguous arrays and the ConvGeometry ``g`` of the multiplier-1
convolution (Cin = Cout = C; kernels/depthwise_conv2d.py) and writes into a preallocated output. Tap
(a, b) of every output pixel reads ``xpad[:, a*dh + i*sh, b*dw + k*sw, :]``, the slice ``_tap``.
"""
from __future__ import annotations


def _padded(xp, x, g):
    return xp.pad(x, ((0, 0), (g.pt, g.pb), (g.pl, g.pr), (0, 0)))


def _tap(g, a, b):
    """The (rows, columns) slices of the padded input that filter tap (a, b) reads for all outputs."""
    return (slice(a * g.dh, a * g.dh + g.sh * (g.Ho - 1) + 1, g.sh),
            slice(b * g.dw, b * g.dw + g.sw * (g.Wo - 1) + 1, g.sw))


def forward(xp, x, w, bias, g, y):
    """y := sum over taps of the tap's slice times its filter row w[a, b] (C,), plus bias."""
    if y.size == 0:
        return
    xpad = _padded(xp, x, g)
    acc = xp.zeros(y.shape, dtype=y.dtype)
    for a in range(g.kh):
        for b in range(g.kw):
            rows, cols = _tap(g, a, b)
            acc += xpad[:, rows, cols, :] * w[a, b]
    y[...] = acc if bias is None else acc + bias


def backward_data(xp, dy, w, g, dx):
    """dx := every tap's dy * w[a, b] added back where the tap read."""
    if dy.size == 0 or dx.size == 0:
        dx[...] = 0
        return
    dxp = xp.zeros((g.N, g.H + g.pt + g.pb, g.W + g.pl + g.pr, g.Cin), dtype=dx.dtype)
    for a in range(g.kh):
        for b in range(g.kw):
            rows, cols = _tap(g, a, b)
            dxp[:, rows, cols, :] += dy * w[a, b]
    dx[...] = dxp[:, g.pt:g.pt + g.H, g.pl:g.pl + g.W, :]


def backward_filter(xp, dy, x, g, dw):
    """dw[a, b] := the sum over every output pixel of the tap's slice times dy."""
    if dy.size == 0:
        dw[...] = 0
        return
    xpad = _padded(xp, x, g)
    for a in range(g.kh):
        for b in range(g.kw):
            rows, cols = _tap(g, a, b)
            dw[a, b] = (xpad[:, rows, cols, :] * dy).sum(axis=(0, 1, 2))
