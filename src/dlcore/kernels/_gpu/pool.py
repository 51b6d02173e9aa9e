"""Max / average pooling on CuPy arrays, NHWC (see docs/kernel_api.md).

x (N, H, W, C) -> y (N, Ho, Wo, C). "same" pads so that Ho = ceil(H / s), the extra row/column at the
bottom/right; padded positions are never the max and are not counted in the average (Keras).
Max backward sends each window's gradient to its first argmax (row-major in the window).
CUDA version: csrc/cuda/pool2d.cu. Fallback: strided window views, and one scatter-add per tap.
"""
from __future__ import annotations

import math

from .._validate import check_ndim, gpu_float_array, same_dtype
from ._backends import register
from .conv import _pair
from .device import cp, is_f64, ptr, stream


def pool_geometry(x_shape, pool_size, strides, padding, op):
    x_shape = tuple(x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"{op}: 'x' must be 4-D (N, H, W, C), got shape {x_shape}")
    N, H, W, C = x_shape
    kh, kw = _pair(pool_size, op, "pool_size")
    sh, sw = _pair(pool_size if strides is None else strides, op, "strides")
    pad = padding.lower() if isinstance(padding, str) else padding
    if pad == "valid":
        Ho, Wo, pt, pl = (H - kh) // sh + 1, (W - kw) // sw + 1, 0, 0
        if H < kh or W < kw:
            raise ValueError(f"{op}: pool_size {(kh, kw)} is larger than the input {(H, W)} (x.shape {x_shape}) "
                             f"with padding 'valid'")
    elif pad == "same":
        Ho, Wo = math.ceil(H / sh), math.ceil(W / sw)
        pt = max((Ho - 1) * sh + kh - H, 0) // 2
        pl = max((Wo - 1) * sw + kw - W, 0) // 2
    else:
        raise ValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    return dict(N=N, H=H, W=W, C=C, Ho=Ho, Wo=Wo, kh=kh, kw=kw, sh=sh, sw=sw, pt=pt, pl=pl)


def _geom_list(g):
    return [g[k] for k in ("N", "H", "W", "C", "Ho", "Wo", "kh", "kw", "sh", "sw", "pt", "pl")]


def _padded(x, g, value):
    """x padded with `value` so that every window lies inside: (N, Hp, Wp, C)."""
    pb = max((g["Ho"] - 1) * g["sh"] + g["kh"] - g["H"] - g["pt"], 0)
    pr = max((g["Wo"] - 1) * g["sw"] + g["kw"] - g["W"] - g["pl"], 0)
    return cp.pad(x, ((0, 0), (g["pt"], pb), (g["pl"], pr), (0, 0)), constant_values=value)


def _windows(xp, g):
    s0, s1, s2, s3 = xp.strides
    return cp.lib.stride_tricks.as_strided(
        xp, shape=(g["N"], g["Ho"], g["Wo"], g["kh"], g["kw"], g["C"]),
        strides=(s0, s1 * g["sh"], s2 * g["sw"], s1, s2, s3))


def _counts(g, dtype):
    """(Ho, Wo, 1) number of in-image positions of each window."""
    ones = cp.ones((1, g["H"], g["W"], 1), dtype=dtype)
    return _windows(_padded(ones, dict(g, N=1, C=1), 0), dict(g, N=1, C=1)).sum(axis=(3, 4))[0]


def _scatter_taps(g, dtype, contribution):
    """dx from per-tap contributions: dx_pad[window (i, j) positions] += contribution(i, j)."""
    xp_shape = (g["N"], (g["Ho"] - 1) * g["sh"] + g["kh"], (g["Wo"] - 1) * g["sw"] + g["kw"], g["C"])
    Hp, Wp = max(xp_shape[1], g["H"] + g["pt"]), max(xp_shape[2], g["W"] + g["pl"])
    dxp = cp.zeros((g["N"], Hp, Wp, g["C"]), dtype=dtype)
    for i in range(g["kh"]):
        for j in range(g["kw"]):
            dxp[:, i:i + g["sh"] * (g["Ho"] - 1) + 1:g["sh"], j:j + g["sw"] * (g["Wo"] - 1) + 1:g["sw"], :] += \
                contribution(i, j)
    return cp.ascontiguousarray(dxp[:, g["pt"]:g["pt"] + g["H"], g["pl"]:g["pl"] + g["W"], :])


def _x4(x, op, name="x"):
    x = gpu_float_array(x, op, name)
    check_ndim(x, 4, op, name, "(N, H, W, C)")
    return x


def _check_dy(dy, g, op):
    expect = (g["N"], g["Ho"], g["Wo"], g["C"])
    if tuple(dy.shape) != expect:
        raise ValueError(f"{op}: 'dy' must have shape {expect}, got {dy.shape}")


