"""Fuzzing the kernel API (every public entry of dlcore.kernels; the table is tests/fuzzing.py).

Property: a right answer (against the float64 reference, NaN exactly where the reference has NaN)
or a TypeError / ValueError naming the entry -- never a crash, a hang, a silent wrong result or an
allocation far beyond the inputs. Valid calls run on the C++ kernels (a random CPU instruction-set
path) and on the array-API fallback; hostile calls mutate one or two arguments of a valid call.

Budget: `FUZZ_EXAMPLES` examples per entry and property in the normal run (a few seconds per
property, well under a few minutes in all; the same examples on every run); the long search, marked
`slow`, runs DLCORE_FUZZ_EXAMPLES new random examples per entry and property when that is set.
Every failure the fuzzer ever found is kept below as a regular test ("found by the fuzzer").
"""
from __future__ import annotations

import contextlib
import faulthandler
import math
import os
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dlcore
from dlcore import kernels as K
import fuzzing
from fuzzing import ENTRIES, F32, F64, HUGE, NOT_KERNELS, Draw, fuzz_settings, inject, long_fuzz, relayout
from harness import ELEMENTWISE, TOL, host

FUZZ_EXAMPLES = 30
FUZZ_LONG_EXAMPLES = int(os.environ.get("DLCORE_FUZZ_EXAMPLES", "300"))
HANG_SECONDS = 120  # one example longer than this is a hang: the process dumps its stacks and exits
ALLOWED = (TypeError, ValueError)


def test_every_public_entry_is_fuzzed():
    public = {n for n in K.__all__ if n not in NOT_KERNELS}
    assert public == set(ENTRIES), f"not fuzzed: {sorted(public - set(ENTRIES))}; unknown: {set(ENTRIES) - public}"


# ------------------------------------------------------------------------------------- comparing

def as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def nbytes(obj):
    if isinstance(obj, np.ndarray):
        return obj.nbytes if obj.strides and 0 not in obj.strides else obj.itemsize * max(obj.size, 1)
    if isinstance(obj, (tuple, list)):
        return sum(nbytes(o) for o in obj)
    if isinstance(obj, dict):
        return sum(nbytes(o) for o in obj.values())
    return 0


def compare(entry, got, expected, dtype, what):
    got, expected = as_tuple(got), as_tuple(expected)
    assert len(got) == len(expected), f"{what}: {len(got)} results, the reference has {len(expected)}"
    for i, (g, e) in enumerate(zip(got, expected)):
        where = f"{what} result {i}"
        if entry.exact or not isinstance(e, (np.ndarray, float, np.floating)) and not hasattr(e, "shape"):
            assert (g if not isinstance(g, tuple) else tuple(g)) == e, f"{where}: {g!r} != {e!r}"
            continue
        g = host(g)
        if isinstance(e, float) or np.ndim(e) == 0:
            assert np.ndim(g) == 0, f"{where}: expected a scalar, got shape {np.shape(g)}"
        else:
            assert isinstance(g, np.ndarray), f"{where}: a {type(g).__name__}, not an array"
            assert g.shape == np.shape(e), f"{where}: shape {g.shape}, the reference's {np.shape(e)}"
            assert g.dtype == dtype, f"{where}: dtype {g.dtype}, expected {dtype}"
        g64, e64 = np.asarray(g, np.float64), np.asarray(e, np.float64)
        nan_g, nan_e = np.isnan(g64), np.isnan(e64)
        assert (nan_g == nan_e).all(), (f"{where}: NaN at {np.argwhere(nan_g).tolist()[:5]}, the reference at "
                                        f"{np.argwhere(nan_e).tolist()[:5]}")
        inf_g, inf_e = np.isinf(g64), np.isinf(e64)
        assert (inf_g == inf_e).all() and (g64[inf_g] == e64[inf_e]).all(), f"{where}: infinities differ"
        fin = ~(nan_e | inf_e)
        if not fin.any():
            continue
        gf, ef = g64[fin], e64[fin]
        rtol, atol = ELEMENTWISE[np.dtype(dtype)]
        norm = np.linalg.norm(ef)
        # the harness's two measures: relative to the whole result (GEMM-like sums) or elementwise
        ok = np.linalg.norm(gf - ef) <= TOL[np.dtype(dtype)] * 10 * max(norm, 1.0) or \
            (np.abs(gf - ef) <= atol + rtol * np.abs(ef)).all()
        assert ok, (f"{where}: relative error {np.linalg.norm(gf - ef) / max(norm, 1e-300):.3e} "
                    f"(max abs {np.max(np.abs(gf - ef)):.3e}) against the reference ({dtype})")


