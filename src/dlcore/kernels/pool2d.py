"""Pooling on arrays, NHWC (Keras's layout): max, average, global average and global max, forward and
backward; 1-D pooling of sequences (N, L, C) on the same kernels.

``pool_size`` and ``strides`` are an int or a pair (``strides=None`` means ``pool_size``); ``padding``
is "valid" (windows inside the image) or "same" (Keras/TensorFlow: ``ceil(H / s)`` outputs, total
padding ``max((Ho - 1)*s + k - H, 0)``, the odd one at the bottom/right). Padding never takes part:
it is not a candidate for the maximum and not counted by the average.

Max pooling's backward routes each gradient to the first position (row-major within the window)
that holds the window's maximum, recomputed from x. Every entry checks its arguments once and
computes one PoolGeometry for the backends: cpu, csrc/cpu/pool2d.cpp; cuda, csrc/cuda/pool2d.cu;
fallback, fallback/pool2d.py (strided window views).
"""
from __future__ import annotations

import math
from typing import NamedTuple

from .. import _C
from ._device import cuda, f64, ptr, stream
from ._validate import (MAX_EXTENT, check_ndim, contiguous, float_array, is_int, same_dtype, shape_arg)
from .backend import CPU, CUDA, FALLBACK, select
from .fallback import pool2d as fallback


class PoolGeometry(NamedTuple):
    """Every size of one 2-D pooling, computed once per call and shared by the backends (the order
    of cuda::PoolGeom)."""
    N: int
    H: int
    W: int
    C: int
    Ho: int
    Wo: int
    kh: int
    kw: int
    sh: int
    sw: int
    pt: int
    pl: int

    @property
    def y_shape(self):
        return (self.N, self.Ho, self.Wo, self.C)

    def cpu(self):
        """The geometry tuple of dlcore._C's pooling: (kh, kw, sh, sw, pad_top, pad_left)."""
        return (self.kh, self.kw, self.sh, self.sw, self.pt, self.pl)

    def cuda(self):
        """The geometry list of dlcore._cuda's pooling (cuda::PoolGeom)."""
        return list(self)


def _pair(value, op, name):
    def ok(v):
        return is_int(v) and 1 <= v <= MAX_EXTENT
    if ok(value):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(ok(v) for v in value):
        return int(value[0]), int(value[1])
    raise ValueError(f"{op}: '{name}' must be a positive int or a pair of positive ints, got {value!r} "
                     f"(each at most 2^31 - 1)")


def pool2d_geometry(x_shape, pool_size, strides, padding, op) -> PoolGeometry:
    """Checks the arguments of one pooling; returns its PoolGeometry."""
    x_shape = tuple(int(v) for v in x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"{op}: input must be 4-D (N, H, W, C), got shape {x_shape}")
    if min(x_shape) < 0:
        raise ValueError(f"{op}: negative dimension in input shape {x_shape}")
    n, h, w, c = x_shape
    kh, kw = _pair(pool_size, op, "pool_size")
    sh, sw = _pair(pool_size if strides is None else strides, op, "strides")
    mode = padding.lower() if isinstance(padding, str) else None
    if mode == "valid":
        if h < kh or w < kw:
            raise ValueError(f"{op}: pool window {kh}x{kw} is larger than the input {h}x{w} (input shape {x_shape}, "
                             f"padding 'valid')")
        ho, wo, pt, pl = (h - kh) // sh + 1, (w - kw) // sw + 1, 0, 0
    elif mode == "same":
        ho, wo = math.ceil(h / sh), math.ceil(w / sw)
        pt = max((ho - 1) * sh + kh - h, 0) // 2
        pl = max((wo - 1) * sw + kw - w, 0) // 2
    else:
        raise ValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    return PoolGeometry(n, h, w, c, ho, wo, kh, kw, sh, sw, pt, pl)


def pool2d_output_shape(x_shape, pool_size=2, strides=None, padding="valid"):
    """The output shape (N, Ho, Wo, C) of 2-D pooling for these arguments."""
    op = "pool2d_output_shape"
    return pool2d_geometry(shape_arg(x_shape, op, "x_shape"), pool_size, strides, padding, op).y_shape


def _check_dy(dy, y_shape, x_shape, op):
    if tuple(dy.shape) != tuple(y_shape):
        raise ValueError(f"{op}: 'dy' must have shape {tuple(y_shape)} (the output for input {tuple(x_shape)}), "
                         f"got {tuple(dy.shape)}")


