"""GPU kernels (dlcore._cuda and the CuPy fallback) against the CPU kernels and the float64 references.

Every test that touches the GPU carries @pytest.mark.cuda (tests/conftest.py skips it where there is
no GPU) and runs once per GPU backend through the `backend` fixture, which switches
DLCORE_CUDA_KERNELS: "cuda" (dlcore's own kernels, skipped where dlcore._cuda was not built) and
"cupy" (the fallback). Each case runs the GPU function on device copies of the inputs, brings the
result back to the host and compares it with
  - the CPU kernel of the same name in dlcore.kernels (same arguments, NumPy), and
  - the float64 reference of the same name in tests/reference.py,
each where that exists; at least one of them must. Tolerances come from the harness (by dtype);
only TF32 GEMM has its own bound (see TF32_TOL).
The first tests run without a GPU: they check the dispatch layer itself.
"""
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import dlcore
from dlcore import kernels as K
from dlcore.kernels._dispatch import cuda_module, gpu_function, gpu_names, is_gpu_array
from harness import DTYPES, ODD_SIZES, assert_close, make, raises
import reference as ref

# TF32 rounds both GEMM inputs to 10 explicit mantissa bits (unit roundoff u = 2^-11 = 4.9e-4); a
# product carries at most ~2u relative error and the norm-wise error of a sum of many is ~sqrt(2) u.
TF32_TOL = 2e-3
DOC = os.path.join(os.path.dirname(__file__), "..", "docs", "kernel_api.md")


# ---- the dispatch layer (no GPU needed) ---------------------------------------------------------------

