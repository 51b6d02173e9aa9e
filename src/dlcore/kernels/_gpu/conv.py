"""2-D and 1-D convolution on CuPy arrays, NHWC, Keras layouts (see docs/kernel_api.md).

x (N, H, W, Cin), w (kh, kw, Cin, Cout), bias (Cout,), y (N, Ho, Wo, Cout). 1-D: x (N, L, Cin),
w (k, Cin, Cout), run as 2-D with H = 1.
CUDA version: implicit GEMM (csrc/cuda/conv2d.cu). Fallback: im2col through a strided window view,
one cuBLAS GEMM, and for backward-data a scatter-add per filter tap.
"""
from __future__ import annotations

import math

from .._validate import check_ndim, gpu_float_array, gpu_output, same_dtype
from ._backends import register
from .device import cp, is_f64, ptr, stream
from .gemm import GEMM_ACTIVATIONS, apply_activation, check_activation


# ---- geometry (shared by both backends) ------------------------------------------------------------

def _pair(v, op, name):
    if isinstance(v, bool):
        raise TypeError(f"{op}: '{name}' must be an int or a pair of ints, got {v!r}")
    if isinstance(v, int):
        v = (v, v)
    try:
        a, b = v
        a, b = int(a), int(b)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: '{name}' must be an int or a pair of ints, got {v!r}") from None
    if a < 1 or b < 1:
        raise ValueError(f"{op}: '{name}' must be >= 1, got {v!r}")
    return a, b


def _same_pad(size, k, s, d):
    total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def resolve_padding(padding, H, W, kh, kw, sh, sw, dh, dw, op):
    """((top, bottom), (left, right)) from "valid" / "same" / int / ((t, b), (l, r))."""
    if isinstance(padding, str):
        p = padding.lower()
        if p == "valid":
            return (0, 0), (0, 0)
        if p == "same":
            return _same_pad(H, kh, sh, dh), _same_pad(W, kw, sw, dw)
        raise ValueError(f"{op}: padding must be 'valid', 'same', an int or ((top, bottom), (left, right)), "
                         f"got {padding!r}")
    if isinstance(padding, int) and not isinstance(padding, bool):
        if padding < 0:
            raise ValueError(f"{op}: padding must be >= 0, got {padding}")
        return (padding, padding), (padding, padding)
    try:
        (t, b), (l, r) = padding
        pads = tuple(int(v) for v in (t, b, l, r))
    except (TypeError, ValueError):
        raise ValueError(f"{op}: padding must be 'valid', 'same', an int or ((top, bottom), (left, right)), "
                         f"got {padding!r}") from None
    if min(pads) < 0:
        raise ValueError(f"{op}: padding must be >= 0, got {padding!r}")
    return (pads[0], pads[1]), (pads[2], pads[3])


def conv_geometry(x_shape, w_shape, strides, padding, dilation, op):
    """Every size of one convolution as a dict, after checking that the shapes fit together."""
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    if len(x_shape) != 4:
        raise ValueError(f"{op}: 'x' must be 4-D (N, H, W, C_in), got shape {x_shape}")
    if len(w_shape) != 4:
        raise ValueError(f"{op}: 'w' must be 4-D (kh, kw, C_in, C_out), got shape {w_shape}")
    N, H, W, Cin = x_shape
    kh, kw, wc, Cout = w_shape
    if wc != Cin:
        raise ValueError(f"{op}: w.shape {w_shape} expects C_in = {wc} but x.shape {x_shape} has C_in = {Cin}")
    if kh < 1 or kw < 1:
        raise ValueError(f"{op}: kernel size must be >= 1, got w.shape {w_shape}")
    sh, sw = _pair(strides, op, "strides")
    dh, dw = _pair(dilation, op, "dilation")
    (pt, pb), (pl, pr) = resolve_padding(padding, H, W, kh, kw, sh, sw, dh, dw, op)
    Ho = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1
    Wo = (W + pl + pr - dw * (kw - 1) - 1) // sw + 1
    if Ho < 1 or Wo < 1:
        raise ValueError(f"{op}: the (dilated) kernel {(kh, kw)} is larger than the padded input "
                         f"{(H + pt + pb, W + pl + pr)} (x.shape {x_shape}, padding {padding!r})")
    return dict(N=N, H=H, W=W, Cin=Cin, Ho=Ho, Wo=Wo, Cout=Cout, kh=kh, kw=kw, sh=sh, sw=sw, dh=dh, dw=dw,
                pt=pt, pb=pb, pl=pl, pr=pr)


