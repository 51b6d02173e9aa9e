"""Optimizers in both styles: Keras's arguments -> Keras's formulas, PyTorch's -> torch.optim's.

Each case runs several steps with a changing learning rate against the float64 formulas of
tests/reference.py (keras_run / torch_run), and against Keras 3 and torch.optim themselves where
they are installed (optional anchors). Then: how the style is chosen, param groups, state_dict
round trips (and torch's slot names), files written before the styles were told apart.
"""
import os

import numpy as np
import pytest

import dlcore as dl
import reference as ref
from harness import assert_close

O = dl.optimizers
STEPS = 6
SCHEDULE = (0.05, 2, 0.5)  # ExponentialDecay(initial, decay_steps, rate): the rate changes every step


def _lrs():
    s = O.schedules.ExponentialDecay(*SCHEDULE)
    return [s(t) for t in range(STEPS)]


def _data(seed=0, shape=(5, 3)):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), [rng.standard_normal(shape) for _ in range(STEPS)]


# (dlcore class, reference name, Keras arguments)
KERAS_CASES = [
    ("SGD", "sgd", {}), ("SGD", "sgd", {"momentum": 0.9}),
    ("SGD", "sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("Adagrad", "adagrad", {}), ("Adagrad", "adagrad", {"initial_accumulator_value": 0.0, "epsilon": 1e-3}),
    ("RMSprop", "rmsprop", {}), ("RMSprop", "rmsprop", {"momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    ("Adam", "adam", {}), ("Adam", "adam", {"amsgrad": True, "weight_decay": 0.1, "epsilon": 1e-3}),
    ("AdamW", "adam", {}),
    ("Nadam", "nadam", {}), ("Nadam", "nadam", {"beta_1": 0.8, "weight_decay": 0.05}),
    ("Adamax", "adamax", {}), ("Adamax", "adamax", {"epsilon": 0.1}),
    ("Adadelta", "adadelta", {}), ("Adadelta", "adadelta", {"rho": 0.5, "epsilon": 1e-3}),
    ("Lion", "lion", {}), ("Lion", "lion", {"beta_1": 0.5, "weight_decay": 0.1}),
]

# (dlcore class, reference name, torch.optim class, PyTorch arguments)
TORCH_CASES = [
    ("SGD", "sgd", "SGD", {}), ("SGD", "sgd", "SGD", {"momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", "sgd", "SGD", {"momentum": 0.9, "nesterov": True, "maximize": True}),
    ("Adagrad", "adagrad", "Adagrad", {"lr_decay": 0.1, "initial_accumulator_value": 0.2, "weight_decay": 0.1}),
    ("RMSprop", "rmsprop", "RMSprop", {}), ("RMSprop", "rmsprop", "RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adam", "adam", "Adam", {}), ("Adam", "adam", "Adam", {"amsgrad": True, "weight_decay": 0.1}),
    ("Adam", "adam", "Adam", {"weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("AdamW", "adamw", "AdamW", {}),
    ("Nadam", "nadam", "NAdam", {}), ("Nadam", "nadam", "NAdam", {"weight_decay": 0.1}),
    ("Nadam", "nadam", "NAdam", {"weight_decay": 0.1, "decoupled_weight_decay": True, "momentum_decay": 0.1}),
    ("Adamax", "adamax", "Adamax", {}), ("Adamax", "adamax", "Adamax", {"weight_decay": 0.1, "eps": 0.1}),
    ("Adadelta", "adadelta", "Adadelta", {}), ("Adadelta", "adadelta", "Adadelta", {"weight_decay": 0.1}),
    ("Lion", "lion", None, {}), ("Lion", "lion", None, {"weight_decay": 0.1, "betas": (0.5, 0.9)}),
]

# the defaults each style fills in, for the reference (keras_run / torch_run take no class defaults)
KERAS_DEFAULTS = {"AdamW": {"weight_decay": 0.004}, "Adadelta": {"rho": 0.95}}
TORCH_DEFAULTS = {"AdamW": {"weight_decay": 0.01}}


def _ids(cases):
    return [f"{c[0]}-{'-'.join(f'{k}={v}' for k, v in c[-1].items()) or 'defaults'}" for c in cases]


def keras_dl_run(cls, kwargs, w0, grads, dtype):
    w = dl.Parameter(w0.astype(dtype))
    opt = getattr(O, cls)(learning_rate=O.schedules.ExponentialDecay(*SCHEDULE), **kwargs)
    assert opt.api == "keras"
    for g in grads:
        opt.apply_gradients([(g.astype(dtype), w)])
    assert opt.iterations == len(grads)
    return w.numpy()


def torch_dl_run(cls, kwargs, w0, grads, dtype):
    w = dl.Parameter(w0.astype(dtype))
    opt = getattr(O, cls)([w], lr=_lrs()[0], **kwargs)
    assert opt.api == "torch"
    for g, lr in zip(grads, _lrs()):
        opt.param_groups[0]["lr"] = lr
        w.grad = g.astype(dtype)
        opt.step()
    return w.numpy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cls, name, kwargs", KERAS_CASES, ids=_ids(KERAS_CASES))
def test_keras_style_follows_keras_formulas(cls, name, kwargs, dtype):
    w0, grads = _data()
    expected = ref.keras_run(name, w0, grads, _lrs(), **{**KERAS_DEFAULTS.get(cls, {}), **kwargs})
    assert_close(keras_dl_run(cls, kwargs, w0, grads, dtype), expected, dtype, what=cls)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cls, name, torch_cls, kwargs", TORCH_CASES, ids=_ids(TORCH_CASES))
def test_torch_style_follows_torch_formulas(cls, name, torch_cls, kwargs, dtype):
    w0, grads = _data()
    expected = ref.torch_run(name, w0, grads, _lrs(), **{**TORCH_DEFAULTS.get(cls, {}), **kwargs})
    assert_close(torch_dl_run(cls, kwargs, w0, grads, dtype), expected, dtype, what=cls)


@pytest.mark.parametrize("cls, name, torch_cls, kwargs", [c for c in TORCH_CASES if c[2]],
                         ids=_ids([c for c in TORCH_CASES if c[2]]))
def test_torch_anchor(cls, name, torch_cls, kwargs):
    torch = pytest.importorskip("torch")
    w0, grads = _data()
    w = torch.tensor(w0, requires_grad=True)
    opt = getattr(torch.optim, torch_cls)([w], lr=_lrs()[0], **kwargs)
    for g, lr in zip(grads, _lrs()):
        opt.param_groups[0]["lr"] = lr
        w.grad = torch.tensor(g)
        opt.step()
    # float64 parameters, but torch.optim keeps each step count as a float32 tensor and derives its
    # per-step scalars from it (NAdam's 0.96 ** (step * momentum_decay)): float32's tolerance
    assert_close(torch_dl_run(cls, kwargs, w0, grads, np.float64), w.detach().numpy(), np.float32, what=cls)


@pytest.fixture(scope="module")
def keras():
    if "keras" not in __import__("sys").modules:
        os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("cls, name, kwargs", KERAS_CASES, ids=_ids(KERAS_CASES))
def test_keras_anchor(keras, cls, name, kwargs):
    w0, grads = _data()
    v = keras.Variable(w0, dtype="float64")
    opt = getattr(keras.optimizers, cls)(learning_rate=keras.optimizers.schedules.ExponentialDecay(*SCHEDULE),
                                         **kwargs)
    for g in grads:
        opt.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), v)])
    theirs = keras.ops.convert_to_numpy(v)
    # float64 variables, but Keras evaluates the schedule (and Nadam's momentum product) in float32
    assert_close(keras_dl_run(cls, kwargs, w0, grads, np.float64), theirs, np.float32, what=cls)


def test_the_two_styles_differ_where_the_docs_say():
    """Adam's epsilon: Keras's weighs sqrt(1 - b2^t) times PyTorch's, visible in the first steps."""
    w0, grads = _data()
    keras_w = keras_dl_run("Adam", {"epsilon": 1e-2}, w0, grads[:1], np.float64)
    torch_w = torch_dl_run("Adam", {"eps": 1e-2}, w0, grads[:1], np.float64)
    assert np.abs(keras_w - torch_w).max() > 1e-3


# ---- choosing the style ------------------------------------------------------------------------

def test_style_from_the_arguments():
    w = dl.Parameter(np.zeros(3))
    assert O.Adam().api == "keras" and O.Adam(0.5).learning_rate == 0.5
    assert O.Adam(0.01, 0.5).beta_1 == 0.5  # Keras's positional order
    a = O.Adam([w], 0.01, (0.5, 0.9))       # PyTorch's positional order
    assert a.api == "torch" and a.param_groups[0]["betas"] == (0.5, 0.9) and a.learning_rate == 0.01
    assert O.Adam(lr=0.1).api == "torch" and O.Adam(params=[w]).api == "torch"
    assert O.Adam([w]).param_groups[0]["eps"] == 1e-8 and O.Adam().epsilon == 1e-7  # each API's defaults
    assert O.RMSprop([w]).param_groups[0]["alpha"] == 0.99 and O.RMSprop().rho == 0.9
    assert O.Nadam(params=[w]).learning_rate == 2e-3 and O.Adadelta([w]).learning_rate == 1.0
    assert O.SGD([w], lr=0.1, momentum=0.9).param_groups[0]["momentum"] == 0.9
    named = O.SGD([("weight", w)], lr=0.1)  # named_parameters()
    assert named.params == [w]
    keras = O.Adam([w], learning_rate=0.1, global_clipnorm=1.0)  # parameters given with Keras's names
    assert keras.api == "keras" and keras.params == [w] and keras.global_clipnorm == 1.0


@pytest.mark.parametrize("make, message", [
    (lambda w: O.Adam([w], learning_rate=0.1, betas=(0.9, 0.99)), "learning_rate is Keras's argument name(s) but "
                                                                  "betas PyTorch's"),
    (lambda w: O.Adam(lr=0.1, beta_1=0.5), "beta_1 is Keras's"),
    (lambda w: O.Adam(use_ema=True), "unexpected keyword argument 'use_ema' for Keras's style"),
    (lambda w: O.Adam([w], lr=0.1, clipnorm=1.0), "clipnorm is Keras's"),
    (lambda w: O.SGD([w], 0.1, 0.9, 0.0, 0.0, False, True), "at most 5 positional"),
    (lambda w: O.Adam([w], capturable=True), "capturable=True is not supported"),
    (lambda w: O.Adam([]), "empty parameter list"),
    (lambda w: O.Adam(w), "single Tensor"),
    (lambda w: O.Adam([w, 3.0]), "parameter 1 is a float"),
    (lambda w: O.Adam([w], lr=O.schedules.ExponentialDecay(0.1, 1, 0.5)), "lr must be a number"),
    (lambda w: O.Adam([w], betas=(0.9, 1.0)), "betas[1] must be a finite number in [0.0, 1.0)"),
    (lambda w: O.Adam(beta_1=-0.1), "beta_1 must be"),
    (lambda w: O.SGD([w], nesterov=True), "Nesterov momentum requires"),
    (lambda w: O.RMSprop(rho=1.5), "rho must be"),
    (lambda w: O.SGD(clipnorm=0.0), "clipnorm must be"),
    (lambda w: O.Lion(beta_1=0.0), "beta_1 must be"),
    (lambda w: O.Adam([{"params": [w]}, {"params": [w]}]), "more than one parameter group"),
    (lambda w: O.Adam([w], lr="fast"), "lr must be a number"),
])
def test_bad_arguments_name_the_optimizer_and_the_argument(make, message):
    w = dl.Parameter(np.zeros(3))
    with pytest.raises((TypeError, ValueError)) as info:
        make(w)
    msg = str(info.value)
    assert message in msg and msg.split(":")[0] in {"Adam", "SGD", "RMSprop", "Lion"}, msg


def test_keras_learning_rate_forms():
    w = dl.Parameter(np.array([1.0]))
    opt = O.SGD(learning_rate=lambda: 0.5)  # Keras: a callable with no arguments
    opt.apply_gradients([(np.array([1.0]), w)])
    assert w.numpy()[0] == pytest.approx(0.5)
    opt.learning_rate = 0.25
    assert opt.lr == 0.25
    opt = O.SGD(learning_rate=O.schedules.PiecewiseConstantDecay([0], [1.0, 0.1]))
    assert opt.learning_rate == 1.0
    opt.apply_gradients([(np.array([1.0]), w)])
    assert opt.learning_rate == 0.1


def test_apply_and_zero_grad():
    w1, w2 = dl.Parameter(np.ones(2)), dl.Parameter(np.ones(3))
    opt = O.SGD(learning_rate=0.5)
    opt.build([w1, w2])
    opt.apply([np.ones(2), np.ones(3)])
    np.testing.assert_allclose(w2.numpy(), 0.5)
    with pytest.raises(ValueError, match="apply got 1 gradient"):
        opt.apply([np.ones(2)])
    w1.grad = np.ones(2)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w1.grad, 0.0)
    opt.zero_grad()
    assert w1.grad is None


# ---- param groups -----------------------------------------------------------------------------

def test_param_groups_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a0, b0 = rng.standard_normal(4), rng.standard_normal((2, 3))
    grads = [(rng.standard_normal(4), rng.standard_normal((2, 3))) for _ in range(4)]
    a, b = dl.Parameter(a0.copy()), dl.Parameter(b0.copy())
    ta, tb = torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    ours = O.Adam([{"params": [a], "lr": 0.1, "betas": (0.5, 0.9)}, {"params": [b]}], lr=0.01, weight_decay=0.1)
    theirs = torch.optim.Adam([{"params": [ta], "lr": 0.1, "betas": (0.5, 0.9)}, {"params": [tb]}], lr=0.01,
                              weight_decay=0.1)
    assert [g["lr"] for g in ours.param_groups] == [g["lr"] for g in theirs.param_groups]
    for i, (ga, gb) in enumerate(grads):
        a.grad, ta.grad = ga.copy(), torch.tensor(ga)
        if i != 2:  # b gets no gradient in step 3: its own step count stays behind
            b.grad, tb.grad = gb.copy(), torch.tensor(gb)
        else:
            b.grad = tb.grad = None
        ours.step()
        theirs.step()
    assert_close(a.numpy(), ta.detach().numpy(), np.float64)
    assert_close(b.numpy(), tb.detach().numpy(), np.float64)
    assert ours.state[1]["step"] == 3.0


def test_add_param_group_and_group_overrides():
    w1, w2 = dl.Parameter(np.ones(2)), dl.Parameter(np.ones(2))
    opt = O.SGD([w1], lr=0.1)
    opt.add_param_group({"params": w2, "lr": 1.0, "momentum": 0.5})
    assert opt.param_groups[1]["momentum"] == 0.5 and opt.param_groups[1]["dampening"] == 0.0
    w1.grad, w2.grad = np.ones(2), np.ones(2)
    opt.step()
    np.testing.assert_allclose(w1.numpy(), 0.9)
    np.testing.assert_allclose(w2.numpy(), 0.0)
    opt.learning_rate = 0.01
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.01]
    with pytest.raises(TypeError, match="param groups belong to PyTorch's style"):
        O.SGD().add_param_group({"params": [w1]})
    with pytest.raises(ValueError, match="momentum must be"):
        opt.add_param_group({"params": [dl.Parameter(np.ones(1))], "momentum": -1})


