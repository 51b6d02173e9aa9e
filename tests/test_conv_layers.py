"""The convolution layers of issue 12: Conv1D/Conv2D with groups, DepthwiseConv1D/2D, SeparableConv1D/2D,
Conv1DTranspose/2DTranspose. Each against a float64 reference, a finite-difference gradient check (of
the functional form, weights included), get_config and model-file round trips, odd shapes, bad
arguments; Keras 3 (torch backend) with copied weights where it is installed."""
import itertools
import os

import numpy as np
import pytest

import dlcore as dl
import dlcore.functional as F
from harness import assert_close, make, raises
from layer_checks import config_roundtrip, save_roundtrip, sequential_roundtrip
import reference as ref


def f64_layer(cls, *args, **kwargs):
    return cls(*args, dtype="float64", **kwargs)


def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    k = pytest.importorskip("keras")
    if k.backend.backend() != "torch":
        pytest.skip("keras is installed with another backend than torch")
    return k


# ------------------------------------------------------------------------------------- grouped conv

@pytest.mark.parametrize("groups,cin,filters", [(2, 6, 4), (3, 9, 9), (4, 4, 8)])
def test_conv2d_groups(groups, cin, filters, rng):
    layer = f64_layer(dl.layers.Conv2D, filters, 3, padding="same", groups=groups, activation="relu")
    x = make((2, 7, 6, cin), np.float64, rng)
    y = layer(x)
    assert layer.kernel.shape == (3, 3, cin // groups, filters)
    expect = ref.conv2d_forward(x, ref.grouped_filters(layer.kernel.numpy(), groups), layer.bias.numpy(),
                                pads=((1, 1), (1, 1)), activation="relu")
    assert_close(y.numpy(), expect, np.float64)
    assert layer.compute_output_shape((None, 7, 6, cin)) == (None, 7, 6, filters)
    config_roundtrip(layer)


def test_conv1d_groups_and_gradcheck(rng, tmp_path):
    layer = dl.layers.Conv1D(6, 3, groups=3, padding="same")
    x = make((2, 9, 6), np.float32, rng)
    y = layer(x)
    full = ref.grouped_filters(layer.kernel.numpy()[None], 3)
    assert_close(y.numpy(), ref.conv2d_forward(x[:, None], full, layer.bias.numpy(), pads=((0, 0), (1, 1)))[:, 0],
                 np.float32)
    assert config_roundtrip(layer).groups == 3
    sequential_roundtrip(tmp_path, dl.layers.Conv1D(4, 2, groups=2), x)
    xt = dl.tensor(make((2, 7, 4), np.float64, rng), requires_grad=True)
    wt = dl.tensor(make((3, 2, 6), np.float64, rng), requires_grad=True)
    bt = dl.tensor(make((6,), np.float64, rng), requires_grad=True)
    assert dl.testing.gradcheck(lambda x, w, b: F.conv1d(x, w, b, strides=2, padding="same", groups=2), [xt, wt, bt])
    x4 = dl.tensor(make((2, 6, 5, 6), np.float64, rng), requires_grad=True)
    w4 = dl.tensor(make((3, 3, 1, 12), np.float64, rng), requires_grad=True)  # depthwise, multiplier 2
    assert dl.testing.gradcheck(lambda x, w: F.conv2d(x, w, padding="same", groups=6, activation="tanh"), [x4, w4])


def test_groups_errors():
    with raises(ValueError, "Conv2D", "groups", "0"):
        dl.layers.Conv2D(4, 3, groups=0)
    with raises(ValueError, "Conv2D", "filters", "divisible", "groups=3"):
        dl.layers.Conv2D(4, 3, groups=3)
    with raises(ValueError, "Conv2D", "input channels (5)", "divisible", "groups=2"):
        dl.layers.Conv2D(4, 3, groups=2)(np.ones((1, 5, 5, 5), "float32"))
    layer = dl.layers.Conv1D(4, 3, groups=2)
    layer(np.ones((1, 5, 6), "float32"))
    with raises(ValueError, "Conv1D", "6 channels", "(1, 5, 8)"):
        layer(np.ones((1, 5, 8), "float32"))


# --------------------------------------------------------------------------- depthwise and separable

@pytest.mark.parametrize("m,strides,padding,dilation", [(1, 1, "same", 1), (2, 2, "valid", 1), (3, 1, "same", 2)])
def test_depthwise_conv2d(m, strides, padding, dilation, rng, tmp_path):
    layer = f64_layer(dl.layers.DepthwiseConv2D, 3, strides=strides, padding=padding, depth_multiplier=m,
                      dilation_rate=dilation, activation="sigmoid")
    x = make((2, 9, 8, 5), np.float64, rng)
    y = layer(x)
    w = layer.depthwise_kernel.numpy()
    assert w.shape == (3, 3, 5, m) and layer.bias.shape == (5 * m,)
    full = ref.grouped_filters(w.reshape(3, 3, 1, 5 * m), 5)
    s, d = (strides, strides), (dilation, dilation)
    expect = ref.conv2d_forward(x, full, layer.bias.numpy(), s, ref.conv2d_pads(padding, x.shape, full.shape, s, d), d,
                                "sigmoid")
    assert_close(y.numpy(), expect, np.float64)
    assert layer.compute_output_shape(x.shape) == y.shape
    config_roundtrip(layer)
    save_roundtrip(tmp_path, dl.layers.DepthwiseConv2D(3, strides=strides, padding=padding, depth_multiplier=m),
                   x.astype(np.float32))


def test_depthwise_conv1d_and_separable(rng, tmp_path):
    x = make((2, 11, 4), np.float32, rng)
    dw = dl.layers.DepthwiseConv1D(3, padding="same", depth_multiplier=2)
    y = dw(x)
    full = ref.grouped_filters(dw.depthwise_kernel.numpy().reshape(1, 3, 1, 8), 4)
    assert_close(y.numpy(), ref.conv2d_forward(x[:, None], full, dw.bias.numpy(), pads=((0, 0), (1, 1)))[:, 0],
                 np.float32)
    sep = dl.layers.SeparableConv1D(5, 3, strides=2, use_bias=False)
    y = sep(x)
    mid = ref.conv2d_forward(x[:, None], ref.grouped_filters(sep.depthwise_kernel.numpy().reshape(1, 3, 1, 4), 4),
                             strides=(1, 2))
    assert_close(y.numpy(), ref.conv2d_forward(mid, sep.pointwise_kernel.numpy()[None])[:, 0], np.float32)
    assert sep.bias is None and sep.compute_output_shape((None, 11, 4)) == (None, 5, 5)
    config_roundtrip(sep)
    config_roundtrip(dw)
    sequential_roundtrip(tmp_path, dl.layers.SeparableConv1D(3, 2, depth_multiplier=2), x)


def test_separable_conv2d(rng, tmp_path):
    layer = f64_layer(dl.layers.SeparableConv2D, 6, (3, 2), padding="same", depth_multiplier=2, activation="relu")
    x = make((2, 7, 8, 3), np.float64, rng)
    y = layer(x)
    assert layer.pointwise_kernel.shape == (1, 1, 6, 6) and layer.bias.shape == (6,)
    full = ref.grouped_filters(layer.depthwise_kernel.numpy().reshape(3, 2, 1, 6), 3)
    mid = ref.conv2d_forward(x, full, pads=ref.conv2d_pads("same", x.shape, full.shape))
    assert_close(y.numpy(), ref.conv2d_forward(mid, layer.pointwise_kernel.numpy(), layer.bias.numpy(),
                                               activation="relu"), np.float64)
    assert [name for name, _ in layer.named_parameters()] == ["depthwise_kernel", "pointwise_kernel", "bias"]
    config_roundtrip(layer)
    save_roundtrip(tmp_path, dl.layers.SeparableConv2D(4, 3, strides=2), x.astype(np.float32))


def test_depthwise_functional_gradcheck(rng):
    x = dl.tensor(make((2, 6, 5, 3), np.float64, rng), requires_grad=True)
    w = dl.tensor(make((3, 2, 3, 2), np.float64, rng), requires_grad=True)
    b = dl.tensor(make((6,), np.float64, rng), requires_grad=True)
    assert dl.testing.gradcheck(lambda x, w, b: F.depthwise_conv2d(x, w, b, strides=2, padding="same"), [x, w, b])


def test_depthwise_and_separable_errors():
    with raises(ValueError, "DepthwiseConv2D", "depth_multiplier", "0"):
        dl.layers.DepthwiseConv2D(3, depth_multiplier=0)
    with raises(ValueError, "DepthwiseConv2D", "data_format", "channels_first"):
        dl.layers.DepthwiseConv2D(3, data_format="channels_first")
    with raises(ValueError, "SeparableConv2D", "filters", "-1"):
        dl.layers.SeparableConv2D(-1, 3)
    with raises(ValueError, "DepthwiseConv2D", "strides > 1 together with dilation_rate > 1"):
        dl.layers.DepthwiseConv2D(3, strides=2, dilation_rate=2)
    layer = dl.layers.DepthwiseConv2D(3)
    with raises(ValueError, "DepthwiseConv2D", "4-D"):
        layer(np.ones((2, 5, 5), "float32"))
    layer(np.ones((1, 5, 5, 2), "float32"))
    with raises(ValueError, "DepthwiseConv2D", "2 channels", "(1, 5, 5, 3)"):
        layer(np.ones((1, 5, 5, 3), "float32"))
    with raises(ValueError, "DepthwiseConv2D", "smaller than the kernel"):
        layer(np.ones((1, 2, 5, 2), "float32"))


# ------------------------------------------------------------------------------------- transposed

CASES_2D = [  # (kernel, strides, padding, output_padding, dilation)
    (3, 2, "same", None, 1), (3, 2, "valid", None, 1), (4, 2, "same", None, 1), (2, 3, "valid", None, 1),
    (3, 3, "same", (1, 2), 1), (3, 2, "valid", 1, 1), ((2, 3), (1, 2), "same", None, 1), (3, 1, "same", None, 2),
    (1, 1, "valid", None, 1), (5, 1, "valid", None, 1),
]


@pytest.mark.parametrize("k,s,padding,op,d", CASES_2D, ids=[str(c) for c in CASES_2D])
def test_conv2d_transpose(k, s, padding, op, d, rng):
    layer = f64_layer(dl.layers.Conv2DTranspose, 4, k, strides=s, padding=padding, output_padding=op,
                      dilation_rate=d)
    x = make((2, 5, 4, 3), np.float64, rng)
    y = layer(x)
    kk = (k, k) if isinstance(k, int) else k
    assert layer.kernel.shape == kk + (4, 3)
    pair = (lambda v: (v, v) if isinstance(v, int) else tuple(v))
    expect = ref.conv2d_transpose(x, layer.kernel.numpy(), layer.bias.numpy(), pair(s), padding,
                                  None if op is None else pair(op), pair(d))
    assert_close(y.numpy(), expect, np.float64)
    assert layer.compute_output_shape((None, 5, 4, 3)) == (None,) + y.shape[1:]


def test_conv_transpose_gradcheck_and_odd_shapes(rng):
    x = dl.tensor(make((2, 3, 4, 2), np.float64, rng), requires_grad=True)
    w = dl.tensor(make((3, 2, 5, 2), np.float64, rng), requires_grad=True)
    b = dl.tensor(make((5,), np.float64, rng), requires_grad=True)
    for s, p, op in [(2, "same", None), (2, "valid", 1), (3, "same", 2), (1, "valid", None)]:
        assert dl.testing.gradcheck(lambda x, w, b: F.conv2d_transpose(x, w, b, s, p, op, activation="tanh"), [x, w, b])
    x1 = dl.tensor(make((3, 5, 2), np.float64, rng), requires_grad=True)
    w1 = dl.tensor(make((4, 3, 2), np.float64, rng), requires_grad=True)
    assert dl.testing.gradcheck(lambda x, w: F.conv1d_transpose(x, w, strides=3, padding="same"), [x1, w1])
    # 1x1 images, one channel, a batch of one, a window larger than the input
    for shape, k, s in [((1, 1, 1, 1), 3, 2), ((1, 1, 7, 1), 5, 1), ((3, 2, 2, 33), 1, 2)]:
        layer = f64_layer(dl.layers.Conv2DTranspose, 7, k, strides=s)
        xi = make(shape, np.float64, rng)
        assert_close(layer(xi).numpy(), ref.conv2d_transpose(xi, layer.kernel.numpy(), layer.bias.numpy(), (s, s)),
                     np.float64)
    assert dl.layers.Conv2DTranspose(3, 3)(np.ones((0, 4, 4, 2), "float32")).shape == (0, 6, 6, 3)


def test_conv1d_transpose(rng, tmp_path):
    layer = f64_layer(dl.layers.Conv1DTranspose, 3, 4, strides=2, padding="same", activation="relu")
    x = make((2, 6, 5), np.float64, rng)
    y = layer(x)
    assert layer.kernel.shape == (4, 3, 5) and y.shape == (2, 12, 3)
    expect = ref.conv2d_transpose(x[:, None], layer.kernel.numpy()[None], layer.bias.numpy(), (1, 2),
                                  "same")[:, 0]
    assert_close(y.numpy(), np.maximum(expect, 0), np.float64)
    config_roundtrip(layer)
    save_roundtrip(tmp_path, dl.layers.Conv1DTranspose(3, 3, strides=3, output_padding=2), x.astype(np.float32))


def test_conv2d_transpose_roundtrips(rng, tmp_path):
    layer = dl.layers.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1, use_bias=False)
    config = config_roundtrip(layer).get_config()
    assert config["output_padding"] == [1, 1] and config["use_bias"] is False
    x = make((2, 5, 5, 3), np.float32, rng)
    save_roundtrip(tmp_path, dl.layers.Conv2DTranspose(4, 3, strides=2, padding="same"), x)
    sequential_roundtrip(tmp_path, dl.layers.Conv2DTranspose(2, (2, 3), strides=(2, 1)), x)


