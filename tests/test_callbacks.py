"""Callbacks driven by hand (a stand-in model), and the progress bar's output formats.

The callbacks inside a real fit() are tested in tests/test_models.py.
"""
import io
import math

import numpy as np
import pytest

from dlcore import callbacks as cb
from dlcore.utils import Progbar


class Opt:
    def __init__(self, lr=0.1):
        self.learning_rate = lr


class FakeModel:
    """The parts of a model the callbacks use."""

    def __init__(self):
        self.w = np.zeros(3)
        self.stop_training = False
        self.optimizer = Opt()
        self.saved = []

    def get_weights(self):
        return [self.w.copy()]

    def set_weights(self, ws):
        self.w = ws[0].copy()

    def save(self, path):
        self.saved.append(("model", path))

    def save_weights(self, path):
        self.saved.append(("weights", path))


def run(callback, values, key="val_loss", model=None, epochs=None):
    """Drive a callback through epochs whose monitored value is values[e]; weights = epoch number."""
    model = model or FakeModel()
    lst = cb.CallbackList([callback], model=model, epochs=epochs or len(values), steps=1, verbose=0)
    lst.on_train_begin({})
    ran = 0
    for e, v in enumerate(values):
        lst.on_epoch_begin(e, {})
        model.w[:] = e
        logs = {key: v, "loss": v}
        lst.on_epoch_end(e, logs)
        ran += 1
        if model.stop_training:
            break
    lst.on_train_end({})
    return model, ran


def test_history_records_epochs():
    h = cb.History()
    run(h, [3.0, 2.0, 1.0])
    assert h.history["val_loss"] == [3.0, 2.0, 1.0] and h.epoch == [0, 1, 2]


def test_early_stopping_patience_and_restore():
    es = cb.EarlyStopping(patience=2, restore_best_weights=True)
    model, ran = run(es, [5.0, 4.0, 4.5, 4.2, 1.0])
    assert ran == 4 and es.stopped_epoch == 3 and es.best_epoch == 1
    assert np.all(model.w == 1)  # weights of the best epoch


def test_early_stopping_restores_when_running_to_the_end():
    es = cb.EarlyStopping(patience=10, restore_best_weights=True)
    model, ran = run(es, [5.0, 1.0, 3.0])
    assert ran == 3 and es.stopped_epoch == 0
    assert np.all(model.w == 1)


def test_early_stopping_mode_min_delta_and_baseline():
    es = cb.EarlyStopping(monitor="val_accuracy", patience=1)  # auto -> max
    _, ran = run(es, [0.5, 0.6, 0.55, 0.7], key="val_accuracy")
    assert ran == 3
    es = cb.EarlyStopping(patience=1, min_delta=0.5)
    _, ran = run(es, [5.0, 4.9, 4.8, 1.0])
    assert ran == 2  # 4.9 is not an improvement of at least 0.5
    with pytest.raises(ValueError, match="mode"):
        cb.EarlyStopping(mode="up")
    with pytest.warns(RuntimeWarning, match="not in the logs"):
        run(cb.EarlyStopping(monitor="nope"), [1.0])


def test_model_checkpoint_formatting_and_best_only():
    ck = cb.ModelCheckpoint("ck-{epoch:02d}-{val_loss:.2f}.dlc", save_best_only=True)
    model, _ = run(ck, [3.0, 2.0, 2.5, 1.0])
    assert model.saved == [("model", "ck-01-3.00.dlc"), ("model", "ck-02-2.00.dlc"), ("model", "ck-04-1.00.dlc")]
    ck = cb.ModelCheckpoint("w{epoch}.safetensors", save_weights_only=True)
    model, _ = run(ck, [3.0, 4.0])
    assert model.saved == [("weights", "w1.safetensors"), ("weights", "w2.safetensors")]
    with pytest.raises(KeyError, match="val_acc"):
        run(cb.ModelCheckpoint("x{val_acc}.dlc"), [1.0])


def test_learning_rate_scheduler():
    model = FakeModel()
    seen = []
    sch = cb.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)
    lst = cb.CallbackList([sch, cb.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(
        model.optimizer.learning_rate))], model=model)
    for e in range(3):
        lst.on_epoch_begin(e, {})
    assert seen == pytest.approx([0.1, 0.05, 0.025])
    sch1 = cb.LearningRateScheduler(lambda epoch: 1.0 + epoch)
    sch1.set_model(model)
    sch1.on_epoch_begin(2)
    assert model.optimizer.learning_rate == 3.0
    bad = cb.LearningRateScheduler(lambda e, lr: float("nan"))
    bad.set_model(model)
    with pytest.raises(ValueError, match="schedule"):
        bad.on_epoch_begin(0)