def _run_forward(xp, backend, kind, x, g):
    """y (g.y_shape) := the max / average pooling of the checked x."""
    y = xp.empty(g.y_shape, dtype=x.dtype)
    x = contiguous(xp, x)
    if backend == CPU:
        getattr(_C, f"{kind}_pool2d_forward")(x, y, g.cpu())
    elif backend == CUDA:
        if y.size and kind == "max":
            cuda().max_pool2d_forward(g.cuda(), ptr(x), ptr(y), f64(y), stream())
        elif y.size:
            cuda().avg_pool2d_forward(g.cuda(), ptr(x), ptr(y), f64(y), stream())
    else:
        getattr(fallback, f"{kind}_forward")(xp, x, g, y)
    return y


def _run_max_backward(xp, backend, dy, x, g):
    dx = xp.empty(x.shape, dtype=x.dtype)
    dy, x = contiguous(xp, dy), contiguous(xp, x)
    if backend == CPU:
        _C.max_pool2d_backward(dy, x, dx, g.cpu())
    elif backend == CUDA:
        if dx.size:
            cuda().max_pool2d_backward(g.cuda(), ptr(dy), ptr(x), ptr(dx), f64(dx), stream())
    else:
        fallback.max_backward(xp, dy, x, g, dx)
    return dx


def _run_avg_backward(xp, backend, dy, g):
    dx = xp.empty((g.N, g.H, g.W, g.C), dtype=dy.dtype)
    dy = contiguous(xp, dy)
    if backend == CPU:
        _C.avg_pool2d_backward(dy, dx, g.cpu())
    elif backend == CUDA:
        if dx.size:
            cuda().avg_pool2d_backward(g.cuda(), ptr(dy), ptr(dx), f64(dx), stream())
    else:
        fallback.avg_backward(xp, dy, g, dx)
    return dx


def _forward(kind, x, pool_size, strides, padding):
    op = f"{kind}_pool2d_forward"
    xp, backend = select(op, ("x",), x)
    x = float_array(xp, x, op, "x")
    check_ndim(x, 4, op, "x", "(N, H, W, C)")
    g = pool2d_geometry(x.shape, pool_size, strides, padding, op)
    return _run_forward(xp, backend, kind, x, g)


def max_pool2d_forward(x, pool_size=2, strides=None, padding="valid"):
    """y[n, i, j, c] = max of x[n, window(i, j), c]: (N, H, W, C) -> (N, Ho, Wo, C)."""
    return _forward("max", x, pool_size, strides, padding)


def max_pool2d_backward(dy, x, pool_size=2, strides=None, padding="valid"):
    """dx: each dy[n, i, j, c] added at the first argmax of its window in x[n, :, :, c]."""
    op = "max_pool2d_backward"
    xp, backend = select(op, ("dy", "x"), dy, x)
    dy, x = float_array(xp, dy, op, "dy"), float_array(xp, x, op, "x")
    same_dtype(op, dy=dy, x=x)
    check_ndim(x, 4, op, "x", "(N, H, W, C)")
    g = pool2d_geometry(x.shape, pool_size, strides, padding, op)
    _check_dy(dy, g.y_shape, x.shape, op)
    return _run_max_backward(xp, backend, dy, x, g)


def avg_pool2d_forward(x, pool_size=2, strides=None, padding="valid"):
    """y = mean of x over each window's pixels inside the image: (N, H, W, C) -> (N, Ho, Wo, C)."""
    return _forward("avg", x, pool_size, strides, padding)


def avg_pool2d_backward(dy, x_shape, pool_size=2, strides=None, padding="valid"):
    """dx: dy / (window pixel count) spread over each window; shape ``x_shape``."""
    op = "avg_pool2d_backward"
    xp, backend = select(op, ("dy",), dy)
    dy = float_array(xp, dy, op, "dy")
    x_shape = shape_arg(x_shape, op, "x_shape")
    g = pool2d_geometry(x_shape, pool_size, strides, padding, op)
    _check_dy(dy, g.y_shape, x_shape, op)
    return _run_avg_backward(xp, backend, dy, g)


def global_avg_pool2d_forward(x):
    """y[n, c] = mean of x[n, :, :, c]: (N, H, W, C) -> (N, C)."""
    op = "global_avg_pool2d_forward"
    xp, backend = select(op, ("x",), x)
    x = float_array(xp, x, op, "x")
    check_ndim(x, 4, op, "x", "(N, H, W, C)")
    n, h, w, c = x.shape
    if h * w == 0:
        raise ValueError(f"{op}: the image must have at least one pixel, got input shape {tuple(x.shape)}")
    y = xp.empty((n, c), dtype=x.dtype)
    x = contiguous(xp, x)
    if backend == CPU:
        _C.global_avg_pool2d_forward(x, y)
    elif backend == CUDA:
        cuda().global_avg_pool2d_forward(n, h * w, c, ptr(x), ptr(y), f64(y), stream())
    else:
        fallback.global_avg_forward(xp, x, y)
    return y


