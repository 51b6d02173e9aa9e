"""dlcore.functional: forward against float64 NumPy formulas, gradcheck on every differentiable op."""
import numpy as np
import pytest

import dlcore as dl
import dlcore.functional as F
import dlcore.kernels as K
from dlcore.testing import gradcheck


def needs(*names):
    """Skip when this build lacks one of the kernels the op calls."""
    missing = [n for n in names if not hasattr(K, n)]
    return pytest.mark.skipif(bool(missing), reason=f"kernels not built yet: {', '.join(missing)}")


def t64(*shape, seed=0, scale=1.0, grad=True):
    return dl.tensor(np.random.default_rng(seed).standard_normal(shape) * scale, requires_grad=grad)


def sig(x):
    return 1 / (1 + np.exp(-x))


# ---- activations -------------------------------------------------------------------------------

ACTIVATIONS = {
    "relu": (F.relu, lambda x: np.maximum(x, 0), ["relu_forward", "relu_backward"]),
    "sigmoid": (F.sigmoid, sig, ["sigmoid_forward", "sigmoid_backward"]),
    "tanh": (F.tanh, np.tanh, ["tanh_forward", "tanh_backward"]),
    "leaky_relu": (F.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x), ["leaky_relu_forward", "leaky_relu_backward"]),
    "elu": (F.elu, lambda x: np.where(x > 0, x, np.expm1(x)), ["elu_forward", "elu_backward"]),
    "gelu": (F.gelu, None, ["gelu_forward", "gelu_backward"]),
    "softplus": (F.softplus, lambda x: np.logaddexp(0, x), ["softplus_forward", "softplus_backward"]),
    "silu": (F.silu, lambda x: x * sig(x), ["silu_forward", "silu_backward"]),
    "softmax": (F.softmax, lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True),
                ["softmax_forward", "softmax_backward"]),
    "log_softmax": (F.log_softmax, lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True)),
                    ["log_softmax_forward", "log_softmax_backward"]),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation(name):
    f, ref, kernels = ACTIVATIONS[name]
    if any(not hasattr(K, k) for k in kernels):
        pytest.skip(f"kernels not built yet: {kernels}")
    x = t64(4, 7, seed=1)
    if ref is not None:
        np.testing.assert_allclose(f(x).numpy(), ref(x.numpy()), rtol=1e-10, atol=1e-12)
    # keep inputs away from kinks (relu/leaky at 0) so central differences are exact
    x.data[np.abs(x.data) < 1e-3] = 0.5
    assert gradcheck(f, [x])


@needs("relu_forward", "softmax_forward")
def test_tensor_methods_call_functional():
    x = t64(3, 4)
    np.testing.assert_allclose(x.relu().numpy(), np.maximum(x.numpy(), 0))
    np.testing.assert_allclose(x.softmax().numpy().sum(-1), np.ones(3))


# ---- linear ---------------------------------------------------------------------------------

@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh"])
def test_linear(activation):
    if activation and not hasattr(K, activation + "_backward"):
        pytest.skip("activation kernels not built yet")
    x, w, b = t64(5, 3, seed=1), t64(3, 4, seed=2), t64(4, seed=3)
    z = x.numpy() @ w.numpy() + b.numpy()
    ref = {None: z, "relu": np.maximum(z, 0), "sigmoid": sig(z), "tanh": np.tanh(z)}[activation]
    np.testing.assert_allclose(F.linear(x, w, b, activation).numpy(), ref, rtol=1e-12)
    assert gradcheck(lambda x, w, b: F.linear(x, w, b, activation), [x, w, b])


def test_linear_nd_input_and_no_bias():
    x, w = t64(2, 3, 5, seed=1), t64(5, 4, seed=2)
    y = F.linear(x, w)
    assert y.shape == (2, 3, 4)
    assert gradcheck(lambda x, w: F.linear(x, w), [x, w])


def test_linear_errors():
    with pytest.raises(ValueError, match=r"last dimension 3 .*got shape \(5, 4\)"):
        F.linear(dl.zeros(5, 4), dl.zeros(3, 2))
    with pytest.raises(TypeError, match="dtype"):
        F.linear(dl.zeros(5, 3, dtype=np.float64), dl.zeros(3, 2))


