"""2-D convolution on xp arrays, NHWC: im2col through a strided window view, one GEMM per pass.

Every function takes the checked arrays and the family's ConvGeometry ``g`` (kernels/conv2d.py) and
writes into a preallocated C-contiguous output. conv1d runs here as conv2d with H = 1.
"""
from __future__ import annotations

from .gemm import epilogue


def _windows(xp, x, g):
    """The (N, Ho, Wo, kh, kw, Cin) view of every window of the zero-padded x (windows not copied)."""
    xpad = xp.pad(x, ((0, 0), (g.pt, g.pb), (g.pl, g.pr), (0, 0)))
    s0, s1, s2, s3 = xpad.strides
    return xp.lib.stride_tricks.as_strided(
        xpad, shape=(g.N, g.Ho, g.Wo, g.kh, g.kw, g.Cin),
        strides=(s0, s1 * g.sh, s2 * g.sw, s1 * g.dh, s2 * g.dw, s3))


def _cols(xp, x, g):
    """im2col(x): (N*Ho*Wo, kh*kw*Cin), one row per output pixel."""
    return _windows(xp, x, g).reshape(g.N * g.Ho * g.Wo, g.kh * g.kw * g.Cin)


def forward(xp, x, w, bias, g, activation, y):
    """y := act(conv2d(x, w) + bias)."""
    out = _cols(xp, x, g) @ w.reshape(g.kh * g.kw * g.Cin, g.Cout)
    if bias is not None:
        out += bias
    y[...] = epilogue(xp, out, activation).reshape(y.shape)


def backward_data(xp, dy, w, g, dx):
    """dx := the gradient w.r.t. x: each filter tap's share of dy @ w^T, added where the tap reads."""
    if dy.size == 0 or dx.size == 0:
        dx[...] = 0
        return
    dcols = (dy.reshape(-1, g.Cout) @ w.reshape(-1, g.Cout).T).reshape(g.N, g.Ho, g.Wo, g.kh, g.kw, g.Cin)
    dxp = xp.zeros((g.N, g.H + g.pt + g.pb, g.W + g.pl + g.pr, g.Cin), dtype=dx.dtype)
    for i in range(g.kh):
        for j in range(g.kw):
            h0, w0 = i * g.dh, j * g.dw
            dxp[:, h0:h0 + g.sh * (g.Ho - 1) + 1:g.sh, w0:w0 + g.sw * (g.Wo - 1) + 1:g.sw, :] += dcols[:, :, :, i, j, :]
    dx[...] = dxp[:, g.pt:g.pt + g.H, g.pl:g.pl + g.W, :]


def backward_filter(xp, dy, x, g, dw):
    """dw := im2col(x)^T @ dy."""
    dw[...] = (_cols(xp, x, g).T @ dy.reshape(g.N * g.Ho * g.Wo, g.Cout)).reshape(dw.shape)


def backward_bias(xp, dy, db):
    """db := dy summed over every axis but the last."""
    cout = dy.shape[-1]
    db[...] = dy.reshape(dy.size // cout if cout else 0, cout).sum(axis=0)