def call_dtype(kwargs):
    for v in kwargs.values():
        if isinstance(v, np.ndarray) and v.dtype in (F32, F64):
            return v.dtype
        if isinstance(v, (list, tuple)):
            for a in v:
                if isinstance(a, np.ndarray) and a.dtype in (F32, F64):
                    return a.dtype
    return F64


class Guard:
    """A watchdog and an allocation meter around one kernel call."""

    def __init__(self, budget=None):
        self.budget = budget

    def __enter__(self):
        faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
        if self.budget is not None:
            tracemalloc.start()
        return self

    def __exit__(self, *exc):
        faulthandler.cancel_dump_traceback_later()
        if self.budget is not None:
            _, self.peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        return False


@contextlib.contextmanager
def on(backend, isa=None):
    """Calls in the block run on `backend`: "fallback", or "cpu" with instruction-set path `isa`."""
    if backend == "fallback":
        with K.backend.use("fallback"):
            yield
        return
    before = dlcore.cpu_isa()
    dlcore.set_cpu_isa(isa or before)
    try:
        yield
    finally:
        dlcore.set_cpu_isa(before)


def copy_args(kwargs):
    """Copies of the writable arrays (read-only ones, broadcast views among them, cannot change)."""
    def cp(a):
        if isinstance(a, np.generic) and a.dtype.kind in "fiu":  # NumPy scalars: the reference in float64
            return a.item()
        return a.copy() if isinstance(a, np.ndarray) and a.flags.writeable else a
    return {k: (cp(v) if isinstance(v, np.ndarray) else [cp(a) for a in v] if isinstance(v, list) else v)
            for k, v in kwargs.items()}


def draw_backend(d):
    """(backend, isa): the backend every call of this example runs on (a recurrent backward reads the
    cache of a forward on the same backend)."""
    backend = d.choice(["cpu", "fallback"], "backend")
    return backend, d.choice(dlcore.supported_isas(), "isa") if backend == "cpu" else None


# ------------------------------------------------------------------------------------ valid calls

def check_valid(entry, data):
    d = Draw(data)
    backend, isa = draw_backend(d)
    with on(backend, isa):
        kwargs, ctx = entry.gen(d)
    for name in entry.nan:
        if isinstance(kwargs.get(name), np.ndarray) and d.flag(0.3):
            kwargs[name] = inject(d, kwargs[name], nan=True, inf=name in entry.inf and d.flag())
    dtype = call_dtype(kwargs)
    with np.errstate(all="ignore"):
        expected = entry.ref(copy_args(kwargs), ctx)
    with on(backend, isa), np.errstate(all="ignore"), Guard():
        returned = entry.fn(**kwargs)
    compare(entry, entry.result(kwargs, returned), expected, dtype, f"{entry.name} on {backend} {isa or ''}")


# ---------------------------------------------------------------------------------- hostile calls

GARBAGE, BENIGN, EITHER = "garbage", "benign", "either"


def _masked(a):
    return np.ma.masked_array(a, mask=np.zeros(a.shape, bool))