def _geom_list(g):
    return [g[k] for k in ("N", "H", "W", "Cin", "Ho", "Wo", "Cout", "kh", "kw", "sh", "sw", "dh", "dw", "pt", "pl")]


def conv2d_output_shape(x_shape, w_shape, strides=1, padding="valid", dilation=1):
    """(N, Ho, Wo, Cout) of conv2d_forward."""
    g = conv_geometry(x_shape, w_shape, strides, padding, dilation, "conv2d_output_shape")
    return g["N"], g["Ho"], g["Wo"], g["Cout"]


def _windows(x, g):
    """The (N, Ho, Wo, kh, kw, Cin) view of every window of the zero-padded x (no copy of windows)."""
    xp = cp.pad(x, ((0, 0), (g["pt"], g["pb"]), (g["pl"], g["pr"]), (0, 0)))
    s0, s1, s2, s3 = xp.strides
    shape = (g["N"], g["Ho"], g["Wo"], g["kh"], g["kw"], g["Cin"])
    strides = (s0, s1 * g["sh"], s2 * g["sw"], s1 * g["dh"], s2 * g["dw"], s3)
    return cp.lib.stride_tricks.as_strided(xp, shape=shape, strides=strides)


def _cols(x, g):
    return _windows(x, g).reshape(g["N"] * g["Ho"] * g["Wo"], g["kh"] * g["kw"] * g["Cin"])


# ---- the kernels ---------------------------------------------------------------------------------

def conv2d_forward(x, w, bias=None, strides=1, padding="valid", dilation=1, activation=None, out=None, *, _cuda):
    """y = act(conv(x, w) + bias), NHWC."""
    op = "conv2d_forward"
    x = gpu_float_array(x, op, "x")
    w = gpu_float_array(w, op, "w")
    if bias is not None:
        bias = gpu_float_array(bias, op, "bias")
    dtype = same_dtype(op, x=x, w=w, bias=bias)
    check_ndim(x, 4, op, "x", "(N, H, W, C_in)")
    check_ndim(w, 4, op, "w", "(kh, kw, C_in, C_out)")
    g = conv_geometry(x.shape, w.shape, strides, padding, dilation, op)
    if bias is not None and bias.shape != (g["Cout"],):
        raise ValueError(f"{op}: 'bias' must have shape ({g['Cout']},), got {bias.shape}")
    check_activation(op, activation)
    shape = (g["N"], g["Ho"], g["Wo"], g["Cout"])
    target, out = gpu_output(out, shape, dtype, op, x, w, bias)
    if target.size:
        if _cuda is None:
            y = _cols(x, g) @ w.reshape(-1, g["Cout"])
            if bias is not None:
                y += bias
            target[...] = apply_activation(y, activation).reshape(shape)
        else:
            x, w = cp.ascontiguousarray(x), cp.ascontiguousarray(w)
            bias = None if bias is None else cp.ascontiguousarray(bias)
            _cuda.conv2d_forward(_geom_list(g), ptr(x), ptr(w), ptr(bias), GEMM_ACTIVATIONS[activation], ptr(target),
                                 is_f64(dtype), stream())
    if target is not out:
        out[...] = target
    return out


