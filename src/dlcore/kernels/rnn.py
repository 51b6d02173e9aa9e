"""Recurrent layers on arrays: LSTM, GRU (reset_after=True) and SimpleRNN, whole sequences.

Keras layouts: ``x`` is ``(batch, time, features)``; ``kernel`` ``(features, G*units)``,
``recurrent_kernel`` ``(units, G*units)`` with G = 4 (LSTM, gates i, f, c, o), 3 (GRU, gates z, r, h)
or 1 (SimpleRNN). Each forward returns the outputs of every step, the final state(s) and an opaque
``cache`` (a tuple of arrays) for the matching backward. Initial states may be None (zeros).

Formulas (``sig`` = logistic sigmoid):

LSTM:  i, f, c~, o = sig(a_i), sig(a_f), tanh(a_c), sig(a_o) with a = x_t W + h_{t-1} U + b;
       c_t = f * c_{t-1} + i * c~;  h_t = o * tanh(c_t)
GRU:   z = sig(x W_z + b_z + h U_z + b'_z),  r = sig(x W_r + b_r + h U_r + b'_r),
       h~ = tanh(x W_h + b_h + r * (h U_h + b'_h)),  h_t = z * h_{t-1} + (1 - z) * h~
       (bias row 0 is b, the input bias; row 1 is b', the recurrent bias)
RNN:   h_t = tanh(x_t W + h_{t-1} U + b)

The whole time loop runs in one C++ call (csrc/cpu/rnn.cpp).
"""
from __future__ import annotations

import numpy as np

from .. import _C
from ._validate import check_ndim, element_strided, float_array, same_dtype

__all__ = ["lstm_forward", "lstm_backward", "lstm_cell_forward", "lstm_cell_backward",
           "gru_forward", "gru_backward", "simple_rnn_forward", "simple_rnn_backward"]

_GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


def _check_weights(op, x, kernel, recurrent_kernel, bias, gates, bias_shape):
    """Shapes of kernel, recurrent_kernel and bias against x; returns (B, T, I, H)."""
    B, T, I = x.shape
    check_ndim(kernel, 2, op, "kernel", f"(input_features, {gates}*units)")
    check_ndim(recurrent_kernel, 2, op, "recurrent_kernel", f"(units, {gates}*units)")
    H = recurrent_kernel.shape[0]
    g = f"{gates}*units" if gates > 1 else "units"
    if recurrent_kernel.shape != (H, gates * H):
        raise ValueError(f"{op}: 'recurrent_kernel' must have shape (units, {g}) = {(H, gates * H)} for "
                         f"units={H} (its first dimension), got {recurrent_kernel.shape}")
    if kernel.shape != (I, gates * H):
        raise ValueError(f"{op}: 'kernel' must have shape (input_features, {g}) = {(I, gates * H)} for x of "
                         f"shape {x.shape} and units={H}, got {kernel.shape}")
    want = bias_shape(H)
    if bias.shape != want:
        raise ValueError(f"{op}: 'bias' must have shape {want} for units={H}, got {bias.shape}")
    return B, T, I, H


def _state(op, name, s, B, H, dtype):
    """An initial state (or its gradient): zeros when None, else checked to be (B, H), contiguous."""
    if s is None:
        return None
    s = float_array(s, op, name)
    if s.dtype != dtype:
        raise TypeError(f"{op}: '{name}' must have dtype {dtype} like x, got {s.dtype}")
    if s.shape != (B, H):
        raise ValueError(f"{op}: '{name}' must have shape (batch, units) = {(B, H)}, got {s.shape}")
    return np.ascontiguousarray(s)


def _prepare(op, kind, x, states, kernel, recurrent_kernel, bias):
    """Validate a forward call; returns contiguous arrays, the sizes and the initial states."""
    x = float_array(x, op, "x")
    kernel = float_array(kernel, op, "kernel")
    recurrent_kernel = float_array(recurrent_kernel, op, "recurrent_kernel")
    bias = float_array(bias, op, "bias")
    dtype = same_dtype(op, x=x, kernel=kernel, recurrent_kernel=recurrent_kernel, bias=bias)
    check_ndim(x, 3, op, "x", "(batch, time, features)")
    G = _GATES[kind]
    bias_shape = (lambda H: (2, 3 * H)) if kind == "gru" else (lambda H: (G * H,))
    B, T, I, H = _check_weights(op, x, kernel, recurrent_kernel, bias, G, bias_shape)
    init = []
    for name, s in states.items():
        s = _state(op, name, s, B, H, dtype)
        init.append(np.zeros((B, H), dtype) if s is None else s)
    return (np.ascontiguousarray(x), element_strided(kernel), element_strided(recurrent_kernel),
            np.ascontiguousarray(bias), (B, T, I, H), dtype, init)