def mutations(d, entry, name, value, kwargs):
    """[(label, class, make)] for argument `name` of kind entry.kinds[name]: `make()` builds the
    mutated value (lazily: only the drawn one is built)."""
    kind = entry.kinds[name]
    out = []

    def add(label, cls, make):
        out.append((label, cls, make))

    v = value
    if kind in ("array", "array?", "inplace", "inplace?", "target", "weights") and isinstance(v, np.ndarray):
        strict = GARBAGE if kind != "weights" else EITHER
        add("int32", strict, lambda: v.astype(np.int32))
        add("complex", GARBAGE, lambda: v.astype(np.complex64))
        add("bool", strict, lambda: v.astype(bool))
        add("strings", GARBAGE if v.size else EITHER, lambda: v.astype(str))
        add("list", strict, lambda: v.tolist())
        add("float", GARBAGE, lambda: 1.5)
        add("masked", GARBAGE, lambda: _masked(v))
        add("object", GARBAGE, lambda: v.astype(object))
        add("extra axis", EITHER, lambda: v[..., None])
        add("longer", EITHER, lambda: np.concatenate([v, v[:1]]) if v.ndim and v.shape[0] else v[None])
        for how in ("fortran", "strided", "reversed"):
            add(how, BENIGN, lambda how=how: relayout(np.ascontiguousarray(v), how))
        add("read-only input", BENIGN if name in READ_ONLY_OK else EITHER, lambda: _readonly(v))
        if v.dtype in (F32, F64):
            other = F64 if v.dtype == F32 else F32
            cls = GARBAGE if len(entry.float_arrays) > 1 and name in entry.float_arrays else EITHER
            add("other float dtype", cls, lambda: v.astype(other))
        if kind in ("array", "inplace"):
            add("None", GARBAGE, lambda: None)
        if v.ndim and entry.name not in REDUCTIONS:  # a reduction over 2^40 rows would just take long
            add("huge broadcast view", EITHER,
                lambda: np.broadcast_to(v.reshape(-1)[:1] if v.size else np.zeros(1, v.dtype), (2 ** 40,) + v.shape[1:]))
    elif kind in ("array", "array?", "inplace", "inplace?") and v is None:
        add("ones", EITHER, lambda: np.ones(2, F32))
    elif kind in ("out?", "out"):
        like = _first_array(kwargs)
        if like is not None:
            add("wrong dtype", GARBAGE, lambda: np.zeros(like.shape, np.int32))
            add("list", GARBAGE, lambda: [0.0])
            add("misshapen", GARBAGE, lambda: np.zeros(like.shape + (2,), like.dtype))
            add("read-only", GARBAGE if like.size else EITHER, lambda: _readonly(np.zeros(like.shape, like.dtype)))
            if kind == "out?":  # the elementwise kernels: out may be one of the inputs
                add("aliases an input", BENIGN, lambda: like)
                add("fresh", BENIGN, lambda: np.full(like.shape, np.nan, like.dtype))
                add("strided", BENIGN, lambda: relayout(np.zeros(like.shape, like.dtype), "strided"))
    elif kind in ("float", "real", "nonneg", "unit", "unit_open"):
        base = v if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.5
        nonfinite = EITHER if kind == "real" else GARBAGE
        add("nan", nonfinite, lambda: float("nan"))
        add("inf", nonfinite, lambda: float("inf"))
        add("-inf", nonfinite, lambda: -math.inf)
        add("string", GARBAGE, lambda: "0.5")
        add("complex", GARBAGE, lambda: 1j)
        add("None", GARBAGE, lambda: None)
        add("list", GARBAGE, lambda: [base])
        add("np.float32", BENIGN, lambda: np.float32(base))
        add("np.float64", BENIGN, lambda: np.float64(base))
        if kind in ("nonneg", "unit", "unit_open"):
            add("negative", GARBAGE, lambda: -0.5)
        if kind in ("unit", "unit_open"):
            add("above 1", GARBAGE, lambda: 1.5)
        if kind == "unit_open":
            add("1", GARBAGE, lambda: 1.0)
    elif kind == "step":
        add("0", GARBAGE, lambda: 0)
        add("-1", GARBAGE, lambda: -1)
        add("1.5", GARBAGE, lambda: 1.5)
        add("string", GARBAGE, lambda: "1")
        add("None", GARBAGE, lambda: None)
        add("huge", EITHER, lambda: 2 ** 70)
        add("np.int64", BENIGN, lambda: np.int64(v))
    elif kind == "enum":
        add("bogus", GARBAGE, lambda: "bogus")
        add("int", GARBAGE, lambda: 5)
        add("list", GARBAGE, lambda: [v])
    elif kind == "padding":
        for label, val in (("bogus", "full"), ("negative", -1), ("float", 1.5), ("three", (1, 2, 3)), ("None", None)):
            add(label, GARBAGE, lambda val=val: val)
        add("huge", EITHER, lambda: HUGE)
    elif kind in ("geom", "geom?"):
        for label, val in (("0", 0), ("-1", -1), ("1.5", 1.5), ("string", "2"), ("triple", (1, 2, 3)),
                           ("(0, 1)", (0, 1))):
            add(label, GARBAGE, lambda val=val: val)
        for label, val in (("huge", HUGE), ("2^31", 2 ** 31), ("np.int64", np.int64(2)), ("bool", True)):
            add(label, EITHER, lambda val=val: val)
        if kind == "geom":
            add("None", GARBAGE, lambda: None)
    elif kind == "axis":
        first = _first_array(kwargs)
        nd = first.ndim if first is not None else 1
        for label, val in (("1.5", 1.5), ("string", "0"), ("out of range", nd), ("below range", -nd - 1),
                           ("huge", HUGE)):
            add(label, GARBAGE, lambda val=val: val)
        add("np.int64", BENIGN, lambda: np.int64(v))
    elif kind == "shape" and isinstance(v, (tuple, list)):
        t = tuple(v)
        for label, val in (("negative", (-1,) + t[1:]), ("float", (1.5,) + t[1:]), ("string", "shape"),
                           ("None", None), ("too long", t + (1,)), ("too short", t[:-1])):
            add(label, GARBAGE, lambda val=val: val)
        for label, val in (("huge", (HUGE,) + t[1:]), ("huge all", (HUGE,) * len(t)), ("longer", (t[0] + 1,) + t[1:])):
            add(label, EITHER, lambda val=val: val)
        add("list", BENIGN, lambda: list(t))
        add("np ints", BENIGN, lambda: tuple(np.int64(x) for x in t))
    elif kind in ("labels", "target|labels") and isinstance(v, np.ndarray):
        n = v.shape[0] if v.ndim else 0
        first = _first_array(kwargs)
        c = first.shape[-1] if first is not None and first.ndim else 1
        some = GARBAGE if n else EITHER
        if v.ndim == 1:
            add("out of range", some, lambda: np.full(n, c))
            add("negative", some, lambda: np.full(n, -1))
            add("fractional", some, lambda: np.full(n, 0.5))
            add("nan", some, lambda: np.full(n, np.nan))
            add("strings", some, lambda: v.astype(str))
            add("list", GARBAGE, lambda: v.tolist())
            add("column", GARBAGE if kind == "labels" else EITHER, lambda: v[:, None])
            add("int8", EITHER, lambda: v.astype(np.int8))
            add("longer", GARBAGE, lambda: np.concatenate([v, [0]]))
        else:
            add("strings", some, lambda: v.astype(str))
            add("list", GARBAGE, lambda: v.tolist())
            add("transposed", EITHER, lambda: v.T.copy())
        add("None", GARBAGE, lambda: None)
    elif kind == "weights":
        first = _first_array(kwargs)
        n = first.shape[0] if first is not None and first.ndim else 0
        add("wrong length", GARBAGE, lambda: np.ones(n + 1, F32))
        add("strings", GARBAGE if n else EITHER, lambda: np.array(["a"] * n))
        add("2-D", GARBAGE if n else EITHER, lambda: np.ones((n, 2), F32))
        add("list", EITHER, lambda: [1.0] * n)
    elif kind == "arrays" and isinstance(v, (list, tuple)):
        add("int array", GARBAGE, lambda: list(v) + [np.ones(2, np.int32)])
        add("None inside", GARBAGE, lambda: list(v) + [None])
        add("string", GARBAGE, lambda: "arrays")
        add("masked", GARBAGE, lambda: list(v) + [_masked(np.ones(2, F32))])
        add("tuple", BENIGN, lambda: tuple(v))
    elif kind == "cache":
        other = [k for k in ("lstm", "gru", "simple_rnn") if k not in entry.name][0]
        fwd = ENTRIES[f"{other}_forward"]
        add("None", GARBAGE, lambda: None)
        add("string", GARBAGE, lambda: "cache")
        add("tuple of None", GARBAGE, lambda: (None,) * 6)
        add("empty tuple", GARBAGE, lambda: ())
        add("another op's cache", GARBAGE, lambda: fwd.fn(**fwd.gen(d)[0])[-1])
        add("copied", EITHER, lambda: tuple(v))
    return out


