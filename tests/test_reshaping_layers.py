"""The pooling and reshaping layers of issue 12: MaxPooling1D, AveragePooling1D, GlobalMaxPooling1D/2D,
GlobalAveragePooling1D/2D (channels_last and channels_first, keepdims, masks), UpSampling1D/2D,
ZeroPadding1D/2D, Cropping1D/2D, RepeatVector, Permute. Each against a float64 reference, a gradient
check, get_config and model-file round trips, odd shapes, bad arguments; Keras 3 where installed."""
import os

import numpy as np
import pytest

import dlcore as dl
import dlcore.functional as F
from harness import assert_close, make, raises
from layer_checks import config_roundtrip, save_roundtrip, sequential_roundtrip
import reference as ref


def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    k = pytest.importorskip("keras")
    if k.backend.backend() != "torch":
        pytest.skip("keras is installed with another backend than torch")
    return k


def grad_ok(fn, *arrays):
    return dl.testing.gradcheck(fn, [dl.tensor(a, requires_grad=True) for a in arrays])


# ------------------------------------------------------------------------------------- pooling

@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("pool,strides,padding", [(2, None, "valid"), (3, 1, "same"), (3, 2, "valid"), (5, 2, "same")])
def test_pooling1d(kind, pool, strides, padding, rng, tmp_path):
    cls = dl.layers.MaxPooling1D if kind == "max" else dl.layers.AveragePooling1D
    layer = cls(pool, strides, padding, dtype="float64")
    x = make((3, 11, 4), np.float64, rng)
    y = layer(x)
    expect = getattr(ref, f"{kind}_pool1d_forward")(x, pool, strides or pool, padding)
    assert_close(y.numpy(), expect, np.float64)
    assert layer.compute_output_shape((None, 11, 4)) == (None,) + expect.shape[1:]
    config_roundtrip(layer)
    # channels_first: the same on the transposed input
    first = cls(pool, strides, padding, data_format="channels_first", dtype="float64")
    assert_close(first(x.transpose(0, 2, 1)).numpy(), expect.transpose(0, 2, 1), np.float64)
    assert first.compute_output_shape((None, 4, 11)) == (None, 4, expect.shape[1])
    distinct = rng.permutation(2 * 11 * 3).reshape(2, 11, 3).astype(np.float64)
    fn = F.max_pool1d if kind == "max" else F.avg_pool1d
    assert grad_ok(lambda t: fn(t, pool, strides, padding), distinct)
    sequential_roundtrip(tmp_path, cls(pool, strides, padding), x.astype(np.float32))


def test_pooling2d_channels_first(rng, tmp_path):
    x = make((2, 3, 9, 8), np.float64, rng)  # (batch, channels, height, width)
    for cls, kind in [(dl.layers.MaxPooling2D, "max"), (dl.layers.AveragePooling2D, "avg")]:
        layer = cls((2, 3), strides=(2, 1), padding="same", data_format="channels_first", dtype="float64")
        expect = getattr(ref, f"{kind}_pool2d_forward")(x.transpose(0, 2, 3, 1), (2, 3), (2, 1), "same")
        assert_close(layer(x).numpy(), expect.transpose(0, 3, 1, 2), np.float64)
        assert layer.compute_output_shape(x.shape) == expect.transpose(0, 3, 1, 2).shape
        assert config_roundtrip(layer).data_format == "channels_first"
    save_roundtrip(tmp_path, dl.layers.MaxPooling2D(data_format="channels_first"), x.astype(np.float32))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling(data_format, keepdims, rng, tmp_path):
    x2, x1 = make((3, 5, 6, 4), np.float64, rng), make((3, 7, 4), np.float64, rng)
    first = data_format == "channels_first"
    cases = [(dl.layers.GlobalAveragePooling2D, x2, lambda a: a.mean(axis=(1, 2))),
             (dl.layers.GlobalMaxPooling2D, x2, lambda a: a.max(axis=(1, 2))),
             (dl.layers.GlobalAveragePooling1D, x1, lambda a: a.mean(axis=1)),
             (dl.layers.GlobalMaxPooling1D, x1, lambda a: a.max(axis=1))]
    for cls, x, reduce in cases:
        layer = cls(data_format=data_format, keepdims=keepdims, dtype="float64")
        xin = np.moveaxis(x, -1, 1) if first else x
        y = layer(xin)
        expect = reduce(x)
        if keepdims:
            ones = (1,) * (x.ndim - 2)
            n, c = x.shape[0], x.shape[-1]
            expect = expect.reshape((n, c) + ones if first else (n,) + ones + (c,))
        assert_close(y.numpy(), expect, np.float64)
        assert layer.compute_output_shape(xin.shape) == expect.shape
        config_roundtrip(layer)
    save_roundtrip(tmp_path, dl.layers.GlobalMaxPooling1D(data_format=data_format, keepdims=keepdims),
                   x1.astype(np.float32))


