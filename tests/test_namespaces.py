"""Names where Keras (and PyTorch) put them: `import dlcore as keras` programs find keras.layers.Input,
keras.ops.*, keras.optimizers.schedules.*, keras.backend.clear_session, ...; dl.optim and dl.nn for
PyTorch-style loops. The ops against NumPy (float64) with gradient checks; Keras 3 as an optional
anchor for the names themselves."""
import os

import numpy as np
import pytest

import dlcore as dl
from harness import assert_allclose

ops = dl.ops

# names dlcore provides in each of Keras's namespaces (each must exist in Keras there too)
KERAS_NAMES = {
    "layers": ["Input", "Dense", "Conv2D", "LSTM", "Dropout", "Flatten", "BatchNormalization", "Layer"],
    "models": ["Model", "Sequential", "load_model", "save_model"],
    "losses": ["Loss", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
               "MeanSquaredLogarithmicError", "CosineSimilarity", "Huber", "LogCosh", "BinaryCrossentropy",
               "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge",
               "SquaredHinge", "CategoricalHinge", "mean_squared_error", "mean_absolute_error",
               "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "cosine_similarity", "huber",
               "log_cosh", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
               "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge", "get", "serialize",
               "deserialize"],
    "metrics": ["Metric", "Mean", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
                "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
                "MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError", "R2Score", "TruePositives",
                "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision", "Recall", "AUC", "F1Score",
                "FBetaScore", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "get"],
    "optimizers": ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Nadam", "Adamax", "Adadelta", "Lion",
                   "schedules", "get", "serialize", "deserialize"],
    "optimizers.schedules": ["LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay", "PolynomialDecay",
                             "CosineDecay", "CosineDecayRestarts", "PiecewiseConstantDecay", "serialize",
                             "deserialize"],
    "callbacks": ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping", "ModelCheckpoint",
                  "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger", "TerminateOnNaN", "LambdaCallback"],
    "backend": ["clear_session", "floatx", "set_floatx", "epsilon", "image_data_format", "set_image_data_format",
                "backend", "is_keras_tensor", "standardize_dtype", "is_float_dtype", "is_int_dtype", "get_uid"],
    "utils": ["Progbar", "set_random_seed"],
    "ops": [n for n in ops.__all__],
    "preprocessing": ["image", "sequence"],
    "activations": ["relu", "sigmoid", "softmax", "tanh"],
    "initializers": ["GlorotUniform", "Zeros"],
    "regularizers": ["L2"],
    "datasets": [],
    "": ["Input", "Model", "Sequential", "Layer", "Loss", "Metric", "Optimizer", "KerasTensor", "layers", "models",
         "losses", "metrics", "optimizers", "callbacks", "backend", "utils", "ops", "activations", "initializers",
         "regularizers", "datasets", "preprocessing"],
}


def _get(root, dotted):
    obj = root
    for part in filter(None, dotted.split(".")):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("namespace", sorted(KERAS_NAMES))
def test_keras_names_in_dlcore(namespace):
    module = _get(dl, namespace)
    missing = [n for n in KERAS_NAMES[namespace] if not hasattr(module, n)]
    assert not missing, f"dl.{namespace} lacks {missing}"


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("namespace", sorted(KERAS_NAMES))
def test_the_same_names_exist_in_keras(keras, namespace):
    """dlcore invents no name in Keras's namespaces (its extras live elsewhere: dl.schedules.StepDecay,
    dl.optim, dl.nn)."""
    module = _get(keras, namespace)
    extra = [n for n in KERAS_NAMES[namespace] if not hasattr(module, n)]
    assert not extra, f"keras.{namespace} has no {extra}"


def test_a_keras_program_runs_with_dlcore_imported_as_keras():
    import dlcore as keras
    from dlcore import layers, ops as kops

    keras.utils.set_random_seed(0)
    keras.backend.clear_session()

    class Scale(layers.Layer):
        def call(self, x, training=None):
            return kops.multiply(kops.relu(x), 2.0)

    model = keras.Sequential([keras.layers.Input(shape=(4,)), layers.Dense(8, activation="relu"), Scale(),
                              layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.CosineDecay(1e-2, 20)),
                  loss=keras.losses.Huber(), metrics=[keras.metrics.RootMeanSquaredError()])
    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0,
                        callbacks=[keras.callbacks.EarlyStopping(monitor="loss", patience=5)])
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.layers[0].name == "dense"


