"""Activations and softmax against the float64 references on every backend: odd and empty shapes,
strided inputs, large |x|, in place, finite-difference gradients, errors (the same on every
backend); the CPU's threads, streaming stores and the measured error of its vector exp/tanh."""
import math

import numpy as np
import pytest

import dlcore
from dlcore import _C
from dlcore import kernels as K
from harness import DTYPES, LAYOUTS, ODD_SIZES, assert_allclose, gradcheck_fd, make, raises
import reference as ref

# name -> (forward, backward, reference f, reference f', backward takes "x" or "y", keyword args)
ACTS = {
    "relu": (K.relu_forward, K.relu_backward, ref.relu, ref.relu_grad, "y", {}),
    "leaky_relu": (K.leaky_relu_forward, K.leaky_relu_backward, ref.leaky_relu, ref.leaky_relu_grad, "x",
                   {"negative_slope": 0.1}),
    "elu": (K.elu_forward, K.elu_backward, ref.elu, ref.elu_grad, "x", {"alpha": 1.3}),
    "gelu": (K.gelu_forward, K.gelu_backward, ref.gelu, ref.gelu_grad, "x", {}),
    "gelu_tanh": (K.gelu_forward, K.gelu_backward, ref.gelu, ref.gelu_grad, "x", {"approximate": True}),
    "sigmoid": (K.sigmoid_forward, K.sigmoid_backward, ref.sigmoid, ref.sigmoid_grad, "y", {}),
    "tanh": (K.tanh_forward, K.tanh_backward, ref.tanh, ref.tanh_grad, "y", {}),
    "softplus": (K.softplus_forward, K.softplus_backward, ref.softplus, ref.softplus_grad, "x", {}),
    "silu": (K.silu_forward, K.silu_backward, ref.silu, ref.silu_grad, "x", {}),
}
REF_KW = {"negative_slope": "slope"}


def ref_forward(name, x):
    _, _, f, _, _, kw = ACTS[name]
    return f(x, **{REF_KW.get(k, k): v for k, v in kw.items()})


def ref_backward(name, dy, x, y):
    """dy * f'(.), from the same operand the kernel gets: the output y for relu/sigmoid/tanh."""
    _, _, _, fp, takes, kw = ACTS[name]
    dy, y64 = ref.f64(dy), ref.f64(y)
    if name == "relu":
        return dy * (y64 > 0)
    if name == "sigmoid":
        return dy * y64 * (1.0 - y64)
    if name == "tanh":
        return dy * (1.0 - y64 * y64)
    return dy * fp(x, **{REF_KW.get(k, k): v for k, v in kw.items()})


def run_forward(be, name, x):
    """The forward kernel of `name` on backend `be`, its result back in NumPy."""
    fwd, kw = ACTS[name][0], ACTS[name][5]
    return be.call(fwd, x, **kw)


def run_backward(be, name, dy, x, y):
    """The backward kernel of `name` on backend `be`, from the output y or the input x."""
    _, bwd, _, _, takes, kw = ACTS[name]
    return be.call(bwd, dy, y if takes == "y" else x, **kw)


SHAPES = [(n,) for n in ODD_SIZES] + [(0,), (3, 0), (5, 7), (2, 3, 17), (4, 33, 3)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTS)
def test_forward_backward_odd_shapes(backend, dtype, name, rng):
    for shape in SHAPES:
        x = make(shape, dtype, rng, scale=3.0)
        y = run_forward(backend, name, x)
        assert y.shape == x.shape and y.dtype == x.dtype
        assert_allclose(y, ref_forward(name, x), dtype, what=f"{backend.name} {name} forward {shape}")
        dy = make(shape, dtype, rng)
        dx = run_backward(backend, name, dy, x, y)
        assert dx.shape == x.shape and dx.dtype == x.dtype
        assert_allclose(dx, ref_backward(name, dy, x, y), dtype, what=f"{backend.name} {name} backward {shape}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", ACTS)
def test_layouts(backend, dtype, layout, name, rng):
    x = make((13, 37), dtype, rng, layout, scale=3.0)
    y = run_forward(backend, name, x)
    assert_allclose(y, ref_forward(name, x), dtype, what=f"{layout} {name} forward")
    dy = make((13, 37), dtype, rng, layout)
    assert_allclose(run_backward(backend, name, dy, x, y), ref_backward(name, dy, x, y), dtype,
                    what=f"{layout} {name} backward")


@pytest.mark.parametrize("name", ACTS)
def test_dense_grid_float32(backend, name):
    """Every float32 value on a dense grid of [-30, 30] within the elementwise tolerance."""
    x = np.linspace(-30, 30, 200_003, dtype=np.float32)
    y = run_forward(backend, name, x)
    assert_allclose(y, ref_forward(name, x), np.float32, what=f"{backend.name} {name} grid forward")
    dy = np.ones_like(x)
    assert_allclose(run_backward(backend, name, dy, x, y), ref_backward(name, dy, x, y), np.float32,
                    what=f"{backend.name} {name} grid backward")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTS)