# ---- state --------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Nadam", "Adamax", "Adadelta", "Lion"])
@pytest.mark.parametrize("style", ["keras", "torch"])
def test_state_dict_round_trip_resumes_exactly(cls, style):
    """Three steps, state_dict into a fresh optimizer, three more: the same as six uninterrupted."""
    w0, grads = _data(3)
    extra = {"momentum": 0.9} if cls in ("SGD", "RMSprop") else {}

    def make(w):
        return getattr(O, cls)([w], lr=0.01, **extra) if style == "torch" else \
            getattr(O, cls)(learning_rate=0.01, **extra)

    def stepped(opt, w, gs):
        for g in gs:
            if style == "torch":
                w.grad = g.copy()
                opt.step()
            else:
                opt.apply_gradients([(g, w)])

    w = dl.Parameter(w0.copy())
    opt = make(w)
    stepped(opt, w, grads)
    w2 = dl.Parameter(w0.copy())
    first = make(w2)
    stepped(first, w2, grads[:3])
    second = make(w2)
    second.build([w2])
    second.load_state_dict(first.state_dict())
    assert second.iterations == 3
    stepped(second, w2, grads[3:])
    np.testing.assert_array_equal(w2.numpy(), w.numpy())


def test_torch_style_state_dict_has_torch_layout_and_slot_names():
    torch = pytest.importorskip("torch")
    for ours_cls, torch_cls, kwargs in [("Adam", "Adam", {"amsgrad": True}), ("SGD", "SGD", {"momentum": 0.9}),
                                        ("RMSprop", "RMSprop", {"momentum": 0.5, "centered": True}),
                                        ("Adagrad", "Adagrad", {}), ("Nadam", "NAdam", {}),
                                        ("Adamax", "Adamax", {}), ("Adadelta", "Adadelta", {})]:
        w, tw = dl.Parameter(np.ones(3)), torch.ones(3, requires_grad=True)
        ours, theirs = getattr(O, ours_cls)([w], **kwargs), getattr(torch.optim, torch_cls)([tw], **kwargs)
        w.grad, tw.grad = np.ones(3), torch.ones(3)
        ours.step()
        theirs.step()
        mine, other = ours.state_dict(), theirs.state_dict()
        assert set(mine["state"][0]) == set(other["state"][0]), ours_cls
        assert set(mine["param_groups"][0]) - {"params"} <= set(other["param_groups"][0]), ours_cls
        assert mine["param_groups"][0]["params"] == other["param_groups"][0]["params"] == [0]


