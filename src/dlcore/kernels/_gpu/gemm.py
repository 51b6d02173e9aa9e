"""GEMM on CuPy arrays: out = act(alpha * op(a) @ op(b) + beta * out + bias).

CUDA version: dlcore._cuda.gemm (csrc/cuda/gemm.cu), any strides, the epilogue fused; float32 runs
the exact SIMT kernel, or the TF32 tensor-core kernel when device.set_tf32(True) / DLCORE_TF32=1.
Fallback: cupy.matmul (cuBLAS), then the epilogue as CuPy array operations.
"""
from __future__ import annotations

from .._validate import GEMM_ACTIVATIONS, check_activation, gemm_shapes, gpu_float_array, gpu_output, same_dtype
from ._backends import register
from .device import cp, cublas_tf32, element_strided, element_strides, is_f64, ptr, stream, tf32_enabled


def apply_activation(x, activation):
    """x := act(x) in place, CuPy (the fallback epilogue; also used by conv)."""
    if activation == "relu":
        cp.maximum(x, 0, out=x)
    elif activation == "sigmoid":
        # 1 / (1 + exp(-x)) overflows harmlessly to 0 for x << 0 (exp -> inf, 1/inf = 0)
        cp.divide(1, 1 + cp.exp(-x), out=x)
    elif activation == "tanh":
        cp.tanh(x, out=x)
    return x


def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None, bias=None, activation=None, *, _cuda):
    """Matrix product with BLAS semantics and a fused epilogue (see dlcore.kernels.gemm)."""
    op = "gemm"
    a = gpu_float_array(a, op, "a")
    b = gpu_float_array(b, op, "b")
    if out is not None:
        out = gpu_float_array(out, op, "out")
    if bias is not None:
        bias = gpu_float_array(bias, op, "bias")
    dtype = same_dtype(op, a=a, b=b, out=out, bias=bias)
    m, n, _ = gemm_shapes(a, b, trans_a, trans_b, activation, bias, op)
    if bias is not None:
        bias = cp.ascontiguousarray(bias)
    if out is None:
        beta = 0.0
    target, out = gpu_output(out, (m, n), dtype, op, a, b, bias)
    if target is not out and beta != 0.0:
        target[...] = out

    if _cuda is None:
        A = a.T if trans_a else a
        B = b.T if trans_b else b
        with cublas_tf32(tf32_enabled() and dtype == cp.float32):
            prod = cp.matmul(A, B)
        if alpha != 1.0:
            prod *= alpha
        if beta != 0.0:
            prod += beta * target
        if bias is not None:
            prod += bias
        target[...] = apply_activation(prod, activation)
    else:
        a, b = element_strided(a), element_strided(b)
        sa, sb = element_strides(a), element_strides(b)
        rs_a, cs_a = (sa[1], sa[0]) if trans_a else sa
        rs_b, cs_b = (sb[1], sb[0]) if trans_b else sb
        _cuda.gemm(m, n, k, float(alpha), ptr(a), rs_a, cs_a, ptr(b), rs_b, cs_b, float(beta), ptr(target), n,
                   ptr(bias), GEMM_ACTIVATIONS[activation], tf32_enabled(), is_f64(dtype), stream())
    if target is not out:
        out[...] = target
    return out


FALLBACK, CUDA = {}, {}
register(FALLBACK, CUDA, gemm)