# entries that sum over the batch: on a broadcast view of 2^40 rows they compute (for a long time)
# rather than allocate, so they get no such view
REDUCTIONS = {"conv2d_backward_bias", "conv1d_backward_bias", "conv2d_backward_filter", "conv1d_backward_filter",
              "global_avg_pool2d_forward", "global_norm", "gemm", "conv2d_forward", "conv1d_forward",
              "conv2d_backward_data", "conv1d_backward_data", "sgd_update", "adagrad_update", "rmsprop_update",
              "adam_update", "global_max_pool2d_forward", "depthwise_conv2d_forward", "depthwise_conv2d_backward_data",
              "depthwise_conv2d_backward_filter"} | set(fuzzing.LOSSES) | {n for n in ENTRIES if "lstm" in n or "gru" in n or "rnn" in n}

# inputs an entry only reads: a read-only one is fine
READ_ONLY_OK = {"x", "a", "b", "dy", "grad", "w", "y", "logits", "probs", "pred", "target", "targets", "labels", "x_t",
                "bias", "kernel", "recurrent_kernel", "dhs", "dh_T", "dc_T", "dh_new", "dc_new", "h0", "c0", "h", "c"}


def _readonly(a):
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


def _first_array(kwargs):
    for v in kwargs.values():
        if isinstance(v, np.ndarray):
            return v
    return None


