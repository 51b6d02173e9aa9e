"""The bindings' own checks (dlcore._C, called directly, past the kernel API): any argument gives a
ValueError, never a crash or an out-of-bounds access. Sizes the caller passes (outer * n * inner,
N * D, the pooling geometry) are multiplied with overflow checks (csrc/python/checked.h): a product
that wraps around 2^64 to the array's size used to pass the size check and send a kernel far past
the array. The fused optimizer updates refuse buffers that share memory."""
import numpy as np
import pytest

import dlcore
from dlcore import _C
from harness import raises

F32 = np.float32
HUGE = 2 ** 62


def test_softmax_dimensions_that_wrap_around_are_refused():
    x, out = np.zeros(4, F32), np.zeros(4, F32)
    # (2^62 + 1) * 4 * 1 wraps to 4, the array's size: the kernel then walked 2^62 rows
    with raises(ValueError, "softmax_forward", "(outer, n, inner)"):
        _C.softmax_forward(x, out, HUGE + 1, 4, 1)
    with raises(ValueError, "softmax_backward", "(outer, n, inner)"):
        _C.softmax_backward(x, x.copy(), out, 1, 4, HUGE + 1)
    with raises(ValueError, "softmax_forward"):
        _C.softmax_forward(x, out, -1, -4, 1)
    _C.softmax_forward(x, out, 1, 4, 1)  # the right sizes still work
    np.testing.assert_allclose(out, 0.25)


def test_dense_loss_sizes_that_wrap_around_are_refused():
    empty = np.zeros(0, F32)
    loss, mse = np.zeros(4, F32), int(_C.Loss.mse)
    # 4 * 2^62 wraps to 0, the size of the empty predictions: the kernel then read rows of 2^62 values
    with raises(ValueError, "loss_dense", "(N, D)"):
        _C.loss_dense(mse, empty, empty, None, 4, HUGE, 1.0, 1e-7, loss, empty.copy())
    with raises(ValueError, "loss_sparse", "(N, C)"):
        _C.loss_sparse(int(_C.Loss.categorical_xent), empty, np.zeros(4, np.int64), None, 4, HUGE, 1.0, 1e-7, loss,
                       empty.copy())
    with raises(ValueError, "loss_dense"):
        _C.loss_dense(mse, empty, empty, None, 0, 2 ** 61, 1.0, 1e-7, np.zeros(0, F32), empty.copy())


@pytest.mark.parametrize("op", ["max_pool2d_forward", "avg_pool2d_forward"])
def test_pool_geometry_that_overflows_is_refused(op):
    x, y = np.ones((1, 4, 4, 1), F32), np.zeros((1, 3, 1, 1), F32)
    # (ho - 1) * sh = 2 * 2^62 wraps negative and passed "every window starts inside the image": the
    # kernel then read the pixel at row 2^62
    with raises(ValueError, op, "geometry"):
        getattr(_C, op)(x, y, (1, 4, HUGE, 1, 0, 0))
    with raises(ValueError, op, "geometry"):
        getattr(_C, op)(x, y, (2 ** 62, 2 ** 62, 1, 1, 0, 0))  # the work estimate overflows
    with raises(ValueError, op, "outside the input"):
        getattr(_C, op)(x, y, (1, 4, 2, 1, 0, 0))  # a row at 4: outside a 4-row image
    getattr(_C, op)(x, y, (2, 4, 1, 1, 0, 0))
    assert (y == 1).all()


def test_pool_backward_geometry_that_overflows_is_refused():
    dy, x, dx = np.ones((1, 3, 1, 1), F32), np.ones((1, 4, 4, 1), F32), np.zeros((1, 4, 4, 1), F32)
    with raises(ValueError, "max_pool2d_backward", "geometry"):
        _C.max_pool2d_backward(dy, x, dx, (1, 4, HUGE, 1, 0, 0))
    with raises(ValueError, "avg_pool2d_backward", "geometry"):
        _C.avg_pool2d_backward(dy, dx, (1, 4, HUGE, 1, 0, 0))


def test_conv_geometry_that_overflows_is_refused():
    x, w, y = np.ones((1, 4, 4, 1), F32), np.ones((2, 2, 1, 1), F32), np.zeros((1, 3, 3, 1), F32)
    with raises(ValueError, "conv2d_forward", "geometry"):
        _C.conv2d_forward(x, w, None, y, (1, 1, 0, 0, 0, 0, 2 ** 63 - 1, 1))  # (kh - 1) * dilation + 1
    with raises(ValueError, "conv2d_forward", "geometry"):
        _C.conv2d_forward(x, w, None, y, (1, 1, 2 ** 63 - 2, 2 ** 63 - 2, 0, 0, 1, 1))  # h + pt + pb
    _C.conv2d_forward(x, w, None, y, (1, 1, 0, 0, 0, 0, 1, 1))
    assert (y == 4).all()


def _adam(p, g, m, v, vmax=None):
    _C.adam_update(p, g, m, v, vmax, 0.1, 1, 0.9, 0.999, 1e-7, 0.0, False, vmax is not None)