def test_global_max_gradient_goes_to_first_max(rng):
    distinct = rng.permutation(2 * 4 * 5 * 3).reshape(2, 4, 5, 3).astype(np.float64)
    assert grad_ok(lambda t: F.global_max_pool2d(t), distinct)
    assert grad_ok(lambda t: F.global_max_pool1d(t, keepdims=True), distinct[:, 0])
    assert grad_ok(lambda t: F.global_avg_pool1d(t), distinct[:, 0])
    x = dl.tensor(np.ones((1, 3, 2)), requires_grad=True)
    F.global_max_pool1d(x).sum().backward()
    assert x.grad.tolist() == [[[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]]


def test_global_average_pooling1d_mask(rng):
    x = make((2, 6, 3), np.float64, rng)
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 0, 1, 0, 1, 1]], bool)
    layer = dl.layers.GlobalAveragePooling1D(dtype="float64")
    expect = np.stack([x[i][mask[i]].mean(axis=0) for i in range(2)])
    assert_close(layer(x, mask=mask).numpy(), expect, np.float64)
    with raises(ValueError, "GlobalAveragePooling1D", "mask", "(2, 6)", "(2, 5)"):
        layer(x, mask=mask[:, :5])
    with raises(ValueError, "GlobalMaxPooling1D", "takes no mask"):
        dl.layers.GlobalMaxPooling1D()(x, mask=mask)


def test_pooling_errors():
    with raises(ValueError, "MaxPooling1D", "data_format", "'nhwc'"):
        dl.layers.MaxPooling1D(data_format="nhwc")
    with raises(ValueError, "AveragePooling1D", "pool_size", "(2, 2)"):
        dl.layers.AveragePooling1D((2, 2))
    with raises(ValueError, "MaxPooling1D", "3-D", "(2, 5, 5, 3)"):
        dl.layers.MaxPooling1D()(np.ones((2, 5, 5, 3), "float32"))
    with raises(ValueError, "MaxPooling1D", "smaller than pool_size", "(2, 2, 3)"):
        dl.layers.MaxPooling1D(3)(np.ones((2, 2, 3), "float32"))
    with raises(ValueError, "GlobalMaxPooling2D", "4-D", "(2, 5, 3)"):
        dl.layers.GlobalMaxPooling2D()(np.ones((2, 5, 3), "float32"))
    with raises(ValueError, "GlobalAveragePooling1D", "at least one position", "(2, 0, 3)"):
        dl.layers.GlobalAveragePooling1D()(np.ones((2, 0, 3), "float32"))
    assert dl.layers.MaxPool1D is dl.layers.MaxPooling1D
    assert dl.layers.GlobalAvgPool1D is dl.layers.GlobalAveragePooling1D


# ------------------------------------------------------------------------------------- upsampling

@pytest.mark.parametrize("size,interpolation", [(2, "nearest"), ((2, 3), "nearest"), (2, "bilinear"),
                                                 ((3, 1), "bilinear")])
def test_upsampling2d(size, interpolation, rng, tmp_path):
    layer = dl.layers.UpSampling2D(size, interpolation=interpolation, dtype="float64")
    x = make((2, 4, 5, 3), np.float64, rng)
    pair = (size, size) if isinstance(size, int) else size
    expect = ref.upsample2d_forward(x, pair, interpolation)
    assert_close(layer(x).numpy(), expect, np.float64)
    assert layer.compute_output_shape((None, 4, 5, 3)) == (None,) + expect.shape[1:]
    first = dl.layers.UpSampling2D(size, "channels_first", interpolation, dtype="float64")
    assert_close(first(x.transpose(0, 3, 1, 2)).numpy(), expect.transpose(0, 3, 1, 2), np.float64)
    assert first.compute_output_shape((None, 3, 4, 5)) == (None, 3) + expect.shape[1:3]
    assert grad_ok(lambda t: F.upsampling2d(t, size, interpolation), x[:, :3, :3])
    config_roundtrip(layer)
    save_roundtrip(tmp_path, dl.layers.UpSampling2D(size, interpolation=interpolation), x.astype(np.float32))


