"""Device helpers for the GPU kernels: lazy CuPy, pointers, the current stream, TF32.

Nothing here imports CuPy until a GPU function actually runs: ``cp`` is a stand-in whose first
attribute access imports it. dlcore/cuda.py (``is_available()``, ``synchronize()``) is the public
face; these are the kernel layer's own helpers.
"""
from __future__ import annotations

import contextlib
import os


class _LazyCupy:
    """`cp.empty(...)` imports cupy on first use; importing this module stays cheap."""

    _mod = None

    def __getattr__(self, name):
        mod = _LazyCupy._mod
        if mod is None:
            import cupy  # noqa: PLC0415
            mod = _LazyCupy._mod = cupy
        return getattr(mod, name)


cp = _LazyCupy()

_TF32 = os.environ.get("DLCORE_TF32", "0") == "1"


def set_tf32(enabled: bool) -> None:
    """Let float32 GEMMs on the GPU use TF32 tensor cores (about 1e-3 relative error). Default off,
    or DLCORE_TF32=1. Affects dlcore's own GEMM kernel and, in the CuPy fallback, cuBLAS."""
    global _TF32
    _TF32 = bool(enabled)


def tf32_enabled() -> bool:
    return _TF32


@contextlib.contextmanager
def cublas_tf32(enabled: bool):
    """Within the block, cuBLAS float32 GEMMs on this device use TF32 tensor cores when `enabled`."""
    if not enabled:
        yield
        return
    from cupy_backends.cuda.libs import cublas  # noqa: PLC0415
    handle = cp.cuda.device.get_cublas_handle()
    cublas.setMathMode(handle, cublas.CUBLAS_TF32_TENSOR_OP_MATH)
    try:
        yield
    finally:
        cublas.setMathMode(handle, cublas.CUBLAS_DEFAULT_MATH)


def stream() -> int:
    """CuPy's current stream as an int (what dlcore._cuda takes)."""
    return cp.cuda.get_current_stream().ptr


def ptr(x) -> int:
    """Device address of x's first element (0 for None), from __cuda_array_interface__."""
    if x is None:
        return 0
    return int(x.__cuda_array_interface__["data"][0])


def is_f64(dtype) -> bool:
    return dtype.itemsize == 8


def element_strides(x):
    """x's strides in elements (x must be element-strided)."""
    return tuple(s // x.itemsize for s in x.strides)


def element_strided(x):
    """`x` itself when every stride is a whole number of elements, else a contiguous copy."""
    if any(s % x.itemsize for s in x.strides):
        return cp.ascontiguousarray(x)
    return x


def contiguous(x):
    return None if x is None else cp.ascontiguousarray(x)


def synchronize() -> None:
    cp.cuda.get_current_stream().synchronize()