def conv2d_backward_data(dy, w, x_shape, strides=1, padding="valid", dilation=1, *, _cuda):
    """dx (x_shape) from dy (N, Ho, Wo, Cout) and w."""
    op = "conv2d_backward_data"
    dy = gpu_float_array(dy, op, "dy")
    w = gpu_float_array(w, op, "w")
    dtype = same_dtype(op, dy=dy, w=w)
    check_ndim(w, 4, op, "w", "(kh, kw, C_in, C_out)")
    g = conv_geometry(x_shape, w.shape, strides, padding, dilation, op)
    expect = (g["N"], g["Ho"], g["Wo"], g["Cout"])
    if tuple(dy.shape) != expect:
        raise ValueError(f"{op}: 'dy' must have shape {expect} for x_shape {tuple(x_shape)} and w.shape {w.shape}, "
                         f"got {dy.shape}")
    if _cuda is None:
        dx = cp.zeros(tuple(x_shape), dtype=dtype)
        if dx.size == 0 or dy.size == 0:
            return dx
        dcols = (dy.reshape(-1, g["Cout"]) @ w.reshape(-1, g["Cout"]).T).reshape(
            g["N"], g["Ho"], g["Wo"], g["kh"], g["kw"], g["Cin"])
        dxp = cp.zeros((g["N"], g["H"] + g["pt"] + g["pb"], g["W"] + g["pl"] + g["pr"], g["Cin"]), dtype=dtype)
        for i in range(g["kh"]):
            for j in range(g["kw"]):
                h0, w0 = i * g["dh"], j * g["dw"]
                dxp[:, h0:h0 + g["sh"] * (g["Ho"] - 1) + 1:g["sh"], w0:w0 + g["sw"] * (g["Wo"] - 1) + 1:g["sw"], :] += \
                    dcols[:, :, :, i, j, :]
        dx[...] = dxp[:, g["pt"]:g["pt"] + g["H"], g["pl"]:g["pl"] + g["W"], :]
        return dx
    dx = cp.empty(tuple(x_shape), dtype=dtype)
    if dx.size:
        dy, w = cp.ascontiguousarray(dy), cp.ascontiguousarray(w)
        _cuda.conv2d_backward_data(_geom_list(g), ptr(dy), ptr(w), ptr(dx), is_f64(dtype), stream())
    return dx


def conv2d_backward_filter(dy, x, w_shape, strides=1, padding="valid", dilation=1, *, _cuda):
    """dw (w_shape) from dy (N, Ho, Wo, Cout) and x."""
    op = "conv2d_backward_filter"
    dy = gpu_float_array(dy, op, "dy")
    x = gpu_float_array(x, op, "x")
    dtype = same_dtype(op, dy=dy, x=x)
    check_ndim(x, 4, op, "x", "(N, H, W, C_in)")
    g = conv_geometry(x.shape, w_shape, strides, padding, dilation, op)
    expect = (g["N"], g["Ho"], g["Wo"], g["Cout"])
    if tuple(dy.shape) != expect:
        raise ValueError(f"{op}: 'dy' must have shape {expect} for x.shape {x.shape} and w_shape {tuple(w_shape)}, "
                         f"got {dy.shape}")
    if _cuda is None:
        if dy.size == 0:
            return cp.zeros(tuple(w_shape), dtype=dtype)
        return (_cols(x, g).T @ dy.reshape(-1, g["Cout"])).reshape(tuple(w_shape))
    dw = cp.empty(tuple(w_shape), dtype=dtype)
    if dw.size:
        dy, x = cp.ascontiguousarray(dy), cp.ascontiguousarray(x)
        _cuda.conv2d_backward_filter(_geom_list(g), ptr(dy), ptr(x), ptr(dw), is_f64(dtype), stream())
    return dw


def conv2d_backward_bias(dy, *, _cuda):
    """db (Cout,) = the sum of dy over every axis but the last."""
    op = "conv2d_backward_bias"
    dy = gpu_float_array(dy, op, "dy")
    if dy.ndim < 1:
        raise ValueError(f"{op}: 'dy' must have a channel axis, got shape {dy.shape}")
    cout = dy.shape[-1]
    if _cuda is None:
        return dy.reshape(-1, cout).sum(axis=0) if dy.size else cp.zeros((cout,), dtype=dy.dtype)
    dy = cp.ascontiguousarray(dy)
    db = cp.empty((cout,), dtype=dy.dtype)
    rows = dy.size // cout if cout else 0
    _cuda.column_sum(rows, cout, ptr(dy), ptr(db), False, is_f64(dy.dtype), stream())
    return db


