"""Upsampling by integer factors on arrays, NHWC (Keras's layout): nearest and bilinear, forward and
backward; 1-D sequences (N, L, C) by repetition.

``size`` is an int or a pair ``(fh, fw)`` of ints >= 1: an input (N, H, W, C) becomes
(N, H*fh, W*fw, C). ``interpolation``:

- "nearest": every pixel repeated fh x fw times (Keras's UpSampling2D default, ``ops.repeat``);
- "bilinear": output row o reads the input at ``src = max((o + 0.5) / f - 0.5, 0)``, mixing rows
  ``floor(src)`` and the next one (the last row at the border) with weights ``1 - frac`` and ``frac``,
  and likewise along the width (Keras's "bilinear": half-pixel centres, as ``tf.image.resize`` and
  ``torch.nn.functional.interpolate(align_corners=False)``).

The backward pass is the adjoint (each dy value sent back to the pixels it was read from, with the
same weights). Every entry checks its arguments once and computes one UpsampleGeometry for the
backends: cpu, csrc/cpu/upsample2d.cpp (threads over rows, SIMD over channels, the backward a gather);
cuda, csrc/cuda/upsample2d.cu; fallback, fallback/upsample2d.py (repeat, or a product with the
per-axis interpolation matrices). The taps are defined once for the C++ and CUDA kernels, in
csrc/common/upsample.h.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from .. import _C
from . import codes
from ._device import cuda, f64, ptr, stream
from ._validate import MAX_ELEMENTS, MAX_EXTENT, check_ndim, contiguous, float_array, is_int, shape_arg
from .backend import CPU, CUDA, select
from .fallback import upsample2d as fallback

# The interpolations the kernels compute, by Keras's names.
INTERPOLATIONS = codes.INTERPOLATIONS


class UpsampleGeometry(NamedTuple):
    """The sizes of one 2-D upsampling, computed once per call and shared by the backends."""
    N: int
    H: int
    W: int
    C: int
    fh: int
    fw: int

    @property
    def y_shape(self):
        return (self.N, self.H * self.fh, self.W * self.fw, self.C)

    def cpu(self):
        """The factors tuple of dlcore._C.upsample2d_*: (fh, fw)."""
        return (self.fh, self.fw)

    def cuda(self):
        """The geometry list of dlcore._cuda.upsample2d_* (Upsample2dGeometry)."""
        return list(self)


def _factors(size, op):
    def ok(v):
        return is_int(v) and 1 <= v <= MAX_EXTENT
    if ok(size):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) == 2 and all(ok(v) for v in size):
        return int(size[0]), int(size[1])
    raise ValueError(f"{op}: 'size' must be a positive int or a pair of positive ints, got {size!r} "
                     f"(each at most 2^31 - 1)")


def _mode(interpolation, op):
    if not isinstance(interpolation, str) or interpolation.lower() not in INTERPOLATIONS:
        raise ValueError(f"{op}: 'interpolation' must be one of {sorted(INTERPOLATIONS)}, got {interpolation!r}")
    return interpolation.lower()


def upsample2d_geometry(x_shape, size, op) -> UpsampleGeometry:
    """Checks the shape and factors of one upsampling; returns its UpsampleGeometry."""
    x_shape = tuple(int(v) for v in x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"{op}: input must be 4-D (N, H, W, C), got shape {x_shape}")
    if min(x_shape) < 0:
        raise ValueError(f"{op}: negative dimension in input shape {x_shape}")
    return _bounded(UpsampleGeometry(*x_shape, *_factors(size, op)), op)


def _bounded(g, op):
    """`g`, or a ValueError when its output could not be an array (more elements than int64 counts
    bytes): the sizes would overflow before any allocation failed."""
    if math.prod(g.y_shape) > MAX_ELEMENTS:
        raise ValueError(f"{op}: the output would have shape {g.y_shape}, too large for an array; "
                         f"use smaller factors")
    return g


def upsample2d_output_shape(x_shape, size=2):
    """The output shape (N, H*fh, W*fw, C) of upsample2d_forward for these arguments."""
    op = "upsample2d_output_shape"
    return upsample2d_geometry(shape_arg(x_shape, op, "x_shape"), size, op).y_shape


def _forward(xp, backend, x, g, mode):
    y = xp.empty(g.y_shape, dtype=x.dtype)
    x = contiguous(xp, x)
    if backend == CPU:
        _C.upsample2d_forward(x, y, g.cpu(), INTERPOLATIONS[mode])
    elif backend == CUDA:
        if y.size:
            cuda().upsample2d_forward(g.cuda(), INTERPOLATIONS[mode], ptr(x), ptr(y), f64(y), stream())
    else:
        fallback.forward(xp, x, g, mode, y)
    return y


def _backward(xp, backend, dy, g, mode):
    dx = xp.empty((g.N, g.H, g.W, g.C), dtype=dy.dtype)
    dy = contiguous(xp, dy)
    if backend == CPU:
        _C.upsample2d_backward(dy, dx, g.cpu(), INTERPOLATIONS[mode])
    elif backend == CUDA:
        if dx.size:
            cuda().upsample2d_backward(g.cuda(), INTERPOLATIONS[mode], ptr(dy), ptr(dx), f64(dx), stream())
    else:
        fallback.backward(xp, dy, g, mode, dx)
    return dx


def _check_dy(dy, g, x_shape, op):
    if tuple(dy.shape) != tuple(g.y_shape):
        raise ValueError(f"{op}: 'dy' must have shape {tuple(g.y_shape)} (the output for input {tuple(x_shape)}), "
                         f"got {tuple(dy.shape)}")


def upsample2d_forward(x, size=2, interpolation="nearest"):
    """x (N, H, W, C) upsampled to (N, H*fh, W*fw, C) by "nearest" repetition or "bilinear" interpolation.

    Example:
    ```python
    import numpy as np
    import dlcore.kernels as K
    y = K.upsample2d_forward(np.arange(4, dtype=np.float32).reshape(1, 2, 2, 1), (1, 2))
    assert y[0, :, :, 0].tolist() == [[0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0]]
    ```
    """
    op = "upsample2d_forward"
    xp, backend = select(op, ("x",), x)
    x = float_array(xp, x, op, "x")
    check_ndim(x, 4, op, "x", "(N, H, W, C)")
    mode = _mode(interpolation, op)
    return _forward(xp, backend, x, upsample2d_geometry(x.shape, size, op), mode)


def upsample2d_backward(dy, x_shape, size=2, interpolation="nearest"):
    """dx (shape ``x_shape``) = the adjoint of upsample2d_forward applied to dy (N, H*fh, W*fw, C)."""
    op = "upsample2d_backward"
    xp, backend = select(op, ("dy",), dy)
    dy = float_array(xp, dy, op, "dy")
    mode = _mode(interpolation, op)
    x_shape = shape_arg(x_shape, op, "x_shape")
    g = upsample2d_geometry(x_shape, size, op)
    _check_dy(dy, g, x_shape, op)
    return _backward(xp, backend, dy, g, mode)


# ------------------------------------------------------------------------------------ upsample1d

def _size1(size, op):
    if isinstance(size, (tuple, list)) and len(size) == 1:
        size = size[0]
    if not is_int(size) or not 1 <= size <= MAX_EXTENT:
        raise ValueError(f"{op}: 'size' must be a positive int, got {size!r} (at most 2^31 - 1)")
    return int(size)


def _geometry_1d(x_shape, size, op):
    """upsample1d as upsample2d on (N, 1, L, C) with factors (1, size), as conv1d runs as conv2d with
    height 1. (Measured against (N, L, 1, C) with factors (size, 1), whose N*L*size one-pixel rows
    thread better: as fast or faster on 64-channel sequences, slower on narrow ones.)"""
    x_shape = tuple(int(v) for v in x_shape)
    if len(x_shape) != 3:
        raise ValueError(f"{op}: input must be 3-D (N, L, C), got shape {x_shape}")
    if min(x_shape) < 0:
        raise ValueError(f"{op}: negative dimension in input shape {x_shape}")
    n, length, c = x_shape
    return _bounded(UpsampleGeometry(n, 1, length, c, 1, _size1(size, op)), op)


def upsample1d_output_shape(x_shape, size=2):
    """The output shape (N, L*size, C) of upsample1d_forward."""
    op = "upsample1d_output_shape"
    g = _geometry_1d(shape_arg(x_shape, op, "x_shape"), size, op)
    return g.N, g.W * g.fw, g.C


def upsample1d_forward(x, size=2):
    """x (N, L, C) -> (N, L*size, C): every step repeated `size` times (Keras's UpSampling1D).

    Example:
    ```python
    import numpy as np
    import dlcore.kernels as K
    assert K.upsample1d_forward(np.ones((2, 3, 4), np.float32), 3).shape == (2, 9, 4)
    ```
    """
    op = "upsample1d_forward"
    xp, backend = select(op, ("x",), x)
    x = float_array(xp, x, op, "x")
    check_ndim(x, 3, op, "x", "(N, L, C)")
    g = _geometry_1d(x.shape, size, op)
    y = _forward(xp, backend, contiguous(xp, x).reshape(g.N, 1, g.W, g.C), g, "nearest")
    return y.reshape(g.N, g.W * g.fw, g.C)


def upsample1d_backward(dy, x_shape, size=2):
    """dx (N, L, C): each step's gradient summed over its `size` copies."""
    op = "upsample1d_backward"
    xp, backend = select(op, ("dy",), dy)
    dy = float_array(xp, dy, op, "dy")
    x_shape = shape_arg(x_shape, op, "x_shape")
    g = _geometry_1d(x_shape, size, op)
    if tuple(dy.shape) != (g.N, g.W * g.fw, g.C):
        raise ValueError(f"{op}: 'dy' must have shape {(g.N, g.W * g.fw, g.C)} (the output for input {x_shape}), "
                         f"got {tuple(dy.shape)}")
    dx = _backward(xp, backend, contiguous(xp, dy).reshape(g.y_shape), g, "nearest")
    return dx.reshape(x_shape)


__all__ = ["INTERPOLATIONS", "upsample2d_output_shape", "upsample2d_forward", "upsample2d_backward",
           "upsample1d_output_shape", "upsample1d_forward", "upsample1d_backward"]
