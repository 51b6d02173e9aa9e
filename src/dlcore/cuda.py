"""GPU availability: `dl.cuda.is_available()`, `dl.cuda.synchronize()`.

The GPU backend runs on CuPy arrays. It needs CuPy (``pip install dlcore[cuda13]`` or
``dlcore[cuda12]``, matching your CUDA driver) and an NVIDIA device.
"""
from __future__ import annotations

HOW_TO_GET_CUDA = ("install CuPy for your CUDA version (`pip install dlcore[cuda13]` or `pip install dlcore[cuda12]`) "
                   "or build dlcore with nvcc on a machine with an NVIDIA GPU")


def _cupy():
    """The cupy module, or None when it is not installed or no device is present."""
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() > 0:
            return cupy
    except Exception:
        return None
    return None


def is_available() -> bool:
    """True when CuPy imports and at least one CUDA device is present."""
    return _cupy() is not None


def device_count() -> int:
    cp = _cupy()
    return 0 if cp is None else cp.cuda.runtime.getDeviceCount()


def synchronize() -> None:
    """Wait for all work queued on the current CUDA device (no-op without a GPU)."""
    cp = _cupy()
    if cp is not None:
        cp.cuda.Device().synchronize()


def require_cupy(what: str = "device='cuda'"):
    """The cupy module, or a RuntimeError explaining how to get GPU support."""
    cp = _cupy()
    if cp is None:
        raise RuntimeError(f"{what} needs a CUDA GPU and CuPy, and none is available here: {HOW_TO_GET_CUDA}")
    return cp
