"""The Keras losses (classes and per-sample functions) against float64 references written from
Keras's formulas (tests/reference.py), with gradient checks, the reductions and sample weights,
label smoothing, names, configs and errors; against Keras 3 itself where it is installed."""
import os

import numpy as np
import pytest

import dlcore as dl
import reference as ref
from harness import assert_allclose

L = dl.losses


def _dense(shape, rng, kind):
    if kind == "prob":
        p = rng.uniform(0.05, 1.0, shape)
        return p / p.sum(axis=-1, keepdims=True)
    if kind == "pos":
        return rng.uniform(0.1, 3.0, shape)
    if kind == "sign":
        return rng.choice([-1.0, 1.0], shape)
    if kind == "binary":
        return rng.integers(0, 2, shape).astype(float)
    if kind == "onehot":
        return np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]
    return rng.standard_normal(shape)


# name -> (class, function, reference, y_true kind, y_pred kind)
CASES = {
    "mape": (L.MeanAbsolutePercentageError, L.mean_absolute_percentage_error, ref.mape_per_sample, "normal", "normal"),
    "msle": (L.MeanSquaredLogarithmicError, L.mean_squared_logarithmic_error, ref.msle_per_sample, "pos", "pos"),
    "huber": (L.Huber, L.huber, ref.huber_per_sample, "normal", "normal"),
    "log_cosh": (L.LogCosh, L.log_cosh, ref.log_cosh_per_sample, "normal", "normal"),
    "cosine": (L.CosineSimilarity, L.cosine_similarity, ref.cosine_similarity_per_sample, "normal", "normal"),
    "hinge": (L.Hinge, L.hinge, ref.hinge_per_sample, "sign", "normal"),
    "hinge01": (L.Hinge, L.hinge, ref.hinge_per_sample, "binary", "normal"),
    "squared_hinge": (L.SquaredHinge, L.squared_hinge, ref.squared_hinge_per_sample, "binary", "normal"),
    "categorical_hinge": (L.CategoricalHinge, L.categorical_hinge, ref.categorical_hinge_per_sample, "onehot",
                          "normal"),
    "kld": (L.KLDivergence, L.kl_divergence, ref.kl_divergence_per_sample, "prob", "prob"),
    "poisson": (L.Poisson, L.poisson, ref.poisson_per_sample, "pos", "pos"),
    "mse": (L.MeanSquaredError, L.mean_squared_error, ref.mse_per_sample, "normal", "normal"),
    "mae": (L.MeanAbsoluteError, L.mean_absolute_error, ref.mae_per_sample, "normal", "normal"),
}
SHAPES = [(7, 3), (1, 1), (5,), (4, 33)]


def inputs(name, shape, rng):
    _, _, _, kt, kp = CASES[name]
    return _dense(shape, rng, kt), _dense(shape, rng, kp)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(CASES))
def test_per_sample_function(name, shape, dtype):
    if name == "categorical_hinge" and len(shape) == 1:
        pytest.skip("categorical_hinge needs a class axis")
    rng = np.random.default_rng(0)
    t, p = inputs(name, shape, rng)
    got = CASES[name][1](t, p.astype(dtype))
    assert got.dtype == dtype and got.shape == (shape[0],)
    assert_allclose(got.numpy(), CASES[name][2](t, p), dtype, what=name)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none", "mean_with_sample_weight"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_class_reductions_and_sample_weight(name, reduction):
    rng = np.random.default_rng(1)
    t, p = inputs(name, (6, 4), rng)
    w = rng.uniform(0, 2, 6)
    loss = CASES[name][0](reduction=reduction)
    per = CASES[name][2](t, p)
    for weight in (None, w):
        got = loss(t, p, sample_weight=weight).numpy()
        assert_allclose(got, ref.reduce_keras(per, reduction, weight), np.float64, what=f"{name} {reduction}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    rng = np.random.default_rng(2)
    t, p = inputs(name, (4, 3), rng)
    w = rng.uniform(0.5, 2, 4)
    loss = CASES[name][0]()
    assert dl.testing.gradcheck(lambda x: loss(t, x, sample_weight=w), [dl.tensor(p, requires_grad=True)])


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5])
def test_label_smoothing(smoothing):
    rng = np.random.default_rng(3)
    y = np.eye(4)[rng.integers(0, 4, 6)]
    logits = rng.standard_normal((6, 4)) * 2
    expected = ref.softmax_xent_per_sample(logits, y * (1 - smoothing) + smoothing / 4).mean()
    got = L.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing)(y, logits).item()
    assert got == pytest.approx(expected, rel=1e-12)
    assert L.categorical_crossentropy(y, logits, from_logits=True, label_smoothing=smoothing).numpy().mean() == \
        pytest.approx(expected, rel=1e-12)
    yb = rng.integers(0, 2, (6, 3)).astype(float)
    probs = rng.uniform(0.05, 0.95, (6, 3))
    expected = ref.binary_xent_per_sample(probs, yb * (1 - smoothing) + smoothing / 2).mean()
    assert L.BinaryCrossentropy(label_smoothing=smoothing)(yb, probs).item() == pytest.approx(expected, rel=1e-12)


