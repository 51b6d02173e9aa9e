"""What the "cuda" backend hands to dlcore._cuda: device pointers, strides in elements, the dtype
flag and CuPy's current stream, as plain ints (csrc/python/cuda/bind_cuda.h reads them back).

Only ever called with CuPy arrays, so CuPy is imported by then; importing this module imports
nothing from the GPU stack.
"""
from __future__ import annotations

from .backend import cuda_module, cupy


def cuda():
    """The dlcore._cuda module (backend.select has checked that it is there)."""
    return cuda_module()


def stream() -> int:
    """CuPy's current stream as an int."""
    return cupy().cuda.get_current_stream().ptr


def ptr(x) -> int:
    """Device address of x's first element (0 for None), from __cuda_array_interface__."""
    if x is None:
        return 0
    return int(x.__cuda_array_interface__["data"][0])


def f64(x) -> bool:
    """The bindings' dtype flag: True for float64, False for float32."""
    return x.dtype.itemsize == 8


def element_strides(x):
    """x's strides in elements (x must be element-strided)."""
    return tuple(s // x.itemsize for s in x.strides)
