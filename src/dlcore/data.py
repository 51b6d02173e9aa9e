"""Data loading and preprocessing: datasets, batching, splits, scaling and image augmentation.

Datasets, samplers and the DataLoader (with its worker processes) live in data_loader.py and
data_workers.py; they are imported here, where users find them (dl.data.DataLoader).

Everything here works on NumPy arrays (a dlcore Tensor is accepted and converted). Randomness
(shuffling, splits, augmentation) is seeded: pass `seed=` for a private, reproducible stream, or
leave it out to draw from dlcore's global generator, which `dl.manual_seed(n)` resets.

    ds = TensorDataset(x, y)
    for xb, yb in DataLoader(ds, batch_size=32, shuffle=True, seed=0):
        ...

EpochIterator is what fit / evaluate / predict iterate: arrays, a Dataset, a DataLoader or a
generator in, one epoch of (x, y, sample_weight) batches out per pass.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import _random
from .data_loader import (BatchSampler, DataLoader, Dataset, RandomSampler, Sampler, SequentialSampler, Subset,
                          SubsetRandomSampler, TensorDataset, WeightedRandomSampler, default_collate, get_worker_info,
                          to_numpy)
from .tensor import Tensor

__all__ = [
    "Dataset", "TensorDataset", "DataLoader", "EpochIterator", "train_test_split", "to_categorical",
    "StandardScaler", "MinMaxScaler", "normalize",
    "random_flip", "random_shift", "random_crop", "gaussian_noise",
    "RandomFlip", "RandomShift", "RandomCrop", "GaussianNoise", "Compose",
]
__all__ += ["Subset", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
            "BatchSampler", "default_collate", "get_worker_info", "to_numpy"]


# --------------------------------------------------------------------------------------------
# Random numbers
# --------------------------------------------------------------------------------------------

def global_rng() -> np.random.Generator:
    """The generator used when no seed is given: dlcore's global one (reset by dl.manual_seed)."""
    return _random.generator()


def _rng(seed=None) -> np.random.Generator:
    if seed is None:
        return global_rng()
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------------------------
# Epochs of batches for fit / evaluate / predict
# --------------------------------------------------------------------------------------------

def map_arrays(fn, x):
    """fn applied to an array, or to each array of a list / tuple / dict (several inputs or outputs)."""
    if isinstance(x, (list, tuple)):
        return [fn(v) for v in x]
    if isinstance(x, dict):
        return {k: fn(v) for k, v in x.items()}
    return fn(x)


def num_samples(x) -> int:
    """The length of an array, or of the first array of a list / tuple / dict."""
    first = x[0] if isinstance(x, (list, tuple)) else next(iter(x.values())) if isinstance(x, dict) else x
    return len(first)


def _take(x, idx):
    return map_arrays(lambda a: a[idx], x)


def _is_batch_source(x) -> bool:
    """A loader or generator of batches (anything iterable that is not arrays)."""
    return hasattr(x, "__next__") or (hasattr(x, "__iter__") and not isinstance(x, (np.ndarray, Tensor, list, tuple,
                                                                                   dict)))


def is_array_data(x) -> bool:
    """True for arrays (or lists / tuples / dicts of them), False for datasets, loaders and generators."""
    return not (isinstance(x, (Dataset, DataLoader)) or _is_batch_source(x))


def unpack_batch(batch):
    """(x, y, sample_weight) from a batch given as (x, y), (x, y, sample_weight), (x,) or x."""
    if isinstance(batch, (list, tuple)) and len(batch) in (1, 2, 3):
        return tuple(batch) + (None,) * (3 - len(batch))
    return batch, None, None


