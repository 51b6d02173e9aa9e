"""Losses (value and gradient in one pass) against the float64 references on every backend: odd and
empty batches, strided inputs, sample weights, the three reductions, large logits, gradient checks,
errors (the same on every backend)."""
import numpy as np
import pytest

import dlcore
from dlcore import _C
from dlcore import kernels as K
from harness import DTYPES, assert_close, gradcheck_fd, make, raises
import reference as ref

REDUCTIONS = ["mean", "sum", "none"]


def probs_like(shape, dtype, rng):
    """Probabilities inside the clip range (rows sum to 1 for the categorical losses)."""
    p = rng.uniform(0.05, 1.0, shape)
    if len(shape) == 2:
        p = p / p.sum(axis=1, keepdims=True)
    return p.astype(dtype)


def soft_targets(shape, dtype, rng):
    t = rng.uniform(0.0, 1.0, shape)
    return (t / t.sum(axis=1, keepdims=True)).astype(dtype)


# name -> (kernel, per-sample reference, make prediction, make target, labels are ints)
CASES = {
    "softmax_xent_sparse": (K.softmax_cross_entropy, ref.softmax_xent_per_sample,
                            lambda s, d, r: make(s, d, r, scale=3.0), "labels"),
    "softmax_xent_soft": (K.softmax_cross_entropy, ref.softmax_xent_per_sample,
                          lambda s, d, r: make(s, d, r, scale=3.0), soft_targets),
    "categorical": (K.categorical_cross_entropy, ref.categorical_xent_per_sample, probs_like, soft_targets),
    "sparse_categorical": (K.sparse_categorical_cross_entropy, ref.sparse_categorical_xent_per_sample,
                           probs_like, "labels"),
    "binary": (K.binary_cross_entropy, ref.binary_xent_per_sample, probs_like,
               lambda s, d, r: r.integers(0, 2, s).astype(d)),
    "binary_logits": (K.binary_cross_entropy_with_logits, ref.binary_xent_logits_per_sample,
                      lambda s, d, r: make(s, d, r, scale=3.0), lambda s, d, r: r.uniform(0, 1, s).astype(d)),
    "mse": (K.mean_squared_error, ref.mse_per_sample, lambda s, d, r: make(s, d, r),
            lambda s, d, r: make(s, d, r)),
    "mae": (K.mean_absolute_error, ref.mae_per_sample, lambda s, d, r: make(s, d, r),
            lambda s, d, r: make(s, d, r)),
}
ELEMENTWISE_LOSSES = ("binary", "binary_logits", "mse", "mae")


def inputs(name, shape, dtype, rng, layout="contiguous"):
    _, _, make_pred, make_target = CASES[name]
    pred = make_pred(shape, dtype, rng)
    if layout == "strided":
        big = np.zeros(tuple(2 * s for s in shape), dtype)
        big[tuple(slice(None, None, 2) for _ in shape)] = pred
        pred = big[tuple(slice(None, None, 2) for _ in shape)]
    if make_target == "labels":
        target = rng.integers(0, shape[1], shape[0]) if shape[1] else np.zeros(shape[0], np.int64)
    else:
        target = make_target(shape, dtype, rng)
    return pred, target


REF_GRAD_NAME = {"softmax_xent_sparse": "softmax_xent", "softmax_xent_soft": "softmax_xent",
                 "categorical": "categorical_xent", "sparse_categorical": "sparse_categorical_xent",
                 "binary": "binary_xent", "binary_logits": "binary_xent_logits", "mse": "mse", "mae": "mae"}


def ref_grad(name, pred, target, reduction, weight):
    return ref.loss_grad(REF_GRAD_NAME[name], pred, target, reduction, weight)


def reference(name, pred, target, reduction, weight):
    return ref.reduce_loss(CASES[name][1](pred, target), reduction, weight)


def fd_grad(name, pred, target, reduction, weight, h=1e-6):
    """The gradient of the float64 reference loss by central differences, entry by entry."""
    x = ref.f64(pred).copy()
    g = np.zeros_like(x)

    def total(a):
        return float(np.sum(reference(name, a, target, reduction, weight)))
    for i in np.ndindex(x.shape):
        x0 = x[i]
        x[i] = x0 + h
        fp = total(x)
        x[i] = x0 - h
        fm = total(x)
        x[i] = x0
        g[i] = (fp - fm) / (2 * h)
    return g