def global_avg_pool2d_backward(dy, x_shape):
    """dx[n, h, w, c] = dy[n, c] / (H*W); shape ``x_shape``."""
    op = "global_avg_pool2d_backward"
    xp, backend = select(op, ("dy",), dy)
    dy = float_array(xp, dy, op, "dy")
    x_shape = shape_arg(x_shape, op, "x_shape")
    if len(x_shape) != 4:
        raise ValueError(f"{op}: 'x_shape' must be 4-D (N, H, W, C), got {x_shape}")
    n, h, w, c = x_shape
    if min(x_shape) < 0 or h * w == 0:
        raise ValueError(f"{op}: the image must have at least one pixel, got x_shape {x_shape}")
    if tuple(dy.shape) != (n, c):
        raise ValueError(f"{op}: 'dy' must have shape {(n, c)} for input {x_shape}, got {tuple(dy.shape)}")
    dx = xp.empty(x_shape, dtype=dy.dtype)
    dy = contiguous(xp, dy)
    if backend == CPU:
        _C.global_avg_pool2d_backward(dy, dx)
    elif backend == CUDA:
        cuda().global_avg_pool2d_backward(n, h * w, c, ptr(dy), ptr(dx), f64(dx), stream())
    else:
        fallback.global_avg_backward(xp, dy, dx)
    return dx


# --------------------------------------------------------------------------- global max pooling

def global_max_pool2d_forward(x):
    """y[n, c] = max of x[n, :, :, c]: (N, H, W, C) -> (N, C); max pooling with one H x W window.

    Example:
    ```python
    import numpy as np
    import dlcore.kernels as K
    assert K.global_max_pool2d_forward(np.arange(8.0).reshape(1, 2, 2, 2)).tolist() == [[6.0, 7.0]]
    ```
    """
    op = "global_max_pool2d_forward"
    xp, backend = select(op, ("x",), x)
    x = float_array(xp, x, op, "x")
    check_ndim(x, 4, op, "x", "(N, H, W, C)")
    g = _global_geometry(x.shape, op)
    if backend == FALLBACK:
        y = xp.empty((g.N, g.C), dtype=x.dtype)
        fallback.global_max_forward(xp, x, y)
        return y
    return _run_forward(xp, backend, "max", x, g).reshape(g.N, g.C)


def global_max_pool2d_backward(dy, x):
    """dx: each dy[n, c] at the first (row-major) position of the maximum of x[n, :, :, c]."""
    op = "global_max_pool2d_backward"
    xp, backend = select(op, ("dy", "x"), dy, x)
    dy, x = float_array(xp, dy, op, "dy"), float_array(xp, x, op, "x")
    same_dtype(op, dy=dy, x=x)
    check_ndim(x, 4, op, "x", "(N, H, W, C)")
    g = _global_geometry(x.shape, op)
    if tuple(dy.shape) != (g.N, g.C):
        raise ValueError(f"{op}: 'dy' must have shape {(g.N, g.C)} for input {tuple(x.shape)}, got {tuple(dy.shape)}")
    if backend == CPU:
        return _run_max_backward(xp, backend, contiguous(xp, dy).reshape(g.y_shape), x, g)
    # The CUDA pooling backward recomputes every covering window's argmax per input element, H*W
    # times over for one global window; one argmax per channel (the fallback's) is the GPU's way here.
    dx = xp.empty(x.shape, dtype=x.dtype)
    fallback.global_max_backward(xp, dy, x, dx)
    return dx


def _global_geometry(x_shape, op):
    n, h, w, c = (int(v) for v in x_shape)
    if h * w == 0:
        raise ValueError(f"{op}: the image must have at least one pixel, got input shape {tuple(x_shape)}")
    return PoolGeometry(n, h, w, c, 1, 1, h, w, h, w, 0, 0)


# ------------------------------------------------------------------------------------ pool1d
# Sequences (N, L, C) pool as images (N, 1, L, C) with windows (1, k) and strides (1, s), as conv1d
# runs as conv2d with height 1. Measured beside the other mapping, (N, L, 1, C) with (k, 1) windows
# (N*Lo one-pixel rows for the threads), and PyTorch's max_pool1d: as fast or faster (bench/RESULTS.md).

def _int1(value, op, name):
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not is_int(value) or value < 1:
        raise ValueError(f"{op}: '{name}' must be a positive int, got {value!r}")
    return int(value)


