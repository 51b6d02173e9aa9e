"""Depthwise convolution against the float64 reference (the dense convolution with block-diagonal filters,
reference.grouped_filters) on every backend: forward with bias, backward-data, backward-filter; depth
multipliers 1-3, strides, dilation, every padding form, odd and empty shapes, non-contiguous inputs,
thread counts; finite-difference gradient checks; errors, the same on every backend."""
import itertools

import numpy as np
import pytest

import dlcore
from dlcore import kernels as K
from harness import DTYPES, LAYOUTS, Backend, assert_close, gradcheck_fd, make, raises
import reference as ref

CPU = Backend("cpu", np)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def dense(w):
    """Depthwise filters (kh, kw, C, m) as dense ones (kh, kw, C, C*m)."""
    kh, kw, c, m = w.shape
    return ref.grouped_filters(np.asarray(w).reshape(kh, kw, 1, c * m), c)


def check(be, x, w, b, strides, padding, dilation, rng, what=""):
    dtype = x.dtype
    s, d = pair(strides), pair(dilation)
    full = dense(w)
    pads = ref.conv2d_pads(padding, x.shape, full.shape, s, d)
    what = f"{be.name} x{x.shape} w{w.shape} s={s} d={d} p={padding} {what}"
    geo = dict(strides=strides, padding=padding, dilation=dilation)
    y = be.call(K.depthwise_conv2d_forward, x, w, b, **geo)
    expect = ref.conv2d_forward(x, full, b, s, pads, d)
    assert y.shape == expect.shape == K.depthwise_conv2d_output_shape(x.shape, w.shape, **geo) and y.dtype == dtype
    assert_close(y, expect, dtype, what=f"forward {what}")
    dy = make(y.shape, dtype, rng)
    assert_close(be.call(K.depthwise_conv2d_backward_data, dy, w, x.shape, **geo),
                 ref.conv2d_backward_data(dy, full, x.shape, s, pads, d), dtype, what=f"backward-data {what}")
    dw = ref.grouped_filter_blocks(ref.conv2d_backward_filter(dy, x, full.shape, s, pads, d), x.shape[3])
    assert_close(be.call(K.depthwise_conv2d_backward_filter, dy, x, w.shape, **geo), dw.reshape(w.shape), dtype,
                 what=f"backward-filter {what}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding", ["valid", "same", 1, ((0, 2), (1, 0))], ids=str)
def test_strides_dilation_padding(backend, dtype, padding, rng):
    shapes = [(2, 9, 8, 5, 3, 1), (1, 7, 10, 16, 2, 2), (1, 9, 11, 35, 3, 1), (1, 12, 10, 18, 5, 1)]  # 3x3, 5x5:
    for (n, h, w, c, k, m), s, d in itertools.product(shapes, [1, 2, 3], [1, 2]):     # filters held in registers
        x, wt, b = make((n, h, w, c), dtype, rng), make((k, k, c, m), dtype, rng), make((c * m,), dtype, rng)
        check(backend, x, wt, b, s, padding, d, rng)


@pytest.mark.parametrize("dtype", DTYPES)
def test_odd_shapes(backend, dtype, rng):
    cases = [  # (n, h, w, c, (kh, kw), m, strides, padding)
        (1, 1, 1, 1, (1, 1), 1, 1, "valid"),
        (3, 7, 5, 33, (3, 1), 1, (2, 1), "same"),
        (2, 13, 17, 7, (5, 3), 3, (1, 3), "valid"),
        (1, 5, 5, 97, (3, 3), 1, 1, "same"),
        (2, 11, 9, 33, (5, 5), 2, 2, "same"),
        (2, 6, 6, 4, (6, 6), 2, 1, "valid"),  # window == input
        (2, 3, 4, 17, (7, 7), 1, 2, "same"),  # window larger than the input
        (1, 2, 70, 3, (1, 66), 1, 1, "valid"),  # wider than the listed taps of the CPU backward-data
    ]
    for n, h, w, c, k, m, s, p in cases:
        x, wt = make((n, h, w, c), dtype, rng), make(k + (c, m), dtype, rng)
        check(backend, x, wt, make((c * m,), dtype, rng), s, p, 1, rng)
        check(backend, x, wt, None, s, p, 1, rng, what="no bias")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_non_contiguous_inputs(backend, dtype, layout, rng):
    x, w, b = make((2, 7, 6, 5), dtype, rng, layout), make((3, 3, 5, 2), dtype, rng, layout), make((10,), dtype, rng)
    check(backend, x, w, b, 1, "same", 1, rng, what=layout)


