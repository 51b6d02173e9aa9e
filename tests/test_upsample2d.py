"""Upsampling (nearest and bilinear, 2-D; nearest 1-D) against the float64 reference on every backend:
forward and backward, square and rectangular factors, odd and empty shapes, non-contiguous inputs,
thread counts; finite-difference gradient checks; PyTorch's interpolate as an optional anchor; errors,
the same on every backend."""
import itertools

import numpy as np
import pytest

import dlcore
from dlcore import kernels as K
from harness import DTYPES, LAYOUTS, Backend, assert_close, gradcheck_fd, make, raises
import reference as ref

MODES = ["nearest", "bilinear"]
CPU = Backend("cpu", np)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def check_upsample(be, x, size, mode, rng, what=""):
    dtype = x.dtype
    what = f"{be.name} {mode} x{x.shape} size={size} {what}"
    y = be.call(K.upsample2d_forward, x, size, mode)
    assert y.dtype == dtype and y.shape == K.upsample2d_output_shape(x.shape, size)
    assert_close(y, ref.upsample2d_forward(x, pair(size), mode), dtype, what=f"forward {what}")
    dy = make(y.shape, dtype, rng)
    dx = be.call(K.upsample2d_backward, dy, x.shape, size, mode)
    assert dx.dtype == dtype
    assert_close(dx, ref.upsample2d_backward(dy, x.shape, pair(size), mode), dtype, what=f"backward {what}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", MODES)
