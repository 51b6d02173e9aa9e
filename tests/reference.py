"""Float64 NumPy references for every dlcore kernel, written from the formula as plainly as possible.

This file imports NumPy only and never calls dlcore: it is the independent check. One section per
kernel family, in the order of docs/kernel_api.md.
"""
import numpy as np


def f64(x):
    return np.asarray(x, dtype=np.float64)


# ---------------------------------------------------------------- activations used by epilogues

def act_ref(x, activation):
    x = f64(x)
    if activation in (None, "linear"):
        return x
    if activation == "relu":
        return np.maximum(x, 0.0)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if activation == "tanh":
        return np.tanh(x)
    raise ValueError(activation)


# ---------------------------------------------------------------------------------------- gemm

def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, c=None, bias=None, activation=None):
    """act(alpha * op(a) @ op(b) + beta * c + bias) in float64."""
    A = f64(a).T if trans_a else f64(a)
    B = f64(b).T if trans_b else f64(b)
    out = alpha * (A @ B)
    if beta != 0.0:
        out = out + beta * f64(c)
    if bias is not None:
        out = out + f64(bias)
    return act_ref(out, activation)


# ------------------------------------------------------------------- recurrent: LSTM, GRU, SimpleRNN
# Loops over time, straight from the formulas (Keras layouts and gate orders), float64. Each backward
# walks the same loop in reverse and returns the gradients in the order of dlcore.kernels.

def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias):
    """-> hs (B, T, H), h_T, c_T. Gates i, f, c, o: c_t = f c + i c~, h_t = o tanh(c_t)."""
    x, W, U, b = f64(x), f64(kernel), f64(recurrent_kernel), f64(bias)
    B, T, _ = x.shape
    H = U.shape[0]
    h = np.zeros((B, H)) if h0 is None else f64(h0)
    c = np.zeros((B, H)) if c0 is None else f64(c0)
    hs = np.zeros((B, T, H))
    for t in range(T):
        a = x[:, t] @ W + h @ U + b
        i, f, g, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), _sigmoid(a[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs[:, t] = h
    return hs, h, c


def lstm_backward(x, h0, c0, kernel, recurrent_kernel, bias, dhs, dh_T, dc_T):
    """-> dx, dh0, dc0, dkernel, drecurrent_kernel, dbias by backpropagation through time."""
    x, W, U, b = f64(x), f64(kernel), f64(recurrent_kernel), f64(bias)
    B, T, _ = x.shape
    H = U.shape[0]
    h = np.zeros((B, H)) if h0 is None else f64(h0)
    c = np.zeros((B, H)) if c0 is None else f64(c0)
    steps = []
    for t in range(T):
        a = x[:, t] @ W + h @ U + b
        i, f, g, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), _sigmoid(a[:, 3 * H:])
        c_new = f * c + i * g
        steps.append((h, c, i, f, g, o, c_new))
        c = c_new
        h = o * np.tanh(c)
    dx = np.zeros_like(x)
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dh = np.zeros((B, H)) if dh_T is None else f64(dh_T).copy()
    dc = np.zeros((B, H)) if dc_T is None else f64(dc_T).copy()
    for t in reversed(range(T)):
        h_prev, c_prev, i, f, g, o, c_t = steps[t]
        if dhs is not None:
            dh = dh + f64(dhs)[:, t]
        tc = np.tanh(c_t)
        do = dh * tc
        dc = dc + dh * o * (1 - tc ** 2)
        di, df, dg = dc * g, dc * c_prev, dc * i
        da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)], axis=1)
        dx[:, t] = da @ W.T
        dW += x[:, t].T @ da
        dU += h_prev.T @ da
        db += da.sum(axis=0)
        dh = da @ U.T
        dc = dc * f
    return dx, dh, dc, dW, dU, db