def test_function_forms_are_per_sample_and_compile_reduces_them():
    y, p = np.zeros((3, 2)), np.ones((3, 2))
    assert L.mean_squared_error(y, p).shape == (3,) and L.mse is L.mean_squared_error
    loss = L.get(L.mean_squared_error)
    assert type(loss) is L.MeanSquaredError and loss.name == "mean_squared_error"

    def my_loss(y_true, y_pred):
        return (y_pred - dl.tensor(y_true)).abs().max(axis=-1)

    wrapped = L.get(my_loss)
    assert type(wrapped) is L.LossFunctionWrapper and wrapped.name == "my_loss"
    assert wrapped(y, dl.tensor(p), sample_weight=np.array([1.0, 2.0, 3.0])).item() == pytest.approx(2.0)
    model = dl.Sequential([dl.layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer="sgd", loss=my_loss)
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    history = model.fit(x, np.zeros((8, 2), np.float32), epochs=2, verbose=0, sample_weight=np.ones(8))
    assert len(history.history["loss"]) == 2


@pytest.mark.parametrize("name", ["mape", "msle", "cosine_similarity", "huber", "log_cosh", "kld", "poisson", "hinge",
                                  "squared_hinge", "categorical_hinge", "kl_divergence", "logcosh", "huber_loss"])
def test_names_and_config_round_trip(name):
    loss = L.get(name)
    assert isinstance(loss, L.Loss) and loss.name == name
    again = L.deserialize(L.serialize(loss))
    assert type(again) is type(loss) and again.get_config() == loss.get_config()


def test_saved_model_keeps_its_loss(tmp_path):
    model = dl.Sequential([dl.layers.Dense(2, input_shape=(3,), activation="softmax")])
    model.compile(optimizer="adam", loss=L.CategoricalCrossentropy(label_smoothing=0.2))
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[np.arange(8) % 2]
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.dlc")
    again = dl.models.load_model(tmp_path / "m.dlc")
    assert type(again.loss) is L.CategoricalCrossentropy and again.loss.label_smoothing == 0.2
    assert again.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))


def test_errors():
    with pytest.raises(ValueError, match="hinge: y_true and y_pred must have the same shape"):
        L.hinge(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="BinaryCrossentropy: label_smoothing must be a number in"):
        L.BinaryCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match="CategoricalCrossentropy: only axis=-1"):
        L.CategoricalCrossentropy(axis=0)
    with pytest.raises(ValueError, match="reduction must be"):
        L.Poisson(reduction="avg")
    with pytest.raises(ValueError, match="does not broadcast"):
        L.Poisson()(np.ones((3, 2)), np.ones((3, 2)), sample_weight=np.ones(4))
    with pytest.raises(TypeError):
        L.SparseCategoricalCrossentropy(ignore_class=0)
    with pytest.raises(ValueError, match="cannot be rebuilt"):
        L.LossFunctionWrapper.from_config({"name": "x"})


# ---- Keras 3 as an optional anchor --------------------------------------------------------------

@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


KERAS_CLASSES = {"mape": "MeanAbsolutePercentageError", "msle": "MeanSquaredLogarithmicError", "huber": "Huber",
                 "log_cosh": "LogCosh", "cosine": "CosineSimilarity", "hinge": "Hinge", "hinge01": "Hinge",
                 "squared_hinge": "SquaredHinge", "categorical_hinge": "CategoricalHinge", "kld": "KLDivergence",
                 "poisson": "Poisson", "mse": "MeanSquaredError", "mae": "MeanAbsoluteError"}


@pytest.mark.parametrize("name", sorted(KERAS_CLASSES))
def test_keras_anchor(keras, name):
    rng = np.random.default_rng(4)
    t, p = inputs(name, (6, 4), rng)
    w = rng.uniform(0, 2, 6)
    theirs = getattr(keras.losses, KERAS_CLASSES[name])()
    ours = CASES[name][0]()
    expected = keras.ops.convert_to_numpy(theirs(t.astype(np.float32), p.astype(np.float32), sample_weight=w))
    assert_allclose(ours(t, p.astype(np.float32), sample_weight=w).numpy(), expected, np.float32, what=name)
    for smoothing in (0.0, 0.3):
        y = np.eye(4)[rng.integers(0, 4, 6)].astype(np.float32)
        q = rng.uniform(0.05, 1.0, (6, 4)).astype(np.float32)
        q /= q.sum(axis=1, keepdims=True)
        expected = keras.ops.convert_to_numpy(keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)(y, q))
        assert_allclose(L.CategoricalCrossentropy(label_smoothing=smoothing)(y, q).numpy(), expected, np.float32)
