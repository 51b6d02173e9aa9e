"""The activation layers (ReLU, LeakyReLU, PReLU, ELU, Softmax), GroupNormalization and the noise layers
(GaussianNoise, GaussianDropout, SpatialDropout1D/2D/3D): float64 references, gradient checks, config
and model-file round trips, training vs inference, bad arguments; Keras 3 where installed."""
import os

import numpy as np
import pytest

import dlcore as dl
import dlcore.functional as F
from harness import assert_allclose, assert_close, make, raises
from layer_checks import config_roundtrip, save_roundtrip, sequential_roundtrip
import reference as ref


def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    k = pytest.importorskip("keras")
    if k.backend.backend() != "torch":
        pytest.skip("keras is installed with another backend than torch")
    return k


def away_from_kinks(rng, shape, kinks, scale=3.0):
    """Random float64 values at least 1e-3 away from each kink (where the derivative jumps)."""
    x = rng.standard_normal(shape) * scale
    for k in kinks:
        near = np.abs(x - k) < 1e-3
        x[near] += 0.01
    return x


# ------------------------------------------------------------------------------------- ReLU family

@pytest.mark.parametrize("kwargs", [{}, {"max_value": 6.0}, {"negative_slope": 0.1}, {"threshold": 0.5},
                                    {"max_value": 2.0, "negative_slope": 0.2, "threshold": 1.0},
                                    {"max_value": 0.0}])
def test_relu(kwargs, rng, tmp_path):
    layer = dl.layers.ReLU(**kwargs, dtype="float64")
    kinks = [0.0, kwargs.get("threshold", 0.0)] + ([kwargs["max_value"]] if "max_value" in kwargs else [])
    x = away_from_kinks(rng, (4, 7), kinks)
    assert_allclose(layer(x).numpy(), ref.keras_relu(x, **kwargs), np.float64)
    assert dl.testing.gradcheck(lambda t: layer(t), [dl.tensor(x, requires_grad=True)])
    assert config_roundtrip(layer).get_config()["max_value"] == kwargs.get("max_value")
    sequential_roundtrip(tmp_path, dl.layers.ReLU(**kwargs), x.astype(np.float32))


def test_leaky_relu_and_elu(rng, tmp_path):
    x = away_from_kinks(rng, (3, 5, 2), [0.0])
    leaky = dl.layers.LeakyReLU(dtype="float64")
    assert leaky.negative_slope == 0.3  # Keras 3's default
    assert_allclose(leaky(x).numpy(), ref.leaky_relu(x, 0.3), np.float64)
    assert dl.layers.LeakyReLU(alpha=0.1).negative_slope == 0.1  # Keras 2's name
    elu = dl.layers.ELU(0.5, dtype="float64")
    assert_allclose(elu(x).numpy(), ref.elu(x, 0.5), np.float64)
    for layer in (leaky, elu):
        assert dl.testing.gradcheck(lambda t: layer(t), [dl.tensor(x, requires_grad=True)])
        config_roundtrip(layer)
    save_roundtrip(tmp_path, dl.layers.LeakyReLU(0.2), x.astype(np.float32))


@pytest.mark.parametrize("shared_axes,alpha_shape", [(None, (5, 6, 3)), ([1, 2], (1, 1, 3)), (3, (5, 6, 1))])
def test_prelu(shared_axes, alpha_shape, rng, tmp_path):
    layer = dl.layers.PReLU(alpha_initializer=dl.initializers.RandomUniform(0.1, 0.5, seed=1),
                            shared_axes=shared_axes, dtype="float64")
    x = away_from_kinks(rng, (2, 5, 6, 3), [0.0])
    y = layer(x)
    assert layer.alpha.shape == alpha_shape
    assert_allclose(y.numpy(), ref.prelu(x, layer.alpha.numpy()), np.float64)
    xt, at = dl.tensor(x, requires_grad=True), dl.tensor(layer.alpha.numpy(), requires_grad=True)
    assert dl.testing.gradcheck(lambda t, a: F.prelu(t, a), [xt, at])
    config_roundtrip(layer)
    save_roundtrip(tmp_path, dl.layers.PReLU(shared_axes=shared_axes), x.astype(np.float32))
    assert dl.layers.PReLU()(np.array([[-1.0, 2.0]], "float32")).numpy().tolist() == [[0.0, 2.0]]  # alpha starts at 0


