"""Convolution on arrays, NHWC (Keras's layout): conv2d and conv1d, forward and backward.

Layouts: images ``x`` (N, H, W, C_in), filters ``w`` (kh, kw, C_in, C_out), outputs (N, Ho, Wo, C_out);
conv1d takes sequences (N, L, C_in) and filters (k, C_in, C_out) and runs as conv2d with height 1.

``padding`` is "valid" (none), "same" (Keras/TensorFlow: total padding
``max((ceil(H/s) - 1)*s + (k-1)*d + 1 - H, 0)``, the odd one at the bottom/right), an int (that many
zeros on every side), a pair ``(ph, pw)`` (symmetric per axis) or explicit
``((top, bottom), (left, right))``. ``strides`` and ``dilation`` are an int or a pair.

The C++ kernels are in csrc/cpu/conv2d.cpp: an implicit GEMM on the packed GEMM's microkernel
(im2col(x) read in place, never written out), and Winograd F(2x2, 3x3) for 3x3 stride-1 layers with
16+ channels, whose float32 results agree with the direct sum to within its rounding (relative error
3e-7..7e-7 against float64 measured on 64-512 channels).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _C
from ._validate import check_ndim, float_array, output, same_dtype

# Activations the forward pass fuses (their codes in csrc/cpu/gemm/gemm.h).
CONV_ACTIVATIONS = {None: 0, "linear": 0, "relu": 1, "sigmoid": 2, "tanh": 3}


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _pair(value, op, name):
    """An int or a pair of ints >= 1, as a pair."""
    if _is_int(value):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2 or not all(_is_int(v) for v in value)
            or min(value) < 1):
        raise ValueError(f"{op}: '{name}' must be a positive int or a pair of positive ints, got {value!r}")
    return int(value[0]), int(value[1])


def _explicit_padding(padding, op):
    """((top, bottom), (left, right)) from an int, an (ph, pw) pair or explicit pairs; else None."""
    def nonneg(v):
        return _is_int(v) and v >= 0
    if _is_int(padding) and padding >= 0:
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


def _geometry(x_shape, w_shape, strides, padding, dilation, op):
    """Checks the shapes and arguments; returns ((N, Ho, Wo, C_out), geometry tuple for _C)."""
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
        pads = _explicit_padding(padding, op)
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
    return (n, ho, wo, cout), (sh, sw, pt, pb, pl, pr, dh, dw)


def _shape_arg(shape, op, name):
    if not isinstance(shape, (tuple, list)) or not all(_is_int(v) for v in shape):
        raise ValueError(f"{op}: '{name}' must be a tuple of ints, got {shape!r}")
    return tuple(int(v) for v in shape)


def conv2d_output_shape(x_shape, w_shape, strides=1, padding="valid", dilation=1):
    """The output shape (N, Ho, Wo, C_out) of conv2d_forward for these shapes and arguments."""
    op = "conv2d_output_shape"
    return _geometry(_shape_arg(x_shape, op, "x_shape"), _shape_arg(w_shape, op, "w_shape"), strides, padding,
                     dilation, op)[0]


def conv2d_forward(x, w, bias=None, strides=1, padding="valid", dilation=1, activation=None, out=None):
    """y = act(conv2d(x, w) + bias): x (N, H, W, C_in), w (kh, kw, C_in, C_out) -> y (N, Ho, Wo, C_out).

    ``y[n, i, j, o] = act(bias[o] + sum_{a, b, c} xpad[n, i*sh + a*dh, j*sw + b*dw, c] * w[a, b, c, o])``.
    ``activation``: None/"linear", "relu", "sigmoid", "tanh" (fused, applied while the output is in cache).
    """
    op = "conv2d_forward"
    x = float_array(x, op, "x")
    w = float_array(w, op, "w")
    if bias is not None:
        bias = float_array(bias, op, "bias")
    dtype = same_dtype(op, x=x, w=w, bias=bias, out=out if isinstance(out, np.ndarray) else None)
    check_ndim(x, 4, op, "x", "(N, H, W, C_in)")
    check_ndim(w, 4, op, "w", "(kh, kw, C_in, C_out)")
    y_shape, geo = _geometry(x.shape, w.shape, strides, padding, dilation, op)
    if activation not in CONV_ACTIVATIONS:
        raise ValueError(f"{op}: activation must be one of {sorted(k for k in CONV_ACTIVATIONS if k)} or None, "
                         f"got {activation!r}")
    if bias is not None:
        if bias.shape != (w.shape[3],):
            raise ValueError(f"{op}: 'bias' must have shape ({w.shape[3]},) for filters {w.shape}, got {bias.shape}")
        bias = np.ascontiguousarray(bias)
    target, out = output(out, y_shape, dtype, op, x, w, bias)
    _C.conv2d_forward(np.ascontiguousarray(x), np.ascontiguousarray(w), bias, target, geo,
                      CONV_ACTIVATIONS[activation])
    if target is not out:
        out[...] = target
    return out


def _backward_geometry(op, dy, x_shape, w_shape, strides, padding, dilation):
    """The geometry of a backward pass, once dy is checked to have the forward output's shape."""
    y_shape, geo = _geometry(x_shape, w_shape, strides, padding, dilation, op)
    if dy.shape != y_shape:
        raise ValueError(f"{op}: 'dy' must have shape {y_shape} (the output for input {tuple(x_shape)} and "
                         f"filters {tuple(w_shape)}), got {dy.shape}")
    return geo


