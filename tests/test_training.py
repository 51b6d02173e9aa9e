"""Optimizers, schedules, losses, metrics, and end-to-end training loops in both styles."""
import numpy as np
import pytest

import dlcore as dl
import dlcore.kernels as K

L = dl.layers
OPT_KERNELS = ["sgd_update", "adam_update", "adagrad_update", "rmsprop_update"]


def needs(*names):
    missing = [n for n in names if not hasattr(K, n)]
    return pytest.mark.skipif(bool(missing), reason=f"kernels not built yet: {', '.join(missing)}")


# ---- optimizers against PyTorch's formulas ---------------------------------------------------------

def torch_run(make_opt, w0, grads):
    torch = pytest.importorskip("torch")
    w = torch.tensor(w0.astype(np.float64), requires_grad=True)
    opt = make_opt(torch.optim, [w])
    for g in grads:
        w.grad = torch.tensor(g)
        opt.step()
    return w.detach().numpy()


def dl_run(make_opt, w0, grads):
    w = dl.Parameter(w0.astype(np.float64))
    opt = make_opt([w])
    for g in grads:
        w.grad = g.copy()
        opt.step()
    return w.numpy()


OPT_CASES = {
    "sgd": (lambda p: dl.optimizers.SGD(p, lr=0.1), lambda o, p: o.SGD(p, lr=0.1)),
    "sgd_momentum_nesterov_wd": (lambda p: dl.optimizers.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
                                 lambda o, p: o.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "adam": (lambda p: dl.optimizers.Adam(p, lr=0.01, betas=(0.5, 0.999), eps=1e-8),
             lambda o, p: o.Adam(p, lr=0.01, betas=(0.5, 0.999), eps=1e-8)),
    "adam_amsgrad_wd": (lambda p: dl.optimizers.Adam(p, lr=0.01, eps=1e-8, amsgrad=True, weight_decay=0.1),
                        lambda o, p: o.Adam(p, lr=0.01, eps=1e-8, amsgrad=True, weight_decay=0.1)),
    "adamw": (lambda p: dl.optimizers.AdamW(p, lr=0.01, eps=1e-8, weight_decay=0.1),
              lambda o, p: o.AdamW(p, lr=0.01, eps=1e-8, weight_decay=0.1)),
    "adagrad": (lambda p: dl.optimizers.Adagrad(p, lr=0.1, initial_accumulator_value=0.0, eps=1e-10),
                lambda o, p: o.Adagrad(p, lr=0.1, eps=1e-10)),
    "rmsprop": (lambda p: dl.optimizers.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8, momentum=0.5, centered=True),
                lambda o, p: o.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8, momentum=0.5, centered=True)),
}


@needs(*OPT_KERNELS)
@pytest.mark.parametrize("name", sorted(OPT_CASES))
def test_optimizer_matches_torch(name):
    ours, theirs = OPT_CASES[name]
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((5, 3))
    grads = [rng.standard_normal((5, 3)) for _ in range(6)]
    np.testing.assert_allclose(dl_run(ours, w0, grads), torch_run(theirs, w0, grads), rtol=1e-6, atol=1e-9)


def test_optimizer_arguments():
    p = [dl.Parameter(np.zeros(3))]
    assert dl.optimizers.Adam(learning_rate=0.5).learning_rate == 0.5
    assert dl.optimizers.Adam(0.5).learning_rate == 0.5
    a = dl.optimizers.Adam(p, lr=2e-4, betas=(0.5, 0.999))
    assert (a.api, a.learning_rate, a.param_groups[0]["betas"], len(a.params)) == ("torch", 2e-4, (0.5, 0.999), 1)
    assert dl.optimizers.SGD().learning_rate == 0.01
    assert isinstance(dl.optimizers.get("adam"), dl.optimizers.Adam)
    assert isinstance(dl.optimizers.get("AdamW"), dl.optimizers.AdamW)
    with pytest.raises(ValueError, match="unknown optimizer"):
        dl.optimizers.get("adamx")
    with pytest.raises(ValueError, match="beta_1"):
        dl.optimizers.Adam(beta_1=1.5)
    with pytest.raises(ValueError, match="only one of"):
        dl.optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(RuntimeError, match="no parameters"):
        dl.optimizers.SGD().step()
    cfg = dl.optimizers.serialize(dl.optimizers.Adam(learning_rate=dl.schedules.ExponentialDecay(0.1, 10, 0.5)))
    again = dl.optimizers.deserialize(cfg)
    assert isinstance(again._learning_rate, dl.schedules.ExponentialDecay)


