"""A NaN is never dropped: every reduction-like kernel and op -- pooling, softmax, the losses, the
metrics, max / min -- returns NaN where NumPy and PyTorch do, and routes gradients to the NaN (max
pooling, max / min) or makes them NaN, never to another element and never a silent 0. On every
backend, against the float64 reference where one exists."""
import numpy as np
import pytest

import dlcore as dl
from dlcore import kernels as K
from harness import DTYPES, ELEMENTWISE, host, make
import reference as ref

NAN = np.nan


def assert_same_nan(got, expected, dtype, what=""):
    """NaN exactly where the reference has NaN, the other values within the dtype's tolerance."""
    got = np.asarray(host(got), dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, what
    assert (np.isnan(got) == np.isnan(expected)).all(), f"{what}: NaN at {np.argwhere(np.isnan(got)).tolist()}, " \
                                                          f"expected at {np.argwhere(np.isnan(expected)).tolist()}"
    rtol, atol = ELEMENTWISE[np.dtype(dtype)]
    np.testing.assert_allclose(got[~np.isnan(got)], expected[~np.isnan(expected)], rtol=rtol, atol=atol,
                               err_msg=what)


# ---------------------------------------------------------------------------------------- pooling

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("where", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_max_pool_keeps_a_nan_anywhere_in_the_window(backend, dtype, where):
    # the regression: a NaN that was not first in its window was dropped, and the gradient went to
    # the window's largest number instead
    x = np.array([[1.0, 2.0], [3.0, 4.0]], dtype)[None, :, :, None].repeat(19, axis=3)  # 19 channels: SIMD + tail
    x[0, where[0], where[1], ::2] = NAN
    y = backend.call(K.max_pool2d_forward, x, 2, 2)
    assert_same_nan(y, ref.max_pool2d_forward(x, (2, 2), (2, 2)), dtype, "forward")
    assert np.isnan(host(y)[0, 0, 0, ::2]).all() and host(y)[0, 0, 0, 1] == 4.0
    dy = np.arange(1, 20, dtype=dtype)[None, None, None, :]
    dx = backend.call(K.max_pool2d_backward, dy, x, 2, 2)
    expected = ref.max_pool2d_backward(dy, x, (2, 2), (2, 2))
    assert_same_nan(dx, expected, dtype, "backward")
    assert host(dx)[0, where[0], where[1], 0] == 1.0  # the gradient went to the NaN


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pooling_with_nans_matches_the_reference(backend, dtype, padding, rng):
    for shape, k, s in [((2, 7, 9, 5), 3, 2), ((1, 6, 6, 33), 2, 1), ((3, 5, 4, 17), (2, 3), None)]:
        x = make(shape, dtype, rng)
        x[rng.random(shape) < 0.15] = NAN
        x[0, 0, 0, 0] = NAN
        kk = (k, k) if isinstance(k, int) else k
        ss = kk if s is None else (s, s)
        y = backend.call(K.max_pool2d_forward, x, k, s, padding)
        assert_same_nan(y, ref.max_pool2d_forward(x, kk, ss, padding), dtype, f"max {shape}")
        dy = make(y.shape, dtype, rng)
        assert_same_nan(backend.call(K.max_pool2d_backward, dy, x, k, s, padding),
                        ref.max_pool2d_backward(dy, x, kk, ss, padding), dtype, f"max backward {shape}")
        assert_same_nan(backend.call(K.avg_pool2d_forward, x, k, s, padding),
                        ref.avg_pool2d_forward(x, kk, ss, padding), dtype, f"avg {shape}")
        assert_same_nan(backend.call(K.global_avg_pool2d_forward, x), ref.global_avg_pool2d_forward(x), dtype,
                        f"global avg {shape}")


# ---------------------------------------------------------------------------------------- softmax

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [-1, 1])
def test_softmax_rows_with_a_nan_are_nan(backend, dtype, axis, rng):
    x = make((4, 37, 3), dtype, rng)
    x[1, 20, :] = NAN
    x[3, 0, 2] = NAN
    for fn, r in ((K.softmax_forward, ref.softmax), (K.log_softmax_forward, ref.log_softmax)):
        with np.errstate(invalid="ignore"):
            assert_same_nan(backend.call(fn, x, axis=axis), r(x, axis=axis), dtype, fn.__name__)


# ----------------------------------------------------------------------------------------- losses

LOSSES = {  # kernel, reference per-sample loss, prediction maker, target maker
    "softmax_xent": (K.softmax_cross_entropy, ref.softmax_xent_per_sample, "logits", "labels"),
    "categorical": (K.categorical_cross_entropy, ref.categorical_xent_per_sample, "probs", "onehot"),
    "sparse_categorical": (K.sparse_categorical_cross_entropy, ref.sparse_categorical_xent_per_sample, "probs",
                           "labels"),
    "binary": (K.binary_cross_entropy, ref.binary_xent_per_sample, "probs", "binary"),
    "binary_logits": (K.binary_cross_entropy_with_logits, ref.binary_xent_logits_per_sample, "logits", "binary"),
    "mse": (K.mean_squared_error, ref.mse_per_sample, "logits", "dense"),
    "mae": (K.mean_absolute_error, ref.mae_per_sample, "logits", "dense"),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_a_nan_prediction_gives_a_nan_loss_and_gradient(backend, dtype, name, rng):
    fn, per_sample, pred_kind, target_kind = LOSSES[name]
    n, c = 5, 7
    pred = rng.uniform(0.05, 0.9, (n, c)).astype(dtype) if pred_kind == "probs" else make((n, c), dtype, rng)
    labels = rng.integers(0, c, n)
    target = {"labels": labels, "onehot": np.eye(c, dtype=dtype)[labels],
              "binary": (rng.random((n, c)) < 0.5).astype(dtype), "dense": make((n, c), dtype, rng)}[target_kind]
    pred[2, 3] = NAN
    loss, grad = backend.call(fn, pred, target, reduction="none")
    with np.errstate(invalid="ignore"):
        assert_same_nan(loss, per_sample(pred, target), dtype, f"{name} loss")
    grad = host(grad)
    assert np.isnan(grad[2, 3]), f"{name}: the NaN's gradient is {grad[2, 3]}, not NaN"
    assert np.isfinite(np.delete(grad, 2, axis=0)).all(), f"{name}: a NaN leaked into other samples' gradients"
    total, _ = backend.call(fn, pred, target)
    assert np.isnan(float(host(total))), f"{name}: the mean over a batch holding a NaN is {float(host(total))}"


# ------------------------------------------------------------------------------------- max / min ops

@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_ops_return_nan_and_route_the_gradient_to_it(op):
    a = np.array([[1.0, NAN, 3.0, NAN], [4.0, 5.0, 6.0, 2.0]])
    t = dl.tensor(a, requires_grad=True)
    y = getattr(t, op)(axis=1)
    assert np.isnan(y.numpy()[0]) and y.numpy()[1] == (6.0 if op == "max" else 2.0)
    y.sum().backward()
    expected = np.array([[0.0, 0.5, 0.0, 0.5], [0, 0, 1.0, 0] if op == "max" else [0, 0, 0, 1.0]])
    np.testing.assert_array_equal(t.grad, expected)
    t = dl.tensor(a, requires_grad=True)
    y = getattr(t, op)()
    assert np.isnan(y.item())
    y.backward()
    np.testing.assert_array_equal(t.grad, [[0, 0.5, 0, 0.5], [0, 0, 0, 0]])


# ----------------------------------------------------------------------------------------- metrics

@pytest.mark.parametrize("metric, y_true, y_pred", [
    ("accuracy", np.array([0, 1, 1]), np.array([[0.9, 0.1], [0.2, NAN], [0.3, 0.7]])),
    ("categorical_accuracy", np.eye(2)[[0, 1, 1]], np.array([[0.9, 0.1], [NAN, 0.4], [0.3, 0.7]])),
    ("sparse_categorical_accuracy", np.array([0, 1, 1]), np.array([[0.9, 0.1], [0.2, NAN], [0.3, 0.7]])),
    ("binary_accuracy", np.array([[0.0], [0.0], [1.0]]), np.array([[0.2], [NAN], [0.9]])),
    ("mse", np.zeros((3, 2)), np.array([[0.0, 1.0], [NAN, 0.0], [1.0, 1.0]])),
    ("precision", np.array([0.0, 0.0, 1.0]), np.array([0.2, NAN, 0.9])),
    ("recall", np.array([0.0, 1.0, 1.0]), np.array([0.2, NAN, 0.9])),
])
def test_metrics_turn_nan_on_a_nan_prediction(metric, y_true, y_pred):
    # argmax and `> threshold` used to read a NaN as some class (a binary NaN counted as a right 0)
    m = dl.metrics.get(metric)
    m.update_state(y_true, y_pred)
    assert np.isnan(m.result()), f"{metric}: {m.result()}"
    m.reset_state()
    m.update_state(y_true, np.nan_to_num(y_pred, nan=0.0))
    assert np.isfinite(m.result())


def test_training_on_nan_data_reports_nan_loss_and_metrics():
    model = dl.Sequential([dl.layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.ones((8, 4), np.float32)
    x[3, 1] = NAN
    loss, acc = model.evaluate(x, np.zeros(8, np.int64))
    assert np.isnan(loss) and np.isnan(acc)
