"""Building datasets from arrays, sequences and folders (Keras 3's dataset utilities).

    train, val = image_dataset_from_directory("photos/", validation_split=0.2, subset="both", seed=1,
                                              image_size=(64, 64))
    model.fit(train, validation_data=val, epochs=10)

The *_dataset_from_* helpers return a DataLoader of batches (reshuffled every epoch when
shuffle=True, reproducibly with seed=) -- or, with batch_size=None, the Dataset of single samples --
which fit / evaluate / predict take as they are; folder-based ones also carry `class_names` and
`file_paths`. Files are read lazily, one batch at a time (in worker processes if the DataLoader has
them). Images need Pillow (`pip install dlcore[image]`).
"""
from __future__ import annotations

import numbers
import os

import numpy as np

from . import _random
from .data_loader import DataLoader, Dataset, Subset, TensorDataset, to_numpy
from .image_utils import INTERPOLATIONS, aspect_window, load_img, resize, resize_matrix

__all__ = ["pad_sequences", "split_dataset", "timeseries_dataset_from_array", "image_dataset_from_directory",
           "text_dataset_from_directory"]

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pad (or cut) sequences to one length: a (num_samples, maxlen) array (Keras's pad_sequences).

    Args:
        sequences: a list of sequences (lists or arrays; each item a number or an array of one shape).
        maxlen: the output length (None: the longest sequence's).
        dtype: the output dtype (object for strings of any length).
        padding: 'pre' or 'post': pad before or after each sequence.
        truncating: 'pre' or 'post': drop the start or the end of sequences longer than maxlen.
        value: the padding value.

    Returns:
        An array of shape (len(sequences), maxlen) + item shape.

    Example:
    ```python
    import dlcore as dl
    out = dl.utils.pad_sequences([[1, 2, 3], [4, 5], [6]], maxlen=2)
    assert out.tolist() == [[2, 3], [4, 5], [0, 6]]
    ```
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences: 'sequences' must be a list of sequences, got {type(sequences).__name__}")
    for arg, v in (("padding", padding), ("truncating", truncating)):
        if v not in ("pre", "post"):
            raise ValueError(f"pad_sequences: '{arg}' must be 'pre' or 'post', got {v!r}")
    if maxlen is not None and (isinstance(maxlen, bool) or not isinstance(maxlen, numbers.Integral) or maxlen < 0):
        raise ValueError(f"pad_sequences: 'maxlen' must be an int >= 0 or None, got {maxlen!r}")
    lengths, item_shape = [], ()
    for i, s in enumerate(sequences):
        try:
            lengths.append(len(s))
        except TypeError:
            raise ValueError(f"pad_sequences: sequence {i} is a {type(s).__name__}, not a sequence") from None
        if len(s) and item_shape == ():
            item_shape = np.asarray(s[0]).shape
    maxlen = max(lengths, default=0) if maxlen is None else int(maxlen)
    is_text = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype), np.bytes_)
    if isinstance(value, str) and np.dtype(dtype) != object and not is_text:
        raise ValueError(f"pad_sequences: a string 'value' needs dtype=object or a string dtype, got dtype {dtype!r}")
    out = np.full((len(sequences), maxlen) + tuple(item_shape), value, dtype=dtype)
    for i, s in enumerate(sequences):
        if not len(s) or not maxlen:
            continue
        cut = np.asarray(s[-maxlen:] if truncating == "pre" else s[:maxlen], dtype=dtype)
        if cut.shape[1:] != tuple(item_shape):
            raise ValueError(f"pad_sequences: the items of sequence {i} have shape {cut.shape[1:]}, the others "
                             f"{tuple(item_shape)}")
        if padding == "post":
            out[i, :len(cut)] = cut
        else:
            out[i, maxlen - len(cut):] = cut
    return out


# --------------------------------------------------------------------------------------------
# splitting
# --------------------------------------------------------------------------------------------

def _as_dataset(dataset, where):
    if isinstance(dataset, Dataset):
        return dataset
    if isinstance(dataset, (tuple, list)):
        return TensorDataset(*dataset)
    if isinstance(dataset, DataLoader):
        raise TypeError(f"{where}: give the loader's dataset (loader.dataset), not the DataLoader")
    return TensorDataset(dataset)