def test_prelu_trains_its_alpha():
    layer = dl.layers.PReLU()
    x = np.array([[-2.0, -1.0, 3.0]], "float32")
    layer(x)
    opt = dl.optimizers.SGD(layer.parameters(), lr=0.1)
    loss = ((layer(x) - np.array([[-1.0, -0.5, 3.0]], "float32")) ** 2).sum()
    loss.backward()
    opt.step()
    assert layer.alpha.numpy()[0] > 0 and layer.alpha.numpy()[2] == 0  # only negative inputs move alpha


def test_prelu_constraint_applies_and_is_not_saved(tmp_path):
    layer = dl.layers.PReLU(alpha_constraint=lambda a: np.clip(a, 0.0, 0.2))
    x = np.array([[-3.0, -3.0]], "float32")
    layer(x)
    opt = dl.optimizers.SGD(layer.parameters(), lr=1.0)
    layer(x).sum().backward()  # d/d alpha = -3: alpha grows to 3, clipped to 0.2
    opt.step()
    assert np.allclose(layer.alpha.numpy(), 0.2)
    with raises(ValueError, "PReLU", "alpha_constraint", "cannot save"):
        layer.get_config()


def test_relu_family_errors():
    with raises(ValueError, "ReLU", "max_value", "-1"):
        dl.layers.ReLU(max_value=-1)
    with raises(ValueError, "ReLU", "negative_slope", "-0.1"):
        dl.layers.ReLU(negative_slope=-0.1)
    with raises(ValueError, "ReLU", "threshold", "-1"):
        dl.layers.ReLU(threshold=-1)
    with raises(TypeError, "LeakyReLU", "negative_slope", "'a'"):
        dl.layers.LeakyReLU("a")
    with raises(ValueError, "PReLU", "shared_axes", "[0]"):
        dl.layers.PReLU(shared_axes=[0])
    with raises(ValueError, "PReLU", "shared axis 4", "(2, 3, 4)"):
        dl.layers.PReLU(shared_axes=4)(np.ones((2, 3, 4), "float32"))
    with raises(TypeError, "PReLU", "alpha_constraint", "'non_neg'"):
        dl.layers.PReLU(alpha_constraint="non_neg")


# ------------------------------------------------------------------------------------- Softmax

def test_softmax_axes_and_mask(rng, tmp_path):
    x = make((2, 3, 4), np.float64, rng)
    for axis in (-1, 1, (1, 2)):
        layer = dl.layers.Softmax(axis, dtype="float64")
        assert_close(layer(x).numpy(), ref.masked_softmax(x, axis=axis), np.float64)
        assert dl.testing.gradcheck(lambda t: layer(t), [dl.tensor(x, requires_grad=True)])
        config_roundtrip(layer)
    mask = rng.random((2, 3, 4)) > 0.3
    mask[0, 0] = False  # a fully masked row: zeros, as Keras
    layer = dl.layers.Softmax(dtype="float64")
    y = layer(x, mask=mask).numpy()
    assert_close(y, ref.masked_softmax(x, mask), np.float64)
    assert not y[0, 0].any()
    assert_close(layer(x, mask=mask[:, :1]).numpy(), ref.masked_softmax(x, mask[:, :1]), np.float64)  # broadcast
    assert dl.testing.gradcheck(lambda t: layer(t, mask=mask), [dl.tensor(x, requires_grad=True)])
    save_roundtrip(tmp_path, dl.layers.Softmax(axis=1), x.astype(np.float32))
    with raises(TypeError, "Softmax", "axis", "'last'"):
        dl.layers.Softmax("last")
    with raises(ValueError, "Softmax", "axis 3", "(2, 3, 4)"):
        dl.layers.Softmax(3)(x)


# ------------------------------------------------------------------------------ GroupNormalization