# ---- conv / pool ----------------------------------------------------------------------------

def conv2d_ref(x, w, b, stride, pad):
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    kh, kw = w.shape[:2]
    ho = (x.shape[1] - kh) // stride + 1
    wo = (x.shape[2] - kw) // stride + 1
    y = np.zeros((x.shape[0], ho, wo, w.shape[3]))
    for i in range(ho):
        for j in range(wo):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            y[:, i, j, :] = np.einsum("nhwc,hwco->no", patch, w) + b
    return y


@needs("conv2d_forward", "conv2d_backward_data", "conv2d_backward_filter", "conv2d_backward_bias")
@pytest.mark.parametrize("strides,padding,pad", [(1, "valid", 0), (2, "valid", 0), (1, "same", 1), (1, 1, 1)])
def test_conv2d(strides, padding, pad):
    x, w, b = t64(2, 6, 5, 3, seed=1), t64(3, 3, 3, 4, seed=2), t64(4, seed=3)
    y = F.conv2d(x, w, b, strides=strides, padding=padding)
    np.testing.assert_allclose(y.numpy(), conv2d_ref(x.numpy(), w.numpy(), b.numpy(), strides, pad), rtol=1e-10,
                               atol=1e-10)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, strides=strides, padding=padding), [x, w, b])


@needs("conv1d_forward", "conv1d_backward_data", "conv1d_backward_filter")
def test_conv1d():
    x, w, b = t64(2, 9, 3, seed=1), t64(3, 3, 4, seed=2), t64(4, seed=3)
    ref = conv2d_ref(x.numpy()[:, None], w.numpy()[None], b.numpy(), 1, 0)[:, 0]
    np.testing.assert_allclose(F.conv1d(x, w, b).numpy(), ref, rtol=1e-10, atol=1e-10)
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, padding="same"), [x, w, b])


@needs("conv2d_forward", "conv1d_forward", "relu_backward", "tanh_backward", "gelu_backward")
@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
def test_conv_fused_activation(activation):
    x, w, b = t64(2, 5, 5, 3, seed=1), t64(3, 3, 3, 4, seed=2), t64(4, seed=3)
    act = getattr(F, activation)
    np.testing.assert_allclose(F.conv2d(x, w, b, activation=activation).numpy(), act(F.conv2d(x, w, b)).numpy(),
                               rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding="same", activation=activation), [x, w, b])
    x1, w1 = t64(2, 7, 3, seed=4), t64(3, 3, 2, seed=5)
    assert gradcheck(lambda x, w: F.conv1d(x, w, activation=activation), [x1, w1])


@pytest.mark.parametrize("op", ["linear", "conv2d", "conv1d", "conv2d_transpose"])
def test_backward_skips_the_gradients_nobody_wants(op, monkeypatch):
    """As PyTorch's autograd does: no input gradient for data (a first layer's input, which does not
    require grad) and no weight gradient for frozen weights; the kernels that would compute them are
    not called, and the gradients that are wanted are the same as when everything requires grad."""
    kernels = {"linear": (None, None), "conv2d": ("conv2d_backward_data", "conv2d_backward_filter"),
               "conv1d": ("conv1d_backward_data", "conv1d_backward_filter"),
               "conv2d_transpose": ("conv2d_forward", "conv2d_backward_filter")}[op]
    shapes = {"linear": ((5, 4), (4, 3)), "conv2d": ((2, 6, 5, 3), (3, 3, 3, 4)), "conv1d": ((2, 7, 3), (3, 3, 4)),
              "conv2d_transpose": ((2, 4, 5, 3), (3, 3, 2, 3))}[op]
    f = getattr(F, op)
    rng = np.random.default_rng(0)
    xa, wa, ba = (rng.standard_normal(s) for s in shapes + ((shapes[1][-1] if op != "conv2d_transpose" else 2,),))

    def grads(x_grad, w_grad):
        x, w, b = dl.tensor(xa, requires_grad=x_grad), dl.tensor(wa, requires_grad=w_grad), dl.tensor(ba, requires_grad=True)
        (f(x, w, b) ** 2).sum().backward()
        return x.grad, w.grad, b.grad

    gx, gw, gb = grads(True, True)
    called = []
    for name in kernels:
        if name is not None:
            real = getattr(K, name)
            monkeypatch.setattr(K, name, lambda *a, _real=real, _name=name, **k: called.append(_name) or _real(*a, **k))
    dx, dw, db = grads(False, True)
    assert dx is None and kernels[0] not in called
    np.testing.assert_allclose(np.asarray(dw), np.asarray(gw), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(db), np.asarray(gb), rtol=1e-12)
    called.clear()
    dx, dw, db = grads(True, False)
    assert dw is None and kernels[1] not in called
    np.testing.assert_allclose(np.asarray(dx), np.asarray(gx), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(db), np.asarray(gb), rtol=1e-12)


