"""Recurrent layers on xp arrays: LSTM, GRU (Keras reset_after=True), SimpleRNN, whole sequences.

The plan of csrc/cuda/rnn.cu, with xp.matmul for the GEMMs: the input projection of every step in
one product, then per step the recurrent product and the gate math; backward through time per step,
then dx, dkernel and drecurrent_kernel as one product each over all steps. The caches have the layout
of dlcore._cuda's (see kernels/rnn.py), so that either GPU backend reads the other's.
h0 / c0 / dhs / dh_T / dc_T may be None (zeros). Every function writes its preallocated outputs.
"""
from __future__ import annotations

from .activation import sigmoid


def _state0(xp, s, B, H, dtype):
    return xp.zeros((B, H), dtype=dtype) if s is None else s


def _prev_states(xp, hs, h0):
    """(B, T, H): h_{t-1} of every step t."""
    B, T, H = hs.shape
    first = xp.zeros((B, 1, H), dtype=hs.dtype) if h0 is None else h0[:, None]
    return xp.concatenate([first, hs[:, :-1]], axis=1)[:, :T]


def _weight_grads(xp, x, hs, h0, dz_x, dz_h, W, dx, dW, dU):
    """dx = dz_x W^T, dW = x^T dz_x, dU = h_prev^T dz_h over all steps at once."""
    B, T, I = x.shape
    H = hs.shape[2]
    dz_x2, dz_h2 = dz_x.reshape(B * T, dz_x.shape[2]), dz_h.reshape(B * T, dz_h.shape[2])
    dx[...] = (dz_x2 @ W.T).reshape(B, T, I)
    dW[...] = x.reshape(B * T, I).T @ dz_x2
    dU[...] = _prev_states(xp, hs, h0).reshape(B * T, H).T @ dz_h2


# ---- LSTM: cache (x, h0, c0, W, U, gates [i, f, g, o] activated, cs, hs) ---------------------------

def lstm_forward(xp, x, h0, c0, W, U, b, hs, gates, cs):
    B, T, I = x.shape
    H = U.shape[0]
    gates[...] = (x.reshape(B * T, I) @ W + b).reshape(B, T, 4 * H)
    h, c = _state0(xp, h0, B, H, x.dtype), _state0(xp, c0, B, H, x.dtype)
    for t in range(T):
        z = gates[:, t] + h @ U
        i, f, o = sigmoid(xp, z[:, :H]), sigmoid(xp, z[:, H:2 * H]), sigmoid(xp, z[:, 3 * H:])
        g = xp.tanh(z[:, 2 * H:3 * H])
        c = f * c + i * g
        h = o * xp.tanh(c)
        gates[:, t] = xp.concatenate([i, f, g, o], axis=1)
        cs[:, t], hs[:, t] = c, h


def lstm_backward(xp, dhs, dh_T, dc_T, x, h0, c0, W, U, gates, cs, hs, dx, dh0, dc0, dW, dU, db):
    B, T, _ = x.shape
    H = U.shape[0]
    dh, dc = _state0(xp, dh_T, B, H, x.dtype), _state0(xp, dc_T, B, H, x.dtype)
    dz = xp.empty((B, T, 4 * H), dtype=x.dtype)
    for t in reversed(range(T)):
        i, f, g, o = (gates[:, t, k * H:(k + 1) * H] for k in range(4))
        c_prev = cs[:, t - 1] if t > 0 else _state0(xp, c0, B, H, x.dtype)
        dht = dh + dhs[:, t] if dhs is not None else dh
        tc = xp.tanh(cs[:, t])
        dct = dc + dht * o * (1 - tc * tc)
        dz[:, t] = xp.concatenate([dct * g * i * (1 - i), dct * c_prev * f * (1 - f), dct * i * (1 - g * g),
                                   dht * tc * o * (1 - o)], axis=1)
        dc = dct * f
        dh = dz[:, t] @ U.T
    _weight_grads(xp, x, hs, h0, dz, dz, W, dx, dW, dU)
    db[...] = dz.reshape(B * T, 4 * H).sum(axis=0)
    dh0[...], dc0[...] = dh, dc


