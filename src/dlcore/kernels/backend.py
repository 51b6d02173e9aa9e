"""Which backend runs a kernel call, and the switches that choose it.

Every public kernel in dlcore.kernels asks :func:`select` once, before any work. The answer is the
array module ``xp`` of its arguments (``numpy`` or ``cupy``, Chainer's idiom) and one of three
backends, each a small piece of code that computes and never checks:

``"cpu"``
    NumPy arrays: the C++ kernels of ``dlcore._C``.
``"cuda"``
    CuPy arrays: dlcore's own CUDA kernels in ``dlcore._cuda``, given device pointers and CuPy's
    current stream; outputs come from CuPy's memory pool.
``"fallback"``
    The array-API implementation in ``dlcore.kernels.fallback`` (``xp.`` calls only). It runs CuPy
    arrays where ``dlcore._cuda`` was not built or the environment variable ``DLCORE_CUDA_KERNELS``
    is ``"0"`` (read on every call), and NumPy arrays inside ``use("fallback")`` -- which is how the
    test suite checks it on machines without a GPU.

Arrays of both kinds in one call raise TypeError: dlcore never copies between host and device
behind the caller's back. Importing this module imports neither CuPy nor ``dlcore._cuda``; each is
imported the first time a CuPy array arrives.

Example::

    import numpy as np
    import dlcore.kernels as K
    x = np.linspace(-2.0, 2.0, 5)
    with K.backend.use("fallback"):      # this thread, NumPy arrays: the fallback
        y = K.relu_forward(x)
    assert (y == K.relu_forward(x)).all()   # the C++ kernel gives the same result
"""
from __future__ import annotations

import contextlib
import os
import threading

import numpy as np

from ._validate import refuse_masked

CPU, CUDA, FALLBACK = "cpu", "cuda", "fallback"
BACKENDS = (CPU, CUDA, FALLBACK)


class _Local(threading.local):
    forced = None  # None (automatic), CUDA or FALLBACK: set by use(), per thread


LOCAL = _Local()
_CUPY = None
_CUDA_MODULE = None
_CUDA_TRIED = False
_TF32 = os.environ.get("DLCORE_TF32", "0") == "1"


@contextlib.contextmanager
def use(name: str):
    """Within the block, on this thread, kernel calls run on backend `name`.

    ``"fallback"``: NumPy and CuPy arrays alike run the array-API fallback. ``"cuda"``: CuPy arrays
    run ``dlcore._cuda`` (RuntimeError at the call when it is not built); NumPy arrays still run
    the C++ kernels. ``"auto"``: the default routing (see the module docstring). Blocks nest.
    """
    if name not in ("auto", CUDA, FALLBACK):
        raise ValueError(f"backend.use: name must be 'auto', 'cuda' or 'fallback', got {name!r}")
    before = LOCAL.forced
    LOCAL.forced = None if name == "auto" else name
    try:
        yield
    finally:
        LOCAL.forced = before


def is_gpu_array(x) -> bool:
    """True for CuPy arrays and anything else exposing ``__cuda_array_interface__``.

    Duck-typed and never imports CuPy: a NumPy array is answered by one look at its type.
    """
    module = type(x).__module__
    if module == "numpy" or module == "builtins":
        return False
    # hasattr on the instance: a CPU torch tensor's property raises AttributeError, so it says no.
    return module.startswith("cupy") or hasattr(x, "__cuda_array_interface__")


def cupy():
    """The cupy module, imported on first use (only ever called once a GPU array was seen)."""
    global _CUPY
    if _CUPY is None:
        import cupy as _cp  # noqa: PLC0415  (lazy on purpose: importing dlcore never imports CuPy)
        _CUPY = _cp
    return _CUPY


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


def gpu_backend() -> str:
    """The backend of CuPy arrays outside use(): "cuda" when dlcore._cuda is built and importable and
    DLCORE_CUDA_KERNELS is not "0", else "fallback"."""
    if os.environ.get("DLCORE_CUDA_KERNELS", "1") != "0" and cuda_module() is not None:
        return CUDA
    return FALLBACK


def _kind(a) -> str:
    t = type(a)
    return "a NumPy array" if t is np.ndarray else f"a GPU array ({t.__module__}.{t.__name__})"


def select(op: str, names, *arrays):
    """(xp, backend) for one call of kernel `op`, from its array arguments.

    `arrays` are the call's array arguments in order (None and anything that is not an array are
    skipped, so that the argument checks can name them); `names` their names, for the message when
    NumPy and CuPy arrays are mixed (None: "arrays[i]").
    """
    for a in arrays:
        if a is not None and type(a) is not np.ndarray:
            break
    else:  # NumPy arrays only: the common case, decided by one type check per argument
        return np, (FALLBACK if LOCAL.forced == FALLBACK else CPU)
    host = gpu = None
    for i, a in enumerate(arrays):
        refuse_masked(a, op, names[i] if names else f"arrays[{i}]")
        if type(a) is np.ndarray:
            host = i if host is None else host
        elif a is not None and is_gpu_array(a):
            gpu = i if gpu is None else gpu
    if gpu is None:  # NumPy arrays and non-arrays: the argument checks name the offender
        return np, (FALLBACK if LOCAL.forced == FALLBACK else CPU)
    if host is not None:
        def name(i):
            return names[i] if names else f"arrays[{i}]"
        raise TypeError(f"{op}: all arrays must be on one device, got '{name(gpu)}' {_kind(arrays[gpu])} and "
                        f"'{name(host)}' {_kind(arrays[host])} (dlcore never copies between host and device "
                        f"implicitly: move one with cupy.asarray or .get())")
    forced = LOCAL.forced
    backend = forced if forced is not None else gpu_backend()
    if backend == CUDA and cuda_module() is None:
        raise RuntimeError(f"{op}: backend 'cuda' was asked for but dlcore._cuda is not built; build dlcore with "
                           f"nvcc, or use the CuPy fallback (DLCORE_CUDA_KERNELS=0)")
    return cupy(), backend


def set_tf32(enabled: bool) -> None:
    """Let float32 GEMMs on the GPU use TF32 tensor cores (about 1e-3 relative error instead of
    1e-7): dlcore's CUDA GEMM kernel, and cuBLAS under the CuPy fallback. Default off, or
    ``DLCORE_TF32=1``. No effect on NumPy arrays."""
    global _TF32
    _TF32 = bool(enabled)


def tf32_enabled() -> bool:
    """Whether float32 GEMMs on the GPU may use TF32 tensor cores (see set_tf32)."""
    return _TF32