def test_conv_errors():
    with pytest.raises(ValueError, match=r"4-D input .*got shape \(2, 5, 3\)"):
        F.conv2d(dl.zeros(2, 5, 3), dl.zeros(3, 3, 3, 4))
    with pytest.raises(ValueError, match="channels"):
        F.conv2d(dl.zeros(2, 5, 5, 2), dl.zeros(3, 3, 3, 4))


@needs("max_pool2d_forward", "max_pool2d_backward")
def test_max_pool2d():
    x = t64(2, 6, 6, 3, seed=4)
    y = F.max_pool2d(x, 2)
    ref = x.numpy().reshape(2, 3, 2, 3, 2, 3).max(axis=(2, 4))
    np.testing.assert_allclose(y.numpy(), ref)
    assert gradcheck(lambda x: F.max_pool2d(x, 2), [x])
    assert gradcheck(lambda x: F.max_pool2d(x, 3, strides=2, padding="same"), [x])


@needs("avg_pool2d_forward", "avg_pool2d_backward", "global_avg_pool2d_forward", "global_avg_pool2d_backward")
def test_avg_pools():
    x = t64(2, 6, 6, 3, seed=4)
    ref = x.numpy().reshape(2, 3, 2, 3, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(F.avg_pool2d(x, 2).numpy(), ref, rtol=1e-12)
    np.testing.assert_allclose(F.global_avg_pool2d(x).numpy(), x.numpy().mean(axis=(1, 2)), rtol=1e-12)
    assert gradcheck(lambda x: F.avg_pool2d(x, 2), [x])
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, strides=2, padding="same"), [x])
    assert gradcheck(F.global_avg_pool2d, [x])


# ---- recurrent -----------------------------------------------------------------------------

def lstm_ref(x, h, c, k, rk, b):
    hsz = rk.shape[0]
    out = []
    for t in range(x.shape[1]):
        z = x[:, t] @ k + h @ rk + b
        i, f, g, o = sig(z[:, :hsz]), sig(z[:, hsz:2 * hsz]), np.tanh(z[:, 2 * hsz:3 * hsz]), sig(z[:, 3 * hsz:])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out, 1), h, c


@needs("lstm_forward", "lstm_backward")
def test_lstm():
    B, T, I, H = 2, 4, 3, 5
    x, h0, c0 = t64(B, T, I, seed=1), t64(B, H, seed=2), t64(B, H, seed=3)
    k, rk, b = t64(I, 4 * H, seed=4, scale=0.5), t64(H, 4 * H, seed=5, scale=0.5), t64(4 * H, seed=6)
    hs, (h_t, c_t) = F.lstm(x, h0, c0, k, rk, b)
    rh, rht, rct = lstm_ref(x.numpy(), h0.numpy(), c0.numpy(), k.numpy(), rk.numpy(), b.numpy())
    np.testing.assert_allclose(hs.numpy(), rh, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c_t.numpy(), rct, rtol=1e-10, atol=1e-12)

    def f(x, h0, c0, k, rk, b):
        hs, (h_t, c_t) = F.lstm(x, h0, c0, k, rk, b)
        return hs, c_t
    assert gradcheck(f, [x, h0, c0, k, rk, b])
    assert gradcheck(lambda x, k, rk, b: F.lstm(x, None, None, k, rk, b)[1][0], [x, k, rk, b])


