"""Which implementation runs a kernel whose inputs live on the GPU.

Two questions, asked by every public kernel in dlcore.kernels before it does any work:

``is_gpu_array(x)``
    True for CuPy arrays (and anything else exposing ``__cuda_array_interface__``). It is
    duck-typed and never imports CuPy, so a NumPy call pays one ``type()`` check.

``gpu_function(name)``
    The GPU implementation of the kernel ``name`` (a name of docs/kernel_api.md): the version that
    launches dlcore's own CUDA kernels (``dlcore._cuda``) when that module was built and can be
    imported and the environment variable ``DLCORE_CUDA_KERNELS`` is not ``"0"``; otherwise the
    CuPy fallback (cuBLAS through ``cupy.matmul``, CuPy elementwise kernels and reductions). Both
    take the same arguments as the CPU kernel, validate them with the same messages, allocate
    outputs from CuPy's memory pool and run on CuPy's current stream. The variable is read on every
    call, so a test can switch backends with ``monkeypatch.setenv``.

How a CPU kernel module routes CuPy inputs (one line at the top of each public function)::

    from ._dispatch import gpu_function, is_gpu_array

    def relu_forward(x, out=None):
        if is_gpu_array(x):
            return gpu_function("relu_forward")(x, out=out)
        ...  # the NumPy path, unchanged

Test the first array argument that is always present (``a`` for gemm, ``x`` / ``dy`` / ``logits`` /
``param`` / ``cache[0]`` ...); for ``global_norm(arrays)`` and ``scale_(arrays, f)`` test
``arrays[0]``. Functions that only compute shapes (``conv2d_output_shape``) need no routing.
``gpu_names()`` lists every name that has a GPU version.
"""
from __future__ import annotations

import os

_CUDA_MODULE = None
_CUDA_TRIED = False


def is_gpu_array(x) -> bool:
    """True when `x` is a device array (CuPy, or anything with __cuda_array_interface__).

    Never imports CuPy: a NumPy array is answered by one look at its type's module.
    """
    module = type(x).__module__
    if module == "numpy" or module == "builtins":
        return False
    # hasattr on the instance: a CPU torch tensor's property raises AttributeError, so it says no.
    return module.startswith("cupy") or hasattr(x, "__cuda_array_interface__")


def cuda_module():
    """dlcore._cuda, imported on first use; None when it was not built (or cannot load)."""
    global _CUDA_MODULE, _CUDA_TRIED
    if not _CUDA_TRIED:
        _CUDA_TRIED = True
        try:
            from .. import _cuda  # noqa: PLC0415  (lazy on purpose: no GPU work at import time)
            _CUDA_MODULE = _cuda
        except ImportError:
            _CUDA_MODULE = None
    return _CUDA_MODULE


def use_cuda_kernels() -> bool:
    """True when GPU calls go to dlcore._cuda (built, importable, DLCORE_CUDA_KERNELS != "0")."""
    return os.environ.get("DLCORE_CUDA_KERNELS", "1") != "0" and cuda_module() is not None


def gpu_function(name: str):
    """The GPU implementation of kernel `name`: dlcore._cuda-backed, or the CuPy fallback."""
    from . import _gpu  # noqa: PLC0415
    return _gpu.lookup(name, cuda=use_cuda_kernels())


def gpu_names() -> list:
    """Every kernel name that has a GPU implementation."""
    from . import _gpu  # noqa: PLC0415
    return _gpu.names()
