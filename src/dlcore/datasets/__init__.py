"""Small data sets shipped inside the package (no download needed).

    (x_train, y_train), (x_test, y_test) = dlcore.datasets.load_digits(size=28)
"""
from .digits import load_digits, resize_bilinear

__all__ = ["load_digits", "resize_bilinear"]
