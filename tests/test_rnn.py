"""LSTM, GRU and SimpleRNN against the float64 references: odd shapes on every ISA, long sequences,
layouts, empty batches and sequences, finite-difference gradient checks, cell == sequence of one
step, threads, saturation, and the error cases."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dlcore
from dlcore import kernels as K
from harness import DTYPES, LAYOUTS, Backend, assert_close, gradcheck_fd, host, make, raises
import reference as ref

KINDS = ["lstm", "gru", "simple_rnn"]
CPU = Backend("cpu", np)  # the tests of the CPU kernels' threading run on the active ISA only
GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}
# (B, T, I, H): ones, primes, sizes around the microkernel tiles (MR up to 8 rows, NR up to 32)
ODD = [(1, 1, 1, 1), (7, 3, 33, 13), (2, 5, 1, 7), (13, 4, 7, 33), (3, 2, 17, 61), (9, 6, 5, 8), (17, 3, 31, 16)]
# the float32 bound the issue names for recurrent sequences of 100 steps
SEQ_TOL = 1e-4


def params(kind, B, T, I, H, dtype, rng, layout="contiguous", states=True):
    """Inputs of `kind`'s forward: x, initial state(s), kernel, recurrent_kernel, bias (Glorot-like
    scales so that long sequences neither explode nor saturate)."""
    G = GATES[kind]
    x = make((B, T, I), dtype, rng, layout)
    kernel = make((I, G * H), dtype, rng, layout, scale=1.0 / np.sqrt(I))
    recurrent = make((H, G * H), dtype, rng, layout, scale=1.0 / np.sqrt(H))
    bias = make((2, 3 * H) if kind == "gru" else (G * H,), dtype, rng, scale=0.5)
    n_states = 2 if kind == "lstm" else 1
    st = [make((B, H), dtype, rng, scale=0.5) if states else None for _ in range(n_states)]
    return x, st, kernel, recurrent, bias


def forward(be, kind, x, st, kernel, recurrent, bias):
    """dlcore's forward on backend `be` -> (outputs tuple (hs, h_T[, c_T]) in NumPy, cache)."""
    f = getattr(K, f"{kind}_forward")
    out = f(*be.to((x, *st, kernel, recurrent, bias)))
    return be.back(out[:-1]), out[-1]


def backward(be, kind, grads, cache):
    """dlcore's backward on backend `be` from the cache of its forward; the gradients in NumPy."""
    return be.back(getattr(K, f"{kind}_backward")(*be.to(grads), cache))


def ref_forward(kind, x, st, kernel, recurrent, bias):
    return getattr(ref, f"{kind}_forward")(x, *st, kernel, recurrent, bias)


def ref_backward(kind, x, st, kernel, recurrent, bias, grads):
    return getattr(ref, f"{kind}_backward")(x, *st, kernel, recurrent, bias, *grads)


def out_grads(kind, B, T, H, dtype, rng):
    """Nonzero gradients w.r.t. every output: dhs, dh_T (and dc_T for LSTM)."""
    n = 3 if kind == "lstm" else 2
    return [make((B, T, H), dtype, rng)] + [make((B, H), dtype, rng) for _ in range(n - 1)]


OUT_NAMES = {"lstm": ["hs", "h_T", "c_T"], "gru": ["hs", "h_T"], "simple_rnn": ["hs", "h_T"]}
GRAD_NAMES = {"lstm": ["dx", "dh0", "dc0", "dkernel", "drecurrent_kernel", "dbias"],
              "gru": ["dx", "dh0", "dkernel", "drecurrent_kernel", "dbias"],
              "simple_rnn": ["dx", "dh0", "dkernel", "drecurrent_kernel", "dbias"]}


def check_all(kind, got, expect, dtype, what, tol=None):
    """Each output against its reference. The gradients of one backward are sums over the same
    gates and steps, so each is measured against the largest of them: a gradient whose terms cancel
    (dh0 of an LSTM with H = 1 came out 8e-6 from terms of ~0.1) carries their rounding error."""
    grads = len(got) != len(OUT_NAMES[kind])
    names = GRAD_NAMES[kind] if grads else OUT_NAMES[kind]
    scale = max((float(np.linalg.norm(np.asarray(host(e), np.float64))) for e in expect if e is not None),
                default=0.0)
    for name, g, e in zip(names, got, expect):
        assert g.dtype == np.dtype(dtype), f"{what} {name}: dtype {g.dtype}"
        assert g.flags.c_contiguous, f"{what} {name}: not C-contiguous"
        assert_close(g, e, dtype, tol=tol, what=f"{what} {name}", scale=scale if grads else 0.0)


