"""TimeDistributed and Lambda: what they compute, gradients, config and model-file round trips (Lambda:
saved by the name of a registered function, and a clear error for a bare Python function), errors;
Keras 3 where installed."""
import os

import numpy as np
import pytest

import dlcore as dl
from dlcore.saving import register_serializable
from harness import assert_close, make, raises
from layer_checks import config_roundtrip, save_roundtrip, sequential_roundtrip
import reference as ref


def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    k = pytest.importorskip("keras")
    if k.backend.backend() != "torch":
        pytest.skip("keras is installed with another backend than torch")
    return k


@register_serializable
def cube_plus(x, k=0.0):
    return x * x * x + k


@register_serializable
def cube_plus_shape(input_shape):
    return tuple(input_shape)


# ------------------------------------------------------------------------------------- TimeDistributed

def test_time_distributed_dense_and_conv(rng, tmp_path):
    td = dl.layers.TimeDistributed(dl.layers.Dense(3, activation="tanh", dtype="float64"), dtype="float64")
    x = make((2, 5, 4), np.float64, rng)
    y = td(x)
    w, b = td.layer.kernel.numpy(), td.layer.bias.numpy()
    assert_close(y.numpy(), np.tanh(x @ w + b), np.float64)
    assert [n for n, _ in td.named_parameters()] == ["layer.kernel", "layer.bias"]
    assert td.compute_output_shape((None, 5, 4)) == (None, 5, 3)
    assert dl.testing.gradcheck(lambda t: td(t), [dl.tensor(x, requires_grad=True)])
    again = config_roundtrip(td)
    assert isinstance(again.layer, dl.layers.Dense) and again.layer.units == 3
    frames = make((2, 3, 6, 6, 2), np.float32, rng)
    conv = dl.layers.TimeDistributed(dl.layers.Conv2D(4, 3, padding="same"))
    out = conv(frames)
    expect = ref.conv2d_forward(frames.reshape(6, 6, 6, 2), conv.layer.kernel.numpy(), conv.layer.bias.numpy(),
                                pads=((1, 1), (1, 1)))
    assert_close(out.numpy(), expect.reshape(2, 3, 6, 6, 4), np.float32)
    save_roundtrip(tmp_path, dl.layers.TimeDistributed(dl.layers.Conv2D(4, 3, padding="same")), frames)
    sequential_roundtrip(tmp_path, dl.layers.TimeDistributed(dl.layers.Dense(2)), x.astype(np.float32))


def test_time_distributed_trains_its_layer(rng):
    model = dl.Sequential([dl.layers.TimeDistributed(dl.layers.Dense(1))], input_shape=(4, 3))
    x = make((16, 4, 3), np.float32, rng)
    y = x.sum(axis=-1, keepdims=True)
    model.compile(optimizer=dl.optimizers.SGD(learning_rate=0.1), loss="mse")
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]


def test_time_distributed_errors():
    with raises(TypeError, "TimeDistributed", "layer", "int"):
        dl.layers.TimeDistributed(3)
    with raises(ValueError, "TimeDistributed", "at least 3 dimensions", "(2, 4)"):
        dl.layers.TimeDistributed(dl.layers.Dense(2))(np.ones((2, 4), "float32"))


# ------------------------------------------------------------------------------------- Lambda

def test_lambda_computes_and_differentiates(rng):
    layer = dl.layers.Lambda(lambda x, k: x * x * k, arguments={"k": 2.0}, dtype="float64")
    x = make((3, 4), np.float64, rng)
    assert_close(layer(x).numpy(), 2 * x * x, np.float64)
    assert dl.testing.gradcheck(lambda t: layer(t), [dl.tensor(x, requires_grad=True)])
    pair = dl.layers.Lambda(lambda xs: xs[0] - xs[1])
    assert pair([np.ones((2, 2)), np.ones((2, 2))]).numpy().tolist() == [[0.0, 0.0], [0.0, 0.0]]
    seen = {}

    def spy(x, training=None):
        seen["training"] = training
        return x
    dl.layers.Lambda(spy)(x, training=True)
    assert seen["training"] is True


def test_lambda_in_functional_models(rng):
    inputs = dl.Input(shape=(4,))
    out = dl.layers.Lambda(lambda x: x.sum(axis=-1, keepdims=True))(inputs)  # shape from one call on zeros
    assert out.shape == (None, 1)
    shaped = dl.layers.Lambda(lambda x: x[:, :2], output_shape=(2,))
    assert shaped.compute_output_shape((None, 4)) == (None, 2)
    assert dl.layers.Lambda(lambda x: x, output_shape=lambda s: s).compute_output_shape((None, 3)) == (None, 3)
    model = dl.Model(inputs, out)
    x = make((5, 4), np.float32, rng)
    np.testing.assert_allclose(model(x).numpy(), x.sum(axis=1, keepdims=True), rtol=1e-6)