def check_hostile(entry, data):
    d = Draw(data)
    backend, isa = draw_backend(d)
    with on(backend, isa):
        kwargs, ctx = entry.gen(d)
    names = [n for n in entry.kinds if n in kwargs or entry.kinds[n] in ("out?", "out")]
    picked = d(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True), "arguments")
    chosen = []
    for name in picked:
        options = mutations(d, entry, name, kwargs.get(name), kwargs)
        if not options:
            continue
        label, cls, make = d(st.sampled_from(options), "mutation")
        try:
            with on(backend, isa), np.errstate(all="ignore"):  # a mutation may run a forward (another op's cache)
                kwargs[name] = make()
        except MemoryError:
            continue
        chosen.append((name, label, cls))
    if not chosen:
        return
    # classes that depend on the call as a whole: float arrays of mixed dtypes are an error, of one
    # dtype fine; an array updated in place must be C-contiguous, whatever layout it came in
    present = {kwargs[n].dtype for n in entry.float_arrays if isinstance(kwargs.get(n), np.ndarray)
               and kwargs[n].dtype in (F32, F64)}
    cache = kwargs.get("cache")
    if isinstance(cache, tuple) and any(isinstance(a, np.ndarray) for a in cache):  # the forward's dtype
        present.add(next(a.dtype for a in cache if isinstance(a, np.ndarray)))
    for i, (name, label, c) in enumerate(chosen):
        if label == "other float dtype":
            chosen[i] = (name, label, GARBAGE if len(present) > 1 else BENIGN)
        elif entry.kinds[name] == "axis" and label in ("out of range", "below range"):
            first = _first_array(kwargs)  # another mutation may have changed the array's rank
            nd = first.ndim if first is not None else 1
            chosen[i] = (name, label, BENIGN if -nd <= kwargs[name] < nd else GARBAGE)
        elif label == "aliases an input":
            chosen[i] = (name, label, BENIGN if kwargs[name].flags.writeable else GARBAGE)
        elif entry.kinds[name].startswith("inplace") and label in ("fortran", "strided", "reversed", "read-only input"):
            v = kwargs[name]
            ok = v.flags.c_contiguous and v.flags.writeable
            chosen[i] = (name, label, BENIGN if ok else EITHER if v.size == 0 else GARBAGE)
    classes = {c for _, _, c in chosen}
    cls = GARBAGE if GARBAGE in classes else EITHER if EITHER in classes else BENIGN
    what = f"{entry.name}({', '.join(f'{n}: {label}' for n, label, _ in chosen)})"
    huge = any("huge" in label for _, label, _ in chosen)
    # the reference first, on copies: the kernel may write its inputs (out aliasing x, in-place updates)
    expected = ref_error = None
    ref_unknown = huge  # the reference of a huge call would take as long as the call
    if cls != GARBAGE and not huge:
        try:
            with np.errstate(all="ignore"):
                expected = entry.ref(copy_args(kwargs), ctx)
        except MemoryError:
            ref_unknown = True
        except Exception as e:  # noqa: BLE001 - the reference cannot compute this call
            ref_error = e
    inputs = nbytes({k: v for k, v in kwargs.items() if k != "cache"})
    outputs = nbytes(expected) if expected is not None else 0  # float64: twice a float32 result
    guard = Guard(budget=None if huge or ref_unknown else 16 * inputs + 8 * outputs + (8 << 20))
    err = None
    try:
        with on(backend, isa), np.errstate(all="ignore"), guard:
            returned = entry.fn(**kwargs)
    except ALLOWED as e:
        err = e
    except MemoryError as e:
        assert huge, f"{what}: MemoryError on a call of {inputs} bytes of inputs: {e}"
        return
    if guard.budget is not None:
        assert guard.peak <= guard.budget, (f"{what}: allocated {guard.peak} bytes for {inputs} bytes of inputs and "
                                            f"{outputs // 2} to {outputs} bytes of results")
    if err is not None:
        assert cls != BENIGN, f"{what}: refused a valid call on {backend}: {type(err).__name__}: {err}"
        assert entry.name in str(err) or _delegated(entry, err), f"{what}: the error does not name the entry: {err}"
        return
    assert cls != GARBAGE, f"{what}: accepted on {backend}"
    if ref_unknown:  # accepted a huge call (empty, or pure shape arithmetic) the reference cannot form
        return
    assert ref_error is None, f"{what}: accepted on {backend}, but the reference refuses it ({ref_error!r})"
    compare(entry, entry.result(kwargs, returned), expected, call_dtype(kwargs), f"{what} on {backend}")