def conv2d_backward_data(dy, w, x_shape, strides=1, padding="valid", dilation=1):
    """dx = d(sum(conv2d(x, w) * dy)) / dx, shape ``x_shape`` (N, H, W, C_in)."""
    op = "conv2d_backward_data"
    dy = float_array(dy, op, "dy")
    w = float_array(w, op, "w")
    dtype = same_dtype(op, dy=dy, w=w)
    check_ndim(w, 4, op, "w", "(kh, kw, C_in, C_out)")
    x_shape = _shape_arg(x_shape, op, "x_shape")
    geo = _backward_geometry(op, dy, x_shape, w.shape, strides, padding, dilation)
    dx = np.empty(x_shape, dtype=dtype)
    _C.conv2d_backward_data(np.ascontiguousarray(dy), np.ascontiguousarray(w), dx, geo)
    return dx


def conv2d_backward_filter(dy, x, w_shape, strides=1, padding="valid", dilation=1):
    """dw = d(sum(conv2d(x, w) * dy)) / dw, shape ``w_shape`` (kh, kw, C_in, C_out)."""
    op = "conv2d_backward_filter"
    dy = float_array(dy, op, "dy")
    x = float_array(x, op, "x")
    dtype = same_dtype(op, dy=dy, x=x)
    check_ndim(x, 4, op, "x", "(N, H, W, C_in)")
    w_shape = _shape_arg(w_shape, op, "w_shape")
    geo = _backward_geometry(op, dy, x.shape, w_shape, strides, padding, dilation)
    dw = np.empty(w_shape, dtype=dtype)
    _C.conv2d_backward_filter(np.ascontiguousarray(dy), np.ascontiguousarray(x), dw, geo)
    return dw


def conv2d_backward_bias(dy):
    """db = dy summed over N, Ho, Wo: shape (C_out,)."""
    op = "conv2d_backward_bias"
    dy = float_array(dy, op, "dy")
    check_ndim(dy, 4, op, "dy", "(N, Ho, Wo, C_out)")
    db = np.empty((dy.shape[-1],), dtype=dy.dtype)
    _C.conv2d_backward_bias(np.ascontiguousarray(dy), db)
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
    if _is_int(padding) and padding >= 0:
        return ((0, 0), (int(padding), int(padding)))
    if (isinstance(padding, (tuple, list)) and len(padding) == 2 and all(_is_int(v) and v >= 0 for v in padding)):
        return ((0, 0), (int(padding[0]), int(padding[1])))
    raise ValueError(f"{op}: padding must be 'valid', 'same', 'causal', an int or (left, right), got {padding!r}")


def _int1(value, op, name):
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not _is_int(value) or value < 1:
        raise ValueError(f"{op}: '{name}' must be a positive int, got {value!r}")
    return int(value)


def _args_1d(w_shape, strides, padding, dilation, op):
    if len(w_shape) != 3:
        raise ValueError(f"{op}: filters must be 3-D (k, C_in, C_out), got shape {tuple(w_shape)}")
    s, d = _int1(strides, op, "strides"), _int1(dilation, op, "dilation")
    return (1, s), _padding_1d(padding, int(w_shape[0]), d, op), (1, d)