def test_load_state_dict_checks_before_copying():
    w = dl.Parameter(np.ones(3))
    keras_opt, torch_opt = O.Adam(), O.Adam([w])
    keras_opt.build([w])
    with pytest.raises(ValueError, match="comes from a PyTorch-style optimizer"):
        keras_opt.load_state_dict(torch_opt.state_dict())
    with pytest.raises(ValueError, match="comes from a Keras-style optimizer"):
        torch_opt.load_state_dict(keras_opt.state_dict())
    state = torch_opt.state_dict()
    state["state"][0]["exp_avg"] = np.ones(4)
    with pytest.raises(ValueError, match="slot 'exp_avg' of parameter 0 has shape"):
        torch_opt.load_state_dict(state)
    with pytest.raises(ValueError, match="param group"):
        O.Adam([w, dl.Parameter(np.ones(2))]).load_state_dict(O.Adam([w]).state_dict())


def test_files_from_before_the_split_load_with_their_slots_converted():
    """A Keras-style SGD state saved with PyTorch's buffer ('velocity' = b) becomes Keras's momentum
    (m = -lr b): the next steps are those of an uninterrupted Keras run."""
    w0, grads = _data(4)
    lr, mu = 0.1, 0.9
    b = np.zeros_like(w0)
    w = w0.copy()
    for g in grads[:3]:  # the old implementation: PyTorch's formula with a constant lr
        b = mu * b + g
        w = w - lr * b
    p = dl.Parameter(w.copy())
    opt = O.SGD(learning_rate=lr, momentum=mu)
    opt.build([p])
    opt.load_state_dict({"iterations": 3, "config": opt.get_config(), "state": [{"velocity": b}]})
    for g in grads[3:]:
        opt.apply_gradients([(g, p)])
    expected = ref.keras_run("sgd", w0, grads, [lr] * STEPS, momentum=mu)
    assert_close(p.numpy(), expected, np.float64)