def class_weights_to_sample_weights(y, class_weight: dict) -> np.ndarray:
    """One weight per sample, class_weight[label], the labels read from integer or one-hot targets y
    (Keras: the argmax of one-hot rows, else the rounded value). Classes missing from class_weight
    weigh 1. Keys must be class indices >= 0 and values finite numbers: a key of -1 would otherwise
    reweigh the last class, silently."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be a dict {{class index: weight}}, got {type(class_weight).__name__}")
    weights = {}
    for k, v in class_weight.items():
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
            raise ValueError(f"class_weight: keys must be class indices (ints >= 0), got {k!r}")
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0:
            raise ValueError(f"class_weight: weights must be finite numbers >= 0, got {v!r} for class {k}")
        weights[int(k)] = float(v)
    y = to_numpy(y[0] if isinstance(y, (list, tuple)) else y)
    if y.ndim == 0 or (y.dtype.kind not in "iub" and y.dtype.kind != "f"):
        raise ValueError(f"class_weight: the targets must be class indices or one-hot rows, got an array of "
                         f"shape {y.shape} and dtype {y.dtype}")
    labels = y.argmax(axis=-1) if (y.ndim >= 2 and y.shape[-1] > 1) else y.reshape(len(y), -1)[:, 0]
    labels = np.asarray(labels)
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all():
            raise ValueError("class_weight: the targets hold NaN or infinity, which is no class")
        labels = np.round(labels)
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"class_weight: the targets hold the negative class index {int(labels.min())}")
    out = np.ones(labels.shape, np.float32)  # no table indexed by label: a label of 10**9 allocates nothing
    for k, v in weights.items():
        out[labels == k] = v
    return out


def train_validation_split(x, y, sample_weight, validation_split: float):
    """((x, y, sample_weight) to train on, validation_data): the LAST samples validate, like Keras."""
    if not is_array_data(x):
        raise ValueError("fit: validation_split needs array inputs; give validation_data for loaders")
    x, y = map_arrays(to_numpy, x), map_arrays(to_numpy, y)
    n = num_samples(x)
    n_val = int(math.floor(n * validation_split))
    if n_val == 0 or n_val == n:
        raise ValueError(f"fit: validation_split={validation_split} of {n} samples leaves an empty part")
    split = n - n_val  # taken before shuffling
    validation_data = (_take(x, slice(split, None)), _take(y, slice(split, None)))
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight).reshape(-1)
        validation_data = validation_data + (sample_weight[split:],)
        sample_weight = sample_weight[:split]
    return (_take(x, slice(0, split)), _take(y, slice(0, split)), sample_weight), validation_data


class EpochIterator:
    """The (x, y, sample_weight) batches of one epoch, each time it is iterated.

    x: arrays (a list / tuple / dict of them for several inputs) with y and sample_weight, batched
    here and reshuffled at each epoch (dlcore's global generator) when shuffle=True; a Dataset
    (wrapped in a DataLoader); a DataLoader or any sized iterable of batches; or a generator of
    batches (an epoch is steps_per_epoch batches, or the whole generator, once). class_weight
    ({class: weight}) multiplies each sample's weight by its class's. num_batches: batches per
    epoch (None when unknown). `what` names the caller in error messages.
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, steps_per_epoch=None, shuffle=False,
                 class_weight=None, what="fit"):
        self.what, self._class_weight = what, class_weight
        if isinstance(x, Dataset):
            x = DataLoader(x, batch_size=batch_size, shuffle=shuffle)
        if isinstance(x, DataLoader) or (_is_batch_source(x) and hasattr(x, "__len__")):
            self.num_batches = steps_per_epoch if steps_per_epoch is not None else len(x)
            self._make = lambda: (unpack_batch(b) for b in x)
        elif _is_batch_source(x):
            self.num_batches = steps_per_epoch
            self._make = self._from_generator(iter(x), steps_per_epoch)
        else:
            self._make = self._from_arrays(x, y, sample_weight, batch_size, steps_per_epoch, shuffle)

    def _from_arrays(self, x, y, sample_weight, batch_size, steps, shuffle):
        x, y = map_arrays(to_numpy, x), None if y is None else map_arrays(to_numpy, y)
        n = num_samples(x)
        if y is not None and n != num_samples(y):
            raise ValueError(f"{self.what}: x has {n} samples but y has {num_samples(y)}")
        sw = None if sample_weight is None else np.asarray(sample_weight, np.float32).reshape(-1)
        if sw is not None and len(sw) != n:
            raise ValueError(f"{self.what}: sample_weight has {len(sw)} entries for {n} samples")
        if self._class_weight is not None:  # arrays: weighed once, not per batch
            cw = class_weights_to_sample_weights(y, self._class_weight)
            sw, self._class_weight = (cw if sw is None else sw * cw), None
        self.num_batches = -(-n // batch_size) if steps is None else min(-(-n // batch_size), steps)

        def epoch():
            order = global_rng().permutation(n) if shuffle else None
            for step, start in enumerate(range(0, n, batch_size)):
                if step >= self.num_batches:
                    return
                idx = order[start:start + batch_size] if shuffle else slice(start, start + batch_size)
                yield _take(x, idx), None if y is None else _take(y, idx), None if sw is None else sw[idx]
        return epoch

    def _from_generator(self, it, steps):
        def take():
            for _ in range(steps):
                try:
                    b = next(it)
                except StopIteration:
                    return
                yield unpack_batch(b)

        def once():  # a finite generator without steps: one pass is one epoch
            if self._used:
                raise ValueError(f"{self.what}: a generator without steps_per_epoch can only feed one epoch; "
                                 "give steps_per_epoch= or use a DataLoader")
            self._used = True
            return (unpack_batch(b) for b in it)
        self._used = False
        return take if steps is not None else once

    def __iter__(self):
        for xb, yb, swb in self._make():
            if self._class_weight is not None:  # batches from a loader or generator: weighed one by one
                cw = class_weights_to_sample_weights(yb, self._class_weight)
                swb = cw if swb is None else np.asarray(swb, np.float32).reshape(-1) * cw
            yield xb, yb, swb


def train_test_split(*arrays, test_size=0.2, shuffle: bool = True, seed=None, stratify=None):
    """Split arrays (same first dimension) into train and test parts, like scikit-learn's.

    Returns [a_train, a_test, b_train, b_test, ...]. test_size is a fraction in (0, 1) or a count.
    With stratify=labels, each class is split in the same proportion.
    """
    if not arrays:
        raise ValueError("train_test_split: need at least one array")
    arrays = [to_numpy(a) for a in arrays]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"train_test_split: arrays have different lengths {[len(a) for a in arrays]}")
    if isinstance(test_size, float):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"train_test_split: a float test_size must be in (0, 1), got {test_size}")
        frac = test_size
    elif isinstance(test_size, numbers.Integral) and 0 < test_size < n:
        frac = test_size / n
    else:
        raise ValueError(f"train_test_split: test_size must be a fraction in (0, 1) or a count in [1, {n - 1}], "
                         f"got {test_size!r}")
    rng = _rng(seed)
    if stratify is not None:
        labels = to_numpy(stratify)
        if len(labels) != n:
            raise ValueError(f"train_test_split: stratify has {len(labels)} labels for {n} samples")
        train, test = [], []
        for c in np.unique(labels):
            idx = np.flatnonzero(labels == c)
            if shuffle:
                rng.shuffle(idx)
            k = int(round(len(idx) * frac))
            test.append(idx[:k])
            train.append(idx[k:])
        train, test = np.concatenate(train), np.concatenate(test)
        if shuffle:
            train, test = rng.permutation(train), rng.permutation(test)
        else:
            train, test = np.sort(train), np.sort(test)
    else:
        order = rng.permutation(n) if shuffle else np.arange(n)
        k = int(test_size) if isinstance(test_size, numbers.Integral) else int(round(n * frac))
        test, train = order[:k], order[k:]
    out = []
    for a in arrays:
        out += [a[train], a[test]]
    return out


