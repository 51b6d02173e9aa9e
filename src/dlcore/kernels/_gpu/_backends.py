"""Making the two GPU versions of one kernel from one body.

A kernel body takes the kernel API's arguments plus a keyword ``_cuda``: None for the CuPy
fallback, the dlcore._cuda module for the CUDA version. ``two_backends(fn)`` returns
``(fallback, cuda_version)``, both with fn's name, docstring and public signature.
"""
from __future__ import annotations

import functools
import inspect

from .._dispatch import cuda_module


def _public_signature(fn):
    sig = inspect.signature(fn)
    return sig.replace(parameters=[p for n, p in sig.parameters.items() if n != "_cuda"])


def two_backends(fn):
    sig = _public_signature(fn)

    @functools.wraps(fn)
    def fallback(*args, **kwargs):
        return fn(*args, _cuda=None, **kwargs)

    @functools.wraps(fn)
    def cuda_version(*args, **kwargs):
        mod = cuda_module()
        if mod is None:
            raise RuntimeError(f"{fn.__name__}: dlcore._cuda is not built; use the CuPy fallback "
                               "(DLCORE_CUDA_KERNELS=0)")
        return fn(*args, _cuda=mod, **kwargs)

    for f in (fallback, cuda_version):
        f.__signature__ = sig
        del f.__wrapped__
    fallback.backend = "cupy"
    cuda_version.backend = "cuda"
    return fallback, cuda_version


def register(fallback_table: dict, cuda_table: dict, *fns):
    """Add each body's two versions to the family's tables under the body's name."""
    for fn in fns:
        fb, cu = two_backends(fn)
        fallback_table[fn.__name__] = fb
        cuda_table[fn.__name__] = cu