@pytest.mark.parametrize("style", ["keras", "torch"])
def test_config_round_trip(style):
    w = dl.Parameter(np.ones(2))
    for cls in ("SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Nadam", "Adamax", "Adadelta", "Lion"):
        opt = getattr(O, cls)([w], lr=0.02) if style == "torch" else getattr(O, cls)(learning_rate=0.02)
        again = O.deserialize(O.serialize(opt))
        assert type(again) is type(opt) and again.api == opt.api and again.get_config() == opt.get_config()
        assert again.learning_rate == 0.02
    assert O.get("nadam").api == "keras" and isinstance(O.get("lion"), O.Lion)


@pytest.mark.parametrize("make", [lambda: O.Adam(lr=0.01, betas=(0.8, 0.99)), lambda: O.Nadam(learning_rate=0.01),
                                  lambda: O.Lion(learning_rate=0.001, weight_decay=0.1),
                                  lambda: O.SGD(lr=0.05, momentum=0.9, dampening=0.1)],
                         ids=["torch-adam", "keras-nadam", "keras-lion", "torch-sgd"])
def test_a_saved_model_resumes_with_its_optimizer(make, tmp_path):
    """Fit, save, load, fit again: the same weights as fitting on without the round trip."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = x @ rng.standard_normal((3, 2)).astype(np.float32)

    def model():
        dl.manual_seed(0)
        m = dl.Sequential([dl.layers.Dense(2, input_shape=(3,))])
        m.compile(optimizer=make(), loss="mse")
        return m

    a, b = model(), model()
    a.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    b.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    b.save(tmp_path / "m.dlc")
    c = dl.models.load_model(tmp_path / "m.dlc")
    assert c.optimizer.api == b.optimizer.api and c.optimizer.iterations == 4
    c.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for wa, wc in zip(a.get_weights(), c.get_weights()):
        np.testing.assert_array_equal(wa, wc)