# ----------------------------------------------------------------------------------- forward/backward

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_odd_shapes_forward_backward(backend, kind, dtype, rng):
    for B, T, I, H in ODD:
        p = params(kind, B, T, I, H, dtype, rng)
        outs, cache = forward(backend, kind, *p)
        check_all(kind, outs, ref_forward(kind, *p), dtype, f"{backend.name} {kind} fwd {(B, T, I, H)}")
        grads = out_grads(kind, B, T, H, dtype, rng)
        got = backward(backend, kind, grads, cache)
        check_all(kind, got, ref_backward(kind, *p, grads), dtype, f"{backend.name} {kind} bwd {(B, T, I, H)}")


@pytest.mark.parametrize("kind", KINDS)
def test_sequence_of_100_steps_float32(backend, kind, rng):
    """float32 over 100 steps within the issue's 1e-4 of the float64 reference, forward and backward."""
    for B, T, I, H in [(7, 100, 33, 31), (32, 100, 16, 50)]:
        p = params(kind, B, T, I, H, np.float32, rng)
        outs, cache = forward(backend, kind, *p)
        check_all(kind, outs, ref_forward(kind, *p), np.float32, f"{backend.name} {kind} T=100 fwd", tol=SEQ_TOL)
        grads = out_grads(kind, B, T, H, np.float32, rng)
        got = backward(backend, kind, grads, cache)
        check_all(kind, got, ref_backward(kind, *p, grads), np.float32, f"{backend.name} {kind} T=100 bwd", tol=SEQ_TOL)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts(backend, kind, layout, rng):
    """Non-contiguous x and weights (Fortran, strided, reversed views) give the same results."""
    B, T, I, H = 5, 6, 11, 9
    p = params(kind, B, T, I, H, np.float64, rng, layout)
    outs, cache = forward(backend, kind, *p)
    check_all(kind, outs, ref_forward(kind, *p), np.float64, f"{kind} {layout} fwd")
    grads = out_grads(kind, B, T, H, np.float64, rng)
    grads[0] = make((B, T, H), np.float64, rng, layout)
    check_all(kind, backward(backend, kind, grads, cache), ref_backward(kind, *p, grads), np.float64,
              f"{kind} {layout} bwd")


@pytest.mark.parametrize("kind", KINDS)
def test_missing_states_and_grads_are_zeros(backend, kind, rng):
    B, T, I, H = 4, 5, 6, 7
    x, st, kernel, recurrent, bias = params(kind, B, T, I, H, np.float64, rng, states=False)
    outs, cache = forward(backend, kind, x, st, kernel, recurrent, bias)
    zeros = [np.zeros((B, H)) for _ in st]
    outs0, cache0 = forward(backend, kind, x, zeros, kernel, recurrent, bias)
    for a, b in zip(outs, outs0):
        np.testing.assert_array_equal(a, b)
    check_all(kind, outs, ref_forward(kind, x, st, kernel, recurrent, bias), np.float64, f"{kind} no states")
    # dhs only / final-state gradients only
    dhs = make((B, T, H), np.float64, rng)
    n = len(OUT_NAMES[kind]) - 1
    got = backward(backend, kind, [dhs] + [None] * n, cache)
    expect = ref_backward(kind, x, st, kernel, recurrent, bias, [dhs] + [None] * n)
    check_all(kind, got, expect, np.float64, f"{kind} dhs only")
    finals = [make((B, H), np.float64, rng) for _ in range(n)]
    got = backward(backend, kind, [None] + finals, cache)
    expect = ref_backward(kind, x, st, kernel, recurrent, bias, [None] + finals)
    check_all(kind, got, expect, np.float64, f"{kind} final-state grads only")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_batch_and_empty_sequence(backend, kind, dtype, rng):
    # B = 0: every output has 0 rows, weight gradients are zeros
    p = params(kind, 0, 4, 5, 6, dtype, rng)
    outs, cache = forward(backend, kind, *p)
    assert outs[0].shape == (0, 4, 6) and all(o.shape == (0, 6) for o in outs[1:])
    grads = backward(backend, kind, out_grads(kind, 0, 4, 6, dtype, rng), cache)
    assert grads[0].shape == (0, 4, 5)
    for g in grads[-3:]:
        np.testing.assert_array_equal(g, 0.0)
    # T = 0: the final states are the initial ones, their gradients pass straight through
    x, st, kernel, recurrent, bias = params(kind, 3, 0, 5, 6, dtype, rng)
    outs, cache = forward(backend, kind, x, st, kernel, recurrent, bias)
    assert outs[0].shape == (3, 0, 6)
    for o, s in zip(outs[1:], st):
        np.testing.assert_array_equal(o, s)
    g_out = out_grads(kind, 3, 0, 6, dtype, rng)
    grads = backward(backend, kind, g_out, cache)
    assert grads[0].shape == (3, 0, 5)
    n_states = len(st)
    for g, d in zip(grads[1:1 + n_states], g_out[1:]):
        np.testing.assert_array_equal(g, d)
    for g in grads[-3:]:
        np.testing.assert_array_equal(g, 0.0)


