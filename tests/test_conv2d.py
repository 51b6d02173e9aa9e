"""conv2d / conv1d against the float64 reference on every backend: forward (bias + activation),
backward-data, backward-filter, backward-bias; every padding form, strides, dilation, odd and empty
shapes, the Cin = 1 and 1x1 paths, non-contiguous inputs; finite-difference gradient checks; errors,
the same on every backend."""
import itertools

import numpy as np
import pytest

import dlcore
from dlcore import kernels as K
from harness import DTYPES, LAYOUTS, Backend, assert_close, gradcheck_fd, make, raises
import reference as ref

PADDINGS = ["valid", "same", 1, ((0, 2), (1, 0))]
CPU = Backend("cpu", np)  # the tests of the CPU kernels' threading run on the active ISA only


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def check_all(be, x, w, b, strides, padding, dilation, activation=None, rng=None, what="", pads=None):
    """Forward and the three backward kernels of one configuration on backend `be` against the
    reference (`pads`: the explicit padding, when the reference cannot read `padding` itself)."""
    dtype = x.dtype
    s, d = pair(strides), pair(dilation)
    pads = pads or ref.conv2d_pads(padding, x.shape, w.shape, s, d)
    what = f"{be.name} {what}"
    y = be.call(K.conv2d_forward, x, w, b, strides=strides, padding=padding, dilation=dilation, activation=activation)
    expect = ref.conv2d_forward(x, w, b, s, pads, d, activation)
    assert y.shape == expect.shape == K.conv2d_output_shape(x.shape, w.shape, strides, padding, dilation)
    assert y.dtype == dtype
    assert_close(y, expect, dtype, what=f"forward {what}")
    dy = make(y.shape, dtype, rng)
    assert_close(be.call(K.conv2d_backward_data, dy, w, x.shape, strides, padding, dilation),
                 ref.conv2d_backward_data(dy, w, x.shape, s, pads, d), dtype, what=f"backward-data {what}")
    assert_close(be.call(K.conv2d_backward_filter, dy, x, w.shape, strides, padding, dilation),
                 ref.conv2d_backward_filter(dy, x, w.shape, s, pads, d), dtype, what=f"backward-filter {what}")
    assert_close(be.call(K.conv2d_backward_bias, dy), ref.conv2d_backward_bias(dy), dtype,
                 what=f"backward-bias {what}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding", PADDINGS, ids=str)
