"""The kernel codes: the enums that dlcore._C exports (csrc/common/codes.h) against every int code
table of the Python kernel layer (src/dlcore/kernels/), so that the two spellings cannot drift apart.

The tables are read from the enums (dlcore.kernels.codes), so these tests check the mapping of names
onto members: entry by entry where the names say it, and by behaviour for the CPU activations and
losses: the public kernel and the binding called with the enum member must give the same bits.
"""
import numpy as np
import pytest

from dlcore import _C
from dlcore import kernels as K
from dlcore.kernels import codes

ENUMS = ("Activation", "Epilogue", "Loss", "PointwiseLoss", "Interpolation")


def members(enum):
    return {name: int(value) for name, value in enum.__members__.items()}


@pytest.mark.parametrize("name", ENUMS)
def test_codes_are_dense_from_zero(name):
    codes = sorted(members(getattr(_C, name)).values())
    assert codes == list(range(len(codes)))


@pytest.mark.parametrize("table", ["GEMM_ACTIVATIONS", "CONV_ACTIVATIONS"])
def test_epilogue_tables(table):
    table = getattr(K, table)
    expected = {None: 0, "linear": 0} | {n: v for n, v in members(_C.Epilogue).items() if n != "none"}
    assert {k: int(v) for k, v in table.items()} == expected


# Each public activation kernel and the Activation member it must run.
ACTIVATIONS = {
    "relu": (K.relu_forward, {}),
    "leaky_relu": (K.leaky_relu_forward, {"negative_slope": 0.3}),
    "elu": (K.elu_forward, {"alpha": 1.7}),
    "gelu_erf": (K.gelu_forward, {}),
    "gelu_tanh": (K.gelu_forward, {"approximate": True}),
    "sigmoid": (K.sigmoid_forward, {}),
    "tanh": (K.tanh_forward, {}),
    "softplus": (K.softplus_forward, {}),
    "silu": (K.silu_forward, {}),
}


def test_every_activation_is_covered():
    assert set(ACTIVATIONS) == set(members(_C.Activation))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_cpu_activation_codes(name, rng):
    fn, kwargs = ACTIVATIONS[name]
    x = rng.standard_normal(257).astype(np.float32) * 3
    # the kernel's own parameter, else one that leaky_relu and elu do not ignore (so they differ from relu)
    param = next(iter(kwargs.values())) if name in ("leaky_relu", "elu") else 0.5
    outs = {}
    for member, code in members(_C.Activation).items():
        outs[member] = np.empty_like(x)
        _C.activation_forward(code, x, outs[member], param)
    got = fn(x, **kwargs)
    assert [m for m, out in outs.items() if np.array_equal(out, got)] == [name]


def test_gpu_activation_table():
    # the GPU layer spells gelu_erf "gelu"
    table = {("gelu_erf" if n == "gelu" else n): code for n, code in codes.ACTIVATIONS.items()}
    assert table == members(_C.Activation)


# Each public loss kernel, the binding it must reach with which Loss member, and its inputs.
def _dense_inputs(rng, probs):
    p = rng.uniform(0.05, 0.95, (6, 5)) if probs else rng.standard_normal((6, 5))
    t = rng.uniform(0.0, 1.0, (6, 5))
    return p, t


LOSSES = [  # (kernel, Loss member, dense or sparse, the prediction is a probability)
    (K.softmax_cross_entropy, "softmax_xent_dense", "dense", False),
    (K.softmax_cross_entropy, "softmax_xent_dense", "sparse", False),
    (K.categorical_cross_entropy, "categorical_xent", "dense", True),
    (K.sparse_categorical_cross_entropy, "categorical_xent", "sparse", True),
    (K.binary_cross_entropy, "binary_xent", "dense", True),
    (K.binary_cross_entropy_with_logits, "binary_xent_logits", "dense", False),
    (K.mean_squared_error, "mse", "dense", False),
    (K.mean_absolute_error, "mae", "dense", False),
]


def test_every_loss_is_covered():
    assert {case[1] for case in LOSSES} == set(members(_C.Loss))


@pytest.mark.parametrize("case", LOSSES, ids=lambda c: f"{c[0].__name__}-{c[2]}")
def test_cpu_loss_codes(case, rng):
    fn, name, kind, probs = case
    pred, target = _dense_inputs(rng, probs)
    if kind == "sparse":
        target = rng.integers(0, pred.shape[1], pred.shape[0]).astype(np.int64)
    loss, grad = fn(pred, target, reduction="none")
    matches = []
    for member, code in members(_C.Loss).items():
        if kind == "sparse" and member not in ("softmax_xent_dense", "categorical_xent"):
            continue
        out_loss, out_grad = np.empty(pred.shape[0]), np.empty(pred.shape)
        n, d = pred.shape
        if kind == "sparse":
            _C.loss_sparse(code, pred, target, None, n, d, 1.0, 1e-7, out_loss, out_grad)
        else:
            _C.loss_dense(code, pred, target, None, n, d, 1.0, 1e-7, out_loss, out_grad)
        if np.array_equal(out_loss, loss) and np.array_equal(out_grad, grad):
            matches.append(member)
    assert matches == [name]


def test_gpu_loss_table():
    spelled = {"mean_squared_error": "mse", "mean_absolute_error": "mae", "binary_cross_entropy": "binary_xent",
               "binary_cross_entropy_with_logits": "binary_xent_logits",
               "categorical_cross_entropy": "categorical_xent",
               "sparse_categorical_cross_entropy": "sparse_categorical_xent"}
    assert {spelled[n]: code for n, code in codes.CUDA_LOSSES.items()} == members(_C.PointwiseLoss)


def test_bindings_take_members_and_reject_unknown_codes():
    x = np.linspace(-2, 2, 8, dtype=np.float32)
    by_member, by_int = np.empty_like(x), np.empty_like(x)
    _C.activation_forward(_C.Activation.silu, x, by_member)
    _C.activation_forward(int(_C.Activation.silu), x, by_int)
    assert np.array_equal(by_member, by_int)
    n_act = len(_C.Activation.__members__)
    for bad in (-1, n_act):
        with pytest.raises(ValueError, match="activation_forward: act: unknown Activation code"):
            _C.activation_forward(bad, x, by_int)
    a = np.ones((2, 3)), np.ones((3, 4))
    with pytest.raises(ValueError, match="gemm: act: unknown Epilogue code"):
        _C.gemm(*a, np.empty((2, 4)), act=len(_C.Epilogue.__members__))
    with pytest.raises(ValueError, match="loss_dense: kind: unknown Loss code"):
        _C.loss_dense(len(_C.Loss.__members__), a[0], a[0], None, 2, 3, 1.0, 1e-7, np.empty(2), np.empty((2, 3)))


def test_dtype_error_names_the_op():
    x = np.ones(4, np.int32)
    with pytest.raises(ValueError, match=r"activation_forward: out: expected dtype float32 or float64, got int32"):
        _C.activation_forward(0, x, np.empty(4, np.int32))
    with pytest.raises(ValueError, match=r"sum_squares: x: expected dtype float32 or float64, got int64"):
        _C.sum_squares(np.ones(3, np.int64))


def test_cuda_module_exports_the_same_codes():
    _cuda = pytest.importorskip("dlcore._cuda", reason="dlcore._cuda not built")
    for name in ENUMS:
        assert members(getattr(_cuda, name)) == members(getattr(_C, name))