def _delegated(entry, err):
    """conv1d's checks are conv2d's geometry (named conv1d_*), the cells' the sequence's."""
    msg = str(err)
    return entry.name.replace("_cell", "") in msg or entry.name.split("_")[0] in msg


# ------------------------------------------------------------------------------------ the properties

NAMES = sorted(ENTRIES)


@pytest.mark.parametrize("name", NAMES)
def test_fuzz_valid_calls_match_the_reference(name):
    entry = ENTRIES[name]

    @fuzz_settings(FUZZ_EXAMPLES)
    @given(st.data())
    def prop(data):
        check_valid(entry, data)
    prop()


@pytest.mark.parametrize("name", NAMES)
def test_fuzz_hostile_calls_raise_or_are_right(name):
    entry = ENTRIES[name]

    @fuzz_settings(FUZZ_EXAMPLES)
    @given(st.data())
    def prop(data):
        check_hostile(entry, data)
    prop()


@long_fuzz
@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_fuzz_long(name):
    entry = ENTRIES[name]

    @fuzz_settings(FUZZ_LONG_EXAMPLES, long=True)
    @given(st.data())
    def valid(data):
        check_valid(entry, data)

    @fuzz_settings(FUZZ_LONG_EXAMPLES, long=True)
    @given(st.data())
    def hostile(data):
        check_hostile(entry, data)
    valid()
    hostile()


# ------------------------------------------------------------------------- found by the fuzzer

def test_found_relu_backward_of_a_nan_dy_where_y_is_zero():
    # dy * (y > 0) spread a NaN or infinite dy into a zero gradient; now a select, as PyTorch
    dy, y = np.array([np.nan, np.inf, 1.0], F32), np.array([0.0, 0.0, 2.0], F32)
    for backend in ("cpu", "fallback"):
        with on(backend):
            np.testing.assert_array_equal(K.relu_backward(dy, y), [0.0, 0.0, 1.0])


def test_found_gelu_of_minus_infinity_and_huge_negatives():
    with on("cpu"):
        x = np.array([-1e30, -np.inf], F32)
        y = K.gelu_forward(x)
        assert y[0] == 0 and np.isnan(y[1])


