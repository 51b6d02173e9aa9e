"""The autograd engine: per-thread grad mode, version counters (in-place changes never go unnoticed),
dl.grad with create_graph (second derivatives against finite differences of first ones), and a
WGAN-GP gradient penalty against PyTorch (optional anchor)."""
import threading

import numpy as np
import pytest

import dlcore as dl
import dlcore.functional as F
from dlcore.testing import gradcheck, gradgradcheck


def t64(*shape, positive=False, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return dl.tensor(a, requires_grad=True)


# ---- grad mode is per thread -------------------------------------------------------------------------

def test_no_grad_in_one_thread_does_not_stop_another():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def quiet():
        with dl.no_grad():
            inside.set()
            done.wait(5)
            seen["quiet"] = (dl.ones(2, requires_grad=True) * 2).requires_grad

    def busy():
        inside.wait(5)
        seen["busy_mode"] = dl.is_grad_enabled()
        seen["busy"] = (dl.ones(2, requires_grad=True) * 2).requires_grad
        done.set()

    threads = [threading.Thread(target=quiet), threading.Thread(target=busy)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert seen == {"quiet": False, "busy_mode": True, "busy": True}
    assert dl.is_grad_enabled()


def test_set_grad_enabled_inference_mode_enable_grad():
    x = t64(3)
    dl.set_grad_enabled(False)
    try:
        assert not dl.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        dl.set_grad_enabled(True)
    with dl.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with dl.set_grad_enabled(True):
            assert (x * 2).requires_grad
    assert dl.is_grad_enabled()

    @dl.set_grad_enabled(False)
    def f():
        return (x * 2).requires_grad
    assert dl.is_grad_enabled() and f() is False and dl.is_grad_enabled()
    with dl.inference_mode():
        assert not (x * 2).requires_grad
    with dl.inference_mode(False):
        assert (x * 2).requires_grad

    @dl.inference_mode
    def g():
        return (x * 2).requires_grad
    assert g() is False

    @dl.enable_grad()
    def h():
        return (x * 2).requires_grad
    with dl.no_grad():
        assert h() is True
    with pytest.raises(TypeError, match="set_grad_enabled: 'mode' must be a bool"):
        dl.set_grad_enabled("no")


# ---- version counters: the cases PyTorch raises on ----------------------------------------------------

def _raises_modified(fn, *fragments):
    with pytest.raises(RuntimeError, match="modified by an in-place operation") as info:
        fn()
    for frag in fragments:
        assert frag in str(info.value), str(info.value)


def test_changing_a_saved_output_raises():
    for op, name in [(lambda x: x.exp(), "Exp"), (lambda x: x.sigmoid(), "Sigmoid"), (lambda x: x.tanh(), "Tanh"),
                     (lambda x: x.relu(), "Relu"), (lambda x: x.sqrt(), "Sqrt"),
                     (lambda x: F.softmax(x), "Softmax"), (lambda x: F.linear(x.reshape(1, 3), dl.ones(3, 2,
                      dtype=np.float64), activation="tanh"), "Linear")]:
        x = t64(3, positive=True)
        y = op(x)
        y += 1
        _raises_modified(lambda: y.sum().backward(), name, "output 0", "version 1")


def test_changing_a_saved_input_raises():
    x = t64(3)
    a = x * 2
    b = a * a           # Mul reads a
    a.mul_(3)
    _raises_modified(lambda: b.sum().backward(), "Mul", "input 0", "version 1, expected version 0")
    w, v = t64(3, 2, seed=1), t64(4, 3, seed=2) * 1.0   # v: the activation of an earlier layer
    loss = (v @ w).sum()                                # w's values give v's gradient
    with dl.no_grad():  # an optimizer-like step between forward and backward
        w -= 0.1
    _raises_modified(lambda: loss.backward(), "MatMul", "input 1")
    w, v = t64(3, 2, seed=1), dl.ones(4, 3, dtype=np.float64)
    loss = (v @ w).sum()   # a constant v: w's gradient does not need w, PyTorch does not raise either
    with dl.no_grad():
        w -= 0.1
    loss.backward()
    np.testing.assert_allclose(w.grad, np.full((3, 2), 4.0))


def test_changes_through_a_view_or_detach_raise():
    x = t64(4)
    y = x.exp()
    view = y[1:3]
    with dl.no_grad():
        view.mul_(2)           # writes y's storage: its version moves too
    assert y._version == 1 and view._version == 1
    _raises_modified(lambda: y.sum().backward(), "Exp")
    x = t64(4)
    y = x.exp()
    y.detach().zero_()
    _raises_modified(lambda: y.sum().backward(), "Exp")
    x = t64(2, 3)
    y = x.sigmoid()
    with dl.no_grad():
        y.T[0, 0] = 5.0  # a constant write into y's storage through a transposed view
    _raises_modified(lambda: y.sum().backward(), "Sigmoid")


def test_in_place_change_after_an_op_that_saves_nothing_is_fine_and_exact():
    x = t64(3)
    a = x * 2
    z = a + 1         # Add reads neither input
    a *= 3            # a = 6x, a new history; z still sees a as it was
    (z.sum() + a.sum()).backward()
    np.testing.assert_allclose(x.grad, np.full(3, 8.0))
    x = t64(3)
    y = x * 1.0
    y += x * x        # y = x + x^2
    y -= 1.0
    y /= 2.0          # y = (x + x^2 - 1) / 2
    y **= 2
    y.sum().backward()
    xv = x.numpy()
    np.testing.assert_allclose(x.grad, (xv + xv ** 2 - 1) * (1 + 2 * xv) / 2)
    assert y._version == 4


def test_in_place_on_a_leaf_that_requires_grad():
    w = dl.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\+=: a leaf tensor that requires grad \(shape \(3,\)\)"):
        w += 1
    with pytest.raises(RuntimeError, match="__setitem__: a leaf tensor that requires grad"):
        w[0] = 2.0
    with dl.no_grad():  # an optimizer step
        w -= 0.5
        w[0] = 7.0
    assert w.tolist() == [7.0, 0.5, 0.5] and w._version == 2 and w.requires_grad and w.is_leaf


def test_in_place_on_a_tensor_that_shares_storage_with_another_is_refused_while_recording():
    x = t64(2, 3)
    y = x * 1.0
    v = y[0]
    with pytest.raises(RuntimeError, match=r"mul_: this tensor \(shape \(3,\)\) shares its storage"):
        v.mul_(2)
    with pytest.raises(RuntimeError, match="shares its storage"):
        y[1] = 0.0    # y has a view now
    c = y.clone()
    c[1] = 0.0
    c.sum().backward()
    np.testing.assert_allclose(x.grad, [[1, 1, 1], [0, 0, 0]])


def test_in_place_shape_and_dtype_errors():
    a = dl.zeros(3)
    with pytest.raises(ValueError, match=r"\+=: the result has shape \(2, 3\), not the tensor's \(3,\)"):
        a += dl.ones(2, 3)
    i = dl.tensor([1, 2])
    with pytest.raises(TypeError, match="add_: the result has dtype float64.*int64"):
        i.add_(np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match=r"__setitem__: cannot assign a value of shape \(4,\)"):
        a[0:2] = np.ones(4)


def test_setitem_is_differentiable_in_both_and_matches_numpy():
    x, v = t64(3, 4), t64(4, seed=1)
    w = np.random.default_rng(2).standard_normal((3, 4))

    def f(x, v):
        y = x * 1.0
        y[1] = v * 2.0             # a row
        y[[0, 2], 0] = v[:2]       # advanced index
        return y * dl.tensor(w)
    assert gradcheck(f, [x, v])
    assert gradgradcheck(lambda x, v: f(x, v) ** 2, [x, v])
    buf = dl.zeros(2, 3)
    buf[0] = dl.tensor([1.0, 2.0, 3.0])
    buf[1, 1:] = 9.0
    assert buf.tolist() == [[1, 2, 3], [0, 9, 9]] and not buf.requires_grad and buf._version == 2
    src = t64(3)
    out = dl.zeros(2, 3, dtype=np.float64)
    out[1] = src           # a constant becomes part of the graph
    out.copy_(out * 2)
    assert out.requires_grad and not out.is_leaf
    out.sum().backward()
    np.testing.assert_allclose(src.grad, np.full(3, 2.0))


def test_fill_zero_clamp_in_place():
    x = t64(4)
    y = x * 1.0
    y.clamp_(-0.5, 0.5)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, (np.abs(x.numpy()) <= 0.5).astype(float))
    x = t64(3)
    y = x * 1.0
    y.zero_()
    (y + x).sum().backward()
    np.testing.assert_allclose(x.grad, np.ones(3))
    assert dl.zeros(2).fill_(3.0).tolist() == [3.0, 3.0]


def test_in_place_sequence_matches_torch():
    torch = pytest.importorskip("torch")
    a0 = np.random.default_rng(4).standard_normal((3, 4))
    b0 = np.random.default_rng(5).standard_normal(4)

    def run(lib, a, b):
        y = a * 1.5
        y += b
        y[1] = b * b
        y *= a
        y[:, 0] = 0.0
        y.clamp_(-1.0, 1.0)
        return (y * y).sum()

    a, b = dl.tensor(a0, requires_grad=True), dl.tensor(b0, requires_grad=True)
    run(dl, a, b).backward()
    ta = torch.tensor(a0, requires_grad=True)
    tb = torch.tensor(b0, requires_grad=True)
    run(torch, ta, tb).backward()
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.grad, tb.grad.numpy(), rtol=1e-12, atol=1e-12)