def _check_cache(op, cache, n, kind):
    if not isinstance(cache, tuple) or len(cache) != n or not all(isinstance(a, np.ndarray) for a in cache):
        raise TypeError(f"{op}: 'cache' must be the tuple of {n} arrays returned by {kind}_forward")


def _backward_arrays(op, x, recurrent_kernel, dhs, dh_T):
    """What every backward pass starts with: dhs (B, T, H) and dh_T (B, H) checked against the
    forward's shapes and dtype, and the gradients to fill, dx, dh0, dkernel and drecurrent_kernel."""
    B, T, I = x.shape
    H, G = recurrent_kernel.shape
    dtype = x.dtype
    dhs = _grad(op, "dhs", dhs, (B, T, H), dtype)
    dh_T = _grad(op, "dh_T", dh_T, (B, H), dtype)
    return (dhs, dh_T, np.empty((B, T, I), dtype), np.empty((B, H), dtype), np.empty((I, G), dtype),
            np.empty((H, G), dtype))


def _grad(op, name, g, shape, dtype):
    if g is None:
        return None
    g = float_array(g, op, name)
    if g.dtype != dtype:
        raise TypeError(f"{op}: '{name}' must have dtype {dtype} like the forward pass, got {g.dtype}")
    if g.shape != tuple(shape):
        raise ValueError(f"{op}: '{name}' must have shape {tuple(shape)}, got {g.shape}")
    return np.ascontiguousarray(g)


# ---------------------------------------------------------------------------------------------- LSTM

def _lstm_forward(op, x, h0, c0, kernel, recurrent_kernel, bias):
    x, kernel, recurrent_kernel, bias, (B, T, I, H), dtype, (h0, c0) = _prepare(
        op, "lstm", x, {"h0": h0, "c0": c0}, kernel, recurrent_kernel, bias)
    hs = np.empty((B, T, H), dtype)
    gates = np.empty((B, T, 4 * H), dtype)
    cs = np.empty((B, T, H), dtype)
    h_prev = np.empty((B, T, H), dtype)
    _C.lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias, hs, gates, cs, h_prev)
    h_T = hs[:, -1].copy() if T else h0.copy()
    c_T = cs[:, -1].copy() if T else c0.copy()
    return hs, h_T, c_T, (x, c0, kernel, recurrent_kernel, gates, cs, h_prev)


def _lstm_backward(op, dhs, dh_T, dc_T, cache):
    _check_cache(op, cache, 7, "lstm")
    x, c0, kernel, recurrent_kernel, gates, cs, h_prev = cache
    dhs, dh_T, dx, dh0, dkernel, drecurrent = _backward_arrays(op, x, recurrent_kernel, dhs, dh_T)
    dc_T = _grad(op, "dc_T", dc_T, dh0.shape, x.dtype)
    dc0 = np.empty_like(dh0)
    dbias = np.empty((recurrent_kernel.shape[1],), x.dtype)
    _C.lstm_backward(dhs, dh_T, dc_T, x, c0, kernel, recurrent_kernel, gates, cs, h_prev,
                     dx, dh0, dc0, dkernel, drecurrent, dbias)
    return dx, dh0, dc0, dkernel, drecurrent, dbias


def lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias):
    """LSTM over a whole sequence (Keras layout, gates i, f, c, o).

    x (B, T, I); h0, c0 (B, H) or None (zeros); kernel (I, 4H); recurrent_kernel (H, 4H); bias (4H,).
    Returns ``(hs (B, T, H), h_T (B, H), c_T (B, H), cache)``.
    """
    return _lstm_forward("lstm_forward", x, h0, c0, kernel, recurrent_kernel, bias)


def lstm_backward(dhs, dh_T, dc_T, cache):
    """Backward through time of :func:`lstm_forward`.

    dhs (B, T, H): gradient w.r.t. every output (None: zero); dh_T, dc_T (B, H): gradients w.r.t. the
    final states (None: zero). Returns ``(dx, dh0, dc0, dkernel, drecurrent_kernel, dbias)``.
    """
    return _lstm_backward("lstm_backward", dhs, dh_T, dc_T, cache)


def lstm_cell_forward(x_t, h, c, kernel, recurrent_kernel, bias):
    """One LSTM step: x_t (B, I), h, c (B, H) or None. Returns ``(h_new, c_new, cache)``."""
    op = "lstm_cell_forward"
    x_t = float_array(x_t, op, "x_t")
    check_ndim(x_t, 2, op, "x_t", "(batch, features)")
    _, h_new, c_new, cache = _lstm_forward(op, x_t[:, None, :], h, c, kernel, recurrent_kernel, bias)
    return h_new, c_new, cache


