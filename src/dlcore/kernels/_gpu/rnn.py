"""Recurrent layers over whole sequences on CuPy arrays: LSTM, GRU (Keras reset_after=True), SimpleRNN.

Shapes (Keras): x (B, T, I); h0, c0 (B, H) or None (zeros); kernel (I, G*H); recurrent_kernel
(H, G*H); bias (G*H,), for the GRU (2, 3H) (input bias, recurrent bias). Gate order i, f, c, o (LSTM),
z, r, h (GRU). The cache is a tuple of arrays, the same layout for both GPU backends:
  LSTM (x, h0, c0, kernel, recurrent_kernel, gates (B, T, 4H) activated [i, f, g, o], cs (B, T, H), hs)
  GRU  (x, h0, kernel, recurrent_kernel, gates (B, T, 3H) [z, r, hh], hzh (B, T, H), hs)
  SimpleRNN (x, h0, kernel, recurrent_kernel, hs)
CUDA version: csrc/cuda/rnn.cu (dlcore's GEMM per step plus a fused gate kernel). Fallback: cuBLAS per
step through cupy.matmul and CuPy array expressions for the gates.
"""
from __future__ import annotations

from .._validate import check_ndim, gpu_float_array, same_dtype
from ._backends import register
from .device import cp, is_f64, ptr, stream


def _sig(x):
    return 1 / (1 + cp.exp(-x))


def _check_inputs(op, x, h0, c0, kernel, recurrent_kernel, bias, G, gru=False):
    x = gpu_float_array(x, op, "x")
    kernel = gpu_float_array(kernel, op, "kernel")
    recurrent_kernel = gpu_float_array(recurrent_kernel, op, "recurrent_kernel")
    bias = gpu_float_array(bias, op, "bias")
    h0 = None if h0 is None else gpu_float_array(h0, op, "h0")
    c0 = None if c0 is None else gpu_float_array(c0, op, "c0")
    same_dtype(op, x=x, kernel=kernel, recurrent_kernel=recurrent_kernel, bias=bias, h0=h0, c0=c0)
    check_ndim(x, 3, op, "x", "(batch, time, features)")
    check_ndim(recurrent_kernel, 2, op, "recurrent_kernel", f"(units, {G}*units)")
    B, T, I = x.shape
    H = recurrent_kernel.shape[0]
    if recurrent_kernel.shape != (H, G * H):
        raise ValueError(f"{op}: 'recurrent_kernel' must have shape (units, {G}*units) = {(H, G * H)}, "
                         f"got {recurrent_kernel.shape}")
    if kernel.shape != (I, G * H):
        raise ValueError(f"{op}: 'kernel' must have shape {(I, G * H)} for x.shape {x.shape} and {H} units, "
                         f"got {kernel.shape}")
    bshape = (2, G * H) if gru else (G * H,)
    if bias.shape != bshape:
        raise ValueError(f"{op}: 'bias' must have shape {bshape}, got {bias.shape}")
    for name, s in (("h0", h0), ("c0", c0)):
        if s is not None and s.shape != (B, H):
            raise ValueError(f"{op}: '{name}' must have shape {(B, H)}, got {s.shape}")
    c = cp.ascontiguousarray
    return (c(x), None if h0 is None else c(h0), None if c0 is None else c(c0), c(kernel), c(recurrent_kernel),
            c(bias), B, T, I, H)


def _grad_in(g, shape, dtype, op, name):
    if g is None:
        return None
    g = gpu_float_array(g, op, name)
    if g.dtype != dtype:
        raise TypeError(f"{op}: '{name}' must have dtype {dtype}, got {g.dtype}")
    if tuple(g.shape) != tuple(shape):
        raise ValueError(f"{op}: '{name}' must have shape {tuple(shape)}, got {g.shape}")
    return cp.ascontiguousarray(g)


def _cache(cache, n, op):
    if not isinstance(cache, tuple) or len(cache) != n:
        raise ValueError(f"{op}: 'cache' must be the {n}-tuple returned by the forward pass")
    return cache


def _state0(h0, B, H, dtype):
    return cp.zeros((B, H), dtype=dtype) if h0 is None else h0


