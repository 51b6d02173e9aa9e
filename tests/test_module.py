"""Module and the Keras layers: tracking, state_dict, lifecycle, shapes, configs, error messages."""
import json

import numpy as np
import pytest

import dlcore as dl
import dlcore.kernels as K

L = dl.layers


def needs(*names):
    missing = [n for n in names if not hasattr(K, n)]
    return pytest.mark.skipif(bool(missing), reason=f"kernels not built yet: {', '.join(missing)}")


class Block(dl.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = L.Dense(8, input_dim=4)
        self.heads = [L.Dense(3), L.Dense(2)]
        self.scale = dl.Parameter(np.ones(3, np.float32))

    def forward(self, x):
        h = self.fc1(x)
        return self.heads[0](h) * self.scale, self.heads[1](h)


def test_parameters_are_tracked_recursively_and_lazily():
    m = Block()
    # fc1 knows its input size (input_dim=4): built by its constructor; the heads build on the first input
    assert [n for n, _ in m.named_parameters()] == ["fc1.kernel", "fc1.bias", "scale"]
    m(np.zeros((5, 4), np.float32))
    names = [n for n, _ in m.named_parameters()]
    assert names == ["fc1.kernel", "fc1.bias", "heads.0.kernel", "heads.0.bias", "heads.1.kernel", "heads.1.bias",
                     "scale"]
    assert len(m.parameters()) == 7
    assert m.fc1.kernel.shape == (4, 8)


def test_state_dict_roundtrip_and_errors():
    m = Block()
    m(np.zeros((1, 4)))
    sd = {k: v.copy() for k, v in m.state_dict().items()}
    m2 = Block()
    m2(np.zeros((1, 4)))
    m2.load_state_dict(sd)
    for k, v in m2.state_dict().items():
        np.testing.assert_array_equal(v, sd[k])
    bad = dict(sd)
    bad.pop("fc1.bias")
    bad["extra"] = np.zeros(1)
    with pytest.raises(KeyError, match=r"missing keys \['fc1.bias'\].*unexpected keys \['extra'\]"):
        m2.load_state_dict(bad)
    bad = dict(sd)
    bad["fc1.kernel"] = np.zeros((5, 8))
    with pytest.raises(ValueError, match=r"fc1.kernel.*\(4, 8\).*\(5, 8\)"):
        m2.load_state_dict(bad)
    missing, unexpected = m2.load_state_dict({"scale": np.zeros(3)}, strict=False)
    assert "fc1.kernel" in missing and unexpected == []
    with pytest.raises(ValueError, match="built lazily"):
        L.Dense(3).load_state_dict({"kernel": np.zeros((2, 3))})


def test_train_eval_zero_grad_to():
    m = Block()
    m(np.zeros((1, 4)))
    m.eval()
    assert all(not x.training for x in m.modules())
    m.train()
    assert m.heads[1].training
    for p in m.parameters():
        p.grad = np.ones_like(p.data)
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.to("cpu")
    m.to(dtype=np.float64)
    assert m.fc1.kernel.dtype == np.float64


def test_frozen_layer_not_in_parameters():
    d = L.Dense(3)
    d(np.zeros((1, 2)))
    d.trainable = False
    assert d.parameters() == [] and len(d.weights) == 2


def test_input_shape_argument():
    d = L.Dense(4, input_shape=(7,))
    assert d.batch_input_shape == (None, 7)
    assert d.get_config()["batch_input_shape"] == [None, 7]
    assert L.Dense(4, input_dim=3).batch_input_shape == (None, 3)


def test_keras_names_unique():
    a, b = L.Dense(2), L.Dense(2)
    assert a.name != b.name and a.name.startswith("dense") and b.name.startswith("dense")
    assert L.Conv2D(2, 3).name.startswith("conv2d")
    assert L.Dense(2, name="head").name == "head"


# ---- every layer: output shape == compute_output_shape, config round trip -----------------------------

def layer_cases():
    return [
        (lambda: L.Dense(5, activation="relu"), (4, 3), ["relu_forward"]),
        (lambda: L.Dense(5, activation="gelu", use_bias=False), (2, 3, 3), ["gelu_forward"]),
        (lambda: L.Dense(5), (4, 3), []),
        (lambda: L.Conv2D(4, 3, padding="same", activation="relu"), (2, 6, 6, 3), ["conv2d_forward", "relu_forward"]),
        (lambda: L.Conv2D(4, (3, 2), strides=2), (2, 7, 6, 3), ["conv2d_forward"]),
        (lambda: L.Conv1D(4, 3, dilation_rate=2), (2, 9, 3), ["conv1d_forward"]),
        (lambda: L.MaxPooling2D((2, 2)), (2, 6, 6, 3), ["max_pool2d_forward"]),
        (lambda: L.MaxPooling2D(3, strides=2, padding="same"), (2, 7, 7, 3), ["max_pool2d_forward"]),
        (lambda: L.AveragePooling2D(2), (2, 6, 6, 3), ["avg_pool2d_forward"]),
        (lambda: L.GlobalAveragePooling2D(), (2, 6, 6, 3), ["global_avg_pool2d_forward"]),
        (lambda: L.Flatten(), (2, 3, 4), []),
        (lambda: L.Reshape((2, -1)), (2, 3, 4), []),
        (lambda: L.Dropout(0.3), (2, 5), []),
        (lambda: L.BatchNormalization(), (4, 5, 3), []),
        (lambda: L.LayerNormalization(), (4, 5, 3), []),
        (lambda: L.Activation("tanh"), (4, 3), ["tanh_forward"]),
        (lambda: L.SimpleRNN(4), (2, 5, 3), ["simple_rnn_forward"]),
        (lambda: L.LSTM(4, return_sequences=True), (2, 5, 3), ["lstm_forward"]),
        (lambda: L.LSTM(4, return_state=True), (2, 5, 3), ["lstm_forward"]),
        (lambda: L.GRU(4, go_backwards=True), (2, 5, 3), ["gru_forward"]),
        (lambda: L.Bidirectional(L.LSTM(3, return_sequences=True)), (2, 5, 3), ["lstm_forward"]),
        (lambda: L.Bidirectional(L.GRU(3), merge_mode="sum"), (2, 5, 3), ["gru_forward"]),
    ]


@pytest.mark.parametrize("case", range(len(layer_cases())))
def test_layer_shapes_and_config(case):
    make, shape, kernels = layer_cases()[case]
    if any(not hasattr(K, k) for k in kernels):
        pytest.skip(f"kernels not built yet: {kernels}")
    layer = make()
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    y = layer(x)
    expected = layer.compute_output_shape((None,) + shape[1:])
    got = [t.shape for t in y] if isinstance(y, list) else y.shape
    if isinstance(expected, list):
        assert [tuple(s[1:]) for s in expected] == [tuple(s[1:]) for s in got]
    else:
        assert tuple(expected[1:]) == tuple(got[1:])
    config = layer.get_config()
    json.dumps(config)
    config.pop("name")
    clone = type(layer).from_config(config)
    clone(x)
    assert clone.count_params() == layer.count_params()
    clone.load_state_dict(layer.state_dict())
    clone.eval()
    layer.eval()
    y1 = layer(x)
    y2 = clone(x)
    y1, y2 = (y1[0], y2[0]) if isinstance(y1, list) else (y1, y2)
    np.testing.assert_allclose(y1.numpy(), y2.numpy(), rtol=1e-6)


def test_count_params_like_keras():
    d = L.Dense(10)
    d(np.zeros((1, 784)))
    assert d.count_params() == 7850
    c = L.Conv2D(32, (3, 3))
    c.build((None, 28, 28, 1))
    assert c.count_params() == 320
    lstm = L.LSTM(64)
    lstm.build((None, 10, 8))
    assert lstm.count_params() == 4 * (8 * 64 + 64 * 64 + 64)
    gru = L.GRU(16)
    gru.build((None, 5, 4))
    assert gru.count_params() == 3 * (4 * 16 + 16 * 16) + 2 * 3 * 16
    bn = L.BatchNormalization()
    bn.build((None, 7))
    assert bn.count_params() == 28 and len(bn.parameters()) == 2
    with pytest.raises(ValueError, match="not built|needs the layer built"):
        L.Dense(3).count_params()


def test_lstm_unit_forget_bias():
    lstm = L.LSTM(3)
    lstm.build((None, 2, 4))
    np.testing.assert_array_equal(lstm.bias.numpy(), np.r_[np.zeros(3), np.ones(3), np.zeros(6)])


def test_batchnorm_moving_stats_and_modes():
    bn = L.BatchNormalization(momentum=0.5)
    x = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32) * 2 + 5
    bn(x, training=True)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.5 * x.mean(0), rtol=1e-5)
    bn.eval()
    y = bn(x)
    ref = (x - bn.moving_mean.numpy()) / np.sqrt(bn.moving_variance.numpy() + 1e-3)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-5)
    assert "moving_mean" in bn.state_dict()