# ---- dl.grad ----------------------------------------------------------------------------------------------

def test_grad_matches_backward_and_leaves_grad_alone():
    x, w = t64(4, 3), t64(3, 2, seed=1)
    y = (x @ w).tanh().sum()
    gx, gw = dl.grad(y, [x, w], retain_graph=True)
    assert x.grad is None and w.grad is None
    y.backward()
    np.testing.assert_allclose(gx.numpy(), x.grad)
    np.testing.assert_allclose(gw.numpy(), w.grad)
    assert not gx.requires_grad and isinstance(gx, dl.Tensor)


def test_grad_arguments():
    x = t64(3)
    h = x * 2          # a non-leaf input
    y = h * h
    (gh,) = dl.grad(y, h, grad_outputs=np.array([1.0, 2.0, 3.0]), retain_graph=True)
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy() * [1, 2, 3])
    gx, gx2 = dl.grad(y.sum(), [x, x], retain_graph=True)              # an input listed twice
    np.testing.assert_allclose(gx.numpy(), gx2.numpy())
    gx, gh2 = dl.grad([y.sum(), h.sum()], [x, h], retain_graph=True)   # two outputs summed
    np.testing.assert_allclose(gx.numpy(), 8 * x.numpy() + 2)
    np.testing.assert_allclose(gh2.numpy(), 2 * h.numpy() + 1)
    z = t64(2, seed=3)
    with pytest.raises(RuntimeError, match=r"grad: inputs\[1\] \(shape \(2,\)\) was not used.*allow_unused=True"):
        dl.grad(y.sum(), [x, z], retain_graph=True)
    gx, gz = dl.grad(y.sum(), [x, z], allow_unused=True, retain_graph=True)
    assert gz is None
    _, gz = dl.grad(y.sum(), [x, z], materialize_grads=True, retain_graph=True)
    assert gz.tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="one-element output.*pass grad_outputs"):
        dl.grad(y, x)
    with pytest.raises(RuntimeError, match=r"inputs\[0\] \(shape \(3,\)\) does not require grad"):
        dl.grad(y.sum(), dl.ones(3))
    with pytest.raises(ValueError, match=r"grad_outputs\[0\] has shape \(2,\), expected.*\(3,\)"):
        dl.grad(y, x, grad_outputs=np.ones(2))
    with pytest.raises(TypeError, match="'inputs' must be a Tensor"):
        dl.grad(y.sum(), "x")
    dl.grad(y.sum(), x)      # retain_graph defaults to create_graph (False): the graph is freed
    with pytest.raises(RuntimeError, match="second time"):
        dl.grad(y.sum(), x)