def test_conv_transpose_errors():
    with raises(ValueError, "Conv2DTranspose", "output_padding", "smaller than the strides", "(2, 2)"):
        dl.layers.Conv2DTranspose(4, 3, strides=2, output_padding=2)
    with raises(ValueError, "Conv2DTranspose", "output_padding", "(1, 1, 1)"):
        dl.layers.Conv2DTranspose(4, 3, strides=2, output_padding=(1, 1, 1))
    with raises(ValueError, "Conv1DTranspose", "padding", "'causal'"):
        dl.layers.Conv1DTranspose(4, 3, padding="causal")
    with raises(ValueError, "Conv2DTranspose", "filters", "0"):
        dl.layers.Conv2DTranspose(0, 3)
    layer = dl.layers.Conv2DTranspose(4, 3)
    with raises(ValueError, "Conv2DTranspose", "4-D", "(2, 5, 3)"):
        layer(np.ones((2, 5, 3), "float32"))
    layer(np.ones((1, 4, 4, 3), "float32"))
    with raises(ValueError, "Conv2DTranspose", "3 channels", "(1, 4, 4, 2)"):
        layer(np.ones((1, 4, 4, 2), "float32"))
    with raises(ValueError, "conv2d_transpose", "dilation", "0"):
        F.conv2d_transpose(np.ones((1, 3, 3, 2)), np.ones((3, 3, 4, 2)), dilation=0)


