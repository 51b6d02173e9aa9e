"""Recurrent layers: whole sequences in one kernel call each way (LSTM, GRU, SimpleRNN)."""
from __future__ import annotations

from ..autograd import Function
from ..primitives._helpers import _kernel
from ._common import _t


class LSTM(Function):
    def forward(self, x, h0, c0, kernel, recurrent_kernel, bias):
        hs, h_t, c_t, self.cache = _kernel("lstm_forward")(x, h0, c0, kernel, recurrent_kernel, bias)
        return hs, h_t, c_t

    def backward(self, grads):
        dhs, dh_t, dc_t = grads
        dx, dh0, dc0, dk, drk, db = _kernel("lstm_backward")(dhs, dh_t, dc_t, self.cache)
        return dx, dh0, dc0, dk, drk, db


class GRU(Function):
    def forward(self, x, h0, kernel, recurrent_kernel, bias):
        hs, h_t, self.cache = _kernel("gru_forward")(x, h0, kernel, recurrent_kernel, bias)
        return hs, h_t

    def backward(self, grads):
        dhs, dh_t = grads
        return _kernel("gru_backward")(dhs, dh_t, self.cache)


class SimpleRNN(Function):
    def forward(self, x, h0, kernel, recurrent_kernel, bias):
        hs, h_t, self.cache = _kernel("simple_rnn_forward")(x, h0, kernel, recurrent_kernel, bias)
        return hs, h_t

    def backward(self, grads):
        dhs, dh_t = grads
        return _kernel("simple_rnn_backward")(dhs, dh_t, self.cache)


def _rnn_checks(op, x, kernel, recurrent_kernel, gates):
    if x.ndim != 3:
        raise ValueError(f"{op}: expected a 3-D input (batch, timesteps, features), got shape {x.shape}")
    if kernel.ndim != 2 or kernel.shape[0] != x.shape[2]:
        raise ValueError(f"{op}: 'kernel' must have shape ({x.shape[2]}, {gates}*units) for an input of shape "
                         f"{x.shape}, got {kernel.shape}")
    units = recurrent_kernel.shape[0]
    if recurrent_kernel.shape != (units, gates * units) or kernel.shape[1] != gates * units:
        raise ValueError(f"{op}: 'recurrent_kernel' must have shape (units, {gates}*units) matching kernel "
                         f"{kernel.shape}, got {recurrent_kernel.shape}")


def lstm(x, h0, c0, kernel, recurrent_kernel, bias):
    """LSTM over a whole sequence (Keras gates i, f, c, o). Returns (outputs (B,T,H), (h_T, c_T))."""
    x, h0, c0 = _t(x), _t(h0), _t(c0)
    kernel, recurrent_kernel, bias = _t(kernel), _t(recurrent_kernel), _t(bias)
    _rnn_checks("lstm", x, kernel, recurrent_kernel, 4)
    hs, h_t, c_t = LSTM.apply(x, h0, c0, kernel, recurrent_kernel, bias)
    return hs, (h_t, c_t)


def gru(x, h0, kernel, recurrent_kernel, bias):
    """GRU (Keras reset_after=True, gates z, r, h; bias (2, 3H)). Returns (outputs, h_T)."""
    x, h0 = _t(x), _t(h0)
    kernel, recurrent_kernel, bias = _t(kernel), _t(recurrent_kernel), _t(bias)
    _rnn_checks("gru", x, kernel, recurrent_kernel, 3)
    return GRU.apply(x, h0, kernel, recurrent_kernel, bias)


def simple_rnn(x, h0, kernel, recurrent_kernel, bias):
    """Elman RNN with tanh: h_t = tanh(x_t W + h_{t-1} U + b). Returns (outputs, h_T)."""
    x, h0 = _t(x), _t(h0)
    kernel, recurrent_kernel, bias = _t(kernel), _t(recurrent_kernel), _t(bias)
    _rnn_checks("simple_rnn", x, kernel, recurrent_kernel, 1)
    return SimpleRNN.apply(x, h0, kernel, recurrent_kernel, bias)

