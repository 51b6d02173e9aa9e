"""GEMM against the float64 reference on every backend: shapes, transposes, strides, alpha/beta, epilogue,
errors (the same on every backend); TF32 on the GPU."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dlcore
from dlcore import kernels as K
from harness import DTYPES, LAYOUTS, assert_close, make, raises
import reference as ref

TRANSPOSES = list(itertools.product([False, True], repeat=2))


def operands(m, n, k, ta, tb, dtype, rng, layout="contiguous"):
    a = make((k, m) if ta else (m, k), dtype, rng, layout)
    b = make((n, k) if tb else (k, n), dtype, rng, layout)
    return a, b


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ta,tb", TRANSPOSES)
def test_odd_shapes(backend, dtype, ta, tb, rng):
    # every size around the register tiles (MR up to 8, NR up to 32) and SIMD widths, in each dim
    sizes = [1, 5, 8, 15, 17, 33, 61]
    for m, n, k in itertools.product(sizes, sizes, [1, 7, 64, 97]):
        a, b = operands(m, n, k, ta, tb, dtype, rng)
        got = K.gemm(*backend.to((a, b)), trans_a=ta, trans_b=tb)
        assert_close(got, ref.gemm(a, b, ta, tb), dtype, what=f"{backend.name} gemm {m}x{n}x{k} ta={ta} tb={tb}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts(backend, dtype, layout, rng):
    for (m, n, k), (ta, tb) in itertools.product([(13, 47, 31), (64, 33, 97)], TRANSPOSES):
        a, b = operands(m, n, k, ta, tb, dtype, rng, layout)
        got = K.gemm(*backend.to((a, b)), trans_a=ta, trans_b=tb)
        assert_close(got, ref.gemm(a, b, ta, tb), dtype, what=f"{layout} {m}x{n}x{k}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_alpha_beta(backend, dtype, rng):
    # (37, 41, 53): tiles down each column panel; (37, 300, 5): a shallow K, row panel by row panel
    for (m, n, k), (alpha, beta) in itertools.product([(37, 41, 53), (37, 300, 5)],
                                                      [(1.0, 1.0), (0.5, -2.0), (-1.5, 0.0), (2.0, 0.25)]):
        a, b = operands(m, n, k, False, True, dtype, rng)
        c = make((m, n), dtype, rng)
        expect = ref.gemm(a, b, False, True, alpha, beta, c)
        a, b, c = backend.to((a, b, c))
        got = K.gemm(a, b, trans_b=True, alpha=alpha, beta=beta, out=c)
        assert got is c
        assert_close(c, expect, dtype, what=f"{m}x{n}x{k} alpha={alpha} beta={beta}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_beta_zero_never_reads_out(backend, dtype, rng):
    a, b = operands(29, 67, 40, False, False, dtype, rng)
    out = backend.xp.full((29, 67), np.nan, dtype=dtype)
    K.gemm(*backend.to((a, b)), out=out, beta=0.0)
    assert_close(out, ref.gemm(a, b), dtype, what="NaN-filled out, beta=0")


def test_alpha_zero_does_not_read_inputs(backend):
    xp = backend.xp
    a = xp.full((5, 3), np.nan, np.float32)
    b = xp.full((3, 4), np.inf, np.float32)
    out = xp.ones((5, 4), np.float32)
    K.gemm(a, b, alpha=0.0, beta=2.0, out=out)
    np.testing.assert_array_equal(backend.back(out), 2.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_sizes(backend, dtype):
    xp = backend.xp
    for m, n, k in [(0, 5, 3), (4, 0, 3), (0, 0, 0), (6, 5, 0)]:
        got = K.gemm(xp.ones((m, k), dtype), xp.ones((k, n), dtype))
        assert got.shape == (m, n)
        np.testing.assert_array_equal(backend.back(got), 0.0)
    out = xp.full((3, 2), 4.0, dtype)
    K.gemm(xp.ones((3, 0), dtype), xp.ones((0, 2), dtype), beta=0.5, out=out)
    np.testing.assert_array_equal(backend.back(out), 2.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh"])
def test_bias_activation_epilogue(backend, dtype, activation, rng):
    for m, n, k in [(1, 1, 1), (33, 17, 61), (130, 70, 300)]:
        a, b = operands(m, n, k, False, False, dtype, rng)
        bias = make((n,), dtype, rng)
        got = K.gemm(*backend.to((a, b)), bias=backend.to(bias), activation=activation)
        assert_close(got, ref.gemm(a, b, bias=bias, activation=activation), dtype,
                     what=f"epilogue {activation} {m}x{n}x{k}")


def test_large(backend, rng):
    m, n, k = 2049, 1031, 777
    a, b = operands(m, n, k, False, False, np.float32, rng)
    got = backend.call(K.gemm, a, b)
    # BLIS's cheap check on the whole product: C x == A (B x) for a random vector x
    x = rng.standard_normal(n)
    assert_close(got.astype(np.float64) @ x, a.astype(np.float64) @ (b.astype(np.float64) @ x),
                 np.float32, what="large gemm, C x vs A (B x)")
    rows = rng.choice(m, 64, replace=False)
    assert_close(got[rows], ref.gemm(a[rows], b), np.float32, what="large gemm, sampled rows")


# The GEMM picks one of three drivers by shape and layout (csrc/cpu/gemm/gemm.cpp): dot products for
# a narrow C with row-major A, B read in place for row-major B and few rows, B packed otherwise. The
# tests below reach each driver's edges, with one thread and with several.

@pytest.mark.parametrize("dtype", DTYPES)
def test_dot_path_edges(backend, dtype, rng):
    # n <= 16, row-major A, k >= 16: every column count 1..16 (full and partial groups of 4),
    # rows around the dot kernel's tile (2 or 4), k around the vector widths (masked tail); a C
    # exactly one tile panel wide (float32 n = 16) goes to driver 2 instead (test_one_panel_...)
    for m, n, k in itertools.product([1, 3, 4, 5, 13], [1, 2, 3, 4, 5, 10, 15, 16], [16, 17, 31, 100]):
        a, b = operands(m, n, k, False, False, dtype, rng)
        what = f"{backend.name} {m}x{n}x{k}"
        assert_close(K.gemm(*backend.to((a, b))), ref.gemm(a, b), dtype, what=f"dot path {what}")
        a_t = make((k, m), dtype, rng)  # trans_a: A is not row-major, so not the dot path
        assert_close(K.gemm(*backend.to((a_t, b)), trans_a=True), ref.gemm(a_t, b, True), dtype,
                     what=f"narrow {what} ta")


@pytest.mark.parametrize("dtype", DTYPES)
def test_dot_path_alpha_beta_epilogue(backend, dtype, rng):
    a, b = operands(29, 10, 70, False, True, dtype, rng)
    for alpha, beta in [(1.0, 1.0), (-0.5, 2.0), (2.0, 0.0)]:
        c = make((29, 10), dtype, rng)
        expect = ref.gemm(a, b, False, True, alpha, beta, c)
        c = backend.to(c)
        K.gemm(*backend.to((a, b)), trans_b=True, alpha=alpha, beta=beta, out=c)
        assert_close(c, expect, dtype, what=f"dot path alpha={alpha} beta={beta}")
    bias = make((10,), dtype, rng)
    for activation in [None, "relu", "tanh"]:
        assert_close(backend.call(K.gemm, a, b, trans_b=True, bias=bias, activation=activation),
                     ref.gemm(a, b, False, True, bias=bias, activation=activation), dtype,
                     what=f"dot path epilogue {activation}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_b_in_place_strides(backend, dtype, rng):
    # row-major B read where it lies: a row stride longer than n, a negative one, and column counts
    # around the tile width (the narrower last panel is packed)
    for m, n, k in [(7, 33, 50), (37, 64, 19), (9, 97, 130)]:
        a = make((m, k), dtype, rng)
        wide = make((k, n + 11), dtype, rng)
        a_d, wide_d = backend.to((a, wide))
        for view in (lambda w: w[:, 3:3 + n], lambda w: w[::-1, :n], lambda w: w[::2, :n][: k // 2]):
            b, b_d = view(wide), view(wide_d)
            assert_close(K.gemm(a_d[:, : b.shape[0]], b_d), ref.gemm(a[:, : b.shape[0]], b), dtype,
                         what=f"{backend.name} B in place {b.shape} strides {b.strides}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_b_in_place_small_and_vector_edges(backend, dtype, rng):
    # driver 2's small problems read A's rows in place (row-major A, A and B within L1, one K block),
    # and a last panel exactly one vector wide (float32: n = 48, 80 with NR = 32; float64: 24, 40)
    # is read in place too; rows around the tile heights, beta, a strided C and the epilogue;
    # trans_a (A packed) and a deep K (several K blocks) take the packing path with the same edges
    for (m, k), n in itertools.product([(1, 1), (5, 7), (13, 48), (48, 48), (50, 3), (30, 40), (9, 1100)],
                                       [24, 40, 48, 80]):
        a, b = operands(m, n, k, False, False, dtype, rng)
        what = f"{backend.name} {m}x{n}x{k}"
        assert_close(backend.call(K.gemm, a, b), ref.gemm(a, b), dtype, what=what)
        c = make((m, n + 5), dtype, rng)[:, 2:2 + n]
        expect = ref.gemm(a, b, False, False, -1.5, 0.5, c)
        c_d = backend.to(c)
        K.gemm(*backend.to((a, b)), alpha=-1.5, beta=0.5, out=c_d)
        assert_close(c_d, expect, dtype, what=f"{what} alpha, beta, strided C")
        bias = make((n,), dtype, rng)
        assert_close(backend.call(K.gemm, a, b, bias=bias, activation="relu"),
                     ref.gemm(a, b, bias=bias, activation="relu"), dtype, what=f"{what} epilogue")
        a_t = make((k, m), dtype, rng)
        assert_close(backend.call(K.gemm, a_t, b, trans_a=True), ref.gemm(a_t, b, True), dtype, what=f"{what} ta")


@pytest.mark.parametrize("dtype", DTYPES)
def test_driver_threads(isa, dtype, rng):
    # problems big enough to use every thread, one per driver and split direction
    shapes = [(300, 13, 700, False, False),   # dot products, threads split rows
              (40, 300, 400, False, False),   # B in place, threads split rows
              (40, 111, 1100, False, False),  # the same, K in blocks: the edge panel packed once, read per block
              (40, 700, 1000, False, False),  # B in place beyond L2, a few row panels: threads split columns
              (96, 95, 64, False, False),     # A and B in L1 (A read in place) beside the shared edge panel
              (40, 290, 700, False, False),   # the last two columns by dot products, one more task
              (129, 129, 129, False, False),  # the same, one column and a one-row panel
              (8, 700, 500, False, False),    # B in place, one row panel: threads split columns
              (900, 45, 300, False, False),   # B packed, a small call: each thread its rows, B packed by each
              (130, 333, 200, False, True),   # the same by columns (m <= n), each thread packing all of A
              (517, 70, 90, True, True),      # by rows, both transposed, a last row block of 5 rows
              (2100, 300, 400, False, True),  # many row blocks: B packed once, shared by the threads
              (3000, 40, 9, False, False),    # the same, a few blocks to a task (K = 9: an im2col GEMM)
              (1000, 16, 300, False, False),  # one full column panel, one K block: A read in place, any m
              (200, 24, 300, False, False),   # one narrower panel (packed, shared by the row blocks), A in place
              (40, 200, 600, False, True),    # B transposed: packed, few rows: threads share one A block
              (700, 300, 200, True, False),   # A transposed
              (1, 300, 1100, False, False),   # row-vector kernel, threads split K (each sums its own rows)
              (3, 70, 2000, True, False),     # the same, A transposed, n not a multiple of the vector
              (4, 37, 300, False, False),     # row-vector kernel, K too short to split: threads split columns
              (70, 1030, 4, False, False),    # a shallow K: tiles row panel by row panel, C rows ~4 KiB apart
              (300, 1024, 3, True, False)]    # the same, B packed, A transposed
    before = dlcore.get_num_threads()
    try:
        for threads in (1, 2, 3):
            dlcore.set_num_threads(threads)
            for m, n, k, ta, tb in shapes:
                a, b = operands(m, n, k, ta, tb, dtype, rng)
                bias = make((n,), dtype, rng)
                assert_close(K.gemm(a, b, trans_a=ta, trans_b=tb, bias=bias, activation="relu"),
                             ref.gemm(a, b, ta, tb, bias=bias, activation="relu"), dtype,
                             what=f"{isa} {threads} threads {m}x{n}x{k} ta={ta} tb={tb}")
    finally:
        dlcore.set_num_threads(before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_panel_reads_a_in_place(isa, dtype, rng):
    # a C as wide as one panel of the tile kernel (n = 16 on AVX-512) with row-major A and K one
    # block: driver 2 reads A's rows in place at any m, where narrower Cs take the dot driver. A deep K,
    # or A's rows 4 KiB apart (one L1 set for all of a tile's rows), stay with the dot driver
    plan = lambda m, n, k: dlcore._C.gemm_plan(m, n, k, False, False, np.dtype(dtype).name, 1)
    n = next(w for w in (16, 8, 4) if plan(4096, w, 256)["driver"] == "b_in_place")  # the widest such C
    assert plan(256, n, 64)["driver"] == "b_in_place" and plan(4096, n, 256)["driver"] == "b_in_place"
    if isa != "generic":  # (the portable kernel table has no dot kernels)
        assert plan(256, n - 1, 64)["driver"] == "dot"
        assert plan(1024, n, 4096)["driver"] == "dot"
    before = dlcore.get_num_threads()
    try:
        for threads in (1, 2):
            dlcore.set_num_threads(threads)
            for m, k, lda in [(1, 16, 16), (17, 64, 64), (300, 200, 200), (257, 300, 1024), (100, 100, 2048),
                              (64, 512, 512)]:
                a = make((m, lda), dtype, rng)[:, :k]
                b = make((k, n), dtype, rng)
                c = make((m, n), dtype, rng)
                expect = ref.gemm(a, b, False, False, 0.5, -1.0, c)
                K.gemm(a, b, alpha=0.5, beta=-1.0, out=c)
                assert_close(c, expect, dtype, what=f"{isa} {threads} threads {m}x{n}x{k} lda {lda}")
                bias = make((n,), dtype, rng)
                assert_close(K.gemm(a, b, bias=bias, activation="sigmoid"),
                             ref.gemm(a, b, bias=bias, activation="sigmoid"), dtype, what=f"{m}x{n}x{k} epilogue")
    finally:
        dlcore.set_num_threads(before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rowvec_split_k_alpha_beta(dtype, rng):
    # a few rows of A over a deep row-major B: the threads sum their shares of K into buffers of their
    # own, and C := beta C + alpha (their sum) is formed once, with the epilogue after it
    before = dlcore.get_num_threads()
    try:
        for threads in (1, 2, 3):
            dlcore.set_num_threads(threads)
            for m, n, k in [(1, 129, 513), (2, 64, 4099), (4, 17, 1024)]:
                a, b = operands(m, n, k, False, False, dtype, rng)
                for alpha, beta in [(1.0, 0.0), (-0.5, 2.0), (2.0, 1.0)]:
                    c = make((m, n), dtype, rng)
                    expect = ref.gemm(a, b, False, False, alpha, beta, c)
                    K.gemm(a, b, alpha=alpha, beta=beta, out=c)
                    assert_close(c, expect, dtype, what=f"{threads} threads {m}x{n}x{k} alpha={alpha} beta={beta}")
                bias = make((n,), dtype, rng)
                assert_close(K.gemm(a, b, bias=bias, activation="tanh"),
                             ref.gemm(a, b, bias=bias, activation="tanh"), dtype,
                             what=f"{threads} threads {m}x{n}x{k} epilogue")
    finally:
        dlcore.set_num_threads(before)


def test_threads_agree(rng):
    a, b = operands(300, 200, 150, False, False, np.float32, rng)
    before = dlcore.get_num_threads()
    try:
        dlcore.set_num_threads(1)
        one = K.gemm(a, b)
        dlcore.set_num_threads(2)
        two = K.gemm(a, b)
    finally:
        dlcore.set_num_threads(before)
    assert_close(one, ref.gemm(a, b), np.float32)
    assert_close(two, ref.gemm(a, b), np.float32)


def test_out_aliasing_input_is_safe(backend, rng):
    a = make((16, 16), np.float32, rng)
    expect = ref.gemm(a, a)
    a = backend.to(a)
    K.gemm(a, a.copy(), out=a)
    assert_close(a, expect, np.float32, what="out is a")


def test_out_non_contiguous(backend, rng):
    a, b = operands(9, 11, 13, False, False, np.float64, rng)
    big = backend.xp.zeros((9, 22))
    out = big[:, ::2]
    K.gemm(*backend.to((a, b)), out=out)
    assert_close(out, ref.gemm(a, b), np.float64)
    assert np.all(backend.back(big)[:, 1::2] == 0.0), "wrote outside the view"


@settings(max_examples=60, deadline=None)
@given(m=st.integers(0, 70), n=st.integers(0, 70), k=st.integers(0, 70), ta=st.booleans(), tb=st.booleans(),
       alpha=st.floats(-2, 2), beta=st.sampled_from([0.0, 1.0, -0.5]), seed=st.integers(0, 2**31))
def test_property_matches_reference(m, n, k, ta, tb, alpha, beta, seed):
    rng = np.random.default_rng(seed)
    a, b = operands(m, n, k, ta, tb, np.float64, rng)
    c = make((m, n), np.float64, rng)
    expect = ref.gemm(a, b, ta, tb, alpha, beta, c)
    K.gemm(a, b, trans_a=ta, trans_b=tb, alpha=alpha, beta=beta, out=c)
    assert_close(c, expect, np.float64)


# ----------------------------------------------------------------------------------- errors

def test_errors(backend):
    """The same call raises the same exception and message on every backend."""
    xp = backend.xp
    f32 = xp.ones((3, 4), np.float32)
    with raises(TypeError, "gemm", "float32 or float64", "int64"):
        K.gemm(xp.ones((3, 4), np.int64), f32.T)
    with raises(TypeError, "gemm", f"{backend.kind} array", "list"):
        K.gemm([[1.0]], f32)
    with raises(TypeError, "gemm", "float32", "float64"):
        K.gemm(f32, xp.ones((4, 2), np.float64))
    with raises(ValueError, "gemm", "2-D", "(3,)"):
        K.gemm(xp.ones(3, np.float32), f32)
    with raises(ValueError, "gemm", "inner dimensions", "(3, 4)", "(5, 2)"):
        K.gemm(f32, xp.ones((5, 2), np.float32))
    with raises(ValueError, "gemm", "out", "(3, 2)", "(2, 3)"):
        K.gemm(f32, xp.ones((4, 2), np.float32), out=xp.empty((2, 3), np.float32))
    with raises(TypeError, "gemm", "out", "float64"):
        K.gemm(f32, xp.ones((4, 2), np.float32), out=xp.empty((3, 2), np.float64))
    with raises(ValueError, "gemm", "bias", "(2,)", "(3,)"):
        K.gemm(f32, xp.ones((4, 2), np.float32), bias=xp.ones(3, np.float32))
    with raises(ValueError, "gemm", "activation", "'softmax'"):
        K.gemm(f32, xp.ones((4, 2), np.float32), activation="softmax")
    if not backend.gpu:  # CuPy arrays have no read-only flag
        ro = np.empty((3, 2), np.float32)
        ro.flags.writeable = False
        with raises(ValueError, "gemm", "read-only"):
            K.gemm(f32, np.ones((4, 2), np.float32), out=ro)


def test_mixed_numpy_and_cupy_arrays_raise(gpu_backend):
    a = gpu_backend.xp.ones((3, 4), np.float32)
    with raises(TypeError, "gemm", "'b'", "NumPy", "one device"):
        K.gemm(a, np.ones((4, 2), np.float32))
    with raises(TypeError, "gemm", "'out'", "NumPy"):
        K.gemm(a, a.T, out=np.empty((3, 3), np.float32))


# TF32 rounds both GEMM inputs to 10 explicit mantissa bits (unit roundoff u = 2^-11 = 4.9e-4); a
# product carries at most ~2u relative error and the norm-wise error of a sum of many is ~sqrt(2) u.
TF32_TOL = 2e-3


@pytest.mark.parametrize("ta,tb", TRANSPOSES)
def test_tf32(gpu_backend, ta, tb, rng):
    """float32 GEMMs on TF32 tensor cores (dlcore's kernel, or cuBLAS under the fallback): the TF32
    bound, and the exact bound again once switched off."""
    backend = gpu_backend
    K.set_tf32(True)
    try:
        for m, n, k in [(1, 1, 1), (130, 70, 33), (256, 256, 512)]:
            a, b = operands(m, n, k, ta, tb, np.float32, rng)
            bias = make((n,), np.float32, rng)
            got = backend.call(K.gemm, a, b, ta, tb, bias=bias, activation="relu")
            assert_close(got, ref.gemm(a, b, ta, tb, bias=bias, activation="relu"), np.float32, tol=TF32_TOL,
                         what=f"tf32 epilogue {m}x{n}x{k}")
            assert_close(backend.call(K.gemm, a, b, ta, tb), ref.gemm(a, b, ta, tb), np.float32, tol=TF32_TOL,
                         what=f"tf32 {m}x{n}x{k}")
    finally:
        K.set_tf32(False)
    a, b = operands(256, 256, 512, ta, tb, np.float32, rng)
    assert_close(backend.call(K.gemm, a, b, ta, tb), ref.gemm(a, b, ta, tb), np.float32, what="tf32 off")


def test_binding_safety_net():
    """Calling the private binding directly with bad arguments raises, never crashes."""
    from dlcore import _C
    f32 = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError):
        _C.gemm(f32, np.ones((5, 2), np.float32), np.empty((3, 2), np.float32))
    with pytest.raises(ValueError):
        _C.gemm(f32, np.ones((4, 2), np.float32), np.empty((2, 2), np.float32))
    with pytest.raises(ValueError):
        _C.gemm(f32, np.ones((4, 2), np.float64), np.empty((3, 2), np.float32))



@pytest.mark.parametrize("dtype", DTYPES)
def test_binding_fast_path_takes_plain_calls_only(dtype, rng):
    """_C.gemm_fast (the wrapper's fast path) runs a plain call and returns its output; for anything the
    wrapper must check first it returns None and leaves `out` untouched."""
    from dlcore import _C
    a, b = make((5, 7), dtype, rng), make((7, 3), dtype, rng)
    got = _C.gemm_fast(a, b, None, False, False, 1.0, 0.0)
    assert got.dtype == dtype and got.shape == (5, 3) and got.flags.c_contiguous
    assert_close(got, ref.gemm(a, b), dtype)
    for ta, tb in TRANSPOSES:   # transposes, reversed and strided operands: taken, and right
        x = make((7, 10), dtype, rng)[::-1, ::2] if ta else make((5, 14), dtype, rng)[:, ::-2]
        y = make((3, 7), dtype, rng)[::-1] if tb else make((7, 3), dtype, rng)[::-1, ::-1]
        c = make((5, 3), dtype, rng)
        expect = ref.gemm(x, y, ta, tb, 0.5, -1.0, c)
        assert _C.gemm_fast(x, y, c, ta, tb, 0.5, -1.0) is c
        assert_close(c, expect, dtype)
    assert _C.gemm_fast(a[:0], b, None, False, False, 1.0, 0.0).shape == (0, 3)
    bias = make((3,), dtype, rng)
    for name, code in K.GEMM_ACTIVATIONS.items():   # the fused epilogue: taken, and right
        got = _C.gemm_fast(a, b, None, False, False, 1.0, 0.0, bias, code)
        assert_close(got, ref.gemm(a, b, bias=bias, activation=name), dtype, what=f"epilogue {name}")
    with pytest.raises(ValueError, match="act"):
        _C.gemm_fast(a, b, None, False, False, 1.0, 0.0, bias, 99)
    with pytest.raises(TypeError, match="7 to 9 arguments"):
        _C.gemm_fast(a, b, None)
    with pytest.raises(TypeError):
        _C.gemm_fast(a, b, None, False, False, 1.0, 0.0, bias, "relu")
    other = np.float64 if dtype == np.float32 else np.float32
    out = np.full((5, 3), 7.0, dtype)
    read_only = out.copy()
    read_only.flags.writeable = False
    item = np.dtype(dtype).itemsize
    odd_strides = np.lib.stride_tricks.as_strided(np.zeros(64, dtype), (5, 7), (7 * item + 2, item))
    buf = np.zeros(60, dtype)
    declined = {
        "a's dtype differs": (a.astype(other), b, out),
        "b's dtype differs": (a, b.astype(other), out),
        "out's dtype differs": (a, b, out.astype(other)),
        "not native byte order": (a.astype(np.dtype(dtype).newbyteorder()), b, out),
        "not float": (a.astype(np.int64), b, out),
        "inner dimensions differ": (a, make((6, 3), dtype, rng), out),
        "out of the wrong shape": (a, b, np.full((3, 5), 7.0, dtype)),
        "out not contiguous": (a, b, np.full((5, 6), 7.0, dtype)[:, ::2]),
        "out read-only": (a, b, read_only),
        "not 2-D": (a[None], b, out),
        "strides of part of an element": (odd_strides, b, out),
        "out overlaps a": (buf[:35].reshape(5, 7), b, buf[30:45].reshape(5, 3)),
        "out overlaps b": (a, buf[:21].reshape(7, 3), buf[20:35].reshape(5, 3)),
        "bias's dtype differs": (a, b, out, bias.astype(other)),
        "bias of the wrong shape": (a, b, out, make((4,), dtype, rng)),
        "bias not contiguous": (a, b, out, make((6,), dtype, rng)[::2]),
        "bias not 1-D": (a, b, out, bias[None]),
        "bias not an array": (a, b, out, [1.0, 2.0, 3.0]),
        "out overlaps bias": (a, b, buf[40:55].reshape(5, 3), buf[50:53]),
    }
    for why, (x, y, o, *bb) in declined.items():
        before = o.copy()
        assert _C.gemm_fast(x, y, o, False, False, 1.0, 0.0, *bb) is None, why
        assert np.array_equal(o, before), why
    for why, args in {"trans_a not a bool": (1, False, 1.0, 0.0),
                      "trans_b not a bool": (False, np.bool_(True), 1.0, 0.0),
                      "alpha a NumPy number": (False, False, np.float32(0.5), 0.0),
                      "beta a float subclass": (False, False, 1.0, np.float64(0.0)),
                      "alpha beyond a double": (False, False, 10 ** 400, 0.0)}.items():
        assert _C.gemm_fast(a, b, out, *args) is None, why
    assert _C.gemm_fast(a, b, out.view(np.memmap), False, False, 1.0, 0.0) is None      # an ndarray subclass
    assert np.array_equal(out, np.full((5, 3), 7.0, dtype))
    c = make((5, 3), dtype, rng)   # and the wrapper takes them the long way, with the same result
    expect = ref.gemm(a.T.copy(), b, True, False, 0.5, 1.0, c)
    assert_close(K.gemm(a.T.copy(), b, trans_a=1, alpha=np.float32(0.5), beta=np.float64(1.0), out=c), expect, dtype)
    x, y = buf[:35].reshape(5, 7), buf[35:56].reshape(7, 3)   # the wrapper's full path handles the overlap
    x[...], y[...] = a, b
    assert_close(K.gemm(x, y, out=buf[30:45].reshape(5, 3)), ref.gemm(a, b), dtype)
    x[...], y[...], buf[57:60] = a, b, bias      # and an output over its bias
    assert_close(K.gemm(x, y, bias=buf[57:60], activation="tanh", out=buf[45:60].reshape(5, 3)),
                 ref.gemm(a, b, bias=bias, activation="tanh"), dtype)