def test_a_pytorch_style_loop_with_dl_optim_and_dl_nn():
    rng = np.random.default_rng(0)
    x = dl.tensor(rng.standard_normal((32, 3)).astype(np.float32))
    y = dl.tensor(rng.standard_normal((32, 1)).astype(np.float32))

    class Net(dl.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = dl.nn.Parameter(np.zeros((3, 1), np.float32))

        def forward(self, inputs):
            return inputs @ self.w

    net = Net()
    opt = dl.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    scheduler = dl.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = dl.losses.MeanSquaredError()(y, net(x))
        loss.backward()
        dl.nn.utils.clip_grad_norm_(net.parameters(), max_norm=1.0)
        opt.step()
        scheduler.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] and scheduler.get_last_lr() == [0.025]


# ---- dl.ops ----------------------------------------------------------------------------------------

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((3, 4))
P = RNG.uniform(0.5, 2.0, (3, 4))
M = RNG.standard_normal((4, 2))

# name -> (dl.ops call, NumPy reference, differentiable inputs for the gradient check or None)
UNARY = {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "square": np.square, "abs": np.abs, "negative": np.negative,
    "log1p": np.log1p, "expm1": np.expm1, "reciprocal": np.reciprocal, "relu": lambda v: np.maximum(v, 0),
    "relu6": lambda v: np.clip(v, 0, 6), "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh,
    "softplus": lambda v: np.log1p(np.exp(v)), "silu": lambda v: v / (1 + np.exp(-v)),
    "elu": lambda v: np.where(v > 0, v, np.expm1(v)), "leaky_relu": lambda v: np.where(v > 0, v, 0.2 * v),
    "selu": lambda v: 1.0507009873554805 * np.where(v > 0, v, 1.6732632423543772 * np.expm1(v)),
    "ravel": np.ravel,
}
POSITIVE = {"log", "sqrt", "reciprocal", "log1p"}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops(name):
    x = P if name in POSITIVE else A
    assert_allclose(getattr(ops, name)(x).numpy(), UNARY[name](x), np.float64, what=name)
    assert dl.testing.gradcheck(getattr(ops, name), [dl.tensor(x, requires_grad=True)])


CASES = [
    ("add", lambda: ops.add(A, B), A + B), ("subtract", lambda: ops.subtract(A, B), A - B),
    ("multiply", lambda: ops.multiply(A, B), A * B), ("divide", lambda: ops.divide(A, P), A / P),
    ("power", lambda: ops.power(P, 2.5), P ** 2.5), ("matmul", lambda: ops.matmul(A, M), A @ M),
    ("dot", lambda: ops.dot(A, M), A @ M), ("clip", lambda: ops.clip(A, -0.5, 0.5), np.clip(A, -0.5, 0.5)),
    ("sum", lambda: ops.sum(A, axis=1, keepdims=True), A.sum(1, keepdims=True)),
    ("mean", lambda: ops.mean(A, axis=0), A.mean(0)), ("max", lambda: ops.max(A, axis=1), A.max(1)),
    ("min", lambda: ops.min(A), A.min()), ("var", lambda: ops.var(A, axis=1), A.var(1)),
    ("std", lambda: ops.std(A), A.std()),
    ("logsumexp", lambda: ops.logsumexp(A * 50, axis=1), np.log(np.exp(A * 50 - (A * 50).max(1, keepdims=True))
                                                                  .sum(1)) + (A * 50).max(1)),
    ("logsumexp_all", lambda: ops.logsumexp(A, keepdims=True), np.log(np.exp(A).sum()).reshape(1, 1)),
    ("softmax", lambda: ops.softmax(A, axis=0), np.exp(A) / np.exp(A).sum(0)),
    ("log_softmax", lambda: ops.log_softmax(A), A - np.log(np.exp(A).sum(1, keepdims=True))),
    ("gelu", lambda: ops.gelu(A), 0.5 * A * (1 + np.tanh(np.sqrt(2 / np.pi) * (A + 0.044715 * A ** 3)))),
    ("normalize", lambda: ops.normalize(A), A / np.linalg.norm(A, axis=-1, keepdims=True)),
    ("reshape", lambda: ops.reshape(A, (4, 3)), A.reshape(4, 3)),
    ("transpose", lambda: ops.transpose(A), A.T), ("expand_dims", lambda: ops.expand_dims(A, 1), A[:, None]),
    ("expand_dims_axes", lambda: ops.expand_dims(A, (0, -1, 2)), np.expand_dims(A, (0, -1, 2))),
    ("expand_dims_list", lambda: ops.expand_dims(A, [-3]), np.expand_dims(A, [-3])),
    ("squeeze", lambda: ops.squeeze(A[:, :1], 1), A[:, 0]), ("swapaxes", lambda: ops.swapaxes(A, 0, 1), A.T),
    ("concatenate", lambda: ops.concatenate([A, B], axis=1), np.concatenate([A, B], 1)),
    ("stack", lambda: ops.stack([A, B], axis=0), np.stack([A, B])),
    ("broadcast_to", lambda: ops.broadcast_to(A[:1], (3, 4)), np.broadcast_to(A[:1], (3, 4))),
    ("take", lambda: ops.take(A, [0, 2, 2], axis=1), np.take(A, [0, 2, 2], axis=1)),
    ("take_flat", lambda: ops.take(A, [5, 1]), np.take(A, [5, 1])),
]


