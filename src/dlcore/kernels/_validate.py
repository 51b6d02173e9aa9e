"""Argument checks shared by every kernel entry point in dlcore.kernels, for NumPy and CuPy alike.

Each public kernel validates once, here, before any backend runs: a wrong type raises TypeError, a
wrong shape or value ValueError, and every message names the op, the argument, what was expected
and what was received. The helpers take the array module ``xp`` that backend.select returned, so
one check serves every backend.
"""
from __future__ import annotations

import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# The largest window, stride, dilation or padding a convolution or pooling takes (int32's range, as
# cuDNN and PyTorch): larger ones describe no real image, and would make the padded and dilated
# extents the backends form (the fallback materialises the padding) overflow or exhaust memory.
MAX_EXTENT = (1 << 31) - 1
# The most elements an output may have: its size in bytes (8 per float64) must fit in int64. A shape
# beyond it is a ValueError naming the op, before any size product overflows.
MAX_ELEMENTS = (1 << 60) - 1


def kind(xp) -> str:
    return "NumPy" if xp is np else "CuPy"


def is_int(v) -> bool:
    """A Python or NumPy integer that is not a bool."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def refuse_masked(x, where: str, name: str = "") -> None:
    """TypeError for the NumPy array subclasses whose meaning would be lost silently: a masked array's
    mask (NumPy's np.asarray and every kernel ignore it) and np.matrix's semantics (`*` is a matrix
    product, every result is 2-D). Called where arrays enter dlcore: the kernel API, dl.tensor, layer
    inputs and the data given to fit / evaluate / predict."""
    if isinstance(x, np.ndarray) and type(x) is not np.ndarray:
        what = f"'{name}' " if name else ""
        if isinstance(x, np.ma.MaskedArray):
            raise TypeError(f"{where}: {what}is a NumPy masked array, and dlcore would ignore its mask; fill the "
                            "masked values first (x.filled(value)), or drop the masked samples")
        if isinstance(x, np.matrix):
            raise TypeError(f"{where}: {what}is a np.matrix; pass np.asarray(x)")


def float_array(xp, x, op: str, name: str):
    """`x` as a float32/float64 array of module `xp`, or a TypeError naming `op` and `name`.

    On the GPU another library's device array (``__cuda_array_interface__``) is viewed, not copied.
    """
    if not isinstance(x, xp.ndarray):
        if xp is not np and hasattr(x, "__cuda_array_interface__"):
            x = xp.asarray(x)
        else:
            raise TypeError(f"{op}: '{name}' must be a {kind(xp)} array, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}: '{name}' must have dtype float32 or float64, got {x.dtype}")
    return x


def optional_float_array(xp, x, op: str, name: str):
    return None if x is None else float_array(xp, x, op, name)


def same_dtype(op: str, **arrays):
    """The common dtype of the named arrays (None entries skipped), or a TypeError listing them."""
    dtypes = {name: a.dtype for name, a in arrays.items() if a is not None}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{n}={d}" for n, d in dtypes.items())
        raise TypeError(f"{op}: arrays must share one dtype (no implicit float32/float64 mixing), got {listed}")
    return next(iter(dtypes.values()))


def check_ndim(x, ndim: int, op: str, name: str, layout: str = ""):
    if x.ndim != ndim:
        hint = f" {layout}" if layout else ""
        raise ValueError(f"{op}: '{name}' must be {ndim}-D{hint}, got shape {tuple(x.shape)}")


def check_shape(x, shape: tuple, op: str, name: str):
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{op}: '{name}' must have shape {tuple(shape)}, got {tuple(x.shape)}")


def shape_arg(shape, op: str, name: str) -> tuple:
    """A shape argument (x_shape, w_shape) as a tuple of ints, or a ValueError."""
    if not isinstance(shape, (tuple, list)) or not all(is_int(v) for v in shape):
        raise ValueError(f"{op}: '{name}' must be a tuple of ints, got {shape!r}")
    return tuple(int(v) for v in shape)


def element_strided(xp, x):
    """`x` itself when every stride is a whole number of elements, else a contiguous copy."""
    if any(s % x.itemsize for s in x.strides):
        return xp.ascontiguousarray(x)
    return x


def contiguous(xp, x):
    """A C-contiguous version of `x` (itself when it already is; None stays None)."""
    return None if x is None else xp.ascontiguousarray(x)


def writable(x) -> bool:
    return getattr(x.flags, "writeable", True)  # CuPy arrays are always writable


def output(xp, out, shape: tuple, dtype, op: str, *inputs):
    """The array to write into: a new one when `out` is None, `out` after checking it otherwise.

    Returns (target, out): `target` is what the backend writes (a fresh C-contiguous temporary when
    `out` overlaps one of `inputs` or is not C-contiguous), `out` is what the caller returns; copy
    target into out when they differ.
    """
    if out is None:
        a = xp.empty(shape, dtype=dtype)
        return a, a
    if not isinstance(out, xp.ndarray):
        raise TypeError(f"{op}: 'out' must be a {kind(xp)} array, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"{op}: 'out' must have dtype {np.dtype(dtype)}, got {out.dtype}")
    check_shape(out, shape, op, "out")
    if not writable(out):
        raise ValueError(f"{op}: 'out' is read-only")
    overlaps = any(x is not None and xp.may_share_memory(out, x) for x in inputs)
    if overlaps or not out.flags.c_contiguous:
        return xp.empty(shape, dtype=dtype), out
    return out, out


def finish(target, out):
    """Copy the backend's `target` into the caller's `out` when they differ; return `out`."""
    if target is not out:
        out[...] = target
    return out