# ---- GRU: cache (x, h0, W, U, gates [z, r, hh], hzh = (h_prev U + b')[:, 2H:], hs) ------------------

def gru_forward(xp, x, h0, W, U, b, hs, gates, hzh):
    B, T, I = x.shape
    H = U.shape[0]
    gates[...] = (x.reshape(B * T, I) @ W + b[0]).reshape(B, T, 3 * H)
    h = _state0(xp, h0, B, H, x.dtype)
    for t in range(T):
        xz = gates[:, t]
        hz = h @ U + b[1]
        z = sigmoid(xp, xz[:, :H] + hz[:, :H])
        r = sigmoid(xp, xz[:, H:2 * H] + hz[:, H:2 * H])
        hh = xp.tanh(xz[:, 2 * H:] + r * hz[:, 2 * H:])
        h = z * h + (1 - z) * hh
        gates[:, t] = xp.concatenate([z, r, hh], axis=1)
        hzh[:, t], hs[:, t] = hz[:, 2 * H:], h


def gru_backward(xp, dhs, dh_T, x, h0, W, U, gates, hzh, hs, dx, dh0, dW, dU, db):
    B, T, _ = x.shape
    H = U.shape[0]
    dh = _state0(xp, dh_T, B, H, x.dtype)
    dxz = xp.empty((B, T, 3 * H), dtype=x.dtype)  # gradients of the input-side pre-activations
    dhz = xp.empty((B, T, 3 * H), dtype=x.dtype)  # and of the recurrent-side ones (h U + b')
    for t in reversed(range(T)):
        z, r, hh = (gates[:, t, k * H:(k + 1) * H] for k in range(3))
        hp = hs[:, t - 1] if t > 0 else _state0(xp, h0, B, H, x.dtype)
        dht = dh + dhs[:, t] if dhs is not None else dh
        dah = dht * (1 - z) * (1 - hh * hh)
        daz = dht * (hp - hh) * z * (1 - z)
        dar = dah * hzh[:, t] * r * (1 - r)
        dxz[:, t] = xp.concatenate([daz, dar, dah], axis=1)
        dhz[:, t] = xp.concatenate([daz, dar, dah * r], axis=1)
        dh = dht * z + dhz[:, t] @ U.T
    _weight_grads(xp, x, hs, h0, dxz, dhz, W, dx, dW, dU)
    db[0] = dxz.reshape(B * T, 3 * H).sum(axis=0)
    db[1] = dhz.reshape(B * T, 3 * H).sum(axis=0)
    dh0[...] = dh


# ---- SimpleRNN: cache (x, h0, W, U, hs) -----------------------------------------------------------------

def simple_rnn_forward(xp, x, h0, W, U, b, hs):
    B, T, I = x.shape
    H = U.shape[0]
    hs[...] = (x.reshape(B * T, I) @ W + b).reshape(B, T, H)
    h = _state0(xp, h0, B, H, x.dtype)
    for t in range(T):
        h = xp.tanh(hs[:, t] + h @ U)
        hs[:, t] = h


def simple_rnn_backward(xp, dhs, dh_T, x, h0, W, U, hs, dx, dh0, dW, dU, db):
    B, T, _ = x.shape
    H = U.shape[0]
    dh = _state0(xp, dh_T, B, H, x.dtype)
    dz = xp.empty((B, T, H), dtype=x.dtype)
    for t in reversed(range(T)):
        dht = dh + dhs[:, t] if dhs is not None else dh
        dz[:, t] = dht * (1 - hs[:, t] * hs[:, t])
        dh = dz[:, t] @ U.T
    _weight_grads(xp, x, hs, h0, dz, dz, W, dx, dW, dU)
    db[...] = dz.reshape(B * T, H).sum(axis=0)
    dh0[...] = dh