def test_grad_through_a_freed_part_of_the_graph_raises():
    x = t64(3)
    y, z = x * 2, x * 3
    y.sum().backward()    # frees y's node
    with pytest.raises(RuntimeError, match="second time"):
        dl.grad((y + z).sum(), x)


def test_grad_stops_at_the_inputs():
    w = t64(3)
    fake = w * 2
    fake.sum().backward()                        # the generator's graph is freed ...
    x_hat = fake * 0.5                           # ... and the critic's input still hangs from it
    (g,) = dl.grad((x_hat ** 2).sum(), x_hat)    # nothing beyond x_hat runs: no error
    np.testing.assert_allclose(g.numpy(), 2 * x_hat.numpy())


# ---- second derivatives (create_graph=True) against finite differences of first ones ------------------------

def _set(a, b):
    c = a * 1.0
    c[1] = b * b
    return c ** 2


R = np.random.default_rng(7)
IDX = np.array([[0, 0], [3, 1], [2, 2]])
SECOND_ORDER = {
    "mul_broadcast": (lambda a, b: a * b * a, [(3, 4), (4,)]),
    "div": (lambda a, b: a / b, [(3, 4), (3, 4, "+")]),
    "pow": (lambda a, b: a ** b, [(3, "+"), (3,)]),
    "pow_scalar": (lambda a: a ** 3 + a ** 2, [(3,)]),
    "matmul_batched": (lambda a, b: a @ b, [(2, 3, 4), (4, 5)]),
    "matmul_vec": (lambda a, b: (a @ b) ** 2, [(4,), (4, 5)]),
    "exp_log_sqrt": (lambda a: a.exp() * a.log() + a.sqrt(), [(3, "+")]),
    "abs_clip": (lambda a: (abs(a) * a).clip(-0.5, 0.5) * a, [(5,)]),
    "reductions": (lambda a: (a * a).sum(0) * a.mean(1, keepdims=True).exp() + (a * a).max(1, keepdims=True),
                   [(3, 4)]),
    "index": (lambda a: (a[[0, 0, 2]] ** 2).sum(0) + a[1:, ::2].exp().sum(), [(3, 4)]),
    "reshape_transpose": (lambda a: (a.reshape(4, 3).T * a) ** 2, [(3, 4)]),
    "concat_stack": (lambda a: dl.stack([dl.concatenate([a, a * a], 1), dl.concatenate([a * a, a], 1)], 0) ** 2,
                     [(3, 2)]),
    "relu": (lambda a: a.relu() * a, [(5,)]),
    "sigmoid": (lambda a: a.sigmoid(), [(5,)]),
    "tanh": (lambda a: a.tanh(), [(5,)]),
    "leaky_relu": (lambda a: F.leaky_relu(a) * a, [(5,)]),
    "elu": (lambda a: F.elu(a, alpha=0.7), [(7,)]),
    "gelu": (lambda a: F.gelu(a), [(7,)]),
    "gelu_tanh": (lambda a: F.gelu(a, approximate=True), [(7,)]),
    "softplus": (lambda a: F.softplus(a), [(7,)]),
    "silu": (lambda a: F.silu(a), [(7,)]),
    "softmax": (lambda a: F.softmax(a, 1), [(3, 4)]),
    "log_softmax": (lambda a: F.log_softmax(a, 0), [(3, 4)]),
    "linear": (lambda x, w, b: F.linear(x, w, b) ** 2, [(5, 3), (3, 4), (4,)]),
    "linear_tanh_3d": (lambda x, w, b: F.linear(x, w, b, activation="tanh"), [(2, 5, 3), (3, 4), (4,)]),
    "linear_sigmoid": (lambda x, w, b: F.linear(x, w, b, activation="sigmoid"), [(5, 3), (3, 4), (4,)]),
    "linear_relu": (lambda x, w, b: F.linear(x, w, b, activation="relu") ** 2, [(5, 3), (3, 4), (4,)]),
    "linear_gelu": (lambda x, w: F.linear(x, w, activation="gelu"), [(5, 3), (3, 4)]),
    "conv2d_same_strided": (lambda x, w, b: F.conv2d(x, w, b, strides=2, padding="same") ** 2,
                            [(2, 5, 5, 3), (3, 3, 3, 4), (4,)]),
    "conv2d_tanh": (lambda x, w, b: F.conv2d(x, w, b, activation="tanh"), [(2, 5, 5, 3), (3, 3, 3, 4), (4,)]),
    "conv2d_relu": (lambda x, w: F.conv2d(x, w, activation="relu", padding=1) ** 2, [(1, 4, 4, 2), (3, 3, 2, 3)]),
    "conv1d_dilated": (lambda x, w: F.conv1d(x, w, dilation=2) ** 2, [(2, 9, 3), (2, 3, 4)]),
    "where": (lambda a, b: dl.where(a.data > 0, a * a, b * a), [(3, 4), (4,)]),
    "maximum": (lambda a, b: dl.maximum(a * a, b) * a, [(3, 4), (4,)]),
    "clamp_tensor_bounds": (lambda a, lo: (a * a).clamp(lo, 1.0) * a, [(3, 4), (4,)]),
    "cumsum": (lambda a: dl.cumsum(a * a, 1) ** 2, [(3, 4)]),
    "einsum": (lambda a, b: dl.einsum("bij,jk->bik", a * a, b) ** 2, [(2, 3, 4), (4, 5)]),
    "einsum_diagonal": (lambda a: dl.einsum("ii->i", a * a), [(4, 4)]),
    "tile": (lambda a: dl.tile(a, (2, 3)) ** 2, [(3, 4)]),
    "repeat_interleave": (lambda a: dl.repeat_interleave(a, [1, 2, 0], dim=0) ** 2, [(3, 4)]),
    "split": (lambda a: a.split([1, 3], dim=1)[1] ** 2, [(3, 4)]),
    "pad_reflect": (lambda a: dl.pad(a * a, 1, mode="reflect") ** 2, [(3, 4)]),
    "pad_constant": (lambda a: dl.pad(a * a, ((1, 0), (0, 2))) ** 2, [(3, 4)]),
    "gather": (lambda a: dl.gather(a * a, 1, IDX) ** 2, [(3, 4)]),
    "sort": (lambda a: (a * a).sort(1)[0] * dl.arange(4.0).astype(np.float64), [(3, 4)]),
    "var_std": (lambda a: a.var(1) * a.std(1, correction=1), [(3, 4)]),
    "flip": (lambda a: (a * a).flip(0) * a, [(3, 4)]),
    "broadcast_to": (lambda a: (a * a).broadcast_to((2, 3, 4)) ** 2, [(3, 4)]),
    "setitem": (_set, [(3, 4), (4,)]),
}