@pytest.mark.parametrize("kind", KINDS)
def test_saturated_gates_stay_finite(backend, kind, rng):
    """Pre-activations far beyond the range of exp: sigmoid/tanh saturate, nothing becomes inf/NaN."""
    B, T, I, H = 3, 4, 5, 17
    x, st, kernel, recurrent, bias = params(kind, B, T, I, H, np.float32, rng)
    x = x * np.float32(300.0)
    outs, cache = forward(backend, kind, x, st, kernel, recurrent, bias)
    with np.errstate(over="ignore"):
        expect = ref_forward(kind, x, st, kernel, recurrent, bias)
    check_all(kind, outs, expect, np.float32, f"{kind} saturated")
    grads = backward(backend, kind, out_grads(kind, B, T, H, np.float32, rng), cache)
    assert all(np.all(np.isfinite(g)) for g in grads)


@pytest.mark.parametrize("shape", [(37, 9, 19, 29), (64, 20, 256, 256), (8, 200, 256, 64), (48, 45, 40, 36)])
def test_threads_agree(shape, rng):
    """1, 2 and 3 threads: the small case stays on one thread, the second splits the batch (each thread
    projects its own rows), the third has too few rows to split but a projection worth threading. In
    the second and fourth, the LSTM and SimpleRNN backward passes sum the weight gradients inside the
    time loop, per thread, in chunks of steps that do not divide T (the fourth: 16 rows per thread at
    3 threads, chunks of 16 steps over 45), and add the threads' sums at the end."""
    B, T, I, H = shape
    backend = CPU
    before = dlcore.get_num_threads()
    try:
        for kind in KINDS:
            p = params(kind, B, T, I, H, np.float32, rng)
            grads = out_grads(kind, B, T, H, np.float32, rng)
            results = []
            for nt in (1, 2, 3):
                dlcore.set_num_threads(nt)
                outs, cache = forward(backend, kind, *p)
                results.append((outs, backward(backend, kind, grads, cache)))
            for nt, (outs, g) in zip((1, 2, 3), results):
                check_all(kind, outs, ref_forward(kind, *p), np.float32, f"{kind} {nt} threads fwd")
                check_all(kind, g, ref_backward(kind, *p, grads), np.float32, f"{kind} {nt} threads bwd")
    finally:
        dlcore.set_num_threads(before)


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(KINDS), B=st.integers(0, 19), T=st.integers(0, 7), I=st.integers(1, 12),
       H=st.integers(1, 40), states=st.booleans(), seed=st.integers(0, 2**31))
def test_property_matches_reference(kind, B, T, I, H, states, seed):
    rng = np.random.default_rng(seed)
    backend = CPU
    p = params(kind, B, T, I, H, np.float64, rng, states=states)
    outs, cache = forward(backend, kind, *p)
    check_all(kind, outs, ref_forward(kind, *p), np.float64, f"{kind} {(B, T, I, H)} fwd")
    grads = out_grads(kind, B, T, H, np.float64, rng)
    check_all(kind, backward(backend, kind, grads, cache), ref_backward(kind, *p, grads), np.float64,
              f"{kind} {(B, T, I, H)} bwd")


# ------------------------------------------------------------------------------- gradient checks