@needs("gru_forward", "gru_backward")
def test_gru_grad():
    B, T, I, H = 2, 3, 3, 4
    args = [t64(B, T, I, seed=1), t64(B, H, seed=2), t64(I, 3 * H, seed=3, scale=0.5),
            t64(H, 3 * H, seed=4, scale=0.5), t64(2, 3 * H, seed=5)]
    assert gradcheck(lambda *a: F.gru(*a)[0], args)


@needs("simple_rnn_forward", "simple_rnn_backward")
def test_simple_rnn():
    B, T, I, H = 2, 3, 3, 4
    x, h0, k, rk, b = (t64(B, T, I, seed=1), t64(B, H, seed=2), t64(I, H, seed=3, scale=0.5),
                       t64(H, H, seed=4, scale=0.5), t64(H, seed=5))
    hs, h_t = F.simple_rnn(x, h0, k, rk, b)
    h = h0.numpy()
    for t in range(T):
        h = np.tanh(x.numpy()[:, t] @ k.numpy() + h @ rk.numpy() + b.numpy())
    np.testing.assert_allclose(h_t.numpy(), h, rtol=1e-10)
    assert gradcheck(lambda *a: F.simple_rnn(*a), [x, h0, k, rk, b])


def test_rnn_shape_errors():
    with pytest.raises(ValueError, match=r"3-D input .*got shape \(2, 3\)"):
        F.lstm(dl.zeros(2, 3), None, None, dl.zeros(3, 8), dl.zeros(2, 8), dl.zeros(8))
    with pytest.raises(ValueError, match="kernel"):
        F.lstm(dl.zeros(2, 3, 4), None, None, dl.zeros(3, 8), dl.zeros(2, 8), dl.zeros(8))


# ---- ops written with array code -------------------------------------------------------------

def test_dropout():
    dl.manual_seed(0)
    x = dl.ones(1000)
    y = F.dropout(x, 0.3)
    kept = y.numpy() != 0
    assert 0.6 < kept.mean() < 0.8
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.7, rtol=1e-6)
    assert F.dropout(x, 0.3, training=False) is x
    xs = t64(4, 5)
    dl.manual_seed(1)
    assert gradcheck(lambda x: (dl.manual_seed(1), F.dropout(x, 0.5))[1], [xs])
    with pytest.raises(ValueError, match="rate"):
        F.dropout(x, 1.5)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm(training):
    x, gamma, beta = t64(6, 4, 3, seed=1), t64(3, seed=2), t64(3, seed=3)
    mm, mv = np.zeros(3), np.ones(3)
    y = F.batch_norm(x, gamma, beta, mm, mv, training=training, momentum=0.9, epsilon=1e-3)
    xa = x.numpy()
    if training:
        mean, var = xa.mean(axis=(0, 1)), xa.var(axis=(0, 1))
        np.testing.assert_allclose(mm, 0.1 * mean)
        np.testing.assert_allclose(mv, 0.9 + 0.1 * var)
    else:
        mean, var = np.zeros(3), np.ones(3)
    ref = gamma.numpy() * (xa - mean) / np.sqrt(var + 1e-3) + beta.numpy()
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-10)
    assert gradcheck(lambda x, g, b: F.batch_norm(x, g, b, np.zeros(3), np.ones(3), training=training),
                     [x, gamma, beta])


def test_layer_norm():
    x, gamma, beta = t64(4, 5, 6, seed=1), t64(6, seed=2), t64(6, seed=3)
    y = F.layer_norm(x, gamma, beta)
    xa = x.numpy()
    ref = (xa - xa.mean(-1, keepdims=True)) / np.sqrt(xa.var(-1, keepdims=True) + 1e-3) * gamma.numpy() + beta.numpy()
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-10)
    assert gradcheck(F.layer_norm, [x, gamma, beta])
    assert gradcheck(lambda x: F.layer_norm(x, axis=(-2, -1)), [x])


def test_embedding():
    w = t64(10, 3, seed=1)
    ids = np.array([[1, 2, 1], [9, 0, 1]])
    y = F.embedding(ids, w)
    np.testing.assert_allclose(y.numpy(), w.numpy()[ids])
    assert gradcheck(lambda w: F.embedding(ids, w), [w])
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        F.embedding(np.array([10]), w)
    with pytest.raises(TypeError, match="integers"):
        F.embedding(np.array([0.5]), w)