def test_is_gpu_array_does_not_import_cupy(tmp_path):
    code = ("import sys, numpy as np, dlcore\n"
            "from dlcore.kernels._dispatch import is_gpu_array, gpu_names\n"
            "assert not is_gpu_array(np.zeros(3)) and not is_gpu_array(1.0) and not is_gpu_array([1])\n"
            "assert len(gpu_names()) > 50\n"
            "assert 'cupy' not in sys.modules, 'cupy was imported'\n"
            "assert 'dlcore._cuda' not in sys.modules, 'dlcore._cuda was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)  # import the installed dlcore


def test_every_kernel_api_function_has_a_gpu_version():
    text = open(DOC).read()
    documented = set(re.findall(r"`([a-z][a-z0-9_]*)\(", text))
    documented -= {"act", "max"}  # formulas quoted in the document, not kernels
    missing = sorted(n for n in documented if not n.startswith("dlcore") and n not in gpu_names())
    assert not missing, f"no GPU implementation of {missing}"


def test_gpu_signatures_match_the_cpu_kernels():
    import inspect
    for name in gpu_names():
        cpu = getattr(K, name, None)
        if cpu is None:
            continue
        from dlcore.kernels import _gpu
        for use_cuda in (False, True):
            sig = inspect.signature(_gpu.lookup(name, cuda=use_cuda))
            cpu_params = list(inspect.signature(cpu).parameters)
            assert list(sig.parameters)[:len(cpu_params)] == cpu_params, f"{name}: {sig} vs {inspect.signature(cpu)}"


# ---- helpers --------------------------------------------------------------------------------------

@pytest.fixture(params=["cuda", "cupy"])
def backend(request, monkeypatch):
    if request.param == "cuda" and cuda_module() is None:
        pytest.skip("dlcore._cuda was not built")
    monkeypatch.setenv("DLCORE_CUDA_KERNELS", "1" if request.param == "cuda" else "0")
    return request.param


def cupy():
    import cupy as cp
    return cp


def dev(x):
    """NumPy -> CuPy, recursively (None, scalars and strings pass through), in the same kind of
    memory layout as harness.make builds: contiguous, Fortran, step-2 strided or reversed."""
    cp = cupy()
    if isinstance(x, np.ndarray):
        if x.flags.c_contiguous or x.size == 0:
            return cp.asarray(np.ascontiguousarray(x))
        if x.flags.f_contiguous:
            return cp.asfortranarray(cp.asarray(np.ascontiguousarray(x)))
        flip = tuple(slice(None, None, -1) if s < 0 else slice(None) for s in x.strides)
        if any(s < 0 for s in x.strides):
            return cp.ascontiguousarray(cp.asarray(np.ascontiguousarray(x))[flip])[flip]
        big = cp.zeros(tuple(2 * s for s in x.shape), dtype=x.dtype)
        view = big[tuple(slice(None, None, 2) for _ in x.shape)]
        view[...] = cp.asarray(np.ascontiguousarray(x))
        return view
    if isinstance(x, tuple):
        return tuple(dev(v) for v in x)
    if isinstance(x, list):
        return [dev(v) for v in x]
    return x


def host(x):
    cp = cupy()
    if isinstance(x, cp.ndarray):
        return cp.asnumpy(x)
    if isinstance(x, (tuple, list)):
        return type(x)(host(v) for v in x)
    return x


def flat_results(r):
    """A kernel's result as a list of arrays (tuples flattened, caches dropped)."""
    if isinstance(r, tuple):
        out = []
        for v in r:
            if isinstance(v, tuple):  # an opaque cache
                continue
            out.extend(flat_results(v))
        return out
    return [np.asarray(r)]


def compare(name, np_args, kwargs=None, dtype=np.float32, what="", tol=None, results=None):
    """Run GPU `name` on device copies of np_args; compare with the CPU kernel and the reference."""
    kwargs = kwargs or {}
    got = flat_results(host(gpu_function(name)(*dev(np_args), **dev(kwargs)))) if results is None else results
    anchors = []
    cpu = getattr(K, name, None)
    if cpu is not None:
        anchors.append(("cpu", flat_results(cpu(*[a.copy() if isinstance(a, np.ndarray) else a for a in np_args],
                                                **kwargs))))
    reference = getattr(ref, name, None)
    if reference is not None:
        anchors.append(("reference", flat_results(reference(*np_args, **kwargs))))
    assert anchors, f"{name}: neither a CPU kernel nor a reference to compare with"
    for label, expect in anchors:
        assert len(got) == len(expect), f"{name}: {len(got)} results, {label} has {len(expect)}"
        for i, (g, e) in enumerate(zip(got, expect)):
            assert_close(g, e, dtype, tol=tol, what=f"{name} [{i}] vs {label} {what}")
    return got


# ---- GEMM ------------------------------------------------------------------------------------------

TRANSPOSES = [(False, False), (False, True), (True, False), (True, True)]


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ta,tb", TRANSPOSES)
def test_gemm_odd_shapes(backend, dtype, ta, tb, rng):
    for m, n, k in [(1, 1, 1), (7, 33, 13), (129, 127, 9), (33, 257, 130), (64, 128, 8), (2, 3, 0)]:
        a = make((k, m) if ta else (m, k), dtype, rng)
        b = make((n, k) if tb else (k, n), dtype, rng)
        compare("gemm", (a, b, ta, tb), dtype=dtype, what=f"{m}x{n}x{k}")


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["fortran", "strided", "reversed"])
def test_gemm_layouts(backend, dtype, layout, rng):
    for ta, tb in TRANSPOSES:
        a = make((61, 47) if ta else (47, 61), dtype, rng, layout)
        b = make((35, 61) if tb else (61, 35), dtype, rng, layout)
        compare("gemm", (a, b, ta, tb), dtype=dtype, what=layout)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh"])
def test_gemm_epilogue(backend, dtype, activation, rng):
    cp = cupy()
    a, b = make((37, 53), dtype, rng), make((53, 41), dtype, rng)
    bias, c = make((41,), dtype, rng), make((37, 41), dtype, rng)
    for alpha, beta in [(1.0, 0.0), (0.5, -2.0), (2.0, 1.0)]:
        out = cp.asarray(c)
        gpu_function("gemm")(cp.asarray(a), cp.asarray(b), alpha=alpha, beta=beta, out=out, bias=cp.asarray(bias),
                             activation=activation)
        expect = ref.gemm(a, b, False, False, alpha, beta, c, bias, activation)
        assert_close(host(out), expect, dtype, what=f"alpha={alpha} beta={beta} {activation}")


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_beta_zero_never_reads_out(backend, dtype, rng):
    cp = cupy()
    a, b = make((29, 40), dtype, rng), make((40, 67), dtype, rng)
    out = cp.full((29, 67), cp.nan, dtype=dtype)
    gpu_function("gemm")(cp.asarray(a), cp.asarray(b), out=out)
    assert_close(host(out), ref.gemm(a, b), dtype, what="NaN-filled out")