def to_categorical(y, num_classes: int = None, dtype="float32") -> np.ndarray:
    """One-hot encode integer labels: shape (..., ) -> (..., num_classes)."""
    y = to_numpy(y)
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError("to_categorical: labels must be integers")
    y = y.astype(np.int64)
    if y.ndim >= 2 and y.shape[-1] == 1:
        y = y[..., 0]
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must be in [0, {num_classes}), got range "
                         f"[{int(y.min())}, {int(y.max())}]")
    out = np.zeros(y.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, y[..., None], 1, axis=-1)
    return out


# --------------------------------------------------------------------------------------------
# Scaling
# --------------------------------------------------------------------------------------------

class StandardScaler:
    """Remove the mean and scale to unit variance, per feature (the last axis, or `axis`).

    scaler = StandardScaler().fit(x_train); x_train = scaler.transform(x_train)
    Features with zero variance are left unscaled (divided by 1).
    """

    def __init__(self, axis=0, epsilon: float = 0.0):
        self.axis = axis
        self.epsilon = epsilon
        self.mean_ = None
        self.scale_ = None

    def fit(self, x):
        x = to_numpy(x).astype(np.float64)
        self.mean_ = x.mean(axis=self.axis, keepdims=True)
        std = x.std(axis=self.axis, keepdims=True)
        self.scale_ = np.where(std > 0, std + self.epsilon, 1.0)
        return self

    def _check(self):
        if self.mean_ is None:
            raise ValueError("StandardScaler: call fit(x) before transform")

    def transform(self, x):
        self._check()
        x = to_numpy(x)
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
        return ((x - self.mean_) / self.scale_).astype(dtype)

    def fit_transform(self, x):
        return self.fit(x).transform(x)

    def inverse_transform(self, x):
        self._check()
        x = to_numpy(x)
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
        return (x * self.scale_ + self.mean_).astype(dtype)