def test_large_magnitudes(backend, dtype, name):
    x = np.array([-1e30, -1e4, -500, -100, -88.5, -87.5, -50, -20, -1e-30, 0, 1e-30, 20, 50, 87.5, 88.5, 100,
                  500, 1e4, 1e30], dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        expect = ref_forward(name, x)
    y = run_forward(backend, name, x)
    assert np.all(np.isfinite(y)), f"{name}: {y}"
    assert_allclose(y, expect, dtype, what=f"{backend.name} {name} large |x|")
    dx = run_backward(backend, name, np.ones_like(x), x, y)
    assert np.all(np.isfinite(dx)), f"{name} backward: {dx}"
    if ACTS[name][4] == "x":
        with np.errstate(over="ignore", invalid="ignore"):
            assert_allclose(dx, ref_backward(name, np.ones_like(x), x, y), dtype,
                            what=f"{backend.name} {name}' large |x|")


def test_named_values(backend):
    f32 = np.float32

    def run(f, v, **kw):
        return backend.call(f, np.array(v, f32), **kw)
    assert run(K.sigmoid_forward, [100.0])[0] == 1.0
    assert 0.0 <= run(K.sigmoid_forward, [-100.0])[0] < 1e-40
    assert run(K.softplus_forward, [100.0])[0] == 100.0
    assert run(K.tanh_forward, [1e4])[0] == 1.0 and run(K.tanh_forward, [-1e4])[0] == -1.0
    np.testing.assert_array_equal(run(K.softmax_forward, [[1000.0, 0.0]]), [[1.0, 0.0]])
    np.testing.assert_array_equal(run(K.log_softmax_forward, [[1000.0, 0.0]]), [[0.0, -1000.0]])
    np.testing.assert_array_equal(run(K.softmax_forward, [[-1000.0, -1000.0]]), [[0.5, 0.5]])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTS)
def test_in_place_and_out(backend, dtype, name, rng):
    fwd, bwd, _, _, takes, kw = ACTS[name]
    x = make((61,), dtype, rng, scale=3.0)
    expect = ref_forward(name, x)
    x0 = x.copy()
    xd = backend.to(x)
    out = fwd(xd, out=xd, **kw)
    assert out is xd
    assert_allclose(xd, expect, dtype, what=f"{name} in place")
    y = backend.back(xd)
    dy = make((61,), dtype, rng)
    expect_dx = ref_backward(name, dy, x0, y)
    dyd = backend.to(dy)
    got = bwd(dyd, backend.to(y if takes == "y" else x0), out=dyd, **kw)
    assert got is dyd
    assert_allclose(dyd, expect_dx, dtype, what=f"{name} backward in place")
    # a strided out view: only its elements are written
    big = backend.xp.zeros(122, dtype)
    fwd(backend.to(x0), out=big[::2], **kw)
    assert_allclose(big[::2], expect, dtype)
    assert np.all(backend.back(big)[1::2] == 0)
    # an out that overlaps the input without being it is computed aside
    buf = backend.to(make((62,), dtype, rng, scale=3.0))
    src = backend.back(buf[:-1]).copy()
    fwd(buf[:-1], out=buf[1:], **kw)
    assert_allclose(buf[1:], ref_forward(name, src), dtype, what=f"{name} overlapping out")


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "gelu", "silu"])
def test_threads_agree(name, rng):
    fwd, kw = ACTS[name][0], ACTS[name][5]
    x = make((300_001,), np.float32, rng, scale=3.0)  # above the 64K-element threading threshold
    before = dlcore.get_num_threads()
    try:
        dlcore.set_num_threads(1)
        one = fwd(x, **kw)
        dlcore.set_num_threads(2)
        two = fwd(x, **kw)
    finally:
        dlcore.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
    assert_allclose(two, ref_forward(name, x), np.float32)


def test_streaming_stores(isa, rng):
    """Outputs of 2^21+ elements per thread take the non-temporal store path: an out that is not
    vector-aligned (head), an odd length (tail), both threads' chunks."""
    n = 2 * (1 << 21) + 37
    x = make((n,), np.float32, rng, scale=3.0)
    dy = make((n,), np.float32, rng)
    buf = np.zeros(n + 1, np.float32)
    out = buf[1:]  # 4 bytes past an aligned address
    for name in ("relu", "sigmoid", "tanh"):
        fwd, bwd = ACTS[name][0], ACTS[name][1]
        fwd(x, out=out)
        assert_allclose(out, ref_forward(name, x), np.float32, what=f"{isa} {name} streamed forward")
        y = out.copy()
        bwd(dy, y, out=out)
        assert_allclose(out, ref_backward(name, dy, x, y), np.float32, what=f"{isa} {name} streamed backward")
    assert buf[0] == 0.0