def test_factors(backend, dtype, mode, rng):
    for (h, w, c), size in itertools.product([(5, 7, 3), (4, 4, 16), (3, 6, 33)], [1, 2, 3, (2, 3), (4, 1)]):
        check_upsample(backend, make((2, h, w, c), dtype, rng), size, mode, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", MODES)
def test_odd_shapes(backend, dtype, mode, rng):
    for shape, size in [((1, 1, 1, 1), 2), ((1, 1, 1, 7), (3, 5)), ((3, 1, 9, 1), 2), ((1, 13, 2, 17), (1, 4)),
                        ((2, 2, 2, 97), 5), ((1, 8, 8, 61), 2)]:
        check_upsample(backend, make(shape, dtype, rng), size, mode, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_non_contiguous_inputs(backend, dtype, layout, rng):
    x = make((2, 5, 4, 6), dtype, rng, layout)
    dy = make((2, 10, 12, 6), dtype, rng, layout)
    for mode in MODES:
        assert_close(backend.call(K.upsample2d_forward, x, (2, 3), mode),
                     ref.upsample2d_forward(x, (2, 3), mode), dtype)
        assert_close(backend.call(K.upsample2d_backward, dy, x.shape, (2, 3), mode),
                     ref.upsample2d_backward(dy, x.shape, (2, 3), mode), dtype)
    s = make((3, 7, 5), dtype, rng, layout)
    assert_close(backend.call(K.upsample1d_forward, s, 3), ref.upsample1d_forward(s, 3), dtype)


def test_large_and_threads(isa, rng):
    x = make((4, 28, 30, 64), np.float32, rng)
    before = dlcore.get_num_threads()
    try:
        for nt, mode in itertools.product([1, 2], MODES):
            dlcore.set_num_threads(nt)
            check_upsample(CPU, x, 2, mode, rng, what=f"{isa} {nt} threads")
    finally:
        dlcore.set_num_threads(before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_upsample1d(backend, dtype, rng):
    for shape, size in [((2, 7, 5), 2), ((1, 1, 1), 3), ((3, 13, 33), 4), ((2, 5, 8), 1)]:
        x = make(shape, dtype, rng)
        y = backend.call(K.upsample1d_forward, x, size)
        assert y.shape == K.upsample1d_output_shape(shape, size) == (shape[0], shape[1] * size, shape[2])
        assert_close(y, ref.upsample1d_forward(x, size), dtype)
        dy = make(y.shape, dtype, rng)
        assert_close(backend.call(K.upsample1d_backward, dy, shape, size), ref.upsample1d_backward(dy, shape, size),
                     dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_sizes(backend, dtype):
    xp = backend.xp
    for shape in [(0, 3, 3, 2), (2, 0, 3, 2), (2, 3, 3, 0)]:
        for mode in MODES:
            y = K.upsample2d_forward(xp.ones(shape, dtype), (2, 3), mode)
            assert y.shape == (shape[0], shape[1] * 2, shape[2] * 3, shape[3]) and y.dtype == dtype
            assert K.upsample2d_backward(xp.ones(y.shape, dtype), shape, (2, 3), mode).shape == shape
    assert K.upsample1d_forward(xp.ones((0, 4, 3), dtype), 2).shape == (0, 8, 3)
    assert K.upsample1d_backward(xp.ones((2, 0, 3), dtype), (2, 0, 3), 2).shape == (2, 0, 3)


@pytest.mark.parametrize("mode", MODES)
def test_gradcheck(backend, mode, rng):
    x = make((2, 4, 5, 3), np.float64, rng)
    r = make((2, 8, 15, 3), np.float64, rng)
    call = backend.call
    gradcheck_fd(lambda x: float(np.sum(call(K.upsample2d_forward, x, (2, 3), mode) * r)), [x],
                 [call(K.upsample2d_backward, r, x.shape, (2, 3), mode)], rng=rng)
    s, q = make((2, 5, 3), np.float64, rng), make((2, 10, 3), np.float64, rng)
    gradcheck_fd(lambda s: float(np.sum(call(K.upsample1d_forward, s, 2) * q)), [s],
                 [call(K.upsample1d_backward, q, s.shape, 2)], rng=rng)


@pytest.mark.parametrize("mode", MODES)
def test_matches_torch_interpolate(mode, rng):
    torch = pytest.importorskip("torch")
    x = make((2, 5, 7, 3), np.float64, rng)
    for size in [2, 3, (2, 5)]:
        fh, fw = pair(size)
        t = torch.nn.functional.interpolate(torch.from_numpy(x).permute(0, 3, 1, 2), scale_factor=(fh, fw),
                                            mode=mode, **({"align_corners": False} if mode == "bilinear" else {}))
        assert_close(K.upsample2d_forward(x, size, mode), t.permute(0, 2, 3, 1).numpy(), np.float64)


# ------------------------------------------------------------------------------------- errors

def test_errors(backend):
    """The same call raises the same exception and message on every backend."""
    xp = backend.xp
    x = xp.ones((2, 3, 4, 5), np.float32)
    with raises(TypeError, "upsample2d_forward", "float32 or float64", "int64"):
        K.upsample2d_forward(x.astype(np.int64))
    with raises(TypeError, "upsample2d_forward", f"{backend.kind} array", "list"):
        K.upsample2d_forward([[1.0]])
    with raises(ValueError, "upsample2d_forward", "4-D", "(3, 4, 5)"):
        K.upsample2d_forward(x[0])
    with raises(ValueError, "upsample2d_forward", "size", "0"):
        K.upsample2d_forward(x, 0)
    with raises(ValueError, "upsample2d_forward", "size", "(2, True)"):
        K.upsample2d_forward(x, (2, True))
    with raises(ValueError, "upsample2d_forward", "interpolation", "'bicubic'", "bilinear", "nearest"):
        K.upsample2d_forward(x, 2, "bicubic")
    with raises(ValueError, "upsample2d_backward", "dy", "(2, 6, 8, 5)", "(2, 6, 8, 4)"):
        K.upsample2d_backward(xp.ones((2, 6, 8, 4), np.float32), x.shape)
    with raises(ValueError, "upsample2d_backward", "x_shape", "tuple of ints"):
        K.upsample2d_backward(xp.ones((2, 6, 8, 5), np.float32), (2, 3.0, 4, 5))
    with raises(ValueError, "upsample1d_forward", "3-D", "(2, 3, 4, 5)"):
        K.upsample1d_forward(x)
    with raises(ValueError, "upsample1d_forward", "size", "(2, 2)"):
        K.upsample1d_forward(x[0], (2, 2))
    with raises(ValueError, "upsample1d_backward", "dy", "(3, 8, 5)", "(3, 4, 5)"):
        K.upsample1d_backward(x[0], (3, 4, 5))


def test_binding_safety_net():
    from dlcore import _C
    x = np.ones((2, 3, 4, 5), np.float32)
    with pytest.raises(ValueError):  # output not (N, H*fh, W*fw, C)
        _C.upsample2d_forward(x, np.empty((2, 6, 7, 5), np.float32), (2, 2), 0)
    with pytest.raises(ValueError):  # unknown interpolation code
        _C.upsample2d_forward(x, np.empty((2, 6, 8, 5), np.float32), (2, 2), len(_C.Interpolation.__members__))
    with pytest.raises(ValueError):  # factor 0
        _C.upsample2d_backward(np.ones((2, 0, 0, 5), np.float32), x, (0, 0), 1)
    with pytest.raises(ValueError):  # mixed dtypes
        _C.upsample2d_backward(np.ones((2, 6, 8, 5)), np.empty(x.shape, np.float32), (2, 2), 1)
    with pytest.raises(ValueError):  # not contiguous
        _C.upsample2d_forward(np.ones((2, 3, 8, 5), np.float32)[:, :, ::2], np.empty((2, 6, 8, 5), np.float32),
                              (2, 2), 0)