def test_upsampling1d(rng, tmp_path):
    layer = dl.layers.UpSampling1D(3)
    x = make((2, 5, 4), np.float32, rng)
    assert_close(layer(x).numpy(), ref.upsample1d_forward(x, 3), np.float32)
    assert layer.compute_output_shape((None, 5, 4)) == (None, 15, 4)
    assert layer.compute_output_shape((None, None, 4)) == (None, None, 4)
    assert grad_ok(lambda t: F.upsampling1d(t, 2), x.astype(np.float64))
    config_roundtrip(layer)
    sequential_roundtrip(tmp_path, dl.layers.UpSampling1D(2), x)


def test_upsampling_errors():
    with raises(ValueError, "UpSampling2D", "'bicubic'", "not implemented"):
        dl.layers.UpSampling2D(interpolation="bicubic")
    with raises(ValueError, "UpSampling2D", "interpolation", "'cubic'"):
        dl.layers.UpSampling2D(interpolation="cubic")
    with raises(ValueError, "UpSampling2D", "size", "0"):
        dl.layers.UpSampling2D(0)
    with raises(ValueError, "UpSampling1D", "size", "(2, 2)"):
        dl.layers.UpSampling1D((2, 2))
    with raises(ValueError, "UpSampling2D", "4-D", "(2, 3, 4)"):
        dl.layers.UpSampling2D()(np.ones((2, 3, 4), "float32"))
    with raises(ValueError, "UpSampling1D", "3-D", "(2, 3)"):
        dl.layers.UpSampling1D()(np.ones((2, 3), "float32"))


# ------------------------------------------------------------------------ zero padding and cropping

def test_zero_padding_and_cropping(rng, tmp_path):
    x = make((2, 5, 6, 3), np.float64, rng)
    cases = [
        (dl.layers.ZeroPadding2D(((1, 2), (0, 3)), dtype="float64"), np.pad(x, ((0, 0), (1, 2), (0, 3), (0, 0)))),
        (dl.layers.ZeroPadding2D(2, dtype="float64"), np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))),
        (dl.layers.ZeroPadding2D((1, 0), dtype="float64"), np.pad(x, ((0, 0), (1, 1), (0, 0), (0, 0)))),
        (dl.layers.Cropping2D(((1, 2), (0, 3)), dtype="float64"), x[:, 1:3, 0:3]),
        (dl.layers.Cropping2D(1, dtype="float64"), x[:, 1:4, 1:5]),
        (dl.layers.ZeroPadding2D(((1, 0), (2, 1)), "channels_first", dtype="float64"),
         np.pad(x, ((0, 0), (0, 0), (1, 0), (2, 1)))),
        (dl.layers.Cropping2D(((0, 1), (2, 0)), "channels_first", dtype="float64"), x[:, :, 0:5, 2:6]),
    ]
    for layer, expect in cases:
        assert_close(layer(x).numpy(), expect, np.float64)
        assert layer.compute_output_shape(x.shape) == expect.shape
        config_roundtrip(layer)
    s = make((2, 7, 3), np.float64, rng)
    for layer, expect in [(dl.layers.ZeroPadding1D(2, dtype="float64"), np.pad(s, ((0, 0), (2, 2), (0, 0)))),
                          (dl.layers.ZeroPadding1D((0, 3), dtype="float64"), np.pad(s, ((0, 0), (0, 3), (0, 0)))),
                          (dl.layers.Cropping1D(dtype="float64"), s[:, 1:6]),
                          (dl.layers.Cropping1D((3, 0), dtype="float64"), s[:, 3:])]:
        assert_close(layer(s).numpy(), expect, np.float64)
        assert layer.compute_output_shape(s.shape) == expect.shape
        config_roundtrip(layer)
    assert grad_ok(lambda t: F.zero_padding(t, ((1, 2), (3, 0)), (1, 2)), x)
    assert grad_ok(lambda t: F.cropping(t, ((1, 2), (0, 1)), (1, 2)), x)
    save_roundtrip(tmp_path, dl.layers.ZeroPadding2D(((1, 2), (0, 1))), x.astype(np.float32))
    sequential_roundtrip(tmp_path, dl.layers.Cropping1D((1, 2)), s.astype(np.float32))


