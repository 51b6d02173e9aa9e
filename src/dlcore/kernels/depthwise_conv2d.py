"""Depthwise convolution on arrays, NHWC (Keras's layout): every input channel convolved with its own
filters, forward and backward.

Layouts (Keras's DepthwiseConv2D): x (N, H, W, C), w (kh, kw, C, m) with m the depth multiplier,
y (N, Ho, Wo, C*m), output channel ``c*m + j`` from input channel c and filter ``w[..., c, j]``:

    y[n, i, k, c*m + j] = bias[c*m + j] + sum_{a, b} xpad[n, i*sh + a*dh, k*sw + b*dw, c] * w[a, b, c, j]

This is conv2d with ``groups = C`` and filters ``w.reshape(kh, kw, 1, C*m)``, which
``conv2d_forward(..., groups=C)`` runs here too. ``strides``, ``padding`` and ``dilation`` are
conv2d's (kernels/_conv_geometry.py). The kernels compute multiplier 1 (one filter per channel); for
m > 1 the input channels are repeated m times first (and the input gradient summed back over them).
Backends: cpu, csrc/cpu/depthwise_conv2d.cpp (threads over rows, SIMD over channels; the backward-data
pass gathers); cuda, csrc/cuda/depthwise_conv2d.cu; fallback, fallback/depthwise_conv2d.py (one
strided slice per filter tap).
"""
from __future__ import annotations

from .. import _C
from ._conv_geometry import conv2d_geometry
from ._device import cuda, f64, ptr, stream
from ._validate import check_ndim, contiguous, float_array, optional_float_array, same_dtype, shape_arg
from .backend import CPU, CUDA, select
from .fallback import depthwise_conv2d as fallback

# The CUDA backward-filter sums slices of about this many output pixels per block, then adds them.
_PIXELS_PER_PART = 4096
_MAX_PARTS = 1024


# ---- the backends: multiplier 1, everything checked, arrays C-contiguous ------------------------------
# g is the ConvGeometry of the multiplier-1 convolution: Cin = Cout = the channels.

def run_forward(xp, backend, x, w, bias, g, y):
    """y (N, Ho, Wo, C) := depthwise(x (N, H, W, C), w (kh, kw, C)) + bias."""
    if backend == CPU:
        _C.depthwise_conv2d_forward(x, w, bias, y, g.cpu())
    elif backend == CUDA:
        if y.size:
            cuda().depthwise_conv2d_forward(g.cuda(), ptr(x), ptr(w), ptr(bias), ptr(y), f64(y), stream())
    else:
        fallback.forward(xp, x, w, bias, g, y)


def run_backward_data(xp, backend, dy, w, g, dx):
    if backend == CPU:
        _C.depthwise_conv2d_backward_data(dy, w, dx, g.cpu())
    elif backend == CUDA:
        if dx.size:
            cuda().depthwise_conv2d_backward_data(g.cuda(), ptr(dy), ptr(w), ptr(dx), f64(dx), stream())
    else:
        fallback.backward_data(xp, dy, w, g, dx)