def _prev_states(hs, h0):
    """(B, T, H): h_{t-1} for every step."""
    B, T, H = hs.shape
    first = cp.zeros((B, 1, H), hs.dtype) if h0 is None else h0[:, None]
    return cp.concatenate([first, hs[:, :-1]], axis=1)[:, :T]  # T = 0: empty


# ---- LSTM ----------------------------------------------------------------------------------------

def lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias, *, _cuda):
    """(hs (B, T, H), h_T, c_T, cache)."""
    op = "lstm_forward"
    x, h0, c0, W, U, b, B, T, I, H = _check_inputs(op, x, h0, c0, kernel, recurrent_kernel, bias, 4)
    dt = x.dtype
    hs = cp.empty((B, T, H), dt)
    cs = cp.empty((B, T, H), dt)
    if _cuda is None:
        gates = (x.reshape(B * T, I) @ W + b).reshape(B, T, 4 * H)
        h, c = _state0(h0, B, H, dt), _state0(c0, B, H, dt)
        for t in range(T):
            z = gates[:, t] + h @ U
            i, f, o = _sig(z[:, :H]), _sig(z[:, H:2 * H]), _sig(z[:, 3 * H:])
            g = cp.tanh(z[:, 2 * H:3 * H])
            c = f * c + i * g
            h = o * cp.tanh(c)
            gates[:, t] = cp.concatenate([i, f, g, o], axis=1)
            cs[:, t], hs[:, t] = c, h
    else:
        gates = cp.empty((B, T, 4 * H), dt)
        _cuda.lstm_forward(B, T, I, H, ptr(x), ptr(h0), ptr(c0), ptr(W), ptr(U), ptr(b), ptr(hs), ptr(gates), ptr(cs),
                           is_f64(dt), stream())
    h_T = hs[:, -1].copy() if T else _state0(h0, B, H, dt).copy()
    c_T = cs[:, -1].copy() if T else _state0(c0, B, H, dt).copy()
    return hs, h_T, c_T, (x, h0, c0, W, U, gates, cs, hs)


def lstm_backward(dhs, dh_T, dc_T, cache, *, _cuda):
    """(dx, dh0, dc0, dkernel, drecurrent_kernel, dbias)."""
    op = "lstm_backward"
    x, h0, c0, W, U, gates, cs, hs = _cache(cache, 8, op)
    B, T, I = x.shape
    H = U.shape[0]
    dt = x.dtype
    dhs = _grad_in(dhs, (B, T, H), dt, op, "dhs")
    dh = _grad_in(dh_T, (B, H), dt, op, "dh_T")
    dc = _grad_in(dc_T, (B, H), dt, op, "dc_T")
    dh = cp.zeros((B, H), dt) if dh is None else dh.copy()
    dc = cp.zeros((B, H), dt) if dc is None else dc.copy()
    if _cuda is None:
        dz = cp.empty((B, T, 4 * H), dt)
        for t in reversed(range(T)):
            i, f, g, o = (gates[:, t, k * H:(k + 1) * H] for k in range(4))
            c_prev = cs[:, t - 1] if t > 0 else _state0(c0, B, H, dt)
            dht = dh + dhs[:, t] if dhs is not None else dh
            tc = cp.tanh(cs[:, t])
            dct = dc + dht * o * (1 - tc * tc)
            dz[:, t] = cp.concatenate([dct * g * i * (1 - i), dct * c_prev * f * (1 - f), dct * i * (1 - g * g),
                                       dht * tc * o * (1 - o)], axis=1)
            dc = dct * f
            dh = dz[:, t] @ U.T
        dz2 = dz.reshape(B * T, 4 * H)
        dx = (dz2 @ W.T).reshape(B, T, I)
        dW = x.reshape(B * T, I).T @ dz2
        dU = _prev_states(hs, h0).reshape(B * T, H).T @ dz2
        db = dz2.sum(axis=0)
        return dx, dh, dc, dW, dU, db
    dz = cp.empty((B, T, 4 * H), dt)
    dx = cp.empty((B, T, I), dt)
    dW, dU, db = cp.empty(W.shape, dt), cp.empty(U.shape, dt), cp.empty((4 * H,), dt)
    _cuda.lstm_backward(B, T, I, H, ptr(x), ptr(h0), ptr(c0), ptr(W), ptr(U), ptr(gates), ptr(cs), ptr(hs), ptr(dhs),
                        ptr(dh), ptr(dc), ptr(dz), ptr(dx), ptr(dW), ptr(dU), ptr(db), is_f64(dt), stream())
    return dx, dh, dc, dW, dU, db


