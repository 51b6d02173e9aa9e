"""Convolution on arrays, NHWC (Keras's layout): conv2d and conv1d, forward and backward.

Layouts: images ``x`` (N, H, W, C_in), filters ``w`` (kh, kw, C_in, C_out), outputs (N, Ho, Wo, C_out);
conv1d takes sequences (N, L, C_in) and filters (k, C_in, C_out) and runs as conv2d with height 1.

``padding`` is "valid" (none), "same" (Keras/TensorFlow: total padding
``max((ceil(H/s) - 1)*s + (k-1)*d + 1 - H, 0)``, the odd one at the bottom/right), an int (that many
zeros on every side), a pair ``(ph, pw)`` (symmetric per axis) or explicit
``((top, bottom), (left, right))``. ``strides`` and ``dilation`` are an int or a pair.

Every entry checks its arguments once and computes one ConvGeometry, which each backend reads:
cpu, csrc/cpu/conv2d.cpp, an implicit GEMM on the packed GEMM's microkernel (im2col(x) read in place,
never written out), and Winograd F(2x2, 3x3) for 3x3 stride-1 layers with 16+ channels, whose
float32 results agree with the direct sum to within its rounding (relative error 3e-7..7e-7 against
float64 measured on 64-512 channels); cuda, csrc/cuda/conv2d.cu, an implicit GEMM; fallback,
fallback/conv2d.py, im2col through a strided view and one GEMM.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from .. import _C
from . import codes
from ._device import cuda, f64, ptr, stream
from ._validate import (check_ndim, contiguous, finish, float_array, is_int, optional_float_array, output, same_dtype,
                        shape_arg)
from .backend import CPU, CUDA, select
from .fallback import conv2d as fallback
from .gemm import check_activation

# Activations the forward pass fuses (their codes in csrc/cpu/gemm/gemm.h, csrc/cuda/conv2d.cu).
CONV_ACTIVATIONS = codes.EPILOGUES  # the same epilogue as the GEMM's


class ConvGeometry(NamedTuple):
    """Every size of one 2-D convolution, computed once per call and shared by the backends."""
    N: int
    H: int
    W: int
    Cin: int
    Ho: int
    Wo: int
    Cout: int
    kh: int
    kw: int
    sh: int
    sw: int
    dh: int
    dw: int
    pt: int
    pb: int
    pl: int
    pr: int

    @property
    def y_shape(self):
        return (self.N, self.Ho, self.Wo, self.Cout)

    def cpu(self):
        """The geometry tuple of dlcore._C.conv2d_*: (sh, sw, pt, pb, pl, pr, dh, dw)."""
        return (self.sh, self.sw, self.pt, self.pb, self.pl, self.pr, self.dh, self.dw)

    def cuda(self):
        """The geometry list of dlcore._cuda.conv2d_* (cuda::ConvGeom; the kernels bounds-check
        every input position, so the bottom/right padding is implied by Ho and Wo)."""
        return [self.N, self.H, self.W, self.Cin, self.Ho, self.Wo, self.Cout, self.kh, self.kw, self.sh, self.sw,
                self.dh, self.dw, self.pt, self.pl]


def _pair(value, op, name):
    """An int or a pair of ints >= 1, as a pair."""
    if is_int(value):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2 or not all(is_int(v) for v in value)
            or min(value) < 1):
        raise ValueError(f"{op}: '{name}' must be a positive int or a pair of positive ints, got {value!r}")
    return int(value[0]), int(value[1])


def _explicit_padding(padding):
    """((top, bottom), (left, right)) from an int, an (ph, pw) pair or explicit pairs; else None."""
    def nonneg(v):
        return is_int(v) and v >= 0
    if nonneg(padding):
        p = int(padding)
        return (p, p), (p, p)
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        a, b = padding
        if nonneg(a) and nonneg(b):
            return (int(a), int(a)), (int(b), int(b))
        if (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == 2 and len(b) == 2
                and all(nonneg(v) for v in (*a, *b))):
            return (int(a[0]), int(a[1])), (int(b[0]), int(b[1]))
    return None


def _same_padding(size, k, s, d):
    """Keras's "same": (before, after) so that the output has ceil(size / s) positions."""
    total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def conv2d_geometry(x_shape, w_shape, strides, padding, dilation, op) -> ConvGeometry:
    """Checks the shapes and arguments of one convolution; returns its ConvGeometry."""
    x_shape, w_shape = tuple(int(v) for v in x_shape), tuple(int(v) for v in w_shape)
    if len(x_shape) != 4:
        raise ValueError(f"{op}: input must be 4-D (N, H, W, C_in), got shape {x_shape}")
    if len(w_shape) != 4:
        raise ValueError(f"{op}: filters must be 4-D (kh, kw, C_in, C_out), got shape {w_shape}")
    if min(x_shape) < 0 or min(w_shape) < 0:
        raise ValueError(f"{op}: negative dimension in input {x_shape} or filters {w_shape}")
    n, h, w, cin = x_shape
    kh, kw, wcin, cout = w_shape
    if wcin != cin:
        raise ValueError(f"{op}: channel mismatch: input {x_shape} has C_in={cin} but filters {w_shape} "
                         f"expect C_in={wcin}")
    if kh < 1 or kw < 1:
        raise ValueError(f"{op}: filter window must be at least 1x1, got filters {w_shape}")
    sh, sw = _pair(strides, op, "strides")
    dh, dw = _pair(dilation, op, "dilation")
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            pads = (0, 0), (0, 0)
        elif mode == "same":
            pads = _same_padding(h, kh, sh, dh), _same_padding(w, kw, sw, dw)
        else:
            raise ValueError(f"{op}: padding must be 'valid', 'same', an int or ((top, bottom), (left, right)), "
                             f"got {padding!r}")
    else:
        pads = _explicit_padding(padding)
        if pads is None:
            raise ValueError(f"{op}: padding must be 'valid', 'same', a non-negative int, a pair (ph, pw) or "
                             f"((top, bottom), (left, right)), got {padding!r}")
    (pt, pb), (pl, pr) = pads
    ekh, ekw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if h + pt + pb < ekh or w + pl + pr < ekw:
        raise ValueError(f"{op}: filter window {ekh}x{ekw} (filters {w_shape}, dilation {(dh, dw)}) is larger than "
                         f"the padded input {h + pt + pb}x{w + pl + pr} (input {x_shape}, padding {padding!r})")
    ho = (h + pt + pb - ekh) // sh + 1
    wo = (w + pl + pr - ekw) // sw + 1
    return ConvGeometry(n, h, w, cin, ho, wo, cout, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr)