@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_whole_sequence(backend, kind):
    """Finite differences in float64 for every input and weight, with dhs, dh_T (and dc_T) nonzero."""
    rng = np.random.default_rng(7)
    B, T, I, H = 3, 5, 4, 6
    x, st, kernel, recurrent, bias = params(kind, B, T, I, H, np.float64, rng)
    weights = out_grads(kind, B, T, H, np.float64, rng)  # the loss is sum(w * outputs)

    def loss(x, *rest):
        n = len(st)
        outs, _ = forward(backend, kind, x, list(rest[:n]), *rest[n:])
        return float(sum(np.sum(w * o) for w, o in zip(weights, outs)))

    inputs = [x, *st, kernel, recurrent, bias]
    _, cache = forward(backend, kind, x, st, kernel, recurrent, bias)
    grads = backward(backend, kind, weights, cache)
    gradcheck_fd(loss, inputs, list(grads))


@pytest.mark.parametrize("layout", ["contiguous", "fortran"])
def test_gradcheck_lstm_cell(backend, layout):
    rng = np.random.default_rng(3)
    B, I, H = 4, 5, 7
    x_t = make((B, I), np.float64, rng, layout)
    h, c = make((B, H), np.float64, rng), make((B, H), np.float64, rng)
    kernel = make((I, 4 * H), np.float64, rng, layout, scale=0.5)
    recurrent = make((H, 4 * H), np.float64, rng, layout, scale=0.5)
    bias = make((4 * H,), np.float64, rng)
    wh, wc = make((B, H), np.float64, rng), make((B, H), np.float64, rng)

    def loss(*args):
        h_new, c_new, _ = backend.call(K.lstm_cell_forward, *args)
        return float(np.sum(wh * h_new) + np.sum(wc * c_new))

    inputs = [x_t, h, c, kernel, recurrent, bias]
    _, _, cache = K.lstm_cell_forward(*backend.to(inputs))
    gradcheck_fd(loss, inputs, list(backend.back(K.lstm_cell_backward(*backend.to((wh, wc)), cache))))


# --------------------------------------------------------------------------------------- LSTM cell

@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_cell_is_sequence_of_one_step(backend, dtype, rng):
    for B, I, H in [(1, 1, 1), (7, 33, 13), (16, 8, 61)]:
        x_t = make((B, I), dtype, rng)
        h, c = make((B, H), dtype, rng), make((B, H), dtype, rng)
        kernel, recurrent = make((I, 4 * H), dtype, rng), make((H, 4 * H), dtype, rng)
        bias = make((4 * H,), dtype, rng)
        args = backend.to((x_t, h, c, kernel, recurrent, bias))
        h_new, c_new, cache = K.lstm_cell_forward(*args)
        hs, h_T, c_T, seq_cache = K.lstm_forward(args[0][:, None, :], *args[1:])
        h_new, c_new, hs, h_T, c_T = backend.back((h_new, c_new, hs, h_T, c_T))
        np.testing.assert_array_equal(h_new, h_T)
        np.testing.assert_array_equal(h_new, hs[:, 0])
        np.testing.assert_array_equal(c_new, c_T)
        _, rh, rc = ref.lstm_forward(x_t[:, None, :], h, c, kernel, recurrent, bias)
        assert_close(h_new, rh, dtype, what="cell h")
        assert_close(c_new, rc, dtype, what="cell c")
        dh, dc = make((B, H), dtype, rng), make((B, H), dtype, rng)
        cell = backend.back(K.lstm_cell_backward(*backend.to((dh, dc)), cache))
        seq = backend.back(K.lstm_backward(*backend.to((dh[:, None, :], None, dc)), seq_cache))
        assert cell[0].shape == (B, I)
        np.testing.assert_array_equal(cell[0], seq[0][:, 0])
        for a, b in zip(cell[1:], seq[1:]):
            assert_close(a, b, dtype, what="cell vs sequence backward")
        expect = ref.lstm_backward(x_t[:, None, :], h, c, kernel, recurrent, bias, None, dh, dc)
        assert_close(cell[0], expect[0][:, 0], dtype, what="cell dx")
        for name, a, b in zip(["dh", "dc", "dkernel", "drecurrent", "dbias"], cell[1:], expect[1:]):
            assert_close(a, b, dtype, what=f"cell {name}")


# ------------------------------------------------------------------------------------------ errors