@pytest.mark.parametrize("shape,groups,axis", [((2, 5, 6, 8), 4, -1), ((3, 7, 6), 1, -1), ((3, 7, 6), 6, -1),
                                               ((2, 8, 5, 4), 2, 1), ((4, 6), 3, -1)])
def test_group_normalization(shape, groups, axis, rng, tmp_path):
    layer = dl.layers.GroupNormalization(groups=groups, axis=axis, dtype="float64",
                                         gamma_initializer=dl.initializers.RandomNormal(1.0, 0.2, seed=0),
                                         beta_initializer=dl.initializers.RandomNormal(0.0, 0.2, seed=1))
    x = make(shape, np.float64, rng) * 2 + 1
    y = layer(x)
    moved = np.moveaxis(x, axis, -1)
    expect = np.moveaxis(ref.group_norm(moved, layer.gamma.numpy(), layer.beta.numpy(), groups), -1, axis)
    assert_close(y.numpy(), expect, np.float64)
    g, b = dl.tensor(layer.gamma.numpy(), requires_grad=True), dl.tensor(layer.beta.numpy(), requires_grad=True)
    assert dl.testing.gradcheck(lambda t, g, b: F.group_norm(t, g, b, groups=groups, axis=axis),
                                [dl.tensor(x, requires_grad=True), g, b])
    config_roundtrip(layer)
    save_roundtrip(tmp_path, dl.layers.GroupNormalization(groups=groups, axis=axis), x.astype(np.float32))


def test_group_normalization_options_and_errors(rng):
    layer = dl.layers.GroupNormalization(groups=2, center=False, scale=False)
    x = make((2, 4, 6), np.float32, rng)
    assert layer(x).shape == x.shape and layer.weights == []
    with raises(ValueError, "GroupNormalization", "groups", "0"):
        dl.layers.GroupNormalization(groups=0)
    with raises(ValueError, "GroupNormalization", "6 channels", "groups=4"):
        dl.layers.GroupNormalization(groups=4)(x)
    with raises(ValueError, "GroupNormalization", "6 channels", "groups=32"):
        dl.layers.GroupNormalization()(x)  # Keras's default of 32 groups
    with raises(ValueError, "GroupNormalization", "axis 0"):
        dl.layers.GroupNormalization(groups=2, axis=0)(x)
    built = dl.layers.GroupNormalization(groups=3)
    built(x)
    with raises(ValueError, "GroupNormalization", "6 channels", "(2, 4, 9)"):
        built(np.ones((2, 4, 9), "float32"))


# ------------------------------------------------------------------------------------- noise layers

def test_gaussian_noise():
    x = np.zeros((200, 50), "float32")
    layer = dl.layers.GaussianNoise(0.5, seed=3)
    y = layer(x, training=True).numpy()
    assert abs(y.std() - 0.5) < 0.02 and abs(y.mean()) < 0.02
    again = dl.layers.GaussianNoise(0.5, seed=3)(x, training=True).numpy()
    assert np.array_equal(y, again)  # the seed fixes the layer's stream
    assert np.array_equal(layer(x, training=False).numpy(), x)
    t = dl.tensor(np.ones((3, 4)), requires_grad=True)
    layer(t, training=True).sum().backward()
    assert np.array_equal(t.grad, np.ones((3, 4)))
    assert config_roundtrip(layer).seed == 3


def test_gaussian_dropout(rng):
    x = np.ones((400, 100), "float32")
    layer = dl.layers.GaussianDropout(0.2, seed=0)
    y = layer(x, training=True).numpy()
    assert abs(y.mean() - 1.0) < 0.01 and abs(y.std() - np.sqrt(0.2 / 0.8)) < 0.01
    assert np.array_equal(layer(x, training=False).numpy(), x)
    t = dl.tensor(make((3, 4), np.float64, rng), requires_grad=True)
    out = dl.layers.GaussianDropout(0.3, seed=5, dtype="float64")(t, training=True)
    out.sum().backward()
    mask = dl.layers.GaussianDropout(0.3, seed=5, dtype="float64")(np.ones((3, 4)), training=True).numpy()
    assert np.allclose(t.grad, mask)
    config_roundtrip(layer)


