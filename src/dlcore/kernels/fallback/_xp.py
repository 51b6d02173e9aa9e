"""The pieces of the fallback that NumPy and CuPy do not share. Everything else is ``xp.`` code.

- ``erfc``: NumPy has no erfc (SciPy's is not a dependency): math.erfc per element in float64 on
  NumPy; cupyx.scipy.special.erfc (one elementwise kernel) on CuPy.
- ``tf32_matmul``: cuBLAS's TF32 tensor-core math mode around a CuPy matmul (set_tf32); NumPy has no
  TF32 and ignores it.
- ``scatter_add``: a[idx[i]] += v[i] with repeated indices summed (np.add.at; cupyx.scatter_add).
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

_np_erfc = np.frompyfunc(math.erfc, 1, 1)


def erfc(xp, x):
    """The complementary error function elementwise, in x's dtype."""
    if xp is np:
        return _np_erfc(x.astype(np.float64)).astype(x.dtype)
    from cupyx.scipy.special import erfc as cupy_erfc  # noqa: PLC0415  (CuPy only, imported when used)
    return cupy_erfc(x)


@contextlib.contextmanager
def tf32_matmul(xp, enabled: bool):
    """Within the block, cuBLAS float32 GEMMs on the current device use TF32 tensor cores when
    `enabled` and `xp` is CuPy."""
    if not enabled or xp is np:
        yield
        return
    from cupy_backends.cuda.libs import cublas  # noqa: PLC0415  (CuPy only)
    handle = xp.cuda.device.get_cublas_handle()
    cublas.setMathMode(handle, cublas.CUBLAS_TF32_TENSOR_OP_MATH)
    try:
        yield
    finally:
        cublas.setMathMode(handle, cublas.CUBLAS_DEFAULT_MATH)


def scatter_add(xp, a, idx, v):
    """a[idx[i]] += v[i] along a's first axis, repeated indices summed, in place."""
    if xp is np:
        np.add.at(a, idx, v)
        return
    import cupyx  # noqa: PLC0415  (CuPy only)
    cupyx.scatter_add(a, idx, v)
