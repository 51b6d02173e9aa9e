"""The fuzzing table of the kernel API: for every public entry of dlcore.kernels, a generator of
valid calls, the float64 reference its result must match, and the kind of each argument, from which
the hostile mutations are drawn (tests/test_fuzz_kernels.py runs them).

- Valid calls: random dtypes (float32 / float64), shapes (empty, 1, odd, primes), memory layouts
  (contiguous, Fortran, step-2 strided, reversed), NaN and +-Inf where the reference defines the
  result, every option of the entry. The property: the result equals the reference (NaN exactly
  where the reference has NaN, the rest within the dtype's tolerance).
- Hostile calls: one or two arguments of a valid call replaced by a value drawn for its kind:
  garbage (wrong dtype, type, rank, range, NaN scalars, masked arrays, read-only or misshapen
  outputs, the cache of another op, huge sizes that must never be allocated), which must raise
  TypeError / ValueError naming the entry; benign (another layout, a NumPy scalar, an output that
  aliases an input), which must give the reference's result; or "either", which may raise
  (naming the entry) or must give the reference's result.

Everything is drawn from hypothesis (array contents from a drawn seed), so a failure shrinks to a
small example that is kept as a regular test (tests/test_fuzz_kernels.py, "found by the fuzzer").
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from dlcore import kernels as K
from harness import LAYOUTS
import reference as ref


def fuzz_settings(n, *, long=False):
    """Hypothesis settings for a fuzz test of n examples. The suite's own budget is derandomized: the
    same examples on every run, so that the suite (and CI) passes or fails the same way each time.
    The long runs (`long=True`, marked `long_fuzz`) draw new examples every time: a search for new
    failures, each of which is then kept as a regular test."""
    return settings(max_examples=n, deadline=None, database=None, derandomize=not long,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# The long fuzzing (marked slow too) runs when DLCORE_FUZZ_EXAMPLES=N asks for it: N new random
# examples per entry and property. Without it, it is skipped, and the derandomized budget above is
# what the suite and CI run.
long_fuzz = pytest.mark.skipif(not os.environ.get("DLCORE_FUZZ_EXAMPLES"),
                               reason="the long, randomized fuzzing runs with DLCORE_FUZZ_EXAMPLES=N set")


F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
HUGE = 2 ** 62


class Draw:
    """Hypothesis's data.draw with the conveniences every generator uses."""

    def __init__(self, data):
        self.data = data
        self.rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1), label="seed"))

    def __call__(self, strategy, label=None):
        return self.data.draw(strategy, label=label)

    def dtype(self):
        return self(st.sampled_from([F32, F64]), "dtype")

    def dim(self, lo=1, hi=9):
        """A size: mostly small, sometimes 0 (when lo allows), 1 or a prime beyond the SIMD width."""
        return self(st.one_of(st.integers(lo, hi), st.sampled_from([v for v in (0, 1, 13, 17, 33) if v >= lo])),
                    "dim")

    def choice(self, options, label=None):
        return self(st.sampled_from(list(options)), label)

    def flag(self, p_true=0.5):
        return self(st.floats(0, 1)) < p_true

    def arr(self, shape, dtype, scale=1.0, low=None, high=None, layout=True):
        """Random values of `shape` in a drawn memory layout (values do not depend on the layout)."""
        if low is not None:
            base = self.rng.uniform(low, high, shape)
        else:
            base = self.rng.standard_normal(shape) * scale
        base = base.astype(dtype)
        how = self.choice(LAYOUTS, "layout") if layout and base.ndim else "contiguous"
        return relayout(base, how)


def relayout(base, how):
    if how == "contiguous" or base.ndim == 0:
        return np.ascontiguousarray(base)
    if how == "fortran":
        return np.asfortranarray(base)
    if how == "strided":
        big = np.zeros(tuple(2 * s for s in base.shape), dtype=base.dtype)
        view = big[tuple(slice(None, None, 2) for _ in base.shape)]
        view[...] = base
        return view
    if how == "reversed":
        flipped = np.ascontiguousarray(base[tuple(slice(None, None, -1) for _ in base.shape)])
        return flipped[tuple(slice(None, None, -1) for _ in base.shape)]
    raise ValueError(how)


