"""CIFAR's binary version: fixed-size records of label byte(s) then 3072 pixel bytes, no pickle.

Each record is `n_labels` label bytes (CIFAR-10: the class; CIFAR-100: coarse, then fine) and a
32x32 colour image as 1024 red, 1024 green and 1024 blue bytes, rows in order. The archives are the
"binary version (suitable for C programs)" of www.cs.toronto.edu/~kriz/cifar.html, chosen over the
"python version" that Keras reads because those hold pickles.
"""
from __future__ import annotations

import os

import numpy as np

PIXELS = 3 * 32 * 32


def read_records(path, n_labels, n_classes, where):
    """(images uint8 (N, 32, 32, 3) channels last, labels uint8 (N, n_labels)) of one .bin file."""
    if not os.path.isfile(path):
        raise ValueError(f"{where}: the archive lacks {os.path.basename(path)}; delete the cached archive and its "
                         f"extracted folder to download it again")
    raw = np.fromfile(path, dtype=np.uint8)
    record = n_labels + PIXELS
    if raw.size % record:
        raise ValueError(f"{where}: {path} has {raw.size} bytes, not a whole number of {record}-byte records")
    raw = raw.reshape(-1, record)
    labels = raw[:, :n_labels].copy()
    for k, n in enumerate(n_classes):
        if labels.size and labels[:, k].max() >= n:
            raise ValueError(f"{where}: {path} holds label {labels[:, k].max()} >= {n}")
    images = raw[:, n_labels:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return images, labels