def test_large_and_threads(isa, rng):
    x, w, b = make((4, 20, 22, 64), np.float32, rng), make((3, 3, 64, 1), np.float32, rng), make((64,), np.float32, rng)
    before = dlcore.get_num_threads()
    try:
        for nt in [1, 2]:
            dlcore.set_num_threads(nt)
            check(CPU, x, w, b, 1, "same", 1, rng, what=f"{isa} {nt} threads")
            check(CPU, x, w, b, 2, "valid", 1, rng, what=f"{isa} {nt} threads")
    finally:
        dlcore.set_num_threads(before)


@pytest.mark.parametrize("nt", [1, 2, 3])
@pytest.mark.parametrize("l3", [None, 16 << 10], ids=["caches", "small-l3"])
def test_filter_gradient_tiles(isa, nt, l3, rng):
    """The stride-1 forward (3x3 and 5x5) and 3x3 backward-filter run in tiles of output rows x
    columns, channel block by block inside each tile: heights that leave a one-row tile at the end
    of an image, thread ranges that start inside an image and inside a tile (1-3 threads over 3 x 9
    rows), widths that leave a partial column tile, C % 16 channels, every padding form, float32 and
    float64; with the L3 set to 16 KiB too, where the next tile's rows are prefetched."""
    from dlcore import _C
    before, caches = dlcore.get_num_threads(), _C.cache_sizes()
    try:
        if l3:
            _C.set_cache_sizes(caches["l1d"], caches["l2"], l3)
        dlcore.set_num_threads(nt)
        for dtype, padding, k in itertools.product(DTYPES, ["same", "valid", ((0, 2), (1, 0))], [3, 5]):
            for shape in [(3, 9, 15, 40), (2, 5, 8, 16), (1, 3, 23, 19)]:
                if k > shape[1] and padding != "same":
                    continue
                x, w = make(shape, dtype, rng), make((k, k, shape[3], 1), dtype, rng)
                check(CPU, x, w, None, 1, padding, 1, rng, what=f"{isa} {nt} threads L3 {l3} {k}x{k}")
    finally:
        _C.set_cache_sizes(caches["l1d"], caches["l2"], caches["l3"])
        dlcore.set_num_threads(before)


@pytest.mark.parametrize("nt", [1, 2, 3])
def test_streamed_output(isa, nt, rng):
    """An output larger than the last-level cache is computed row by row and written with streaming
    stores (forward, and backward-data with stride 1, which runs as a forward pass): with the L3 set to
    16 KiB, rows whose length in floats is odd and C % 16 channels, so that each row starts at another
    offset from a 64-byte boundary and ends in a partial vector, against the reference, on 1-3
    threads. A 5x5 filter too (one channel block per pass), and float64 (never streamed) beside."""
    from dlcore import _C
    before, caches = dlcore.get_num_threads(), _C.cache_sizes()
    try:
        _C.set_cache_sizes(caches["l1d"], caches["l2"], 16 << 10)
        dlcore.set_num_threads(nt)
        for shape, k, dtype in [((2, 13, 15, 37), 3, np.float32), ((1, 11, 9, 21), 5, np.float32),
                                ((2, 13, 15, 37), 3, np.float64)]:
            x, w, b = make(shape, dtype, rng), make((k, k, shape[3], 1), dtype, rng), make((shape[3],), dtype, rng)
            check(CPU, x, w, b, 1, "same", 1, rng, what=f"{isa} {nt} threads, streamed")
    finally:
        _C.set_cache_sizes(caches["l1d"], caches["l2"], caches["l3"])
        dlcore.set_num_threads(before)


