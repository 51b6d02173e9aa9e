"""Convolution on arrays, NHWC (Keras's layout): conv2d and conv1d, forward and backward.

Layouts: images ``x`` (N, H, W, C_in), filters ``w`` (kh, kw, C_in, C_out), outputs (N, Ho, Wo, C_out);
conv1d takes sequences (N, L, C_in) and filters (k, C_in, C_out) and runs as conv2d with height 1.

``padding`` is "valid" (none), "same" (Keras/TensorFlow: total padding
``max((ceil(H/s) - 1)*s + (k-1)*d + 1 - H, 0)``, the odd one at the bottom/right), an int (that many
zeros on every side), a pair ``(ph, pw)`` (symmetric per axis) or explicit
``((top, bottom), (left, right))``. ``strides`` and ``dilation`` are an int or a pair.

Every entry checks its arguments once and computes one ConvGeometry, which each backend reads:
cpu, csrc/cpu/conv2d.cpp, an implicit GEMM on the packed GEMM's microkernel (im2col(x) read in place,
never written out), direct kernels for a few input channels (an image network's first layer: 1 grey
or 3 RGB), and Winograd F(2x2, 3x3) for 3x3 stride-1 layers with 16+ channels, whose
float32 results agree with the direct sum to within its rounding (relative error 3e-7..7e-7 against
float64 measured on 64-512 channels); cuda, csrc/cuda/conv2d.cu, an implicit GEMM; fallback,
fallback/conv2d.py, im2col through a strided view and one GEMM.
"""
from __future__ import annotations

from .. import _C
from . import codes
from ._conv_geometry import ConvGeometry, conv2d_geometry, geometry_1d  # noqa: F401  (ConvGeometry: named here)
from ._device import cuda, f64, ptr, stream
from ._validate import check_ndim, contiguous, finish, float_array, optional_float_array, output, same_dtype, shape_arg
from .activation import relu_forward, sigmoid_forward, tanh_forward
from .backend import CPU, CUDA, select
from .depthwise_conv2d import depthwise, depthwise_backward_data, depthwise_backward_filter
from .fallback import conv2d as fallback
from .gemm import check_activation

# Activations the forward pass fuses (their codes in csrc/cpu/gemm/gemm.h, csrc/cuda/conv2d.cu).
CONV_ACTIVATIONS = codes.EPILOGUES  # the same epilogue as the GEMM's


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


# ---- grouped convolution --------------------------------------------------------------------------------
# Group k reads input channels [k*Cin/G, (k+1)*Cin/G) and writes output channels [k*Cout/G, ...),
# with filters w[..., k*Cout/G:(k+1)*Cout/G] of shape (kh, kw, Cin/G, Cout/G).
# One input channel per group (depthwise, Cin/G = 1): the depthwise kernels (kernels/depthwise_conv2d.py),
# SIMD over the channels; w (kh, kw, 1, Cout) is their (kh, kw, Cin, Cout/Cin).
# Otherwise one call of the ordinary kernel per group: the channels are moved to a leading group axis
# once ((N, H, W, C) -> (G, N, H, W, C/G), contiguous), each group runs on its slab, and the result is
# moved back once.

