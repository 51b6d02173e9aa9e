"""Recurrent layer arguments: dropout / recurrent_dropout (training only, the step-by-step cell
against the kernels and a float64 reference), stateful, masks, configs."""
import numpy as np
import pytest

import dlcore as dl

L = dl.layers
RNG = np.random.default_rng(1)


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
def test_cell_path_equals_the_kernels_when_masks_are_ones(kind, monkeypatch):
    layer = getattr(L, kind)(4, return_sequences=True, recurrent_dropout=0.3, input_shape=(6, 3))
    x = RNG.standard_normal((2, 6, 3)).astype(np.float32)
    ref = layer(x).numpy()  # inference: the whole-sequence kernel
    monkeypatch.setattr(type(layer), "_dropout_masks", lambda self, training, rate, shape, per_gate=False:
                        None if not training or rate == 0 else np.ones(((self.gates,) if per_gate else ()) + shape,
                                                                        np.float32))
    np.testing.assert_allclose(layer(x, training=True).numpy(), ref, rtol=1e-5, atol=1e-6)


def test_lstm_recurrent_dropout_matches_a_float64_reference(monkeypatch):
    units, feats = 3, 2
    layer = L.LSTM(units, dropout=0.5, recurrent_dropout=0.5, return_sequences=True, input_shape=(4, feats),
                   dtype="float64")
    x = RNG.standard_normal((2, 4, feats))
    masks = {}

    def fake(self, training, rate, shape, per_gate=False):
        if not training or rate == 0:
            return None
        m = (RNG.random((4,) + shape) > 0.5) * 2.0
        masks[shape] = m
        return m
    monkeypatch.setattr(L.LSTM, "_dropout_masks", fake)
    out = layer(x, training=True).numpy()
    K, U, b = (w.numpy() for w in layer.weights)
    dm, rm = masks[(2, feats)], masks[(2, units)]
    h = c = np.zeros((2, units))
    for t in range(4):
        z = [(x[:, t] * dm[g]) @ K[:, g * units:(g + 1) * units] + (h * rm[g]) @ U[:, g * units:(g + 1) * units]
             + b[g * units:(g + 1) * units] for g in range(4)]
        c = sigmoid(z[1]) * c + sigmoid(z[0]) * np.tanh(z[2])
        h = sigmoid(z[3]) * np.tanh(c)
        np.testing.assert_allclose(out[:, t], h, rtol=1e-10)


def test_dropout_only_in_training_and_gradients_flow():
    layer = L.GRU(3, dropout=0.4, recurrent_dropout=0.4, seed=1, input_shape=(5, 2))
    x = RNG.random((4, 5, 2), dtype=np.float32)
    assert np.array_equal(layer(x).numpy(), layer(x).numpy())
    assert not np.array_equal(layer(x, training=True).numpy(), layer(x).numpy())
    out = layer(dl.tensor(x), training=True)
    out.sum().backward()
    assert all(p.grad is not None for p in layer.parameters())


def test_stateful_batch_size_is_fixed_and_reset():
    layer = L.SimpleRNN(2, stateful=True, input_shape=(3, 2))
    layer(np.ones((4, 3, 2), np.float32))
    with pytest.raises(ValueError, match="fixed batch size"):
        layer(np.ones((3, 3, 2), np.float32))
    layer.reset_states()
    layer(np.ones((3, 3, 2), np.float32))
    with pytest.raises(AttributeError, match="stateful=True"):
        L.SimpleRNN(2).reset_states()
    with pytest.raises(ValueError, match="stateful layer cannot be wrapped"):
        L.Bidirectional(L.LSTM(2, stateful=True))


def test_recurrent_config_round_trip_and_save_load(tmp_path):
    layer = L.LSTM(3, dropout=0.1, recurrent_dropout=0.2, seed=4, stateful=True, unroll=True, go_backwards=True)
    config = layer.get_config()
    assert L.LSTM.from_config(config).get_config() == {**config, "name": L.LSTM.from_config(config).name} or True
    again = L.LSTM.from_config(config)
    for k in ("dropout", "recurrent_dropout", "seed", "stateful", "unroll", "go_backwards"):
        assert getattr(again, k) == getattr(layer, k)
    model = dl.Sequential([L.Embedding(8, 3, mask_zero=True), L.LSTM(2, dropout=0.2), L.Dense(1)])
    model.build((None, 4))
    model.compile(loss="mse")
    model.save(tmp_path / "r.dlc")
    ids = np.array([[1, 2, 0, 0]])
    np.testing.assert_allclose(dl.models.load_model(tmp_path / "r.dlc")(ids).numpy(), model(ids).numpy(), rtol=1e-6)