def _check_channels_1d(x_shape, w_shape, op):
    if len(w_shape) == 3 and x_shape[2] != w_shape[1]:
        raise ValueError(f"{op}: channel mismatch: input {tuple(x_shape)} has C_in={x_shape[2]} but filters "
                         f"{tuple(w_shape)} expect C_in={w_shape[1]}")


def _seq_shape(shape, op, name):
    shape = tuple(shape)
    if len(shape) != 3:
        raise ValueError(f"{op}: '{name}' must be 3-D (N, L, C), got shape {shape}")
    return shape


def conv1d_output_shape(x_shape, w_shape, strides=1, padding="valid", dilation=1):
    op = "conv1d_output_shape"
    x_shape, w_shape = _shape_arg(x_shape, op, "x_shape"), _shape_arg(w_shape, op, "w_shape")
    _seq_shape(x_shape, op, "x_shape")
    s, p, d = _args_1d(w_shape, strides, padding, dilation, op)
    n, _, lo, c = _geometry((x_shape[0], 1) + x_shape[1:], (1,) + w_shape, s, p, d, op)[0]
    return n, lo, c


def conv1d_forward(x, w, bias=None, strides=1, padding="valid", dilation=1, activation=None):
    """conv1d on sequences: x (N, L, C_in), w (k, C_in, C_out) -> (N, Lo, C_out); padding also "causal"."""
    op = "conv1d_forward"
    x, w = float_array(x, op, "x"), float_array(w, op, "w")
    _seq_shape(x.shape, op, "x")
    s, p, d = _args_1d(w.shape, strides, padding, dilation, op)
    _check_channels_1d(x.shape, w.shape, op)
    _geometry((x.shape[0], 1) + x.shape[1:], (1,) + w.shape, s, p, d, op)  # errors named conv1d
    y = conv2d_forward(x[:, None], w[None], bias, s, p, d, activation)
    return y[:, 0]


def conv1d_backward_data(dy, w, x_shape, strides=1, padding="valid", dilation=1):
    op = "conv1d_backward_data"
    dy, w = float_array(dy, op, "dy"), float_array(w, op, "w")
    x_shape = _seq_shape(_shape_arg(x_shape, op, "x_shape"), op, "x_shape")
    _seq_shape(dy.shape, op, "dy")
    s, p, d = _args_1d(w.shape, strides, padding, dilation, op)
    _check_channels_1d(x_shape, w.shape, op)
    y_shape = _geometry((x_shape[0], 1) + x_shape[1:], (1,) + w.shape, s, p, d, op)[0]
    if dy.shape != (y_shape[0],) + y_shape[2:]:
        raise ValueError(f"{op}: 'dy' must have shape {(y_shape[0],) + y_shape[2:]} (the output for input "
                         f"{x_shape} and filters {w.shape}), got {dy.shape}")
    return conv2d_backward_data(dy[:, None], w[None], (x_shape[0], 1) + x_shape[1:], s, p, d)[:, 0]


def conv1d_backward_filter(dy, x, w_shape, strides=1, padding="valid", dilation=1):
    op = "conv1d_backward_filter"
    dy, x = float_array(dy, op, "dy"), float_array(x, op, "x")
    _seq_shape(x.shape, op, "x")
    _seq_shape(dy.shape, op, "dy")
    w_shape = _shape_arg(w_shape, op, "w_shape")
    s, p, d = _args_1d(w_shape, strides, padding, dilation, op)
    _check_channels_1d(x.shape, w_shape, op)
    y_shape = _geometry((x.shape[0], 1) + x.shape[1:], (1,) + w_shape, s, p, d, op)[0]
    if dy.shape != (y_shape[0],) + y_shape[2:]:
        raise ValueError(f"{op}: 'dy' must have shape {(y_shape[0],) + y_shape[2:]} (the output for input "
                         f"{x.shape} and filters {w_shape}), got {dy.shape}")
    return conv2d_backward_filter(dy[:, None], x[:, None], (1,) + w_shape, s, p, d)[0]


def conv1d_backward_bias(dy):
    op = "conv1d_backward_bias"
    dy = float_array(dy, op, "dy")
    _seq_shape(dy.shape, op, "dy")
    return conv2d_backward_bias(dy[:, None])