# ---- losses --------------------------------------------------------------------------------

def test_mse_mae():
    if not hasattr(K, "mean_squared_error"):
        pytest.skip("loss kernels not built yet")
    p, t = t64(6, 3, seed=1), np.random.default_rng(2).standard_normal((6, 3))
    np.testing.assert_allclose(F.mse(t, p).item(), ((p.numpy() - t) ** 2).mean())
    np.testing.assert_allclose(F.mae(t, p).item(), np.abs(p.numpy() - t).mean())
    for red in ("mean", "sum", "none"):
        assert gradcheck(lambda p: F.mse(t, p, reduction=red), [p])
        assert gradcheck(lambda p: F.mae(t, p, reduction=red), [p])
    w = np.arange(6.0)
    assert gradcheck(lambda p: F.mse(t, p, sample_weight=w), [p])


@needs("binary_cross_entropy", "binary_cross_entropy_with_logits")
def test_binary_cross_entropy():
    z = t64(8, 1, seed=1)
    y = (np.random.default_rng(2).random((8, 1)) > 0.5).astype(np.float64)
    p = sig(z.numpy())
    ref = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    np.testing.assert_allclose(F.binary_cross_entropy(y, z, from_logits=True).item(), ref, rtol=1e-10)
    np.testing.assert_allclose(F.binary_cross_entropy(y, dl.tensor(p)).item(), ref, rtol=1e-6)
    assert gradcheck(lambda z: F.binary_cross_entropy(y, z, from_logits=True), [z])
    pt = dl.tensor(p, requires_grad=True)
    assert gradcheck(lambda p: F.binary_cross_entropy(y, p), [pt])


@needs("softmax_cross_entropy", "categorical_cross_entropy", "sparse_categorical_cross_entropy")
def test_categorical_cross_entropies():
    z = t64(6, 4, seed=1)
    labels = np.array([0, 3, 1, 2, 3, 0])
    onehot = np.eye(4)[labels]
    logp = z.numpy() - np.log(np.exp(z.numpy()).sum(-1, keepdims=True))
    ref = -logp[np.arange(6), labels].mean()
    np.testing.assert_allclose(F.sparse_categorical_cross_entropy(labels, z, from_logits=True).item(), ref, rtol=1e-10)
    np.testing.assert_allclose(F.categorical_cross_entropy(onehot, z, from_logits=True).item(), ref, rtol=1e-10)
    probs = dl.tensor(np.exp(logp), requires_grad=True)
    np.testing.assert_allclose(F.sparse_categorical_cross_entropy(labels, probs).item(), ref, rtol=1e-6)
    np.testing.assert_allclose(F.categorical_cross_entropy(onehot, probs).item(), ref, rtol=1e-6)
    assert gradcheck(lambda z: F.sparse_categorical_cross_entropy(labels, z, from_logits=True), [z])
    assert gradcheck(lambda z: F.categorical_cross_entropy(onehot, z, from_logits=True, reduction="none"), [z])
    assert gradcheck(lambda p: F.sparse_categorical_cross_entropy(labels, p), [probs])
    assert gradcheck(lambda p: F.categorical_cross_entropy(onehot, p), [probs])


@needs("softmax_cross_entropy")
def test_sparse_labels_errors():
    z = dl.zeros(3, 4)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 4\).*\[0, 4\]"):
        F.sparse_categorical_cross_entropy(np.array([0, 4, 1]), z, from_logits=True)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        F.sparse_categorical_cross_entropy(np.array([0, 1]), z, from_logits=True)
    with pytest.raises(TypeError, match="integer"):
        F.sparse_categorical_cross_entropy(np.array(["a", "b", "c"]), z, from_logits=True)


def test_huber():
    p = t64(5, 2, seed=1)
    t = np.zeros((5, 2))
    d = np.abs(p.numpy())
    ref = np.where(d <= 1, 0.5 * d * d, d - 0.5).mean()
    np.testing.assert_allclose(F.huber(t, p).item(), ref, rtol=1e-12)
    assert gradcheck(lambda p: F.huber(t, p), [p])
