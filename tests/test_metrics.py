"""Metrics with Keras's semantics: stateful update_state / result / reset_state over several batches
with sample weights, against float64 references written from Keras's definitions
(tests/reference.py) and against Keras 3 itself where it is installed."""
import os

import numpy as np
import pytest

import dlcore as dl
import reference as ref
from harness import assert_allclose

M = dl.metrics


def _batches(seed=0, n=40, classes=None):
    rng = np.random.default_rng(seed)
    if classes is None:
        y = rng.integers(0, 2, (n, 1)).astype(float)
        p = np.clip(y * 0.3 + rng.uniform(0, 0.7, (n, 1)), 0, 1)
    else:
        y = np.eye(classes)[rng.integers(0, classes, n)]
        p = rng.uniform(0, 1, (n, classes)) + y * 0.3
    w = rng.uniform(0, 2, n)
    return [(y[: n // 2], p[: n // 2], w[: n // 2]), (y[n // 2:], p[n // 2:], w[n // 2:])]


def _fed(metric, batches, weighted=True):
    metric.reset_state()
    for y, p, w in batches:
        metric.update_state(y, p, sample_weight=w if weighted else None)
    return metric.result()


def _all(batches):
    return [np.concatenate(parts) for parts in zip(*batches)]


@pytest.mark.parametrize("curve, summation", [("ROC", "interpolation"), ("ROC", "minoring"), ("ROC", "majoring"),
                                              ("PR", "interpolation"), ("PR", "minoring"), ("PR", "majoring")])
@pytest.mark.parametrize("num_thresholds", [2, 7, 200])
def test_auc_against_reference(curve, summation, num_thresholds):
    batches = _batches(1)
    y, p, w = _all(batches)
    got = _fed(M.AUC(num_thresholds=num_thresholds, curve=curve, summation_method=summation), batches)
    assert got == pytest.approx(ref.auc(y, p, num_thresholds, curve, summation, w), rel=1e-12, abs=1e-15)


def test_auc_of_a_perfect_and_a_reversed_ranking():
    y = np.array([0, 0, 1, 1])
    assert M.AUC()(y, np.array([0.1, 0.2, 0.8, 0.9])) == pytest.approx(1.0)
    assert M.AUC()(y, np.array([0.9, 0.8, 0.2, 0.1])) == pytest.approx(0.0, abs=1e-12)
    assert M.AUC(from_logits=True)(y, np.array([-3.0, -1.0, 2.0, 4.0])) == pytest.approx(1.0)


@pytest.mark.parametrize("thresholds, top_k, class_id", [(None, None, None), ([0.2, 0.5, 0.9], None, None),
                                                         (None, 2, None), (None, None, 1), (0.7, 1, 2)])
def test_precision_recall_against_reference(thresholds, top_k, class_id):
    batches = _batches(2, classes=4)
    y, p, w = _all(batches)
    p = p / p.max()
    batches = [(y[:20], p[:20], w[:20]), (y[20:], p[20:], w[20:])]
    if top_k is not None:
        kth = -np.sort(-p, axis=1)[:, top_k - 1:top_k]
        p_eff = np.where(p >= kth, p, -1e10)
    else:
        p_eff = p
    yy, pp, ww = y, p_eff, np.broadcast_to(w[:, None], y.shape)
    if class_id is not None:
        yy, pp, ww = yy[:, class_id], pp[:, class_id], ww[:, class_id]
    ths = [0.5 if top_k is None else -1e10] if thresholds is None else (
        thresholds if isinstance(thresholds, list) else [thresholds])
    tp, fp, tn, fn = ref.confusion_at(yy, pp, ths, ww)
    precision, recall = _fed(M.Precision(thresholds, top_k, class_id), batches), \
        _fed(M.Recall(thresholds, top_k, class_id), batches)
    expected_p, expected_r = tp / (tp + fp), tp / (tp + fn)
    if not isinstance(thresholds, list):
        expected_p, expected_r = expected_p[0], expected_r[0]
    assert_allclose(np.asarray(precision), expected_p, np.float64)
    assert_allclose(np.asarray(recall), expected_r, np.float64)


def test_confusion_counts():
    batches = _batches(3)
    y, p, w = _all(batches)
    tp, fp, tn, fn = ref.confusion_at(y, p, [0.3, 0.6], np.broadcast_to(w[:, None], y.shape))
    for cls, expected in ((M.TruePositives, tp), (M.FalsePositives, fp), (M.TrueNegatives, tn),
                          (M.FalseNegatives, fn)):
        assert_allclose(np.asarray(_fed(cls(thresholds=[0.3, 0.6]), batches)), expected, np.float64)
    assert _fed(M.TruePositives(), batches, weighted=False) == float(((p > 0.5) & (y == 1)).sum())


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("beta, threshold", [(1.0, None), (2.0, None), (0.5, 0.6)])
def test_fbeta_against_reference(average, beta, threshold):
    batches = _batches(4, classes=3)
    y, p, w = _all(batches)
    p = p / p.max()
    batches = [(y[:20], p[:20], w[:20]), (y[20:], p[20:], w[20:])]
    got = _fed(M.FBetaScore(average=average, beta=beta, threshold=threshold), batches)
    assert_allclose(np.asarray(got), ref.fbeta(y, p, beta, average, threshold, w), np.float64)
    if beta == 1.0:
        f1 = _fed(M.F1Score(average=average, threshold=threshold), batches)
        assert_allclose(np.asarray(f1), np.asarray(got), np.float64)


@pytest.mark.parametrize("aggregation", ["uniform_average", "variance_weighted_average", None])
@pytest.mark.parametrize("num_regressors", [0, 3])
def test_r2_against_reference(aggregation, num_regressors):
    rng = np.random.default_rng(5)
    y = rng.standard_normal((30, 3)) * [1.0, 2.0, 0.5]
    p = y + rng.standard_normal((30, 3)) * 0.5
    w = rng.uniform(0.1, 2, 30)
    batches = [(y[:10], p[:10], w[:10]), (y[10:], p[10:], w[10:])]
    got = _fed(M.R2Score(aggregation, num_regressors), batches)
    assert_allclose(np.asarray(got), ref.r2(y, p, w, aggregation, num_regressors), np.float64)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_top_k_against_reference(k):
    batches = _batches(6, classes=4)
    y, p, w = _all(batches)
    labels = y.argmax(1)
    hits = ref.in_top_k(labels, p, k)
    expected = (hits * w).sum() / w.sum()
    assert _fed(M.TopKCategoricalAccuracy(k=k), batches) == pytest.approx(expected, rel=1e-12)
    sparse = [(b[0].argmax(1), b[1], b[2]) for b in batches]
    assert _fed(M.SparseTopKCategoricalAccuracy(k=k), sparse) == pytest.approx(expected, rel=1e-12)
    ids = [(b[0].argmax(1), np.argsort(-b[1], axis=1), b[2]) for b in batches]
    assert _fed(M.SparseTopKCategoricalAccuracy(k=k, from_sorted_ids=True), ids) == pytest.approx(expected, rel=1e-12)


def test_ties_count_as_in_the_top_k():
    assert M.sparse_top_k_categorical_accuracy(np.array([0]), np.array([[0.5, 0.5, 0.5]]), k=1)[0] == 1.0


def test_rmse_and_call_updates_the_state():
    m = M.RootMeanSquaredError()
    assert m(np.zeros((2, 1)), np.array([[3.0], [4.0]])) == pytest.approx(np.sqrt(12.5))
    assert m(np.zeros((1, 1)), np.array([[0.0]])) == pytest.approx(np.sqrt(25 / 3))  # Keras 3: __call__ accumulates
    m.reset_state()
    assert m.result() == 0.0


@pytest.mark.parametrize("metric", [M.AUC(curve="PR", num_thresholds=50, multi_label=True, label_weights=[1, 2]),
                                    M.Precision(thresholds=[0.1, 0.5], top_k=2), M.Recall(class_id=1),
                                    M.F1Score(average="weighted", threshold=0.4), M.FBetaScore(beta=0.5),
                                    M.R2Score("variance_weighted_average", 2), M.TopKCategoricalAccuracy(k=3),
                                    M.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True),
                                    M.TruePositives(thresholds=[0.2]), M.RootMeanSquaredError()])
def test_config_round_trip(metric):
    again = type(metric).from_config(metric.get_config())
    assert again.get_config() == metric.get_config()


def test_names_and_compile():
    for name, cls in (("auc", M.AUC), ("precision", M.Precision), ("top_k_categorical_accuracy",
                                                                    M.TopKCategoricalAccuracy),
                      ("r2_score", M.R2Score), ("f1_score", M.F1Score), ("root_mean_squared_error",
                                                                         M.RootMeanSquaredError)):
        assert type(M.get(name)) is cls and M.get(name).name == name
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    model = dl.Sequential([dl.layers.Dense(1, activation="sigmoid", input_shape=(4,))])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["auc", M.Precision(), M.Recall()])
    history = model.fit(x, y, epochs=2, verbose=0)
    assert {"auc", "precision", "recall"} <= set(history.history)
    assert 0.0 <= history.history["auc"][-1] <= 1.0


def test_errors():
    with pytest.raises(ValueError, match="AUC: curve must be"):
        M.AUC(curve="XY")
    with pytest.raises(ValueError, match="AUC: num_thresholds must be an int > 1"):
        M.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="num_labels is needed only when multi_label=True"):
        M.AUC(num_labels=3)
    with pytest.raises(ValueError, match="Precision: thresholds must be numbers in"):
        M.Precision(thresholds=[0.5, 2.0])
    with pytest.raises(ValueError, match="Precision: top_k must be a positive int"):
        M.Precision(top_k=0)
    with pytest.raises(ValueError, match="F1Score: average must be"):
        M.F1Score(average="samples")
    with pytest.raises(ValueError, match="must be .batch, classes. of the same shape"):
        M.F1Score().update_state(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="R2Score: class_aggregation"):
        M.R2Score(class_aggregation="mean")
    with pytest.raises(ValueError, match="does not broadcast"):
        M.Precision().update_state(np.zeros((3, 1)), np.zeros((3, 1)), sample_weight=np.ones(4))


