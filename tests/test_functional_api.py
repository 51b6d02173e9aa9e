"""The functional API and the model features: several inputs and outputs, get_layer, feature
extraction, freezing, get/set_weights, nested models, merge layers, Masking, eager building, the
empty-optimizer check, Keras arguments that must work or be refused; all saved and loaded."""
import numpy as np
import pytest

import dlcore as dl

L = dl.layers
RNG = np.random.default_rng(0)


def two_in_two_out():
    a, b = dl.Input(shape=(5,), name="a"), dl.Input(shape=(3,), name="b")
    h = L.concatenate([L.Dense(8, activation="relu", name="da")(a), L.Dense(8, activation="relu", name="db")(b)],
                      name="joined")
    out1 = L.Dense(1, name="reg")(h)
    out2 = L.Dense(4, activation="softmax", name="cls")(L.Dropout(0.2)(h))
    return dl.Model([a, b], [out1, out2])


def data(n=48):
    x = [RNG.random((n, 5), dtype=np.float32), RNG.random((n, 3), dtype=np.float32)]
    y = [x[0].sum(1, keepdims=True), RNG.integers(0, 4, n)]
    return x, y


def test_losses_and_weights_per_output_give_the_weighted_sum():
    model = two_in_two_out()
    model.compile(optimizer="sgd", loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[0.3, 2.0],
                  metrics=[[], ["accuracy"]])
    x, y = data()
    logs = model.evaluate(x, y, batch_size=48, return_dict=True)
    p = model.predict(x, verbose=0)
    mse = float(((p[0] - y[0]) ** 2).mean())
    ce = float(-np.log(p[1][np.arange(48), y[1]]).mean())
    assert logs["reg_loss"] == pytest.approx(mse, rel=1e-5)
    assert logs["cls_loss"] == pytest.approx(ce, rel=1e-5)
    assert logs["loss"] == pytest.approx(0.3 * mse + 2.0 * ce, rel=1e-5)
    assert logs["cls_accuracy"] == pytest.approx(float((p[1].argmax(1) == y[1]).mean()))


def test_dicts_by_name_fit_and_save_load(tmp_path):
    model = two_in_two_out()
    model.compile(optimizer="adam", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  loss_weights={"reg": 0.5, "cls": 1.0}, metrics={"cls": ["accuracy"]},
                  weighted_metrics={"reg": ["mae"]})
    x, y = data()
    xd, yd = {"a": x[0], "b": x[1]}, {"reg": y[0], "cls": y[1]}
    hist = model.fit(xd, yd, epochs=3, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert set(hist.history) == {"loss", "reg_loss", "cls_loss", "cls_accuracy", "reg_mae"}
    model.save(tmp_path / "m.dlc")
    m2 = dl.models.load_model(tmp_path / "m.dlc")
    assert m2.output_names == ["reg", "cls"] and m2.input_names == ["a", "b"]
    for p, q in zip(model.predict(xd, verbose=0), m2.predict(xd, verbose=0)):
        np.testing.assert_allclose(p, q, rtol=1e-6)
    assert m2.evaluate(xd, yd, return_dict=True) == pytest.approx(model.evaluate(xd, yd, return_dict=True))


def test_compile_errors_name_the_argument():
    model = two_in_two_out()
    with pytest.raises(ValueError, match="'loss' must have one entry per output"):
        model.compile(loss=["mse"] * 3)
    with pytest.raises(ValueError, match="'loss' names outputs \\['nope'\\]"):
        model.compile(loss={"nope": "mse"})
    with pytest.raises(ValueError, match="steps_per_execution"):
        model.compile(loss="mse", steps_per_execution=4)
    with pytest.raises(TypeError, match="'metrics' must be a list"):
        model.compile(loss="mse", metrics="accuracy")


def test_get_layer_inputs_outputs_and_feature_extraction():
    model = two_in_two_out()
    assert model.get_layer("reg") is model.layers[model.layers.index(model.get_layer("reg"))]
    assert model.get_layer(index=0) is model.layers[0]
    with pytest.raises(ValueError, match="no layer named 'x'"):
        model.get_layer("x")
    feats = dl.Model(model.inputs, model.get_layer("joined").output)
    x, _ = data(4)
    f = feats(x).numpy()
    ref = np.concatenate([np.maximum(x[0] @ model.get_layer("da").kernel.numpy() + model.get_layer("da").bias.numpy(),
                                     0),
                          np.maximum(x[1] @ model.get_layer("db").kernel.numpy() + model.get_layer("db").bias.numpy(),
                                     0)], axis=1)
    np.testing.assert_allclose(f, ref, rtol=1e-5, atol=1e-6)
    seq = dl.Sequential([L.Dense(4, input_shape=(3,), name="h"), L.Dense(2)])
    sub = dl.Model(seq.inputs, seq.get_layer("h").output)
    assert sub(np.ones((2, 3), np.float32)).shape == (2, 4)


def test_freezing_skips_the_optimizer_and_counts_as_non_trainable(capsys):
    model = two_in_two_out()
    model.compile(optimizer="adam", loss=["mse", "sparse_categorical_crossentropy"])
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)   # the optimizer holds every weight
    model.get_layer("da").trainable = False
    before = model.get_layer("da").get_weights()
    other = model.get_layer("db").get_weights()
    model.fit(x, y, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_layer("da").get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(other, model.get_layer("db").get_weights()))
    model.summary()
    text = capsys.readouterr().out
    assert f"Non-trainable params: {5 * 8 + 8:,}" in text
    assert f"Total params: {model.count_params():,}" in text


