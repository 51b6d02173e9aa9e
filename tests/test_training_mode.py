"""The training-mode rule (docs/training.md) in every combination: explicit training=, the call
context reaching nested layers and models, .train()/.eval(), fit/evaluate/predict leaving the mode."""
import itertools

import numpy as np
import pytest

import dlcore as dl

L = dl.layers
X = np.random.default_rng(0).random((32, 6), dtype=np.float32)


def dropped(out):
    """Whether Dropout(0.5) acted: some outputs are exactly 0 where the input was not."""
    return bool((np.asarray(out) == 0).any())


class Plain(dl.Module):  # PyTorch style: forward without training=
    def __init__(self):
        super().__init__()
        self.drop = L.Dropout(0.5)

    def forward(self, x):
        return self.drop(x)


def sequential():
    return dl.Sequential([L.Dropout(0.5, input_shape=(6,))])


def functional():
    i = dl.Input(shape=(6,))
    return dl.Model(i, L.Dropout(0.5)(i))


def nested():
    inner = dl.Sequential([L.Dropout(0.5, input_shape=(6,))])
    i = dl.Input(shape=(6,))
    return dl.Model(i, inner(i))


BUILDERS = {"layer": lambda: L.Dropout(0.5), "sequential": sequential, "functional": functional,
            "nested": nested, "module": Plain}


@pytest.mark.parametrize("kind,mode,training", list(itertools.product(BUILDERS, [None, "train", "eval"],
                                                                       [None, True, False])))
def test_every_combination(kind, mode, training):
    m = BUILDERS[kind]()
    if mode == "train":
        m.train()
    elif mode == "eval":
        m.eval()
    out = m(X) if training is None else m(X, training=training)
    # explicit training= wins; else the mode set by train()/eval(); else the class's default: a
    # PyTorch-style Module trains (torch.nn.Module), a Keras layer or model infers (Keras's model(x))
    default = kind == "module"
    expected = training if training is not None else (mode == "train" if mode else default)
    assert dropped(out.numpy()) == expected


def test_new_keras_layers_and_models_infer_and_new_pytorch_style_modules_train():
    for kind, build in BUILDERS.items():
        assert build().training is (kind == "module"), kind


def test_a_submodule_put_in_eval_mode_stays_there_inside_a_training_module():
    net = Plain()  # PyTorch: net.train(); net.drop.eval() (freezing one part while training the rest)
    net.train()
    net.drop.eval()
    assert not dropped(net(X).numpy())
    net.drop.train()
    assert dropped(net(X).numpy())
    assert not dropped(net(X, training=False).numpy())  # an explicit training= still wins everywhere


def test_layers_without_a_mode_take_the_mode_of_the_module_calling_them():
    net = Plain()  # the Dropout inside was never put in a mode: it follows net, in both directions
    assert dropped(net(X).numpy())
    net.eval()
    assert not dropped(net(X).numpy())
    model = dl.Sequential([Plain()])  # a Keras model infers, and so does the PyTorch-style module in it
    model.build((None, 6))
    assert not dropped(model(X).numpy())


def test_explicit_training_reaches_nested_layers_and_models_in_another_mode():
    inner = dl.Sequential([L.Dropout(0.5, input_shape=(6,))])
    i = dl.Input(shape=(6,))
    outer = dl.Model(i, inner(i))
    inner.train()  # the inner model's own mode loses against the outer call's
    assert not dropped(outer(X, training=False).numpy())
    inner.eval()
    assert dropped(outer(X, training=True).numpy())


def test_batchnorm_inference_call_does_not_touch_moving_statistics():
    model = dl.Sequential([L.BatchNormalization(input_shape=(6,))])
    before = model.layers[0].moving_mean.numpy().copy()
    model(X)
    model(X, training=False)
    assert np.array_equal(model.layers[0].moving_mean.numpy(), before)
    model(X, training=True)
    assert not np.array_equal(model.layers[0].moving_mean.numpy(), before)


def test_frozen_batchnorm_is_in_inference_mode():
    model = dl.Sequential([L.BatchNormalization(input_shape=(6,))])
    model.trainable = False
    before = model.layers[0].moving_mean.numpy().copy()
    model(X, training=True)
    assert np.array_equal(model.layers[0].moving_mean.numpy(), before)
    assert model.layers[0].trainable is False  # freezing reaches the layers inside


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_fit_evaluate_predict_leave_the_mode_as_they_found_it(mode):
    model = dl.Sequential([L.Dense(4, input_shape=(6,)), L.Dropout(0.5)])
    getattr(model, mode)()
    model.compile(optimizer="sgd", loss="mse")
    y = np.zeros((32, 4), np.float32)
    model.fit(X, y, epochs=1, verbose=0)
    model.evaluate(X, y)
    model.predict(X, verbose=0)
    model.train_on_batch(X, y)
    model.test_on_batch(X, y)
    assert all(m.training == (mode == "train") for m in model.modules())


def test_fit_trains_with_dropout_and_predict_infers_without():
    seen = []

    class Probe(L.Layer):
        def call(self, inputs, training=None):
            seen.append(self._training(training))
            return inputs

    model = dl.Sequential([L.Dense(2, input_shape=(6,)), Probe()])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, np.zeros((32, 2), np.float32), epochs=1, batch_size=32, verbose=0)
    assert seen == [True]
    model.predict(X, verbose=0)
    model.evaluate(X, np.zeros((32, 2), np.float32))
    assert seen[1:] == [False, False]
