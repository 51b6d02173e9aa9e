"""Keras 3 (torch backend) as the anchor: the same small model built in both, Keras's weights copied
into dlcore, outputs and losses compared (multi-input / multi-output, masking, stateful). Skipped
where keras or torch is not installed."""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytest.importorskip("torch")
if keras.backend.backend() != "torch":
    pytest.skip("these tests run Keras on its torch backend", allow_module_level=True)

import dlcore as dl  # noqa: E402

RNG = np.random.default_rng(0)
TOL = dict(rtol=1e-4, atol=1e-5)  # float32 in both, different summation orders


def copy_weights(kmodel, dmodel):
    """Keras's weights into dlcore, layer by layer (by name where named, else in order)."""
    named = {layer.name: layer for layer in dmodel.layers}
    klayers = [k for k in kmodel.layers if k.get_weights()]
    dlayers = [d for d in dmodel.layers if d.weights]
    assert len(klayers) == len(dlayers)
    for k, d in zip(klayers, dlayers):
        d = named.get(k.name, d)
        d.set_weights([np.asarray(w) for w in k.get_weights()])


def test_multi_input_multi_output_losses_match_keras():
    def build(lib, L):
        a, b = lib.Input(shape=(5,), name="a"), lib.Input(shape=(3,), name="b")
        h = L.Concatenate()([L.Dense(6, activation="tanh", name="da")(a), L.Dense(6, name="db")(b)])
        h = L.Add()([h, L.Multiply()([h, h])])
        out1 = L.Dense(1, name="reg")(h)
        out2 = L.Dense(4, activation="softmax", name="cls")(L.Maximum()([h, L.Dense(12, name="dc")(h)]))
        return lib.Model([a, b], [out1, out2])

    km, dm = build(keras, keras.layers), build(dl, dl.layers)
    copy_weights(km, dm)
    x = [RNG.random((16, 5), dtype=np.float32), RNG.random((16, 3), dtype=np.float32)]
    y = [RNG.random((16, 1), dtype=np.float32), RNG.integers(0, 4, 16)]
    for k, d in zip(km.predict(x, verbose=0), dm.predict(x, verbose=0)):
        np.testing.assert_allclose(d, k, **TOL)
    compile_args = dict(loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                        loss_weights={"reg": 0.25, "cls": 2.0}, metrics={"cls": ["accuracy"]})
    km.compile(optimizer="sgd", **compile_args)
    dm.compile(optimizer="sgd", **compile_args)
    kl = km.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    dlogs = dm.evaluate(x, y, batch_size=16, return_dict=True)
    for name in ("loss", "reg_loss", "cls_loss", "cls_accuracy"):
        assert dlogs[name] == pytest.approx(kl[name], rel=1e-4), name


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
@pytest.mark.parametrize("wrap", [False, True])
def test_masked_sequences_match_keras(kind, wrap):
    ids = np.array([[3, 4, 5, 0, 0], [1, 2, 0, 0, 0], [6, 7, 8, 9, 1]])
    y = RNG.random((3, 5, 1), dtype=np.float32)

    def build(lib, L):
        i = lib.Input(shape=(5,))
        rnn = getattr(L, kind)(4, return_sequences=True)
        h = L.Embedding(10, 3, mask_zero=True)(i)
        h = (L.Bidirectional(rnn) if wrap else rnn)(h)
        return lib.Model(i, L.Dense(1)(h))

    km, dm = build(keras, keras.layers), build(dl, dl.layers)
    copy_weights(km, dm)
    np.testing.assert_allclose(dm.predict(ids, verbose=0), km.predict(ids, verbose=0), **TOL)
    km.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    dm.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    kl = km.evaluate(ids, y, verbose=0, return_dict=True)
    dlogs = dm.evaluate(ids, y, return_dict=True)
    assert dlogs["loss"] == pytest.approx(kl["loss"], rel=1e-4)      # masked steps left out of the mean
    assert dlogs["mae"] == pytest.approx(kl["mae"], rel=1e-4)


def test_masking_layer_last_output_matches_keras():
    x = RNG.random((3, 6, 2), dtype=np.float32)
    x[0, 4:] = 0.0
    x[2, 1:] = 0.0

    def build(lib, L):
        i = lib.Input(shape=(6, 2))
        return lib.Model(i, L.LSTM(3, go_backwards=True)(L.Masking(0.0)(i)))

    km, dm = build(keras, keras.layers), build(dl, dl.layers)
    copy_weights(km, dm)
    np.testing.assert_allclose(dm.predict(x, verbose=0), km.predict(x, verbose=0), **TOL)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_stateful_matches_keras(kind):
    x = RNG.random((2, 8, 3), dtype=np.float32)

    def build(lib, L):
        i = lib.Input(batch_shape=(2, 4, 3))
        return lib.Model(i, getattr(L, kind)(5, stateful=True, return_sequences=True)(i))

    km, dm = build(keras, keras.layers), build(dl, dl.layers)
    copy_weights(km, dm)
    for chunk in (x[:, :4], x[:, 4:]):
        np.testing.assert_allclose(dm(chunk).numpy(), km(chunk).detach().numpy(), **TOL)
    km.layers[1].reset_states()
    dm.reset_states()
    np.testing.assert_allclose(dm(x[:, 4:]).numpy(), km(x[:, 4:]).detach().numpy(), **TOL)