@pytest.mark.parametrize("name, call, expected", CASES, ids=[c[0] for c in CASES])
def test_ops_against_numpy(name, call, expected):
    assert_allclose(call().numpy(), expected, np.float64, what=name)


@pytest.mark.parametrize("name, fn", [
    ("matmul", lambda a: ops.matmul(a, M)), ("logsumexp", lambda a: ops.logsumexp(a, axis=0)),
    ("std", lambda a: ops.std(a, axis=1)), ("normalize", lambda a: ops.normalize(a)),
    ("split", lambda a: ops.concatenate(ops.split(a, [1, 3], axis=1)[::-1], axis=1)),
    ("take", lambda a: ops.take(a, [0, 2, 2], axis=1)), ("broadcast_to", lambda a: ops.broadcast_to(a[:1], (3, 4))),
    ("gelu", ops.gelu), ("softmax", lambda a: ops.softmax(a, axis=0)), ("clip", lambda a: ops.clip(a, -0.5, 0.5)),
    ("expand_dims", lambda a: ops.expand_dims(a, (0, 2)) * np.arange(12.0).reshape(1, 3, 1, 4)),
])
def test_ops_gradients(name, fn):
    assert dl.testing.gradcheck(fn, [dl.tensor(A, requires_grad=True)])


def test_expand_dims_errors_name_the_op_and_axis():
    for axis, error, words in ((3, ValueError, "out of range"), ((0, -4), ValueError, "same place twice"),
                               ((0, 4), ValueError, "out of range"), (1.0, TypeError, "an int or a tuple of ints"),
                               ((0, None), TypeError, "an int or a tuple of ints")):
        with pytest.raises(error, match=f"dlcore.ops.expand_dims: 'axis'.*{words}"):
            ops.expand_dims(A, axis)


def test_split_moments_and_creation():
    parts = ops.split(A, 2, axis=1)
    assert [p.shape for p in parts] == [(3, 2), (3, 2)]
    parts = ops.split(A, [1, 3], axis=1)
    assert [p.shape for p in parts] == [(3, 1), (3, 2), (3, 1)]
    with pytest.raises(ValueError, match="does not split into 3 equal sections"):
        ops.split(A, 3, axis=1)
    mean, var = ops.moments(A, axes=[0])
    assert_allclose(mean.numpy(), A.mean(0), np.float64)
    assert_allclose(var.numpy(), A.var(0), np.float64)
    assert ops.zeros((2, 3)).shape == (2, 3) and ops.ones_like(A).dtype == np.float64
    assert ops.full((2,), 7.0).numpy().tolist() == [7.0, 7.0] and ops.eye(3).numpy().trace() == 3
    assert ops.arange(5).numpy().tolist() == [0, 1, 2, 3, 4] and ops.shape(A) == (3, 4) and ops.ndim(A) == 2
    assert ops.convert_to_numpy(ops.convert_to_tensor([1.0, 2.0], dtype="float64")).dtype == np.float64
    assert ops.one_hot(np.array([0, 2]), 3).numpy().tolist() == [[1, 0, 0], [0, 0, 1]]
    assert ops.in_top_k(np.array([1, 0]), np.array([[0.1, 0.9], [0.2, 0.8]]), 1).numpy().tolist() == [True, False]
    assert ops.argmax(A, axis=1).numpy().tolist() == A.argmax(1).tolist()
    assert (ops.greater(A, B).numpy() == (A > B)).all() and ops.stop_gradient(dl.tensor(A, requires_grad=True)) \
        .requires_grad is False
    x = dl.tensor(RNG.standard_normal((2, 5, 5, 3)))
    k = dl.tensor(RNG.standard_normal((3, 3, 3, 4)))
    assert ops.conv(x, k, padding="same").shape == (2, 5, 5, 4)
    assert ops.max_pool(x, 2).shape == (2, 2, 2, 3) and ops.average_pool(x, 2, padding="same").shape == (2, 3, 3, 3)