def test_regularizer_losses():
    d = L.Dense(3, kernel_regularizer=dl.regularizers.l2(0.1), bias_regularizer="l1")
    d(np.zeros((1, 2)))
    assert len(d.losses) == 2
    k = d.kernel.numpy()
    np.testing.assert_allclose(d.losses[0].item(), 0.1 * (k ** 2).sum(), rtol=1e-5)
    penalty = d.losses[0] + d.losses[1]
    penalty.backward()
    np.testing.assert_allclose(d.kernel.grad, 0.2 * k, rtol=1e-5)


class KerasStyleLinear(L.Layer):
    """A layer written as Keras 3's guide writes it: add_weight without names, keywords in any order."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True,
                                 regularizer=dl.regularizers.l2(0.5))
        self.b = self.add_weight((self.units,), "zeros", "float64")  # Keras 3's positional order
        self.steps = self.add_weight(shape=(), dtype="int64", trainable=False)  # default initializer: zeros
        self.gain = self.add_weight(name="gain", initializer="ones")  # a scalar; glorot_uniform unless given

    def call(self, x):
        return (x @ self.w + self.b) * self.gain

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_add_weight_keras_forms(tmp_path):
    layer = KerasStyleLinear(3)
    x = np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32)
    y = layer(x)
    assert list(layer.state_dict()) == ["variable", "variable_1", "variable_2", "gain"]  # Keras's default names
    assert layer.w is layer.variable and layer.b.dtype == np.float64 and layer.gain.shape == ()
    assert layer.steps.dtype == np.int64 and layer.steps.item() == 0 and not layer.steps.requires_grad
    assert [p.name for p in layer.trainable_weights] == ["variable", "variable_1", "gain"]
    np.testing.assert_allclose(y.numpy(), (x @ layer.w.numpy() + layer.b.numpy()) * layer.gain.item(), rtol=1e-6)
    assert len(layer.losses) == 1  # the weight held as `variable` and as `w` is penalized once
    np.testing.assert_allclose(layer.losses[0].item(), 0.5 * (layer.w.numpy() ** 2).sum(), rtol=1e-5)
    # dlcore's own order (a name first) is kept
    assert layer.add_weight("extra", (2,), "ones", False).requires_grad is False
    # trains and saves as any layer
    dl.saving.register_serializable(KerasStyleLinear)
    model = dl.Sequential([dl.Input(shape=(2,)), KerasStyleLinear(1)])
    built = model.layers[0].w  # built by the graph although its build() does not set `built` (Keras's need not)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x[:, :1], epochs=2, verbose=0)
    assert model.layers[0].w is built and len(model.weights) == 4  # not built again by the first call
    model.save(tmp_path / "custom.dlc")
    np.testing.assert_array_equal(dl.models.load_model(tmp_path / "custom.dlc").predict(x, verbose=0),
                                  model.predict(x, verbose=0))


def test_add_weight_errors_name_the_layer_and_argument():
    layer = L.Dense(2, name="d")
    cases = [(dict(shape=(1,), name="call"), ValueError, "Dense 'd': add_weight: name='call' is a method"),
             (dict(shape=(1,), name="a.b"), ValueError, "'name' must be a Python identifier"),
             (dict(shape=(1,), name=3), TypeError, "'name' must be a string"),
             (dict(shape=(1,), dtype="int32"), ValueError, "dtype int32 cannot be trained.*trainable=False"),
             (dict(shape=(1,), constraint="non_neg"), TypeError, "'constraint' must be a function"),
             (dict(shape=(1,), dtype="mixed_float16"), ValueError, "mixed precision"),
             (dict(shape=(1,), autocast=False), TypeError, "autocast")]
    for kwargs, error, words in cases:
        with pytest.raises(error, match=words):
            layer.add_weight(**kwargs)
    with pytest.raises(TypeError, match="at most 3 positional arguments"):
        layer.add_weight((1,), "ones", "float32", True)
    with pytest.raises(TypeError, match="'shape' both by position and by keyword"):
        layer.add_weight((1,), shape=(2,))
    assert not [k for k in vars(layer) if k.startswith("variable")]  # nothing was added


def test_dtype_argument_errors():
    with pytest.raises(ValueError, match="Dense 'd': dtype='mixed_float16' is a Keras mixed-precision policy; dlcore "
                                         "does not support mixed precision"):
        L.Dense(2, dtype="mixed_float16", name="d")
    with pytest.raises(ValueError, match="LSTM 'l': 'dtype' must be a NumPy dtype or its name.*'floot32'"):
        L.LSTM(2, dtype="floot32", name="l")
    with pytest.raises(TypeError, match="Dense 'd2': 'dtype' must be a NumPy dtype"):
        L.Dense(2, dtype=3, name="d2")
    assert L.Dense(2, dtype=np.float64).dtype == np.float64


def test_dtype_policy_objects_of_keras():
    keras = pytest.importorskip("keras")
    assert L.Dense(2, dtype=keras.DTypePolicy("float64")).dtype == np.float64  # one dtype: taken
    with pytest.raises(ValueError, match="mixed precision"):
        L.Dense(2, dtype=keras.DTypePolicy("mixed_float16"))


def test_initializers():
    dl.manual_seed(0)
    w = dl.initializers.get("glorot_uniform")((100, 200))
    limit = np.sqrt(6 / 300)
    assert w.dtype == np.float32 and np.abs(w).max() <= limit and np.abs(w).max() > 0.9 * limit
    he = dl.initializers.get("he_normal")((1000, 100))
    assert abs(he.std() - np.sqrt(2 / 1000)) < 0.1 * np.sqrt(2 / 1000)
    q = dl.initializers.get("orthogonal")((16, 64))
    np.testing.assert_allclose(q @ q.T, np.eye(16), atol=1e-5)
    for name in ("zeros", "ones", "glorot_normal", "he_uniform", "lecun_normal", "random_normal", "random_uniform"):
        assert dl.initializers.get(name)((3, 4)).shape == (3, 4)
    dl.manual_seed(5)
    a = L.Dense(4)
    a.build((None, 3))
    dl.manual_seed(5)
    b = L.Dense(4)
    b.build((None, 3))
    np.testing.assert_array_equal(a.kernel.numpy(), b.kernel.numpy())
    with pytest.raises(ValueError, match="unknown initializer"):
        dl.initializers.get("nope")


# ---- Keras-quality errors --------------------------------------------------------------------------

def test_layer_error_messages():
    d = L.Dense(10, name="dense_1")
    d(np.zeros((32, 784)))
    with pytest.raises(ValueError) as e:
        d(np.zeros((32, 100)))
    assert str(e.value) == "Dense 'dense_1': expected input with last dimension 784, got shape (32, 100)"
    with pytest.raises(TypeError, match=r"Dense 'dense_1': 'inputs' must be a Tensor or a NumPy array, got str"):
        d("hello")
    with pytest.raises(TypeError, match="dtype <U"):
        d(np.array(["a"] * 784).reshape(1, 784))
    with pytest.raises(ValueError, match="'units' must be a positive int, got 0"):
        L.Dense(0)
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        L.Dense(3, activation="relux")
    with pytest.raises(ValueError, match=r"Conv2D 'c': expected a 4-D input \(batch, height, width, channels\), "
                                         r"got shape \(28, 28\)"):
        L.Conv2D(3, 3, name="c")(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="'padding' must be 'valid' or 'same'"):
        L.Conv2D(3, 3, padding="full")
    with pytest.raises(ValueError, match="kernel_size"):
        L.Conv2D(3, (3, 3, 3))
    with pytest.raises(ValueError, match=r"LSTM 'lstm_x': expected a 3-D input \(batch, timesteps, features\)"):
        L.LSTM(3, name="lstm_x")(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"'rate' must be a float in \[0, 1\)"):
        L.Dropout(1.0)
    emb = L.Embedding(10, 3, name="emb")
    with pytest.raises(ValueError, match=r"Embedding 'emb': token ids must be in \[0, 10\).*\[0, 12\]"):
        emb(np.array([[0, 12]]))
    with pytest.raises(TypeError, match="unexpected keyword"):
        L.Dense(3, unitz=4)
    with pytest.raises(ValueError, match="cannot reshape"):
        L.Reshape((5,))(np.zeros((2, 3, 4)))


def test_module_without_super_init_and_no_arg_forward():
    class Bare(dl.Module):
        def __init__(self):
            self.w = dl.Parameter(np.ones(2, np.float32))

        def forward(self):
            return self.w * 2.0

    m = Bare()
    assert m().shape == (2,) and len(m.parameters()) == 1
    assert list(m.state_dict()) == ["w"]


def test_module_to_cuda_without_gpu_is_clear():
    if dl.cuda.is_available():
        pytest.skip("a GPU is present")
    d = L.Dense(2)
    d(np.zeros((1, 2)))
    with pytest.raises(RuntimeError, match="pip install dlcore\\[cuda13\\]"):
        d.to("cuda")
