"""GEMM on arrays: out = act(alpha * op(a) @ op(b) + beta * out + bias).

Backends (see backend.py): cpu, dlcore._C.gemm (csrc/cpu/gemm/); cuda, dlcore._cuda.gemm
(csrc/cuda/gemm.cu), any strides, the epilogue fused, float32 on the exact SIMT kernel or, after
set_tf32(True), the TF32 tensor-core kernel; fallback, xp.matmul (cuBLAS on the GPU) and the
epilogue as array operations (fallback/gemm.py).
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import _C
from . import codes
from ._device import cuda, element_strides, f64, ptr, stream
from ._validate import (check_ndim, contiguous, element_strided, finish, float_array, optional_float_array, output,
                        same_dtype)
from .backend import CPU, CUDA, FALLBACK, LOCAL, select, tf32_enabled
from .fallback import gemm as fallback

# Activations the GEMM epilogue fuses, with their codes in csrc/cpu/gemm/gemm.h (and csrc/cuda/gemm.cu).
GEMM_ACTIVATIONS = codes.EPILOGUES  # name -> Epilogue code (csrc/common/codes.h)


def check_activation(op: str, activation, table: dict):
    """`activation` must be a key of the epilogue code table `table`."""
    if not isinstance(activation, (str, type(None))) or activation not in table:  # a list is unhashable
        raise ValueError(f"{op}: activation must be one of {sorted(k for k in table if k)} or None, "
                         f"got {activation!r}")


def gemm_shapes(a, b, trans_a, trans_b, op: str = "gemm"):
    """(m, n, k) of op(a) @ op(b), after the rank and inner-dimension checks."""
    check_ndim(a, 2, op, "a")
    check_ndim(b, 2, op, "b")
    m, k = a.shape[::-1] if trans_a else a.shape
    kb, n = b.shape[::-1] if trans_b else b.shape
    if k != kb:
        raise ValueError(
            f"{op}: inner dimensions differ: op(a) is {m}x{k} (a.shape={tuple(a.shape)}, trans_a={trans_a}) "
            f"but op(b) is {kb}x{n} (b.shape={tuple(b.shape)}, trans_b={trans_b})")
    return m, n, k


def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None, bias=None, activation=None):
    """Matrix product with BLAS semantics and a fused epilogue.

    Computes ``out = act(alpha * op(a) @ op(b) + beta * out + bias)`` where ``op(x)`` is ``x.T``
    when the matching ``trans_*`` flag is set. ``a`` and ``b`` are 2-D float32 or float64 arrays of
    one dtype, any strides. ``bias`` has shape ``(n,)`` and is added to every row; ``activation`` is
    one of None/"linear", "relu", "sigmoid", "tanh". With ``beta == 0`` the previous content of
    ``out`` is never read (it may hold NaN). Returns ``out`` (a new array when not given).
    """
    # Fast path for the calls a training step makes thousands of times: plain NumPy float arrays of
    # one dtype, a contiguous bias or none, a known activation, bool flags, Python numbers for alpha
    # and beta, a fresh output or a C-contiguous one that overlaps no input, checked in the binding
    # (_C.gemm_fast, which returns None when they do not hold). Everything else (and every error)
    # goes through the full checks below. A small GEMM takes a few microseconds: the checks cost as
    # much as the product when Python makes them.
    if type(a) is _NDARRAY and type(b) is _NDARRAY and LOCAL.forced != FALLBACK:
        code = 0 if activation is None else GEMM_ACTIVATIONS.get(activation) if type(activation) is str else None
        if code is not None:
            got = _C.gemm_fast(a, b, out, trans_a, trans_b, alpha, beta, bias, code)
            if got is not None:
                return got

    op = "gemm"
    alpha, beta = _scalar(op, "alpha", alpha), _scalar(op, "beta", beta)
    xp, backend = select(op, ("a", "b", "out", "bias"), a, b, out, bias)
    a = float_array(xp, a, op, "a")
    b = float_array(xp, b, op, "b")
    dtype = same_dtype(op, a=a, b=b, out=out if isinstance(out, xp.ndarray) else None,
                       bias=bias if isinstance(bias, xp.ndarray) else None)
    bias = optional_float_array(xp, bias, op, "bias")
    m, n, k = gemm_shapes(a, b, trans_a, trans_b, op)
    check_activation(op, activation, GEMM_ACTIVATIONS)
    if bias is not None and tuple(bias.shape) != (n,):
        raise ValueError(f"{op}: 'bias' must have shape ({n},) for an output of shape ({m}, {n}), "
                         f"got {tuple(bias.shape)}")
    bias = contiguous(xp, bias)
    if out is None:
        beta = 0.0
    target, out = output(xp, out, (m, n), dtype, op, a, b, bias)
    if target is not out and beta != 0.0:
        target[...] = out
    a, b = element_strided(xp, a), element_strided(xp, b)
    code = GEMM_ACTIVATIONS[activation]
    if backend == CPU:
        _C.gemm(a, b, target, bool(trans_a), bool(trans_b), float(alpha), float(beta), bias, code)
    elif backend == CUDA:
        rs_a, cs_a = _op_strides(a, trans_a)
        rs_b, cs_b = _op_strides(b, trans_b)
        cuda().gemm(m, n, k, float(alpha), ptr(a), rs_a, cs_a, ptr(b), rs_b, cs_b, float(beta), ptr(target), n,
                    ptr(bias), code, tf32_enabled(), f64(target), stream())
    else:
        fallback.gemm(xp, a, b, trans_a, trans_b, alpha, beta, target, bias, activation, tf32_enabled())
    return finish(target, out)


_NDARRAY = np.ndarray  # the fast path's type test, one global lookup instead of two


def _scalar(op, name, value):
    """alpha / beta as a float: a real number (Python's or NumPy's), else a TypeError naming it."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: '{name}' must be a real number, got {type(value).__name__} ({value!r:.40})")
    return float(value)


def _op_strides(x, trans):
    """(row stride, column stride) of op(x) in elements."""
    s0, s1 = element_strides(x)
    return (s1, s0) if trans else (s0, s1)


__all__ = ["gemm", "GEMM_ACTIVATIONS"]
