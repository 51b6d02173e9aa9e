"""Keras's `keras.backend` basics that tutorials call: clear_session, floatx, epsilon,
image_data_format, backend(), is_keras_tensor, standardize_dtype, get_uid.

dlcore's defaults are fixed: float32 (give layers dtype= for another), Keras's epsilon 1e-7 (the
losses' clipping), channels_last layouts. The setters accept only those values and raise for
others, rather than accept a value that would change nothing.
"""
from __future__ import annotations

import gc

import numpy as np

from . import cuda
from .graph import KerasTensor
from .module import reset_name_counters

__all__ = ["clear_session", "floatx", "set_floatx", "epsilon", "image_data_format", "set_image_data_format",
           "backend", "is_keras_tensor", "standardize_dtype", "is_float_dtype", "is_int_dtype", "get_uid"]

_UIDS = {}


def clear_session(free_memory=True):
    """Reset the layer-name counters (the next Dense is "dense" again) and the uids, and with
    free_memory run the garbage collector and release CuPy's cached GPU memory.

    Example:

    ```python
    import dlcore as dl

    dl.layers.Dense(2)
    dl.backend.clear_session()
    print(dl.layers.Dense(2).name)      # dense
    ```
    """
    reset_name_counters()
    _UIDS.clear()
    if free_memory:
        gc.collect()
        cp = cuda._cupy()
        if cp is not None:
            cp.get_default_memory_pool().free_all_blocks()


def floatx():
    """The default float type: "float32"."""
    return "float32"


def set_floatx(value):
    """Only "float32", dlcore's fixed default (pass dtype= to layers and tensors for float64)."""
    if standardize_dtype(value) != "float32":
        raise ValueError(f"dlcore.backend.set_floatx: dlcore's default float type is float32 and cannot be changed, "
                         f"got {value!r}; give dtype={value!r} to the layers and tensors that need it")


def epsilon():
    """The fuzz factor of the losses: 1e-7."""
    return 1e-7


def image_data_format():
    """The image layout: "channels_last" (NHWC)."""
    return "channels_last"


def set_image_data_format(data_format):
    """Only "channels_last" (dlcore's layouts are NHWC)."""
    if data_format != "channels_last":
        raise ValueError(f"dlcore.backend.set_image_data_format: dlcore's layouts are channels_last, got "
                         f"{data_format!r}")


def backend():
    """The name of the backend: "dlcore"."""
    return "dlcore"


def is_keras_tensor(x):
    """True for the symbolic tensors of the functional API (dl.Input(...) and what layers make of them)."""
    return isinstance(x, KerasTensor)


def standardize_dtype(dtype):
    """A dtype (NumPy, string, Python type) as its name: "float32", "int64", ..."""
    return np.dtype("float32" if dtype is float else dtype).name


def is_float_dtype(dtype):
    return np.dtype(standardize_dtype(dtype)).kind == "f"


def is_int_dtype(dtype):
    return np.dtype(standardize_dtype(dtype)).kind in "iu"


def get_uid(prefix=""):
    """1, 2, 3, ... per prefix (until clear_session)."""
    _UIDS[prefix] = _UIDS.get(prefix, 0) + 1
    return _UIDS[prefix]