def lstm_cell_backward(dh_new, dc_new, cache):
    """Backward of :func:`lstm_cell_forward`: returns ``(dx_t, dh, dc, dkernel, drecurrent_kernel, dbias)``."""
    dx, dh, dc, dk, dr, db = _lstm_backward("lstm_cell_backward", None, dh_new, dc_new, cache)
    return dx[:, 0, :], dh, dc, dk, dr, db


# ----------------------------------------------------------------------------------------------- GRU

def gru_forward(x, h0, kernel, recurrent_kernel, bias):
    """GRU over a whole sequence (Keras ``reset_after=True``, gates z, r, h).

    x (B, T, I); h0 (B, H) or None; kernel (I, 3H); recurrent_kernel (H, 3H); bias (2, 3H) (row 0 the
    input bias, row 1 the recurrent bias). Returns ``(hs (B, T, H), h_T (B, H), cache)``.
    """
    op = "gru_forward"
    x, kernel, recurrent_kernel, bias, (B, T, I, H), dtype, (h0,) = _prepare(
        op, "gru", x, {"h0": h0}, kernel, recurrent_kernel, bias)
    hs = np.empty((B, T, H), dtype)
    gates = np.empty((B, T, 3 * H), dtype)
    hh_rec = np.empty((B, T, H), dtype)
    h_prev = np.empty((B, T, H), dtype)
    _C.gru_forward(x, h0, kernel, recurrent_kernel, bias, hs, gates, hh_rec, h_prev)
    h_T = hs[:, -1].copy() if T else h0.copy()
    return hs, h_T, (x, kernel, recurrent_kernel, gates, hh_rec, h_prev)


def gru_backward(dhs, dh_T, cache):
    """Backward through time of :func:`gru_forward`: ``(dx, dh0, dkernel, drecurrent_kernel, dbias)``."""
    op = "gru_backward"
    _check_cache(op, cache, 6, "gru")
    x, kernel, recurrent_kernel, gates, hh_rec, h_prev = cache
    dhs, dh_T, dx, dh0, dkernel, drecurrent = _backward_arrays(op, x, recurrent_kernel, dhs, dh_T)
    dbias = np.empty((2, recurrent_kernel.shape[1]), x.dtype)
    _C.gru_backward(dhs, dh_T, x, kernel, recurrent_kernel, gates, hh_rec, h_prev,
                    dx, dh0, dkernel, drecurrent, dbias)
    return dx, dh0, dkernel, drecurrent, dbias


# ----------------------------------------------------------------------------------------- SimpleRNN

def simple_rnn_forward(x, h0, kernel, recurrent_kernel, bias):
    """SimpleRNN (tanh) over a whole sequence: x (B, T, I); h0 (B, H) or None; kernel (I, H);
    recurrent_kernel (H, H); bias (H,). Returns ``(hs (B, T, H), h_T (B, H), cache)``."""
    op = "simple_rnn_forward"
    x, kernel, recurrent_kernel, bias, (B, T, I, H), dtype, (h0,) = _prepare(
        op, "simple_rnn", x, {"h0": h0}, kernel, recurrent_kernel, bias)
    hs = np.empty((B, T, H), dtype)
    hs_act = np.empty((B, T, H), dtype)
    h_prev = np.empty((B, T, H), dtype)
    _C.simple_rnn_forward(x, h0, kernel, recurrent_kernel, bias, hs, hs_act, h_prev)
    h_T = hs[:, -1].copy() if T else h0.copy()
    return hs, h_T, (x, kernel, recurrent_kernel, hs_act, h_prev)


def simple_rnn_backward(dhs, dh_T, cache):
    """Backward through time of :func:`simple_rnn_forward`: ``(dx, dh0, dkernel, drecurrent_kernel, dbias)``."""
    op = "simple_rnn_backward"
    _check_cache(op, cache, 5, "simple_rnn")
    x, kernel, recurrent_kernel, hs_act, h_prev = cache
    dhs, dh_T, dx, dh0, dkernel, drecurrent = _backward_arrays(op, x, recurrent_kernel, dhs, dh_T)
    dbias = np.empty((recurrent_kernel.shape[1],), x.dtype)
    _C.simple_rnn_backward(dhs, dh_T, x, kernel, recurrent_kernel, hs_act, h_prev,
                           dx, dh0, dkernel, drecurrent, dbias)
    return dx, dh0, dkernel, drecurrent, dbias
