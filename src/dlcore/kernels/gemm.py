"""GEMM on arrays: out = act(alpha * op(a) @ op(b) + beta * out + bias)."""
from __future__ import annotations

import numpy as np

from .. import _C
from ._validate import GEMM_ACTIVATIONS, element_strided, float_array, gemm_shapes, output, same_dtype

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None, bias=None, activation=None):
    """Matrix product with BLAS semantics and a fused epilogue.

    Computes ``out = act(alpha * op(a) @ op(b) + beta * out + bias)`` where ``op(x)`` is ``x.T``
    when the matching ``trans_*`` flag is set. ``a`` and ``b`` are 2-D float32 or float64 arrays of
    one dtype, any strides. ``bias`` has shape ``(n,)`` and is added to every row; ``activation`` is
    one of None/"linear", "relu", "sigmoid", "tanh". With ``beta == 0`` the previous content of
    ``out`` is never read (it may hold NaN). Returns ``out`` (a new array when not given).
    """
    # Fast path for the calls a training step makes thousands of times: plain float arrays of one
    # dtype, no epilogue, a fresh output or a C-contiguous one that overlaps no input. Everything
    # else (and every error) goes through the full checks below. A small GEMM takes a few
    # microseconds, so this path avoids every check that is not needed.
    if (type(a) is np.ndarray and type(b) is np.ndarray and bias is None and activation is None
            and a.ndim == 2 and b.ndim == 2):
        dtype = a.dtype
        if (dtype is _F32 or dtype is _F64) and b.dtype is dtype:
            m, k = a.shape[::-1] if trans_a else a.shape
            kb, n = b.shape[::-1] if trans_b else b.shape
            if k == kb and _element_strided(a) and _element_strided(b):
                if out is None:
                    out = np.empty((m, n), dtype)
                    _C.gemm(a, b, out, bool(trans_a), bool(trans_b), float(alpha), 0.0, None, 0)
                    return out
                if (type(out) is np.ndarray and out.dtype is dtype and out.shape == (m, n)
                        and out.flags.c_contiguous and out.flags.writeable
                        and not np.may_share_memory(out, a) and not np.may_share_memory(out, b)):
                    _C.gemm(a, b, out, bool(trans_a), bool(trans_b), float(alpha), float(beta), None, 0)
                    return out

    op = "gemm"
    a = float_array(a, op, "a")
    b = float_array(b, op, "b")
    dtype = same_dtype(op, a=a, b=b, out=out if isinstance(out, np.ndarray) else None,
                       bias=bias if isinstance(bias, np.ndarray) else None)
    if bias is not None:
        bias = float_array(bias, op, "bias")
    m, n, _ = gemm_shapes(a, b, trans_a, trans_b, activation, bias, op)
    if bias is not None:
        bias = np.ascontiguousarray(bias)
    if out is None:
        beta = 0.0
    target, out = output(out, (m, n), dtype, op, a, b, bias)
    if target is not out and beta != 0.0:
        target[...] = out
    _C.gemm(element_strided(a), element_strided(b), target, bool(trans_a), bool(trans_b), float(alpha),
            float(beta), bias, GEMM_ACTIVATIONS[activation])
    if target is not out:
        out[...] = target
    return out


def _element_strided(x):
    """Whether every stride of the 2-D array `x` is a whole number of elements (the binding's need)."""
    s0, s1 = x.strides
    size = x.itemsize
    return s0 % size == 0 and s1 % size == 0