@pytest.mark.parametrize("cls,shape,axis", [("SpatialDropout1D", (8, 10, 16), -1),
                                            ("SpatialDropout2D", (8, 5, 6, 16), -1),
                                            ("SpatialDropout3D", (4, 3, 3, 3, 16), -1)])
def test_spatial_dropout(cls, shape, axis):
    layer = getattr(dl.layers, cls)(0.5, seed=2)
    y = layer(np.ones(shape, "float32"), training=True).numpy()
    per_map = np.moveaxis(y, axis, 1).reshape(shape[0], shape[axis], -1)
    assert ((per_map == 0).all(axis=2) | (per_map == 2.0).all(axis=2)).all()  # whole maps kept (x2) or dropped
    assert 0.3 < (per_map[:, :, 0] == 0).mean() < 0.7
    assert np.array_equal(layer(np.ones(shape, "float32"), training=False).numpy(), np.ones(shape))
    config_roundtrip(layer)


def test_spatial_dropout_channels_first_and_training_flag(tmp_path):
    layer = dl.layers.SpatialDropout2D(0.5, data_format="channels_first", seed=1)
    y = layer(np.ones((6, 8, 3, 3), "float32"), training=True).numpy()
    assert ((y == 0).all(axis=(2, 3)) | (y == 2).all(axis=(2, 3))).all()
    model = dl.Sequential([dl.layers.SpatialDropout1D(0.5)], input_shape=(5, 4))
    x = np.ones((3, 5, 4), "float32")
    assert np.array_equal(model.predict(x, verbose=0), x)  # inference: identity
    save_roundtrip(tmp_path, dl.layers.GaussianNoise(0.1), x)
    save_roundtrip(tmp_path, dl.layers.SpatialDropout1D(0.3, seed=4), x, name="s.dlc")


def test_noise_errors():
    with raises(ValueError, "GaussianNoise", "stddev", "-1"):
        dl.layers.GaussianNoise(-1)
    with raises(ValueError, "GaussianDropout", "rate", "1"):
        dl.layers.GaussianDropout(1)
    with raises(ValueError, "SpatialDropout2D", "rate", "1.5"):
        dl.layers.SpatialDropout2D(1.5)
    with raises(ValueError, "SpatialDropout1D", "seed", "-3"):
        dl.layers.SpatialDropout1D(0.5, seed=-3)
    with raises(ValueError, "SpatialDropout2D", "data_format", "'nchw'"):
        dl.layers.SpatialDropout2D(0.5, data_format="nchw")
    with raises(ValueError, "SpatialDropout2D", "4-D", "(2, 3, 4)"):
        dl.layers.SpatialDropout2D(0.5)(np.ones((2, 3, 4), "float32"), training=True)


# ------------------------------------------------------------------------------------- Keras 3

KERAS_CASES = [
    ("ReLU", dict(max_value=1.5, negative_slope=0.1, threshold=0.2)),
    ("ReLU", {}),
    ("LeakyReLU", dict(negative_slope=0.2)),
    ("ELU", dict(alpha=0.7)),
    ("Softmax", dict(axis=1)),
    ("PReLU", dict(shared_axes=[1])),
    ("GroupNormalization", dict(groups=2)),
]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras's own array conversions under NumPy 2
@pytest.mark.parametrize("name,kwargs", KERAS_CASES, ids=[f"{c[0]}-{c[1]}" for c in KERAS_CASES])
def test_matches_keras(name, kwargs, rng):
    k = keras()
    x = make((2, 5, 4), np.float32, rng) * 2
    theirs = getattr(k.layers, name)(**kwargs)
    theirs.build(x.shape)
    weights = [rng.standard_normal(w.shape).astype(np.float32) for w in theirs.get_weights()]
    if weights:
        theirs.set_weights(weights)
    expect = np.asarray(theirs(x).detach().cpu())
    ours = getattr(dl.layers, name)(**kwargs)
    ours(x)
    for p, v in zip(ours.weights, weights):
        p.data[...] = v
    assert_close(ours(x).numpy(), expect, np.float32)