@needs("sgd_update", "adam_update", "global_norm")
def test_keras_style_apply_gradients_and_clipping():
    w = dl.Parameter(np.array([1.0, 2.0], np.float32))
    opt = dl.optimizers.SGD(learning_rate=0.1, clipvalue=0.5)
    opt.apply_gradients([(np.array([3.0, -0.1], np.float32), w)])
    np.testing.assert_allclose(w.numpy(), [0.95, 2.01], rtol=1e-6)
    assert opt.iterations == 1
    w = dl.Parameter(np.array([0.0, 0.0], np.float32))
    opt = dl.optimizers.SGD(learning_rate=1.0, global_clipnorm=1.0)
    opt.apply_gradients([(np.array([3.0, 4.0], np.float32), w)])
    np.testing.assert_allclose(w.numpy(), [-0.6, -0.8], rtol=1e-6)
    w = dl.Parameter(np.array([0.0, 0.0], np.float32))
    opt = dl.optimizers.SGD(learning_rate=1.0, clipnorm=1.0)
    g = np.array([3.0, 4.0], np.float32)
    opt.apply_gradients([(g, w)])
    np.testing.assert_allclose(w.numpy(), [-0.6, -0.8], rtol=1e-6)
    np.testing.assert_array_equal(g, [3.0, 4.0])  # the caller's gradient is not modified


@needs("adam_update")
def test_optimizer_state_dict_roundtrip():
    rng = np.random.default_rng(0)
    w1 = dl.Parameter(rng.standard_normal(4))
    w2 = dl.Parameter(w1.numpy().copy())
    o1, o2 = dl.optimizers.Adam([w1], lr=0.1), dl.optimizers.Adam([w2], lr=0.1)
    for _ in range(3):
        w1.grad = rng.standard_normal(4)
        o1.step()
    w2.data[...] = w1.data
    o2.load_state_dict(o1.state_dict())
    assert o2.iterations == 3
    g = rng.standard_normal(4)
    w1.grad, w2.grad = g, g.copy()
    o1.step()
    o2.step()
    np.testing.assert_allclose(w1.numpy(), w2.numpy())
    with pytest.raises(ValueError, match="parameter"):
        dl.optimizers.Adam([w1, w2]).load_state_dict(o1.state_dict())


def test_schedules():
    s = dl.schedules
    assert s.ExponentialDecay(1.0, 10, 0.5)(10) == pytest.approx(0.5)
    assert s.ExponentialDecay(1.0, 10, 0.5, staircase=True)(15) == pytest.approx(0.5)
    assert s.CosineDecay(1.0, 100)(50) == pytest.approx(0.5)
    assert s.CosineDecay(1.0, 100, alpha=0.1)(100) == pytest.approx(0.1)
    assert s.StepDecay(1.0, 5, 0.1)(12) == pytest.approx(0.01)
    pw = s.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert (pw(5), pw(10), pw(15), pw(25)) == (1.0, 1.0, 0.5, 0.1)
    opt = dl.optimizers.SGD(learning_rate=s.StepDecay(1.0, 1, 0.5))
    assert opt.learning_rate == 1.0
    opt.iterations = 2
    assert opt.learning_rate == 0.25
    with pytest.raises(ValueError, match="len"):
        s.PiecewiseConstantDecay([1], [1.0])
    assert s.InverseTimeDecay(1.0, 10, 0.5)(10) == pytest.approx(1 / 1.5)
    assert s.InverseTimeDecay(1.0, 10, 0.5, staircase=True)(15) == pytest.approx(1 / 1.5)
    for cls in (s.ExponentialDecay, s.InverseTimeDecay):
        with pytest.raises(ValueError, match=f"{cls.__name__}: decay_steps"):
            cls(1.0, 0, 0.5)
        assert cls.from_config(cls(0.1, 10, 0.5, True).get_config())(25) == cls(0.1, 10, 0.5, True)(25)


