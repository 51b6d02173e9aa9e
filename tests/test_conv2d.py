"""conv2d / conv1d against the float64 reference: forward (bias + activation), backward-data,
backward-filter, backward-bias; every padding mode, strides, dilation, odd and empty shapes, the
Cin = 1 and 1x1 paths, non-contiguous inputs, every ISA; finite-difference gradient checks; errors."""
import itertools

import numpy as np
import pytest

import dlcore
from dlcore import kernels as K
from harness import DTYPES, LAYOUTS, assert_close, gradcheck_fd, make, raises
import reference as ref

PADDINGS = ["valid", "same", 1, ((0, 2), (1, 0))]


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def check_all(x, w, b, strides, padding, dilation, activation=None, rng=None, what=""):
    """Forward and the three backward kernels of one configuration against the reference."""
    dtype = x.dtype
    s, d = pair(strides), pair(dilation)
    pads = ref.conv2d_pads(padding, x.shape, w.shape, s, d)
    y = K.conv2d_forward(x, w, b, strides=strides, padding=padding, dilation=dilation, activation=activation)
    expect = ref.conv2d_forward(x, w, b, s, pads, d, activation)
    assert y.shape == expect.shape == K.conv2d_output_shape(x.shape, w.shape, strides, padding, dilation)
    assert y.dtype == dtype
    assert_close(y, expect, dtype, what=f"forward {what}")
    dy = make(y.shape, dtype, rng)
    assert_close(K.conv2d_backward_data(dy, w, x.shape, strides, padding, dilation),
                 ref.conv2d_backward_data(dy, w, x.shape, s, pads, d), dtype, what=f"backward-data {what}")
    assert_close(K.conv2d_backward_filter(dy, x, w.shape, strides, padding, dilation),
                 ref.conv2d_backward_filter(dy, x, w.shape, s, pads, d), dtype, what=f"backward-filter {what}")
    assert_close(K.conv2d_backward_bias(dy), ref.conv2d_backward_bias(dy), dtype, what=f"backward-bias {what}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding", PADDINGS, ids=str)