SHAPES = [(1, 2), (7, 3), (13, 17), (33, 10)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_value_and_grad(backend, dtype, name, reduction, rng):
    shapes = SHAPES + ([(5, 3, 4), (6,)] if name in ELEMENTWISE_LOSSES else [])
    for shape in shapes:
        for weighted in (False, True):
            pred, target = inputs(name, shape, dtype, rng)
            w = rng.uniform(0.0, 2.0, shape[0]).astype(dtype) if weighted else None
            loss, grad = backend.call(CASES[name][0], pred, target, reduction=reduction, sample_weight=w)
            expect = reference(name, pred, target, reduction, w)
            what = f"{backend.name} {name} {shape} {reduction} weighted={weighted}"
            assert np.shape(loss) == np.shape(expect), what
            assert np.asarray(loss).dtype == dtype and grad.dtype == dtype and grad.shape == pred.shape
            assert_close(loss, expect, dtype, what=what + " loss")
            assert_close(grad, ref_grad(name, pred, target, reduction, w), dtype, what=what + " grad")
            if dtype == np.float32:  # the reference formula itself, against central differences
                assert_close(grad, fd_grad(name, pred, target, reduction, w), dtype, what=what + " fd grad")


@pytest.mark.parametrize("name", CASES)
def test_strided_inputs(backend, name, rng):
    pred, target = inputs(name, (9, 13), np.float32, rng, layout="strided")
    assert not pred.flags.c_contiguous
    loss, grad = backend.call(CASES[name][0], pred, target)
    assert_close(loss, reference(name, pred, target, "mean", None), np.float32)
    assert_close(grad, ref_grad(name, pred, target, "mean", None), np.float32)


@pytest.mark.parametrize("name", CASES)
def test_gradcheck(backend, name, rng):
    for reduction in REDUCTIONS:
        pred, target = inputs(name, (5, 7), np.float64, rng)
        w = rng.uniform(0.5, 2.0, 5)

        def fn(a):
            return backend.call(CASES[name][0], a, target, reduction=reduction, sample_weight=w)
        gradcheck_fd(lambda a: float(np.sum(fn(a)[0])), [pred], [fn(pred)[1]])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", CASES)
def test_empty_batch(backend, dtype, name, rng):
    for shape in [(0, 5), (0, 0)] if "sparse" not in name else [(0, 5)]:
        pred, target = inputs(name, shape, dtype, rng)
        for reduction in REDUCTIONS:
            loss, grad = backend.call(CASES[name][0], pred, target, reduction=reduction)
            assert grad.shape == shape
            if reduction == "none":
                assert loss.shape == (0,)
            else:
                assert float(loss) == 0.0


def test_softmax_xent_large_logits(backend):
    call = backend.call
    for dtype in DTYPES:
        x = np.array([[1000.0, 0.0], [0.0, -1000.0], [-1e4, 1e4]], dtype)
        loss, grad = call(K.softmax_cross_entropy, x, np.array([1, 0, 1]), reduction="none")
        np.testing.assert_allclose(loss, [1000.0, 0.0, 0.0], atol=1e-5)
        np.testing.assert_allclose(grad, [[1.0, -1.0], [0.0, 0.0], [0.0, 0.0]], atol=1e-6)
        loss, grad = call(K.binary_cross_entropy_with_logits, np.array([[100.0], [-100.0]], dtype),
                          np.array([[0.0], [0.0]], dtype), reduction="none")
        np.testing.assert_allclose(loss, [100.0, 0.0], atol=1e-5)
        np.testing.assert_allclose(grad, [[1.0], [0.0]], atol=1e-6)
        # probabilities at 0 and 1 are clipped: finite loss, zero gradient outside the clip range
        loss, grad = call(K.binary_cross_entropy, np.array([[0.0, 1.0]], dtype), np.array([[1.0, 0.0]], dtype))
        assert np.isfinite(loss) and np.all(grad == 0)
        loss, grad = call(K.sparse_categorical_cross_entropy, np.array([[1.0, 0.0]], dtype), np.array([1]))
        assert np.isfinite(loss) and np.all(np.isfinite(grad))
        np.testing.assert_allclose(float(loss), -np.log(1e-7), rtol=1e-5)


def test_label_dtypes_and_onehot_agree(backend, rng):
    x = make((17, 11), np.float32, rng, scale=3.0)
    y = rng.integers(0, 11, 17)
    onehot = np.eye(11, dtype=np.float32)[y]
    l1, g1 = backend.call(K.softmax_cross_entropy, x, y)
    for lab in (y.astype(np.int32), y.astype(np.uint8), y.astype(np.float32)):
        l2, g2 = backend.call(K.softmax_cross_entropy, x, lab)
        np.testing.assert_array_equal(g1, g2)
    l3, g3 = backend.call(K.softmax_cross_entropy, x, onehot)
    assert_close(l3, l1, np.float32)
    assert_close(g3, g1, np.float32)


def test_threads_agree(rng):
    x = make((2048, 333), np.float32, rng, scale=3.0)
    y = rng.integers(0, 333, 2048)
    before = dlcore.get_num_threads()
    try:
        dlcore.set_num_threads(1)
        l1, g1 = K.softmax_cross_entropy(x, y)
        dlcore.set_num_threads(2)
        l2, g2 = K.softmax_cross_entropy(x, y)
    finally:
        dlcore.set_num_threads(before)
    np.testing.assert_array_equal(g1, g2)
    assert float(l1) == float(l2)
    assert_close(l1, ref.reduce_loss(ref.softmax_xent_per_sample(x, y)), np.float32)


def test_torch_anchor(rng):
    torch = pytest.importorskip("torch")
    x = make((64, 100), np.float64, rng, scale=3.0)
    y = rng.integers(0, 100, 64)
    tx = torch.tensor(x, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tx, torch.tensor(y))
    tl.backward()
    loss, grad = K.softmax_cross_entropy(x, y)
    assert_close(loss, tl.item(), np.float64)
    assert_close(grad, tx.grad.numpy(), np.float64)


def test_errors(backend):
    """The same call raises the same exception and message on every backend."""
    xp = backend.xp
    x = xp.zeros((4, 10), np.float32)
    with raises(ValueError, "softmax_cross_entropy", "label 10", "10 classes"):
        K.softmax_cross_entropy(x, xp.array([0, 1, 10, 2]))
    with raises(ValueError, "sparse_categorical_cross_entropy", "label -1", "10 classes"):
        K.sparse_categorical_cross_entropy(x, xp.array([0, -1, 3, 2]))
    with raises(ValueError, "softmax_cross_entropy", "labels", "(4,)", "(5,)"):
        K.softmax_cross_entropy(x, xp.zeros(5, np.int64))
    with raises(ValueError, "softmax_cross_entropy", "(4, 10)", "(4, 3)"):
        K.softmax_cross_entropy(x, xp.zeros((4, 3), np.float32))
    with raises(ValueError, "sparse_categorical_cross_entropy", "whole class indices"):
        K.sparse_categorical_cross_entropy(x, xp.array([0.0, 1.5, 2.0, 3.0], np.float32))
    with raises(TypeError, "softmax_cross_entropy", "labels", "bool"):
        K.softmax_cross_entropy(x, xp.zeros(4, bool))
    with raises(ValueError, "softmax_cross_entropy", "2-D", "(40,)"):
        K.softmax_cross_entropy(xp.zeros(40, np.float32), xp.zeros(40, np.int64))
    with raises(TypeError, "categorical_cross_entropy", "float32", "float64"):
        K.categorical_cross_entropy(x, xp.zeros((4, 10)))
    with raises(TypeError, "mean_squared_error", "float32 or float64", "int64"):
        K.mean_squared_error(xp.zeros((4, 3), np.int64), xp.zeros((4, 3), np.int64))
    with raises(ValueError, "mean_absolute_error", "(4, 3)", "(4, 2)"):
        K.mean_absolute_error(xp.zeros((4, 3)), xp.zeros((4, 2)))
    with raises(ValueError, "binary_cross_entropy", "reduction", "'avg'"):
        K.binary_cross_entropy(x, x, reduction="avg")
    with raises(ValueError, "binary_cross_entropy_with_logits", "sample_weight", "(4,)", "(3,)"):
        K.binary_cross_entropy_with_logits(x, x, sample_weight=xp.ones(3, np.float32))
    with raises(TypeError, "mean_squared_error", "sample_weight", "numeric", "bool"):
        K.mean_squared_error(x, x, sample_weight=xp.ones(4, bool))
    with raises(TypeError, "softmax_cross_entropy", "labels", "list"):
        K.softmax_cross_entropy(x, [0, 1, 2, 3])
    with raises(TypeError, "sparse_categorical_cross_entropy", "labels", f"{backend.kind} array", "list"):
        K.sparse_categorical_cross_entropy(x, [0, 1, 2, 3])


def test_float_labels_are_class_indices_on_every_backend(backend, rng):
    """Labels of shape (N,) holding whole floats are class indices everywhere (the GPU copy of the API
    read them as one-hot targets and raised a shape error)."""
    x = make((6, 5), np.float32, rng, scale=2.0)
    y = rng.integers(0, 5, 6)
    for name in ("softmax_cross_entropy", "sparse_categorical_cross_entropy"):
        pred = x if name == "softmax_cross_entropy" else probs_like((6, 5), np.float32, rng)
        got = backend.call(getattr(K, name), pred, y.astype(np.float32), reduction="none")
        expect = backend.call(getattr(K, name), pred, y, reduction="none")
        for g, e in zip(got, expect):
            np.testing.assert_array_equal(g, e)


def test_binding_safety_net():
    x = np.zeros((4, 10), np.float32)
    loss, grad = np.empty(4, np.float32), np.empty((4, 10), np.float32)
    with pytest.raises(ValueError):
        _C.loss_sparse(0, x, np.array([0, 1, 10, 2]), None, 4, 10, 1.0, 1e-7, loss, grad)
    with pytest.raises(ValueError):
        _C.loss_sparse(0, x, np.array([0, 1, 2, 2], np.int32), None, 4, 10, 1.0, 1e-7, loss, grad)
    with pytest.raises(ValueError):
        _C.loss_dense(4, x, x, None, 4, 11, 1.0, 1e-7, loss, grad)
    with pytest.raises(ValueError):
        _C.loss_dense(9, x, x, None, 4, 10, 1.0, 1e-7, loss, grad)