# ---- 1-D: the 2-D kernels with H = 1 -----------------------------------------------------------------

def _padding_1d(padding, op):
    if isinstance(padding, str) or (isinstance(padding, int) and not isinstance(padding, bool)):
        if isinstance(padding, int):
            return ((0, 0), (padding, padding)) if padding >= 0 else padding
        return padding
    try:
        left, right = padding
        return (0, 0), (int(left), int(right))
    except (TypeError, ValueError):
        raise ValueError(f"{op}: padding must be 'valid', 'same', an int or (left, right), got {padding!r}") from None


def _scalar(v, op, name):
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ValueError(f"{op}: '{name}' must be an int, got {v!r}")
        v = v[0]
    return (1, v)


def _x3(x, op):
    x = gpu_float_array(x, op, "x")
    check_ndim(x, 3, op, "x", "(N, L, C_in)")
    return x


def _w3(w, op):
    w = gpu_float_array(w, op, "w")
    check_ndim(w, 3, op, "w", "(k, C_in, C_out)")
    return w


def conv1d_forward(x, w, bias=None, strides=1, padding="valid", dilation=1, activation=None, *, _cuda):
    """y (N, Lo, Cout) = act(conv1d(x, w) + bias)."""
    op = "conv1d_forward"
    x, w = _x3(x, op), _w3(w, op)
    y = (_cuda_or_fallback(conv2d_forward, _cuda))(
        x[:, None], w[None], bias, _scalar(strides, op, "strides"), _padding_1d(padding, op),
        _scalar(dilation, op, "dilation"), activation)
    return y[:, 0]


def conv1d_backward_data(dy, w, x_shape, strides=1, padding="valid", dilation=1, *, _cuda):
    op = "conv1d_backward_data"
    dy = gpu_float_array(dy, op, "dy")
    check_ndim(dy, 3, op, "dy", "(N, L_out, C_out)")
    w = _w3(w, op)
    if len(tuple(x_shape)) != 3:
        raise ValueError(f"{op}: 'x_shape' must be (N, L, C_in), got {tuple(x_shape)}")
    N, L, C = x_shape
    dx = (_cuda_or_fallback(conv2d_backward_data, _cuda))(
        dy[:, None], w[None], (N, 1, L, C), _scalar(strides, op, "strides"), _padding_1d(padding, op),
        _scalar(dilation, op, "dilation"))
    return dx[:, 0]


def conv1d_backward_filter(dy, x, w_shape, strides=1, padding="valid", dilation=1, *, _cuda):
    op = "conv1d_backward_filter"
    dy = gpu_float_array(dy, op, "dy")
    check_ndim(dy, 3, op, "dy", "(N, L_out, C_out)")
    x = _x3(x, op)
    if len(tuple(w_shape)) != 3:
        raise ValueError(f"{op}: 'w_shape' must be (k, C_in, C_out), got {tuple(w_shape)}")
    dw = (_cuda_or_fallback(conv2d_backward_filter, _cuda))(
        dy[:, None], x[:, None], (1,) + tuple(w_shape), _scalar(strides, op, "strides"), _padding_1d(padding, op),
        _scalar(dilation, op, "dilation"))
    return dw[0]


def _cuda_or_fallback(body, _cuda):
    return lambda *a, **k: body(*a, _cuda=_cuda, **k)


FALLBACK, CUDA = {}, {}
register(FALLBACK, CUDA, conv2d_forward, conv2d_backward_data, conv2d_backward_filter, conv2d_backward_bias,
         conv1d_forward, conv1d_backward_data, conv1d_backward_filter)
FALLBACK["conv2d_output_shape"] = CUDA["conv2d_output_shape"] = conv2d_output_shape
