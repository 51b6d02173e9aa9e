"""Float64 NumPy references for every dlcore kernel, written from the formula as plainly as possible.

This file imports NumPy only and never calls dlcore: it is the independent check. One section per
kernel family, in the order of docs/kernel_api.md.
"""
import numpy as np


def f64(x):
    return np.asarray(x, dtype=np.float64)


# ---------------------------------------------------------------- activations used by epilogues

def act_ref(x, activation):
    x = f64(x)
    if activation in (None, "linear"):
        return x
    if activation == "relu":
        return np.maximum(x, 0.0)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if activation == "tanh":
        return np.tanh(x)
    raise ValueError(activation)


# ---------------------------------------------------------------------------------------- gemm

def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, c=None, bias=None, activation=None):
    """act(alpha * op(a) @ op(b) + beta * c + bias) in float64."""
    A = f64(a).T if trans_a else f64(a)
    B = f64(b).T if trans_b else f64(b)
    out = alpha * (A @ B)
    if beta != 0.0:
        out = out + beta * f64(c)
    if bias is not None:
        out = out + f64(bias)
    return act_ref(out, activation)
