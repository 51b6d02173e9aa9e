"""Argument checks shared by every kernel entry point in dlcore.kernels.

Each public kernel validates once, here, before any backend runs: a wrong type raises TypeError, a
wrong shape ValueError, and every message names the op, the argument, what was expected and what
was received.
"""
from __future__ import annotations

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def float_array(x, op: str, name: str):
    """`x` as a NumPy float32/float64 array, or a TypeError naming `op` and `name`."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{op}: '{name}' must be a NumPy array, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}: '{name}' must have dtype float32 or float64, got {x.dtype}")
    return x


def same_dtype(op: str, **arrays):
    """The common dtype of the named arrays, or a TypeError listing them."""
    dtypes = {name: a.dtype for name, a in arrays.items() if a is not None}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{n}={d}" for n, d in dtypes.items())
        raise TypeError(f"{op}: arrays must share one dtype (no implicit float32/float64 mixing), got {listed}")
    return next(iter(dtypes.values()))


def check_ndim(x, ndim: int, op: str, name: str, layout: str = ""):
    if x.ndim != ndim:
        hint = f" {layout}" if layout else ""
        raise ValueError(f"{op}: '{name}' must be {ndim}-D{hint}, got shape {x.shape}")


def check_shape(x, shape: tuple, op: str, name: str):
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{op}: '{name}' must have shape {tuple(shape)}, got {tuple(x.shape)}")


def element_strided(x):
    """`x` itself when every stride is a whole number of elements, else a contiguous copy."""
    if any(s % x.itemsize for s in x.strides):
        return np.ascontiguousarray(x)
    return x


def output(out, shape: tuple, dtype, op: str, *inputs):
    """The array to write into: a new one when `out` is None, `out` after checking it otherwise.

    Returns (target, out): `target` is what the kernel writes (a fresh temporary when `out` overlaps
    an input or is not writable in the kernel's layout), `out` is what the caller returns; copy
    target into out when they differ.
    """
    if out is None:
        a = np.empty(shape, dtype=dtype)
        return a, a
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{op}: 'out' must be a NumPy array, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"{op}: 'out' must have dtype {np.dtype(dtype)}, got {out.dtype}")
    check_shape(out, shape, op, "out")
    if not out.flags.writeable:
        raise ValueError(f"{op}: 'out' is read-only")
    overlaps = any(x is not None and np.may_share_memory(out, x) for x in inputs)
    if overlaps or not out.flags.c_contiguous:
        return np.empty(shape, dtype=dtype), out
    return out, out


# ---- GPU (CuPy) variants --------------------------------------------------------------------------
# The same checks and messages for the GPU kernels in dlcore/kernels/_gpu/. They import CuPy only
# when called (a CPU-only install never reaches them).

def gpu_float_array(x, op: str, name: str):
    """`x` as a CuPy float32/float64 array (any __cuda_array_interface__ object is viewed, not
    copied), or a TypeError naming `op` and `name`."""
    import cupy  # noqa: PLC0415
    if not isinstance(x, cupy.ndarray):
        if not hasattr(type(x), "__cuda_array_interface__"):
            raise TypeError(f"{op}: '{name}' must be a CuPy array like the other GPU arguments, "
                            f"got {type(x).__name__}")
        x = cupy.asarray(x)
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}: '{name}' must have dtype float32 or float64, got {x.dtype}")
    return x


def gpu_output(out, shape: tuple, dtype, op: str, *inputs):
    """`output` for CuPy arrays: (target, out) with target C-contiguous and not overlapping inputs."""
    import cupy  # noqa: PLC0415
    if out is None:
        a = cupy.empty(shape, dtype=dtype)
        return a, a
    if not isinstance(out, cupy.ndarray):
        raise TypeError(f"{op}: 'out' must be a CuPy array, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"{op}: 'out' must have dtype {np.dtype(dtype)}, got {out.dtype}")
    check_shape(out, shape, op, "out")
    overlaps = any(x is not None and cupy.may_share_memory(out, x) for x in inputs)
    if overlaps or not out.flags.c_contiguous:
        return cupy.empty(shape, dtype=dtype), out
    return out, out


# ---- GEMM: the checks every backend shares -------------------------------------------------------

# Activations the GEMM epilogue fuses, with their codes in csrc/cpu/gemm/gemm.h (and csrc/cuda/gemm.cu).
GEMM_ACTIVATIONS = {None: 0, "linear": 0, "relu": 1, "sigmoid": 2, "tanh": 3}


def check_activation(op: str, activation):
    if activation not in GEMM_ACTIVATIONS:
        raise ValueError(f"{op}: activation must be one of {sorted(k for k in GEMM_ACTIVATIONS if k)} or None, "
                         f"got {activation!r}")


def gemm_shapes(a, b, trans_a, trans_b, activation, bias, op: str = "gemm"):
    """(m, n, k) of op(a) @ op(b), after the rank, inner-dimension, activation and bias checks."""
    check_ndim(a, 2, op, "a")
    check_ndim(b, 2, op, "b")
    m, k = a.shape[::-1] if trans_a else a.shape
    kb, n = b.shape[::-1] if trans_b else b.shape
    if k != kb:
        raise ValueError(
            f"{op}: inner dimensions differ: op(a) is {m}x{k} (a.shape={a.shape}, trans_a={trans_a}) "
            f"but op(b) is {kb}x{n} (b.shape={b.shape}, trans_b={trans_b})")
    check_activation(op, activation)
    if bias is not None and tuple(bias.shape) != (n,):
        raise ValueError(f"{op}: 'bias' must have shape ({n},) for an output of shape ({m}, {n}), got {bias.shape}")
    return m, n, k