def test_layer_get_set_weights_and_errors():
    d = L.Dense(3, input_dim=2)
    w = [np.ones((2, 3), np.float32), np.arange(3, dtype=np.float32)]
    d.set_weights(w)
    assert all(np.array_equal(a, b) for a, b in zip(d.get_weights(), w))
    with pytest.raises(ValueError, match="expected 2 arrays"):
        d.set_weights(w[:1])
    with pytest.raises(ValueError, match="has shape \\(2, 3\\), got \\(3, 2\\)"):
        d.set_weights([np.ones((3, 2)), w[1]])


def test_nested_functional_model_as_a_layer_saves_and_loads(tmp_path):
    i = dl.Input(shape=(4,))
    inner = dl.Model(i, L.Dense(3, activation="tanh")(i), name="inner")
    a, b = dl.Input(shape=(4,)), dl.Input(shape=(4,))
    outer = dl.Model([a, b], L.Dense(1)(L.subtract([inner(a), inner(b)])))  # shared weights
    x = [RNG.random((5, 4), dtype=np.float32) for _ in range(2)]
    y = outer(x).numpy()
    outer.compile(loss="mse")
    outer.save(tmp_path / "n.dlc")
    np.testing.assert_allclose(dl.models.load_model(tmp_path / "n.dlc")(x).numpy(), y, rtol=1e-6)


def test_input_size_known_means_weights_exist_after_the_constructor():
    for layer in (L.Dense(3, input_dim=4), L.Dense(3, in_features=4), L.Dense(3, input_shape=(4,)),
                  L.Conv2D(2, 3, input_shape=(8, 8, 1)), L.LSTM(2, input_shape=(5, 3)), L.GRU(2, input_shape=(None, 3)),
                  L.Embedding(10, 4), L.BatchNormalization(input_shape=(3,)),
                  L.Bidirectional(L.SimpleRNN(2), input_shape=(5, 3))):
        assert layer.built and layer.parameters(), type(layer).__name__
    assert not L.Dense(3).parameters()


def test_optimizer_given_no_parameters_raises():
    with pytest.raises(ValueError, match="empty parameter list"):
        dl.optimizers.Adam([])
    with pytest.raises(ValueError, match="empty parameter list"):
        dl.optimizers.SGD(L.Dense(3).parameters())
    dl.optimizers.Adam()  # Keras style: parameters come with compile / build