# ---- Keras 3 as an optional anchor --------------------------------------------------------------

@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


KERAS_CASES = [
    ("AUC", {}, None), ("AUC", {"curve": "PR"}, None), ("AUC", {"curve": "PR", "summation_method": "majoring"}, None),
    ("AUC", {"num_thresholds": 13, "summation_method": "minoring"}, None),
    ("AUC", {"thresholds": [0.1, 0.35, 0.6]}, None), ("AUC", {"curve": "PRGAIN"}, None),
    ("AUC", {"multi_label": True, "label_weights": [0.5, 1.0, 2.0]}, 3), ("AUC", {"label_weights": [1, 2, 3]}, 3),
    ("AUC", {"from_logits": True}, None),
    ("Precision", {"thresholds": [0.3, 0.5, 0.8]}, 3), ("Precision", {"top_k": 2}, 3),
    ("Recall", {"class_id": 2}, 3), ("Recall", {"top_k": 1, "thresholds": 0.4}, 3),
    ("TruePositives", {"thresholds": [0.3, 0.7]}, None), ("FalseNegatives", {}, None),
    ("TopKCategoricalAccuracy", {"k": 2}, 3), ("F1Score", {"average": "macro"}, 3), ("F1Score", {}, 3),
    ("FBetaScore", {"beta": 2.0, "average": "weighted", "threshold": 0.5}, 3), ("F1Score", {"average": "micro"}, 3),
    ("R2Score", {}, 3), ("R2Score", {"class_aggregation": "variance_weighted_average", "num_regressors": 2}, 3),
    ("RootMeanSquaredError", {}, 3),
]