def test_lambda_saved_by_name(rng, tmp_path):
    x = make((3, 4), np.float32, rng)
    layer = dl.layers.Lambda(cube_plus, output_shape=cube_plus_shape, arguments={"k": 1.0})
    config = config_roundtrip(layer).get_config()
    assert config["function"] == "cube_plus" and config["output_shape"] == {"function": "cube_plus_shape"}
    save_roundtrip(tmp_path, dl.layers.Lambda(cube_plus, arguments={"k": 1.0}), x)
    save_roundtrip(tmp_path, dl.layers.Lambda("tanh"), x, name="act.dlc")  # an activation, by name
    by_name = dl.layers.Lambda("cube_plus")
    assert by_name.function is cube_plus
    sequential_roundtrip(tmp_path, by_name, x)


def test_lambda_with_a_python_function_refuses_to_save(tmp_path):
    model = dl.Sequential([dl.layers.Lambda(lambda x: x + 1.0)], input_shape=(3,))
    with raises(ValueError, "Lambda", "cannot save", "<lambda>", "register_serializable"):
        model.save(tmp_path / "nope.dlc")
    assert not (tmp_path / "nope.dlc").exists()

    def local(x):
        return x
    with raises(ValueError, "Lambda", "cannot save", "local", "holds no code"):
        dl.layers.Lambda(local).get_config()


def test_lambda_mask_and_errors(rng):
    x = make((2, 3), np.float32, rng)
    layer = dl.layers.Lambda(lambda t: t, mask=lambda inputs, mask: mask)
    assert layer.compute_mask(x, mask="m") == "m"
    assert dl.layers.Lambda(lambda t: t, mask=[True, False]).compute_mask(x) == [True, False]
    with raises(TypeError, "Lambda", "function", "int"):
        dl.layers.Lambda(3)
    with raises(ValueError, "Lambda", "'no_such_function'", "register_serializable"):
        dl.layers.Lambda("no_such_function")
    with raises(TypeError, "Lambda", "arguments", "list"):
        dl.layers.Lambda(lambda t: t, arguments=[1])
    with raises(TypeError, "Lambda", "output_shape", "3"):
        dl.layers.Lambda(lambda t: t, output_shape=3)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras's own array conversions under NumPy 2
def test_time_distributed_matches_keras(rng):
    k = keras()
    x = make((2, 5, 4), np.float32, rng)
    theirs = k.layers.TimeDistributed(k.layers.Dense(3))
    expect = np.asarray(theirs(x).detach().cpu())
    ours = dl.layers.TimeDistributed(dl.layers.Dense(3))
    ours(x)
    for p, w in zip(ours.weights, theirs.get_weights()):
        p.data[...] = w
    assert_close(ours(x).numpy(), expect, np.float32)


NEW_LAYERS = ["Conv1DTranspose", "Conv2DTranspose", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D",
              "SeparableConv2D", "UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D",
              "Cropping2D", "RepeatVector", "Permute", "MaxPooling1D", "AveragePooling1D", "MaxPooling2D",
              "AveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
              "GlobalAveragePooling2D", "TimeDistributed", "Lambda", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax",
              "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout",
              "GroupNormalization", "Attention", "MultiHeadAttention", "Conv2D"]


@pytest.mark.parametrize("name", NEW_LAYERS)
def test_docstring_example_runs(name):
    import re
    import textwrap
    doc = getattr(dl.layers, name).__doc__ or ""
    assert "Input shape" in doc or "Call arguments" in doc or name == "Conv2D", f"{name}: no shapes documented"
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    if name != "Conv2D":
        assert len(blocks) == 1, f"{name}: expected one Example block"
    for block in blocks:
        exec(compile(textwrap.dedent(block), f"<{name} example>", "exec"), {})


NEW_FUNCTIONS = ["conv1d_transpose", "conv2d_transpose", "depthwise_conv2d", "upsampling1d", "upsampling2d",
                 "max_pool1d", "avg_pool1d", "global_max_pool2d", "global_avg_pool1d", "global_max_pool1d",
                 "zero_padding", "cropping", "repeat_vector", "gaussian_noise", "gaussian_dropout", "seeded_dropout",
                 "spatial_dropout", "group_norm", "relu_layer", "prelu", "masked_softmax"]
NEW_KERNELS = ["upsample2d_forward", "upsample1d_forward", "depthwise_conv2d_forward", "max_pool1d_forward",
               "global_max_pool2d_forward"]


@pytest.mark.parametrize("name", [f"F.{n}" for n in NEW_FUNCTIONS] + [f"K.{n}" for n in NEW_KERNELS])
def test_function_docstring_example_runs(name):
    import re
    import textwrap
    import dlcore.functional as F
    import dlcore.kernels as K
    module, attr = name.split(".")
    doc = getattr({"F": F, "K": K}[module], attr).__doc__ or ""
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert len(blocks) == 1, f"{name}: expected one Example block"
    exec(compile(textwrap.dedent(blocks[0]), f"<{name} example>", "exec"), {})