def test_strides_dilation_padding(isa, dtype, padding, rng):
    for (n, h, w, cin, cout, k), s, d in itertools.product([(2, 9, 11, 5, 7, 3), (1, 8, 7, 3, 17, 2)], [1, 2, 3],
                                                           [1, 2]):
        x, wt, b = make((n, h, w, cin), dtype, rng), make((k, k, cin, cout), dtype, rng), make((cout,), dtype, rng)
        check_all(x, wt, b, s, padding, d, rng=rng, what=f"{isa} x{x.shape} w{wt.shape} s={s} d={d} p={padding}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_odd_shapes(isa, dtype, rng):
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
        check_all(x, wt, b, s, p, 1, rng=rng, what=f"{isa} x{x.shape} w{wt.shape} s={s} p={p}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", [None, "linear", "relu", "sigmoid", "tanh"])
def test_fused_bias_activation(isa, dtype, activation, rng):
    for cin in [1, 3, 16]:  # the direct Cin = 1 kernel, im2col + GEMM
        x, wt, b = make((2, 10, 9, cin), dtype, rng), make((3, 3, cin, 19), dtype, rng), make((19,), dtype, rng)
        for bias in [b, None]:
            y = K.conv2d_forward(x, wt, bias, padding="same", activation=activation)
            assert_close(y, ref.conv2d_forward(x, wt, bias, (1, 1), ((1, 1), (1, 1)), (1, 1), activation), dtype,
                         what=f"{isa} cin={cin} {activation} bias={bias is not None}")
    wt1 = make((1, 1, 5, 6), dtype, rng)  # the 1x1 GEMM path
    x1, b1 = make((3, 4, 5, 5), dtype, rng), make((6,), dtype, rng)
    assert_close(K.conv2d_forward(x1, wt1, b1, activation=activation),
                 ref.conv2d_forward(x1, wt1, b1, activation=activation), dtype, what=f"{isa} 1x1 {activation}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_cin1_direct_path(isa, dtype, rng):
    """Cin = 1 (the first layer of an image network) runs direct kernels, not the GEMM."""
    for (h, w, cout, k), s, d, p in itertools.product([(28, 28, 32, 3), (7, 13, 33, 5), (5, 6, 1, 2)], [1, 2, 3],
                                                      [1, 2], ["valid", "same", ((2, 0), (0, 1))]):
        if (k - 1) * d + 1 > min(h, w):
            continue
        x, wt, b = make((3, h, w, 1), dtype, rng), make((k, k, 1, cout), dtype, rng), make((cout,), dtype, rng)
        check_all(x, wt, b, s, p, d, rng=rng, what=f"{isa} cin=1 x{x.shape} w{wt.shape} s={s} d={d} p={p}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_pointwise_path(isa, dtype, rng):
    """A 1x1 stride-1 unpadded conv is one GEMM; strided or padded 1x1 convs go through im2col."""
    for cin, cout, s, p in [(7, 33, 1, "valid"), (32, 64, 1, "same"), (5, 3, 2, "valid"), (4, 4, 1, 1)]:
        x, wt, b = make((3, 9, 7, cin), dtype, rng), make((1, 1, cin, cout), dtype, rng), make((cout,), dtype, rng)
        check_all(x, wt, b, s, p, 1, rng=rng, what=f"{isa} 1x1 cin={cin} cout={cout} s={s} p={p}")


def test_many_chunks_and_threads(isa, rng):
    """An input whose im2col spans many chunks, on 1 and 2 threads."""
    x, wt, b = make((6, 40, 36, 24), np.float32, rng), make((3, 3, 24, 40), np.float32, rng), make((40,), np.float32,
                                                                                                 rng)
    before = dlcore.get_num_threads()
    try:
        for nt in [1, 2]:
            dlcore.set_num_threads(nt)
            check_all(x, wt, b, 1, "same", 1, rng=rng, what=f"{isa} {nt} threads")
            check_all(x, wt, b, 2, "valid", 1, rng=rng, what=f"{isa} {nt} threads s=2")
    finally:
        dlcore.set_num_threads(before)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_non_contiguous_inputs(isa, dtype, layout, rng):
    x = make((3, 8, 9, 4), dtype, rng, layout)
    wt = make((3, 2, 4, 5), dtype, rng, layout)
    b = make((5,), dtype, rng, layout)
    pads = ((1, 1), (0, 1))
    assert_close(K.conv2d_forward(x, wt, b, padding="same"), ref.conv2d_forward(x, wt, b, (1, 1), pads), dtype)
    dy = make((3, 8, 9, 5), dtype, rng, layout)
    assert_close(K.conv2d_backward_data(dy, wt, x.shape, padding="same"),
                 ref.conv2d_backward_data(dy, wt, x.shape, (1, 1), pads), dtype)
    assert_close(K.conv2d_backward_filter(dy, x, wt.shape, padding="same"),
                 ref.conv2d_backward_filter(dy, x, wt.shape, (1, 1), pads), dtype)
    assert_close(K.conv2d_backward_bias(dy), ref.conv2d_backward_bias(dy), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_sizes(isa, dtype):
    for cin in [1, 3]:
        x, wt = np.ones((0, 5, 6, cin), dtype), np.ones((3, 3, cin, 4), dtype)
        y = K.conv2d_forward(x, wt, np.ones(4, dtype), padding="same")
        assert y.shape == (0, 5, 6, 4) and y.dtype == dtype
        dy = np.ones((0, 3, 4, 4), dtype)
        assert K.conv2d_backward_data(dy, wt, x.shape).shape == (0, 5, 6, cin)
        dw = K.conv2d_backward_filter(dy, x, wt.shape)
        assert dw.shape == wt.shape and np.all(dw == 0)
        np.testing.assert_array_equal(K.conv2d_backward_bias(dy), np.zeros(4))
    # no output channels, no input channels
    x = np.ones((2, 5, 5, 3), dtype)
    assert K.conv2d_forward(x, np.ones((3, 3, 3, 0), dtype)).shape == (2, 3, 3, 0)
    np.testing.assert_array_equal(K.conv2d_backward_data(np.ones((2, 3, 3, 0), dtype), np.ones((3, 3, 3, 0), dtype),
                                                         x.shape), 0.0)
    y = K.conv2d_forward(np.ones((2, 5, 5, 0), dtype), np.ones((3, 3, 0, 4), dtype), np.full(4, 2.0, dtype))
    np.testing.assert_array_equal(y, 2.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_argument(isa, dtype, rng):
    x, wt = make((2, 6, 6, 3), dtype, rng), make((3, 3, 3, 4), dtype, rng)
    out = np.full((2, 4, 4, 4), np.nan, dtype)
    assert K.conv2d_forward(x, wt, out=out) is out
    assert_close(out, ref.conv2d_forward(x, wt), dtype)
    big = np.zeros((2, 4, 4, 8), dtype)
    view = big[..., ::2]
    K.conv2d_forward(x, wt, out=view)
    assert_close(view, ref.conv2d_forward(x, wt), dtype)
    assert np.all(big[..., 1::2] == 0)


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
def test_gradcheck(isa, cin, strides, padding, dilation, rng):
    """f = sum(conv2d_forward(x, w, b) * r): finite differences vs the three backward kernels."""
    x, w, b = make((2, 9, 8, cin), np.float64, rng), make((3, 2, cin, 4), np.float64, rng), make((4,), np.float64, rng)
    geo = dict(strides=strides, padding=padding, dilation=dilation)
    r = make(K.conv2d_output_shape(x.shape, w.shape, **geo), np.float64, rng)

    def f(x, w, b):
        return float(np.sum(K.conv2d_forward(x, w, b, **geo) * r))

    grads = [K.conv2d_backward_data(r, w, x.shape, **geo), K.conv2d_backward_filter(r, x, w.shape, **geo),
             K.conv2d_backward_bias(r)]
    gradcheck_fd(f, [x, w, b], grads, rng=rng)


def test_gradcheck_conv1d(isa, rng):
    for padding in ["valid", "same", "causal", (2, 1)]:
        x, w, b = make((3, 11, 4), np.float64, rng), make((3, 4, 5), np.float64, rng), make((5,), np.float64, rng)
        geo = dict(strides=2, padding=padding, dilation=2)
        r = make(K.conv1d_output_shape(x.shape, w.shape, **geo), np.float64, rng)

        def f(x, w, b):
            return float(np.sum(K.conv1d_forward(x, w, b, **geo) * r))

        grads = [K.conv1d_backward_data(r, w, x.shape, **geo), K.conv1d_backward_filter(r, x, w.shape, **geo),
                 K.conv1d_backward_bias(r)]
        gradcheck_fd(f, [x, w, b], grads, rng=rng)


# ------------------------------------------------------------------------------------- conv1d

@pytest.mark.parametrize("dtype", DTYPES)
def test_conv1d(isa, dtype, rng):
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
        y = K.conv1d_forward(x, w, b, strides=s, padding=p, dilation=d, activation="tanh")
        assert_close(y, ref.conv2d_forward(x4, w4, b, (1, s), pads, (1, d), "tanh")[:, 0], dtype)
        assert y.shape == K.conv1d_output_shape(x.shape, w.shape, s, p, d)
        dy = make(y.shape, dtype, rng)
        assert_close(K.conv1d_backward_data(dy, w, x.shape, s, p, d),
                     ref.conv2d_backward_data(dy[:, None], w4, x4.shape, (1, s), pads, (1, d))[:, 0], dtype)
        assert_close(K.conv1d_backward_filter(dy, x, w.shape, s, p, d),
                     ref.conv2d_backward_filter(dy[:, None], x4, w4.shape, (1, s), pads, (1, d))[0], dtype)
        assert_close(K.conv1d_backward_bias(dy), ref.conv2d_backward_bias(dy), dtype)


# ------------------------------------------------------------------------------------- errors

def test_errors():
    x, w = np.ones((2, 5, 5, 3), np.float32), np.ones((3, 3, 3, 4), np.float32)
    with raises(TypeError, "conv2d_forward", "float32 or float64", "int32"):
        K.conv2d_forward(x.astype(np.int32), w)
    with raises(TypeError, "conv2d_forward", "NumPy array", "list"):
        K.conv2d_forward([[1.0]], w)
    with raises(TypeError, "conv2d_forward", "float32", "float64"):
        K.conv2d_forward(x, w.astype(np.float64))
    with raises(ValueError, "conv2d_forward", "4-D", "(5, 5, 3)"):
        K.conv2d_forward(x[0], w)
    with raises(ValueError, "conv2d_forward", "4-D", "(3, 3, 4)"):
        K.conv2d_forward(x, w[0])
    with raises(ValueError, "conv2d_forward", "channel mismatch", "(2, 5, 5, 3)", "(3, 3, 2, 4)"):
        K.conv2d_forward(x, np.ones((3, 3, 2, 4), np.float32))
    with raises(ValueError, "conv2d_forward", "larger than the padded input", "(2, 5, 5, 3)", "(6, 6, 3, 4)"):
        K.conv2d_forward(x, np.ones((6, 6, 3, 4), np.float32))
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
        K.conv2d_forward(x, w, np.ones(3, np.float32))
    with raises(ValueError, "conv2d_forward", "activation", "'softmax'"):
        K.conv2d_forward(x, w, activation="softmax")
    with raises(ValueError, "conv2d_backward_data", "dy", "(2, 3, 3, 4)", "(2, 3, 3, 5)"):
        K.conv2d_backward_data(np.ones((2, 3, 3, 5), np.float32), w, x.shape)
    with raises(TypeError, "conv2d_backward_data", "float32", "float64"):
        K.conv2d_backward_data(np.ones((2, 3, 3, 4)), w, x.shape)
    with raises(ValueError, "conv2d_backward_filter", "dy", "(2, 3, 3, 4)", "(2, 5, 5, 4)"):
        K.conv2d_backward_filter(np.ones((2, 5, 5, 4), np.float32), x, w.shape)
    with raises(ValueError, "conv2d_backward_filter", "channel mismatch"):
        K.conv2d_backward_filter(np.ones((2, 3, 3, 4), np.float32), x, (3, 3, 2, 4))
    with raises(ValueError, "conv2d_backward_bias", "4-D", "(4,)"):
        K.conv2d_backward_bias(np.ones(4, np.float32))
    with raises(ValueError, "conv1d_forward", "3-D", "(2, 5, 5, 3)"):
        K.conv1d_forward(x, np.ones((3, 3, 4), np.float32))
    with raises(ValueError, "conv1d_forward", "channel mismatch", "(2, 5, 3)", "(3, 2, 4)"):
        K.conv1d_forward(x[:, 0], np.ones((3, 2, 4), np.float32))
    with raises(ValueError, "conv1d_backward_data", "dy", "(2, 3, 4)", "(2, 5, 4)"):
        K.conv1d_backward_data(np.ones((2, 5, 4), np.float32), np.ones((3, 3, 4), np.float32), (2, 5, 3))
    with raises(ValueError, "conv1d_backward_filter", "dy", "(2, 3, 4)", "(2, 4, 4)"):
        K.conv1d_backward_filter(np.ones((2, 4, 4), np.float32), x[:, 0], (3, 3, 4))
    with raises(ValueError, "conv1d_forward", "padding", "'full'"):
        K.conv1d_forward(x[:, 0], np.ones((3, 3, 4), np.float32), padding="full")


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
def test_blocked_shapes(isa, dtype, rng):
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
        check_all(x, wt, b, s, p, d, activation="relu", rng=rng,
                  what=f"{isa} x{x.shape} w{wt.shape} s={s} p={p} d={d}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_winograd_shapes(isa, dtype, rng):
    # 3x3, stride 1, no dilation, with enough pixels per filter: the forward pass (and the
    # backward-data pass, a stride-1 convolution itself) run Winograd F(2x2, 3x3). Odd output
    # sizes (partial tiles), every padding, bias + activation
    for n, h, w, cin, cout, p in [(5, 17, 15, 16, 19, "same"), (3, 24, 23, 16, 16, "valid"),
                                  (4, 20, 19, 18, 17, ((2, 0), (1, 1)))]:
        x, wt, b = make((n, h, w, cin), dtype, rng), make((3, 3, cin, cout), dtype, rng), make((cout,), dtype, rng)
        check_all(x, wt, b, 1, p, 1, activation="tanh", rng=rng, what=f"{isa} x{x.shape} w{wt.shape} p={p}")


@pytest.mark.slow
def test_winograd_channel_chunks(rng):
    # Cin > 512: Winograd's GEMMs split K in chunks (it needs 64 * Cin output pixels to apply)
    x, wt = make((2, 131, 128, 520), np.float32, rng), make((3, 3, 520, 16), np.float32, rng)
    y = K.conv2d_forward(x, wt, padding=1)
    assert_close(y, ref.conv2d_forward(x, wt, None, (1, 1), ((1, 1), (1, 1)), (1, 1), None), np.float32,
                 what="winograd forward, Cin 520")