def lstm_cell_forward(x_t, h, c, kernel, recurrent_kernel, bias, *, _cuda):
    """One step: (h_new, c_new, cache); x_t (B, I), h and c (B, H)."""
    x_t = gpu_float_array(x_t, "lstm_cell_forward", "x_t")
    check_ndim(x_t, 2, "lstm_cell_forward", "x_t", "(batch, features)")
    hs, h_new, c_new, cache = lstm_forward(x_t[:, None], h, c, kernel, recurrent_kernel, bias, _cuda=_cuda)
    return h_new, c_new, cache


def lstm_cell_backward(dh_new, dc_new, cache, *, _cuda):
    """(dx_t, dh, dc, dkernel, drecurrent_kernel, dbias)."""
    dx, dh, dc, dW, dU, db = lstm_backward(None, dh_new, dc_new, cache, _cuda=_cuda)
    return dx[:, 0], dh, dc, dW, dU, db


# ---- GRU -----------------------------------------------------------------------------------------

def gru_forward(x, h0, kernel, recurrent_kernel, bias, *, _cuda):
    """(hs (B, T, H), h_T, cache); Keras reset_after=True."""
    op = "gru_forward"
    x, h0, _, W, U, b, B, T, I, H = _check_inputs(op, x, h0, None, kernel, recurrent_kernel, bias, 3, gru=True)
    dt = x.dtype
    hs = cp.empty((B, T, H), dt)
    hzh = cp.empty((B, T, H), dt)
    if _cuda is None:
        gates = (x.reshape(B * T, I) @ W + b[0]).reshape(B, T, 3 * H)
        h = _state0(h0, B, H, dt)
        for t in range(T):
            xz = gates[:, t]
            hz = h @ U + b[1]
            z = _sig(xz[:, :H] + hz[:, :H])
            r = _sig(xz[:, H:2 * H] + hz[:, H:2 * H])
            hh = cp.tanh(xz[:, 2 * H:] + r * hz[:, 2 * H:])
            h = z * h + (1 - z) * hh
            gates[:, t] = cp.concatenate([z, r, hh], axis=1)
            hzh[:, t], hs[:, t] = hz[:, 2 * H:], h
    else:
        gates = cp.empty((B, T, 3 * H), dt)
        work = cp.empty((B, 3 * H), dt)
        _cuda.gru_forward(B, T, I, H, ptr(x), ptr(h0), ptr(W), ptr(U), ptr(b), ptr(hs), ptr(gates), ptr(hzh), ptr(work),
                          is_f64(dt), stream())
    h_T = hs[:, -1].copy() if T else _state0(h0, B, H, dt).copy()
    return hs, h_T, (x, h0, W, U, gates, hzh, hs)


def gru_backward(dhs, dh_T, cache, *, _cuda):
    """(dx, dh0, dkernel, drecurrent_kernel, dbias (2, 3H))."""
    op = "gru_backward"
    x, h0, W, U, gates, hzh, hs = _cache(cache, 7, op)
    B, T, I = x.shape
    H = U.shape[0]
    dt = x.dtype
    dhs = _grad_in(dhs, (B, T, H), dt, op, "dhs")
    dh = _grad_in(dh_T, (B, H), dt, op, "dh_T")
    dh = cp.zeros((B, H), dt) if dh is None else dh.copy()
    if _cuda is None:
        dxz = cp.empty((B, T, 3 * H), dt)
        dhz = cp.empty((B, T, 3 * H), dt)
        for t in reversed(range(T)):
            z, r, hh = (gates[:, t, k * H:(k + 1) * H] for k in range(3))
            hp = hs[:, t - 1] if t > 0 else _state0(h0, B, H, dt)
            dht = dh + dhs[:, t] if dhs is not None else dh
            dah = dht * (1 - z) * (1 - hh * hh)
            daz = dht * (hp - hh) * z * (1 - z)
            dar = dah * hzh[:, t] * r * (1 - r)
            dxz[:, t] = cp.concatenate([daz, dar, dah], axis=1)
            dhz[:, t] = cp.concatenate([daz, dar, dah * r], axis=1)
            dh = dht * z + dhz[:, t] @ U.T
        dxz2, dhz2 = dxz.reshape(B * T, 3 * H), dhz.reshape(B * T, 3 * H)
        dx = (dxz2 @ W.T).reshape(B, T, I)
        dW = x.reshape(B * T, I).T @ dxz2
        dU = _prev_states(hs, h0).reshape(B * T, H).T @ dhz2
        db = cp.stack([dxz2.sum(axis=0), dhz2.sum(axis=0)])
        return dx, dh, dW, dU, db
    dxz = cp.empty((B, T, 3 * H), dt)
    dhz = cp.empty((B, T, 3 * H), dt)
    dx = cp.empty((B, T, I), dt)
    dW, dU, db = cp.empty(W.shape, dt), cp.empty(U.shape, dt), cp.empty((2, 3 * H), dt)
    _cuda.gru_backward(B, T, I, H, ptr(x), ptr(h0), ptr(W), ptr(U), ptr(gates), ptr(hzh), ptr(hs), ptr(dhs), ptr(dh),
                       ptr(dxz), ptr(dhz), ptr(dx), ptr(dW), ptr(dU), ptr(db), is_f64(dt), stream())
    return dx, dh, dW, dU, db