# ---- losses and metrics -------------------------------------------------------------------------

@needs("mean_squared_error", "softmax_cross_entropy", "sparse_categorical_cross_entropy", "binary_cross_entropy")
def test_loss_classes_and_names():
    y = np.array([0, 2, 1])
    z = dl.tensor(np.random.default_rng(0).standard_normal((3, 3)).astype(np.float32))
    a = dl.losses.SparseCategoricalCrossentropy(from_logits=True)(y, z).item()
    b = dl.functional.sparse_categorical_cross_entropy(y, z, from_logits=True).item()
    assert a == pytest.approx(b)
    per = dl.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)(y, z)
    assert per.shape == (3,) and per.numpy().mean() == pytest.approx(a, rel=1e-5)
    assert dl.losses.get("mse")(np.zeros((2, 2)), dl.ones(2, 2)).item() == pytest.approx(1.0)
    for name in ("mse", "mae", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
                 "huber"):
        assert isinstance(dl.losses.get(name), dl.losses.Loss)
    cfg = dl.losses.serialize(dl.losses.BinaryCrossentropy(from_logits=True))
    assert dl.losses.deserialize(cfg).from_logits is True
    with pytest.raises(ValueError, match="unknown loss"):
        dl.losses.get("msee")
    with pytest.raises(ValueError, match="labels must be in"):
        dl.losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([0, 5, 1]), z)
    with pytest.raises(ValueError, match="reduction"):
        dl.losses.MeanSquaredError(reduction="avg")


def test_metrics():
    acc = dl.metrics.get("accuracy", loss="sparse_categorical_crossentropy")
    acc.update_state(np.array([0, 1, 2]), np.array([[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1]]))
    assert acc.result() == pytest.approx(2 / 3) and acc.name == "accuracy"
    acc.reset_state()
    assert acc.result() == 0.0
    auto = dl.metrics.get("accuracy")
    auto.update_state(np.array([[1], [0]]), np.array([[0.8], [0.7]]))
    assert auto.kind == "binary" and auto.result() == 0.5
    cat = dl.metrics.get("accuracy")
    cat.update_state(np.eye(3), np.eye(3) * 0.5 + 0.1)
    assert cat.kind == "categorical" and cat.result() == 1.0
    assert dl.metrics.get("accuracy", loss=dl.losses.BinaryCrossentropy()).kind == "binary"
    p = dl.metrics.Precision()
    r = dl.metrics.Recall()
    yt, yp = np.array([1, 0, 1, 1]), np.array([0.9, 0.8, 0.2, 0.7])
    p.update_state(yt, yp)
    r.update_state(yt, yp)
    assert p.result() == pytest.approx(2 / 3) and r.result() == pytest.approx(2 / 3)
    m = dl.metrics.get("mae")
    m.update_state(np.zeros((2, 2)), np.ones((2, 2)))
    assert m.result() == 1.0
    mean = dl.metrics.Mean()
    mean.update_state([1.0, 3.0])
    assert mean.result() == 2.0
    with pytest.raises(ValueError, match="unknown metric"):
        dl.metrics.get("accuracyy")


# ---- training loops -----------------------------------------------------------------------------