@pytest.mark.parametrize("name", ACTS)
def test_gradcheck(backend, name, rng):
    _, bwd, _, _, takes, kw = ACTS[name]
    x = rng.standard_normal((7, 11)) * 2.0
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kinks of relu / leaky_relu / elu
    w = rng.standard_normal(x.shape)
    y = run_forward(backend, name, x)
    dx = backend.call(bwd, w, y if takes == "y" else x, **kw)
    gradcheck_fd(lambda a: float(np.sum(w * run_forward(backend, name, a))), [x], [dx])


# ------------------------------------------------------------------------------------- softmax

SOFTMAX_SHAPES = [((1,), -1), ((7,), 0), ((5, 1000), -1), ((3, 17), 0), ((3, 17), 1), ((2, 33, 5), 1),
                  ((2, 5, 33), -1), ((4, 3, 7, 6), 2), ((600, 3), 0), ((3, 1100), 0), ((0, 5), -1), ((5, 0), 1),
                  ((5, 0), 0), ((2, 0, 3), 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log", [False, True])
def test_softmax(backend, dtype, log, rng):
    fwd = K.log_softmax_forward if log else K.softmax_forward
    bwd = K.log_softmax_backward if log else K.softmax_backward
    rf = ref.log_softmax if log else ref.softmax
    rb = ref.log_softmax_backward if log else ref.softmax_backward
    for shape, axis in SOFTMAX_SHAPES:
        for layout in ("contiguous", "strided"):
            x = make(shape, dtype, rng, layout, scale=4.0)
            y = backend.call(fwd, x, axis=axis)
            if x.size == 0:
                assert y.shape == shape
                assert backend.call(bwd, make(shape, dtype, rng), y, axis=axis).shape == shape
                continue
            what = f"{backend.name} {'log_' * log}softmax {shape} axis={axis}"
            assert_allclose(y, rf(x, axis), dtype, what=what)
            dy = make(shape, dtype, rng, layout)
            assert_allclose(backend.call(bwd, dy, y, axis=axis), rb(dy, y, axis), dtype, what=f"{what} backward")


@pytest.mark.parametrize("log", [False, True])
def test_softmax_threads_and_in_place(backend, log, rng):
    fwd = K.log_softmax_forward if log else K.softmax_forward
    rf = ref.log_softmax if log else ref.softmax
    for shape, axis in [((512, 301), -1), ((301, 512), 0), ((7, 999, 31), 1)]:
        x = make(shape, np.float32, rng, scale=4.0)
        expect = rf(x, axis)
        x = backend.to(x)
        assert fwd(x, axis=axis, out=x) is x
        assert_allclose(x, expect, np.float32, what=f"in place {shape} axis={axis}")


@pytest.mark.parametrize("log", [False, True])
def test_softmax_gradcheck(backend, log, rng):
    fwd = K.log_softmax_forward if log else K.softmax_forward
    bwd = K.log_softmax_backward if log else K.softmax_backward
    for shape, axis in [((4, 9), -1), ((4, 9), 0), ((2, 5, 3), 1)]:
        x = rng.standard_normal(shape)
        w = rng.standard_normal(shape)
        dx = backend.call(bwd, w, backend.call(fwd, x, axis=axis), axis=axis)
        gradcheck_fd(lambda a: float(np.sum(w * backend.call(fwd, a, axis=axis))), [x], [dx])


# ---------------------------------------------------------------------- the vector math itself

def _max_rel(got, expect):
    got, expect = got.astype(np.float64), expect.astype(np.float64)
    return float(np.max(np.abs(got - expect) / np.abs(expect)))


def test_vector_math_error(isa):
    """Max relative error of the float32 vector exp / tanh over a dense grid vs float64.

    Measured on AVX2 and AVX-512 alike (the bounds in the comment of csrc/cpu/activation_simd.h):
    exp 1.19e-7 on [-87, 88] (2^22 points), tanh 1.79e-7 on [-12, 12] plus tiny |x|,
    expm1 2.34e-7, log1p 1.58e-7, erfc 4.26e-7 (z in [0, 9]). The portable path uses the C library.
    """
    def run(fn, x):
        y = np.empty_like(x)
        _C.vector_math_f32(fn, x, y)
        return y

    x = np.linspace(-87, 88, 1 << 22, dtype=np.float32)
    assert _max_rel(run(0, x), np.exp(x.astype(np.float64))) <= 2.5e-7
    t = np.concatenate([np.linspace(-12, 12, 1 << 22, dtype=np.float32),
                        np.geomspace(1e-30, 1.0, 100_000).astype(np.float32)])
    t = np.concatenate([t, -t])
    t = t[t != 0]
    assert _max_rel(run(2, t), np.tanh(t.astype(np.float64))) <= 2.5e-7
    e = np.linspace(-0.9, 0.9, 1 << 20, dtype=np.float32)
    e = e[e != 0]
    assert _max_rel(run(1, e), np.expm1(e.astype(np.float64))) <= 4e-7
    u = np.concatenate([np.linspace(0, 1, 1 << 20, dtype=np.float32)[1:],
                        np.geomspace(1e-30, 1e-3, 1000).astype(np.float32)])
    assert _max_rel(run(3, u), np.log1p(u.astype(np.float64))) <= 4e-7
    z = np.linspace(0, 9, 100_000, dtype=np.float32)
    erfc = np.vectorize(math.erfc, otypes=[np.float64])
    assert _max_rel(run(4, z), erfc(z.astype(np.float64))) <= 6e-7
    # edges: overflow to inf, underflow to 0, NaN through
    edge = np.array([-1e4, -104.0, 88.73, 1e4, np.inf, -np.inf, np.nan], np.float32)
    got = run(0, edge)
    np.testing.assert_array_equal(got[:6], [0, 0, np.inf, np.inf, np.inf, 0])
    assert np.isnan(got[6])
    got = run(2, edge)
    np.testing.assert_array_equal(got[:6], [-1, -1, 1, 1, 1, -1])
    assert np.isnan(got[6])


# ------------------------------------------------------------------------------------- errors

def test_errors(backend):
    """The same call raises the same exception and message on every backend."""
    xp = backend.xp
    f32 = xp.ones((3, 4), np.float32)
    with raises(TypeError, "relu_forward", "float32 or float64", "int64"):
        K.relu_forward(xp.ones(3, np.int64))
    with raises(TypeError, "sigmoid_forward", f"{backend.kind} array", "list"):
        K.sigmoid_forward([1.0, 2.0])
    with raises(TypeError, "tanh_backward", "float32", "float64"):
        K.tanh_backward(f32, xp.ones((3, 4)))
    with raises(ValueError, "gelu_backward", "(3, 4)", "(4, 3)"):
        K.gelu_backward(f32, xp.ones((4, 3), np.float32))
    with raises(ValueError, "sigmoid_backward", "dy.shape=(3,)", "y.shape=(4,)"):
        K.sigmoid_backward(xp.zeros(3, np.float32), xp.zeros(4, np.float32))
    with raises(ValueError, "relu_forward", "out", "(3, 4)", "(4, 3)"):
        K.relu_forward(f32, out=xp.empty((4, 3), np.float32))
    with raises(TypeError, "elu_forward", "float64"):
        K.elu_forward(f32, out=xp.empty((3, 4)))
    with raises(TypeError, "relu_backward", "out", f"{backend.kind} array", "list"):
        K.relu_backward(f32, f32, out=[0.0])
    with raises(ValueError, "softmax_forward", "axis 2", "(3, 4)"):
        K.softmax_forward(f32, axis=2)
    with raises(ValueError, "log_softmax_backward", "axis -3", "(3, 4)"):
        K.log_softmax_backward(f32, f32, axis=-3)
    with raises(ValueError, "softmax_backward", "(3, 4)", "(3, 5)"):
        K.softmax_backward(f32, xp.ones((3, 5), np.float32))
    with raises(TypeError, "softmax_forward", "axis"):
        K.softmax_forward(f32, axis=1.0)
    with raises(TypeError, "softmax_forward", "axis"):
        K.softmax_forward(f32, axis=True)
    with raises(ValueError, "softmax_forward", "out", "(3, 4)", "(4, 3)"):
        K.softmax_forward(f32, out=xp.empty((4, 3), np.float32))
    if not backend.gpu:  # CuPy arrays have no read-only flag
        ro = np.empty((3, 4), np.float32)
        ro.flags.writeable = False
        with raises(ValueError, "silu_forward", "read-only"):
            K.silu_forward(f32, out=ro)


def test_binding_safety_net():
    f32 = np.ones(8, np.float32)
    with pytest.raises(ValueError):
        _C.activation_forward(0, f32, np.empty(7, np.float32))
    with pytest.raises(ValueError):
        _C.activation_forward(99, f32, np.empty(8, np.float32))
    with pytest.raises(ValueError):
        _C.activation_forward(0, f32, np.empty(8))
    with pytest.raises(ValueError):
        _C.activation_backward(0, f32, np.ones(16, np.float32)[::2], np.empty(8, np.float32))
    with pytest.raises(ValueError):
        _C.softmax_forward(f32, np.empty(8, np.float32), 3, 3, 1)