@pytest.mark.parametrize("layer,ref", [
    (L.Add(), lambda a, b: a + b), (L.Subtract(), lambda a, b: a - b), (L.Multiply(), lambda a, b: a * b),
    (L.Average(), lambda a, b: (a + b) / 2), (L.Maximum(), np.maximum), (L.Minimum(), np.minimum),
    (L.Concatenate(axis=1), lambda a, b: np.concatenate([a, b], 1)),
    (L.Dot(axes=1), lambda a, b: (a * b).sum(1, keepdims=True)),
    (L.Dot(axes=1, normalize=True), lambda a, b: ((a / np.linalg.norm(a, axis=1, keepdims=True))
                                                  * (b / np.linalg.norm(b, axis=1, keepdims=True))).sum(1,
                                                                                                        keepdims=True)),
], ids=lambda v: type(v).__name__ if isinstance(v, L.Layer) else "")
def test_merge_layers_match_numpy_and_gradcheck(layer, ref):
    a, b = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    layer.dtype = np.dtype(np.float64)
    np.testing.assert_allclose(layer([a, b]).numpy(), ref(a, b), rtol=1e-12)
    assert dl.testing.gradcheck(lambda x, y: layer([x, y]), [dl.tensor(a, requires_grad=True),
                                                             dl.tensor(b, requires_grad=True)])
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == {**config, "name": again.name}


def test_dot_on_sequences_and_merge_errors():
    a, b = RNG.random((2, 5, 3)), RNG.random((2, 4, 3))
    out = L.Dot(axes=(2, 2))([a, b]).numpy()
    np.testing.assert_allclose(out, np.einsum("bik,bjk->bij", a, b), rtol=1e-5)
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        L.Subtract()([a, a, a])
    with pytest.raises(ValueError, match="cannot be combined elementwise"):
        L.Add()([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="expected a list of inputs"):
        L.Add()(np.ones((2, 3)))


def test_masking_layer_and_mask_flow_into_losses():
    x = RNG.random((3, 4, 2), dtype=np.float32)
    x[0, 2:] = 0.0
    x[1, 1:] = 0.0
    model = dl.Sequential([L.Masking(0.0, input_shape=(4, 2)), L.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    y = RNG.random((3, 4, 1), dtype=np.float32)
    p = model.predict(x, verbose=0)
    keep = (x != 0).any(-1)
    expected = float(((p - y)[..., 0] ** 2)[keep].mean())
    assert model.evaluate(x, y, batch_size=3) == pytest.approx(expected, rel=1e-5)


def test_mask_dropped_by_a_layer_without_masking_warns():
    model = dl.Sequential([L.Embedding(5, 2, mask_zero=True), L.Flatten()])
    with pytest.warns(UserWarning, match="does not support masking"):
        model(np.array([[1, 0]]))


def test_keras_arguments_work_or_are_refused_by_name():
    with pytest.raises(TypeError, match="kernel_constraint"):
        L.Dense(3, kernel_constraint=None)
    with pytest.raises(TypeError, match="activity_regularizer"):
        L.Conv2D(3, 3, activity_regularizer="l2")
    with pytest.raises(ValueError, match="'dropout' must be a float"):
        L.LSTM(3, dropout=1.5)
    with pytest.raises(ValueError, match="input_length=3"):
        L.Embedding(5, 2, input_length=3)(np.zeros((1, 4), np.int64))
    assert L.Embedding(5, 2, weights=[np.ones((5, 2))]).get_weights()[0].sum() == 10
    with pytest.raises(ValueError, match="noise_shape"):
        L.Dropout(0.5, noise_shape=(None, 2))(np.ones((2, 3)), training=True)
    seeded = [L.Dropout(0.5, seed=3)(np.ones((4, 4)), training=True).numpy() for _ in range(2)]
    assert np.array_equal(seeded[0], seeded[1])
    assert L.LSTM(2, unroll=True, input_shape=(3, 2)).get_config()["unroll"] is True


def test_predict_callbacks_and_verbose(capsys):
    events = []

    class Rec(dl.callbacks.Callback):
        def on_predict_begin(self, logs=None):
            events.append("begin")

        def on_predict_batch_end(self, batch, logs=None):
            events.append(("batch", batch, logs["outputs"].shape))

        def on_predict_end(self, logs=None):
            events.append("end")

    model = dl.Sequential([L.Dense(2, input_shape=(3,))])
    model.predict(np.ones((5, 3), np.float32), batch_size=2, callbacks=[Rec()], verbose=0)
    assert events == ["begin", ("batch", 0, (2, 2)), ("batch", 1, (2, 2)), ("batch", 2, (1, 2)), "end"]
    assert capsys.readouterr().out == ""
    model.predict(np.ones((5, 3), np.float32), batch_size=2, verbose=1)
    assert "3/3" in capsys.readouterr().out