# ------------------------------------------------------------------------------------- Keras 3

KERAS_CASES = [
    ("Conv2DTranspose", (4, 3), dict(strides=2, padding="same"), (2, 5, 6, 3)),
    ("Conv2DTranspose", (4, 3), dict(strides=2, padding="valid", output_padding=1), (2, 5, 6, 3)),
    ("Conv2DTranspose", (2, (2, 3)), dict(strides=(3, 1), padding="same", output_padding=(2, 0)), (2, 4, 5, 3)),
    ("Conv1DTranspose", (3, 4), dict(strides=3, padding="same", output_padding=1), (2, 5, 2)),
    ("DepthwiseConv2D", (3,), dict(strides=2, padding="same", depth_multiplier=2), (2, 8, 7, 3)),
    ("SeparableConv2D", (5, 3), dict(padding="same", depth_multiplier=2, activation="relu"), (2, 6, 6, 3)),
    ("SeparableConv1D", (5, 3), dict(strides=2), (2, 9, 4)),
    ("DepthwiseConv1D", (3,), dict(padding="same", depth_multiplier=3), (2, 7, 2)),
    ("Conv2D", (6, 3), dict(groups=3, padding="same"), (2, 6, 6, 9)),
    ("Conv1D", (4, 3), dict(groups=2), (2, 8, 6)),
]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras's own array conversions under NumPy 2
@pytest.mark.parametrize("name,args,kwargs,shape", KERAS_CASES, ids=[f"{c[0]}-{c[2]}" for c in KERAS_CASES])
def test_matches_keras(name, args, kwargs, shape, rng):
    k = keras()
    x = make(shape, np.float32, rng)
    theirs = getattr(k.layers, name)(*args, **kwargs)
    expect = np.asarray(theirs(x).detach().cpu())
    ours = getattr(dl.layers, name)(*args, **kwargs)
    ours(x)
    for p, v in zip(ours.weights, theirs.get_weights()):
        assert p.shape == tuple(v.shape), (name, p.shape, v.shape)
        p.data[...] = v
    assert_close(ours(x).numpy(), expect, np.float32)


def test_conv_transpose_shapes_match_keras_rule():
    # Keras's compute_conv_transpose_output_shape, per axis
    for length, kk, s, p, op, d in itertools.product([1, 4, 7], [1, 2, 3, 4], [1, 2, 3], ["same", "valid"],
                                                     [None, 0], [1, 2]):
        ke = kk + (kk - 1) * (d - 1)
        if op is None:
            expect = length * s + max(ke - s, 0) if p == "valid" else length * s
        else:
            expect = (length - 1) * s + ke - 2 * (ke // 2 if p == "same" else 0) + op
        layer = dl.layers.Conv1DTranspose(2, kk, strides=s, padding=p, output_padding=op, dilation_rate=d)
        assert layer.compute_output_shape((None, length, 3)) == (None, expect, 2)
