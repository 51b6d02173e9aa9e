"""Sequential / functional / subclassed models: compile, fit, evaluate, predict, summary, weights,
callbacks inside fit, Ctrl-C, data sources, sample and class weights."""
import io
import os
import signal
import sys
import contextlib

import numpy as np
import pytest

import dlcore as dl


def blobs(n=120, seed=0, classes=3, dim=4):
    """Well separated Gaussian blobs: an easy, learnable classification task."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(classes, dim))
    y = rng.integers(0, classes, size=n)
    x = (centers[y] + rng.normal(size=(n, dim))).astype(np.float32)
    return x, y.astype(np.int64)


def mlp(dim=4, classes=3, dropout=0.0, compile=True, lr=0.01):
    dl.manual_seed(0)
    layers = [dl.layers.Dense(16, activation="relu", input_shape=(dim,))]
    if dropout:
        layers.append(dl.layers.Dropout(dropout))
    layers.append(dl.layers.Dense(classes, activation="softmax"))
    m = dl.Sequential(layers)
    if compile:
        m.compile(optimizer=dl.optimizers.Adam(learning_rate=lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return m


@contextlib.contextmanager
def captured():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        yield buf


# ---------------------------------------------------------------------------------------------
# building and summary
# ---------------------------------------------------------------------------------------------

def test_sequential_list_add_and_build():
    m = mlp(compile=False)
    assert m.built and len(m.layers) == 2
    assert m.count_params() == 4 * 16 + 16 + 16 * 3 + 3
    m2 = dl.Sequential()
    m2.add(dl.layers.Dense(5, input_shape=(3,)))
    m2.add(dl.layers.Dense(2))
    assert m2.built and m2.count_params() == 3 * 5 + 5 + 5 * 2 + 2
    m3 = dl.Sequential([dl.layers.Dense(5), dl.layers.Dense(2)])
    assert not m3.built
    out = m3.predict(np.zeros((4, 7), np.float32))
    assert out.shape == (4, 2) and m3.built and m3.count_params() == 7 * 5 + 5 + 12
    with pytest.raises(TypeError, match="layer"):
        dl.Sequential([lambda x: x])


def test_summary_like_keras():
    m = dl.Sequential([dl.layers.Dense(16, activation="relu", input_shape=(4,)), dl.layers.Dense(3)],
                      name="tiny")
    lines = []
    m.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "tiny"' in text
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text
    assert "(None, 16)" in text and "(None, 3)" in text
    assert "(Dense)" in text and " 80" in text and " 51" in text
    assert "Total params: 131" in text and "Trainable params: 131" in text and "Non-trainable params: 0" in text
    with pytest.raises(ValueError, match="not built"):
        dl.Sequential([dl.layers.Dense(2)]).summary()


# ---------------------------------------------------------------------------------------------
# fit / evaluate / predict
# ---------------------------------------------------------------------------------------------

def test_fit_learns_and_history():
    x, y = blobs()
    m = mlp()
    h = m.fit(x, y, epochs=15, batch_size=16, verbose=0, validation_split=0.2)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(h.history["loss"]) == 15 and h.epoch == list(range(15))
    assert h.history["loss"][-1] < h.history["loss"][0] * 0.5
    assert h.history["accuracy"][-1] > 0.9
    loss, acc = m.evaluate(x, y)
    assert acc > 0.9 and loss < 0.5
    d = m.evaluate(x, y, return_dict=True)
    assert d == {"loss": pytest.approx(loss), "accuracy": pytest.approx(acc)}
    assert m.history is h


def test_evaluate_loss_only_and_batched_predict():
    x, y = blobs(50)
    m = mlp()
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert isinstance(m.evaluate(x, y), float)
    full = m.predict(x, batch_size=50)
    np.testing.assert_allclose(m.predict(x, batch_size=7), full, rtol=1e-5, atol=1e-6)
    assert full.shape == (50, 3) and isinstance(full, np.ndarray)
    np.testing.assert_allclose(full.sum(axis=1), 1, rtol=1e-5)


def test_predict_and_evaluate_in_eval_mode_without_grad():
    x, y = blobs(40)
    m = mlp(dropout=0.5)
    a, b = m.predict(x), m.predict(x)
    np.testing.assert_array_equal(a, b)  # dropout off
    m.evaluate(x, y)
    assert all(p.grad is None for p in m.parameters())


def test_train_on_batch_and_test_on_batch():
    x, y = blobs(32)
    m = mlp()
    first = m.train_on_batch(x, y)
    assert isinstance(first, list) and len(first) == 2
    for _ in range(30):
        last = m.train_on_batch(x, y, return_dict=True)
    assert last["loss"] < first[0]
    t = m.test_on_batch(x, y, return_dict=True)
    assert set(t) == {"loss", "accuracy"}


def test_sample_weight_scales_loss_and_class_weight_matches_sample_weight():
    x, y = blobs(48)
    m = mlp()
    base = m.test_on_batch(x, y)[0]
    twice = m.test_on_batch(x, y, sample_weight=np.full(48, 2.0))[0]
    assert twice == pytest.approx(2 * base, rel=1e-5)
    zero_some = np.where(y == 0, 0.0, 1.0)
    manual = m.test_on_batch(x[y != 0], y[y != 0])[0] * (y != 0).sum() / len(y)
    assert m.test_on_batch(x, y, sample_weight=zero_some)[0] == pytest.approx(manual, rel=1e-5)

    cw = {0: 2.0, 1: 0.5, 2: 1.0}
    a, b = mlp(), mlp()
    a.fit(x, y, epochs=3, batch_size=16, verbose=0, shuffle=False, class_weight=cw)
    b.fit(x, y, epochs=3, batch_size=16, verbose=0, shuffle=False,
          sample_weight=np.array([cw[int(c)] for c in y]))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-7)


def test_initial_epoch_validation_data_and_shuffle_reproducible():
    x, y = blobs(60)
    m = mlp()
    h = m.fit(x, y, epochs=5, initial_epoch=3, verbose=0, validation_data=(x[:10], y[:10]))
    assert h.epoch == [3, 4] and "val_loss" in h.history
    a, b = mlp(), mlp()
    dl.manual_seed(7)
    a.fit(x, y, epochs=2, batch_size=8, verbose=0)
    dl.manual_seed(7)
    b.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_validation_freq_every_n_epochs_or_a_list_of_epochs():
    x, y = blobs(40)
    m = mlp()
    for freq, validated in ((2, [1, 3]), ([1, 3], [0, 2]), ((4,), [3]), (1, [0, 1, 2, 3])):
        h = m.fit(x, y, epochs=4, verbose=0, validation_data=(x[:8], y[:8]), validation_freq=freq)
        assert len(h.history["val_loss"]) == len(validated), freq  # Keras: epochs counted from 1 in the list
        rec = []
        m.fit(x, y, epochs=4, verbose=0, validation_data=(x[:8], y[:8]), validation_freq=freq,
              callbacks=[dl.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: rec.append((e, "val_loss" in logs)))])
        assert [e for e, has_val in rec if has_val] == validated, freq
    for bad, error in (("2", TypeError), (2.0, TypeError), (True, TypeError), (0, ValueError), ([0, 1], ValueError),
                       ([1, "2"], ValueError)):
        with pytest.raises(error, match="fit: 'validation_freq'"):
            m.fit(x, y, verbose=0, validation_data=(x, y), validation_freq=bad)


def test_fit_from_dataloader_dataset_and_generator():
    x, y = blobs(64)
    m = mlp()
    loader = dl.data.DataLoader((x, y), batch_size=16, shuffle=True, seed=0)
    h = m.fit(loader, epochs=3, verbose=0, validation_data=dl.data.DataLoader((x, y), batch_size=32))
    assert len(h.history["loss"]) == 3 and "val_accuracy" in h.history

    def endless():
        rng = np.random.default_rng(0)
        while True:
            idx = rng.integers(0, 64, size=8)
            yield x[idx], y[idx]
    steps = []
    cb = dl.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: steps.append(b))
    m.fit(endless(), steps_per_epoch=5, epochs=2, verbose=0, callbacks=[cb])
    assert steps == [0, 1, 2, 3, 4] * 2
    m.fit(dl.data.TensorDataset(x, y), batch_size=32, epochs=1, verbose=0)
    assert m.evaluate(loader) is not None


def test_fit_errors():
    x, y = blobs(20)
    m = mlp(compile=False)
    with pytest.raises(RuntimeError, match="compile"):
        m.fit(x, y)
    m = mlp()
    with pytest.raises(ValueError, match="samples"):
        m.fit(x, y[:5], verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        m.fit(x, y, batch_size=0)
    with pytest.raises(ValueError, match="validation_split"):
        m.fit(x, y, validation_split=1.5)
    with pytest.raises(ValueError, match="y"):
        m.fit(x, verbose=0)


def test_get_set_weights():
    m = mlp()
    w = m.get_weights()
    assert [a.shape for a in w] == [(4, 16), (16,), (16, 3), (3,)]
    w[0][...] = 0  # copies: the model is untouched
    assert not np.all(m.get_weights()[0] == 0)
    m.set_weights([np.ones_like(a) for a in w])
    assert all(np.all(a == 1) for a in m.get_weights())
    with pytest.raises(ValueError, match="shape"):
        m.set_weights([np.ones((5, 16))] + w[1:])
    with pytest.raises(ValueError, match="expected 4"):
        m.set_weights(w[:2])


# ---------------------------------------------------------------------------------------------
# progress output
# ---------------------------------------------------------------------------------------------

def test_verbose_modes_output():
    x, y = blobs(40)
    m = mlp()
    with captured() as out:
        m.fit(x, y, epochs=2, batch_size=10, verbose=0)
    assert out.getvalue() == ""
    with captured() as out:
        m.fit(x, y, epochs=2, batch_size=10, verbose=2, validation_split=0.25)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("3/3 - ") and "val_loss" in lines[1]
    assert len(lines) == 4
    with captured() as out:
        m.fit(x, y, epochs=1, batch_size=10, verbose=1)
    text = out.getvalue()
    assert "\r" not in text and "[==============================]" in text and "loss:" in text
    assert "accuracy:" in text and "/step" in text



def test_evaluate_shows_a_progress_bar_by_default():
    x, y = blobs(40)
    m = mlp()
    with captured() as out:
        m.evaluate(x, y, batch_size=10)  # verbose="auto": 1, as fit, predict and Keras
    text = out.getvalue()
    assert "4/4 [==============================]" in text and "loss:" in text and "accuracy:" in text
    with captured() as out:
        m.evaluate(x, y, verbose=2)
    assert out.getvalue().count("\n") == 1 and "loss:" in out.getvalue()
    with captured() as out:
        m.evaluate(x, y, verbose=0)
    assert out.getvalue() == ""
    with pytest.raises(ValueError, match="evaluate: verbose"):
        m.evaluate(x, y, verbose=3)


# ---------------------------------------------------------------------------------------------
# other model kinds
# ---------------------------------------------------------------------------------------------

def test_functional_model():
    x, y = blobs(80)
    inputs = dl.Input(shape=(4,))
    h = dl.layers.Dense(16, activation="relu")(inputs)
    outputs = dl.layers.Dense(3, activation="softmax")(h)
    m = dl.Model(inputs, outputs)
    assert len(m.layers) == 2 and m.count_params() == 131
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(x, y, epochs=10, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    lines = []
    m.summary(print_fn=lines.append)
    assert "(None, 16)" in "\n".join(lines)
    # a functional model reuses the same weights when called on tensors
    np.testing.assert_allclose(m(dl.tensor(x)).numpy(), m.predict(x), rtol=1e-6)


def test_functional_graph_errors():
    a = dl.Input((3,))
    b = dl.Input((3,))
    out = dl.layers.Dense(2)(b)
    with pytest.raises(ValueError, match="not among the model's inputs"):
        dl.Model(a, out)
    with pytest.raises(TypeError):
        dl.Model(a, np.zeros(3))


def test_layer_classes_defined_after_import_build_a_graph():
    inputs = dl.Input(shape=(4,))  # an Input that exists before the classes below

    class Scale(dl.layers.Layer):  # Keras style: call() only
        def __init__(self, factor, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, inputs, training=None):
            return inputs * self.factor

    class Doubled(dl.layers.Layer):  # its own __call__, delegating to Module.__call__ as in Keras
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def __call__(self, x, training=None):
            return super().__call__(x, training=training)

        def call(self, x, training=None):
            return self.inner(x) * 2.0

    scale, doubled = Scale(3.0), Doubled(dl.layers.Dense(4))
    h = scale(inputs)
    out = doubled(h)
    assert isinstance(h, dl.models.KerasTensor) and h.shape == (None, 4) and h.node.layer is scale
    assert isinstance(out, dl.models.KerasTensor) and out.node.layer is doubled
    m = dl.Model(inputs, out)
    assert m.layers == [scale, doubled]
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    y = m.predict(x)  # the inner Dense is built on this first call
    kernel, bias = m.get_weights()
    np.testing.assert_allclose(y, ((3 * x) @ kernel + bias) * 2, rtol=1e-5, atol=1e-6)
    m.compile(optimizer="sgd", loss="mse")
    h = m.fit(x, np.zeros((6, 4), np.float32), epochs=3, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]


def test_subclassed_model():
    x, y = blobs(80)

    class Net(dl.Model):
        def __init__(self):
            super().__init__()
            self.hidden = dl.layers.Dense(16, activation="relu")
            self.drop = dl.layers.Dropout(0.1)
            self.out = dl.layers.Dense(3, activation="softmax")

        def call(self, inputs, training=None):
            return self.out(self.drop(self.hidden(inputs), training=training))

    dl.manual_seed(0)
    m = Net()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(x, y, epochs=10, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert m.count_params() == 131
    assert m.predict(x).shape == (80, 3)
    with pytest.raises(ValueError, match="subclassed"):
        m.save("never.dlc")


def test_nested_sequential_autoencoder():
    x = np.random.default_rng(0).random((64, 10)).astype(np.float32)
    dl.manual_seed(0)
    enc = dl.Sequential([dl.layers.Dense(6, activation="relu", input_shape=(10,)), dl.layers.Dense(3)])
    dec = dl.Sequential([dl.layers.Dense(6, activation="relu"), dl.layers.Dense(10, activation="sigmoid")])
    ae = dl.Sequential([enc, dec])
    assert ae.built and ae.count_params() == enc.count_params() + dec.count_params()
    ae.compile(optimizer="adam", loss="mse")
    h = ae.fit(x, x, epochs=20, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert enc.predict(x).shape == (64, 3)
    lines = []
    ae.summary(print_fn=lines.append)
    assert "(Sequential)" in "\n".join(lines) and "(None, 3)" in "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# callbacks inside fit, and Ctrl-C
# ---------------------------------------------------------------------------------------------

def test_early_stopping_in_fit_restores_best():
    x, y = blobs(60)
    m = mlp()
    losses = iter([5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    snapshots = []

    class FakeVal(dl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = next(losses)
            snapshots.append(self.model.get_weights())

    es = dl.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    h = m.fit(x, y, epochs=7, verbose=0, callbacks=[FakeVal(), es])
    assert len(h.epoch) == 4
    for a, b in zip(m.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_csv_scheduler_plateau_in_fit(tmp_path):
    x, y = blobs(60)
    m = mlp()
    lrs = []
    cbs = [dl.callbacks.ModelCheckpoint(str(tmp_path / "ck-{epoch:02d}.dlc")),
           dl.callbacks.CSVLogger(tmp_path / "log.csv"),
           dl.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 / (epoch + 1)),
           dl.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: lrs.append(m.optimizer.learning_rate))]
    m.fit(x, y, epochs=3, verbose=0, callbacks=cbs)
    assert sorted(os.listdir(tmp_path)) == ["ck-01.dlc", "ck-02.dlc", "ck-03.dlc", "log.csv"]
    assert lrs == pytest.approx([0.01, 0.005, 0.01 / 3])
    assert dl.models.load_model(tmp_path / "ck-03.dlc").predict(x).shape == (60, 3)
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 4
    m2 = mlp()
    rl = dl.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    m2.fit(x, y, epochs=3, verbose=0, callbacks=[rl])
    assert float(m2.optimizer.learning_rate) == pytest.approx(0.01 * 0.5 ** 2)


def test_terminate_on_nan_in_fit():
    x, _ = blobs(40)
    y = x[:, :1].copy()
    y[5] = np.nan  # a NaN target makes the batch loss NaN
    m = dl.Sequential([dl.layers.Dense(1, input_shape=(4,))])
    m.compile(optimizer="sgd", loss="mse")
    batches = []
    cb = dl.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(logs["loss"]))
    with captured() as out:
        h = m.fit(x, y, epochs=5, batch_size=10, verbose=0, shuffle=False,
                  callbacks=[dl.callbacks.TerminateOnNaN(), cb])
    assert len(batches) == 1 and np.isnan(batches[0]) and "invalid loss" in out.getvalue()
    assert len(h.epoch) <= 1


def test_keyboard_interrupt_from_callback_returns_history():
    x, y = blobs(80)
    m = mlp()

    class Interrupt(dl.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.params and batch == 2 and len(history_epochs) == 1:
                raise KeyboardInterrupt
    history_epochs = []
    ended = []
    cbs = [dl.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: history_epochs.append(e),
                                       on_train_end=lambda logs: ended.append(True)), Interrupt()]
    with captured() as out:
        h = m.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=cbs)
    assert isinstance(h, dl.callbacks.History) and h.epoch == [0]
    assert ended == [True] and "interrupted" in out.getvalue()
    assert m.predict(x).shape == (80, 3)  # usable
    h2 = m.fit(x, y, epochs=1, verbose=0)
    assert len(h2.epoch) == 1


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or sys.platform == "win32", reason="POSIX signals")
def test_sigint_stops_after_current_batch():
    x, y = blobs(80)
    m = mlp()
    batches = []

    class SendSigint(dl.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            batches.append(batch)
            if batch == 3:
                os.kill(os.getpid(), signal.SIGINT)  # arrives while this batch runs

    before = signal.getsignal(signal.SIGINT)
    with captured():
        h = m.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[SendSigint()])
    assert batches == [0, 1, 2, 3]  # batch 3 finished, no batch 4
    assert h.epoch == []
    assert signal.getsignal(signal.SIGINT) is before  # handler restored
    assert np.all(np.isfinite(m.predict(x)))