def _count(value, n, arg, where):
    if value is None:
        return None
    if isinstance(value, float) and 0.0 < value < 1.0:
        return int(round(value * n))
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 < value < n:
        return int(value)
    raise ValueError(f"{where}: '{arg}' must be a fraction in (0, 1) or a count in [1, {n - 1}], got {value!r}")


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Split a dataset (or arrays) in two: (left, right) Datasets (Keras's split_dataset).

    Args:
        dataset: a Dataset, an array, or a tuple / list of arrays of the same length.
        left_size: the left part's fraction in (0, 1) or sample count (None: the rest of right_size).
        right_size: the right part's fraction or count (None: the rest of left_size).
        shuffle: shuffle the samples before splitting.
        seed: the shuffle's seed (None: dlcore's global generator).

    Returns:
        (left, right): TensorDatasets for arrays, Subsets of the dataset otherwise.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    left, right = dl.utils.split_dataset((np.arange(10), np.arange(10) * 2), left_size=0.8)
    assert len(left) == 8 and len(right) == 2 and right[0][1] == 16
    ```
    """
    where = "split_dataset"
    arrays = dataset if isinstance(dataset, (tuple, list)) else None
    ds = _as_dataset(dataset, where)
    n = len(ds)
    if n < 2:
        raise ValueError(f"{where}: need at least 2 samples to split, got {n}")
    left, right = _count(left_size, n, "left_size", where), _count(right_size, n, "right_size", where)
    if left is None and right is None:
        raise ValueError(f"{where}: give left_size or right_size")
    left = n - right if left is None else left
    right = n - left if right is None else right
    if left < 1 or right < 1 or left + right > n:
        raise ValueError(f"{where}: left_size={left_size!r} and right_size={right_size!r} make parts of {left} and "
                         f"{right} samples out of {n}")
    if shuffle:
        rng = np.random.default_rng(seed) if seed is not None else _random.generator()
        order = rng.permutation(n)
    else:
        order = np.arange(n)
    parts = order[:left], order[left:left + right]
    if arrays is not None or isinstance(ds, TensorDataset):
        source = ds.arrays
        return tuple(TensorDataset(*[a[idx] for a in source]) for idx in parts)
    return tuple(Subset(ds, idx) for idx in parts)


# --------------------------------------------------------------------------------------------
# time series
# --------------------------------------------------------------------------------------------

class TimeseriesDataset(Dataset):
    """Windows of `data`: sample i is data[start + p_i + k * sampling_rate for k < sequence_length]
    (and targets[start + p_i]), p_i = i * sequence_stride."""

    def __init__(self, data, targets, sequence_length, sequence_stride, sampling_rate, start, end):
        self.data, self.targets = data, targets
        self.sequence_length, self.sampling_rate, self.start = sequence_length, sampling_rate, start
        count = end - start - (sequence_length - 1) * sampling_rate
        if targets is not None:
            count = min(count, len(targets) - start)
        self.positions = np.arange(0, max(count, 0), sequence_stride)

    def __len__(self):
        return len(self.positions)

    def __getitem__(self, i):
        p = self.start + int(self.positions[i])
        window = self.data[p:p + self.sequence_length * self.sampling_rate:self.sampling_rate]
        return window if self.targets is None else (window, self.targets[p])


def _positive(value, arg, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{where}: '{arg}' must be a positive int, got {value!r}")
    return int(value)


def _batches(ds, batch_size, shuffle, seed, where):
    if batch_size is None:
        return ds
    return DataLoader(ds, batch_size=_positive(batch_size, "batch_size", where), shuffle=shuffle, seed=seed)


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1, batch_size=128,
                                  shuffle=False, seed=None, start_index=None, end_index=None):
    """Sliding windows over a time series, as batches (Keras's timeseries_dataset_from_array).

    Window i holds data[p + k * sampling_rate] for k < sequence_length, p = start_index + i *
    sequence_stride, for every window that ends before end_index; its target is targets[p].

    Args:
        data: an array (time steps first).
        targets: an array of targets aligned with data (None: windows only).
        sequence_length: the number of steps in a window.
        sequence_stride: the steps between the starts of consecutive windows.
        sampling_rate: the steps between two samples within a window.
        batch_size: windows per batch (None: return the Dataset of single windows).
        shuffle: shuffle the windows (again every epoch).
        seed: the shuffle's seed.
        start_index, end_index: use data[start_index:end_index] only.

    Returns:
        A DataLoader of (windows, targets) batches, windows of shape (batch, sequence_length, ...).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    loader = dl.utils.timeseries_dataset_from_array(np.arange(10), np.arange(10), sequence_length=3, batch_size=4)
    x, y = next(iter(loader))
    assert x.tolist()[:2] == [[0, 1, 2], [1, 2, 3]] and y.tolist()[:2] == [0, 1]
    ```
    """
    where = "timeseries_dataset_from_array"
    data = to_numpy(data)
    targets = None if targets is None else to_numpy(targets)
    n = len(data)
    sequence_length = _positive(sequence_length, "sequence_length", where)
    sequence_stride = _positive(sequence_stride, "sequence_stride", where)
    sampling_rate = _positive(sampling_rate, "sampling_rate", where)
    start = 0 if start_index is None else start_index
    end = n if end_index is None else end_index
    if isinstance(start, bool) or not isinstance(start, numbers.Integral) or not 0 <= start < n:
        raise ValueError(f"{where}: 'start_index' must be in [0, {n}), got {start_index!r}")
    if isinstance(end, bool) or not isinstance(end, numbers.Integral) or not start < end <= n:
        raise ValueError(f"{where}: 'end_index' must be in ({start}, {n}], got {end_index!r}")
    if targets is not None and len(targets) != n:
        raise ValueError(f"{where}: data has {n} steps but targets has {len(targets)}")
    ds = TimeseriesDataset(data, targets, sequence_length, sequence_stride, sampling_rate, int(start), int(end))
    if len(ds) == 0:
        raise ValueError(f"{where}: no window of {sequence_length} steps (sampling_rate {sampling_rate}) fits in "
                         f"data[{start}:{end}]")
    return _batches(ds, batch_size, shuffle, seed, where)


# --------------------------------------------------------------------------------------------
# folders of files
# --------------------------------------------------------------------------------------------

def _files(folder, formats, follow_links):
    out = []
    for root, dirs, names in os.walk(folder, followlinks=follow_links):
        dirs.sort()
        out += [os.path.join(root, f) for f in sorted(names) if f.lower().endswith(formats)]
    return out


def index_directory(directory, labels, formats, class_names, follow_links, where):
    """(file paths, int labels or None, class names) of the files under `directory` (Keras's layout: one
    sub-folder per class with labels='inferred')."""
    if not os.path.isdir(directory):
        raise ValueError(f"{where}: 'directory' {directory!r} is not a folder")
    if labels == "inferred":
        subdirs = sorted(d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)))
        if class_names is not None:
            if sorted(class_names) != sorted(set(class_names)) or set(class_names) - set(subdirs):
                raise ValueError(f"{where}: 'class_names' {list(class_names)} must name distinct sub-folders of "
                                 f"{directory} (found {subdirs})")
            subdirs = list(class_names)
        paths, ints = [], []
        for k, d in enumerate(subdirs):
            found = _files(os.path.join(directory, d), formats, follow_links)
            paths += found
            ints += [k] * len(found)
        return paths, np.asarray(ints, np.int64), list(subdirs)
    if class_names is not None:
        raise ValueError(f"{where}: 'class_names' is only used with labels='inferred'")
    paths = sorted(_files(directory, formats, follow_links))
    if labels is None:
        return paths, None, None
    if not isinstance(labels, (list, tuple, np.ndarray)):
        raise ValueError(f"{where}: 'labels' must be 'inferred', None, or a list of one label per file, got {labels!r}")
    if len(labels) != len(paths):
        raise ValueError(f"{where}: {len(labels)} labels for {len(paths)} files found in {directory} (sorted by path)")
    return paths, np.asarray(labels), None


def _label_array(ints, label_mode, num_classes, where):
    if label_mode == "int":
        return ints.astype(np.int32)
    if label_mode == "categorical":
        out = np.zeros((len(ints), num_classes), np.float32)
        out[np.arange(len(ints)), ints.astype(np.int64)] = 1.0
        return out
    if num_classes != 2:
        raise ValueError(f"{where}: label_mode='binary' needs exactly 2 classes, found {num_classes}")
    return ints.astype(np.float32).reshape(-1, 1)


def _select(paths, validation_split, subset, shuffle, seed, where, verbose, class_names):
    if validation_split is not None:
        if not (isinstance(validation_split, float) and 0.0 < validation_split < 1.0):
            raise ValueError(f"{where}: 'validation_split' must be a float in (0, 1), got {validation_split!r}")
        if subset not in ("training", "validation", "both"):
            raise ValueError(f"{where}: with validation_split, 'subset' must be 'training', 'validation' or 'both', "
                             f"got {subset!r}")
        if shuffle and seed is None:
            raise ValueError(f"{where}: with validation_split and shuffle=True, give a seed so that the training and "
                             f"validation subsets do not overlap")
    elif subset is not None:
        raise ValueError(f"{where}: 'subset' needs validation_split")
    n = len(paths)
    if n == 0:
        raise ValueError(f"{where}: no file found")
    if verbose:
        print(f"Found {n} files" + (f" belonging to {len(class_names)} classes." if class_names else "."))
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    if validation_split is None:
        return [order]
    n_val = int(validation_split * n)
    if n_val == 0 or n_val == n:
        raise ValueError(f"{where}: validation_split={validation_split} of {n} files leaves an empty subset")
    parts = {"training": order[:n - n_val], "validation": order[n - n_val:]}
    names = ["training", "validation"] if subset == "both" else [subset]
    if verbose:
        for name in names:
            print(f"Using {len(parts[name])} files for {name}.")
    return [parts[name] for name in names]


class FileDataset(Dataset):
    """Samples read from files one by one: (content, label) or content."""

    def __init__(self, paths, labels, read):
        self.paths, self.labels, self.read = list(paths), labels, read

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        x = self.read(self.paths[i])
        return x if self.labels is None else (x, self.labels[i])


class ReadImage:
    """Reads one image file as float32 (height, width, channels), resized as image_dataset_from_directory says."""

    def __init__(self, color_mode, size, interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio):
        self.color_mode, self.size, self.interpolation = color_mode, size, interpolation
        self.crop, self.pad = crop_to_aspect_ratio, pad_to_aspect_ratio

    def __call__(self, path):
        img = load_img(path, self.color_mode).astype(np.float32)
        th, tw = self.size
        h, w = img.shape[:2]
        if self.crop:
            top, left, h, w = aspect_window(h, w, th, tw)
            img = img[top:top + h, left:left + w]
        elif self.pad:
            ph, pw = max(h, int(round(w * th / tw))), max(w, int(round(h * tw / th)))
            canvas = np.zeros((ph, pw, img.shape[2]), np.float32)
            canvas[(ph - h) // 2:(ph - h) // 2 + h, (pw - w) // 2:(pw - w) // 2 + w] = img
            img, h, w = canvas, ph, pw
        if (h, w) == (th, tw):
            return img
        return resize(img[None], resize_matrix(th, h, self.interpolation), resize_matrix(tw, w, self.interpolation))[0]


class ReadText:
    """Reads one text file (UTF-8), cut to max_length characters."""

    def __init__(self, max_length):
        self.max_length = max_length

    def __call__(self, path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return text if self.max_length is None else text[:self.max_length]


def _from_directory(where, directory, labels, label_mode, class_names, formats, follow_links, batch_size, shuffle,
                    seed, validation_split, subset, verbose, read):
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f"{where}: 'label_mode' must be 'int', 'categorical', 'binary' or None, got {label_mode!r}")
    if labels is None and label_mode is not None:
        label_mode = None  # Keras: no labels, no label mode
    if labels not in ("inferred", None) and label_mode is None:
        raise ValueError(f"{where}: explicit 'labels' need a label_mode")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"{where}: 'seed' must be an int or None, got {seed!r}")
    paths, ints, names = index_directory(directory, labels, formats, class_names, follow_links, where)
    num_classes = len(names) if names is not None else (int(ints.max()) + 1 if ints is not None and len(ints) else 0)
    label_arr = None if label_mode is None else _label_array(ints, label_mode, num_classes, where)
    out = []
    for idx in _select(paths, validation_split, subset, shuffle, seed, where, verbose, names):
        ds = FileDataset([paths[i] for i in idx], None if label_arr is None else label_arr[idx], read)
        loader = _batches(ds, batch_size, shuffle, seed, where)
        loader.class_names, loader.file_paths = names, ds.paths
        out.append(loader)
    return out[0] if len(out) == 1 else tuple(out)


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, color_mode="rgb",
                                 batch_size=32, image_size=(256, 256), shuffle=True, seed=None, validation_split=None,
                                 subset=None, interpolation="bilinear", follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, verbose=True):
    """Batches of images read from a folder with one sub-folder per class (Keras's image_dataset_from_directory).

    Layout: directory/class_a/*.png, directory/class_b/*.jpg, ... (BMP, GIF, JPEG, PNG; sub-folders of
    a class folder count too). Images are read with Pillow and resized to image_size (bilinear or
    nearest, pixel centres aligned, as the Resizing layer); pixel values stay in 0..255, float32.

    Args:
        directory: the folder.
        labels: 'inferred' (from the sub-folders), None (images only), or a list / tuple of labels,
            one per file in the sorted order of their paths.
        label_mode: 'int' (int32 labels), 'categorical' (one-hot float32), 'binary' (float32 0/1 of
            shape (n, 1), for 2 classes) or None (no labels).
        class_names: with labels='inferred', the sub-folders to use, in label order.
        color_mode: 'rgb', 'rgba' or 'grayscale' (3, 4 or 1 channels).
        batch_size: images per batch (None: return the Dataset of single images).
        image_size: the (height, width) every image is resized to.
        shuffle: shuffle the files (again every epoch); False keeps them sorted by path.
        seed: the shuffle's seed (needed with validation_split and shuffle).
        validation_split: the fraction of the files kept for validation.
        subset: with validation_split: 'training', 'validation', or 'both' (returns both).
        interpolation: 'bilinear' or 'nearest'.
        follow_links: follow symbolic links to folders.
        crop_to_aspect_ratio: resize without distortion, cropping the centre.
        pad_to_aspect_ratio: resize without distortion, padding with 0.
        data_format: 'channels_last' (or None).
        verbose: print how many files were found and used.

    Returns:
        A DataLoader of (images, labels) batches -- images (batch, height, width, channels) -- with
        `class_names` and `file_paths`; two with subset='both'.

    Example:
    ```python
    import os, tempfile
    import numpy as np
    import dlcore as dl
    try:
        from PIL import Image
    except ImportError:
        Image = None  # Pillow is optional: pip install dlcore[image]
    if Image is not None:
        root = tempfile.mkdtemp()
        for label in ("cats", "dogs"):
            os.makedirs(os.path.join(root, label))
            for i in range(3):
                Image.new("RGB", (20, 10)).save(os.path.join(root, label, f"{i}.png"))
        loader = dl.utils.image_dataset_from_directory(root, image_size=(8, 8), batch_size=4, verbose=False)
        x, y = next(iter(loader))
        assert loader.class_names == ["cats", "dogs"] and x.shape == (4, 8, 8, 3)
    ```
    """
    where = "image_dataset_from_directory"
    if color_mode not in ("rgb", "rgba", "grayscale"):
        raise ValueError(f"{where}: 'color_mode' must be 'rgb', 'rgba' or 'grayscale', got {color_mode!r}")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"{where}: 'interpolation' must be one of {list(INTERPOLATIONS)}, got {interpolation!r}")
    if not (isinstance(image_size, (tuple, list)) and len(image_size) == 2):
        raise ValueError(f"{where}: 'image_size' must be a (height, width) pair, got {image_size!r}")
    size = (_positive(image_size[0], "image_size", where), _positive(image_size[1], "image_size", where))
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(f"{where}: choose crop_to_aspect_ratio or pad_to_aspect_ratio, not both")
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{where}: 'data_format' must be 'channels_last' (dlcore's images are NHWC), got "
                         f"{data_format!r}")
    read = ReadImage(color_mode, size, interpolation, bool(crop_to_aspect_ratio), bool(pad_to_aspect_ratio))
    return _from_directory(where, directory, labels, label_mode, class_names, IMAGE_FORMATS, follow_links, batch_size,
                           shuffle, seed, validation_split, subset, verbose, read)


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                max_length=None, shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, verbose=True):
    """Batches of texts read from a folder with one sub-folder per class (Keras's text_dataset_from_directory).

    Layout: directory/class_a/*.txt, directory/class_b/*.txt, ... Each file is one sample, read as
    UTF-8 text; batches hold NumPy string arrays, which TextVectorization takes.

    Args:
        directory, labels, label_mode, class_names, batch_size, shuffle, seed, validation_split,
        subset, follow_links, verbose: as in image_dataset_from_directory.
        max_length: keep the first max_length characters of each text (None: all).

    Returns:
        A DataLoader of (texts, labels) batches with `class_names` and `file_paths`; two with
        subset='both'.

    Example:
    ```python
    import os, tempfile
    import dlcore as dl
    root = tempfile.mkdtemp()
    for label, text in (("neg", "awful"), ("pos", "great")):
        os.makedirs(os.path.join(root, label))
        with open(os.path.join(root, label, "a.txt"), "w") as f:
            f.write(text)
    texts, labels = next(iter(dl.utils.text_dataset_from_directory(root, shuffle=False, verbose=False)))
    assert texts.tolist() == ["awful", "great"] and labels.tolist() == [0, 1]
    ```
    """
    where = "text_dataset_from_directory"
    if max_length is not None:
        max_length = _positive(max_length, "max_length", where)
    return _from_directory(where, directory, labels, label_mode, class_names, (".txt",), follow_links, batch_size,
                           shuffle, seed, validation_split, subset, verbose, ReadText(max_length))