def test_padding_errors():
    with raises(ValueError, "ZeroPadding2D", "padding", "(1, 2, 3)"):
        dl.layers.ZeroPadding2D((1, 2, 3))
    with raises(ValueError, "ZeroPadding1D", "padding", "-1"):
        dl.layers.ZeroPadding1D(-1)
    with raises(ValueError, "Cropping2D", "cropping", "((1, 1), 2, 3)"):
        dl.layers.Cropping2D(((1, 1), 2, 3))
    with raises(ValueError, "Cropping1D", "removes every position", "(2, 3, 4)"):
        dl.layers.Cropping1D((2, 1))(np.ones((2, 3, 4), "float32"))
    with raises(ValueError, "ZeroPadding2D", "4-D", "(2, 3, 4)"):
        dl.layers.ZeroPadding2D()(np.ones((2, 3, 4), "float32"))


# ----------------------------------------------------------------------------- RepeatVector, Permute

def test_repeat_vector_and_permute(rng, tmp_path):
    x = make((3, 4), np.float64, rng)
    layer = dl.layers.RepeatVector(5, dtype="float64")
    assert_close(layer(x).numpy(), np.repeat(x[:, None], 5, axis=1), np.float64)
    assert layer.compute_output_shape((None, 4)) == (None, 5, 4)
    assert grad_ok(lambda t: F.repeat_vector(t, 3), x)
    config_roundtrip(layer)
    sequential_roundtrip(tmp_path, dl.layers.RepeatVector(2), x.astype(np.float32))
    y = make((2, 3, 4, 5), np.float64, rng)
    p = dl.layers.Permute((3, 1, 2), dtype="float64")
    assert_close(p(y).numpy(), y.transpose(0, 3, 1, 2), np.float64)
    assert p.compute_output_shape((None, 3, 4, 5)) == (None, 5, 3, 4)
    config_roundtrip(p)
    save_roundtrip(tmp_path, dl.layers.Permute((2, 1, 3)), y.astype(np.float32))
    t = dl.tensor(y, requires_grad=True)
    p(t).sum().backward()
    assert t.grad.shape == y.shape


def test_repeat_vector_and_permute_errors():
    with raises(ValueError, "RepeatVector", "'n'", "0"):
        dl.layers.RepeatVector(0)
    with raises(ValueError, "RepeatVector", "2-D", "(2, 3, 4)"):
        dl.layers.RepeatVector(2)(np.ones((2, 3, 4), "float32"))
    with raises(ValueError, "Permute", "permutation of 1 .. 2", "(0, 1)"):
        dl.layers.Permute((0, 1))
    with raises(ValueError, "Permute", "3-D input", "(2, 3)"):
        dl.layers.Permute((2, 1))(np.ones((2, 3), "float32"))


# ------------------------------------------------------------------------------------- Keras 3

KERAS_CASES = [
    ("MaxPooling1D", (3,), dict(strides=1, padding="same"), (2, 7, 3)),
    ("AveragePooling1D", (2,), dict(padding="same"), (2, 7, 3)),
    ("AveragePooling2D", (2,), dict(padding="same", data_format="channels_first"), (2, 3, 5, 7)),
    ("GlobalMaxPooling2D", (), dict(keepdims=True), (2, 4, 5, 3)),
    ("GlobalAveragePooling1D", (), dict(data_format="channels_first"), (2, 3, 6)),
    ("UpSampling2D", ((2, 3),), dict(interpolation="bilinear"), (2, 4, 5, 3)),
    ("UpSampling2D", (2,), dict(data_format="channels_first"), (2, 3, 4, 5)),
    ("UpSampling1D", (3,), {}, (2, 4, 3)),
    ("ZeroPadding2D", (((1, 2), (3, 0)),), {}, (2, 4, 5, 3)),
    ("Cropping2D", (((1, 0), (2, 1)),), dict(data_format="channels_first"), (2, 3, 5, 6)),
    ("ZeroPadding1D", ((2, 1),), {}, (2, 4, 3)),
    ("Cropping1D", ((1, 2),), {}, (2, 6, 3)),
    ("RepeatVector", (3,), {}, (2, 4)),
    ("Permute", ((2, 1),), {}, (2, 3, 4)),
]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras's own array conversions under NumPy 2
@pytest.mark.parametrize("name,args,kwargs,shape", KERAS_CASES, ids=[f"{c[0]}-{c[2]}" for c in KERAS_CASES])
def test_matches_keras(name, args, kwargs, shape, rng):
    k = keras()
    x = make(shape, np.float32, rng)
    expect = np.asarray(getattr(k.layers, name)(*args, **kwargs)(x).detach().cpu())
    assert_close(getattr(dl.layers, name)(*args, **kwargs)(x).numpy(), expect, np.float32)