def _inputs(specs):
    out = []
    for k, spec in enumerate(specs):
        positive = spec[-1] == "+"
        out.append(t64(*(spec[:-1] if positive else spec), positive=positive, seed=11 + k))
    return out


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_derivatives_match_finite_differences(name):
    f, specs = SECOND_ORDER[name]
    xs = _inputs(specs)
    assert gradcheck(f, xs)
    assert gradgradcheck(f, xs)


def test_third_derivative_of_a_polynomial():
    x = dl.tensor([1.0, 2.0], requires_grad=True)
    (d1,) = dl.grad((x ** 4).sum(), x, create_graph=True)
    (d2,) = dl.grad(d1.sum(), x, create_graph=True)
    (d3,) = dl.grad(d2.sum(), x)
    assert d1.tolist() == [4.0, 32.0] and d2.tolist() == [12.0, 48.0] and d3.tolist() == [24.0, 48.0]


def test_ops_without_double_backward_raise_naming_the_op():
    x = dl.tensor(np.random.default_rng(0).standard_normal((1, 4, 4, 2)), requires_grad=True)
    cases = [
        (lambda: F.max_pool2d(x), "MaxPool2D"),
        (lambda: F.mse(np.zeros((1, 32)), x.reshape(1, -1)), "mean_squared_error"),
        (lambda: F.layer_norm(x), "LayerNorm"),
    ]
    for make, name in cases:
        (g,) = dl.grad(make().sum(), x, create_graph=True)  # the first derivative is right ...
        np.testing.assert_allclose(g.numpy(), dl.grad(make().sum(), x)[0].numpy())
        with pytest.raises(RuntimeError, match=f"{name}: its backward is not differentiable"):
            dl.grad((g * g).sum(), x)                          # ... differentiating it again raises
    y = t64(3)
    (g1,) = dl.grad(F.gelu(y).sum(), y, create_graph=True)
    (g2,) = dl.grad(g1.sum(), y, create_graph=True)
    with pytest.raises(RuntimeError, match="GeluGrad: its backward is not differentiable"):
        dl.grad(g2.sum(), y)