def test_reduce_lr_on_plateau():
    rl = cb.ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.02)
    model, _ = run(rl, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    # plateau from epoch 1: reductions after epochs 2, 4, 6 -> 0.1 * 0.5^3 clipped at 0.02
    assert model.optimizer.learning_rate == pytest.approx(0.02)
    rl = cb.ReduceLROnPlateau(factor=0.5, patience=1)
    model, _ = run(rl, [3.0, 2.0, 1.0])
    assert model.optimizer.learning_rate == pytest.approx(0.1)


def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    run(cb.CSVLogger(path), [3.0, 2.0])
    lines = path.read_text().splitlines()
    assert lines == ["epoch,loss,val_loss", "0,3.0,3.0", "1,2.0,2.0"]
    run(cb.CSVLogger(path, append=True), [1.0])
    assert path.read_text().splitlines()[-1] == "0,1.0,1.0" and len(path.read_text().splitlines()) == 4


def test_terminate_on_nan():
    model = FakeModel()
    t = cb.TerminateOnNaN()
    t.set_model(model)
    t.on_train_batch_end(0, {"loss": 1.0})
    assert not model.stop_training
    t.on_train_batch_end(1, {"loss": math.nan})
    assert model.stop_training


def test_lambda_callback():
    events = []
    lc = cb.LambdaCallback(on_train_begin=lambda logs: events.append("begin"),
                           on_epoch_end=lambda e, logs: events.append(e),
                           on_batch_end=lambda b, logs: events.append(("b", b)))
    lst = cb.CallbackList([lc])
    lst.on_train_begin()
    lst.on_train_batch_end(0, {})
    lst.on_epoch_end(0, {})
    lst.on_train_end()
    assert events == ["begin", ("b", 0), 0]


def test_lambda_callback_batch_aliases():
    events = []
    both = cb.LambdaCallback(on_train_batch_end=lambda b, logs: events.append(("train", b)),
                             on_batch_end=lambda b, logs: events.append(("alias", b)))
    lst = cb.CallbackList([both])
    lst.on_train_batch_end(0, {})  # an on_train_batch_end given replaces the one that calls the alias (Keras)
    lst.on_batch_end(1, {})        # the list calls the alias itself when asked to
    assert events == [("train", 0), ("alias", 1)]


class Recorder(cb.Callback):
    """Keras's alias hooks overridden, as Keras 2 code does."""

    def __init__(self):
        super().__init__()
        self.events = []

    def on_batch_begin(self, batch, logs=None):
        self.events.append(("begin", batch))

    def on_batch_end(self, batch, logs=None):
        self.events.append(("end", batch, sorted(logs)))


def test_on_batch_begin_and_end_are_aliases_of_the_train_batch_hooks():
    rec = Recorder()
    lst = cb.CallbackList([rec], model=FakeModel(), epochs=1, steps=2, verbose=0)
    lst.on_train_batch_begin(0)
    lst.on_train_batch_end(0, {"loss": 1.0})
    lst.on_test_batch_end(0, {"loss": 1.0})  # not an alias of the test hooks
    assert rec.events == [("begin", 0), ("end", 0, ["loss"])]

    class OwnTrainHook(Recorder):  # overriding on_train_batch_end replaces the call to the alias (Keras)
        def on_train_batch_end(self, batch, logs=None):
            self.events.append(("train_end", batch))
    own = OwnTrainHook()
    own.on_train_batch_begin(3)
    own.on_train_batch_end(3, {})
    assert own.events == [("begin", 3), ("train_end", 3)]


def test_callback_list_adds_history_and_progbar(capsys):
    model = FakeModel()
    lst = cb.CallbackList(add_history=True, add_progbar=True, model=model, epochs=2, steps=1, verbose=2)
    history, progbar = lst.callbacks
    assert type(history) is cb.History and type(progbar) is cb.ProgbarLogger
    assert model.history is history and progbar.model is model and progbar.params["epochs"] == 2
    lst.on_train_begin()
    for epoch in range(2):
        lst.on_epoch_begin(epoch)
        lst.on_train_batch_end(0, {"loss": 0.5})
        lst.on_epoch_end(epoch, {"loss": 0.5})
    assert history.history == {"loss": [0.5, 0.5]}
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss: 0.5" in out
    # the ones given are kept, not doubled; without the flags nothing is added
    mine, bar = cb.History(), cb.ProgbarLogger(verbose=0)
    assert cb.CallbackList([mine, bar], add_history=True, add_progbar=True).callbacks == [mine, bar]
    assert cb.CallbackList([mine]).callbacks == [mine]
    quiet = cb.CallbackList(add_progbar=True, epochs=1, steps=1, verbose=0)  # verbose=0 params: a silent bar
    quiet.on_epoch_begin(0)
    quiet.on_epoch_end(0, {"loss": 1.0})
    assert capsys.readouterr().out == ""


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progbar_not_a_terminal_prints_plain_lines():
    out = io.StringIO()
    bar = Progbar(5, stream=out)
    for i in range(1, 6):
        bar.update(i, {"loss": 1.0 / i, "accuracy": 0.5})
    text = out.getvalue()
    assert "\r" not in text and text.count("\n") == 1
    assert text.startswith("5/5 [==============================] - ")
    assert "ms/step" in text or "us/step" in text or "s/step" in text
    assert "loss: 0.2000 - accuracy: 0.5000" in text


def test_progbar_terminal_redraws_with_eta():
    out = FakeTTY()
    bar = Progbar(4, stream=out, interval=0)
    bar.update(1, {"loss": 2.0})
    bar.update(4, {"loss": 1.0})
    text = out.getvalue()
    assert text.count("\r") == 2 and "ETA:" in text and text.endswith("\n")
    assert "1/4 [======>" in text


def test_progbar_verbose_2_and_0():
    out = io.StringIO()
    bar = Progbar(3, verbose=2, stream=out)
    for i in range(1, 4):
        bar.update(i, {"loss": 0.5})
    assert out.getvalue().startswith("3/3 - ") and out.getvalue().count("\n") == 1
    assert "[" not in out.getvalue()
    out = io.StringIO()
    bar = Progbar(3, verbose=0, stream=out)
    bar.update(3, {"loss": 0.5})
    assert out.getvalue() == ""


def test_progbar_logger_epoch_lines():
    out = io.StringIO()
    pl = cb.ProgbarLogger(verbose=1, stream=out)
    pl.set_params({"epochs": 2, "steps": 3, "verbose": 1})
    for e in range(2):
        pl.on_epoch_begin(e)
        for b in range(3):
            pl.on_train_batch_end(b, {"loss": 1.0})
        pl.on_epoch_end(e, {"loss": 1.0, "val_loss": 2.0})
    lines = out.getvalue().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert lines[1].startswith("3/3 [") and "val_loss: 2.0000" in lines[1]
