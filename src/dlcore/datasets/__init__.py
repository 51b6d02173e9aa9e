"""Data sets: the bundled digits (no download), and Keras's standard data sets, downloaded once.

    (x_train, y_train), (x_test, y_test) = dlcore.datasets.load_digits(size=28)   # bundled, offline
    (x_train, y_train), (x_test, y_test) = dlcore.datasets.mnist.load_data()      # downloads once

The downloaded ones (mnist, fashion_mnist, cifar10, cifar100, imdb, reuters, boston_housing) have
Keras's signatures, dtypes, shapes and splits, come from Keras's origins (CIFAR from its authors'
pickle-free binary archives) and are cached in `~/.dlcore/datasets/` (`$DLCORE_HOME` overrides
`~/.dlcore`). Every file is checked against a pinned hash before it is parsed, and nothing
downloaded is ever run: no pickle is loaded except through a reader that rebuilds lists of ints.
"""
from . import boston_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, reuters
from .digits import load_digits, resize_bilinear

__all__ = ["load_digits", "resize_bilinear", "mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters",
           "boston_housing"]