class MinMaxScaler:
    """Scale each feature to [lo, hi] (default [0, 1]) from the range seen in fit."""

    def __init__(self, feature_range=(0.0, 1.0), axis=0):
        self.feature_range = feature_range
        self.axis = axis
        self.min_ = None
        self.range_ = None

    def fit(self, x):
        x = to_numpy(x).astype(np.float64)
        self.min_ = x.min(axis=self.axis, keepdims=True)
        rng = x.max(axis=self.axis, keepdims=True) - self.min_
        self.range_ = np.where(rng > 0, rng, 1.0)
        return self

    def transform(self, x):
        if self.min_ is None:
            raise ValueError("MinMaxScaler: call fit(x) before transform")
        x = to_numpy(x)
        lo, hi = self.feature_range
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
        return ((x - self.min_) / self.range_ * (hi - lo) + lo).astype(dtype)

    def fit_transform(self, x):
        return self.fit(x).transform(x)

    def inverse_transform(self, x):
        lo, hi = self.feature_range
        x = to_numpy(x)
        return ((x - lo) / (hi - lo) * self.range_ + self.min_).astype(x.dtype)


def normalize(x, axis: int = -1, order: int = 2, epsilon: float = 1e-12):
    """Scale x so that each slice along `axis` has unit L-`order` norm (zero slices stay zero)."""
    x = to_numpy(x)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return (x / np.maximum(norm, epsilon)).astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32)


# --------------------------------------------------------------------------------------------
# Image augmentation (NHWC batches)
# --------------------------------------------------------------------------------------------

def _check_nhwc(images, name):
    images = to_numpy(images)
    if images.ndim != 4:
        raise ValueError(f"{name}: expected an NHWC batch of shape (N, H, W, C), got {images.shape}")
    return images


def random_flip(images, mode: str = "horizontal", seed=None):
    """Flip each image left-right ('horizontal'), up-down ('vertical') or both, with probability 1/2."""
    images = _check_nhwc(images, "random_flip")
    if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
        raise ValueError(f"random_flip: mode must be 'horizontal', 'vertical' or 'horizontal_and_vertical', got {mode!r}")
    rng = _rng(seed)
    out = images.copy()
    n = len(images)
    if mode in ("horizontal", "horizontal_and_vertical"):
        m = rng.random(n) < 0.5
        out[m] = out[m][:, :, ::-1]
    if mode in ("vertical", "horizontal_and_vertical"):
        m = rng.random(n) < 0.5
        out[m] = out[m][:, ::-1]
    return out