@pytest.mark.parametrize("nt", [1, 2, 3])
def test_tiles_stream_output(isa, nt, rng):
    """The stride-1 forward in tiles (3x3, 5x5), with x and y together beyond the L3 but y within it
    (an L3 set between the two): float32 with C a multiple of the lanes puts each tile's outputs in a
    buffer and streams its row segments out with non-temporal stores, the partial lines at either
    end of a segment with plain ones. Outputs written straight into a preallocated y, at a 64-byte
    boundary and 4 bytes past one, against the reference; float64 (never streamed) beside;
    backward-data at stride 1 runs as a forward, into such a dx too."""
    from dlcore import _C
    from dlcore.kernels import depthwise_conv2d as D
    before, caches = dlcore.get_num_threads(), _C.cache_sizes()

    def at(shape, dtype, shift):  # an uninitialised array starting `shift` bytes past a 64-byte boundary
        n = int(np.prod(shape))
        buf = np.empty(n + 128 // np.dtype(dtype).itemsize, dtype)
        first = (-buf.ctypes.data % 64 + shift) // buf.itemsize
        return buf[first:first + n].reshape(shape)

    try:
        dlcore.set_num_threads(nt)
        for (n, h, w, c), k, dtype, shift in itertools.product([(2, 7, 23, 32), (1, 6, 9, 48)], [3, 5],
                                                               DTYPES, [0, 4]):
            x, wt = make((n, h, w, c), dtype, rng), make((k, k, c, 1), dtype, rng)
            b = make((c,), dtype, rng)
            _C.set_cache_sizes(caches["l1d"], caches["l2"], 3 * x.nbytes // 2)  # y <= L3 < x + y
            g = D._geometry(x.shape, wt.shape, 1, "same", 1, "test")
            y = at(g.y_shape, dtype, shift * (dtype == np.float32))
            y[...] = np.nan
            D.depthwise(np, D.CPU, x, wt, b, g, y)
            pads = ref.conv2d_pads("same", x.shape, (k, k, c, c), (1, 1), (1, 1))
            what = f"{isa} {nt} threads {x.shape} {k}x{k} {np.dtype(dtype).name} y at +{shift}"
            assert_close(y, ref.conv2d_forward(x, dense(wt), b, (1, 1), pads, (1, 1)), dtype, what=what)
            dy = make(g.y_shape, dtype, rng)
            dx = at(x.shape, dtype, shift * (dtype == np.float32))
            dx[...] = np.nan
            D.depthwise_backward_data(np, D.CPU, dy, wt, g, dx)
            assert_close(dx, ref.conv2d_backward_data(dy, dense(wt), x.shape, (1, 1), pads, (1, 1)), dtype,
                         what=f"backward-data {what}")
    finally:
        _C.set_cache_sizes(caches["l1d"], caches["l2"], caches["l3"])
        dlcore.set_num_threads(before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_sizes(backend, dtype):
    xp = backend.xp
    w = xp.ones((3, 3, 4, 2), dtype)
    assert K.depthwise_conv2d_forward(xp.ones((0, 5, 5, 4), dtype), w).shape == (0, 3, 3, 8)
    assert K.depthwise_conv2d_backward_data(xp.ones((0, 3, 3, 8), dtype), w, (0, 5, 5, 4)).shape == (0, 5, 5, 4)
    dw = K.depthwise_conv2d_backward_filter(xp.ones((0, 3, 3, 8), dtype), xp.ones((0, 5, 5, 4), dtype), w.shape)
    assert dw.shape == w.shape and float(abs(dw).sum()) == 0.0
    assert K.depthwise_conv2d_forward(xp.ones((2, 5, 5, 0), dtype), xp.ones((3, 3, 0, 2), dtype)).shape == (2, 3, 3, 0)


def test_gradcheck(backend, rng):
    x, w, b = make((2, 7, 6, 3), np.float64, rng), make((3, 2, 3, 2), np.float64, rng), make((6,), np.float64, rng)
    call = backend.call
    for geo in [dict(strides=1, padding="valid", dilation=1), dict(strides=2, padding="same", dilation=1),
                dict(strides=1, padding=((2, 0), (1, 1)), dilation=2)]:
        r = make(K.depthwise_conv2d_output_shape(x.shape, w.shape, **geo), np.float64, rng)

        def f(x, w, b):
            return float(np.sum(call(K.depthwise_conv2d_forward, x, w, b, **geo) * r))

        grads = [call(K.depthwise_conv2d_backward_data, r, w, x.shape, **geo),
                 call(K.depthwise_conv2d_backward_filter, r, x, w.shape, **geo), r.sum(axis=(0, 1, 2))]
        gradcheck_fd(f, [x, w, b], grads, rng=rng)


def test_errors(backend):
    xp = backend.xp
    x, w = xp.ones((2, 5, 5, 3), np.float32), xp.ones((3, 3, 3, 2), np.float32)
    with raises(TypeError, "depthwise_conv2d_forward", "float32 or float64", "int32"):
        K.depthwise_conv2d_forward(x.astype(np.int32), w)
    with raises(TypeError, "depthwise_conv2d_forward", "float32", "float64"):
        K.depthwise_conv2d_forward(x, w.astype(np.float64))
    with raises(ValueError, "depthwise_conv2d_forward", "4-D", "(3, 3, 2)"):
        K.depthwise_conv2d_forward(x, w[0])
    with raises(ValueError, "depthwise_conv2d_forward", "channel mismatch", "(2, 5, 5, 3)", "(3, 3, 4, 2)"):
        K.depthwise_conv2d_forward(x, xp.ones((3, 3, 4, 2), np.float32))
    with raises(ValueError, "depthwise_conv2d_forward", "depth multiplier", "(3, 3, 3, 0)"):
        K.depthwise_conv2d_forward(x, xp.ones((3, 3, 3, 0), np.float32))
    with raises(ValueError, "depthwise_conv2d_forward", "bias", "(6,)", "(3,)"):
        K.depthwise_conv2d_forward(x, w, xp.ones(3, np.float32))
    with raises(ValueError, "depthwise_conv2d_forward", "larger than the padded input"):
        K.depthwise_conv2d_forward(x, xp.ones((7, 7, 3, 1), np.float32))
    with raises(ValueError, "depthwise_conv2d_forward", "strides", "0"):
        K.depthwise_conv2d_forward(x, w, strides=0)
    with raises(ValueError, "depthwise_conv2d_backward_data", "dy", "(2, 3, 3, 6)", "(2, 3, 3, 3)"):
        K.depthwise_conv2d_backward_data(xp.ones((2, 3, 3, 3), np.float32), w, x.shape)
    with raises(ValueError, "depthwise_conv2d_backward_filter", "w_shape", "tuple of ints"):
        K.depthwise_conv2d_backward_filter(xp.ones((2, 3, 3, 6), np.float32), x, (3, 3, 3.0, 2))


def test_binding_safety_net():
    from dlcore import _C
    x, w = np.ones((2, 5, 5, 3), np.float32), np.ones((3, 3, 3), np.float32)
    geo = (1, 1, 0, 0, 0, 0, 1, 1)
    with pytest.raises(ValueError):  # output of the wrong size
        _C.depthwise_conv2d_forward(x, w, None, np.empty((2, 4, 3, 3), np.float32), geo)
    with pytest.raises(ValueError):  # channel mismatch
        _C.depthwise_conv2d_forward(x, np.ones((3, 3, 4), np.float32), None, np.empty((2, 3, 3, 3), np.float32), geo)
    with pytest.raises(ValueError):  # negative padding
        _C.depthwise_conv2d_backward_data(np.ones((2, 3, 3, 3), np.float32), w, np.empty(x.shape, np.float32),
                                          (1, 1, -1, 0, 0, 0, 1, 1))
    with pytest.raises(ValueError):  # mixed dtypes
        _C.depthwise_conv2d_backward_filter(np.ones((2, 3, 3, 3)), x, np.empty(w.shape, np.float32), geo)
    with pytest.raises(ValueError):  # filter larger than the input
        _C.depthwise_conv2d_forward(x, np.ones((7, 7, 3), np.float32), None, np.empty((2, 1, 1, 3), np.float32), geo)