def gru_forward(x, h0, kernel, recurrent_kernel, bias):
    """Keras GRU, reset_after=True, gates z, r, h. bias (2, 3H): input bias, recurrent bias. -> hs, h_T."""
    x, W, U, bias = f64(x), f64(kernel), f64(recurrent_kernel), f64(bias)
    B, T, _ = x.shape
    H = U.shape[0]
    h = np.zeros((B, H)) if h0 is None else f64(h0)
    hs = np.zeros((B, T, H))
    for t in range(T):
        gx = x[:, t] @ W + bias[0]
        gh = h @ U + bias[1]
        z = _sigmoid(gx[:, :H] + gh[:, :H])
        r = _sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
        hh = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
        h = z * h + (1 - z) * hh
        hs[:, t] = h
    return hs, h


def gru_backward(x, h0, kernel, recurrent_kernel, bias, dhs, dh_T):
    """-> dx, dh0, dkernel, drecurrent_kernel, dbias (2, 3H)."""
    x, W, U, bias = f64(x), f64(kernel), f64(recurrent_kernel), f64(bias)
    B, T, _ = x.shape
    H = U.shape[0]
    h = np.zeros((B, H)) if h0 is None else f64(h0)
    steps = []
    for t in range(T):
        gx = x[:, t] @ W + bias[0]
        gh = h @ U + bias[1]
        z = _sigmoid(gx[:, :H] + gh[:, :H])
        r = _sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
        hh = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
        steps.append((h, z, r, hh, gh[:, 2 * H:]))
        h = z * h + (1 - z) * hh
    dx = np.zeros_like(x)
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(bias)
    dh = np.zeros((B, H)) if dh_T is None else f64(dh_T).copy()
    for t in reversed(range(T)):
        h_prev, z, r, hh, gh_h = steps[t]
        if dhs is not None:
            dh = dh + f64(dhs)[:, t]
        dz = dh * (h_prev - hh)
        dhh = dh * (1 - z)
        da_h = dhh * (1 - hh ** 2)
        da_z = dz * z * (1 - z)
        da_r = da_h * gh_h * r * (1 - r)
        dgx = np.concatenate([da_z, da_r, da_h], axis=1)
        dgh = np.concatenate([da_z, da_r, da_h * r], axis=1)
        dx[:, t] = dgx @ W.T
        dW += x[:, t].T @ dgx
        dU += h_prev.T @ dgh
        db[0] += dgx.sum(axis=0)
        db[1] += dgh.sum(axis=0)
        dh = dh * z + dgh @ U.T
    return dx, dh, dW, dU, db


def simple_rnn_forward(x, h0, kernel, recurrent_kernel, bias):
    """h_t = tanh(x_t W + h_{t-1} U + b) -> hs, h_T."""
    x, W, U, b = f64(x), f64(kernel), f64(recurrent_kernel), f64(bias)
    B, T, _ = x.shape
    H = U.shape[0]
    h = np.zeros((B, H)) if h0 is None else f64(h0)
    hs = np.zeros((B, T, H))
    for t in range(T):
        h = np.tanh(x[:, t] @ W + h @ U + b)
        hs[:, t] = h
    return hs, h


def simple_rnn_backward(x, h0, kernel, recurrent_kernel, bias, dhs, dh_T):
    """-> dx, dh0, dkernel, drecurrent_kernel, dbias."""
    x, W, U, b = f64(x), f64(kernel), f64(recurrent_kernel), f64(bias)
    B, T, _ = x.shape
    H = U.shape[0]
    h = np.zeros((B, H)) if h0 is None else f64(h0)
    prevs, outs = [], []
    for t in range(T):
        prevs.append(h)
        h = np.tanh(x[:, t] @ W + h @ U + b)
        outs.append(h)
    dx = np.zeros_like(x)
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dh = np.zeros((B, H)) if dh_T is None else f64(dh_T).copy()
    for t in reversed(range(T)):
        if dhs is not None:
            dh = dh + f64(dhs)[:, t]
        da = dh * (1 - outs[t] ** 2)
        dx[:, t] = da @ W.T
        dW += x[:, t].T @ da
        dU += prevs[t].T @ da
        db += da.sum(axis=0)
        dh = da @ U.T
    return dx, dh, dW, dU, db