# ---- a WGAN-GP gradient penalty against PyTorch --------------------------------------------------------------

def _critic_weights(rng):
    return [rng.standard_normal((6, 16)) * 0.4, rng.standard_normal(16) * 0.1,
            rng.standard_normal((16, 8)) * 0.4, rng.standard_normal(8) * 0.1,
            rng.standard_normal((8, 1)) * 0.4, rng.standard_normal(1) * 0.1]


def _dl_penalty(weights, real, fake, eps):
    w1, b1, w2, b2, w3, b3 = [dl.tensor(w, requires_grad=True) for w in weights]
    x_hat = (dl.tensor(eps) * dl.tensor(real) + (1 - dl.tensor(eps)) * dl.tensor(fake)).requires_grad_()

    def critic(x):
        h = F.leaky_relu(F.linear(x, w1, b1), 0.2)
        h = F.linear(h, w2, b2, activation="tanh")
        return F.linear(h, w3, b3)

    (g,) = dl.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    norm = ((g * g).sum(axis=1) + 1e-12).sqrt()
    penalty = ((norm - 1.0) ** 2).mean()
    penalty.backward()
    return penalty.item(), [w.grad for w in (w1, b1, w2, b2, w3, b3)]


def test_wgan_gp_penalty_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    weights = _critic_weights(rng)
    real, fake, eps = rng.standard_normal((5, 6)), rng.standard_normal((5, 6)), rng.random((5, 1))
    value, grads = _dl_penalty(weights, real, fake, eps)
    assert grads[5] is None  # the last bias does not change the critic's gradient
    for k in (0, 2, 4):  # along a random direction in weights k
        u = rng.standard_normal(weights[k].shape)
        plus = [w + 1e-6 * u if i == k else w for i, w in enumerate(weights)]
        minus = [w - 1e-6 * u if i == k else w for i, w in enumerate(weights)]
        numeric = (_dl_penalty(plus, real, fake, eps)[0] - _dl_penalty(minus, real, fake, eps)[0]) / 2e-6
        assert abs(numeric - float(np.sum(grads[k] * u))) <= 1e-6 * max(1.0, abs(numeric))


