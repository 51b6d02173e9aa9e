"""GEMM on xp arrays: xp.matmul (cuBLAS under CuPy), then the epilogue as array operations."""
from __future__ import annotations

from . import activation
from ._xp import tf32_matmul


def epilogue(xp, y, activation_name):
    """act(y) for the fused epilogues of gemm and conv2d (None / "linear": y itself)."""
    if activation_name in (None, "linear"):
        return y
    return activation.forward(xp, activation_name, y)


def gemm(xp, a, b, trans_a, trans_b, alpha, beta, c, bias, activation_name, tf32=False):
    """c := act(alpha * op(a) @ op(b) + beta * c + bias), c C-contiguous (m, n).

    beta == 0 never reads c; alpha == 0 never reads a and b (as BLAS). `tf32`: cuBLAS may use TF32
    tensor cores for a float32 product (CuPy only). alpha and beta are compared with 0 in the arrays'
    dtype, as the C++ and CUDA kernels do (a float64 1e-46 is 0 in float32).
    """
    alpha, beta = c.dtype.type(alpha), c.dtype.type(beta)
    if alpha != 0.0:
        with tf32_matmul(xp, tf32 and c.dtype == xp.float32):
            y = xp.matmul(a.T if trans_a else a, b.T if trans_b else b)
        if alpha != 1.0:
            y *= alpha
    else:
        y = xp.zeros(c.shape, c.dtype)
    if beta != 0.0:
        y += beta * c
    if bias is not None:
        y += bias
    c[...] = epilogue(xp, y, activation_name)