@pytest.mark.parametrize("name, call", [
    ("maximum", lambda: ops.maximum(A, B)), ("minimum", lambda: ops.minimum(A, B)),
    ("where", lambda: ops.where(A > 0, A, B)), ("cumsum", lambda: ops.cumsum(A, axis=1)),
    ("tile", lambda: ops.tile(A, (2, 1))), ("repeat", lambda: ops.repeat(A, 2, axis=0)),
    ("flip", lambda: ops.flip(A, 1)), ("sort", lambda: ops.sort(A)), ("top_k", lambda: ops.top_k(A, 2)[0]),
    ("take_along_axis", lambda: ops.take_along_axis(A, np.argsort(A, 1), 1)),
    ("einsum", lambda: ops.einsum("ij,jk->ik", A, M)), ("pad", lambda: ops.pad(A, [(1, 0), (0, 2)])),
])
def test_ops_on_the_tensor_ops(name, call):
    """Ops over the tensor ops (dl.where, dl.topk, ...) under Keras's names: NumPy's values."""
    expected = {"maximum": np.maximum(A, B), "minimum": np.minimum(A, B), "where": np.where(A > 0, A, B),
                "cumsum": np.cumsum(A, 1), "tile": np.tile(A, (2, 1)), "repeat": np.repeat(A, 2, 0),
                "flip": A[:, ::-1], "sort": np.sort(A), "top_k": -np.sort(-A)[:, :2],
                "take_along_axis": np.sort(A, 1), "einsum": A @ M, "pad": np.pad(A, [(1, 0), (0, 2)])}[name]
    assert_allclose(call().numpy(), expected, np.float64, what=name)


def test_keras_ops_import_like_keras():
    from dlcore.ops import matmul  # from keras.ops import matmul
    import dlcore.ops as kops
    assert kops is dl.ops and matmul is dl.ops.matmul
    from dlcore.primitives import MatMul  # the autograd primitives live apart
    assert MatMul.__module__ == "dlcore.primitives.math" and not hasattr(dl.ops, "MatMul")


# ---- backend, preprocessing, nn.utils -----------------------------------------------------------------

def test_backend():
    dl.layers.Dense(2)
    dl.backend.clear_session()
    assert dl.layers.Dense(2).name == "dense"
    assert (dl.backend.floatx(), dl.backend.epsilon(), dl.backend.image_data_format(), dl.backend.backend()) == \
        ("float32", 1e-7, "channels_last", "dlcore")
    dl.backend.set_floatx("float32")
    with pytest.raises(ValueError, match="set_floatx: dlcore's default float type is float32"):
        dl.backend.set_floatx("float16")
    with pytest.raises(ValueError, match="channels_last"):
        dl.backend.set_image_data_format("channels_first")
    assert dl.backend.is_keras_tensor(dl.Input(shape=(3,))) and not dl.backend.is_keras_tensor(np.ones(3))
    assert dl.backend.standardize_dtype(np.float64) == "float64" and dl.backend.is_int_dtype("int32")
    assert [dl.backend.get_uid("x"), dl.backend.get_uid("x"), dl.backend.get_uid("y")] == [1, 2, 1]


def test_preprocessing_forwards_to_utils(monkeypatch):
    def pad_sequences(sequences, maxlen=None):
        return "padded"

    monkeypatch.setattr(dl.utils, "pad_sequences", pad_sequences, raising=False)
    assert dl.preprocessing.sequence.pad_sequences is pad_sequences
    from dlcore.preprocessing.sequence import pad_sequences as again
    assert again is pad_sequences
    monkeypatch.delattr(dl.utils, "pad_sequences")
    with pytest.raises(AttributeError, match="dlcore.utils.pad_sequences, which this build"):
        dl.preprocessing.sequence.pad_sequences
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        dl.preprocessing.image.nope


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    gs = [rng.standard_normal((3, 2)) * 5, rng.standard_normal(4)]
    for norm_type in (2.0, 1.0, float("inf")):
        ours = [dl.Parameter(np.zeros(g.shape)) for g in gs]
        theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in gs]
        for p, t, g in zip(ours, theirs, gs):
            p.grad, t.grad = g.copy(), torch.tensor(g)
        total = dl.nn.utils.clip_grad_norm_(ours, 2.0, norm_type=norm_type)
        expected = torch.nn.utils.clip_grad_norm_(theirs, 2.0, norm_type=norm_type)
        assert total.item() == pytest.approx(expected.item(), rel=1e-12)
        for p, t in zip(ours, theirs):
            assert_allclose(p.grad, t.grad.numpy(), np.float64)


def test_clip_grad_helpers():
    w = dl.Parameter(np.zeros(2))
    w.grad = np.array([3.0, 4.0])
    assert dl.nn.utils.clip_grad_norm_(w, 10.0).item() == pytest.approx(5.0)
    assert w.grad.tolist() == [3.0, 4.0]  # under the bound: unchanged
    w.grad = np.array([np.nan, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        dl.nn.utils.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    w.grad = np.array([-3.0, 0.25])
    dl.nn.utils.clip_grad_value_([w], 1.0)
    assert w.grad.tolist() == [-1.0, 0.25]


def test_the_compatibility_page_example_runs(capsys):
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parent.parent / "docs" / "keras_compatibility.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    for block in blocks:
        exec(block, {"__name__": "__doc__"})
    assert "True" in capsys.readouterr().out