def test_found_swish_errors_name_swish():
    with pytest.raises(TypeError, match="swish_forward"):
        K.swish_forward(np.ones(2, np.int32))


def test_found_gemm_alpha_compared_in_the_arrays_dtype():
    a = np.full((1, 1), np.inf, F32)
    for backend in ("cpu", "fallback"):  # 1e-46 is 0 in float32: a and b are not read
        with on(backend):
            assert K.gemm(a, a, alpha=1e-46)[0, 0] == 0


def test_found_unhashable_activation_and_string_numbers():
    with pytest.raises(ValueError, match="gemm"):
        K.gemm(np.ones((1, 1), F32), np.ones((1, 1), F32), activation=["relu"])
    p = np.zeros(2, F32)
    with pytest.raises(TypeError, match="sgd_update"):
        K.sgd_update(p, np.ones(2, F32), lr="0.5")


def test_found_max_pool_fallback_backward_does_not_spread_a_nan_dy():
    x, dy = np.array([[[[1.0], [2.0]]]], F32), np.array([[[[np.nan]]]], F32)
    with on("fallback"):
        dx = K.max_pool2d_backward(dy, x, (1, 2))
        assert dx[0, 0, 0, 0] == 0 and np.isnan(dx[0, 0, 1, 0])
        x4 = np.array([[[[1.0], [3.0]], [[2.0], [0.0]]]], F32)
        dx = K.global_max_pool2d_backward(np.array([[np.nan]], F32), x4)
        assert np.isnan(dx[0, 0, 1, 0]) and (np.nan_to_num(dx, nan=7.0).ravel() == [0, 7, 0, 0]).all()


def test_found_max_pool_backward_of_an_all_minus_inf_window_skips_the_padding():
    # 'same' padding pads with -inf: a window whose in-image values are all -inf tied with its padding,
    # and the fallback's argmax sent the gradient into the padding (lost); the first in-image position
    # takes it, as in the C++ kernel and PyTorch
    x = np.array([[[[-np.inf]], [[1.0]]]], F32)  # (1, 2, 1, 1)
    dy = np.array([[[[0.5]], [[2.0]]]], F32)
    for backend in ("cpu", "fallback"):
        with on(backend):
            np.testing.assert_array_equal(K.max_pool2d_backward(dy, x, (1, 3), padding="same"), dy)


def test_found_bilinear_upsampling_fallback_keeps_a_nan_where_it_is():
    # the fallback multiplied by interpolation matrices: a NaN times the zero weights of every
    # other output spread it over the whole row
    x = np.array([[[[np.nan], [1.0]]]], F32)
    with on("fallback"):
        y = K.upsample2d_forward(x, 1, "bilinear")
        assert np.isnan(y[0, 0, 0, 0]) and y[0, 0, 1, 0] == 1.0
        dx = K.upsample2d_backward(np.array([[[[np.nan], [1.0]]]], F32), x.shape, 1, "bilinear")
        assert np.isnan(dx[0, 0, 0, 0]) and dx[0, 0, 1, 0] == 1.0


@pytest.mark.parametrize("call", [
    lambda: K.upsample2d_forward(np.ones((1, 1, 1, 1), F32), HUGE),
    lambda: K.upsample1d_forward(np.ones((1, 1, 1), F32), HUGE),
    lambda: K.upsample2d_forward(np.broadcast_to(np.ones(1, F32), (2 ** 40, 1, 1, 1)), 2 ** 31 - 1),
    lambda: K.conv1d_backward_filter(np.ones((1, 1, 1), F32), np.ones((1, 1, 1), F32), (HUGE, 1, 1)),
    lambda: K.conv2d_forward(np.ones((1, 3, 3, 1), F32), np.ones((1, 1, 1, 1), F32), strides=2 ** 31),
], ids=["upsample2d size", "upsample1d size", "upsample2d output", "conv1d w_shape", "conv2d strides"])
def test_found_huge_sizes_are_value_errors_naming_the_op(call):
    with pytest.raises(ValueError, match="upsample|conv"):
        call()