def inject(d, a, nan=True, inf=False):
    """`a` with NaN (and +-Inf) written at a few random positions, in place when writable."""
    if a.size == 0:
        return a
    a = np.array(a, copy=True) if not a.flags.writeable else a
    flat_idx = d.rng.integers(0, a.size, max(1, a.size // 7))
    values = [np.nan] * nan + [np.inf, -np.inf] * inf
    for i in flat_idx:
        a[np.unravel_index(i, a.shape)] = values[d.rng.integers(0, len(values))]
    return a


class Entry:
    """One kernel entry: `gen(d)` -> (kwargs, ctx); `ref(kwargs, ctx)` -> the expected results;
    `kinds` {argument: kind} for the hostile mutations; `nan` / `inf`: the arguments that may hold
    NaN / Inf in valid calls (those whose reference defines the result); `result(kwargs, returned)`:
    what to compare (the returned arrays, or the buffers an in-place update wrote)."""

    def __init__(self, name, gen, ref_fn, kinds, nan=(), inf=(), result=None, float_arrays=None, exact=False):
        self.name, self.gen, self.ref, self.kinds = name, gen, ref_fn, kinds
        self.nan, self.inf = tuple(nan), tuple(inf)
        self.result = result or (lambda kwargs, returned: returned)
        # the float array arguments of one dtype: more than one -> mixing dtypes is an error
        self.float_arrays = float_arrays if float_arrays is not None else [
            k for k, v in kinds.items() if v in ("array", "array?", "out", "out?", "inplace", "inplace?")]
        self.exact = exact

    @property
    def fn(self):
        return getattr(K, self.name)

    def __repr__(self):
        return f"Entry({self.name})"


ENTRIES: dict = {}


def entry(name, kinds, nan=(), inf=(), result=None, float_arrays=None, exact=False):
    def wrap(gen):
        ENTRIES[name] = Entry(name, gen, gen.ref, kinds, nan, inf, result, float_arrays, exact)
        return gen
    return wrap


def with_ref(ref_fn):
    def wrap(gen):
        gen.ref = ref_fn
        return gen
    return wrap


def pair(v):
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)


# ------------------------------------------------------------------------------------------ gemm

def _gemm_ref(kw, ctx):
    beta = kw["beta"] if kw["out"] is not None else 0.0
    a, b = kw["a"], kw["b"]
    dtype = getattr(a, "dtype", F64) if getattr(a, "dtype", None) in (F32, F64) else F64
    if np.asarray(kw["alpha"], dtype) == 0:  # BLAS: alpha == 0 (in the arrays' dtype) reads neither a nor b
        a, b = np.zeros(np.shape(a)), np.zeros(np.shape(b))
    return ref.gemm(a, b, kw["trans_a"], kw["trans_b"], kw["alpha"], beta, ctx.get("out0"), kw["bias"],
                    kw["activation"])


@entry("gemm", {"a": "array", "b": "array", "alpha": "real", "beta": "real", "out": "out", "bias": "array?",
                "activation": "enum", "trans_a": "bool", "trans_b": "bool"}, nan=("a", "b"))
@with_ref(_gemm_ref)
def _gemm(d):
    t = d.dtype()
    m, k, n = d.dim(0), d.dim(0), d.dim(0)
    ta, tb = d.flag(), d.flag()
    a = d.arr((k, m) if ta else (m, k), t)
    b = d.arr((n, k) if tb else (k, n), t)
    kw = {"a": a, "b": b, "trans_a": ta, "trans_b": tb, "alpha": d(st.floats(-2, 2)), "beta": 0.0, "out": None,
          "bias": d.arr((n,), t, layout=False) if d.flag(0.3) else None,
          "activation": d.choice([None, "linear", "relu", "sigmoid", "tanh"])}
    ctx = {}
    if d.flag(0.4):
        kw["beta"] = d.choice([0.0, 0.5, -1.0])
        out = d.arr((m, n), t, layout=False)
        if kw["beta"] == 0.0 and out.size:
            out[...] = np.nan  # beta == 0 never reads out
        ctx["out0"] = out.copy()
        kw["out"] = out
    return kw, ctx


# ---------------------------------------------------------------------------------------- conv2d

def _sdp(geo):
    """(strides, pads, dilation): the reference's argument order, from _geo2's (strides, dilation, pads)."""
    s, dil, pads = geo
    return s, pads, dil


def _conv_pads(padding, x_shape, w_shape, s, dil):
    return ref.conv2d_pads(padding, x_shape, w_shape, s, dil)


def _conv_geometry(d, t, rank2=True):
    """x, w shapes and a geometry whose filter fits the padded input."""
    n, cin, cout = d.dim(0, 5), d.dim(1, 6), d.dim(1, 6)
    kh = d(st.integers(1, 3)) if rank2 else 1
    kw = d(st.integers(1, 3))
    s = (d(st.integers(1, 3)) if rank2 else 1, d(st.integers(1, 3)))
    dil = (1, 1) if max(s) > 1 or d.flag(0.6) else ((d(st.integers(1, 2)) if rank2 else 1), d(st.integers(1, 2)))
    eh, ew = (kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1
    h = eh + d(st.integers(0, 6)) if rank2 else 1
    w = ew + d(st.integers(0, 6))
    return (n, h, w, cin), (kh, kw, cin, cout), s, dil


def _conv2d_padding(d):
    return d.choice(["valid", "same", "VALID", 1, 0, ((0, 2), (1, 0)), (1, 2)])


def _pads2(padding, x_shape, w_shape, s, dil):
    if isinstance(padding, str):
        return _conv_pads(padding.lower(), x_shape, w_shape, s, dil)
    if isinstance(padding, int):
        return (padding, padding), (padding, padding)
    if isinstance(padding[0], int):
        return (padding[0], padding[0]), (padding[1], padding[1])
    return tuple(padding[0]), tuple(padding[1])


def _geo_args(d, s, dil):
    """strides / dilation as the caller may give them: an int when both are equal, else a pair."""
    def one(v):
        return v[0] if v[0] == v[1] and d.flag() else tuple(v)
    return one(s), one(dil)


CONV_KINDS = {"strides": "geom", "padding": "padding", "dilation": "geom"}


def _geo2(kw, xs, ws):
    """(strides, dilation, pads) of a conv2d call, read from its arguments as the caller gave them."""
    s, dil = pair(kw.get("strides", 1)), pair(kw.get("dilation", 1))
    return s, dil, _pads2(kw.get("padding", "valid"), xs, ws, s, dil)


def _conv2d_output_shape_ref(kw, ctx):
    xs, ws = tuple(kw["x_shape"]), tuple(kw["w_shape"])
    s, dil, pads = _geo2(kw, xs, ws)
    return _y_shape(xs, ws, s, dil, pads)


@entry("conv2d_output_shape", {"x_shape": "shape", "w_shape": "shape", **CONV_KINDS}, exact=True)
@with_ref(_conv2d_output_shape_ref)
def _conv2d_output_shape(d):
    xs, ws, s, dil = _conv_geometry(d, F32)
    padding = _conv2d_padding(d)
    sa, da = _geo_args(d, s, dil)
    return {"x_shape": xs, "w_shape": ws, "strides": sa, "padding": padding, "dilation": da}, {}


def _conv_call(d, rank2=True):
    t = d.dtype()
    xs, ws, s, dil = _conv_geometry(d, t, rank2)
    padding = _conv2d_padding(d) if rank2 else d.choice(["valid", "same", "causal", 1, (0, 2)])
    sa, da = _geo_args(d, s, dil)
    return t, xs, ws, s, dil, padding, sa, da


def _pads1(padding, xs, ws, s, dil):
    if padding == "causal":
        return (0, 0), ((ws[1] - 1) * dil[1], 0)
    if isinstance(padding, str):
        return _conv_pads(padding, xs, ws, s, dil)
    if isinstance(padding, int):
        return (0, 0), (padding, padding)
    return (0, 0), tuple(padding)


def _y_shape(xs, ws, s, dil, pads):
    ho = (xs[1] + sum(pads[0]) - (ws[0] - 1) * dil[0] - 1) // s[0] + 1
    wo = (xs[2] + sum(pads[1]) - (ws[1] - 1) * dil[1] - 1) // s[1] + 1
    return xs[0], ho, wo, ws[3]


def _conv_fwd_ref(kw, ctx):
    s, dil, pads = _geo2(kw, np.shape(kw["x"]), np.shape(kw["w"]))
    return ref.conv2d_forward(kw["x"], kw["w"], kw["bias"], s, pads, dil, kw["activation"])


@entry("conv2d_forward", {"x": "array", "w": "array", "bias": "array?", "activation": "enum", "out": "out",
                          **CONV_KINDS}, nan=("x",))
@with_ref(_conv_fwd_ref)
def _conv2d_forward(d):
    t, xs, ws, s, dil, padding, sa, da = _conv_call(d)
    pads = _pads2(padding, xs, ws, s, dil)
    kw = {"x": d.arr(xs, t), "w": d.arr(ws, t, scale=0.5), "bias": d.arr((ws[3],), t) if d.flag() else None,
          "strides": sa, "padding": padding, "dilation": da, "activation": d.choice([None, "relu", "sigmoid", "tanh"]),
          "out": d.arr(_y_shape(xs, ws, s, dil, pads), t, layout=False) if d.flag(0.2) else None}
    return kw, {"s": s, "dil": dil, "pads": pads}


@entry("conv2d_backward_data", {"dy": "array", "w": "array", "x_shape": "shape", **CONV_KINDS}, nan=("dy",))
@with_ref(lambda kw, ctx: ref.conv2d_backward_data(kw["dy"], kw["w"], tuple(kw["x_shape"]),
                                                   *_sdp(_geo2(kw, tuple(kw["x_shape"]), np.shape(kw["w"])))))
def _conv2d_backward_data(d):
    t, xs, ws, s, dil, padding, sa, da = _conv_call(d)
    pads = _pads2(padding, xs, ws, s, dil)
    return ({"dy": d.arr(_y_shape(xs, ws, s, dil, pads), t), "w": d.arr(ws, t), "x_shape": xs, "strides": sa,
             "padding": padding, "dilation": da}, {"s": s, "dil": dil, "pads": pads})


# NaN in x only: the reference multiplies a NaN dy by the zero padding (NaN), the kernels skip padding
@entry("conv2d_backward_filter", {"dy": "array", "x": "array", "w_shape": "shape", **CONV_KINDS}, nan=("x",))
@with_ref(lambda kw, ctx: ref.conv2d_backward_filter(kw["dy"], kw["x"], tuple(kw["w_shape"]),
                                                     *_sdp(_geo2(kw, np.shape(kw["x"]), tuple(kw["w_shape"])))))
def _conv2d_backward_filter(d):
    t, xs, ws, s, dil, padding, sa, da = _conv_call(d)
    pads = _pads2(padding, xs, ws, s, dil)
    return ({"dy": d.arr(_y_shape(xs, ws, s, dil, pads), t), "x": d.arr(xs, t), "w_shape": ws, "strides": sa,
             "padding": padding, "dilation": da}, {"s": s, "dil": dil, "pads": pads})


def _bias_grad(d, rank):
    t = d.dtype()
    shape = tuple(d.dim(0, 6) for _ in range(rank - 1)) + (d.dim(1, 9),)
    return {"dy": d.arr(shape, t)}, {}


@entry("conv2d_backward_bias", {"dy": "array"}, nan=("dy",), inf=("dy",))
@with_ref(lambda kw, ctx: ref.conv2d_backward_bias(kw["dy"]))
def _conv2d_backward_bias(d):
    return _bias_grad(d, 4)


def _geo1(kw, x_shape, w_shape):
    """conv1d's call as conv2d's: (x_shape, w_shape, strides, dilation, pads) with a height of 1."""
    xs, ws = (x_shape[0], 1) + tuple(x_shape[1:]), (1,) + tuple(w_shape)
    s, dil = (1, int(kw.get("strides", 1))), (1, int(kw.get("dilation", 1)))
    return xs, ws, s, dil, _pads1(kw.get("padding", "valid"), xs, ws, s, dil)


def _conv1d_output_shape_ref(kw, ctx):
    xs, ws, s, dil, pads = _geo1(kw, tuple(kw["x_shape"]), tuple(kw["w_shape"]))
    y = _y_shape(xs, ws, s, dil, pads)
    return y[0], y[2], y[3]


@entry("conv1d_output_shape", {"x_shape": "shape", "w_shape": "shape", **CONV_KINDS}, exact=True)
@with_ref(_conv1d_output_shape_ref)
def _conv1d_output_shape(d):
    t, xs, ws, s, dil, padding, sa, da = _conv_call(d, rank2=False)
    return ({"x_shape": (xs[0], xs[2], xs[3]), "w_shape": ws[1:], "strides": s[1], "padding": padding,
             "dilation": dil[1]}, {})


def _conv1d(d):
    t, xs, ws, s, dil, padding, sa, da = _conv_call(d, rank2=False)
    pads = _pads1(padding, xs, ws, s, dil)
    return t, xs, ws, s, dil, padding, pads


@entry("conv1d_forward", {"x": "array", "w": "array", "bias": "array?", "activation": "enum", **CONV_KINDS},
       nan=("x",))
@with_ref(lambda kw, ctx: (lambda xs, ws, s, dil, pads: ref.conv2d_forward(
    np.asarray(kw["x"])[:, None], np.asarray(kw["w"])[None], kw["bias"], s, pads, dil, kw["activation"])[:, 0])(
    *_geo1(kw, np.shape(kw["x"]), np.shape(kw["w"]))))
def _conv1d_forward(d):
    t, xs, ws, s, dil, padding, pads = _conv1d(d)
    return ({"x": d.arr((xs[0], xs[2], xs[3]), t), "w": d.arr(ws[1:], t), "strides": s[1], "padding": padding,
             "dilation": dil[1], "bias": d.arr((ws[3],), t) if d.flag() else None,
             "activation": d.choice([None, "relu", "tanh"])}, {"s": s, "dil": dil, "pads": pads})


@entry("conv1d_backward_data", {"dy": "array", "w": "array", "x_shape": "shape", **CONV_KINDS}, nan=("dy",))
@with_ref(lambda kw, ctx: (lambda xs, ws, s, dil, pads: ref.conv2d_backward_data(
    np.asarray(kw["dy"])[:, None], np.asarray(kw["w"])[None], xs, s, pads, dil)[:, 0])(
    *_geo1(kw, tuple(kw["x_shape"]), np.shape(kw["w"]))))
def _conv1d_backward_data(d):
    t, xs, ws, s, dil, padding, pads = _conv1d(d)
    y = _y_shape(xs, ws, s, dil, pads)
    return ({"dy": d.arr((y[0], y[2], y[3]), t), "w": d.arr(ws[1:], t), "x_shape": (xs[0], xs[2], xs[3]),
             "strides": s[1], "padding": padding, "dilation": dil[1]},
            {"s": s, "dil": dil, "pads": pads, "xs": xs})


@entry("conv1d_backward_filter", {"dy": "array", "x": "array", "w_shape": "shape", **CONV_KINDS}, nan=("x",))
@with_ref(lambda kw, ctx: (lambda xs, ws, s, dil, pads: ref.conv2d_backward_filter(
    np.asarray(kw["dy"])[:, None], np.asarray(kw["x"])[:, None], ws, s, pads, dil)[0])(
    *_geo1(kw, np.shape(kw["x"]), tuple(kw["w_shape"]))))
def _conv1d_backward_filter(d):
    t, xs, ws, s, dil, padding, pads = _conv1d(d)
    y = _y_shape(xs, ws, s, dil, pads)
    return ({"dy": d.arr((y[0], y[2], y[3]), t), "x": d.arr((xs[0], xs[2], xs[3]), t), "w_shape": ws[1:],
             "strides": s[1], "padding": padding, "dilation": dil[1]}, {"s": s, "dil": dil, "pads": pads, "ws": ws})


@entry("conv1d_backward_bias", {"dy": "array"}, nan=("dy",), inf=("dy",))
@with_ref(lambda kw, ctx: ref.conv2d_backward_bias(kw["dy"]))
def _conv1d_backward_bias(d):
    return _bias_grad(d, 3)


# ------------------------------------------------------------------------------ depthwise conv2d

def _per_channel(ws):
    """The channel slices of a depthwise convolution with filters (kh, kw, C, m): input channel c,
    output channels c*m .. c*m + m - 1. The reference convolves each channel on its own (a dense
    reference with block-diagonal filters would multiply a NaN by the zeros between the blocks)."""
    c, m = ws[2], ws[3]
    return [(slice(k, k + 1), slice(k * m, (k + 1) * m)) for k in range(c)]


def _dw_forward_ref(kw, ctx):
    x, w = np.asarray(kw["x"], np.float64), np.asarray(kw["w"], np.float64)
    s, dil, pads, full = _dw_geo(kw, x.shape, w.shape)
    y = np.zeros(_y_shape(x.shape, full, s, dil, pads))
    for ci, co in _per_channel(w.shape):
        y[..., co] = ref.conv2d_forward(x[..., ci], w[:, :, ci, :], None, s, pads, dil)
    return y + (0.0 if kw["bias"] is None else np.asarray(kw["bias"], np.float64))


def _dw_data_ref(kw, ctx):
    dy, w, xs = np.asarray(kw["dy"], np.float64), np.asarray(kw["w"], np.float64), tuple(kw["x_shape"])
    s, dil, pads, full = _dw_geo(kw, xs, w.shape)
    dx = np.zeros(xs)
    for ci, co in _per_channel(w.shape):
        dx[..., ci] = ref.conv2d_backward_data(dy[..., co], w[:, :, ci, :], xs[:3] + (1,), s, pads, dil)
    return dx


def _dw_call(d):
    t = d.dtype()
    xs, ws, s, dil = _conv_geometry(d, t)
    m = d(st.integers(1, 3))
    ws = (ws[0], ws[1], xs[3], m)
    padding = _conv2d_padding(d)
    sa, da = _geo_args(d, s, dil)
    return t, xs, ws, s, dil, padding, sa, da


def _dw_geo(kw, xs, ws):
    """(strides, dilation, pads) and the dense filter shape of a depthwise call."""
    full = (ws[0], ws[1], ws[2], ws[2] * ws[3])
    s, dil, pads = _geo2(kw, tuple(xs), full)
    return s, dil, pads, full


@entry("depthwise_conv2d_output_shape", {"x_shape": "shape", "w_shape": "shape", **CONV_KINDS}, exact=True)
@with_ref(lambda kw, ctx: (lambda s, dil, pads, full: _y_shape(tuple(kw["x_shape"]), full, s, dil, pads))(
    *_dw_geo(kw, tuple(kw["x_shape"]), tuple(kw["w_shape"]))))
def _depthwise_conv2d_output_shape(d):
    t, xs, ws, s, dil, padding, sa, da = _dw_call(d)
    return {"x_shape": xs, "w_shape": ws, "strides": sa, "padding": padding, "dilation": da}, {}


@entry("depthwise_conv2d_forward", {"x": "array", "w": "array", "bias": "array?", **CONV_KINDS}, nan=("x",))
@with_ref(_dw_forward_ref)
def _depthwise_conv2d_forward(d):
    t, xs, ws, s, dil, padding, sa, da = _dw_call(d)
    return ({"x": d.arr(xs, t), "w": d.arr(ws, t, scale=0.5), "bias": d.arr((ws[2] * ws[3],), t) if d.flag() else None,
             "strides": sa, "padding": padding, "dilation": da}, {})


@entry("depthwise_conv2d_backward_data", {"dy": "array", "w": "array", "x_shape": "shape", **CONV_KINDS},
       nan=("dy",))
@with_ref(_dw_data_ref)
def _depthwise_conv2d_backward_data(d):
    t, xs, ws, s, dil, padding, sa, da = _dw_call(d)
    s_, dil_, pads, full = _dw_geo({"strides": sa, "padding": padding, "dilation": da}, xs, ws)
    return ({"dy": d.arr(_y_shape(xs, full, s_, dil_, pads), t), "w": d.arr(ws, t), "x_shape": xs, "strides": sa,
             "padding": padding, "dilation": da}, {})


def _dw_filter_ref(kw, ctx):
    ws, dy, x = tuple(kw["w_shape"]), np.asarray(kw["dy"], np.float64), np.asarray(kw["x"], np.float64)
    s, dil, pads, full = _dw_geo(kw, x.shape, ws)
    dw = np.zeros(ws)
    for ci, co in _per_channel(ws):
        dw[:, :, ci, :] = ref.conv2d_backward_filter(dy[..., co], x[..., ci], ws[:2] + (1, ws[3]), s, pads, dil)
    return dw


@entry("depthwise_conv2d_backward_filter", {"dy": "array", "x": "array", "w_shape": "shape", **CONV_KINDS},
       nan=("x",))
@with_ref(_dw_filter_ref)
def _depthwise_conv2d_backward_filter(d):
    t, xs, ws, s, dil, padding, sa, da = _dw_call(d)
    s_, dil_, pads, full = _dw_geo({"strides": sa, "padding": padding, "dilation": da}, xs, ws)
    return ({"dy": d.arr(_y_shape(xs, full, s_, dil_, pads), t), "x": d.arr(xs, t), "w_shape": ws, "strides": sa,
             "padding": padding, "dilation": da}, {})


# --------------------------------------------------------------------------------------- pooling

POOL_KINDS = {"pool_size": "geom", "strides": "geom?", "padding": "enum"}


def _pool_call(d):
    t = d.dtype()
    n, c = d.dim(0, 4), d.dim(1, 9)
    k = (d(st.integers(1, 4)), d(st.integers(1, 4)))
    padding = d.choice(["valid", "same"])
    lo = (1, 1) if padding == "same" else k
    h, w = lo[0] + d(st.integers(0, 6)), lo[1] + d(st.integers(0, 6))
    strides = d.choice([None, 1, 2, 3, (1, 2), (3, 1)])
    s = k if strides is None else pair(strides)
    pool_size = k[0] if k[0] == k[1] and d.flag() else k
    return t, (n, h, w, c), pool_size, strides, padding, k, s


def _pool_shape(xs, k, s, padding):
    """Keras's pooling output shape, by arithmetic (the reference's window list would take forever on
    huge shapes)."""
    n, h, w, c = xs
    if padding == "valid":
        return n, (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1, c
    return n, -(-h // s[0]), -(-w // s[1]), c


def _ks(kw):
    """(pool size, strides) of a pooling call, read from its arguments."""
    k = pair(kw.get("pool_size", 2))
    return k, k if kw.get("strides") is None else pair(kw["strides"])


@entry("pool2d_output_shape", {"x_shape": "shape", **POOL_KINDS}, exact=True)
@with_ref(lambda kw, ctx: _pool_shape(tuple(kw["x_shape"]), *_ks(kw), kw["padding"]))
def _pool2d_output_shape(d):
    t, xs, pool_size, strides, padding, k, s = _pool_call(d)
    return {"x_shape": xs, "pool_size": pool_size, "strides": strides, "padding": padding}, {}


@entry("max_pool2d_forward", {"x": "array", **POOL_KINDS}, nan=("x",), inf=("x",))
@with_ref(lambda kw, ctx: ref.max_pool2d_forward(kw["x"], *_ks(kw), kw["padding"]))
def _max_pool2d_forward(d):
    t, xs, pool_size, strides, padding, k, s = _pool_call(d)
    return {"x": d.arr(xs, t), "pool_size": pool_size, "strides": strides, "padding": padding}, {"k": k, "s": s}


@entry("max_pool2d_backward", {"dy": "array", "x": "array", **POOL_KINDS}, nan=("x", "dy"), inf=("x",))
@with_ref(lambda kw, ctx: ref.max_pool2d_backward(kw["dy"], kw["x"], *_ks(kw), kw["padding"]))
def _max_pool2d_backward(d):
    t, xs, pool_size, strides, padding, k, s = _pool_call(d)
    x = d.arr(xs, t)
    if d.flag(0.3) and x.size:  # ties: the gradient goes to the first maximum
        x = np.round(x)
    return ({"dy": d.arr(_pool_shape(xs, k, s, padding), t), "x": x, "pool_size": pool_size, "strides": strides,
             "padding": padding}, {"k": k, "s": s})


@entry("avg_pool2d_forward", {"x": "array", **POOL_KINDS}, nan=("x",), inf=("x",))
@with_ref(lambda kw, ctx: ref.avg_pool2d_forward(kw["x"], *_ks(kw), kw["padding"]))
def _avg_pool2d_forward(d):
    t, xs, pool_size, strides, padding, k, s = _pool_call(d)
    return {"x": d.arr(xs, t), "pool_size": pool_size, "strides": strides, "padding": padding}, {"k": k, "s": s}


@entry("avg_pool2d_backward", {"dy": "array", "x_shape": "shape", **POOL_KINDS}, nan=("dy",), inf=("dy",))
@with_ref(lambda kw, ctx: ref.avg_pool2d_backward(kw["dy"], tuple(kw["x_shape"]), *_ks(kw), kw["padding"]))
def _avg_pool2d_backward(d):
    t, xs, pool_size, strides, padding, k, s = _pool_call(d)
    return ({"dy": d.arr(_pool_shape(xs, k, s, padding), t), "x_shape": xs, "pool_size": pool_size,
             "strides": strides, "padding": padding}, {"k": k, "s": s})


@entry("global_avg_pool2d_forward", {"x": "array"}, nan=("x",), inf=("x",))
@with_ref(lambda kw, ctx: ref.global_avg_pool2d_forward(kw["x"]))
def _global_avg_pool2d_forward(d):
    t = d.dtype()
    return {"x": d.arr((d.dim(0, 4), d.dim(1, 6), d.dim(1, 6), d.dim(1, 9)), t)}, {}


@entry("global_avg_pool2d_backward", {"dy": "array", "x_shape": "shape"}, nan=("dy",), inf=("dy",))
@with_ref(lambda kw, ctx: ref.global_avg_pool2d_backward(kw["dy"], kw["x_shape"]))
def _global_avg_pool2d_backward(d):
    t = d.dtype()
    xs = (d.dim(0, 4), d.dim(1, 6), d.dim(1, 6), d.dim(1, 9))
    return {"dy": d.arr((xs[0], xs[3]), t), "x_shape": xs}, {}


@entry("global_max_pool2d_forward", {"x": "array"}, nan=("x",), inf=("x",))
@with_ref(lambda kw, ctx: ref.global_max_pool2d_forward(kw["x"]))
def _global_max_pool2d_forward(d):
    t = d.dtype()
    return {"x": d.arr((d.dim(0, 4), d.dim(1, 6), d.dim(1, 6), d.dim(1, 9)), t)}, {}


@entry("global_max_pool2d_backward", {"dy": "array", "x": "array"}, nan=("x", "dy"), inf=("x",))
@with_ref(lambda kw, ctx: ref.global_max_pool2d_backward(kw["dy"], kw["x"]))
def _global_max_pool2d_backward(d):
    t = d.dtype()
    xs = (d.dim(0, 4), d.dim(1, 6), d.dim(1, 6), d.dim(1, 9))
    x = d.arr(xs, t)
    if d.flag(0.3) and x.size:  # ties: the gradient goes to the first maximum
        x = np.round(x)
    return {"dy": d.arr((xs[0], xs[3]), t), "x": x}, {}


# 1-D pooling of sequences (N, L, C)

def _pool1d_call(d):
    t = d.dtype()
    n, c = d.dim(0, 4), d.dim(1, 9)
    k = d(st.integers(1, 5))
    padding = d.choice(["valid", "same"])
    length = (1 if padding == "same" else k) + d(st.integers(0, 8))
    strides = d.choice([None, 1, 2, 3])
    s = k if strides is None else strides
    pool_size = (k,) if d.flag(0.2) else k
    return t, (n, length, c), pool_size, strides, padding, k, s


def _ks1(kw):
    k = kw.get("pool_size", 2)
    k = int(k[0]) if isinstance(k, (tuple, list)) else int(k)
    s = kw.get("strides")
    s = k if s is None else int(s[0]) if isinstance(s, (tuple, list)) else int(s)
    return k, s


def _pool1d_shape(xs, k, s, padding):
    n, length, c = xs
    return (n, (length - k) // s + 1, c) if padding == "valid" else (n, -(-length // s), c)


@entry("pool1d_output_shape", {"x_shape": "shape", **POOL_KINDS}, exact=True)
@with_ref(lambda kw, ctx: _pool1d_shape(tuple(kw["x_shape"]), *_ks1(kw), kw["padding"]))
def _pool1d_output_shape(d):
    t, xs, pool_size, strides, padding, k, s = _pool1d_call(d)
    return {"x_shape": xs, "pool_size": pool_size, "strides": strides, "padding": padding}, {}


@entry("max_pool1d_forward", {"x": "array", **POOL_KINDS}, nan=("x",), inf=("x",))
@with_ref(lambda kw, ctx: ref.max_pool1d_forward(kw["x"], *_ks1(kw), kw["padding"]))
def _max_pool1d_forward(d):
    t, xs, pool_size, strides, padding, k, s = _pool1d_call(d)
    return {"x": d.arr(xs, t), "pool_size": pool_size, "strides": strides, "padding": padding}, {}


@entry("max_pool1d_backward", {"dy": "array", "x": "array", **POOL_KINDS}, nan=("x", "dy"), inf=("x",))
@with_ref(lambda kw, ctx: ref.max_pool1d_backward(kw["dy"], kw["x"], *_ks1(kw), kw["padding"]))
def _max_pool1d_backward(d):
    t, xs, pool_size, strides, padding, k, s = _pool1d_call(d)
    x = d.arr(xs, t)
    if d.flag(0.3) and x.size:
        x = np.round(x)
    return ({"dy": d.arr(_pool1d_shape(xs, k, s, padding), t), "x": x, "pool_size": pool_size, "strides": strides,
             "padding": padding}, {})


@entry("avg_pool1d_forward", {"x": "array", **POOL_KINDS}, nan=("x",), inf=("x",))
@with_ref(lambda kw, ctx: ref.avg_pool1d_forward(kw["x"], *_ks1(kw), kw["padding"]))
def _avg_pool1d_forward(d):
    t, xs, pool_size, strides, padding, k, s = _pool1d_call(d)
    return {"x": d.arr(xs, t), "pool_size": pool_size, "strides": strides, "padding": padding}, {}


@entry("avg_pool1d_backward", {"dy": "array", "x_shape": "shape", **POOL_KINDS}, nan=("dy",), inf=("dy",))
@with_ref(lambda kw, ctx: ref.avg_pool1d_backward(kw["dy"], tuple(kw["x_shape"]), *_ks1(kw), kw["padding"]))
def _avg_pool1d_backward(d):
    t, xs, pool_size, strides, padding, k, s = _pool1d_call(d)
    return ({"dy": d.arr(_pool1d_shape(xs, k, s, padding), t), "x_shape": xs, "pool_size": pool_size,
             "strides": strides, "padding": padding}, {})


# ------------------------------------------------------------------------------------ upsampling

def _size2(kw):
    return pair(kw.get("size", 2))


@entry("upsample2d_output_shape", {"x_shape": "shape", "size": "geom"}, exact=True)
@with_ref(lambda kw, ctx: (lambda xs, f: (xs[0], xs[1] * f[0], xs[2] * f[1], xs[3]))(tuple(kw["x_shape"]),
                                                                                     _size2(kw)))
def _upsample2d_output_shape(d):
    xs = (d.dim(0, 4), d.dim(0, 6), d.dim(0, 6), d.dim(1, 9))
    size = d.choice([1, 2, 3, (1, 2), (3, 1), (2, 2)])
    return {"x_shape": xs, "size": size}, {}


def _upsample2d_call(d):
    t = d.dtype()
    xs = (d.dim(0, 3), d.dim(1, 5), d.dim(1, 5), d.dim(1, 9))
    size = d.choice([1, 2, 3, (1, 2), (3, 1), (2, 2)])
    return t, xs, size, d.choice(["nearest", "bilinear"])


@entry("upsample2d_forward", {"x": "array", "size": "geom", "interpolation": "enum"}, nan=("x",))
@with_ref(lambda kw, ctx: ref.upsample2d_forward(kw["x"], _size2(kw), kw["interpolation"]))
def _upsample2d_forward(d):
    t, xs, size, interpolation = _upsample2d_call(d)
    return {"x": d.arr(xs, t), "size": size, "interpolation": interpolation}, {}


# no Inf in the bilinear calls: the reference's zero-weight taps make 0 * Inf = NaN where a kernel skips them
@entry("upsample2d_backward", {"dy": "array", "x_shape": "shape", "size": "geom", "interpolation": "enum"},
       nan=("dy",))
@with_ref(lambda kw, ctx: ref.upsample2d_backward(kw["dy"], tuple(kw["x_shape"]), _size2(kw), kw["interpolation"]))
def _upsample2d_backward(d):
    t, xs, size, interpolation = _upsample2d_call(d)
    f = pair(size)
    return ({"dy": d.arr((xs[0], xs[1] * f[0], xs[2] * f[1], xs[3]), t), "x_shape": xs, "size": size,
             "interpolation": interpolation}, {})


@entry("upsample1d_output_shape", {"x_shape": "shape", "size": "geom"}, exact=True)
@with_ref(lambda kw, ctx: (lambda xs: (xs[0], xs[1] * int(kw.get("size", 2)), xs[2]))(tuple(kw["x_shape"])))
def _upsample1d_output_shape(d):
    return {"x_shape": (d.dim(0, 4), d.dim(0, 9), d.dim(1, 9)), "size": d(st.integers(1, 4))}, {}


@entry("upsample1d_forward", {"x": "array", "size": "geom"}, nan=("x",), inf=("x",))
@with_ref(lambda kw, ctx: ref.upsample1d_forward(kw["x"], int(kw.get("size", 2))))
def _upsample1d_forward(d):
    t = d.dtype()
    return {"x": d.arr((d.dim(0, 4), d.dim(0, 9), d.dim(1, 9)), t), "size": d(st.integers(1, 4))}, {}


@entry("upsample1d_backward", {"dy": "array", "x_shape": "shape", "size": "geom"}, nan=("dy",), inf=("dy",))
@with_ref(lambda kw, ctx: ref.upsample1d_backward(kw["dy"], tuple(kw["x_shape"]), int(kw.get("size", 2))))
def _upsample1d_backward(d):
    t = d.dtype()
    xs, size = (d.dim(0, 4), d.dim(0, 9), d.dim(1, 9)), d(st.integers(1, 4))
    return {"dy": d.arr((xs[0], xs[1] * size, xs[2]), t), "x_shape": xs, "size": size}, {}


# ----------------------------------------------------------------------------------- activations

def _shape_any(d):
    return tuple(d.dim(0, 9) for _ in range(d(st.integers(0, 3))))


ACTS = {  # name: (forward reference, backward reference from (dy, z), what the backward takes, parameter)
    "relu": (ref.relu, lambda dy, y, p: np.where(y > 0, dy, 0.0), "y", None),  # dy where y > 0, else 0 (PyTorch)
    "leaky_relu": (lambda x, p: ref.leaky_relu(x, p), lambda dy, x, p: dy * ref.leaky_relu_grad(x, p), "x",
                   "negative_slope"),
    "elu": (lambda x, p: ref.elu(x, p), lambda dy, x, p: dy * ref.elu_grad(x, p), "x", "alpha"),
    "gelu": (lambda x, p: ref.gelu(x, p), lambda dy, x, p: dy * ref.gelu_grad(x, p), "x", "approximate"),
    "sigmoid": (ref.sigmoid, lambda dy, y, p: dy * y * (1 - y), "y", None),
    "tanh": (ref.tanh, lambda dy, y, p: dy * (1 - y * y), "y", None),
    "softplus": (ref.softplus, lambda dy, x, p: dy * ref.softplus_grad(x), "x", None),
    "silu": (ref.silu, lambda dy, x, p: dy * ref.silu_grad(x), "x", None),
    "swish": (ref.silu, lambda dy, x, p: dy * ref.silu_grad(x), "x", None),
}


def _act_param(d, param):
    if param == "approximate":
        return d.flag()
    if param is None:
        return None
    return d.choice([0.0, 0.2, 1.0, 1.7, -0.5])


def _make_act_entries():
    for name, (fwd, bwd, zname, param) in ACTS.items():
        def gen_f(d, fwd=fwd, param=param):
            t = d.dtype()
            x = d.arr(_shape_any(d), t, scale=3.0)
            kw = {"x": x}
            if param is not None:
                kw[param] = _act_param(d, param)
            return kw, {}

        def ref_f(kw, ctx, fwd=fwd, param=param):
            return fwd(kw["x"], kw[param]) if param is not None else fwd(kw["x"])

        kinds_f = {"x": "array", "out": "out?"}
        if param is not None:
            kinds_f[param] = "bool" if param == "approximate" else "float"
        gen_f.ref = ref_f
        ENTRIES[f"{name}_forward"] = Entry(f"{name}_forward", gen_f, ref_f, kinds_f, nan=("x",), inf=("x",),
                                           float_arrays=["x", "out"])

        def gen_b(d, fwd=fwd, param=param, zname=zname):
            t = d.dtype()
            shape = _shape_any(d)
            x = d.arr(shape, t, scale=3.0)
            p = _act_param(d, param) if param is not None else None
            z = x if zname == "x" else (fwd(x, p) if param is not None else fwd(x)).astype(t)
            kw = {"dy": d.arr(shape, t), zname: relayout(np.ascontiguousarray(z), d.choice(LAYOUTS))}
            if param is not None:
                kw[param] = p
            return kw, {}

        def ref_b(kw, ctx, bwd=bwd, param=param, zname=zname):
            return bwd(np.asarray(kw["dy"], np.float64), np.asarray(kw[zname], np.float64),
                       kw.get(param) if param is not None else None)

        kinds_b = {"dy": "array", zname: "array", "out": "out?"}
        if param is not None:
            kinds_b[param] = "bool" if param == "approximate" else "float"
        ENTRIES[f"{name}_backward"] = Entry(f"{name}_backward", gen_b, ref_b, kinds_b, nan=("dy",),
                                            float_arrays=["dy", zname, "out"])


_make_act_entries()


def _softmax_gen(d, log, backward):
    t = d.dtype()
    shape = tuple(d.dim(1, 9) for _ in range(d(st.integers(1, 3))))
    axis = d(st.integers(-len(shape), len(shape) - 1))
    x = d.arr(shape, t, scale=3.0)
    if not backward:
        return {"x": x, "axis": axis}, {}
    y = (ref.log_softmax if log else ref.softmax)(x, axis=axis).astype(t)
    return {"dy": d.arr(shape, t), "y": relayout(np.ascontiguousarray(y), d.choice(LAYOUTS)), "axis": axis}, {}


for _log in (False, True):
    _name = "log_softmax" if _log else "softmax"
    _fwd = ref.log_softmax if _log else ref.softmax
    _bwd = ref.log_softmax_backward if _log else ref.softmax_backward
    ENTRIES[f"{_name}_forward"] = Entry(
        f"{_name}_forward", lambda d, log=_log: _softmax_gen(d, log, False),
        lambda kw, ctx, f=_fwd: f(kw["x"], axis=kw["axis"]), {"x": "array", "axis": "axis", "out": "out?"},
        nan=("x",), inf=("x",), float_arrays=["x", "out"])
    ENTRIES[f"{_name}_backward"] = Entry(
        f"{_name}_backward", lambda d, log=_log: _softmax_gen(d, log, True),
        lambda kw, ctx, f=_bwd: f(kw["dy"], kw["y"], axis=kw["axis"]),
        {"dy": "array", "y": "array", "axis": "axis", "out": "out?"}, nan=("dy",), float_arrays=["dy", "y", "out"])


# ---------------------------------------------------------------------------------------- losses

def _loss_result(kw, returned):
    loss, grad = returned
    return loss, grad


def _loss_gen(d, kind):
    t = d.dtype()
    n = d.dim(0, 9)
    c = d.dim(1, 9)
    reduction = d.choice(["mean", "sum", "none"])
    w = d.arr((n,), t, low=0.0, high=2.0, layout=False) if d.flag(0.3) else None
    labels = d.rng.integers(0, c, n)
    if d.flag(0.2):
        labels = labels.astype(d.choice([np.int32, np.uint8, np.float32, np.float64]))
    if kind in ("softmax_sparse", "sparse_categorical"):
        pred = d.arr((n, c), t, scale=3.0) if kind == "softmax_sparse" else d.arr((n, c), t, low=0.01, high=1.0)
        return {"pred": pred, "target": labels, "reduction": reduction, "sample_weight": w}, {}
    if kind in ("softmax_dense", "categorical"):
        pred = d.arr((n, c), t, scale=3.0) if kind == "softmax_dense" else d.arr((n, c), t, low=0.01, high=1.0)
        target = d.arr((n, c), t, low=0.0, high=1.0)
        return {"pred": pred, "target": target, "reduction": reduction, "sample_weight": w}, {}
    shape = (n,) + tuple(d.dim(1, 5) for _ in range(d(st.integers(0, 2))))
    if kind == "binary":
        pred, target = d.arr(shape, t, low=0.0, high=1.0), d.arr(shape, t, low=0.0, high=1.0)
    else:
        pred, target = d.arr(shape, t, scale=2.0), d.arr(shape, t, scale=2.0)
    return {"pred": pred, "target": target, "reduction": reduction, "sample_weight": w}, {}


LOSSES = {  # kernel: (generator kind, per-sample reference, loss_grad name, argument names)
    "softmax_cross_entropy": (("softmax_sparse", "softmax_dense"), ref.softmax_xent_per_sample, "softmax_xent",
                              ("logits", "labels")),
    "categorical_cross_entropy": (("categorical",), ref.categorical_xent_per_sample, "categorical_xent",
                                  ("probs", "targets")),
    "sparse_categorical_cross_entropy": (("sparse_categorical",), ref.sparse_categorical_xent_per_sample,
                                         "sparse_categorical_xent", ("probs", "labels")),
    "binary_cross_entropy": (("binary",), ref.binary_xent_per_sample, "binary_xent", ("probs", "targets")),
    "binary_cross_entropy_with_logits": (("dense",), ref.binary_xent_logits_per_sample, "binary_xent_logits",
                                         ("logits", "targets")),
    "mean_squared_error": (("dense",), ref.mse_per_sample, "mse", ("pred", "target")),
    "mean_absolute_error": (("dense",), ref.mae_per_sample, "mae", ("pred", "target")),
}


def _make_loss_entries():
    for name, (gens, per_sample, grad_name, (pname, tname)) in LOSSES.items():
        def gen(d, gens=gens, pname=pname, tname=tname):
            kw, ctx = _loss_gen(d, d.choice(gens))
            return {pname: kw["pred"], tname: kw["target"], "reduction": kw["reduction"],
                    "sample_weight": kw["sample_weight"]}, ctx

        def ref_fn(kw, ctx, per_sample=per_sample, grad_name=grad_name, pname=pname, tname=tname):
            pred, target = kw[pname], kw[tname]
            if np.asarray(target).dtype.kind == "f" and np.asarray(target).ndim == 1 and grad_name != "mse" \
                    and "xent" in grad_name and grad_name not in ("binary_xent", "binary_xent_logits"):
                target = np.asarray(target).astype(np.int64)  # class indices stored as floats
            elif np.asarray(target).dtype.kind in "iu":
                target = np.asarray(target).astype(np.int64)
            w = kw["sample_weight"]
            loss = ref.reduce_loss(per_sample(pred, target), kw["reduction"], w)
            grad = ref.loss_grad(grad_name, pred, target, kw["reduction"], w)
            return loss, grad

        kinds = {pname: "array", tname: "labels" if "sparse" in name else "target", "reduction": "enum",
                 "sample_weight": "weights"}
        if name == "softmax_cross_entropy":
            kinds[tname] = "target|labels"
        ENTRIES[name] = Entry(name, gen, ref_fn, kinds, nan=(pname,), result=_loss_result,
                              float_arrays=[pname] + ([tname] if kinds[tname] == "target" else []))


_make_loss_entries()


# ------------------------------------------------------------------------------ optimizer updates

def _param_shape(d):
    return tuple(d.dim(0, 9) for _ in range(d(st.integers(1, 3))))


def _contig(d, shape, t, **kw):
    return np.ascontiguousarray(d.arr(shape, t, **kw))


def _optim_result(states):
    def result(kw, returned):
        assert returned is kw["param"], "the update returns its param"
        return (kw["param"],) + tuple(kw[s] for s in states if kw.get(s) is not None)
    return result


def _sgd_gen(d):
    t = d.dtype()
    shape = _param_shape(d)
    mom = d.choice([0.0, 0.9])
    return {"param": _contig(d, shape, t), "grad": d.arr(shape, t), "lr": d.choice([0.0, 0.01, 0.5]),
            "momentum": mom, "velocity": _contig(d, shape, t) if mom else None,
            "nesterov": bool(mom) and d.flag(), "weight_decay": d.choice([0.0, 0.01])}, {}


def _sgd_ref(kw, ctx):
    p, b = ref.sgd_step(kw["param"], kw["grad"], kw["lr"], kw["momentum"], kw["velocity"], kw["nesterov"],
                        kw["weight_decay"])
    return (p,) + ((b,) if kw["velocity"] is not None else ())


ENTRIES["sgd_update"] = Entry("sgd_update", _sgd_gen, _sgd_ref,
                              {"param": "inplace", "grad": "array", "lr": "nonneg", "momentum": "nonneg",
                               "velocity": "inplace?", "weight_decay": "nonneg", "nesterov": "bool"},
                              nan=("grad",), result=_optim_result(["velocity"]))


def _adagrad_gen(d):
    t = d.dtype()
    shape = _param_shape(d)
    return {"param": _contig(d, shape, t), "grad": d.arr(shape, t), "accum": _contig(d, shape, t, low=0.0, high=1.0),
            "lr": d.choice([0.0, 0.01, 0.5]), "eps": d.choice([1e-7, 0.0, 1e-3]),
            "weight_decay": d.choice([0.0, 0.01])}, {}


ENTRIES["adagrad_update"] = Entry(
    "adagrad_update", _adagrad_gen,
    lambda kw, ctx: ref.adagrad_step(kw["param"], kw["grad"], kw["accum"], kw["lr"], kw["eps"], kw["weight_decay"]),
    {"param": "inplace", "grad": "array", "accum": "inplace", "lr": "nonneg", "eps": "nonneg",
     "weight_decay": "nonneg"},
    nan=("grad",), result=_optim_result(["accum"]))


def _rmsprop_gen(d):
    t = d.dtype()
    shape = _param_shape(d)
    mom, centered = d.choice([0.0, 0.9]), d.flag()
    # centered with rho = 0 computes sqrt(g^2 - g^2): rounding noise (PyTorch's formula), so not here
    rho = d.choice([0.5, 0.9] if centered else [0.0, 0.9, 1.0])
    return {"param": _contig(d, shape, t), "grad": d.arr(shape, t), "sq_avg": _contig(d, shape, t, low=0.5, high=1.0),
            "lr": d.choice([0.0, 0.01]), "rho": rho, "eps": d.choice([1e-7, 1e-3]),
            "momentum": mom, "mom_buf": _contig(d, shape, t) if mom else None, "centered": centered,
            "grad_avg": _contig(d, shape, t, low=-0.1, high=0.1) if centered else None,
            "weight_decay": d.choice([0.0, 0.01])}, {}


def _rmsprop_ref(kw, ctx):
    out = ref.rmsprop_step(kw["param"], kw["grad"], kw["sq_avg"], kw["lr"], kw["rho"], kw["eps"], kw["momentum"],
                           kw["mom_buf"], kw["centered"], kw["grad_avg"], kw["weight_decay"])
    p, sq, buf, gavg = out
    return (p, sq) + ((buf,) if kw["mom_buf"] is not None else ()) + ((gavg,) if kw["grad_avg"] is not None else ())


ENTRIES["rmsprop_update"] = Entry(
    "rmsprop_update", _rmsprop_gen, _rmsprop_ref,
    {"param": "inplace", "grad": "array", "sq_avg": "inplace", "lr": "nonneg", "rho": "unit", "eps": "nonneg",
     "momentum": "nonneg", "mom_buf": "inplace?", "grad_avg": "inplace?", "weight_decay": "nonneg",
     "centered": "bool"},
    nan=("grad",), result=_optim_result(["sq_avg", "mom_buf", "grad_avg"]))


def _adam_gen(d):
    t = d.dtype()
    shape = _param_shape(d)
    ams = d.flag(0.3)
    return {"param": _contig(d, shape, t), "grad": d.arr(shape, t), "m": _contig(d, shape, t, scale=0.1),
            "v": _contig(d, shape, t, low=0.0, high=0.1), "lr": d.choice([0.0, 1e-3, 0.1]),
            "step": d(st.integers(1, 1000)), "beta1": d.choice([0.0, 0.9]), "beta2": d.choice([0.0, 0.999]),
            "eps": d.choice([1e-7, 0.0, 1e-3]), "weight_decay": d.choice([0.0, 0.01]),
            "decoupled_weight_decay": d.flag(), "amsgrad": ams,
            "v_max": _contig(d, shape, t, low=0.0, high=0.1) if ams else None}, {}


def _adam_ref(kw, ctx):
    out = ref.adam_step(kw["param"], kw["grad"], kw["m"], kw["v"], kw["lr"], kw["step"], kw["beta1"], kw["beta2"],
                        kw["eps"], kw["weight_decay"], kw["decoupled_weight_decay"], kw["amsgrad"], kw["v_max"])
    return tuple(out[:3]) + ((out[3],) if kw["v_max"] is not None else ())


ENTRIES["adam_update"] = Entry(
    "adam_update", _adam_gen, _adam_ref,
    {"param": "inplace", "grad": "array", "m": "inplace", "v": "inplace", "lr": "nonneg", "step": "step",
     "beta1": "unit_open", "beta2": "unit_open", "eps": "nonneg", "weight_decay": "nonneg", "v_max": "inplace?",
     "decoupled_weight_decay": "bool", "amsgrad": "bool"},
    nan=("grad",), result=_optim_result(["m", "v", "v_max"]))


def _arrays_gen(d):
    t = d.dtype()
    arrays = [d.arr(_param_shape(d), t) for _ in range(d(st.integers(0, 4)))]
    return {"arrays": arrays}, {}


ENTRIES["global_norm"] = Entry(
    "global_norm", _arrays_gen,
    lambda kw, ctx: math.sqrt(sum(float(np.sum(np.asarray(a, np.float64) ** 2)) for a in kw["arrays"])),
    {"arrays": "arrays"}, nan=(), float_arrays=[])


def _scale_gen(d):
    kw, ctx = _arrays_gen(d)
    kw["arrays"] = [np.ascontiguousarray(a) if d.flag(0.7) else a for a in kw["arrays"]]
    kw["factor"] = d.choice([0.0, 0.5, -2.0, 1e3])
    return kw, {"before": [np.array(a, np.float64) for a in kw["arrays"]]}


ENTRIES["scale_"] = Entry(
    "scale_", _scale_gen, lambda kw, ctx: tuple(a * kw["factor"] for a in ctx["before"]),
    {"arrays": "arrays", "factor": "real"}, float_arrays=[],
    result=lambda kw, returned: tuple(kw["arrays"]))


# ------------------------------------------------------------------------------------- recurrent

GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


def _rnn_inputs(d, kind, cell=False):
    t = d.dtype()
    B, T, I, H = d.dim(0, 5), 1 if cell else d.dim(0, 5), d.dim(1, 6), d.dim(1, 6)
    G = GATES[kind]
    x = d.arr((B, T, I), t)
    kernel = d.arr((I, G * H), t, scale=1 / np.sqrt(I))
    recurrent = d.arr((H, G * H), t, scale=1 / np.sqrt(H))
    bias = d.arr((2, 3 * H) if kind == "gru" else (G * H,), t, scale=0.5)
    states = [d.arr((B, H), t, scale=0.5) if d.flag(0.7) else None for _ in range(2 if kind == "lstm" else 1)]
    return t, (B, T, I, H), x, states, kernel, recurrent, bias


def _zeros_if_none(s, B, H):
    return np.zeros((B, H)) if s is None else s


def _make_rnn_entries():
    for kind in GATES:
        names = ["x"] + (["h0", "c0"] if kind == "lstm" else ["h0"]) + ["kernel", "recurrent_kernel", "bias"]

        def gen_f(d, kind=kind, names=names):
            t, (B, T, I, H), x, states, kernel, recurrent, bias = _rnn_inputs(d, kind)
            return dict(zip(names, [x, *states, kernel, recurrent, bias])), {"B": B, "H": H}

        def ref_f(kw, ctx, kind=kind, names=names):
            args = [kw[n] for n in names]
            args[1:len(names) - 3] = [_zeros_if_none(s, ctx["B"], ctx["H"]) for s in args[1:len(names) - 3]]
            return getattr(ref, f"{kind}_forward")(*args)

        kinds = {n: "array" for n in names}
        kinds.update({"h0": "array?", "c0": "array?"} if kind == "lstm" else {"h0": "array?"})
        ENTRIES[f"{kind}_forward"] = Entry(f"{kind}_forward", gen_f, ref_f, kinds, nan=("x",),
                                           result=lambda kw, r: tuple(r[:-1]))
        grad_names = ["dhs", "dh_T", "dc_T"] if kind == "lstm" else ["dhs", "dh_T"]

        def gen_b(d, kind=kind, names=names, grad_names=grad_names):
            t, (B, T, I, H), x, states, kernel, recurrent, bias = _rnn_inputs(d, kind)
            fwd = dict(zip(names, [x, *states, kernel, recurrent, bias]))
            cache = getattr(K, f"{kind}_forward")(**fwd)[-1]
            grads = {"dhs": d.arr((B, T, H), t) if d.flag(0.8) else None}
            grads.update({g: d.arr((B, H), t) if d.flag(0.6) else None for g in grad_names[1:]})
            return {**grads, "cache": cache}, {"fwd": fwd, "B": B, "H": H}

        def ref_b(kw, ctx, kind=kind, names=names, grad_names=grad_names):
            fwd = ctx["fwd"]
            args = [fwd[n] for n in names]
            args[1:len(names) - 3] = [_zeros_if_none(s, ctx["B"], ctx["H"]) for s in args[1:len(names) - 3]]
            out = getattr(ref, f"{kind}_backward")(*args, *[kw[g] for g in grad_names])
            return tuple(out)

        kinds_b = {g: "array?" for g in grad_names}
        kinds_b["cache"] = "cache"
        ENTRIES[f"{kind}_backward"] = Entry(f"{kind}_backward", gen_b, ref_b, kinds_b, nan=("dhs",),
                                            float_arrays=[g for g in grad_names])


_make_rnn_entries()


def _cell_gen(d):
    t, (B, T, I, H), x, (h, c), kernel, recurrent, bias = _rnn_inputs(d, "lstm", cell=True)
    return {"x_t": np.ascontiguousarray(x[:, 0]), "h": h, "c": c, "kernel": kernel, "recurrent_kernel": recurrent,
            "bias": bias}, {"B": B, "H": H}


def _cell_ref(kw, ctx):
    hs, h, c = ref.lstm_forward(kw["x_t"][:, None], _zeros_if_none(kw["h"], ctx["B"], ctx["H"]),
                                _zeros_if_none(kw["c"], ctx["B"], ctx["H"]), kw["kernel"], kw["recurrent_kernel"],
                                kw["bias"])
    return h, c


ENTRIES["lstm_cell_forward"] = Entry(
    "lstm_cell_forward", _cell_gen, _cell_ref,
    {"x_t": "array", "h": "array?", "c": "array?", "kernel": "array", "recurrent_kernel": "array", "bias": "array"},
    nan=("x_t",), result=lambda kw, r: tuple(r[:2]))


def _cell_b_gen(d):
    fwd, ctx = _cell_gen(d)
    t = fwd["x_t"].dtype
    cache = K.lstm_cell_forward(**fwd)[-1]
    B, H = ctx["B"], ctx["H"]
    return ({"dh_new": d.arr((B, H), t) if d.flag(0.8) else None, "dc_new": d.arr((B, H), t) if d.flag(0.5) else None,
             "cache": cache}, {"fwd": fwd, **ctx})


def _cell_b_ref(kw, ctx):
    fwd, B, H = ctx["fwd"], ctx["B"], ctx["H"]
    dx, dh, dc, dw, du, db = ref.lstm_backward(fwd["x_t"][:, None], _zeros_if_none(fwd["h"], B, H),
                                               _zeros_if_none(fwd["c"], B, H), fwd["kernel"],
                                               fwd["recurrent_kernel"], fwd["bias"], None, kw["dh_new"], kw["dc_new"])
    return dx[:, 0], dh, dc, dw, du, db


ENTRIES["lstm_cell_backward"] = Entry(
    "lstm_cell_backward", _cell_b_gen, _cell_b_ref, {"dh_new": "array?", "dc_new": "array?", "cache": "cache"},
    nan=("dh_new",), float_arrays=["dh_new", "dc_new"])


# The entries that are not kernels: no call to fuzz.
NOT_KERNELS = {"backend", "set_tf32", "tf32_enabled", "GEMM_ACTIVATIONS", "CONV_ACTIVATIONS", "INTERPOLATIONS"}