@pytest.mark.parametrize("cls, kwargs, classes", KERAS_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(KERAS_CASES)])
def test_keras_anchor(keras, cls, kwargs, classes):
    batches = _batches(7, classes=classes)
    if kwargs.get("from_logits"):
        batches = [(y, (p - 0.5) * 6, w) for y, p, w in batches]
    elif cls != "R2Score" and cls != "RootMeanSquaredError":
        top = max(b[1].max() for b in batches)
        batches = [(y, p / top, w) for y, p, w in batches]
    batches = [(y.astype(np.float32), p.astype(np.float32), w.astype(np.float32)) for y, p, w in batches]
    theirs = getattr(keras.metrics, cls)(**kwargs)
    for y, p, w in batches:
        theirs.update_state(y, p, sample_weight=w)
    expected = keras.ops.convert_to_numpy(theirs.result())
    got = _fed(getattr(M, cls)(**kwargs), batches)
    # Keras keeps its counts and computes its results in float32
    assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64), np.float32, what=cls)


def test_keras_anchor_sparse_top_k(keras):
    batches = [(b[0].argmax(1), b[1].astype(np.float32), b[2]) for b in _batches(8, classes=5)]
    theirs = keras.metrics.SparseTopKCategoricalAccuracy(k=2)
    for y, p, w in batches:
        theirs.update_state(y, p, sample_weight=w)
    assert _fed(M.SparseTopKCategoricalAccuracy(k=2), batches) == pytest.approx(float(theirs.result()), rel=1e-6)