def test_wgan_gp_penalty_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    weights = _critic_weights(rng)
    real, fake, eps = rng.standard_normal((5, 6)), rng.standard_normal((5, 6)), rng.random((5, 1))
    value, grads = _dl_penalty(weights, real, fake, eps)

    tw = [torch.tensor(w, requires_grad=True) for w in weights]
    x_hat = (torch.tensor(eps) * torch.tensor(real) + (1 - torch.tensor(eps)) * torch.tensor(fake)).requires_grad_()
    h = torch.nn.functional.leaky_relu(x_hat @ tw[0] + tw[1], 0.2)
    h = torch.tanh(h @ tw[2] + tw[3])
    out = h @ tw[4] + tw[5]
    (g,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    penalty = ((((g * g).sum(dim=1) + 1e-12).sqrt() - 1.0) ** 2).mean()
    penalty.backward()
    assert abs(value - penalty.item()) <= 1e-12 * max(1.0, abs(value))
    for ours, theirs in zip(grads, tw):
        if theirs.grad is None:
            assert ours is None
        else:
            np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv_critic_penalty_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x0 = rng.standard_normal((2, 6, 6, 3))
    w0, b0 = rng.standard_normal((3, 3, 3, 4)) * 0.3, rng.standard_normal(4) * 0.1
    x, w, b = (dl.tensor(a, requires_grad=True) for a in (x0, w0, b0))
    (g,) = dl.grad(F.conv2d(x, w, b, strides=2, padding="same", activation="tanh").sum(), x, create_graph=True)
    pen = ((g * g).sum() - 1.0) ** 2
    pen.backward()
    tx = torch.tensor(x0.transpose(0, 3, 1, 2), requires_grad=True)
    tw = torch.tensor(w0.transpose(3, 2, 0, 1), requires_grad=True)
    tb = torch.tensor(b0, requires_grad=True)
    ty = torch.tanh(torch.nn.functional.conv2d(torch.nn.functional.pad(tx, (0, 1, 0, 1)), tw, tb, stride=2))
    (tg,) = torch.autograd.grad(ty.sum(), tx, create_graph=True)
    tpen = ((tg * tg).sum() - 1.0) ** 2
    tpen.backward()
    np.testing.assert_allclose(pen.item(), tpen.item(), rtol=1e-10)
    np.testing.assert_allclose(w.grad, tw.grad.numpy().transpose(2, 3, 1, 0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.grad, tb.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(x.grad, tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-9, atol=1e-12)