def random_shift(images, max_shift=2, fill: float = 0.0, seed=None):
    """Translate each image by a random whole number of pixels in [-max_shift, max_shift] per axis.

    max_shift is pixels (int) or a fraction of the size (float < 1); vacated pixels get `fill`.
    """
    images = _check_nhwc(images, "random_shift")
    n, h, w, _ = images.shape
    if isinstance(max_shift, float) and max_shift < 1:
        sy, sx = int(round(max_shift * h)), int(round(max_shift * w))
    else:
        sy = sx = int(max_shift)
    if sy < 0 or sx < 0:
        raise ValueError(f"random_shift: max_shift must be >= 0, got {max_shift!r}")
    rng = _rng(seed)
    dy = rng.integers(-sy, sy + 1, size=n)
    dx = rng.integers(-sx, sx + 1, size=n)
    # pad once, then cut each image's window out of the padded batch
    padded = np.pad(images, ((0, 0), (sy, sy), (sx, sx), (0, 0)), constant_values=fill)
    out = np.empty_like(images)
    for i in range(n):
        y0, x0 = sy - dy[i], sx - dx[i]
        out[i] = padded[i, y0:y0 + h, x0:x0 + w]
    return out


def random_crop(images, size, padding: int = 0, fill: float = 0.0, seed=None):
    """Cut a random (height, width) window from each image, after padding each side by `padding`."""
    images = _check_nhwc(images, "random_crop")
    ch, cw = (size, size) if np.isscalar(size) else tuple(size)
    n, h, w, _ = images.shape
    if padding:
        images = np.pad(images, ((0, 0), (padding, padding), (padding, padding), (0, 0)), constant_values=fill)
        h, w = h + 2 * padding, w + 2 * padding
    if not (0 < ch <= h and 0 < cw <= w):
        raise ValueError(f"random_crop: crop size {(ch, cw)} does not fit images of size {(h, w)}")
    rng = _rng(seed)
    ys = rng.integers(0, h - ch + 1, size=n)
    xs = rng.integers(0, w - cw + 1, size=n)
    out = np.empty((n, ch, cw, images.shape[3]), dtype=images.dtype)
    for i in range(n):
        out[i] = images[i, ys[i]:ys[i] + ch, xs[i]:xs[i] + cw]
    return out


def gaussian_noise(x, stddev: float = 0.1, seed=None, clip=None):
    """Add N(0, stddev^2) noise; clip=(lo, hi) clips the result."""
    x = to_numpy(x)
    if stddev < 0:
        raise ValueError(f"gaussian_noise: stddev must be >= 0, got {stddev}")
    rng = _rng(seed)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
    out = (x + rng.normal(0.0, stddev, size=x.shape)).astype(dtype)
    return np.clip(out, *clip) if clip is not None else out


class _Augmentation:
    """Callable form of an augmentation, usable as DataLoader(transform=...): aug(x, rng)."""

    def __call__(self, x, rng=None):
        return self.apply(x, rng)


class RandomFlip(_Augmentation):
    def __init__(self, mode="horizontal"):
        self.mode = mode

    def apply(self, x, rng):
        return random_flip(x, self.mode, seed=rng)


class RandomShift(_Augmentation):
    def __init__(self, max_shift=2, fill=0.0):
        self.max_shift, self.fill = max_shift, fill

    def apply(self, x, rng):
        return random_shift(x, self.max_shift, self.fill, seed=rng)


class RandomCrop(_Augmentation):
    def __init__(self, size, padding=0, fill=0.0):
        self.size, self.padding, self.fill = size, padding, fill

    def apply(self, x, rng):
        return random_crop(x, self.size, self.padding, self.fill, seed=rng)


class GaussianNoise(_Augmentation):
    def __init__(self, stddev=0.1, clip=None):
        self.stddev, self.clip = stddev, clip

    def apply(self, x, rng):
        return gaussian_noise(x, self.stddev, seed=rng, clip=self.clip)


class Compose(_Augmentation):
    """Apply augmentations in order: Compose([RandomShift(2), GaussianNoise(0.05)])."""

    def __init__(self, augmentations):
        self.augmentations = list(augmentations)

    def apply(self, x, rng):
        for a in self.augmentations:
            x = a(x, rng)
        return x