def test_errors_lstm(backend):
    """The same call raises the same exception and message on every backend."""
    xp, f32 = backend.xp, np.float32
    x = xp.ones((2, 3, 4), f32)
    h = xp.zeros((2, 5), f32)
    k, r, b = xp.ones((4, 20), f32), xp.ones((5, 20), f32), xp.ones(20, f32)
    with raises(TypeError, "lstm_forward", "'x'", "float32 or float64", "int64"):
        K.lstm_forward(x.astype(np.int64), h, h, k, r, b)
    with raises(TypeError, "lstm_forward", "'kernel'", f"{backend.kind} array", "list"):
        K.lstm_forward(x, h, h, k.tolist(), r, b)
    with raises(TypeError, "lstm_forward", "float32", "float64"):
        K.lstm_forward(x, h, h, k.astype(np.float64), r, b)
    with raises(TypeError, "lstm_forward", "'h0'", "float64"):
        K.lstm_forward(x, h.astype(np.float64), h, k, r, b)
    with raises(ValueError, "lstm_forward", "'x'", "3-D", "(3, 4)"):
        K.lstm_forward(x[0], h, h, k, r, b)
    with raises(ValueError, "lstm_forward", "'kernel'", "(4, 20)", "(6, 20)", "(2, 3, 4)"):
        K.lstm_forward(x, h, h, xp.ones((6, 20), f32), r, b)
    with raises(ValueError, "lstm_forward", "'recurrent_kernel'", "(5, 20)", "(5, 16)"):
        K.lstm_forward(x, h, h, k, xp.ones((5, 16), f32), b)
    with raises(ValueError, "lstm_forward", "'kernel'", "(4, 24)", "(4, 20)"):
        K.lstm_forward(x, xp.zeros((2, 6), f32), None, k, xp.ones((6, 24), f32), xp.ones(24, f32))
    with raises(ValueError, "lstm_forward", "'bias'", "(20,)", "(16,)"):
        K.lstm_forward(x, h, h, k, r, xp.ones(16, f32))
    with raises(ValueError, "lstm_forward", "'h0'", "(2, 5)", "(3, 5)"):
        K.lstm_forward(x, xp.zeros((3, 5), f32), h, k, r, b)
    with raises(ValueError, "lstm_forward", "'c0'", "(2, 5)", "(2, 4)"):
        K.lstm_forward(x, h, xp.zeros((2, 4), f32), k, r, b)
    with raises(ValueError, "lstm_cell_forward", "'x_t'", "2-D", "(2, 3, 4)"):
        K.lstm_cell_forward(x, h, h, k, r, b)
    with raises(ValueError, "lstm_cell_forward", "'kernel'", "(7, 20)"):
        K.lstm_cell_forward(xp.ones((2, 7), f32), h, h, k, r, b)

    _, _, _, cache = K.lstm_forward(x, h, h, k, r, b)
    with raises(ValueError, "lstm_backward", "'dhs'", "(2, 3, 5)", "(2, 3, 4)"):
        K.lstm_backward(xp.ones((2, 3, 4), f32), None, None, cache)
    with raises(ValueError, "lstm_backward", "'dc_T'", "(2, 5)", "(5,)"):
        K.lstm_backward(None, None, xp.ones(5, f32), cache)
    with raises(TypeError, "lstm_backward", "'dh_T'", "float64"):
        K.lstm_backward(None, xp.ones((2, 5)), None, cache)
    with raises(TypeError, "lstm_backward", "cache"):
        K.lstm_backward(None, None, None, cache[:3])
    with raises(TypeError, "lstm_backward", "cache", "lstm_forward"):
        K.lstm_backward(None, None, None, tuple(cache))
    with raises(TypeError, "lstm_cell_backward", "cache"):
        K.lstm_cell_backward(None, None, "cache")
    _, _, gru_cache = K.gru_forward(x, h, xp.ones((4, 15), f32), xp.ones((5, 15), f32), xp.ones((2, 15), f32))
    with raises(TypeError, "lstm_backward", "cache", "lstm_forward"):
        K.lstm_backward(None, None, None, gru_cache)