class Generator(dl.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = L.Dense(32, activation="relu")
        self.fc2 = L.Dense(2, activation="tanh")

    def forward(self, z):
        return self.fc2(self.fc1(z))


class Discriminator(dl.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = L.Dense(32, activation="leaky_relu")
        self.fc2 = L.Dense(1)

    def forward(self, x):
        return self.fc2(self.fc1(x))


@needs("adam_update", "relu_backward", "tanh_backward", "leaky_relu_forward", "binary_cross_entropy_with_logits")
def test_pytorch_style_gan_trains():
    dl.manual_seed(0)
    gen, disc = Generator(), Discriminator()
    gen(dl.zeros(1, 8))
    disc(dl.zeros(1, 2))
    g_opt = dl.optimizers.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = dl.optimizers.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = dl.losses.BinaryCrossentropy(from_logits=True)
    rng = np.random.default_rng(0)
    ones, zeros = np.ones((64, 1), np.float32), np.zeros((64, 1), np.float32)
    g0 = {k: v.copy() for k, v in gen.state_dict().items()}
    d_losses, g_losses = [], []
    for step in range(150):
        real = (rng.standard_normal((64, 2)) * 0.1 + [0.5, -0.5]).astype(np.float32)
        fake = gen(dl.randn(64, 8))
        d_opt.zero_grad()
        d_loss = bce(ones, disc(real)) + bce(zeros, disc(fake.detach()))
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad()
        g_loss = bce(ones, disc(gen(dl.randn(64, 8))))
        g_loss.backward()
        g_opt.step()
        d_losses.append(d_loss.item())
        g_losses.append(g_loss.item())
    assert np.all(np.isfinite(d_losses)) and np.all(np.isfinite(g_losses))
    assert abs(d_losses[-1] - d_losses[0]) > 1e-3 and abs(g_losses[-1] - g_losses[0]) > 1e-3
    assert any(not np.allclose(v, g0[k]) for k, v in gen.state_dict().items())
    assert all(p.grad is not None for p in gen.parameters() + disc.parameters())


@needs("sgd_update", "adam_update", "relu_backward", "softmax_cross_entropy")
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_keras_layers_hand_written_loop(opt):
    dl.manual_seed(1)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((256, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    layers = [L.Dense(32, activation="relu", input_shape=(4,)), L.Dropout(0.1), L.Dense(3)]
    optimizer = dl.optimizers.SGD(learning_rate=0.1, momentum=0.9) if opt == "sgd" else \
        dl.optimizers.get("adam", learning_rate=0.01)
    loss_fn = dl.losses.get("sparse_categorical_crossentropy")
    loss_fn = dl.losses.SparseCategoricalCrossentropy(from_logits=True)
    acc = dl.metrics.get("accuracy", loss="sparse_categorical_crossentropy")

    def model(h, training):
        for layer in layers:
            h = layer(h, training=training)
        return h

    first = None
    for epoch in range(30):
        for i in range(0, 256, 32):
            logits = model(x[i:i + 32], True)
            loss = loss_fn(y[i:i + 32], logits)
            params = [p for layer in layers for p in layer.parameters()]
            for p in params:
                p.grad = None
            loss.backward()
            optimizer.apply_gradients([(p.grad, p) for p in params])
            first = loss.item() if first is None else first
    with dl.no_grad():
        acc.update_state(y, model(x, False))
    assert loss.item() < first * 0.5
    assert acc.result() > 0.85


@pytest.mark.parametrize("name", ["sgd", "adagrad", "rmsprop", "adam", "adamw"])
def test_optimizer_config_roundtrip(name):
    import json
    opt = dl.optimizers.get(name)
    cfg = dl.optimizers.serialize(opt)
    json.dumps(cfg)
    again = dl.optimizers.deserialize(cfg)
    assert type(again) is type(opt) and again.get_config() == opt.get_config()
    assert again.learning_rate == opt.learning_rate


@needs("adam_update")
def test_keras_style_build_then_step():
    w = dl.Parameter(np.ones(3, np.float32))
    opt = dl.optimizers.Adam(learning_rate=0.1)
    opt.build([w])
    w.grad = np.ones(3, np.float32)
    opt.step()
    assert np.all(w.numpy() < 1.0) and opt.iterations == 1
    with pytest.raises(ValueError, match="gradient of shape"):
        opt.apply_gradients([(np.ones(4, np.float32), w)])


@needs("adam_update")
def test_non_contiguous_weights_are_made_dense():
    w = dl.Parameter(np.ones((4, 3), np.float32).T)
    assert w.data.flags.c_contiguous
    lstm = L.LSTM(3)
    lstm.build((None, 2, 4))
    assert all(p.data.flags.c_contiguous for p in lstm.weights)
    t = dl.tensor(np.ones((4, 3), np.float32).T, requires_grad=True)
    opt = dl.optimizers.Adam([t], lr=0.1)
    t.grad = np.ones((3, 4), np.float32)
    opt.step()
    assert np.all(t.numpy() < 1)