def _split_groups(xp, a, groups):
    """(..., C) -> (G, ..., C/G), C-contiguous."""
    lead = a.shape[:-1]
    return xp.ascontiguousarray(xp.moveaxis(a.reshape(lead + (groups, a.shape[-1] // groups)), -2, 0))


def _join_groups(xp, a):
    """(G, ..., C/G) -> (..., G*C/G), C-contiguous."""
    lead = a.shape[1:-1]
    return xp.ascontiguousarray(xp.moveaxis(a, 0, -2)).reshape(lead + (a.shape[0] * a.shape[-1],))


def _group_geometry(g, groups):
    return g._replace(Cin=g.Cin // groups, Cout=g.Cout // groups)


def _depthwise_filters(w, groups):
    """Grouped filters (kh, kw, 1, Cout) as depthwise ones (kh, kw, Cin, Cout/Cin)."""
    return w.reshape(w.shape[0], w.shape[1], groups, w.shape[3] // groups)


def _forward_groups(xp, backend, x, w, bias, g, activation, y, groups):
    if g.Cin == groups:
        depthwise(xp, backend, x, _depthwise_filters(w, groups), bias, g, y)
        if activation not in (None, "linear"):  # the activations conv2d fuses, in place
            {"relu": relu_forward, "sigmoid": sigmoid_forward, "tanh": tanh_forward}[activation](y, out=y)
        return
    gg = _group_geometry(g, groups)
    xs, ws = _split_groups(xp, x, groups), _split_groups(xp, w, groups)
    bs = None if bias is None else bias.reshape(groups, gg.Cout)
    ys = xp.empty((groups, g.N, g.Ho, g.Wo, gg.Cout), dtype=y.dtype)
    for k in range(groups):
        _forward(xp, backend, xs[k], ws[k], None if bs is None else bs[k], gg, activation, ys[k])
    y[...] = _join_groups(xp, ys)


def _backward_data_groups(xp, backend, dy, w, g, dx, groups):
    if g.Cin == groups:
        depthwise_backward_data(xp, backend, dy, _depthwise_filters(w, groups), g, dx)
        return
    gg = _group_geometry(g, groups)
    dys, ws = _split_groups(xp, dy, groups), _split_groups(xp, w, groups)
    dxs = xp.empty((groups, g.N, g.H, g.W, gg.Cin), dtype=dx.dtype)
    for k in range(groups):
        _backward_data(xp, backend, dys[k], ws[k], gg, dxs[k])
    dx[...] = _join_groups(xp, dxs)


def _backward_filter_groups(xp, backend, dy, x, g, dw, groups):
    if g.Cin == groups:
        depthwise_backward_filter(xp, backend, dy, x, g, _depthwise_filters(dw, groups))
        return
    gg = _group_geometry(g, groups)
    dys, xs = _split_groups(xp, dy, groups), _split_groups(xp, x, groups)
    dws = xp.empty((groups, g.kh, g.kw, gg.Cin, gg.Cout), dtype=dw.dtype)
    for k in range(groups):
        _backward_filter(xp, backend, dys[k], xs[k], gg, dws[k])
    dw[...] = _join_groups(xp, dws)


def _run_backward_data(xp, backend, dy, w, g, dx, groups):
    if groups == 1:
        _backward_data(xp, backend, dy, w, g, dx)
    else:
        _backward_data_groups(xp, backend, dy, w, g, dx, groups)


def _run_backward_filter(xp, backend, dy, x, g, dw, groups):
    if groups == 1:
        _backward_filter(xp, backend, dy, x, g, dw)
    else:
        _backward_filter_groups(xp, backend, dy, x, g, dw, groups)


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


def conv2d_output_shape(x_shape, w_shape, strides=1, padding="valid", dilation=1, groups=1):
    """The output shape (N, Ho, Wo, C_out) of conv2d_forward for these shapes and arguments."""
    op = "conv2d_output_shape"
    return conv2d_geometry(shape_arg(x_shape, op, "x_shape"), shape_arg(w_shape, op, "w_shape"), strides, padding,
                           dilation, op, groups).y_shape


def conv2d_forward(x, w, bias=None, strides=1, padding="valid", dilation=1, activation=None, out=None, groups=1):
    """y = act(conv2d(x, w) + bias): x (N, H, W, C_in), w (kh, kw, C_in, C_out) -> y (N, Ho, Wo, C_out).

    ``y[n, i, j, o] = act(bias[o] + sum_{a, b, c} xpad[n, i*sh + a*dh, j*sw + b*dw, c] * w[a, b, c, o])``.
    ``activation``: None/"linear", "relu", "sigmoid", "tanh" (fused, applied while the output is in cache).
    ``groups`` > 1: w is (kh, kw, C_in / groups, C_out) and output channel o sees only the input channels
    of its group, ``o // (C_out / groups)`` (Keras's ``groups``; depthwise when groups = C_in).
    """
    op = "conv2d_forward"
    xp, backend = select(op, ("x", "w", "bias", "out"), x, w, bias, out)
    x = float_array(xp, x, op, "x")
    w = float_array(xp, w, op, "w")
    bias = optional_float_array(xp, bias, op, "bias")
    dtype = same_dtype(op, x=x, w=w, bias=bias, out=out if isinstance(out, xp.ndarray) else None)
    check_ndim(x, 4, op, "x", "(N, H, W, C_in)")
    check_ndim(w, 4, op, "w", "(kh, kw, C_in, C_out)")
    g = conv2d_geometry(x.shape, w.shape, strides, padding, dilation, op, groups)
    bias = _bias(xp, op, bias, w.shape, activation)
    target, out = output(xp, out, g.y_shape, dtype, op, x, w, bias)
    if groups == 1:
        _forward(xp, backend, x, w, bias, g, activation, target)
    else:
        _forward_groups(xp, backend, x, w, bias, g, activation, target, groups)
    return finish(target, out)


def conv2d_backward_data(dy, w, x_shape, strides=1, padding="valid", dilation=1, groups=1):
    """dx = d(sum(conv2d(x, w) * dy)) / dx, shape ``x_shape`` (N, H, W, C_in)."""
    op = "conv2d_backward_data"
    xp, backend = select(op, ("dy", "w"), dy, w)
    dy = float_array(xp, dy, op, "dy")
    w = float_array(xp, w, op, "w")
    dtype = same_dtype(op, dy=dy, w=w)
    check_ndim(w, 4, op, "w", "(kh, kw, C_in, C_out)")
    x_shape = shape_arg(x_shape, op, "x_shape")
    g = conv2d_geometry(x_shape, w.shape, strides, padding, dilation, op, groups)
    _check_dy(op, dy, g.y_shape, x_shape, w.shape)
    dx = xp.empty(x_shape, dtype=dtype)
    _run_backward_data(xp, backend, dy, w, g, dx, groups)
    return dx


def conv2d_backward_filter(dy, x, w_shape, strides=1, padding="valid", dilation=1, groups=1):
    """dw = d(sum(conv2d(x, w) * dy)) / dw, shape ``w_shape`` (kh, kw, C_in, C_out)."""
    op = "conv2d_backward_filter"
    xp, backend = select(op, ("dy", "x"), dy, x)
    dy = float_array(xp, dy, op, "dy")
    x = float_array(xp, x, op, "x")
    dtype = same_dtype(op, dy=dy, x=x)
    check_ndim(x, 4, op, "x", "(N, H, W, C_in)")
    w_shape = shape_arg(w_shape, op, "w_shape")
    g = conv2d_geometry(x.shape, w_shape, strides, padding, dilation, op, groups)
    _check_dy(op, dy, g.y_shape, x.shape, w_shape)
    dw = xp.empty(w_shape, dtype=dtype)
    _run_backward_filter(xp, backend, dy, x, g, dw, groups)
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

def _seq_shape(shape, op, name):
    shape = tuple(shape)
    if len(shape) != 3:
        raise ValueError(f"{op}: '{name}' must be 3-D (N, L, C), got shape {shape}")
    return shape


def _check_dy_1d(op, dy, g, x_shape, w_shape):
    _check_dy(op, dy, (g.N, g.Wo, g.Cout), x_shape, w_shape)


def conv1d_output_shape(x_shape, w_shape, strides=1, padding="valid", dilation=1, groups=1):
    """The output shape (N, Lo, C_out) of conv1d_forward for these shapes and arguments."""
    op = "conv1d_output_shape"
    x_shape, w_shape = shape_arg(x_shape, op, "x_shape"), shape_arg(w_shape, op, "w_shape")
    _seq_shape(x_shape, op, "x_shape")
    g = geometry_1d(x_shape, w_shape, strides, padding, dilation, op, groups)
    return g.N, g.Wo, g.Cout


def conv1d_forward(x, w, bias=None, strides=1, padding="valid", dilation=1, activation=None, groups=1):
    """conv1d on sequences: x (N, L, C_in), w (k, C_in / groups, C_out) -> (N, Lo, C_out); padding also
    "causal"."""
    op = "conv1d_forward"
    xp, backend = select(op, ("x", "w", "bias"), x, w, bias)
    x = float_array(xp, x, op, "x")
    w = float_array(xp, w, op, "w")
    bias = optional_float_array(xp, bias, op, "bias")
    dtype = same_dtype(op, x=x, w=w, bias=bias)
    g = geometry_1d(x.shape, w.shape, strides, padding, dilation, op, groups)
    bias = _bias(xp, op, bias, w.shape, activation)
    y = xp.empty(g.y_shape, dtype=dtype)
    if groups == 1:
        _forward(xp, backend, x[:, None], w[None], bias, g, activation, y)
    else:
        _forward_groups(xp, backend, x[:, None], w[None], bias, g, activation, y, groups)
    return y[:, 0]


def conv1d_backward_data(dy, w, x_shape, strides=1, padding="valid", dilation=1, groups=1):
    """dx of conv1d_forward, shape ``x_shape`` (N, L, C_in)."""
    op = "conv1d_backward_data"
    xp, backend = select(op, ("dy", "w"), dy, w)
    dy = float_array(xp, dy, op, "dy")
    w = float_array(xp, w, op, "w")
    dtype = same_dtype(op, dy=dy, w=w)
    x_shape = _seq_shape(shape_arg(x_shape, op, "x_shape"), op, "x_shape")
    _seq_shape(dy.shape, op, "dy")
    g = geometry_1d(x_shape, w.shape, strides, padding, dilation, op, groups)
    _check_dy_1d(op, dy, g, x_shape, w.shape)
    dx = xp.empty(x_shape, dtype=dtype)
    _run_backward_data(xp, backend, dy[:, None], w[None], g, dx[:, None], groups)
    return dx


def conv1d_backward_filter(dy, x, w_shape, strides=1, padding="valid", dilation=1, groups=1):
    """dw of conv1d_forward, shape ``w_shape`` (k, C_in, C_out)."""
    op = "conv1d_backward_filter"
    xp, backend = select(op, ("dy", "x"), dy, x)
    dy = float_array(xp, dy, op, "dy")
    x = float_array(xp, x, op, "x")
    dtype = same_dtype(op, dy=dy, x=x)
    _seq_shape(x.shape, op, "x")
    _seq_shape(dy.shape, op, "dy")
    w_shape = shape_arg(w_shape, op, "w_shape")
    g = geometry_1d(x.shape, w_shape, strides, padding, dilation, op, groups)
    _check_dy_1d(op, dy, g, x.shape, w_shape)
    dw = xp.empty(w_shape, dtype=dtype)
    _run_backward_filter(xp, backend, dy[:, None], x[:, None], g, dw[None], groups)
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