# ---- the backends: everything checked, outputs C-contiguous ----------------------------------------

def _forward(xp, backend, x, w, bias, g, activation, y):
    """y := act(conv2d(x, w) + bias)."""
    x, w = contiguous(xp, x), contiguous(xp, w)
    if backend == CPU:
        _C.conv2d_forward(x, w, bias, y, g.cpu(), CONV_ACTIVATIONS[activation])
    elif backend == CUDA:
        if y.size:
            cuda().conv2d_forward(g.cuda(), ptr(x), ptr(w), ptr(bias), CONV_ACTIVATIONS[activation], ptr(y), f64(y),
                                  stream())
    else:
        fallback.forward(xp, x, w, bias, g, activation, y)


def _backward_data(xp, backend, dy, w, g, dx):
    dy, w = contiguous(xp, dy), contiguous(xp, w)
    if backend == CPU:
        _C.conv2d_backward_data(dy, w, dx, g.cpu())
    elif backend == CUDA:
        if dx.size:
            cuda().conv2d_backward_data(g.cuda(), ptr(dy), ptr(w), ptr(dx), f64(dx), stream())
    else:
        fallback.backward_data(xp, dy, w, g, dx)


def _backward_filter(xp, backend, dy, x, g, dw):
    dy, x = contiguous(xp, dy), contiguous(xp, x)
    if backend == CPU:
        _C.conv2d_backward_filter(dy, x, dw, g.cpu())
    elif backend == CUDA:
        if dw.size:
            cuda().conv2d_backward_filter(g.cuda(), ptr(dy), ptr(x), ptr(dw), f64(dw), stream())
    else:
        fallback.backward_filter(xp, dy, x, g, dw)


