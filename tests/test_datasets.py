"""The bundled UCI digits: content, the fixed split, and the NumPy bilinear resize."""
import hashlib

import numpy as np
import pytest

from dlcore import datasets
from dlcore.datasets.digits import _interp_matrix


def test_digits_shapes_dtypes_and_range():
    (x_train, y_train), (x_test, y_test) = datasets.load_digits()
    assert x_train.shape == (1438, 8, 8, 1) and x_test.shape == (359, 8, 8, 1)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    # 16 grey levels: every value is k / 16
    assert np.array_equal(x_train * 16, np.round(x_train * 16))
    assert set(np.unique(y_train)) == set(range(10))


def test_digits_all_and_known_content():
    x, y = datasets.load_digits(split=False)
    assert x.shape == (1797, 8, 8, 1)
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # the first image of the file is a zero
    assert y[0] == 0
    assert (x[0, :, :, 0] * 16).astype(int)[0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]


def test_digits_split_is_fixed_stratified_and_disjoint():
    (a, ya), (b, yb) = datasets.load_digits()
    (a2, ya2), (b2, yb2) = datasets.load_digits()
    assert np.array_equal(a, a2) and np.array_equal(yb, yb2)
    # a checksum of the split pins it across versions and machines
    digest = hashlib.sha256(np.ascontiguousarray(yb).tobytes()).hexdigest()[:16]
    assert digest == _SPLIT_DIGEST
    counts_test = np.bincount(yb, minlength=10)
    counts_all = np.bincount(np.concatenate([ya, yb]), minlength=10)
    assert np.all(np.abs(counts_test - 0.2 * counts_all) <= 1)
    x, _ = datasets.load_digits(split=False)
    rows = {r.tobytes() for r in x.reshape(len(x), -1)}
    # the file has a few duplicate images; the split itself covers each image exactly once
    assert len(a) + len(b) == 1797 and len(rows) <= 1797


def test_digits_upsampled_to_28():
    (x28, y28), (t28, _) = datasets.load_digits(size=28)
    (x8, y8), _ = datasets.load_digits(size=8)
    assert x28.shape == (1438, 28, 28, 1) and t28.shape == (359, 28, 28, 1)
    assert np.array_equal(y28, y8)
    assert 0.0 <= x28.min() and x28.max() <= 1.0
    # bilinear resize keeps the average brightness close
    assert abs(x28.mean() - x8.mean()) < 0.02


@pytest.mark.parametrize("bad", [0, -1, 2.5, "8", True])
def test_digits_bad_size(bad):
    with pytest.raises(ValueError, match="size"):
        datasets.load_digits(size=bad)


def test_interp_matrix_rows_sum_to_one_and_identity():
    m = _interp_matrix(28, 8)
    np.testing.assert_allclose(m.sum(axis=1), 1.0)
    np.testing.assert_allclose(_interp_matrix(8, 8), np.eye(8))


def test_resize_bilinear_reference():
    rng = np.random.default_rng(0)
    img = rng.random((2, 5, 7, 3)).astype(np.float32)
    out = datasets.resize_bilinear(img, (9, 4))
    assert out.shape == (2, 9, 4, 3)
    # the same formula written as a plain loop (half-pixel centres, clamped edges)
    ref = np.zeros((2, 9, 4, 3))
    for i in range(9):
        y = min(max((i + 0.5) * 5 / 9 - 0.5, 0), 4)
        y0 = int(np.floor(y)); y1 = min(y0 + 1, 4); ty = y - y0
        for j in range(4):
            x = min(max((j + 0.5) * 7 / 4 - 0.5, 0), 6)
            x0 = int(np.floor(x)); x1 = min(x0 + 1, 6); tx = x - x0
            ref[:, i, j] = ((1 - ty) * (1 - tx) * img[:, y0, x0] + (1 - ty) * tx * img[:, y0, x1]
                            + ty * (1 - tx) * img[:, y1, x0] + ty * tx * img[:, y1, x1])
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    const = np.full((1, 8, 8, 1), 0.25, np.float32)
    np.testing.assert_allclose(datasets.resize_bilinear(const, 28), 0.25, rtol=1e-6)


_SPLIT_DIGEST = "d4b59a86ddd3f280"