def test_fused_optimizer_updates_refuse_aliased_buffers():
    p, g, m = np.zeros(8, F32), np.ones(8, F32), np.zeros(8, F32)
    with raises(ValueError, "adam_update", "'m' and 'v' share memory"):
        _adam(p, g, m, m)  # m and v the same array: each step read the v it had just written as m
    buf = np.zeros(12, F32)
    with raises(ValueError, "adam_update", "share memory"):
        _adam(p, g, buf[:8], buf[4:])  # overlapping views
    with raises(ValueError, "adam_update", "'param' and 'grad' share memory"):
        _adam(p, p, m, np.zeros(8, F32))
    with raises(ValueError, "adam_update", "'v' and 'v_max'"):
        v = np.zeros(8, F32)
        _adam(p, g, m, v, v)
    with raises(ValueError, "sgd_update", "'param' and 'velocity'"):
        _C.sgd_update(p, g, p, 0.1, 0.9, False, 0.0)
    with raises(ValueError, "adagrad_update", "'accum' and 'grad'"):
        _C.adagrad_update(p, g, g, 0.1, 1e-7, 0.0)
    with raises(ValueError, "rmsprop_update", "'sq_avg' and 'mom_buf'"):
        sq = np.zeros(8, F32)
        _C.rmsprop_update(p, g, sq, sq, None, 0.1, 0.9, 1e-7, 0.9, False, 0.0)
    # adjacent, not overlapping: fine; and the grad may be read by nothing else but is never written
    buf = np.zeros(16, F32)
    _adam(p, g, buf[:8], buf[8:])
    assert np.isfinite(p).all() and (p != 0).all()


def test_direct_calls_cannot_crash_the_process():
    # a last sweep of absurd arguments through every binding that takes a size or a geometry
    x = np.zeros((2, 3), F32)
    for call in (lambda: _C.softmax_forward(x, x.copy(), 2 ** 63 - 1, 2 ** 63 - 1, 2 ** 63 - 1),
                 lambda: _C.loss_dense(0, x, x, None, -1, -6, 1.0, 1e-7, np.zeros(2, F32), x.copy()),
                 lambda: _C.max_pool2d_forward(np.zeros((1, 2, 2, 1), F32), np.zeros((1, 1, 1, 1), F32),
                                               (2 ** 63 - 1,) * 6),
                 lambda: _C.gemm(x, x, np.zeros((2, 2), F32), False, True, 1.0, 0.0, None, 99)):
        with pytest.raises(ValueError):
            call()
    assert dlcore.kernels.softmax_forward(np.zeros((2, 3), F32)).shape == (2, 3)


def test_dtypes_are_compared_by_value_not_identity():
    # An unpickled float32 array carries its own dtype object, not NumPy's singleton: the bindings
    # compared dtypes by identity and refused it ("expected float32 or float64, got float32").
    import pickle

    from dlcore import kernels as K
    for dtype in (np.float32, np.float64):
        x = pickle.loads(pickle.dumps(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype)))
        assert x.dtype is not np.dtype(dtype) and x.dtype == dtype
        want = np.exp(x - x.max(-1, keepdims=True))
        np.testing.assert_allclose(K.softmax_forward(x), want / want.sum(-1, keepdims=True), rtol=1e-6)
        out = pickle.loads(pickle.dumps(np.empty_like(x)))
        _C.softmax_forward(x, out, 1, x.size, 1)  # the output's dtype decides the dispatch
        np.testing.assert_allclose(out.reshape(-1), np.exp(x.reshape(-1)) / np.exp(x).sum(), rtol=1e-6)
        a = pickle.loads(pickle.dumps(np.eye(3, dtype=dtype)))
        np.testing.assert_allclose(K.gemm(a, a), np.eye(3), rtol=1e-6)
    swapped = np.ones(3, ">f4")  # the same type in the other byte order is not float32 to the kernels
    with raises(ValueError, "softmax_forward"):
        _C.softmax_forward(swapped, np.empty(3, ">f4"), 1, 3, 1)


def test_depthwise_and_upsample_geometry_that_overflows_is_refused():
    x, w, y = np.ones((1, 4, 4, 1), F32), np.ones((2, 2, 1), F32), np.zeros((1, 3, 3, 1), F32)
    with raises(ValueError, "depthwise_conv2d_forward", "geometry"):
        _C.depthwise_conv2d_forward(x, w, None, y, (1, 1, 0, 0, 0, 0, 2 ** 63 - 1, 1))
    with raises(ValueError, "depthwise_conv2d_forward", "geometry"):
        _C.depthwise_conv2d_forward(x, w, None, y, (1, 1, 2 ** 63 - 2, 2 ** 63 - 2, 0, 0, 1, 1))
    _C.depthwise_conv2d_forward(x, w, None, y, (1, 1, 0, 0, 0, 0, 1, 1))
    assert (y == 4).all()
    nearest = int(_C.Interpolation.nearest)
    # H * fh = 4 * 2**62 wraps to 0, the height of the output given
    with raises(ValueError, "upsample2d_forward", "overflows"):
        _C.upsample2d_forward(np.ones((1, 4, 1, 1), F32), np.zeros((1, 0, 1, 1), F32), (2 ** 62, 1), nearest)
    with raises(ValueError, "upsample2d_backward", "overflows"):
        _C.upsample2d_backward(np.zeros((1, 0, 1, 1), F32), np.ones((1, 4, 1, 1), F32), (2 ** 62, 1), nearest)