def _backward_bias(xp, backend, dy, db):
    dy = contiguous(xp, dy)
    if backend == CPU:
        _C.conv2d_backward_bias(dy, db)
    elif backend == CUDA:
        cout = db.shape[0]
        cuda().column_sum(dy.size // cout if cout else 0, cout, ptr(dy), ptr(db), False, f64(db), stream())
    else:
        fallback.backward_bias(xp, dy, db)


# ---- conv2d ---------------------------------------------------------------------------------------

def _bias(xp, op, bias, w_shape, activation):
    """The checked activation and bias (contiguous, shape (C_out,))."""
    check_activation(op, activation, CONV_ACTIVATIONS)
    if bias is not None and tuple(bias.shape) != (w_shape[-1],):
        raise ValueError(f"{op}: 'bias' must have shape ({w_shape[-1]},) for filters {tuple(w_shape)}, "
                         f"got {tuple(bias.shape)}")
    return contiguous(xp, bias)


def _check_dy(op, dy, y_shape, x_shape, w_shape):
    if tuple(dy.shape) != tuple(y_shape):
        raise ValueError(f"{op}: 'dy' must have shape {tuple(y_shape)} (the output for input {tuple(x_shape)} and "
                         f"filters {tuple(w_shape)}), got {tuple(dy.shape)}")


def conv2d_output_shape(x_shape, w_shape, strides=1, padding="valid", dilation=1):
    """The output shape (N, Ho, Wo, C_out) of conv2d_forward for these shapes and arguments."""
    op = "conv2d_output_shape"
    return conv2d_geometry(shape_arg(x_shape, op, "x_shape"), shape_arg(w_shape, op, "w_shape"), strides, padding,
                           dilation, op).y_shape


def conv2d_forward(x, w, bias=None, strides=1, padding="valid", dilation=1, activation=None, out=None):
    """y = act(conv2d(x, w) + bias): x (N, H, W, C_in), w (kh, kw, C_in, C_out) -> y (N, Ho, Wo, C_out).

    ``y[n, i, j, o] = act(bias[o] + sum_{a, b, c} xpad[n, i*sh + a*dh, j*sw + b*dw, c] * w[a, b, c, o])``.
    ``activation``: None/"linear", "relu", "sigmoid", "tanh" (fused, applied while the output is in cache).
    """
    op = "conv2d_forward"
    xp, backend = select(op, ("x", "w", "bias", "out"), x, w, bias, out)
    x = float_array(xp, x, op, "x")
    w = float_array(xp, w, op, "w")
    bias = optional_float_array(xp, bias, op, "bias")
    dtype = same_dtype(op, x=x, w=w, bias=bias, out=out if isinstance(out, xp.ndarray) else None)
    check_ndim(x, 4, op, "x", "(N, H, W, C_in)")
    check_ndim(w, 4, op, "w", "(kh, kw, C_in, C_out)")
    g = conv2d_geometry(x.shape, w.shape, strides, padding, dilation, op)
    bias = _bias(xp, op, bias, w.shape, activation)
    target, out = output(xp, out, g.y_shape, dtype, op, x, w, bias)
    _forward(xp, backend, x, w, bias, g, activation, target)
    return finish(target, out)


def conv2d_backward_data(dy, w, x_shape, strides=1, padding="valid", dilation=1):
    """dx = d(sum(conv2d(x, w) * dy)) / dx, shape ``x_shape`` (N, H, W, C_in)."""
    op = "conv2d_backward_data"
    xp, backend = select(op, ("dy", "w"), dy, w)
    dy = float_array(xp, dy, op, "dy")
    w = float_array(xp, w, op, "w")
    dtype = same_dtype(op, dy=dy, w=w)
    check_ndim(w, 4, op, "w", "(kh, kw, C_in, C_out)")
    x_shape = shape_arg(x_shape, op, "x_shape")
    g = conv2d_geometry(x_shape, w.shape, strides, padding, dilation, op)
    _check_dy(op, dy, g.y_shape, x_shape, w.shape)
    dx = xp.empty(x_shape, dtype=dtype)
    _backward_data(xp, backend, dy, w, g, dx)
    return dx


def conv2d_backward_filter(dy, x, w_shape, strides=1, padding="valid", dilation=1):
    """dw = d(sum(conv2d(x, w) * dy)) / dw, shape ``w_shape`` (kh, kw, C_in, C_out)."""
    op = "conv2d_backward_filter"
    xp, backend = select(op, ("dy", "x"), dy, x)
    dy = float_array(xp, dy, op, "dy")
    x = float_array(xp, x, op, "x")
    dtype = same_dtype(op, dy=dy, x=x)
    check_ndim(x, 4, op, "x", "(N, H, W, C_in)")
    w_shape = shape_arg(w_shape, op, "w_shape")
    g = conv2d_geometry(x.shape, w_shape, strides, padding, dilation, op)
    _check_dy(op, dy, g.y_shape, x.shape, w_shape)
    dw = xp.empty(w_shape, dtype=dtype)
    _backward_filter(xp, backend, dy, x, g, dw)
    return dw


def conv2d_backward_bias(dy):
    """db = dy summed over N, Ho, Wo: shape (C_out,)."""
    op = "conv2d_backward_bias"
    xp, backend = select(op, ("dy",), dy)
    dy = float_array(xp, dy, op, "dy")
    check_ndim(dy, 4, op, "dy", "(N, Ho, Wo, C_out)")
    db = xp.empty((dy.shape[-1],), dtype=dy.dtype)
    _backward_bias(xp, backend, dy, db)
    return db


# ------------------------------------------------------------------------------------- conv1d

def _padding_1d(padding, k, d, op):
    """conv1d's padding as conv2d's: height gets none; "causal" pads (k-1)*d on the left only."""
    if isinstance(padding, str):
        if padding.lower() == "causal":
            return ((0, 0), ((k - 1) * d, 0))
        if padding.lower() in ("valid", "same"):
            return padding  # the height is 1 and kh = 1, so "same" pads nothing there
        raise ValueError(f"{op}: padding must be 'valid', 'same', 'causal', an int or (left, right), got {padding!r}")
    if is_int(padding) and padding >= 0:
        return ((0, 0), (int(padding), int(padding)))
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and all(is_int(v) and v >= 0 for v in padding):
        return ((0, 0), (int(padding[0]), int(padding[1])))
    raise ValueError(f"{op}: padding must be 'valid', 'same', 'causal', an int or (left, right), got {padding!r}")


def _int1(value, op, name):
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not is_int(value) or value < 1:
        raise ValueError(f"{op}: '{name}' must be a positive int, got {value!r}")
    return int(value)


def _geometry_1d(x_shape, w_shape, strides, padding, dilation, op) -> ConvGeometry:
    """The ConvGeometry of conv1d (as conv2d with H = 1) after the 1-D checks, errors named `op`."""
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    if len(x_shape) != 3:
        raise ValueError(f"{op}: 'x' must be 3-D (N, L, C), got shape {x_shape}")
    if len(w_shape) != 3:
        raise ValueError(f"{op}: filters must be 3-D (k, C_in, C_out), got shape {w_shape}")
    s, d = _int1(strides, op, "strides"), _int1(dilation, op, "dilation")
    p = _padding_1d(padding, int(w_shape[0]), d, op)
    if x_shape[2] != w_shape[1]:
        raise ValueError(f"{op}: channel mismatch: input {x_shape} has C_in={x_shape[2]} but filters "
                         f"{w_shape} expect C_in={w_shape[1]}")
    return conv2d_geometry((x_shape[0], 1) + x_shape[1:], (1,) + w_shape, (1, s), p, (1, d), op)


def _seq_shape(shape, op, name):
    shape = tuple(shape)
    if len(shape) != 3:
        raise ValueError(f"{op}: '{name}' must be 3-D (N, L, C), got shape {shape}")
    return shape


def _check_dy_1d(op, dy, g, x_shape, w_shape):
    _check_dy(op, dy, (g.N, g.Wo, g.Cout), x_shape, w_shape)


def conv1d_output_shape(x_shape, w_shape, strides=1, padding="valid", dilation=1):
    """The output shape (N, Lo, C_out) of conv1d_forward for these shapes and arguments."""
    op = "conv1d_output_shape"
    x_shape, w_shape = shape_arg(x_shape, op, "x_shape"), shape_arg(w_shape, op, "w_shape")
    _seq_shape(x_shape, op, "x_shape")
    g = _geometry_1d(x_shape, w_shape, strides, padding, dilation, op)
    return g.N, g.Wo, g.Cout


def conv1d_forward(x, w, bias=None, strides=1, padding="valid", dilation=1, activation=None):
    """conv1d on sequences: x (N, L, C_in), w (k, C_in, C_out) -> (N, Lo, C_out); padding also "causal"."""
    op = "conv1d_forward"
    xp, backend = select(op, ("x", "w", "bias"), x, w, bias)
    x = float_array(xp, x, op, "x")
    w = float_array(xp, w, op, "w")
    bias = optional_float_array(xp, bias, op, "bias")
    dtype = same_dtype(op, x=x, w=w, bias=bias)
    g = _geometry_1d(x.shape, w.shape, strides, padding, dilation, op)
    bias = _bias(xp, op, bias, w.shape, activation)
    y = xp.empty(g.y_shape, dtype=dtype)
    _forward(xp, backend, x[:, None], w[None], bias, g, activation, y)
    return y[:, 0]


def conv1d_backward_data(dy, w, x_shape, strides=1, padding="valid", dilation=1):
    """dx of conv1d_forward, shape ``x_shape`` (N, L, C_in)."""
    op = "conv1d_backward_data"
    xp, backend = select(op, ("dy", "w"), dy, w)
    dy = float_array(xp, dy, op, "dy")
    w = float_array(xp, w, op, "w")
    dtype = same_dtype(op, dy=dy, w=w)
    x_shape = _seq_shape(shape_arg(x_shape, op, "x_shape"), op, "x_shape")
    _seq_shape(dy.shape, op, "dy")
    g = _geometry_1d(x_shape, w.shape, strides, padding, dilation, op)
    _check_dy_1d(op, dy, g, x_shape, w.shape)
    dx = xp.empty(x_shape, dtype=dtype)
    _backward_data(xp, backend, dy[:, None], w[None], g, dx[:, None])
    return dx


def conv1d_backward_filter(dy, x, w_shape, strides=1, padding="valid", dilation=1):
    """dw of conv1d_forward, shape ``w_shape`` (k, C_in, C_out)."""
    op = "conv1d_backward_filter"
    xp, backend = select(op, ("dy", "x"), dy, x)
    dy = float_array(xp, dy, op, "dy")
    x = float_array(xp, x, op, "x")
    dtype = same_dtype(op, dy=dy, x=x)
    _seq_shape(x.shape, op, "x")
    _seq_shape(dy.shape, op, "dy")
    w_shape = shape_arg(w_shape, op, "w_shape")
    g = _geometry_1d(x.shape, w_shape, strides, padding, dilation, op)
    _check_dy_1d(op, dy, g, x.shape, w_shape)
    dw = xp.empty(w_shape, dtype=dtype)
    _backward_filter(xp, backend, dy[:, None], x[:, None], g, dw[None])
    return dw


def conv1d_backward_bias(dy):
    """db = dy summed over N and Lo: shape (C_out,)."""
    op = "conv1d_backward_bias"
    xp, backend = select(op, ("dy",), dy)
    dy = float_array(xp, dy, op, "dy")
    _seq_shape(dy.shape, op, "dy")
    db = xp.empty((dy.shape[-1],), dtype=dy.dtype)
    _backward_bias(xp, backend, dy[:, None], db)
    return db


__all__ = ["CONV_ACTIVATIONS", "conv2d_output_shape", "conv2d_forward", "conv2d_backward_data",
           "conv2d_backward_filter", "conv2d_backward_bias", "conv1d_output_shape", "conv1d_forward",
           "conv1d_backward_data", "conv1d_backward_filter", "conv1d_backward_bias"]
