"""Keras's `keras.preprocessing.sequence`: pad_sequences (`dlcore.utils.pad_sequences`, looked up when used)."""
from ._forward import forwarder

FORWARDED = ("pad_sequences",)
__getattr__ = forwarder(__name__, FORWARDED)
