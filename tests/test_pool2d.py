"""Max / average / global-average pooling against the float64 reference on every backend: forward and
backward, valid/same padding, strides smaller / equal / larger than the window, odd and empty shapes,
ties (first argmax), non-contiguous inputs; finite-difference gradient checks; errors, the same on
every backend."""
import itertools

import numpy as np
import pytest

import dlcore
from dlcore import kernels as K
from harness import DTYPES, LAYOUTS, Backend, assert_close, gradcheck_fd, make, raises
import reference as ref


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


CPU = Backend("cpu", np)  # the tests of the CPU kernels' threading run on the active ISA only


def check_pool(be, x, pool_size, strides, padding, rng, what=""):
    dtype = x.dtype
    k = pair(pool_size)
    s = pair(strides) if strides is not None else k
    what = f"{be.name} {what}"
    y = be.call(K.max_pool2d_forward, x, pool_size, strides, padding)
    assert y.dtype == dtype and y.shape == K.pool2d_output_shape(x.shape, pool_size, strides, padding)
    assert_close(y, ref.max_pool2d_forward(x, k, s, padding), dtype, what=f"max forward {what}")
    dy = make(y.shape, dtype, rng)
    assert_close(be.call(K.max_pool2d_backward, dy, x, pool_size, strides, padding),
                 ref.max_pool2d_backward(dy, x, k, s, padding), dtype, what=f"max backward {what}")
    assert_close(be.call(K.avg_pool2d_forward, x, pool_size, strides, padding),
                 ref.avg_pool2d_forward(x, k, s, padding), dtype, what=f"avg forward {what}")
    assert_close(be.call(K.avg_pool2d_backward, dy, x.shape, pool_size, strides, padding),
                 ref.avg_pool2d_backward(dy, x.shape, k, s, padding), dtype, what=f"avg backward {what}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_windows_and_strides(backend, dtype, padding, rng):
    # strides below (overlapping windows), at and above the window; square and rectangular
    for (h, w, c), k, s in itertools.product([(9, 11, 5), (8, 8, 16), (13, 7, 33)], [2, 3, (2, 3)],
                                             [None, 1, 2, 3, (1, 2)]):
        x = make((3, h, w, c), dtype, rng)
        check_pool(backend, x, k, s, padding, rng, what=f"x{x.shape} k={k} s={s} {padding}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_odd_shapes(backend, dtype, rng):
    for n, h, w, c, k, s, p in [(1, 1, 1, 1, 1, None, "valid"), (2, 1, 1, 7, 2, None, "same"),
                                (3, 7, 5, 1, (7, 5), 1, "valid"), (1, 33, 31, 17, 5, 4, "same"),
                                (5, 6, 6, 97, 2, 2, "valid"), (2, 29, 3, 61, 3, 2, "same"),
                                (2, 4, 4, 3, 5, 1, "same")]:  # window larger than the image under "same"
        check_pool(backend, make((n, h, w, c), dtype, rng), k, s, p, rng, what=f"{(n, h, w, c)} k={k} s={s} {p}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_ties_go_to_first_argmax(backend, dtype, rng):
    x = np.round(make((2, 8, 9, 21), dtype, rng)).astype(dtype)  # many equal values per window
    for k, s in [(2, None), (3, 1), (3, 2)]:
        check_pool(backend, x, k, s, "valid", rng, what=f"ties k={k} s={s}")
    ones = np.ones((1, 4, 4, 3), dtype)
    dx = backend.call(K.max_pool2d_backward, np.ones((1, 2, 2, 3), dtype), ones, 2)
    expect = np.zeros((1, 4, 4, 3))
    expect[:, ::2, ::2, :] = 1.0  # each window's first pixel
    np.testing.assert_array_equal(dx, expect)


def test_large_and_threads(isa, rng):
    x = make((8, 56, 54, 64), np.float32, rng)
    before = dlcore.get_num_threads()
    try:
        for nt in [1, 2]:
            dlcore.set_num_threads(nt)
            check_pool(CPU, x, 2, None, "valid", rng, what=f"{isa} {nt} threads")
            check_pool(CPU, x, 3, 2, "same", rng, what=f"{isa} {nt} threads overlapping")
    finally:
        dlcore.set_num_threads(before)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_non_contiguous_inputs(backend, dtype, layout, rng):
    x = make((3, 9, 8, 6), dtype, rng, layout)
    dy = make((3, 5, 4, 6), dtype, rng, layout)
    call = backend.call
    assert_close(call(K.max_pool2d_forward, x, 2, padding="same"), ref.max_pool2d_forward(x, (2, 2), (2, 2), "same"),
                 dtype)
    assert_close(call(K.max_pool2d_backward, dy, x, 2, padding="same"),
                 ref.max_pool2d_backward(dy, x, (2, 2), (2, 2), "same"), dtype)
    assert_close(call(K.avg_pool2d_backward, dy, x.shape, 2, padding="same"),
                 ref.avg_pool2d_backward(dy, x.shape, (2, 2), (2, 2), "same"), dtype)
    g = make((3, 6), dtype, rng, layout)
    assert_close(call(K.global_avg_pool2d_forward, x), ref.global_avg_pool2d_forward(x), dtype)
    assert_close(call(K.global_avg_pool2d_backward, g, x.shape), ref.global_avg_pool2d_backward(g, x.shape), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_global_average(backend, dtype, rng):
    for shape in [(1, 1, 1, 1), (3, 7, 5, 33), (2, 13, 1, 16), (4, 28, 28, 64)]:
        x = make(shape, dtype, rng)
        y = backend.call(K.global_avg_pool2d_forward, x)
        assert y.shape == (shape[0], shape[3])
        assert_close(y, ref.global_avg_pool2d_forward(x), dtype)
        dy = make(y.shape, dtype, rng)
        assert_close(backend.call(K.global_avg_pool2d_backward, dy, shape), ref.global_avg_pool2d_backward(dy, shape),
                     dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_sizes(backend, dtype):
    xp = backend.xp
    x = xp.ones((0, 6, 6, 3), dtype)
    for kind in ["max", "avg"]:
        y = getattr(K, f"{kind}_pool2d_forward")(x, 2)
        assert y.shape == (0, 3, 3, 3) and y.dtype == dtype
    assert K.max_pool2d_backward(xp.ones((0, 3, 3, 3), dtype), x, 2).shape == x.shape
    assert K.avg_pool2d_backward(xp.ones((0, 3, 3, 3), dtype), x.shape, 2).shape == x.shape
    assert K.max_pool2d_forward(xp.ones((2, 4, 4, 0), dtype), 2).shape == (2, 2, 2, 0)
    assert K.global_avg_pool2d_forward(x).shape == (0, 3)
    assert K.global_avg_pool2d_backward(xp.ones((0, 3), dtype), x.shape).shape == x.shape
    assert K.max_pool2d_forward(xp.ones((2, 0, 4, 3), dtype), 2, padding="same").shape == (2, 0, 2, 3)
    dx = K.max_pool2d_backward(xp.ones((2, 2, 2, 0), dtype), xp.ones((2, 4, 4, 0), dtype), 2)
    assert dx.shape == (2, 4, 4, 0)


def test_output_shape_matches_keras():
    assert K.pool2d_output_shape((8, 26, 26, 32), 2) == (8, 13, 13, 32)
    assert K.pool2d_output_shape((8, 27, 27, 32), 2) == (8, 13, 13, 32)
    assert K.pool2d_output_shape((8, 27, 27, 32), 2, padding="same") == (8, 14, 14, 32)
    assert K.pool2d_output_shape((8, 27, 20, 32), 3, (2, 1), "valid") == (8, 13, 18, 32)


# ---------------------------------------------------------------------------- gradient checks

@pytest.mark.parametrize("k,s,padding", [(2, None, "valid"), (3, 2, "same"), (3, 1, "valid"), ((2, 3), (3, 1), "same")])
def test_gradcheck(backend, k, s, padding, rng):
    # distinct values, so the max is unique and the finite difference does not cross a tie
    x = rng.permutation(2 * 9 * 7 * 3).reshape(2, 9, 7, 3).astype(np.float64) * 0.1
    r = make(K.pool2d_output_shape(x.shape, k, s, padding), np.float64, rng)
    call = backend.call
    gradcheck_fd(lambda x: float(np.sum(call(K.max_pool2d_forward, x, k, s, padding) * r)), [x],
                 [call(K.max_pool2d_backward, r, x, k, s, padding)], eps=1e-4, rng=rng)
    gradcheck_fd(lambda x: float(np.sum(call(K.avg_pool2d_forward, x, k, s, padding) * r)), [x],
                 [call(K.avg_pool2d_backward, r, x.shape, k, s, padding)], rng=rng)
    g = make((2, 3), np.float64, rng)
    gradcheck_fd(lambda x: float(np.sum(call(K.global_avg_pool2d_forward, x) * g)), [x],
                 [call(K.global_avg_pool2d_backward, g, x.shape)], rng=rng)


# ------------------------------------------------------------------------------------- errors

def test_errors(backend):
    """The same call raises the same exception and message on every backend."""
    xp = backend.xp
    x = xp.ones((2, 6, 6, 3), np.float32)
    with raises(TypeError, "max_pool2d_forward", "float32 or float64", "int64"):
        K.max_pool2d_forward(x.astype(np.int64))
    with raises(TypeError, "avg_pool2d_forward", f"{backend.kind} array", "list"):
        K.avg_pool2d_forward([[1.0]])
    with raises(ValueError, "max_pool2d_forward", "4-D", "(6, 6, 3)"):
        K.max_pool2d_forward(x[0])
    with raises(ValueError, "max_pool2d_forward", "larger than the input", "(2, 6, 6, 3)"):
        K.max_pool2d_forward(x, 7)
    with raises(ValueError, "avg_pool2d_forward", "padding", "'full'"):
        K.avg_pool2d_forward(x, padding="full")
    with raises(ValueError, "max_pool2d_forward", "pool_size", "0"):
        K.max_pool2d_forward(x, 0)
    with raises(ValueError, "max_pool2d_forward", "pool_size", "True"):
        K.max_pool2d_forward(x, True)
    with raises(ValueError, "max_pool2d_forward", "strides", "(1, 2, 3)"):
        K.max_pool2d_forward(x, 2, (1, 2, 3))
    with raises(ValueError, "avg_pool2d_forward", "strides", "(2, True)"):
        K.avg_pool2d_forward(x, 2, (2, True))
    with raises(ValueError, "max_pool2d_backward", "dy", "(2, 3, 3, 3)", "(2, 3, 3, 4)"):
        K.max_pool2d_backward(xp.ones((2, 3, 3, 4), np.float32), x)
    with raises(TypeError, "max_pool2d_backward", "float32", "float64"):
        K.max_pool2d_backward(xp.ones((2, 3, 3, 3)), x)
    with raises(ValueError, "avg_pool2d_backward", "dy", "(2, 3, 3, 3)", "(2, 2, 2, 3)"):
        K.avg_pool2d_backward(xp.ones((2, 2, 2, 3), np.float32), x.shape)
    with raises(ValueError, "avg_pool2d_backward", "x_shape", "tuple of ints"):
        K.avg_pool2d_backward(xp.ones((2, 3, 3, 3), np.float32), (2, 6.0, 6, 3))
    with raises(ValueError, "global_avg_pool2d_forward", "at least one pixel", "(2, 0, 6, 3)"):
        K.global_avg_pool2d_forward(xp.ones((2, 0, 6, 3), np.float32))
    with raises(ValueError, "global_avg_pool2d_backward", "at least one pixel", "(2, 0, 6, 3)"):
        K.global_avg_pool2d_backward(xp.ones((2, 3), np.float32), (2, 0, 6, 3))
    with raises(ValueError, "global_avg_pool2d_backward", "dy", "(2, 3)", "(2, 4)"):
        K.global_avg_pool2d_backward(xp.ones((2, 4), np.float32), x.shape)


def test_binding_safety_net():
    from dlcore import _C
    x = np.ones((2, 6, 6, 3), np.float32)
    with pytest.raises(ValueError):  # output rows beyond the input
        _C.max_pool2d_forward(x, np.empty((2, 9, 3, 3), np.float32), (2, 2, 2, 2, 0, 0))
    with pytest.raises(ValueError):  # padding as large as the window
        _C.avg_pool2d_forward(x, np.empty((2, 3, 3, 3), np.float32), (2, 2, 2, 2, 2, 0))
    with pytest.raises(ValueError):  # channels differ
        _C.max_pool2d_backward(np.ones((2, 3, 3, 4), np.float32), x, np.empty(x.shape, np.float32), (2, 2, 2, 2, 0, 0))
    with pytest.raises(ValueError):  # mixed dtypes
        _C.avg_pool2d_backward(np.ones((2, 3, 3, 3)), np.empty(x.shape, np.float32), (2, 2, 2, 2, 0, 0))
    with pytest.raises(ValueError):
        _C.global_avg_pool2d_forward(x, np.empty((2, 4), np.float32))


# ---------------------------------------------------------------------- global max and 1-D pooling

@pytest.mark.parametrize("dtype", DTYPES)
def test_global_max(backend, dtype, rng):
    for shape in [(1, 1, 1, 1), (3, 7, 5, 33), (2, 13, 1, 16), (2, 9, 9, 64)]:
        x = make(shape, dtype, rng)
        y = backend.call(K.global_max_pool2d_forward, x)
        assert y.shape == (shape[0], shape[3]) and y.dtype == dtype
        assert_close(y, ref.global_max_pool2d_forward(x), dtype)
        dy = make(y.shape, dtype, rng)
        assert_close(backend.call(K.global_max_pool2d_backward, dy, x), ref.global_max_pool2d_backward(dy, x), dtype)
    ties = np.ones((2, 3, 4, 5), dtype)  # every pixel a maximum: the gradient goes to the first
    dx = backend.call(K.global_max_pool2d_backward, np.ones((2, 5), dtype), ties)
    expect = np.zeros(ties.shape)
    expect[:, 0, 0, :] = 1.0
    np.testing.assert_array_equal(dx, expect)
    xp = backend.xp
    assert K.global_max_pool2d_forward(xp.ones((0, 2, 2, 3), dtype)).shape == (0, 3)
    assert K.global_max_pool2d_backward(xp.ones((2, 0), dtype), xp.ones((2, 2, 2, 0), dtype)).shape == (2, 2, 2, 0)


def check_pool1d(be, x, k, s, padding, rng, what=""):
    dtype = x.dtype
    ss = k if s is None else s
    what = f"{be.name} x{x.shape} k={k} s={s} {padding} {what}"
    y = be.call(K.max_pool1d_forward, x, k, s, padding)
    assert y.dtype == dtype and y.shape == K.pool1d_output_shape(x.shape, k, s, padding)
    assert_close(y, ref.max_pool1d_forward(x, k, ss, padding), dtype, what=f"max1d forward {what}")
    dy = make(y.shape, dtype, rng)
    assert_close(be.call(K.max_pool1d_backward, dy, x, k, s, padding), ref.max_pool1d_backward(dy, x, k, ss, padding),
                 dtype, what=f"max1d backward {what}")
    assert_close(be.call(K.avg_pool1d_forward, x, k, s, padding), ref.avg_pool1d_forward(x, k, ss, padding), dtype,
                 what=f"avg1d forward {what}")
    assert_close(be.call(K.avg_pool1d_backward, dy, x.shape, k, s, padding),
                 ref.avg_pool1d_backward(dy, x.shape, k, ss, padding), dtype, what=f"avg1d backward {what}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pool1d(backend, dtype, padding, rng):
    for (n, length, c), k, s in itertools.product([(3, 11, 5), (2, 16, 16), (1, 7, 33)], [1, 2, 3, 5],
                                                  [None, 1, 2, 3]):
        check_pool1d(backend, make((n, length, c), dtype, rng), k, s, padding, rng)
    check_pool1d(backend, make((2, 3, 4), dtype, rng), 5, 1, "same", rng, what="window longer than the sequence")
    for layout in LAYOUTS:
        check_pool1d(backend, make((3, 9, 6), dtype, rng, layout), 2, None, padding, rng, what=layout)


def test_pool1d_zero_sizes_and_output_shape(backend):
    xp = backend.xp
    assert K.max_pool1d_forward(xp.ones((0, 6, 3), np.float32), 2).shape == (0, 3, 3)
    assert K.avg_pool1d_backward(xp.ones((0, 3, 3), np.float32), (0, 6, 3), 2).shape == (0, 6, 3)
    assert K.max_pool1d_backward(xp.ones((2, 3, 0)), xp.ones((2, 6, 0)), 2).shape == (2, 6, 0)
    assert K.pool1d_output_shape((8, 27, 32), 2) == (8, 13, 32)
    assert K.pool1d_output_shape((8, 27, 32), 2, padding="same") == (8, 14, 32)
    assert K.pool1d_output_shape((8, 27, 32), 3, 1) == (8, 25, 32)


def test_pool1d_and_global_max_gradcheck(backend, rng):
    call = backend.call
    x = rng.permutation(2 * 11 * 3).reshape(2, 11, 3).astype(np.float64) * 0.1
    for k, s, padding in [(2, None, "valid"), (3, 1, "same"), (3, 2, "same")]:
        r = make(K.pool1d_output_shape(x.shape, k, s, padding), np.float64, rng)
        gradcheck_fd(lambda x: float(np.sum(call(K.max_pool1d_forward, x, k, s, padding) * r)), [x],
                     [call(K.max_pool1d_backward, r, x, k, s, padding)], eps=1e-4, rng=rng)
        gradcheck_fd(lambda x: float(np.sum(call(K.avg_pool1d_forward, x, k, s, padding) * r)), [x],
                     [call(K.avg_pool1d_backward, r, x.shape, k, s, padding)], rng=rng)
    x4 = rng.permutation(2 * 5 * 4 * 3).reshape(2, 5, 4, 3).astype(np.float64) * 0.1
    g = make((2, 3), np.float64, rng)
    gradcheck_fd(lambda x: float(np.sum(call(K.global_max_pool2d_forward, x) * g)), [x4],
                 [call(K.global_max_pool2d_backward, g, x4)], eps=1e-4, rng=rng)


def test_pool1d_and_global_max_errors(backend):
    xp = backend.xp
    x = xp.ones((2, 6, 3), np.float32)
    with raises(ValueError, "max_pool1d_forward", "3-D", "(2, 6, 6, 3)"):
        K.max_pool1d_forward(xp.ones((2, 6, 6, 3), np.float32))
    with raises(ValueError, "avg_pool1d_forward", "longer than the input", "(2, 6, 3)"):
        K.avg_pool1d_forward(x, 7)
    with raises(ValueError, "max_pool1d_forward", "pool_size", "(2, 2)"):
        K.max_pool1d_forward(x, (2, 2))
    with raises(ValueError, "max_pool1d_forward", "strides", "0"):
        K.max_pool1d_forward(x, 2, 0)
    with raises(ValueError, "avg_pool1d_forward", "padding", "'causal'"):
        K.avg_pool1d_forward(x, padding="causal")
    with raises(ValueError, "max_pool1d_backward", "dy", "(2, 3, 3)", "(2, 4, 3)"):
        K.max_pool1d_backward(xp.ones((2, 4, 3), np.float32), x)
    with raises(TypeError, "max_pool1d_backward", "float32", "float64"):
        K.max_pool1d_backward(xp.ones((2, 3, 3)), x)
    with raises(ValueError, "global_max_pool2d_forward", "at least one pixel", "(2, 0, 6, 3)"):
        K.global_max_pool2d_forward(xp.ones((2, 0, 6, 3), np.float32))
    with raises(ValueError, "global_max_pool2d_backward", "dy", "(2, 3)", "(2, 4)"):
        K.global_max_pool2d_backward(xp.ones((2, 4), np.float32), xp.ones((2, 5, 5, 3), np.float32))
    with raises(ValueError, "global_max_pool2d_forward", "4-D", "(2, 6, 3)"):
        K.global_max_pool2d_forward(x)
