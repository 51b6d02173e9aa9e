"""The framework's layering: autograd <- ops <- tensor_methods <- tensor <- functional <- activations <- layers.

Checks that the layers import only downwards (no import cycle, function-level imports included),
that every public name the old single-file `dlcore.tensor` and `dlcore.functional` modules defined is still
importable from them, and the seams between the layers.
"""
import importlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import dlcore as dl
import dlcore.kernels as K
from dlcore import activations
from dlcore import functional as F
from dlcore import layers as L
from dlcore.autograd import Function

ROOT = Path(__file__).resolve().parent.parent

# every public name dlcore/tensor.py and dlcore/functional.py defined before the split
TENSOR_NAMES = """Abs Add Cast Clip Concatenate DEFAULT_DTYPE Div Exp Function GetItem Log MatMul Max Mean Mul Neg Parameter Pow
PowScalar Reshape Sqrt Stack Sub Sum Tensor Transpose arange cat concatenate enable_grad from_dlpack full
get_array_module is_grad_enabled no_grad ones ones_like rand randn stack tensor zeros zeros_like""".split()

FUNCTIONAL_NAMES = """AvgPool2D BatchNorm Conv1D Conv2D Dropout Elu Embedding Function GRU Gelu GlobalAvgPool2D LSTM LayerNorm
LeakyRelu Linear LogSoftmax MaxPool2D Relu Sigmoid Silu SimpleRNN Softmax Softplus Tanh Tensor avg_pool2d
batch_norm binary_cross_entropy categorical_cross_entropy conv1d conv2d dropout elu embedding gelu
get_array_module global_avg_pool2d gru huber layer_norm leaky_relu linear linear_activation log_softmax lstm
mae max_pool2d mean_absolute_error mean_squared_error mse relu sigmoid silu simple_rnn softmax softplus
sparse_categorical_cross_entropy swish tanh""".split()

# the modules of the layering, bottom to top
OURS = ("dlcore.grad_mode", "dlcore.autograd", "dlcore.primitives", "dlcore.tensor_methods", "dlcore.tensor_reduce",
        "dlcore.tensor_rearrange", "dlcore.tensor_inplace", "dlcore.tensor", "dlcore.tensor_functions",
        "dlcore.tensor_functions_rearrange", "dlcore.functional", "dlcore.activations", "dlcore.layers")


@pytest.mark.parametrize("module, names", [("dlcore.tensor", TENSOR_NAMES), ("dlcore.functional", FUNCTIONAL_NAMES)])
def test_old_names_still_importable(module, names):
    mod = importlib.import_module(module)  # the module (the attribute dl.tensor is the function)
    missing = [n for n in names if not hasattr(mod, n)]
    assert not missing, f"{module} no longer exports {missing}"


def _check_imports():
    spec = importlib.util.spec_from_file_location("check_imports", ROOT / ".ci" / "check_imports.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _ours(name):
    return any(name == m or name.startswith(m + ".") for m in OURS)


def test_no_import_cycle_through_the_framework_layers():
    ci = _check_imports()
    graph = ci.edges(ROOT / "src" / "dlcore")
    bad = [c for c in ci.cycles(graph) if any(_ours(m) for m in c)]
    assert not bad, f"import cycles: {bad}"


def test_each_layer_imports_only_below_it():
    """grad_mode imports nothing from dlcore, autograd only grad_mode; ops nothing above autograd; tensor
    nothing above itself."""
    graph = _check_imports().edges(ROOT / "src" / "dlcore")
    rank = {m: i for i, m in enumerate(OURS)}

    def layer(name):
        return next((rank[m] for m in OURS if name == m or name.startswith(m + ".")), None)

    assert graph["dlcore.grad_mode"] == set()
    assert graph["dlcore.autograd"] == {"dlcore.grad_mode"}
    for mod, targets in graph.items():
        r = layer(mod)
        if r is None:
            continue
        up = [t for t in targets if layer(t) is not None and layer(t) > r]
        assert not up, f"{mod} imports {up}, a layer above it"


# ---- the seams ------------------------------------------------------------------------------------

def test_apply_wraps_outputs_with_the_inputs_tensor_class():
    p = dl.Parameter(np.ones((2, 3)))
    y = p * 2.0
    assert type(y) is dl.Tensor and y.requires_grad and not isinstance(y, dl.Parameter)

    class Twice(Function):
        def forward(self, a):
            return 2 * a

        def backward(self, g):
            return 2 * g

    with pytest.raises(TypeError, match="expected at least one tensor input"):
        Twice.apply(None)


@pytest.mark.skipif(not all(hasattr(K, k) for k in ("relu_forward", "softmax_forward", "log_softmax_forward",
                                                      "sigmoid_forward", "tanh_forward")),
                    reason="activation kernels not built")
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax", "log_softmax"])
def test_tensor_activation_methods_apply_the_same_function_as_functional(name):
    x = dl.tensor(np.random.default_rng(3).standard_normal((3, 5)), requires_grad=True)
    a, b = getattr(x, name)(), getattr(F, name)(x)
    assert type(a._ctx) is type(b._ctx)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_activation_names_resolve_to_the_functional_functions():
    assert activations.get("relu") is F.relu and activations.get("swish") is F.silu
    assert activations.get(None) is activations.linear and activations.serialize(activations.linear) == "linear"
    assert activations.serialize(activations.get("softmax")) == "softmax"
    for name, fn in activations.ACTIVATIONS.items():
        assert activations.get(name) is fn
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        F.linear(np.ones((2, 3), np.float32), np.ones((3, 4), np.float32), activation="relux")


@pytest.mark.skipif(not hasattr(K, "elu_forward"), reason="elu kernels not built")
def test_linear_applies_a_named_activation_after_the_product():
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((3, 2)).astype(np.float32)
    y = F.linear(x, w, activation="elu")
    np.testing.assert_allclose(y.numpy(), F.elu(x @ w).numpy(), rtol=1e-6)


def test_bidirectional_config_names_a_recurrent_layer():
    layer = L.Bidirectional(L.LSTM(3))
    config = layer.get_config()
    assert type(L.Bidirectional.from_config(config).forward_layer) is L.LSTM
    config["layer"]["class_name"] = "Dense"
    with pytest.raises(ValueError, match="Bidirectional: unknown recurrent layer class 'Dense'"):
        L.Bidirectional.from_config(config)