def max_pool2d_forward(x, pool_size=2, strides=None, padding="valid", *, _cuda):
    op = "max_pool2d_forward"
    x = _x4(x, op)
    g = pool_geometry(x.shape, pool_size, strides, padding, op)
    y = cp.empty((g["N"], g["Ho"], g["Wo"], g["C"]), dtype=x.dtype)
    if y.size == 0:
        return y
    if _cuda is None:
        y[...] = _windows(_padded(x, g, -cp.inf), g).max(axis=(3, 4))
    else:
        x = cp.ascontiguousarray(x)
        _cuda.max_pool2d_forward(_geom_list(g), ptr(x), ptr(y), is_f64(x.dtype), stream())
    return y


def max_pool2d_backward(dy, x, pool_size=2, strides=None, padding="valid", *, _cuda):
    op = "max_pool2d_backward"
    dy = gpu_float_array(dy, op, "dy")
    x = _x4(x, op)
    dtype = same_dtype(op, dy=dy, x=x)
    g = pool_geometry(x.shape, pool_size, strides, padding, op)
    _check_dy(dy, g, op)
    if x.size == 0 or dy.size == 0:
        return cp.zeros(x.shape, dtype=dtype)
    if _cuda is None:
        win = _windows(_padded(x, g, -cp.inf), g)
        first = win.reshape(g["N"], g["Ho"], g["Wo"], g["kh"] * g["kw"], g["C"]).argmax(axis=3)
        return _scatter_taps(g, dtype, lambda i, j: dy * (first == i * g["kw"] + j))
    dx = cp.empty(x.shape, dtype=dtype)
    dy, x = cp.ascontiguousarray(dy), cp.ascontiguousarray(x)
    _cuda.max_pool2d_backward(_geom_list(g), ptr(dy), ptr(x), ptr(dx), is_f64(dtype), stream())
    return dx


def avg_pool2d_forward(x, pool_size=2, strides=None, padding="valid", *, _cuda):
    op = "avg_pool2d_forward"
    x = _x4(x, op)
    g = pool_geometry(x.shape, pool_size, strides, padding, op)
    y = cp.empty((g["N"], g["Ho"], g["Wo"], g["C"]), dtype=x.dtype)
    if y.size == 0:
        return y
    if _cuda is None:
        y[...] = _windows(_padded(x, g, 0), g).sum(axis=(3, 4)) / _counts(g, x.dtype)
    else:
        x = cp.ascontiguousarray(x)
        _cuda.avg_pool2d_forward(_geom_list(g), ptr(x), ptr(y), is_f64(x.dtype), stream())
    return y


def avg_pool2d_backward(dy, x_shape, pool_size=2, strides=None, padding="valid", *, _cuda):
    op = "avg_pool2d_backward"
    dy = gpu_float_array(dy, op, "dy")
    g = pool_geometry(x_shape, pool_size, strides, padding, op)
    _check_dy(dy, g, op)
    x_shape = tuple(x_shape)
    if dy.size == 0 or math.prod(x_shape) == 0:
        return cp.zeros(x_shape, dtype=dy.dtype)
    if _cuda is None:
        scaled = dy / _counts(g, dy.dtype)
        return _scatter_taps(g, dy.dtype, lambda i, j: scaled)
    dx = cp.empty(x_shape, dtype=dy.dtype)
    dy = cp.ascontiguousarray(dy)
    _cuda.avg_pool2d_backward(_geom_list(g), ptr(dy), ptr(dx), is_f64(dy.dtype), stream())
    return dx


def global_avg_pool2d_forward(x, *, _cuda):
    op = "global_avg_pool2d_forward"
    x = _x4(x, op)
    N, H, W, C = x.shape
    if H * W == 0:
        raise ValueError(f"{op}: the image must not be empty, got x.shape {x.shape}")
    if _cuda is None:
        return x.mean(axis=(1, 2))
    y = cp.empty((N, C), dtype=x.dtype)
    x = cp.ascontiguousarray(x)
    _cuda.global_avg_pool2d_forward(N, H * W, C, ptr(x), ptr(y), is_f64(x.dtype), stream())
    return y


def global_avg_pool2d_backward(dy, x_shape, *, _cuda):
    op = "global_avg_pool2d_backward"
    dy = gpu_float_array(dy, op, "dy")
    x_shape = tuple(x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"{op}: 'x_shape' must be (N, H, W, C), got {x_shape}")
    N, H, W, C = x_shape
    if tuple(dy.shape) != (N, C):
        raise ValueError(f"{op}: 'dy' must have shape {(N, C)} for x_shape {x_shape}, got {dy.shape}")
    if _cuda is None:
        return cp.ascontiguousarray(cp.broadcast_to((dy / (H * W))[:, None, None, :], x_shape))
    dx = cp.empty(x_shape, dtype=dy.dtype)
    dy = cp.ascontiguousarray(dy)
    _cuda.global_avg_pool2d_backward(N, H * W, C, ptr(dy), ptr(dx), is_f64(dy.dtype), stream())
    return dx


FALLBACK, CUDA = {}, {}
register(FALLBACK, CUDA, max_pool2d_forward, max_pool2d_backward, avg_pool2d_forward, avg_pool2d_backward,
         global_avg_pool2d_forward, global_avg_pool2d_backward)
