"""Pooling on arrays, NHWC (Keras's layout): max, average and global average, forward and backward.

``pool_size`` and ``strides`` are an int or a pair (``strides=None`` means ``pool_size``); ``padding``
is "valid" (windows inside the image) or "same" (Keras/TensorFlow: ``ceil(H / s)`` outputs, total
padding ``max((Ho - 1)*s + k - H, 0)``, the odd one at the bottom/right). Padding never takes part:
it is not a candidate for the maximum and not counted by the average.

Max pooling's backward routes each gradient to the first position (row-major within the window)
that holds the window's maximum, recomputed from x. The C++ kernels: csrc/cpu/pool2d.cpp.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _C
from ._validate import check_ndim, float_array, same_dtype


def _pair(value, op, name):
    def ok(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1
    if ok(value):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(ok(v) for v in value):
        return int(value[0]), int(value[1])
    raise ValueError(f"{op}: '{name}' must be a positive int or a pair of positive ints, got {value!r}")


def _geometry(x_shape, pool_size, strides, padding, op):
    """Checks the arguments; returns ((N, Ho, Wo, C), (kh, kw, sh, sw, pad_top, pad_left))."""
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
    return (n, ho, wo, c), (kh, kw, sh, sw, pt, pl)


def _shape_arg(shape, op, name):
    if not isinstance(shape, (tuple, list)) or not all(isinstance(v, numbers.Integral) for v in shape):
        raise ValueError(f"{op}: '{name}' must be a tuple of ints, got {shape!r}")
    return tuple(int(v) for v in shape)


def pool2d_output_shape(x_shape, pool_size=2, strides=None, padding="valid"):
    """The output shape (N, Ho, Wo, C) of 2-D pooling for these arguments."""
    op = "pool2d_output_shape"
    return _geometry(_shape_arg(x_shape, op, "x_shape"), pool_size, strides, padding, op)[0]


def _forward(kind, x, pool_size, strides, padding):
    op = f"{kind}_pool2d_forward"
    x = float_array(x, op, "x")
    check_ndim(x, 4, op, "x", "(N, H, W, C)")
    y_shape, geo = _geometry(x.shape, pool_size, strides, padding, op)
    y = np.empty(y_shape, dtype=x.dtype)
    getattr(_C, op)(np.ascontiguousarray(x), y, geo)
    return y


def _check_dy(dy, y_shape, x_shape, op):
    if dy.shape != y_shape:
        raise ValueError(f"{op}: 'dy' must have shape {y_shape} (the output for input {x_shape}), got {dy.shape}")


def max_pool2d_forward(x, pool_size=2, strides=None, padding="valid"):
    """y[n, i, j, c] = max of x[n, window(i, j), c]: (N, H, W, C) -> (N, Ho, Wo, C)."""
    return _forward("max", x, pool_size, strides, padding)


def max_pool2d_backward(dy, x, pool_size=2, strides=None, padding="valid"):
    """dx: each dy[n, i, j, c] added at the first argmax of its window in x[n, :, :, c]."""
    op = "max_pool2d_backward"
    dy, x = float_array(dy, op, "dy"), float_array(x, op, "x")
    same_dtype(op, dy=dy, x=x)
    check_ndim(x, 4, op, "x", "(N, H, W, C)")
    y_shape, geo = _geometry(x.shape, pool_size, strides, padding, op)
    _check_dy(dy, y_shape, x.shape, op)
    dx = np.empty(x.shape, dtype=x.dtype)
    _C.max_pool2d_backward(np.ascontiguousarray(dy), np.ascontiguousarray(x), dx, geo)
    return dx


def avg_pool2d_forward(x, pool_size=2, strides=None, padding="valid"):
    """y = mean of x over each window's pixels inside the image: (N, H, W, C) -> (N, Ho, Wo, C)."""
    return _forward("avg", x, pool_size, strides, padding)


def avg_pool2d_backward(dy, x_shape, pool_size=2, strides=None, padding="valid"):
    """dx: dy / (window pixel count) spread over each window; shape ``x_shape``."""
    op = "avg_pool2d_backward"
    dy = float_array(dy, op, "dy")
    x_shape = _shape_arg(x_shape, op, "x_shape")
    y_shape, geo = _geometry(x_shape, pool_size, strides, padding, op)
    _check_dy(dy, y_shape, x_shape, op)
    dx = np.empty(x_shape, dtype=dy.dtype)
    _C.avg_pool2d_backward(np.ascontiguousarray(dy), dx, geo)
    return dx


def global_avg_pool2d_forward(x):
    """y[n, c] = mean of x[n, :, :, c]: (N, H, W, C) -> (N, C)."""
    op = "global_avg_pool2d_forward"
    x = float_array(x, op, "x")
    check_ndim(x, 4, op, "x", "(N, H, W, C)")
    if x.shape[1] * x.shape[2] == 0:
        raise ValueError(f"{op}: the image must have at least one pixel, got input shape {x.shape}")
    y = np.empty((x.shape[0], x.shape[3]), dtype=x.dtype)
    _C.global_avg_pool2d_forward(np.ascontiguousarray(x), y)
    return y


def global_avg_pool2d_backward(dy, x_shape):
    """dx[n, h, w, c] = dy[n, c] / (H*W); shape ``x_shape``."""
    op = "global_avg_pool2d_backward"
    dy = float_array(dy, op, "dy")
    x_shape = _shape_arg(x_shape, op, "x_shape")
    if len(x_shape) != 4:
        raise ValueError(f"{op}: 'x_shape' must be 4-D (N, H, W, C), got {x_shape}")
    if min(x_shape) < 0 or x_shape[1] * x_shape[2] == 0:
        raise ValueError(f"{op}: the image must have at least one pixel, got x_shape {x_shape}")
    if dy.shape != (x_shape[0], x_shape[3]):
        raise ValueError(f"{op}: 'dy' must have shape {(x_shape[0], x_shape[3])} for input {x_shape}, got {dy.shape}")
    dx = np.empty(x_shape, dtype=dy.dtype)
    _C.global_avg_pool2d_backward(np.ascontiguousarray(dy), dx)
    return dx