def run_backward_filter(xp, backend, dy, x, g, dw):
    if backend == CPU:
        _C.depthwise_conv2d_backward_filter(dy, x, dw, g.cpu())
    elif backend == CUDA:
        if dw.size:
            pixels = g.N * g.Ho * g.Wo
            parts = max(1, min(_MAX_PARTS, -(-pixels // _PIXELS_PER_PART)))
            partial = xp.empty((parts, dw.size), dtype=dw.dtype)
            cuda().depthwise_conv2d_backward_filter(g.cuda(), ptr(dy), ptr(x), parts, ptr(partial), ptr(dw), f64(dw),
                                                    stream())
    else:
        fallback.backward_filter(xp, dy, x, g, dw)


# ---- multiplier m on the multiplier-1 kernels ------------------------------------------------------------

def _repeated(xp, x, m):
    """x with every channel repeated m times (channel c*m + j is channel c), C-contiguous."""
    return contiguous(xp, x) if m == 1 else xp.repeat(x, m, axis=-1)


def depthwise(xp, backend, x, w, bias, g, y):
    """y (N, Ho, Wo, C*m) := the depthwise convolution of x (N, H, W, C) with w (kh, kw, C, m)."""
    kh, kw, c, m = w.shape
    run_forward(xp, backend, _repeated(xp, x, m), contiguous(xp, w).reshape(kh, kw, c * m), contiguous(xp, bias),
                g._replace(Cin=c * m), y)


def depthwise_backward_data(xp, backend, dy, w, g, dx):
    kh, kw, c, m = w.shape
    w1 = contiguous(xp, w).reshape(kh, kw, c * m)
    if m == 1:
        run_backward_data(xp, backend, contiguous(xp, dy), w1, g, dx)
        return
    wide = xp.empty((g.N, g.H, g.W, c * m), dtype=dx.dtype)
    run_backward_data(xp, backend, contiguous(xp, dy), w1, g._replace(Cin=c * m), wide)
    dx[...] = wide.reshape(g.N, g.H, g.W, c, m).sum(axis=-1)


def depthwise_backward_filter(xp, backend, dy, x, g, dw):
    kh, kw, c, m = dw.shape
    flat = xp.empty((kh, kw, c * m), dtype=dw.dtype)
    run_backward_filter(xp, backend, contiguous(xp, dy), _repeated(xp, x, m), g._replace(Cin=c * m), flat)
    dw[...] = flat.reshape(dw.shape)


# ---- the public entries ----------------------------------------------------------------------------------

def _geometry(x_shape, w_shape, strides, padding, dilation, op):
    """The ConvGeometry (Cin = C, Cout = C*m) of a depthwise convolution, after the depthwise checks."""
    x_shape, w_shape = tuple(int(v) for v in x_shape), tuple(int(v) for v in w_shape)
    if len(x_shape) != 4:
        raise ValueError(f"{op}: input must be 4-D (N, H, W, C), got shape {x_shape}")
    if len(w_shape) != 4:
        raise ValueError(f"{op}: filters must be 4-D (kh, kw, C, depth_multiplier), got shape {w_shape}")
    if w_shape[2] != x_shape[3]:
        raise ValueError(f"{op}: channel mismatch: input {x_shape} has C={x_shape[3]} but filters {w_shape} "
                         f"expect C={w_shape[2]}")
    if min(w_shape[:2] + w_shape[3:]) < 1:
        raise ValueError(f"{op}: filters {w_shape} must have a window of at least 1x1 and a depth multiplier >= 1")
    kh, kw, c, m = w_shape
    return conv2d_geometry(x_shape, (kh, kw, 1 if c else 0, c * m), strides, padding, dilation, op, groups=max(c, 1))


def _check_dy(op, dy, g, x_shape, w_shape):
    if tuple(dy.shape) != tuple(g.y_shape):
        raise ValueError(f"{op}: 'dy' must have shape {tuple(g.y_shape)} (the output for input {tuple(x_shape)} and "
                         f"filters {tuple(w_shape)}), got {tuple(dy.shape)}")


def depthwise_conv2d_output_shape(x_shape, w_shape, strides=1, padding="valid", dilation=1):
    """The output shape (N, Ho, Wo, C*m) of depthwise_conv2d_forward."""
    op = "depthwise_conv2d_output_shape"
    return _geometry(shape_arg(x_shape, op, "x_shape"), shape_arg(w_shape, op, "w_shape"), strides, padding,
                     dilation, op).y_shape


def depthwise_conv2d_forward(x, w, bias=None, strides=1, padding="valid", dilation=1):
    """y = depthwise(x, w) + bias: x (N, H, W, C), w (kh, kw, C, m), bias (C*m,) -> y (N, Ho, Wo, C*m).

    Example:
    ```python
    import numpy as np
    import dlcore.kernels as K
    x, w = np.ones((2, 5, 5, 3), np.float32), np.ones((3, 3, 3, 2), np.float32)
    y = K.depthwise_conv2d_forward(x, w, padding="same")
    assert y.shape == (2, 5, 5, 6) and y[0, 2, 2, 0] == 9.0 and y[0, 0, 0, 0] == 4.0
    ```
    """
    op = "depthwise_conv2d_forward"
    xp, backend = select(op, ("x", "w", "bias"), x, w, bias)
    x, w = float_array(xp, x, op, "x"), float_array(xp, w, op, "w")
    bias = optional_float_array(xp, bias, op, "bias")
    dtype = same_dtype(op, x=x, w=w, bias=bias)
    check_ndim(x, 4, op, "x", "(N, H, W, C)")
    check_ndim(w, 4, op, "w", "(kh, kw, C, depth_multiplier)")
    g = _geometry(x.shape, w.shape, strides, padding, dilation, op)
    if bias is not None and tuple(bias.shape) != (g.Cout,):
        raise ValueError(f"{op}: 'bias' must have shape ({g.Cout},) for filters {tuple(w.shape)}, "
                         f"got {tuple(bias.shape)}")
    y = xp.empty(g.y_shape, dtype=dtype)
    depthwise(xp, backend, x, w, bias, g, y)
    return y


def depthwise_conv2d_backward_data(dy, w, x_shape, strides=1, padding="valid", dilation=1):
    """dx = d(sum(depthwise_conv2d(x, w) * dy)) / dx, shape ``x_shape`` (N, H, W, C)."""
    op = "depthwise_conv2d_backward_data"
    xp, backend = select(op, ("dy", "w"), dy, w)
    dy, w = float_array(xp, dy, op, "dy"), float_array(xp, w, op, "w")
    dtype = same_dtype(op, dy=dy, w=w)
    check_ndim(w, 4, op, "w", "(kh, kw, C, depth_multiplier)")
    x_shape = shape_arg(x_shape, op, "x_shape")
    g = _geometry(x_shape, w.shape, strides, padding, dilation, op)
    _check_dy(op, dy, g, x_shape, w.shape)
    dx = xp.empty(x_shape, dtype=dtype)
    depthwise_backward_data(xp, backend, dy, w, g, dx)
    return dx


def depthwise_conv2d_backward_filter(dy, x, w_shape, strides=1, padding="valid", dilation=1):
    """dw = d(sum(depthwise_conv2d(x, w) * dy)) / dw, shape ``w_shape`` (kh, kw, C, m)."""
    op = "depthwise_conv2d_backward_filter"
    xp, backend = select(op, ("dy", "x"), dy, x)
    dy, x = float_array(xp, dy, op, "dy"), float_array(xp, x, op, "x")
    dtype = same_dtype(op, dy=dy, x=x)
    check_ndim(x, 4, op, "x", "(N, H, W, C)")
    w_shape = shape_arg(w_shape, op, "w_shape")
    g = _geometry(x.shape, w_shape, strides, padding, dilation, op)
    _check_dy(op, dy, g, x.shape, w_shape)
    dw = xp.empty(w_shape, dtype=dtype)
    depthwise_backward_filter(xp, backend, dy, x, g, dw)
    return dw


__all__ = ["depthwise_conv2d_output_shape", "depthwise_conv2d_forward", "depthwise_conv2d_backward_data",
           "depthwise_conv2d_backward_filter"]
