"""Max / average pooling on xp arrays, NHWC, through strided window views.

Every function takes the checked arrays and the family's PoolGeometry ``g`` (kernels/pool2d.py) and
writes into a preallocated output. Padded positions never take part: they are -inf for the maximum
and are not counted by the average. Max pooling's backward sends each window's gradient to its first
argmax (row-major in the window), recomputed from x.
"""
from __future__ import annotations


def _padded(xp, x, g, value):
    """x padded with `value` so that every window lies inside: (N, Hp, Wp, C)."""
    pb = max((g.Ho - 1) * g.sh + g.kh - g.H - g.pt, 0)
    pr = max((g.Wo - 1) * g.sw + g.kw - g.W - g.pl, 0)
    return xp.pad(x, ((0, 0), (g.pt, pb), (g.pl, pr), (0, 0)), constant_values=value)


def _windows(xp, xpad, g):
    """The (N, Ho, Wo, kh, kw, C) view of every window of the padded input."""
    s0, s1, s2, s3 = xpad.strides
    return xp.lib.stride_tricks.as_strided(
        xpad, shape=(xpad.shape[0], g.Ho, g.Wo, g.kh, g.kw, xpad.shape[3]),
        strides=(s0, s1 * g.sh, s2 * g.sw, s1, s2, s3))


def _counts(xp, g, dtype):
    """(Ho, Wo, 1): the number of in-image positions of each window."""
    ones = xp.ones((1, g.H, g.W, 1), dtype=dtype)
    return _windows(xp, _padded(xp, ones, g, 0), g).sum(axis=(3, 4))[0]


def _scatter_taps(xp, g, dx, contribution):
    """dx := the sum over window taps (i, j) of contribution(i, j) (N, Ho, Wo, C), placed where the
    tap reads."""
    hp = max((g.Ho - 1) * g.sh + g.kh, g.H + g.pt)
    wp = max((g.Wo - 1) * g.sw + g.kw, g.W + g.pl)
    dxp = xp.zeros((g.N, hp, wp, g.C), dtype=dx.dtype)
    for i in range(g.kh):
        for j in range(g.kw):
            dxp[:, i:i + g.sh * (g.Ho - 1) + 1:g.sh, j:j + g.sw * (g.Wo - 1) + 1:g.sw, :] += contribution(i, j)
    dx[...] = dxp[:, g.pt:g.pt + g.H, g.pl:g.pl + g.W, :]


def max_forward(xp, x, g, y):
    if y.size:
        y[...] = _windows(xp, _padded(xp, x, g, -xp.inf), g).max(axis=(3, 4))


def max_backward(xp, dy, x, g, dx):
    if dy.size == 0 or dx.size == 0:
        dx[...] = 0
        return
    taps = (g.N, g.Ho, g.Wo, g.kh * g.kw, g.C)
    win = _windows(xp, _padded(xp, x, g, -xp.inf), g).reshape(taps)
    first = win.argmax(axis=3)  # NumPy / CuPy: the first NaN
    # A window whose in-image values are all -inf ties with its padding: its gradient goes to its
    # first in-image position (as the C++ and CUDA kernels, and PyTorch), never to the padding.
    inside = _windows(xp, _padded(xp, xp.ones((1, g.H, g.W, 1), dtype=bool), g, False), g)
    first_inside = inside.reshape((1,) + taps[1:4] + (1,)).argmax(axis=3)
    all_minus_inf = xp.take_along_axis(win, first[:, :, :, None, :], axis=3)[:, :, :, 0, :] == -xp.inf
    first = xp.where(all_minus_inf, first_inside, first)
    _scatter_taps(xp, g, dx, lambda i, j: xp.where(first == i * g.kw + j, dy, 0))  # dy * mask would spread a NaN dy


def avg_forward(xp, x, g, y):
    if y.size:
        y[...] = _windows(xp, _padded(xp, x, g, 0), g).sum(axis=(3, 4)) / _counts(xp, g, x.dtype)


def avg_backward(xp, dy, g, dx):
    if dy.size == 0 or dx.size == 0:
        dx[...] = 0
        return
    scaled = dy / _counts(xp, g, dy.dtype)
    _scatter_taps(xp, g, dx, lambda i, j: scaled)


def global_avg_forward(xp, x, y):
    y[...] = x.mean(axis=(1, 2))


def global_avg_backward(xp, dy, dx):
    _, h, w, _ = dx.shape
    dx[...] = (dy / (h * w))[:, None, None, :]


def global_max_forward(xp, x, y):
    y[...] = x.max(axis=(1, 2))


def global_max_backward(xp, dy, x, dx):
    """dx: dy[n, c] at the first (row-major) argmax of x[n, :, :, c], zero elsewhere."""
    n, h, w, c = x.shape
    if dx.size == 0:
        return
    first = x.reshape(n, h * w, c).argmax(axis=1)  # (N, C), the first occurrence
    hit = xp.arange(h * w).reshape(1, h * w, 1) == first.reshape(n, 1, c)
    dx[...] = xp.where(hit, dy.reshape(n, 1, c), 0).reshape(x.shape)  # hit * dy would spread a NaN dy