@pytest.mark.cuda
@pytest.mark.parametrize("ta,tb", TRANSPOSES)
def test_gemm_tf32(backend, ta, tb, rng):
    from dlcore.kernels._gpu import device
    device.set_tf32(True)
    try:
        for m, n, k in [(1, 1, 1), (130, 70, 33), (256, 256, 512)]:
            a = make((k, m) if ta else (m, k), np.float32, rng)
            b = make((n, k) if tb else (k, n), np.float32, rng)
            got = gpu_function("gemm")(dev(a), dev(b), ta, tb, activation="relu", bias=dev(make((n,), np.float32, rng)))
            assert got.shape == (m, n)
            expect = ref.gemm(a, b, ta, tb)
            plain = gpu_function("gemm")(dev(a), dev(b), ta, tb)
            assert_close(host(plain), expect, np.float32, tol=TF32_TOL, what=f"tf32 {m}x{n}x{k}")
    finally:
        device.set_tf32(False)


@pytest.mark.cuda
def test_gemm_errors(backend):
    cp = cupy()
    g = gpu_function("gemm")
    with raises(ValueError, "gemm", "(3, 4)", "(5, 2)"):
        g(cp.zeros((3, 4), cp.float32), cp.zeros((5, 2), cp.float32))
    with raises(TypeError, "gemm", "float32", "float64"):
        g(cp.zeros((3, 4), cp.float32), cp.zeros((4, 2), cp.float64))
    with raises(TypeError, "gemm", "int32"):
        g(cp.zeros((3, 4), cp.int32), cp.zeros((4, 2), cp.int32))
    with raises(TypeError, "gemm", "'b'"):
        g(cp.zeros((3, 4), cp.float32), np.zeros((4, 2), np.float32))
    with raises(ValueError, "gemm", "bias"):
        g(cp.zeros((3, 4), cp.float32), cp.zeros((4, 2), cp.float32), bias=cp.zeros(3, cp.float32))


# ---- convolution -------------------------------------------------------------------------------------