def test_errors_gru_and_simple_rnn(backend):
    xp, f64 = backend.xp, np.float64
    x = xp.ones((2, 3, 4))
    h = xp.zeros((2, 5))
    with raises(ValueError, "gru_forward", "'bias'", "(2, 15)", "(15,)"):
        K.gru_forward(x, h, xp.ones((4, 15)), xp.ones((5, 15)), xp.ones(15))
    with raises(ValueError, "gru_forward", "'recurrent_kernel'", "(5, 15)", "(5, 20)"):
        K.gru_forward(x, h, xp.ones((4, 15)), xp.ones((5, 20)), xp.ones((2, 15)))
    with raises(TypeError, "gru_forward", "'x'", "int32"):
        K.gru_forward(x.astype(np.int32), h, xp.ones((4, 15)), xp.ones((5, 15)), xp.ones((2, 15)))
    with raises(ValueError, "simple_rnn_forward", "'kernel'", "(4, 5)", "(3, 5)"):
        K.simple_rnn_forward(x, h, xp.ones((3, 5)), xp.ones((5, 5)), xp.ones(5))
    with raises(ValueError, "simple_rnn_forward", "'h0'", "(2, 5)", "(2, 6)"):
        K.simple_rnn_forward(x, xp.zeros((2, 6)), xp.ones((4, 5)), xp.ones((5, 5)), xp.ones(5))
    with raises(TypeError, "simple_rnn_forward", "float32", "float64"):
        K.simple_rnn_forward(x, h, xp.ones((4, 5), np.float32), xp.ones((5, 5)), xp.ones(5))
    _, _, cache = K.gru_forward(x, h, xp.ones((4, 15), f64), xp.ones((5, 15)), xp.ones((2, 15)))
    with raises(ValueError, "gru_backward", "'dh_T'", "(2, 5)", "(2, 6)"):
        K.gru_backward(None, xp.ones((2, 6)), cache)
    _, _, cache = K.simple_rnn_forward(x, h, xp.ones((4, 5)), xp.ones((5, 5)), xp.ones(5))
    with raises(TypeError, "simple_rnn_backward", "cache"):
        K.simple_rnn_backward(None, None, cache + (x,))


def test_backward_on_another_backend_than_its_forward_raises(rng):
    """A cache is in its backend's layout: the C++ kernels' differs from dlcore._cuda's and the
    fallback's, so a backward elsewhere raises TypeError instead of reading the wrong arrays."""
    p = params("simple_rnn", 2, 3, 4, 5, np.float64, rng)
    _, _, cache = K.simple_rnn_forward(p[0], *p[1], *p[2:])
    grads = (make((2, 3, 5), np.float64, rng), None)
    with K.backend.use("fallback"):
        with raises(TypeError, "simple_rnn_backward", "cache", "another backend"):
            K.simple_rnn_backward(*grads, cache)
        _, _, fallback_cache = K.simple_rnn_forward(p[0], *p[1], *p[2:])
    with raises(TypeError, "simple_rnn_backward", "cache", "another backend"):
        K.simple_rnn_backward(*grads, fallback_cache)


def test_binding_safety_net():
    """The private bindings called directly with inconsistent arrays raise, never crash."""
    from dlcore import _C
    f = np.float32
    x = np.ones((2, 3, 4), f)
    h = np.zeros((2, 5), f)
    good = dict(k=np.ones((4, 20), f), r=np.ones((5, 20), f), b=np.ones(20, f))
    outs = [np.empty((2, 3, 5), f), np.empty((2, 3, 20), f), np.empty((2, 3, 5), f), np.empty((2, 3, 5), f)]
    _C.lstm_forward(x, h, h, good["k"], good["r"], good["b"], *outs)  # consistent: fine
    with pytest.raises(ValueError):
        _C.lstm_forward(x, h, h, np.ones((3, 20), f), good["r"], good["b"], *outs)
    with pytest.raises(ValueError):
        _C.lstm_forward(x, h, h, good["k"], good["r"], good["b"], np.empty((2, 3, 4), f), *outs[1:])
    with pytest.raises(ValueError):
        _C.lstm_forward(x, h, h, good["k"], good["r"], good["b"].astype(np.float64), *outs)
    with pytest.raises(ValueError):
        _C.lstm_forward(x[:, ::2], h, h, good["k"], good["r"], good["b"], *outs)
    ro = np.empty((2, 3, 5), f)
    ro.flags.writeable = False
    with pytest.raises(ValueError):
        _C.lstm_forward(x, h, h, good["k"], good["r"], good["b"], ro, *outs[1:])
    with pytest.raises(ValueError):
        _C.gru_forward(x, h, np.ones((4, 15), f), np.ones((5, 15), f), np.ones(15, f),
                       np.empty((2, 3, 5), f), np.empty((2, 3, 15), f), np.empty((2, 3, 5), f), np.empty((2, 3, 5), f))
    with pytest.raises(ValueError):
        _C.simple_rnn_backward(None, np.ones((3, 5), f), x, np.ones((4, 5), f), np.ones((5, 5), f),
                               np.ones((2, 3, 5), f), np.ones((2, 3, 5), f), np.empty((2, 3, 4), f),
                               np.empty((2, 5), f), np.empty((4, 5), f), np.empty((5, 5), f), np.empty(5, f))
