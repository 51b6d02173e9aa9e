"""Preprocessing layers (Keras 3's): they run inside the model, so a saved model carries its preprocessing.

    model = dl.Sequential([dl.layers.Rescaling(1 / 255, input_shape=(28, 28, 1)),
                           dl.layers.RandomRotation(0.05), dl.layers.RandomZoom(0.1), ...])

Images (NHWC): Rescaling, Resizing, CenterCrop, and the random augmentations RandomFlip,
RandomRotation, RandomZoom, RandomTranslation, RandomCrop, RandomContrast, which act only while
training. Features: Normalization (with adapt). Text and categories: TextVectorization,
StringLookup, IntegerLookup (with adapt), CategoryEncoding.
"""
from .image import (CenterCrop, RandomContrast, RandomCrop, RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
                    Resizing)
from .lookup import CategoryEncoding, IntegerLookup, StringLookup
from .normalization import Normalization, Rescaling
from .text_vectorization import TextVectorization

__all__ = ["Rescaling", "Normalization", "Resizing", "CenterCrop", "RandomFlip", "RandomRotation", "RandomZoom",
           "RandomTranslation", "RandomCrop", "RandomContrast", "TextVectorization", "StringLookup", "IntegerLookup",
           "CategoryEncoding"]