def _geometry_1d(x_shape, pool_size, strides, padding, op) -> PoolGeometry:
    """The PoolGeometry of 1-D pooling (as 2-D with H = 1) after the 1-D checks, errors named `op`."""
    x_shape = tuple(int(v) for v in x_shape)
    if len(x_shape) != 3:
        raise ValueError(f"{op}: input must be 3-D (N, L, C), got shape {x_shape}")
    if min(x_shape) < 0:
        raise ValueError(f"{op}: negative dimension in input shape {x_shape}")
    k = _int1(pool_size, op, "pool_size")
    s = k if strides is None else _int1(strides, op, "strides")
    mode = padding.lower() if isinstance(padding, str) else None
    if mode == "valid" and x_shape[1] < k:
        raise ValueError(f"{op}: pool window {k} is longer than the input ({x_shape[1]} steps, input shape "
                         f"{x_shape}, padding 'valid')")
    n, length, c = x_shape
    return pool2d_geometry((n, 1, length, c), (1, k), (1, s), padding, op)


def pool1d_output_shape(x_shape, pool_size=2, strides=None, padding="valid"):
    """The output shape (N, Lo, C) of 1-D pooling for these arguments."""
    op = "pool1d_output_shape"
    g = _geometry_1d(shape_arg(x_shape, op, "x_shape"), pool_size, strides, padding, op)
    return g.N, g.Wo, g.C


def _check_dy_1d(dy, g, x_shape, op):
    _check_dy(dy, (g.N, g.Wo, g.C), x_shape, op)


def _forward_1d(kind, x, pool_size, strides, padding):
    op = f"{kind}_pool1d_forward"
    xp, backend = select(op, ("x",), x)
    x = float_array(xp, x, op, "x")
    check_ndim(x, 3, op, "x", "(N, L, C)")
    g = _geometry_1d(x.shape, pool_size, strides, padding, op)
    return _run_forward(xp, backend, kind, x[:, None], g)[:, 0]


def max_pool1d_forward(x, pool_size=2, strides=None, padding="valid"):
    """y[n, i, c] = max of x[n, window(i), c]: (N, L, C) -> (N, Lo, C) (Keras's MaxPooling1D).

    Example:
    ```python
    import numpy as np
    import dlcore.kernels as K
    y = K.max_pool1d_forward(np.array([[[1.0], [4.0], [2.0]]], np.float32), 2, 1)
    assert y.ravel().tolist() == [4.0, 4.0]
    ```
    """
    return _forward_1d("max", x, pool_size, strides, padding)


def max_pool1d_backward(dy, x, pool_size=2, strides=None, padding="valid"):
    """dx: each dy[n, i, c] added at the first argmax of its window in x[n, :, c]."""
    op = "max_pool1d_backward"
    xp, backend = select(op, ("dy", "x"), dy, x)
    dy, x = float_array(xp, dy, op, "dy"), float_array(xp, x, op, "x")
    same_dtype(op, dy=dy, x=x)
    check_ndim(x, 3, op, "x", "(N, L, C)")
    g = _geometry_1d(x.shape, pool_size, strides, padding, op)
    _check_dy_1d(dy, g, x.shape, op)
    return _run_max_backward(xp, backend, dy[:, None], x[:, None], g)[:, 0]


def avg_pool1d_forward(x, pool_size=2, strides=None, padding="valid"):
    """y = mean of x over each window's steps inside the sequence: (N, L, C) -> (N, Lo, C)."""
    return _forward_1d("avg", x, pool_size, strides, padding)


def avg_pool1d_backward(dy, x_shape, pool_size=2, strides=None, padding="valid"):
    """dx: dy / (window step count) spread over each window; shape ``x_shape`` (N, L, C)."""
    op = "avg_pool1d_backward"
    xp, backend = select(op, ("dy",), dy)
    dy = float_array(xp, dy, op, "dy")
    x_shape = shape_arg(x_shape, op, "x_shape")
    g = _geometry_1d(x_shape, pool_size, strides, padding, op)
    _check_dy_1d(dy, g, x_shape, op)
    return _run_avg_backward(xp, backend, dy[:, None], g)[:, 0]


__all__ = ["pool2d_output_shape", "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
           "avg_pool2d_backward", "global_avg_pool2d_forward", "global_avg_pool2d_backward",
           "global_max_pool2d_forward", "global_max_pool2d_backward", "pool1d_output_shape", "max_pool1d_forward",
           "max_pool1d_backward", "avg_pool1d_forward", "avg_pool1d_backward"]