CONV_CASES = [  # (N, H, W, Cin, Cout, (kh, kw), strides, padding, dilation)
    (2, 7, 9, 3, 5, (3, 3), 1, "valid", 1),
    (1, 8, 8, 4, 8, (3, 3), 1, "same", 1),
    (3, 13, 11, 5, 7, (3, 2), (2, 1), "same", 1),
    (2, 9, 9, 8, 4, (3, 3), 2, 1, 2),
    (1, 5, 6, 1, 1, (1, 1), 1, "valid", 1),
    (2, 10, 7, 16, 33, (5, 3), (2, 3), ((1, 2), (0, 1)), 1),
    (0, 6, 6, 3, 4, (3, 3), 1, "same", 1),
]


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_conv2d(backend, dtype, case, rng):
    N, H, W, Cin, Cout, k, s, p, d = CONV_CASES[case]
    x, w, b = make((N, H, W, Cin), dtype, rng), make(k + (Cin, Cout), dtype, rng), make((Cout,), dtype, rng)
    geo = dict(strides=s, padding=p, dilation=d)
    y = compare("conv2d_forward", (x, w, b), dict(geo, activation="relu"), dtype, what=str(CONV_CASES[case]))[0]
    dy = make(y.shape, dtype, rng)
    compare("conv2d_backward_data", (dy, w, x.shape), geo, dtype, what=str(CONV_CASES[case]))
    compare("conv2d_backward_filter", (dy, x, w.shape), geo, dtype, what=str(CONV_CASES[case]))
    compare("conv2d_backward_bias", (dy,), {}, dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_strided_input(backend, dtype, rng):
    x = make((2, 9, 8, 4), dtype, rng, "strided")
    w = make((3, 3, 4, 6), dtype, rng, "reversed")
    compare("conv2d_forward", (x, w), dict(padding="same"), dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv1d(backend, dtype, rng):
    x, w = make((3, 17, 5), dtype, rng), make((4, 5, 6), dtype, rng)
    y = compare("conv1d_forward", (x, w, make((6,), dtype, rng)), dict(strides=2, padding="same"), dtype)[0]
    dy = make(y.shape, dtype, rng)
    compare("conv1d_backward_data", (dy, w, x.shape), dict(strides=2, padding="same"), dtype)
    compare("conv1d_backward_filter", (dy, x, w.shape), dict(strides=2, padding="same"), dtype)


@pytest.mark.cuda
def test_conv2d_errors(backend):
    cp = cupy()
    f = gpu_function("conv2d_forward")
    with raises(ValueError, "conv2d_forward", "C_in"):
        f(cp.zeros((1, 5, 5, 3), cp.float32), cp.zeros((3, 3, 4, 2), cp.float32))
    with raises(ValueError, "conv2d_forward", "4-D"):
        f(cp.zeros((5, 5, 3), cp.float32), cp.zeros((3, 3, 3, 2), cp.float32))
    with raises(TypeError, "conv2d_forward"):
        f(cp.zeros((1, 5, 5, 3), cp.float64), cp.zeros((3, 3, 3, 2), cp.float32))
    with raises(ValueError, "conv2d_forward", "larger"):
        f(cp.zeros((1, 2, 2, 3), cp.float32), cp.zeros((3, 3, 3, 2), cp.float32))


# ---- pooling -----------------------------------------------------------------------------------------

POOL_CASES = [((2, 8, 8, 3), 2, None, "valid"), ((1, 7, 9, 5), 3, 2, "same"), ((2, 5, 6, 4), (2, 3), (1, 2), "valid"),
              ((3, 11, 13, 33), 3, 1, "same"), ((0, 4, 4, 2), 2, None, "valid")]


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(POOL_CASES)))
def test_pool2d(backend, dtype, case, rng):
    shape, k, s, p = POOL_CASES[case]
    x = make(shape, dtype, rng)
    geo = dict(pool_size=k, strides=s, padding=p)
    y = compare("max_pool2d_forward", (x,), geo, dtype, what=str(POOL_CASES[case]))[0]
    dy = make(y.shape, dtype, rng)
    compare("max_pool2d_backward", (dy, x), geo, dtype)
    compare("avg_pool2d_forward", (x,), geo, dtype)
    compare("avg_pool2d_backward", (dy, x.shape), geo, dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_ties_go_to_the_first(backend, dtype):
    x = np.zeros((1, 4, 4, 2), dtype)  # every window is a tie
    dy = np.ones((1, 2, 2, 2), dtype)
    compare("max_pool2d_backward", (dy, x), dict(pool_size=2), dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_global_avg_pool(backend, dtype, rng):
    x = make((3, 5, 7, 33), dtype, rng)
    compare("global_avg_pool2d_forward", (x,), {}, dtype)
    compare("global_avg_pool2d_backward", (make((3, 33), dtype, rng), x.shape), {}, dtype)


# ---- activations ---------------------------------------------------------------------------------

ACTIVATIONS = [  # (name, kwargs, backward takes the output y)
    ("relu", {}, True), ("sigmoid", {}, True), ("tanh", {}, True), ("leaky_relu", {"negative_slope": 0.1}, False),
    ("elu", {"alpha": 1.5}, False), ("gelu", {}, False), ("gelu", {"approximate": True}, False),
    ("softplus", {}, False), ("silu", {}, False),
]


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", range(len(ACTIVATIONS)))
def test_activations(backend, dtype, act, rng):
    name, kw, from_output = ACTIVATIONS[act]
    for n in ODD_SIZES + [0, 1 << 12, (1 << 12) + 3]:
        x = make((n,), dtype, rng, scale=4.0)
        y = compare(f"{name}_forward", (x,), kw, dtype, what=f"n={n}")[0]
        dy = make((n,), dtype, rng)
        compare(f"{name}_backward", (dy, y if from_output else x), kw, dtype, what=f"n={n}")


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_activation_strided_and_in_place(backend, dtype, rng):
    cp = cupy()
    x = make((9, 14), dtype, rng, "strided")
    compare("tanh_forward", (x,), {}, dtype, what="strided")
    xd = cp.asarray(make((33, 5), dtype, rng))
    expect = np.tanh(host(xd).astype(np.float64))
    got = gpu_function("tanh_forward")(xd, out=xd)
    assert got is xd
    assert_close(host(xd), expect, dtype, what="in place")
    # an offset view of the same buffer must not be computed in place
    buf = cp.asarray(make((64,), dtype, rng))
    src = buf[:-1].copy()
    gpu_function("relu_forward")(buf[:-1], out=buf[1:])
    assert_close(host(buf[1:]), np.maximum(host(src), 0), dtype, what="overlapping out")


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log", [False, True])
def test_softmax(backend, dtype, log, rng):
    name = "log_softmax" if log else "softmax"
    for shape, axis in [((7, 33), -1), ((4, 1000), 1), ((3, 5, 6), 1), ((3, 5, 6), 0), ((1, 1), -1), ((0, 4), -1)]:
        x = make(shape, dtype, rng, scale=5.0)
        y = compare(f"{name}_forward", (x,), {"axis": axis}, dtype, what=f"{shape} axis={axis}")[0]
        compare(f"{name}_backward", (make(shape, dtype, rng), y.astype(dtype)), {"axis": axis}, dtype)


@pytest.mark.cuda
def test_activation_errors(backend):
    cp = cupy()
    with raises(TypeError, "relu_forward", "int64"):
        gpu_function("relu_forward")(cp.zeros(3, cp.int64))
    with raises(ValueError, "sigmoid_backward", "(3,)", "(4,)"):
        gpu_function("sigmoid_backward")(cp.zeros(3, cp.float32), cp.zeros(4, cp.float32))
    with raises(ValueError, "softmax_forward", "axis"):
        gpu_function("softmax_forward")(cp.zeros((2, 3), cp.float32), axis=2)


# ---- losses --------------------------------------------------------------------------------------

@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses(backend, dtype, reduction, rng):
    for N, C in [(1, 1), (7, 10), (33, 1000), (0, 3)]:
        logits = make((N, C), dtype, rng, scale=3.0)
        labels = rng.integers(0, C, size=N)
        weight = rng.random(N).astype(dtype)
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        soft = rng.random((N, C)).astype(dtype)
        binary = (rng.random((N, C)) > 0.5).astype(dtype)
        sig = (1 / (1 + np.exp(-logits))).astype(dtype)
        for sw in (None, weight):
            kw = dict(reduction=reduction, sample_weight=sw)
            what = f"N={N} C={C} weighted={sw is not None}"
            compare("softmax_cross_entropy", (logits, labels), kw, dtype, what=what)
            compare("softmax_cross_entropy", (logits, soft), kw, dtype, what=what)
            if C > 1:  # one class: p == 1 exactly, clipped to 1 - eps, which float32 cannot represent
                compare("categorical_cross_entropy", (probs.astype(dtype), soft), kw, dtype, what=what)
                compare("sparse_categorical_cross_entropy", (probs.astype(dtype), labels), kw, dtype, what=what)
            compare("binary_cross_entropy", (sig, binary), kw, dtype, what=what)
            compare("binary_cross_entropy_with_logits", (logits, binary), kw, dtype, what=what)
            compare("mean_squared_error", (logits, soft), kw, dtype, what=what)
            compare("mean_absolute_error", (logits, soft), kw, dtype, what=what)


@pytest.mark.cuda
def test_loss_errors(backend):
    cp = cupy()
    f = gpu_function("softmax_cross_entropy")
    with raises(ValueError, "softmax_cross_entropy", "[0, 3)"):
        f(cp.zeros((2, 3), cp.float32), cp.asarray([0, 3]))
    with raises(ValueError, "softmax_cross_entropy", "(2,)"):
        f(cp.zeros((2, 3), cp.float32), cp.asarray([0, 1, 2]))
    with raises(ValueError, "mean_squared_error", "reduction"):
        gpu_function("mean_squared_error")(cp.zeros((2, 3), cp.float32), cp.zeros((2, 3), cp.float32),
                                           reduction="avg")


# ---- optimizers ------------------------------------------------------------------------------------

def _optim_case(name, args, kwargs, dtype):
    """Run an in-place update on the GPU and on the CPU (and the reference); compare every array."""
    cp = cupy()
    d_args = [cp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
    d_kwargs = {k: cp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    gpu_function(name)(*d_args, **d_kwargs)
    got = [host(a) for a in d_args if isinstance(a, cp.ndarray)] + \
          [host(v) for v in d_kwargs.values() if isinstance(v, cp.ndarray)]
    anchors = []
    for label, fn in (("cpu", getattr(K, name, None)), ("reference", getattr(ref, name, None))):
        if fn is None:
            continue
        h_args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        h_kwargs = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        fn(*h_args, **h_kwargs)
        anchors.append((label, [a for a in h_args if isinstance(a, np.ndarray)] +
                        [v for v in h_kwargs.values() if isinstance(v, np.ndarray)]))
    assert anchors, f"{name}: neither a CPU kernel nor a reference to compare with"
    for label, expect in anchors:
        for i, (g, e) in enumerate(zip(got, expect)):
            assert_close(g, e, dtype, what=f"{name} array {i} vs {label} {kwargs}")


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 7, 1000, 100003])
def test_optimizers(backend, dtype, n, rng):
    p, g = make((n,), dtype, rng), make((n,), dtype, rng)
    state = lambda: np.abs(make((n,), dtype, rng))  # noqa: E731  (second moments are >= 0)
    for mom, nest, wd in [(0.0, False, 0.0), (0.9, False, 0.01), (0.9, True, 0.0)]:
        _optim_case("sgd_update", (p, g, 0.1), dict(momentum=mom, velocity=state(), nesterov=nest, weight_decay=wd),
                    dtype)
    _optim_case("adagrad_update", (p, g, state(), 0.01), dict(eps=1e-7, weight_decay=0.01), dtype)
    for mom, centered in [(0.0, False), (0.9, True)]:
        sq, ga = state() + 1.0, make((n,), dtype, rng) * 0.1  # centered: sq_avg - grad_avg^2 stays > 0
        _optim_case("rmsprop_update", (p, g, sq, 0.01),
                    dict(rho=0.9, momentum=mom, mom_buf=state(), centered=centered, grad_avg=ga, weight_decay=0.0),
                    dtype)
    for step, wd, dec, ams in [(1, 0.0, False, False), (7, 0.01, True, False), (3, 0.01, False, True)]:
        _optim_case("adam_update", (p, g, make((n,), dtype, rng), state(), 1e-3, step),
                    dict(weight_decay=wd, decoupled_weight_decay=dec, amsgrad=ams, v_max=state()), dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_global_norm_and_scale(backend, dtype, rng):
    cp = cupy()
    arrays = [make(s, dtype, rng) for s in [(3, 4), (1,), (1000, 7), (0,)]]
    got = gpu_function("global_norm")([cp.asarray(a) for a in arrays])
    expect = math.sqrt(sum(float(np.sum(a.astype(np.float64) ** 2)) for a in arrays))
    assert isinstance(got, float)
    assert abs(got - expect) <= 1e-5 * expect
    d = [cp.asarray(a) for a in arrays]
    gpu_function("scale_")(d, 0.5)
    for a, b in zip(arrays, d):
        assert_close(host(b), a.astype(np.float64) * 0.5, dtype)


@pytest.mark.cuda
def test_optimizer_errors(backend):
    cp = cupy()
    p = cp.zeros(4, cp.float32)
    with raises(ValueError, "adam_update", "'v'"):
        gpu_function("adam_update")(p, p.copy(), p.copy(), cp.zeros(5, cp.float32), 1e-3, 1)
    with raises(ValueError, "adam_update", "step"):
        gpu_function("adam_update")(p, p.copy(), p.copy(), p.copy(), 1e-3, 0)
    with raises(TypeError, "sgd_update", "float64"):
        gpu_function("sgd_update")(p, cp.zeros(4, cp.float64), 0.1)
    with raises(ValueError, "sgd_update", "velocity"):
        gpu_function("sgd_update")(p, p.copy(), 0.1, momentum=0.9)


# ---- recurrent -------------------------------------------------------------------------------------

RNN_SHAPES = [(1, 1, 1, 1), (3, 5, 4, 7), (2, 9, 13, 33), (0, 3, 2, 4), (2, 0, 3, 5)]


def _rnn_inputs(kind, B, T, I, H, dtype, rng, with_h0):
    G = {"lstm": 4, "gru": 3, "simple_rnn": 1}[kind]
    x = make((B, T, I), dtype, rng)
    W, U = make((I, G * H), dtype, rng, scale=0.5), make((H, G * H), dtype, rng, scale=0.5)
    b = make((2, 3 * H) if kind == "gru" else (G * H,), dtype, rng, scale=0.5)
    h0 = make((B, H), dtype, rng) if with_h0 else None
    c0 = make((B, H), dtype, rng) if with_h0 else None
    if kind == "lstm":
        return (x, h0, c0, W, U, b)
    return (x, h0, W, U, b)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn"])
@pytest.mark.parametrize("with_h0", [False, True])
def test_rnn(backend, dtype, kind, with_h0, rng):
    for B, T, I, H in RNN_SHAPES:
        args = _rnn_inputs(kind, B, T, I, H, dtype, rng, with_h0)
        what = f"{kind} B={B} T={T} I={I} H={H} h0={with_h0}"
        compare(f"{kind}_forward", args, {}, dtype, what=what)
        # backward: run the forward on each side, then the backward from its own cache
        dhs, dhT, dcT = make((B, T, H), dtype, rng), make((B, H), dtype, rng), make((B, H), dtype, rng)
        grads = (dhs, dhT, dcT) if kind == "lstm" else (dhs, dhT)
        d_fwd = gpu_function(f"{kind}_forward")(*dev(args))
        got = flat_results(host(gpu_function(f"{kind}_backward")(*dev(grads), d_fwd[-1])))
        for label, mod in (("cpu", K), ("reference", ref)):
            fwd, bwd = getattr(mod, f"{kind}_forward", None), getattr(mod, f"{kind}_backward", None)
            if fwd is None or bwd is None:
                continue
            expect = flat_results(bwd(*grads, fwd(*args)[-1]))
            for i, (g, e) in enumerate(zip(got, expect)):
                assert_close(g, e, dtype, what=f"{kind}_backward [{i}] vs {label} {what}")


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_cell(backend, dtype, rng):
    x, h, c, W, U, b = _rnn_inputs("lstm", 4, 1, 6, 5, dtype, rng, True)
    args = (x[:, 0], h, c, W, U, b)
    compare("lstm_cell_forward", args, {}, dtype)
    d_fwd = gpu_function("lstm_cell_forward")(*dev(args))
    dh, dc = make((4, 5), dtype, rng), make((4, 5), dtype, rng)
    got = flat_results(host(gpu_function("lstm_cell_backward")(dev(dh), dev(dc), d_fwd[-1])))
    for label, mod in (("cpu", K), ("reference", ref)):
        fwd, bwd = getattr(mod, "lstm_cell_forward", None), getattr(mod, "lstm_cell_backward", None)
        if fwd is not None and bwd is not None:
            for i, (g, e) in enumerate(zip(got, flat_results(bwd(dh, dc, fwd(*args)[-1])))):
                assert_close(g, e, dtype, what=f"lstm_cell_backward [{i}] vs {label}")


@pytest.mark.cuda
def test_rnn_errors(backend):
    cp = cupy()
    x = cp.zeros((2, 3, 4), cp.float32)
    with raises(ValueError, "lstm_forward", "kernel", "(4, 20)"):
        gpu_function("lstm_forward")(x, None, None, cp.zeros((5, 20), cp.float32), cp.zeros((5, 20), cp.float32),
                                     cp.zeros(20, cp.float32))
    with raises(ValueError, "gru_forward", "bias", "(2, 15)"):
        gpu_function("gru_forward")(x, None, cp.zeros((4, 15), cp.float32), cp.zeros((5, 15), cp.float32),
                                    cp.zeros(15, cp.float32))


# ---- the backends agree with each other (float64: to rounding) -------------------------------------

@pytest.mark.cuda
def test_backends_agree_float64(rng, monkeypatch):
    if cuda_module() is None:
        pytest.skip("dlcore._cuda was not built")
    from dlcore.kernels import _gpu
    x = make((2, 9, 7, 5), np.float64, rng)
    w = make((3, 3, 5, 4), np.float64, rng)
    a = host(_gpu.lookup("conv2d_forward", cuda=True)(dev(x), dev(w), padding="same"))
    b = host(_gpu.lookup("conv2d_forward", cuda=False)(dev(x), dev(w), padding="same"))
    assert_close(a, b, np.float64, what="conv2d_forward cuda vs cupy")
