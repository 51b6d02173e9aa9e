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

Backends: cpu, the whole time loop in one C++ call (csrc/cpu/rnn.cpp); cuda, csrc/cuda/rnn.cu
(dlcore's GEMM per step and a fused gate kernel); fallback, fallback/rnn.py. The cache's layout is
the backend's: dlcore._C keeps its own, dlcore._cuda and the fallback share one (so that a GPU
backward reads either GPU forward's cache). A backward on another backend than its forward's
raises TypeError.
"""
from __future__ import annotations

from .. import _C
from ._device import cuda, f64, ptr, stream
from ._validate import check_ndim, contiguous, element_strided, float_array, same_dtype
from .backend import CPU, CUDA, select
from .fallback import rnn as fallback

__all__ = ["lstm_forward", "lstm_backward", "lstm_cell_forward", "lstm_cell_backward",
           "gru_forward", "gru_backward", "simple_rnn_forward", "simple_rnn_backward"]

_GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


class Cache(tuple):
    """A recurrent forward's cache: a tuple of arrays, in `layout` "cpu" (dlcore._C's) or "cuda"
    (dlcore._cuda's, which the fallback shares), made by `kind`'s forward."""

    def __new__(cls, layout, kind, arrays):
        self = super().__new__(cls, arrays)
        self.layout, self.kind = layout, kind
        return self

    def __reduce__(self):  # copy and pickle keep the layout and the kind
        return (Cache, (self.layout, self.kind, tuple(self)))


# The arrays of each cache, by layout (h0 / c0 may be None in the "cuda" layout).
_CACHE = {
    ("cpu", "lstm"): ("x", "c0", "kernel", "recurrent_kernel", "gates", "cs", "h_prev"),
    ("cpu", "gru"): ("x", "kernel", "recurrent_kernel", "gates", "hh_rec", "h_prev"),
    ("cpu", "simple_rnn"): ("x", "kernel", "recurrent_kernel", "hs_act", "h_prev"),
    ("cuda", "lstm"): ("x", "h0", "c0", "kernel", "recurrent_kernel", "gates", "cs", "hs"),
    ("cuda", "gru"): ("x", "h0", "kernel", "recurrent_kernel", "gates", "hzh", "hs"),
    ("cuda", "simple_rnn"): ("x", "h0", "kernel", "recurrent_kernel", "hs"),
}


def _check_weights(op, x, kernel, recurrent_kernel, bias, gates, bias_shape):
    """Shapes of kernel, recurrent_kernel and bias against x; returns (B, T, I, H)."""
    B, T, I = x.shape
    check_ndim(kernel, 2, op, "kernel", f"(input_features, {gates}*units)")
    check_ndim(recurrent_kernel, 2, op, "recurrent_kernel", f"(units, {gates}*units)")
    H = recurrent_kernel.shape[0]
    g = f"{gates}*units" if gates > 1 else "units"
    if tuple(recurrent_kernel.shape) != (H, gates * H):
        raise ValueError(f"{op}: 'recurrent_kernel' must have shape (units, {g}) = {(H, gates * H)} for "
                         f"units={H} (its first dimension), got {tuple(recurrent_kernel.shape)}")
    if tuple(kernel.shape) != (I, gates * H):
        raise ValueError(f"{op}: 'kernel' must have shape (input_features, {g}) = {(I, gates * H)} for x of "
                         f"shape {tuple(x.shape)} and units={H}, got {tuple(kernel.shape)}")
    want = bias_shape(H)
    if tuple(bias.shape) != want:
        raise ValueError(f"{op}: 'bias' must have shape {want} for units={H}, got {tuple(bias.shape)}")
    return B, T, I, H


def _state(xp, op, name, s, B, H, dtype):
    """An initial state: None (zeros), or checked to be (B, H) of x's dtype, made contiguous."""
    if s is None:
        return None
    s = float_array(xp, s, op, name)
    if s.dtype != dtype:
        raise TypeError(f"{op}: '{name}' must have dtype {dtype} like x, got {s.dtype}")
    if tuple(s.shape) != (B, H):
        raise ValueError(f"{op}: '{name}' must have shape (batch, units) = {(B, H)}, got {tuple(s.shape)}")
    return xp.ascontiguousarray(s)


def _prepare(xp, op, kind, x, states, kernel, recurrent_kernel, bias):
    """Validate a forward call; returns x and bias contiguous, kernel and recurrent_kernel as given,
    the sizes, the dtype and the initial states (None or contiguous)."""
    x = float_array(xp, x, op, "x")
    kernel = float_array(xp, kernel, op, "kernel")
    recurrent_kernel = float_array(xp, recurrent_kernel, op, "recurrent_kernel")
    bias = float_array(xp, bias, op, "bias")
    dtype = same_dtype(op, x=x, kernel=kernel, recurrent_kernel=recurrent_kernel, bias=bias)
    check_ndim(x, 3, op, "x", "(batch, time, features)")
    G = _GATES[kind]
    bias_shape = (lambda H: (2, 3 * H)) if kind == "gru" else (lambda H: (G * H,))
    B, T, I, H = _check_weights(op, x, kernel, recurrent_kernel, bias, G, bias_shape)
    init = [_state(xp, op, name, s, B, H, dtype) for name, s in states.items()]
    return xp.ascontiguousarray(x), kernel, recurrent_kernel, xp.ascontiguousarray(bias), (B, T, I, H), dtype, init


def _weights_for(xp, backend, kernel, recurrent_kernel):
    """The weights as the backend reads them: element-strided for dlcore._C, contiguous otherwise
    (dlcore._cuda's layout, which the fallback's caches share)."""
    if backend == CPU:
        return element_strided(xp, kernel), element_strided(xp, recurrent_kernel)
    return contiguous(xp, kernel), contiguous(xp, recurrent_kernel)


def _zeros_if_none(xp, s, B, H, dtype):
    return xp.zeros((B, H), dtype=dtype) if s is None else s


def _final(xp, seq, s0, B, H, dtype):
    """The state after the last step: seq[:, -1], or the initial state when there are no steps."""
    if seq.shape[1]:
        return seq[:, -1].copy()
    return xp.zeros((B, H), dtype=dtype) if s0 is None else s0.copy()


def _unpack_cache(op, cache, kind, dhs, dh_T, dc_T=None):
    """(xp, backend, the cache's arrays by name) after checking that `cache` is `kind`'s forward's and
    in the layout of the backend that runs this call."""
    if not isinstance(cache, Cache) or cache.kind != kind or len(cache) != len(_CACHE[cache.layout, kind]):
        raise TypeError(f"{op}: 'cache' must be the cache returned by {kind}_forward, got {type(cache).__name__}"
                        + (f" of length {len(cache)}" if isinstance(cache, tuple) else ""))
    names = _CACHE[cache.layout, kind]
    xp, backend = select(op, ("dhs", "dh_T", "dc_T") + tuple(f"cache[{i}] ({n})" for i, n in enumerate(names)),
                         dhs, dh_T, dc_T, *cache)
    layout = "cpu" if backend == CPU else "cuda"
    if cache.layout != layout:
        raise TypeError(f"{op}: 'cache' was made by {kind}_forward on another backend ({cache.layout} layout); run "
                        f"the backward on the backend of the forward (backend '{backend}' needs the {layout} layout)")
    for name, a in zip(names, cache):
        if not (a is None and name in ("h0", "c0")) and not isinstance(a, xp.ndarray):
            raise TypeError(f"{op}: 'cache' entry '{name}' must be an array, got {type(a).__name__}")
    return xp, backend, dict(zip(names, cache))


def _grad(xp, op, name, g, shape, dtype):
    """A gradient w.r.t. an output: None (zero), or checked against the forward's shape and dtype."""
    if g is None:
        return None
    g = float_array(xp, g, op, name)
    if g.dtype != dtype:
        raise TypeError(f"{op}: '{name}' must have dtype {dtype} like the forward pass, got {g.dtype}")
    if tuple(g.shape) != tuple(shape):
        raise ValueError(f"{op}: '{name}' must have shape {tuple(shape)}, got {tuple(g.shape)}")
    return xp.ascontiguousarray(g)


def _backward_arrays(xp, op, c, dhs, dh_T):
    """dhs (B, T, H) and dh_T (B, H) checked against the forward's shapes and dtype, the sizes, and the
    gradients to fill: dx, dh0, dkernel and drecurrent_kernel."""
    x, U = c["x"], c["recurrent_kernel"]
    B, T, I = x.shape
    H, G = U.shape
    dtype = x.dtype
    dhs = _grad(xp, op, "dhs", dhs, (B, T, H), dtype)
    dh_T = _grad(xp, op, "dh_T", dh_T, (B, H), dtype)
    return (dhs, dh_T, (B, T, I, H), xp.empty((B, T, I), dtype=dtype), xp.empty((B, H), dtype=dtype),
            xp.empty((I, G), dtype=dtype), xp.empty((H, G), dtype=dtype))


def _into(dst, src):
    """dst := src, or zeros when src is None (the in/out state gradients of dlcore._cuda's backward)."""
    if src is None:
        dst[...] = 0
    else:
        dst[...] = src
    return dst


# ---------------------------------------------------------------------------------------------- LSTM

def _lstm_forward(op, x, h0, c0, kernel, recurrent_kernel, bias):
    xp, backend = select(op, ("x", "h0", "c0", "kernel", "recurrent_kernel", "bias"), x, h0, c0, kernel,
                         recurrent_kernel, bias)
    x, W, U, b, (B, T, I, H), dtype, (h0, c0) = _prepare(xp, op, "lstm", x, {"h0": h0, "c0": c0}, kernel,
                                                         recurrent_kernel, bias)
    W, U = _weights_for(xp, backend, W, U)
    hs, cs = xp.empty((B, T, H), dtype=dtype), xp.empty((B, T, H), dtype=dtype)
    gates = xp.empty((B, T, 4 * H), dtype=dtype)
    if backend == CPU:
        h0, c0 = _zeros_if_none(xp, h0, B, H, dtype), _zeros_if_none(xp, c0, B, H, dtype)
        h_prev = xp.empty((B, T, H), dtype=dtype)
        _C.lstm_forward(x, h0, c0, W, U, b, hs, gates, cs, h_prev)
        cache = Cache("cpu", "lstm", (x, c0, W, U, gates, cs, h_prev))
    elif backend == CUDA:
        cuda().lstm_forward(B, T, I, H, ptr(x), ptr(h0), ptr(c0), ptr(W), ptr(U), ptr(b), ptr(hs), ptr(gates), ptr(cs),
                            f64(x), stream())
        cache = Cache("cuda", "lstm", (x, h0, c0, W, U, gates, cs, hs))
    else:
        fallback.lstm_forward(xp, x, h0, c0, W, U, b, hs, gates, cs)
        cache = Cache("cuda", "lstm", (x, h0, c0, W, U, gates, cs, hs))
    return hs, _final(xp, hs, h0, B, H, dtype), _final(xp, cs, c0, B, H, dtype), cache


def _lstm_backward(op, dhs, dh_T, dc_T, cache):
    xp, backend, c = _unpack_cache(op, cache, "lstm", dhs, dh_T, dc_T)
    dhs, dh_T, (B, T, I, H), dx, dh0, dkernel, drecurrent = _backward_arrays(xp, op, c, dhs, dh_T)
    dc_T = _grad(xp, op, "dc_T", dc_T, (B, H), dh0.dtype)
    dc0 = xp.empty_like(dh0)
    dbias = xp.empty((4 * H,), dtype=dh0.dtype)
    x, W, U, gates, cs = c["x"], c["kernel"], c["recurrent_kernel"], c["gates"], c["cs"]
    if backend == CPU:
        _C.lstm_backward(dhs, dh_T, dc_T, x, c["c0"], W, U, gates, cs, c["h_prev"], dx, dh0, dc0, dkernel,
                         drecurrent, dbias)
    elif backend == CUDA:
        dz = xp.empty((B, T, 4 * H), dtype=x.dtype)
        cuda().lstm_backward(B, T, I, H, ptr(x), ptr(c["h0"]), ptr(c["c0"]), ptr(W), ptr(U), ptr(gates), ptr(cs),
                             ptr(c["hs"]), ptr(dhs), ptr(_into(dh0, dh_T)), ptr(_into(dc0, dc_T)), ptr(dz), ptr(dx),
                             ptr(dkernel), ptr(drecurrent), ptr(dbias), f64(x), stream())
    else:
        fallback.lstm_backward(xp, dhs, dh_T, dc_T, x, c["h0"], c["c0"], W, U, gates, cs, c["hs"], dx, dh0, dc0,
                               dkernel, drecurrent, dbias)
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
    xp, _ = select(op, ("x_t", "h", "c", "kernel", "recurrent_kernel", "bias"), x_t, h, c, kernel,
                   recurrent_kernel, bias)
    x_t = float_array(xp, x_t, op, "x_t")
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
    xp, backend = select(op, ("x", "h0", "kernel", "recurrent_kernel", "bias"), x, h0, kernel, recurrent_kernel,
                         bias)
    x, W, U, b, (B, T, I, H), dtype, (h0,) = _prepare(xp, op, "gru", x, {"h0": h0}, kernel, recurrent_kernel, bias)
    W, U = _weights_for(xp, backend, W, U)
    hs, gates = xp.empty((B, T, H), dtype=dtype), xp.empty((B, T, 3 * H), dtype=dtype)
    hzh = xp.empty((B, T, H), dtype=dtype)  # cpu: hh_rec, the same recurrent candidate term
    if backend == CPU:
        h0 = _zeros_if_none(xp, h0, B, H, dtype)
        h_prev = xp.empty((B, T, H), dtype=dtype)
        _C.gru_forward(x, h0, W, U, b, hs, gates, hzh, h_prev)
        cache = Cache("cpu", "gru", (x, W, U, gates, hzh, h_prev))
    elif backend == CUDA:
        work = xp.empty((B, 3 * H), dtype=dtype)
        cuda().gru_forward(B, T, I, H, ptr(x), ptr(h0), ptr(W), ptr(U), ptr(b), ptr(hs), ptr(gates), ptr(hzh),
                           ptr(work), f64(x), stream())
        cache = Cache("cuda", "gru", (x, h0, W, U, gates, hzh, hs))
    else:
        fallback.gru_forward(xp, x, h0, W, U, b, hs, gates, hzh)
        cache = Cache("cuda", "gru", (x, h0, W, U, gates, hzh, hs))
    return hs, _final(xp, hs, h0, B, H, dtype), cache


def gru_backward(dhs, dh_T, cache):
    """Backward through time of :func:`gru_forward`: ``(dx, dh0, dkernel, drecurrent_kernel, dbias)``."""
    op = "gru_backward"
    xp, backend, c = _unpack_cache(op, cache, "gru", dhs, dh_T)
    dhs, dh_T, (B, T, I, H), dx, dh0, dkernel, drecurrent = _backward_arrays(xp, op, c, dhs, dh_T)
    dbias = xp.empty((2, 3 * H), dtype=dh0.dtype)
    x, W, U, gates = c["x"], c["kernel"], c["recurrent_kernel"], c["gates"]
    if backend == CPU:
        _C.gru_backward(dhs, dh_T, x, W, U, gates, c["hh_rec"], c["h_prev"], dx, dh0, dkernel, drecurrent, dbias)
    elif backend == CUDA:
        dxz, dhz = xp.empty((B, T, 3 * H), dtype=x.dtype), xp.empty((B, T, 3 * H), dtype=x.dtype)
        cuda().gru_backward(B, T, I, H, ptr(x), ptr(c["h0"]), ptr(W), ptr(U), ptr(gates), ptr(c["hzh"]), ptr(c["hs"]),
                            ptr(dhs), ptr(_into(dh0, dh_T)), ptr(dxz), ptr(dhz), ptr(dx), ptr(dkernel),
                            ptr(drecurrent), ptr(dbias), f64(x), stream())
    else:
        fallback.gru_backward(xp, dhs, dh_T, x, c["h0"], W, U, gates, c["hzh"], c["hs"], dx, dh0, dkernel,
                              drecurrent, dbias)
    return dx, dh0, dkernel, drecurrent, dbias


# ----------------------------------------------------------------------------------------- SimpleRNN

def simple_rnn_forward(x, h0, kernel, recurrent_kernel, bias):
    """SimpleRNN (tanh) over a whole sequence: x (B, T, I); h0 (B, H) or None; kernel (I, H);
    recurrent_kernel (H, H); bias (H,). Returns ``(hs (B, T, H), h_T (B, H), cache)``."""
    op = "simple_rnn_forward"
    xp, backend = select(op, ("x", "h0", "kernel", "recurrent_kernel", "bias"), x, h0, kernel, recurrent_kernel,
                         bias)
    x, W, U, b, (B, T, I, H), dtype, (h0,) = _prepare(xp, op, "simple_rnn", x, {"h0": h0}, kernel,
                                                      recurrent_kernel, bias)
    W, U = _weights_for(xp, backend, W, U)
    hs = xp.empty((B, T, H), dtype=dtype)
    if backend == CPU:
        h0 = _zeros_if_none(xp, h0, B, H, dtype)
        hs_act, h_prev = xp.empty((B, T, H), dtype=dtype), xp.empty((B, T, H), dtype=dtype)
        _C.simple_rnn_forward(x, h0, W, U, b, hs, hs_act, h_prev)
        cache = Cache("cpu", "simple_rnn", (x, W, U, hs_act, h_prev))
    elif backend == CUDA:
        cuda().simple_rnn_forward(B, T, I, H, ptr(x), ptr(h0), ptr(W), ptr(U), ptr(b), ptr(hs), f64(x), stream())
        cache = Cache("cuda", "simple_rnn", (x, h0, W, U, hs))
    else:
        fallback.simple_rnn_forward(xp, x, h0, W, U, b, hs)
        cache = Cache("cuda", "simple_rnn", (x, h0, W, U, hs))
    return hs, _final(xp, hs, h0, B, H, dtype), cache


def simple_rnn_backward(dhs, dh_T, cache):
    """Backward through time of :func:`simple_rnn_forward`: ``(dx, dh0, dkernel, drecurrent_kernel, dbias)``."""
    op = "simple_rnn_backward"
    xp, backend, c = _unpack_cache(op, cache, "simple_rnn", dhs, dh_T)
    dhs, dh_T, (B, T, I, H), dx, dh0, dkernel, drecurrent = _backward_arrays(xp, op, c, dhs, dh_T)
    dbias = xp.empty((H,), dtype=dh0.dtype)
    x, W, U = c["x"], c["kernel"], c["recurrent_kernel"]
    if backend == CPU:
        _C.simple_rnn_backward(dhs, dh_T, x, W, U, c["hs_act"], c["h_prev"], dx, dh0, dkernel, drecurrent, dbias)
    elif backend == CUDA:
        dz = xp.empty((B, T, H), dtype=x.dtype)
        cuda().simple_rnn_backward(B, T, I, H, ptr(x), ptr(c["h0"]), ptr(W), ptr(U), ptr(c["hs"]), ptr(dhs),
                                   ptr(_into(dh0, dh_T)), ptr(dz), ptr(dx), ptr(dkernel), ptr(drecurrent), ptr(dbias),
                                   f64(x), stream())
    else:
        fallback.simple_rnn_backward(xp, dhs, dh_T, x, c["h0"], W, U, c["hs"], dx, dh0, dkernel, drecurrent, dbias)
    return dx, dh0, dkernel, drecurrent, dbias