# ---- SimpleRNN -----------------------------------------------------------------------------------

def simple_rnn_forward(x, h0, kernel, recurrent_kernel, bias, *, _cuda):
    """(hs (B, T, H), h_T, cache); h_t = tanh(x_t W + h_{t-1} U + b)."""
    op = "simple_rnn_forward"
    x, h0, _, W, U, b, B, T, I, H = _check_inputs(op, x, h0, None, kernel, recurrent_kernel, bias, 1)
    dt = x.dtype
    if _cuda is None:
        hs = (x.reshape(B * T, I) @ W + b).reshape(B, T, H)
        h = _state0(h0, B, H, dt)
        for t in range(T):
            h = cp.tanh(hs[:, t] + h @ U)
            hs[:, t] = h
    else:
        hs = cp.empty((B, T, H), dt)
        _cuda.simple_rnn_forward(B, T, I, H, ptr(x), ptr(h0), ptr(W), ptr(U), ptr(b), ptr(hs), is_f64(dt), stream())
    h_T = hs[:, -1].copy() if T else _state0(h0, B, H, dt).copy()
    return hs, h_T, (x, h0, W, U, hs)


def simple_rnn_backward(dhs, dh_T, cache, *, _cuda):
    """(dx, dh0, dkernel, drecurrent_kernel, dbias)."""
    op = "simple_rnn_backward"
    x, h0, W, U, hs = _cache(cache, 5, op)
    B, T, I = x.shape
    H = U.shape[0]
    dt = x.dtype
    dhs = _grad_in(dhs, (B, T, H), dt, op, "dhs")
    dh = _grad_in(dh_T, (B, H), dt, op, "dh_T")
    dh = cp.zeros((B, H), dt) if dh is None else dh.copy()
    dz = cp.empty((B, T, H), dt)
    if _cuda is None:
        for t in reversed(range(T)):
            dht = dh + dhs[:, t] if dhs is not None else dh
            dz[:, t] = dht * (1 - hs[:, t] * hs[:, t])
            dh = dz[:, t] @ U.T
        dz2 = dz.reshape(B * T, H)
        dx = (dz2 @ W.T).reshape(B, T, I)
        dW = x.reshape(B * T, I).T @ dz2
        dU = _prev_states(hs, h0).reshape(B * T, H).T @ dz2
        return dx, dh, dW, dU, dz2.sum(axis=0)
    dx = cp.empty((B, T, I), dt)
    dW, dU, db = cp.empty(W.shape, dt), cp.empty(U.shape, dt), cp.empty((H,), dt)
    _cuda.simple_rnn_backward(B, T, I, H, ptr(x), ptr(h0), ptr(W), ptr(U), ptr(hs), ptr(dhs), ptr(dh), ptr(dz), ptr(dx),
                              ptr(dW), ptr(dU), ptr(db), is_f64(dt), stream())
    return dx, dh, dW, dU, db


FALLBACK, CUDA = {}, {}
register(FALLBACK, CUDA, lstm_forward, lstm_backward, lstm_cell_forward, lstm_cell_backward, gru_forward, gru_backward,
         simple_rnn_forward, simple_rnn_backward)
