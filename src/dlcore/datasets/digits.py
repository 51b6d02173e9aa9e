"""The UCI hand-written digits, bundled with dlcore (see README.md in this folder).

The file `data/digits.csv.gz` holds 1 797 lines of 65 integers: 64 pixels (8x8, row by row,
grey levels 0..16) and the label 0..9. It is parsed with NumPy only (no pickle).
"""
from __future__ import annotations

import gzip
import os

import numpy as np

_DATA = os.path.join(os.path.dirname(__file__), "data", "digits.csv.gz")
_N_IMAGES = 1797
_SPLIT_SEED = 20250101  # fixed: every user gets the same train/test split
_cache = {}


def _read_digits():
    """Return (images uint8 (1797, 8, 8), labels int64 (1797,)), read once per process."""
    if "raw" not in _cache:
        with gzip.open(_DATA, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.int64)
        if table.shape != (_N_IMAGES, 65):
            raise ValueError(f"load_digits: {_DATA} has shape {table.shape}, expected ({_N_IMAGES}, 65)")
        images = table[:, :64].reshape(-1, 8, 8).astype(np.uint8)
        labels = table[:, 64].astype(np.int64)
        _cache["raw"] = (images, labels)
    images, labels = _cache["raw"]
    return images.copy(), labels.copy()


def _interp_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) matrix of bilinear weights, pixel centres aligned (half-pixel convention).

    Output pixel i sits at input coordinate x = (i + 0.5) * n_in / n_out - 0.5; its value is
    (1 - t) * in[floor(x)] + t * in[floor(x) + 1] with t = x - floor(x), indices clamped at the edges.
    """
    m = np.zeros((n_out, n_in), dtype=np.float64)
    x = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    x = np.clip(x, 0.0, n_in - 1)
    lo = np.floor(x).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    t = x - lo
    m[np.arange(n_out), lo] += 1.0 - t
    m[np.arange(n_out), hi] += t
    return m


def resize_bilinear(images: np.ndarray, size) -> np.ndarray:
    """Resize a batch of NHWC (or NHW) images to `size` (an int or (height, width)), bilinearly.

    Separable: out = R @ image @ C^T, with R and C the row and column interpolation matrices.
    """
    images = np.asarray(images)
    squeeze = images.ndim == 3
    if squeeze:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"resize_bilinear: expected images of shape (N, H, W[, C]), got {images.shape}")
    h_out, w_out = (size, size) if np.isscalar(size) else tuple(size)
    rows = _interp_matrix(int(h_out), images.shape[1])
    cols = _interp_matrix(int(w_out), images.shape[2])
    out = np.einsum("ih,nhwc,jw->nijc", rows, images.astype(np.float64), cols, optimize=True)
    out = out.astype(np.float32)
    return out[..., 0] if squeeze else out


def _stratified_split(labels: np.ndarray, test_fraction: float, seed: int):
    """Indices (train, test): within each class, a seeded shuffle puts `test_fraction` in test."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        n_test = int(round(len(idx) * test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    train, test = np.concatenate(train), np.concatenate(test)
    # mix the classes so that unshuffled batches still see every digit
    return rng.permutation(train), rng.permutation(test)


def load_digits(size: int = 8, split: bool = True, test_fraction: float = 0.2):
    """The UCI hand-written digits: 1 797 images of 8x8 pixels, 16 grey levels, labels 0..9.

    Args:
        size: 8 for the original 8x8 images, or e.g. 28 for MNIST-shaped 28x28 images
            (bilinear upsampling done with NumPy).
        split: if True, return ((x_train, y_train), (x_test, y_test)) with a FIXED, seeded,
            stratified split (80 % train / 20 % test: 1 438 / 359 images), identical on every
            machine and run; if False, return (x, y) with all 1 797 images in file order.
        test_fraction: fraction of each class in the test set (default 0.2).

    Returns:
        images as float32 NHWC arrays (N, size, size, 1) with values in [0, 1], labels as int64.

    Data: UCI ML hand-written digits (E. Alpaydin, C. Kaynak, 1998), UCI Machine Learning
    Repository, licence CC BY 4.0, as distributed with scikit-learn (BSD-3-Clause).
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"load_digits: size must be a positive int (8 or 28), got {size!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"load_digits: test_fraction must be in (0, 1), got {test_fraction!r}")
    images, labels = _read_digits()
    x = images.astype(np.float32)[..., None] / 16.0
    if size != 8:
        x = np.clip(resize_bilinear(x, int(size)), 0.0, 1.0)
    if not split:
        return x, labels
    train, test = _stratified_split(labels, test_fraction, _SPLIT_SEED)
    return (x[train], labels[train]), (x[test], labels[test])