def test_strides_dilation_padding(backend, dtype, padding, rng):
    for (n, h, w, cin, cout, k), s, d in itertools.product([(2, 9, 11, 5, 7, 3), (1, 8, 7, 3, 17, 2)], [1, 2, 3],
                                                           [1, 2]):
        x, wt, b = make((n, h, w, cin), dtype, rng), make((k, k, cin, cout), dtype, rng), make((cout,), dtype, rng)
        check_all(backend, x, wt, b, s, padding, d, rng=rng, what=f"x{x.shape} w{wt.shape} s={s} d={d} p={padding}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_odd_shapes(backend, dtype, rng):
    # sizes 1, 7, 33 and primes in every dimension, rectangular windows and strides
    cases = [
        (1, 1, 1, 1, 1, (1, 1), 1, "valid"),
        (3, 7, 5, 2, 33, (3, 1), (2, 1), "same"),
        (2, 13, 17, 33, 7, (5, 3), (1, 3), "valid"),
        (1, 33, 7, 7, 31, (3, 3), 2, "same"),
        (5, 11, 13, 17, 1, (2, 4), 1, "same"),
        (1, 3, 3, 61, 47, (3, 3), 1, 1),
        (7, 5, 9, 3, 13, (1, 1), 2, "valid"),
        (2, 6, 6, 4, 5, (6, 6), 1, "valid"),   # window == input: a 1x1 output
    ]
    for n, h, w, cin, cout, (kh, kw), s, p in cases:
        x, wt, b = make((n, h, w, cin), dtype, rng), make((kh, kw, cin, cout), dtype, rng), make((cout,), dtype, rng)
        check_all(backend, x, wt, b, s, p, 1, rng=rng, what=f"x{x.shape} w{wt.shape} s={s} p={p}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", [None, "linear", "relu", "sigmoid", "tanh"])
def test_fused_bias_activation(backend, dtype, activation, rng):
    for cin in [1, 3, 16]:  # the direct Cin = 1 kernel, im2col + GEMM
        x, wt, b = make((2, 10, 9, cin), dtype, rng), make((3, 3, cin, 19), dtype, rng), make((19,), dtype, rng)
        for bias in [b, None]:
            y = backend.call(K.conv2d_forward, x, wt, bias, padding="same", activation=activation)
            assert_close(y, ref.conv2d_forward(x, wt, bias, (1, 1), ((1, 1), (1, 1)), (1, 1), activation), dtype,
                         what=f"{backend.name} cin={cin} {activation} bias={bias is not None}")
    wt1 = make((1, 1, 5, 6), dtype, rng)  # the 1x1 GEMM path
    x1, b1 = make((3, 4, 5, 5), dtype, rng), make((6,), dtype, rng)
    assert_close(backend.call(K.conv2d_forward, x1, wt1, b1, activation=activation),
                 ref.conv2d_forward(x1, wt1, b1, activation=activation), dtype, what=f"{backend.name} 1x1 {activation}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_cin1_direct_path(backend, dtype, rng):
    """Cin = 1 (the first layer of an image network) runs direct kernels, not the GEMM."""
    for (h, w, cout, k), s, d, p in itertools.product([(28, 28, 32, 3), (7, 13, 33, 5), (5, 6, 1, 2)], [1, 2, 3],
                                                      [1, 2], ["valid", "same", ((2, 0), (0, 1))]):
        if (k - 1) * d + 1 > min(h, w):
            continue
        x, wt, b = make((3, h, w, 1), dtype, rng), make((k, k, 1, cout), dtype, rng), make((cout,), dtype, rng)
        check_all(backend, x, wt, b, s, p, d, rng=rng, what=f"cin=1 x{x.shape} w{wt.shape} s={s} d={d} p={p}")


@pytest.mark.parametrize("cin", [1, 3, 4, 8])
def test_direct_pixel_groups(isa, cin, rng):
    """The direct forward (Cin <= 8) and filter gradient (Cin <= 4) take output pixels in groups of 8
    across rows, image by image, from a zero-padded copy of the rows they read, and the direct input
    gradient (Cin = 1, or up to 6 at stride 1) adds into such a copy: images whose pixel count is not
    a multiple of 8, thread ranges that start and end inside an image, every Cout from one lane to
    past two vectors, padding on one side or all, strides and dilation, on each ISA and 1-3 threads."""
    before = dlcore.get_num_threads()
    try:
        for nt in [1, 2, 3]:
            dlcore.set_num_threads(nt)
            for n, (h, w), k, s, d, p, couts in [
                    (5, (28, 28), 5, 2, 1, 2, [16, 1, 40]),
                    (3, (9, 7), 3, 1, 1, ((0, 2), (1, 0)), [8, 24, 48]),
                    (3, (10, 9), 3, 1, 2, "same", [16, 40]),
                    (6, (12, 13), 2, 2, 1, ((1, 0), (1, 0)), [16, 5]),  # the last input row read by no window
                    (4, (11, 10), 3, (2, 1), 2, "same", [33, 17]),
                    (7, (1, 40), (1, 5), (1, 2), 1, "valid", [32, 25])]:
                kh, kw = (k, k) if isinstance(k, int) else k
                for cout in couts:
                    for dtype in DTYPES:
                        x, wt = make((n, h, w, cin), dtype, rng), make((kh, kw, cin, cout), dtype, rng)
                        b = make((cout,), dtype, rng)
                        what = f"{isa} {nt} threads x{x.shape} w{wt.shape} s={s} d={d} p={p}"
                        pads = ref.conv2d_pads(p, x.shape, wt.shape, pair(s), pair(d))
                        got = K.conv2d_forward(x, wt, b, strides=s, padding=p, dilation=d, activation="relu")
                        want = ref.conv2d_forward(x, wt, b, pair(s), pads, pair(d), "relu")
                        assert_close(got, want, dtype, what=f"forward {what}")
                        dy = make(got.shape, dtype, rng)
                        assert_close(K.conv2d_backward_filter(dy, x, wt.shape, s, p, d),
                                     ref.conv2d_backward_filter(dy, x, wt.shape, pair(s), pads, pair(d)), dtype,
                                     what=f"filter gradient {what}")
                        assert_close(K.conv2d_backward_data(dy, wt, x.shape, s, p, d),
                                     ref.conv2d_backward_data(dy, wt, x.shape, pair(s), pads, pair(d)), dtype,
                                     what=f"input gradient {what}")
    finally:
        dlcore.set_num_threads(before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pointwise_path(backend, dtype, rng):
    """A 1x1 stride-1 unpadded conv is one GEMM; strided or padded 1x1 convs go through im2col."""
    for cin, cout, s, p in [(7, 33, 1, "valid"), (32, 64, 1, "same"), (5, 3, 2, "valid"), (4, 4, 1, 1)]:
        x, wt, b = make((3, 9, 7, cin), dtype, rng), make((1, 1, cin, cout), dtype, rng), make((cout,), dtype, rng)
        check_all(backend, x, wt, b, s, p, 1, rng=rng, what=f"1x1 cin={cin} cout={cout} s={s} p={p}")


def test_many_chunks_and_threads(isa, rng):
    """An input whose im2col spans many chunks, on 1 and 2 threads."""
    x, wt, b = make((6, 40, 36, 24), np.float32, rng), make((3, 3, 24, 40), np.float32, rng), make((40,), np.float32,
                                                                                                 rng)
    before = dlcore.get_num_threads()
    try:
        for nt in [1, 2]:
            dlcore.set_num_threads(nt)
            check_all(CPU, x, wt, b, 1, "same", 1, rng=rng, what=f"{isa} {nt} threads")
            check_all(CPU, x, wt, b, 2, "valid", 1, rng=rng, what=f"{isa} {nt} threads s=2")
    finally:
        dlcore.set_num_threads(before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_filter_gradient_pixel_pointers(isa, dtype, rng):
    """Backward-filter with Cout a multiple of every kernel's NR (32, 64), which reads x through one
    pointer per pixel (the k-pointer microkernel): Cin a multiple of MR and not (a last, shorter
    channel panel), padding on every side and asymmetric, strides, dilation, on 1-3 threads, with
    pixels enough to split between the threads and so few that the threads split the taps."""
    cases = [  # n, h, w, cin, cout, (kh, kw), strides, padding, dilation
        (64, 14, 14, 16, 32, (3, 3), 2, 1, 1),          # pixels split, stride 2
        (3, 9, 8, 5, 32, (3, 3), 1, "same", 2),          # Cin 5: one short panel; taps split
        (2, 11, 10, 21, 64, (3, 2), (2, 1), ((2, 0), (1, 3)), 1),
        (4, 1, 40, 25, 32, (1, 5), (1, 2), "valid", 1),  # the Conv1D shape
        (40, 6, 6, 8, 64, (3, 3), 1, "valid", 1),        # Cin = MR on the AVX-512 path
    ]
    before = dlcore.get_num_threads()
    try:
        for nt in [1, 2, 3]:
            dlcore.set_num_threads(nt)
            for n, h, w, cin, cout, (kh, kw), s, p, d in cases:
                x, wt, b = make((n, h, w, cin), dtype, rng), make((kh, kw, cin, cout), dtype, rng), make((cout,), dtype,
                                                                                                        rng)
                check_all(CPU, x, wt, b, s, p, d, rng=rng,
                          what=f"{isa} {nt} threads x{x.shape} w{wt.shape} s={s} p={p} d={d}")
    finally:
        dlcore.set_num_threads(before)


def test_strided_backward_data_small_images(isa, rng):
    """Strided backward-data of many small images: several whole images to a chunk (an odd count,
    so the last chunk is short), on 1, 2 and 3 threads; windows from the padding on every side."""
    before = dlcore.get_num_threads()
    try:
        for nt in [1, 2, 3]:
            dlcore.set_num_threads(nt)
            for n, hw, k, s, p in [(37, (7, 5), 3, 2, 1), (33, (9, 9), 5, 3, 2), (40, (4, 6), 2, (2, 1), 0)]:
                x, wt, b = make((n, *hw, 16), np.float32, rng), make((k, k, 16, 8), np.float32, rng), None
                check_all(CPU, x, wt, b, s, p, 1, rng=rng, what=f"{isa} {nt} threads {n}x{hw} k{k} s{s} p{p}")
    finally:
        dlcore.set_num_threads(before)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_non_contiguous_inputs(backend, dtype, layout, rng):
    x = make((3, 8, 9, 4), dtype, rng, layout)
    wt = make((3, 2, 4, 5), dtype, rng, layout)
    b = make((5,), dtype, rng, layout)
    pads = ((1, 1), (0, 1))
    call = backend.call
    assert_close(call(K.conv2d_forward, x, wt, b, padding="same"), ref.conv2d_forward(x, wt, b, (1, 1), pads), dtype)
    dy = make((3, 8, 9, 5), dtype, rng, layout)
    assert_close(call(K.conv2d_backward_data, dy, wt, x.shape, padding="same"),
                 ref.conv2d_backward_data(dy, wt, x.shape, (1, 1), pads), dtype)
    assert_close(call(K.conv2d_backward_filter, dy, x, wt.shape, padding="same"),
                 ref.conv2d_backward_filter(dy, x, wt.shape, (1, 1), pads), dtype)
    assert_close(call(K.conv2d_backward_bias, dy), ref.conv2d_backward_bias(dy), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_sizes(backend, dtype):
    xp, back = backend.xp, backend.back
    for cin in [1, 3]:
        x, wt = xp.ones((0, 5, 6, cin), dtype), xp.ones((3, 3, cin, 4), dtype)
        y = K.conv2d_forward(x, wt, xp.ones(4, dtype), padding="same")
        assert y.shape == (0, 5, 6, 4) and y.dtype == dtype
        dy = xp.ones((0, 3, 4, 4), dtype)
        assert K.conv2d_backward_data(dy, wt, x.shape).shape == (0, 5, 6, cin)
        dw = back(K.conv2d_backward_filter(dy, x, wt.shape))
        assert dw.shape == wt.shape and np.all(dw == 0)
        np.testing.assert_array_equal(back(K.conv2d_backward_bias(dy)), np.zeros(4))
    # no output channels, no input channels
    x = xp.ones((2, 5, 5, 3), dtype)
    assert K.conv2d_forward(x, xp.ones((3, 3, 3, 0), dtype)).shape == (2, 3, 3, 0)
    np.testing.assert_array_equal(back(K.conv2d_backward_data(xp.ones((2, 3, 3, 0), dtype),
                                                              xp.ones((3, 3, 3, 0), dtype), x.shape)), 0.0)
    y = K.conv2d_forward(xp.ones((2, 5, 5, 0), dtype), xp.ones((3, 3, 0, 4), dtype), xp.full(4, 2.0, dtype))
    np.testing.assert_array_equal(back(y), 2.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_argument(backend, dtype, rng):
    x, wt = make((2, 6, 6, 3), dtype, rng), make((3, 3, 3, 4), dtype, rng)
    xd, wd = backend.to((x, wt))
    out = backend.xp.full((2, 4, 4, 4), np.nan, dtype)
    assert K.conv2d_forward(xd, wd, out=out) is out
    assert_close(out, ref.conv2d_forward(x, wt), dtype)
    big = backend.xp.zeros((2, 4, 4, 8), dtype)
    view = big[..., ::2]
    K.conv2d_forward(xd, wd, out=view)
    assert_close(view, ref.conv2d_forward(x, wt), dtype)
    assert np.all(backend.back(big)[..., 1::2] == 0)


def test_output_shape_matches_keras():
    # "same": ceil(H / s) outputs for any window and dilation
    for h, k, s, d in itertools.product([1, 5, 28, 33], [1, 2, 3, 5], [1, 2, 3], [1, 2]):
        assert K.conv2d_output_shape((1, h, h, 1), (k, k, 1, 4), s, "same", d) == (1, -(-h // s), -(-h // s), 4)
    assert K.conv2d_output_shape((8, 28, 28, 1), (3, 3, 1, 32)) == (8, 26, 26, 32)
    assert K.conv2d_output_shape((8, 28, 28, 1), (3, 3, 1, 32), 2, 1) == (8, 14, 14, 32)
    assert K.conv2d_output_shape((8, 10, 12, 1), (3, 3, 1, 2), (1, 2), ((0, 2), (1, 1)), (2, 1)) == (8, 8, 6, 2)


# ---------------------------------------------------------------------------- gradient checks

@pytest.mark.parametrize("cin", [1, 3])
@pytest.mark.parametrize("strides,padding,dilation", [(1, "valid", 1), (2, "same", 1), (1, ((2, 0), (1, 1)), 2),
                                                      (3, 1, 1)])
def test_gradcheck(backend, cin, strides, padding, dilation, rng):
    """f = sum(conv2d_forward(x, w, b) * r): finite differences vs the three backward kernels."""
    x, w, b = make((2, 9, 8, cin), np.float64, rng), make((3, 2, cin, 4), np.float64, rng), make((4,), np.float64, rng)
    geo = dict(strides=strides, padding=padding, dilation=dilation)
    r = make(K.conv2d_output_shape(x.shape, w.shape, **geo), np.float64, rng)
    call = backend.call

    def f(x, w, b):
        return float(np.sum(call(K.conv2d_forward, x, w, b, **geo) * r))

    grads = [call(K.conv2d_backward_data, r, w, x.shape, **geo), call(K.conv2d_backward_filter, r, x, w.shape, **geo),
             call(K.conv2d_backward_bias, r)]
    gradcheck_fd(f, [x, w, b], grads, rng=rng)


def test_gradcheck_conv1d(backend, rng):
    call = backend.call
    for padding in ["valid", "same", "causal", (2, 1)]:
        x, w, b = make((3, 11, 4), np.float64, rng), make((3, 4, 5), np.float64, rng), make((5,), np.float64, rng)
        geo = dict(strides=2, padding=padding, dilation=2)
        r = make(K.conv1d_output_shape(x.shape, w.shape, **geo), np.float64, rng)

        def f(x, w, b):
            return float(np.sum(call(K.conv1d_forward, x, w, b, **geo) * r))

        grads = [call(K.conv1d_backward_data, r, w, x.shape, **geo),
                 call(K.conv1d_backward_filter, r, x, w.shape, **geo), call(K.conv1d_backward_bias, r)]
        gradcheck_fd(f, [x, w, b], grads, rng=rng)


# ------------------------------------------------------------------------------------- conv1d

@pytest.mark.parametrize("dtype", DTYPES)
def test_conv1d(backend, dtype, rng):
    for (n, length, cin, cout, k), s, d, p in itertools.product([(3, 17, 5, 7, 3), (2, 33, 1, 16, 5)], [1, 2],
                                                                [1, 3], ["valid", "same", "causal", 2, (0, 3)]):
        x, w, b = make((n, length, cin), dtype, rng), make((k, cin, cout), dtype, rng), make((cout,), dtype, rng)
        if p == "causal":
            pads = ((0, 0), ((k - 1) * d, 0))
        elif isinstance(p, str):
            pads = ref.conv2d_pads(p, (n, 1, length, cin), (1, k, cin, cout), (1, s), (1, d))
        elif isinstance(p, int):
            pads = ((0, 0), (p, p))
        else:
            pads = ((0, 0), p)
        x4, w4 = x[:, None], w[None]
        call = backend.call
        y = call(K.conv1d_forward, x, w, b, strides=s, padding=p, dilation=d, activation="tanh")
        assert_close(y, ref.conv2d_forward(x4, w4, b, (1, s), pads, (1, d), "tanh")[:, 0], dtype)
        assert y.shape == K.conv1d_output_shape(x.shape, w.shape, s, p, d)
        dy = make(y.shape, dtype, rng)
        assert_close(call(K.conv1d_backward_data, dy, w, x.shape, s, p, d),
                     ref.conv2d_backward_data(dy[:, None], w4, x4.shape, (1, s), pads, (1, d))[:, 0], dtype)
        assert_close(call(K.conv1d_backward_filter, dy, x, w.shape, s, p, d),
                     ref.conv2d_backward_filter(dy[:, None], x4, w4.shape, (1, s), pads, (1, d))[0], dtype)
        assert_close(call(K.conv1d_backward_bias, dy), ref.conv2d_backward_bias(dy), dtype)


# ------------------------------------------------------------------------------------- errors

def test_errors(backend):
    """The same call raises the same exception and message on every backend."""
    xp = backend.xp
    x, w = xp.ones((2, 5, 5, 3), np.float32), xp.ones((3, 3, 3, 4), np.float32)
    with raises(TypeError, "conv2d_forward", "float32 or float64", "int32"):
        K.conv2d_forward(x.astype(np.int32), w)
    with raises(TypeError, "conv2d_forward", f"{backend.kind} array", "list"):
        K.conv2d_forward([[1.0]], w)
    with raises(TypeError, "conv2d_forward", "float32", "float64"):
        K.conv2d_forward(x, w.astype(np.float64))
    with raises(ValueError, "conv2d_forward", "4-D", "(5, 5, 3)"):
        K.conv2d_forward(x[0], w)
    with raises(ValueError, "conv2d_forward", "4-D", "(3, 3, 4)"):
        K.conv2d_forward(x, w[0])
    with raises(ValueError, "conv2d_forward", "channel mismatch", "(2, 5, 5, 3)", "(3, 3, 2, 4)"):
        K.conv2d_forward(x, xp.ones((3, 3, 2, 4), np.float32))
    with raises(ValueError, "conv2d_forward", "larger than the padded input", "(2, 5, 5, 3)", "(6, 6, 3, 4)"):
        K.conv2d_forward(x, xp.ones((6, 6, 3, 4), np.float32))
    with raises(ValueError, "conv2d_forward", "larger than the padded input", "(2, 5, 5, 3)"):
        K.conv2d_forward(x, w, dilation=3)
    with raises(ValueError, "conv2d_forward", "padding", "'full'"):
        K.conv2d_forward(x, w, padding="full")
    with raises(ValueError, "conv2d_forward", "padding", "-1"):
        K.conv2d_forward(x, w, padding=-1)
    with raises(ValueError, "conv2d_forward", "strides", "0"):
        K.conv2d_forward(x, w, strides=0)
    with raises(ValueError, "conv2d_forward", "dilation", "(1, 2, 3)"):
        K.conv2d_forward(x, w, dilation=(1, 2, 3))
    with raises(ValueError, "conv2d_forward", "bias", "(4,)", "(3,)"):
        K.conv2d_forward(x, w, xp.ones(3, np.float32))
    with raises(ValueError, "conv2d_forward", "activation", "'softmax'"):
        K.conv2d_forward(x, w, activation="softmax")
    with raises(ValueError, "conv2d_backward_data", "dy", "(2, 3, 3, 4)", "(2, 3, 3, 5)"):
        K.conv2d_backward_data(xp.ones((2, 3, 3, 5), np.float32), w, x.shape)
    with raises(TypeError, "conv2d_backward_data", "float32", "float64"):
        K.conv2d_backward_data(xp.ones((2, 3, 3, 4)), w, x.shape)
    with raises(ValueError, "conv2d_backward_filter", "dy", "(2, 3, 3, 4)", "(2, 5, 5, 4)"):
        K.conv2d_backward_filter(xp.ones((2, 5, 5, 4), np.float32), x, w.shape)
    with raises(ValueError, "conv2d_backward_filter", "channel mismatch"):
        K.conv2d_backward_filter(xp.ones((2, 3, 3, 4), np.float32), x, (3, 3, 2, 4))
    with raises(ValueError, "conv2d_backward_bias", "4-D", "(4,)"):
        K.conv2d_backward_bias(xp.ones(4, np.float32))
    with raises(ValueError, "conv1d_forward", "3-D", "(2, 5, 5, 3)"):
        K.conv1d_forward(x, xp.ones((3, 3, 4), np.float32))
    with raises(ValueError, "conv1d_forward", "channel mismatch", "(2, 5, 3)", "(3, 2, 4)"):
        K.conv1d_forward(x[:, 0], xp.ones((3, 2, 4), np.float32))
    with raises(ValueError, "conv1d_forward", "bias", "(4,)", "(2,)"):
        K.conv1d_forward(x[:, 0], xp.ones((3, 3, 4), np.float32), xp.ones(2, np.float32))
    with raises(ValueError, "conv1d_backward_data", "dy", "(2, 3, 4)", "(2, 5, 4)"):
        K.conv1d_backward_data(xp.ones((2, 5, 4), np.float32), xp.ones((3, 3, 4), np.float32), (2, 5, 3))
    with raises(ValueError, "conv1d_backward_filter", "dy", "(2, 3, 4)", "(2, 4, 4)"):
        K.conv1d_backward_filter(xp.ones((2, 4, 4), np.float32), x[:, 0], (3, 3, 4))
    with raises(ValueError, "conv1d_forward", "padding", "'full'"):
        K.conv1d_forward(x[:, 0], xp.ones((3, 3, 4), np.float32), padding="full")
    with raises(ValueError, "conv1d_backward_bias", "3-D", "(2, 5, 5, 3)"):
        K.conv1d_backward_bias(x)


# Every padding form the kernels accept, and the ((top, bottom), (left, right)) it means: the GPU
# copy of the API used to reject the pair (ph, pw) and lists, and to take padding=True for 1.
PADDING_FORMS = [
    ("valid", ((0, 0), (0, 0))), ("VALID", ((0, 0), (0, 0))), ("Same", None), (0, ((0, 0), (0, 0))),
    (2, ((2, 2), (2, 2))), (np.int64(1), ((1, 1), (1, 1))), ((1, 2), ((1, 1), (2, 2))), ([2, 0], ((2, 2), (0, 0))),
    (((0, 2), (1, 0)), ((0, 2), (1, 0))), ([[1, 0], [0, 3]], ((1, 0), (0, 3))), ((np.int32(1), 2), ((1, 1), (2, 2))),
]


@pytest.mark.parametrize("padding,pads", PADDING_FORMS, ids=[repr(p) for p, _ in PADDING_FORMS])
def test_padding_forms(backend, padding, pads, rng):
    """padding=(1, 2) and every other form the CPU accepts give the same result on every backend."""
    x, wt, b = make((2, 7, 6, 3), np.float64, rng), make((3, 2, 3, 4), np.float64, rng), make((4,), np.float64, rng)
    pads = pads or ref.conv2d_pads("same", x.shape, wt.shape)
    check_all(backend, x, wt, b, (2, 1), padding, 1, rng=rng, what=f"padding={padding!r}", pads=pads)


BAD_ARGUMENTS = [  # (keyword arguments, the message's fragments): ValueError on every backend
    (dict(strides=True), ["'strides' must be a positive int or a pair of positive ints, got True"]),
    (dict(strides=(1, False)), ["'strides'", "(1, False)"]),
    (dict(strides=1.0), ["'strides'", "1.0"]),
    (dict(strides=(2,)), ["'strides'", "(2,)"]),
    (dict(dilation=True), ["'dilation' must be a positive int or a pair of positive ints, got True"]),
    (dict(dilation=(0, 1)), ["'dilation'", "(0, 1)"]),
    (dict(padding=True), ["padding must be", "got True"]),
    (dict(padding=(1, -2)), ["padding must be", "(1, -2)"]),
    (dict(padding=((1, 2), (3,))), ["padding must be", "((1, 2), (3,))"]),
    (dict(padding=1.5), ["padding must be", "1.5"]),
    (dict(padding="causal"), ["padding must be", "'causal'"]),
]


def test_remembered_geometry_still_checks():
    """The geometry is remembered per (shapes, arguments) only for plain ints, strs and tuples: an
    argument equal to a remembered one but of another type (True == 1, 1.0 == 1) is checked again and
    raises, a NumPy integer works as the int, and every remembered geometry is the one computed."""
    from dlcore.kernels._conv_geometry import conv2d_geometry, geometry_1d
    xs, ws = (2, 6, 6, 3), (3, 3, 3, 4)
    for _ in range(2):  # the second round reads what the first remembered
        g = conv2d_geometry(xs, ws, 1, 1, 1, "conv2d_forward")
        assert g == conv2d_geometry.__wrapped__(xs, ws, 1, 1, 1, "conv2d_forward")
        assert conv2d_geometry(xs, ws, (1, 1), ((1, 1), (1, 1)), (1, 1), "conv2d_forward") == g
        assert conv2d_geometry(xs, ws, np.int64(1), np.int64(1), 1, "conv2d_forward") == g
        for bad in [dict(strides=True), dict(strides=1.0), dict(strides=(1, True)), dict(padding=True),
                    dict(padding=((1, 1), (1, True))), dict(dilation=1.0)]:
            args = dict(strides=1, padding=1, dilation=1) | bad
            with raises(ValueError, "conv2d_forward"):
                conv2d_geometry(xs, ws, args["strides"], args["padding"], args["dilation"], "conv2d_forward")
        g1 = geometry_1d((2, 9, 3), (3, 3, 4), 2, "causal", 1, "conv1d_forward")
        assert (g1.Wo, g1.pl, g1.pr) == (5, 2, 0)
        with raises(ValueError, "conv1d_forward", "'strides'"):
            geometry_1d((2, 9, 3), (3, 3, 4), True, "causal", 1, "conv1d_forward")
    # the message names the op of the call, not the one remembered
    with raises(ValueError, "conv2d_backward_data", "channel mismatch"):
        conv2d_geometry((2, 6, 6, 5), ws, 1, 1, 1, "conv2d_backward_data")


@pytest.mark.parametrize("kwargs,fragments", BAD_ARGUMENTS, ids=[repr(k) for k, _ in BAD_ARGUMENTS])
def test_bad_arguments_raise_the_same(backend, kwargs, fragments):
    """One exception type and message on every backend (the CPU's): the GPU copy of the API raised
    TypeError for strides=True."""
    xp = backend.xp
    x, w = xp.ones((2, 6, 6, 3), np.float32), xp.ones((3, 3, 3, 4), np.float32)
    dy = xp.ones((2, 4, 4, 4), np.float32)
    for op, call in [("conv2d_forward", lambda: K.conv2d_forward(x, w, **kwargs)),
                     ("conv2d_backward_data", lambda: K.conv2d_backward_data(dy, w, x.shape, **kwargs)),
                     ("conv2d_backward_filter", lambda: K.conv2d_backward_filter(dy, x, w.shape, **kwargs)),
                     ("conv2d_output_shape", lambda: K.conv2d_output_shape(x.shape, w.shape, **kwargs))]:
        with raises(ValueError, op, *fragments):
            call()


def test_conv1d_bad_arguments_raise_the_same(backend):
    xp = backend.xp
    x, w = xp.ones((2, 9, 3), np.float32), xp.ones((3, 3, 4), np.float32)
    for kwargs, fragment in [(dict(strides=True), "got True"), (dict(dilation=0), "got 0"),
                             (dict(padding=(1, -1)), "(1, -1)"), (dict(padding=True), "got True")]:
        with raises(ValueError, "conv1d_forward", fragment):
            K.conv1d_forward(x, w, **kwargs)


def test_binding_safety_net():
    """Calling the private binding directly with bad arguments raises, never crashes."""
    from dlcore import _C
    x, w = np.ones((2, 5, 5, 3), np.float32), np.ones((3, 3, 3, 4), np.float32)
    geo = (1, 1, 0, 0, 0, 0, 1, 1)
    with pytest.raises(ValueError):  # wrong output shape
        _C.conv2d_forward(x, w, None, np.empty((2, 5, 5, 4), np.float32), geo)
    with pytest.raises(ValueError):  # channel mismatch
        _C.conv2d_forward(x, np.ones((3, 3, 2, 4), np.float32), None, np.empty((2, 3, 3, 4), np.float32), geo)
    with pytest.raises(ValueError):  # window larger than the input
        _C.conv2d_forward(x, np.ones((7, 7, 3, 4), np.float32), None, np.empty((2, 1, 1, 4), np.float32), geo)
    with pytest.raises(ValueError):  # non-contiguous
        _C.conv2d_forward(x[:, ::2], w, None, np.empty((2, 1, 3, 4), np.float32), geo)
    with pytest.raises(ValueError):  # mixed dtypes
        _C.conv2d_backward_data(np.ones((2, 3, 3, 4)), w, np.empty(x.shape, np.float32), geo)
    with pytest.raises(ValueError):  # negative padding
        _C.conv2d_backward_filter(np.ones((2, 3, 3, 4), np.float32), x, np.empty(w.shape, np.float32),
                                  (1, 1, -1, 0, 0, 0, 1, 1))
    with pytest.raises(ValueError):  # bias of the wrong length
        _C.conv2d_backward_bias(np.ones((2, 3, 3, 4), np.float32), np.empty(3, np.float32))


@pytest.mark.parametrize("dtype", DTYPES)
def test_blocked_shapes(backend, dtype, rng):
    # shapes that exercise the blocking: Cin > 512 (K blocks of one tap's channel chunk), many M
    # blocks across threads with padding and dilation, pixels split between threads for the
    # filter gradient, and Cin not a multiple of any microkernel's MR
    cases = [
        (4, 12, 12, 520, 40, 3, 1, "same", 1),
        (8, 30, 30, 16, 36, 3, 1, "same", 2),
        (6, 20, 21, 45, 70, 3, 2, 1, 1),
    ]
    for n, h, w, cin, cout, k, s, p, d in cases:
        x, wt, b = make((n, h, w, cin), dtype, rng), make((k, k, cin, cout), dtype, rng), make((cout,), dtype, rng)
        check_all(backend, x, wt, b, s, p, d, activation="relu", rng=rng,
                  what=f"x{x.shape} w{wt.shape} s={s} p={p} d={d}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_winograd_shapes(backend, dtype, rng):
    # 3x3, stride 1, no dilation, with enough pixels per filter: the forward pass (and the
    # backward-data pass, a stride-1 convolution itself) run Winograd F(2x2, 3x3). Odd output
    # sizes (partial tiles), every padding, bias + activation
    for n, h, w, cin, cout, p in [(5, 17, 15, 16, 19, "same"), (3, 24, 23, 16, 16, "valid"),
                                  (4, 20, 19, 18, 17, ((2, 0), (1, 1)))]:
        x, wt, b = make((n, h, w, cin), dtype, rng), make((3, 3, cin, cout), dtype, rng), make((cout,), dtype, rng)
        check_all(backend, x, wt, b, 1, p, 1, activation="tanh", rng=rng, what=f"x{x.shape} w{wt.shape} p={p}")


def test_winograd_few_pixels_many_channels(isa, rng):
    """Winograd on calls with few pixels per filter (it applies once pixels x the smaller channel
    count reach 16K): a 7x7 output (odd: partial tiles), Cout not a multiple of NR, and Cin > 512
    (the filter transform packed into two K chunks), on 1-3 threads (the filter transforms run in
    parallel over the input channels)."""
    before = dlcore.get_num_threads()
    try:
        for nt in [1, 2, 3]:
            dlcore.set_num_threads(nt)
            for n, h, w, cin, cout, p in [(8, 7, 7, 64, 64, "same"), (2, 14, 14, 64, 48, "same"),
                                          (1, 34, 33, 520, 16, 1)]:
                x, wt, b = make((n, h, w, cin), np.float32, rng), make((3, 3, cin, cout), np.float32, rng), make(
                    (cout,), np.float32, rng)
                check_all(CPU, x, wt, b, 1, p, 1, activation="relu", rng=rng,
                          what=f"{isa} {nt} threads x{x.shape} w{wt.shape} p={p}")
    finally:
        dlcore.set_num_threads(before)


@pytest.mark.slow
def test_winograd_channel_chunks(rng):
    # Cin > 512: Winograd's GEMMs split K in chunks (it needs 64 * Cin output pixels to apply)
    x, wt = make((2, 131, 128, 520), np.float32, rng), make((3, 3, 520, 16), np.float32, rng)
    y = K.conv2d_forward(x, wt, padding=1)
    assert_close(y, ref.conv2d_forward(x, wt, None, (1, 1), ((1, 1), (1, 1)), (1, 1), None), np.float32,
                 what="winograd forward, Cin 520")


# --------------------------------------------------------------------- grouped and depthwise convolution

def check_grouped(be, x, w, b, groups, strides, padding, dilation, activation=None, rng=None, what=""):
    """Forward and backward of a grouped convolution against the reference's dense block-diagonal
    filters (reference.grouped_filters)."""
    dtype = x.dtype
    s, d = pair(strides), pair(dilation)
    full = ref.grouped_filters(w, groups)
    pads = ref.conv2d_pads(padding, x.shape, full.shape, s, d)
    what = f"{be.name} groups={groups} x{x.shape} w{w.shape} s={s} d={d} p={padding} {what}"
    geo = dict(strides=strides, padding=padding, dilation=dilation, groups=groups)
    y = be.call(K.conv2d_forward, x, w, b, activation=activation, **geo)
    expect = ref.conv2d_forward(x, full, b, s, pads, d, activation)
    assert y.shape == expect.shape == K.conv2d_output_shape(x.shape, w.shape, **geo) and y.dtype == dtype
    assert_close(y, expect, dtype, what=f"forward {what}")
    dy = make(y.shape, dtype, rng)
    assert_close(be.call(K.conv2d_backward_data, dy, w, x.shape, **geo),
                 ref.conv2d_backward_data(dy, full, x.shape, s, pads, d), dtype, what=f"backward-data {what}")
    assert_close(be.call(K.conv2d_backward_filter, dy, x, w.shape, **geo),
                 ref.grouped_filter_blocks(ref.conv2d_backward_filter(dy, x, full.shape, s, pads, d), groups), dtype,
                 what=f"backward-filter {what}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_grouped(backend, dtype, rng):
    cases = [  # (n, h, w, cin, cout, k, groups, strides, padding, dilation)
        (2, 9, 8, 6, 4, 3, 2, 1, "valid", 1),
        (1, 7, 7, 12, 9, 3, 3, 2, "same", 1),
        (3, 8, 9, 8, 8, 2, 4, 1, ((0, 2), (1, 0)), 2),
        (2, 6, 5, 5, 10, 3, 5, 1, "same", 1),       # depthwise, depth multiplier 2
        (2, 11, 10, 16, 16, 3, 16, 2, "same", 1),   # depthwise, multiplier 1
        (1, 5, 5, 33, 33, 1, 33, 1, "valid", 1),    # depthwise 1x1
        (2, 4, 4, 3, 6, 3, 1, 1, "same", 1),        # groups=1 through the same entry
    ]
    for n, h, w, cin, cout, k, groups, s, p, d in cases:
        x = make((n, h, w, cin), dtype, rng)
        wt, b = make((k, k, cin // groups, cout), dtype, rng), make((cout,), dtype, rng)
        check_grouped(backend, x, wt, b, groups, s, p, d, activation="relu", rng=rng)
        check_grouped(backend, make((n, h, w, cin), dtype, rng, "strided"), wt, None, groups, s, p, d, rng=rng,
                      what="strided input")


@pytest.mark.parametrize("dtype", DTYPES)
def test_grouped_conv1d(backend, dtype, rng):
    for (n, length, cin, cout, k, groups), p in itertools.product([(2, 13, 6, 9, 3, 3), (3, 9, 8, 8, 2, 8)],
                                                                   ["valid", "same", "causal"]):
        x, w, b = make((n, length, cin), dtype, rng), make((k, cin // groups, cout), dtype, rng), make((cout,), dtype,
                                                                                                       rng)
        full = ref.grouped_filters(w[None], groups)
        pads = ((0, 0), ((k - 1) * 2, 0)) if p == "causal" else ref.conv2d_pads(p, (n, 1, length, cin), full.shape,
                                                                               (1, 1), (1, 2))
        geo = dict(strides=1, padding=p, dilation=2, groups=groups)
        call = backend.call
        y = call(K.conv1d_forward, x, w, b, **geo)
        assert y.shape == K.conv1d_output_shape(x.shape, w.shape, **geo)
        assert_close(y, ref.conv2d_forward(x[:, None], full, b, (1, 1), pads, (1, 2))[:, 0], dtype)
        dy = make(y.shape, dtype, rng)
        assert_close(call(K.conv1d_backward_data, dy, w, x.shape, **geo),
                     ref.conv2d_backward_data(dy[:, None], full, (n, 1, length, cin), (1, 1), pads, (1, 2))[:, 0],
                     dtype)
        dw = ref.conv2d_backward_filter(dy[:, None], x[:, None], full.shape, (1, 1), pads, (1, 2))
        assert_close(call(K.conv1d_backward_filter, dy, x, w.shape, **geo),
                     ref.grouped_filter_blocks(dw, groups)[0], dtype)


def test_grouped_gradcheck(backend, rng):
    x, w, b = make((2, 6, 5, 6), np.float64, rng), make((3, 3, 2, 9), np.float64, rng), make((9,), np.float64, rng)
    geo = dict(strides=2, padding="same", dilation=1, groups=3)
    r = make(K.conv2d_output_shape(x.shape, w.shape, **geo), np.float64, rng)
    call = backend.call

    def f(x, w, b):
        return float(np.sum(call(K.conv2d_forward, x, w, b, **geo) * r))

    grads = [call(K.conv2d_backward_data, r, w, x.shape, **geo), call(K.conv2d_backward_filter, r, x, w.shape, **geo),
             call(K.conv2d_backward_bias, r)]
    gradcheck_fd(f, [x, w, b], grads, rng=rng)


def test_grouped_zero_sizes_and_out(backend, rng):
    xp = backend.xp
    assert K.conv2d_forward(xp.ones((0, 5, 5, 4), np.float32), xp.ones((3, 3, 2, 6), np.float32),
                            groups=2).shape == (0, 3, 3, 6)
    assert K.conv2d_backward_filter(xp.ones((0, 3, 3, 6), np.float32), xp.ones((0, 5, 5, 4), np.float32),
                                    (3, 3, 2, 6), groups=2).shape == (3, 3, 2, 6)
    x, w = make((2, 5, 5, 4), np.float32, rng), make((3, 3, 1, 4), np.float32, rng)
    out = backend.to(np.zeros((2, 3, 3, 4), np.float32))
    got = K.conv2d_forward(backend.to(x), backend.to(w), out=out, groups=4)
    assert got is out
    assert_close(backend.back(got), ref.conv2d_forward(x, ref.grouped_filters(w, 4)), np.float32)


def test_grouped_errors(backend):
    xp = backend.xp
    x = xp.ones((2, 5, 5, 6), np.float32)
    with raises(ValueError, "conv2d_forward", "channel mismatch", "(2, 5, 5, 6)", "(3, 3, 3, 6)", "groups=3"):
        K.conv2d_forward(x, xp.ones((3, 3, 3, 6), np.float32), groups=3)
    with raises(ValueError, "conv2d_forward", "multiples of the groups", "groups=4", "(2, 5, 5, 6)"):
        K.conv2d_forward(x, xp.ones((3, 3, 1, 4), np.float32), groups=4)
    with raises(ValueError, "conv2d_forward", "multiples of the groups", "groups=2", "(3, 3, 3, 5)"):
        K.conv2d_forward(x, xp.ones((3, 3, 3, 5), np.float32), groups=2)
    for bad in (0, -1, 1.5, True, "2"):
        with raises(ValueError, "conv2d_backward_data", "groups", repr(bad)):
            K.conv2d_backward_data(xp.ones((2, 3, 3, 6), np.float32), xp.ones((3, 3, 3, 6), np.float32), x.shape,
                                   groups=bad)
    with raises(ValueError, "conv1d_forward", "channel mismatch", "groups=2", "(2, 5, 6)", "expect C_in=12"):
        K.conv1d_forward(x[:, 0], xp.ones((3, 6, 4), np.float32), groups=2)
