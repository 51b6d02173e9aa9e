"""GEMM on arrays: out = act(alpha * op(a) @ op(b) + beta * out + bias)."""
from __future__ import annotations

import numpy as np

from .. import _C
from ._validate import check_ndim, element_strided, float_array, output, same_dtype

# Activations the GEMM epilogue fuses (their codes in csrc/cpu/gemm/gemm.h).
GEMM_ACTIVATIONS = {None: 0, "linear": 0, "relu": 1, "sigmoid": 2, "tanh": 3}


def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None, bias=None, activation=None):
    """Matrix product with BLAS semantics and a fused epilogue.

    Computes ``out = act(alpha * op(a) @ op(b) + beta * out + bias)`` where ``op(x)`` is ``x.T``
    when the matching ``trans_*`` flag is set. ``a`` and ``b`` are 2-D float32 or float64 arrays of
    one dtype, any strides. ``bias`` has shape ``(n,)`` and is added to every row; ``activation`` is
    one of None/"linear", "relu", "sigmoid", "tanh". With ``beta == 0`` the previous content of
    ``out`` is never read (it may hold NaN). Returns ``out`` (a new array when not given).
    """
    op = "gemm"
    a = float_array(a, op, "a")
    b = float_array(b, op, "b")
    dtype = same_dtype(op, a=a, b=b, out=out if isinstance(out, np.ndarray) else None,
                       bias=bias if isinstance(bias, np.ndarray) else None)
    check_ndim(a, 2, op, "a")
    check_ndim(b, 2, op, "b")
    m, k = a.shape[::-1] if trans_a else a.shape
    kb, n = b.shape[::-1] if trans_b else b.shape
    if k != kb:
        raise ValueError(
            f"{op}: inner dimensions differ: op(a) is {m}x{k} (a.shape={a.shape}, trans_a={trans_a}) "
            f"but op(b) is {kb}x{n} (b.shape={b.shape}, trans_b={trans_b})")
    if activation not in GEMM_ACTIVATIONS:
        raise ValueError(f"{op}: activation must be one of {sorted(k for k in GEMM_ACTIVATIONS if k)} or None, "
                         f"got {activation!r}")
    if bias is not None:
        bias = float_array(bias, op, "bias")
        if bias.shape != (n,):
            raise ValueError(f"{op}: 'bias' must have shape ({n},) for an output of shape ({m}, {n}), got {bias.shape}")
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
