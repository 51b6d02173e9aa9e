"""dl.ops, NumPy-like part: tensors, elementwise math, reductions, comparisons, shapes (Keras's
keras.ops / keras.ops.numpy)."""
from __future__ import annotations

import numpy as np

from ..functional._common import _array
from ..tensor import Tensor, arange as _arange, concatenate as _concatenate, stack as _stack, tensor as _tensor
from .. import tensor_functions as tf
from .. import tensor_functions_rearrange as tfr
from ._common import _t

__all__ = [
    "convert_to_tensor", "convert_to_numpy", "is_tensor", "cast", "shape", "ndim", "size", "stop_gradient",
    "zeros", "ones", "zeros_like", "ones_like", "full", "full_like", "arange", "eye", "identity", "add",
    "subtract", "multiply", "divide", "true_divide", "negative", "power", "matmul", "dot", "exp", "log", "log1p",
    "expm1", "sqrt", "square", "abs", "absolute", "reciprocal", "sign", "floor", "ceil", "round", "clip",
    "maximum", "minimum", "where", "sum", "mean", "max", "min", "amax", "amin", "var", "std", "argmax", "argmin",
    "all", "any", "logsumexp", "cumsum", "moments", "normalize", "equal", "not_equal", "greater", "greater_equal",
    "less", "less_equal", "logical_and", "logical_or", "logical_not", "reshape", "transpose", "expand_dims",
    "squeeze", "concatenate", "stack", "split", "ravel", "swapaxes", "broadcast_to", "take", "take_along_axis",
    "tile", "repeat", "flip", "pad", "einsum", "sort", "top_k", "in_top_k",
]


# ---- tensors --------------------------------------------------------------------------------------

def convert_to_tensor(x, dtype=None, sparse=None):
    """x as a Tensor (a Tensor is returned as is, or cast to dtype)."""
    if sparse:
        raise ValueError("dlcore.ops.convert_to_tensor: sparse tensors are not supported")
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == np.dtype(dtype) else x.astype(dtype)
    return _tensor(x, dtype=dtype)


def convert_to_numpy(x):
    """x as a NumPy array (copied from the GPU when needed)."""
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def is_tensor(x):
    return isinstance(x, Tensor)


def cast(x, dtype):
    return _t(x).astype(dtype)


def shape(x):
    return tuple(_t(x).shape)


def ndim(x):
    return _t(x).ndim


def size(x):
    return int(np.prod(shape(x)))


def stop_gradient(variable):
    return _t(variable).detach()


def zeros(shape, dtype=None):
    return _tensor(np.zeros(shape, dtype=dtype or np.float32))


def ones(shape, dtype=None):
    return _tensor(np.ones(shape, dtype=dtype or np.float32))


def full(shape, fill_value, dtype=None):
    return _tensor(np.full(shape, fill_value, dtype=dtype or np.float32))


def zeros_like(x, dtype=None):
    x = _t(x)
    return Tensor(x.xp.zeros(x.shape, dtype=dtype or x.dtype))


def ones_like(x, dtype=None):
    x = _t(x)
    return Tensor(x.xp.ones(x.shape, dtype=dtype or x.dtype))


def full_like(x, fill_value, dtype=None):
    x = _t(x)
    return Tensor(x.xp.full(x.shape, fill_value, dtype=dtype or x.dtype))


def arange(start, stop=None, step=1, dtype=None):
    return _arange(start, stop, step, dtype=dtype)


def eye(N, M=None, k=0, dtype=None):
    return _tensor(np.eye(N, M, k, dtype=dtype or np.float32))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


# ---- elementwise math ---------------------------------------------------------------------------

def add(x1, x2):
    return _t(x1) + x2


def subtract(x1, x2):
    return _t(x1) - x2


def multiply(x1, x2):
    return _t(x1) * x2


def divide(x1, x2):
    return _t(x1) / x2


true_divide = divide


def negative(x):
    return -_t(x)


def power(x1, x2):
    return _t(x1) ** x2


def matmul(x1, x2):
    return _t(x1) @ _t(x2)


def dot(x1, x2):
    """The matrix product for operands of rank 1 or 2 (NumPy's dot of higher ranks is not provided)."""
    x1, x2 = _t(x1), _t(x2)
    if x1.ndim > 2 or x2.ndim > 2:
        raise ValueError(f"dlcore.ops.dot: operands of rank <= 2 only, got shapes {x1.shape} and {x2.shape} "
                         f"(use ops.matmul or ops.einsum)")
    if x1.ndim == 0 or x2.ndim == 0:
        return x1 * x2
    return x1 @ x2


def exp(x):
    return _t(x).exp()


def log(x):
    return _t(x).log()


def log1p(x):
    return (_t(x) + 1.0).log()


def expm1(x):
    return _t(x).exp() - 1.0


def sqrt(x):
    return _t(x).sqrt()


def square(x):
    x = _t(x)
    return x * x


def abs(x):  # noqa: A001 - Keras's name
    return _t(x).abs()


absolute = abs


def reciprocal(x):
    return 1.0 / _t(x)


def sign(x):
    x = _t(x)
    return Tensor(x.xp.sign(x.data))


def floor(x):
    x = _t(x)
    return Tensor(x.xp.floor(x.data))


def ceil(x):
    x = _t(x)
    return Tensor(x.xp.ceil(x.data))


def round(x, decimals=0):  # noqa: A001 - Keras's name
    x = _t(x)
    return Tensor(x.xp.round(x.data, decimals))


def clip(x, x_min, x_max):
    return _t(x).clip(x_min, x_max)


def maximum(x1, x2):
    x1 = _t(x1)
    return tf.maximum(x1, _t(x2))


def minimum(x1, x2):
    x1 = _t(x1)
    return tf.minimum(x1, _t(x2))


def where(condition, x1=None, x2=None):
    """Elements of x1 where condition, else of x2 (both given); the indices of the true elements
    (neither given, as NumPy's nonzero)."""
    c = _t(condition)
    if x1 is None and x2 is None:
        return tuple(Tensor(i) for i in c.xp.nonzero(c.data))
    if x1 is None or x2 is None:
        raise ValueError("dlcore.ops.where: give both x1 and x2, or neither")
    x1 = _t(x1)
    return tf.where(Tensor(c.data.astype(bool)), x1, _t(x2))


# ---- reductions -----------------------------------------------------------------------------------

def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return _t(x).sum(axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return _t(x).mean(axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return _t(x).max(axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return _t(x).min(axis=axis, keepdims=keepdims)


amax, amin = max, min


def var(x, axis=None, keepdims=False):
    """The population variance (NumPy's and Keras's, ddof = 0)."""
    return _t(x).var(axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """The population standard deviation (ddof = 0)."""
    return var(x, axis, keepdims).sqrt()


def argmax(x, axis=None, keepdims=False):
    x = _t(x)
    out = x.xp.argmax(x.data, axis=axis)
    return Tensor(x.xp.expand_dims(out, axis) if keepdims and axis is not None else out)


def argmin(x, axis=None, keepdims=False):
    x = _t(x)
    out = x.xp.argmin(x.data, axis=axis)
    return Tensor(x.xp.expand_dims(out, axis) if keepdims and axis is not None else out)


def all(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    x = _t(x)
    return Tensor(x.xp.all(x.data, axis=axis, keepdims=keepdims))


def any(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    x = _t(x)
    return Tensor(x.xp.any(x.data, axis=axis, keepdims=keepdims))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) computed stably (the maximum taken out first)."""
    x = _t(x)
    m = x.detach().max(axis=axis, keepdims=True)
    out = (x - m).exp().sum(axis=axis, keepdims=True).log() + m
    if keepdims:
        return out
    axes = range(x.ndim) if axis is None else [a % x.ndim for a in (axis if isinstance(axis, (list, tuple)) else [axis])]
    return out.reshape(tuple(d for i, d in enumerate(x.shape) if i not in set(axes)))


def cumsum(x, axis=None, dtype=None):
    x = _t(x) if dtype is None else _t(x).astype(dtype)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return tf.cumsum(x, axis)


def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) over axes."""
    if synchronized:
        raise ValueError("dlcore.ops.moments: synchronized=True (across devices) is not supported")
    x = _t(x)
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else axes
    return x.mean(axis=axes, keepdims=keepdims), x.var(axis=axes, keepdims=keepdims)


def normalize(x, axis=-1, order=2, epsilon=None):
    """x / max(||x||, epsilon) along axis (the L2 norm; epsilon defaults to 1e-7)."""
    if order != 2:
        raise ValueError(f"dlcore.ops.normalize: only order=2 is supported, got {order!r}")
    eps = 1e-7 if epsilon is None else epsilon
    x = _t(x)
    return x / (x * x).sum(axis=axis, keepdims=True).clip(eps * eps, None).sqrt()


# ---- comparisons (no gradient) ----------------------------------------------------------------------

def equal(x1, x2):
    return _t(x1) == x2


def not_equal(x1, x2):
    return _t(x1) != x2


def greater(x1, x2):
    return _t(x1) > x2


def greater_equal(x1, x2):
    return _t(x1) >= x2


def less(x1, x2):
    return _t(x1) < x2


def less_equal(x1, x2):
    return _t(x1) <= x2


def logical_and(x1, x2):
    a = _t(x1)
    return Tensor(a.xp.logical_and(a.data, _t(x2).data))


def logical_or(x1, x2):
    a = _t(x1)
    return Tensor(a.xp.logical_or(a.data, _t(x2).data))


def logical_not(x):
    a = _t(x)
    return Tensor(a.xp.logical_not(a.data))


# ---- shapes ---------------------------------------------------------------------------------------

def reshape(x, newshape):
    return _t(x).reshape(tuple(newshape) if isinstance(newshape, (list, tuple)) else newshape)


def transpose(x, axes=None):
    return _t(x).transpose(*axes) if axes is not None else _t(x).transpose()


def expand_dims(x, axis):
    """New axes of size 1 (Keras's / NumPy's expand_dims): `axis` is an int or a tuple / list of ints, the
    places of the new axes in the result (negative ones counted from its end).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    x = np.ones((2, 3))
    assert dl.ops.expand_dims(x, -1).shape == (2, 3, 1)
    assert dl.ops.expand_dims(x, (0, 3)).shape == (1, 2, 3, 1)
    ```
    """
    x = _t(x)
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    ndim = x.ndim + len(axes)
    for a in axes:  # a loop: this module's `all` and `any` are the ops
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"dlcore.ops.expand_dims: 'axis' must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"dlcore.ops.expand_dims: 'axis' {axis!r} is out of range for a result of {ndim} "
                             f"dimensions (an input of shape {tuple(x.shape)} and {len(axes)} new axes)")
    places = {int(a) % ndim for a in axes}
    if len(places) != len(axes):
        raise ValueError(f"dlcore.ops.expand_dims: 'axis' {axis!r} names the same place twice")
    sizes = iter(x.shape)
    return x.reshape(tuple(1 if i in places else next(sizes) for i in range(ndim)))


def squeeze(x, axis=None):
    return _t(x).squeeze(axis)


def concatenate(xs, axis=0):
    return _concatenate([_t(x) for x in xs], axis=axis)


def stack(x, axis=0):
    return _stack([_t(v) for v in x], axis=axis)


def split(x, indices_or_sections, axis=0):
    """NumPy's split: an int n (equal sections) or the indices where to cut; differentiable slices."""
    x = _t(x)
    axis = axis % x.ndim
    n = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ValueError(f"dlcore.ops.split: axis {axis} of size {n} does not split into {indices_or_sections} "
                             f"equal sections")
        step = n // indices_or_sections
        cuts = list(range(step, n, step))
    else:
        cuts = list(indices_or_sections)
    bounds = [0] + cuts + [n]
    lead = (slice(None),) * axis
    return [x[lead + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:])]


def ravel(x):
    return _t(x).reshape(-1)


def swapaxes(x, axis1, axis2):
    x = _t(x)
    axes = list(range(x.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return x.transpose(*axes)


def broadcast_to(x, shape):
    x = _t(x)
    return x + Tensor(x.xp.zeros(shape, dtype=x.dtype))


def take(x, indices, axis=None):
    """x's elements at indices along axis (flattened when axis is None); differentiable in x."""
    x = _t(x)
    idx = _array(indices)
    if axis is None:
        return x.reshape(-1)[idx]
    return x[(slice(None),) * (axis % x.ndim) + (idx,)]


def take_along_axis(x, indices, axis=None):
    x = _t(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return tfr.take_along_axis(x, _t(indices), axis)


def tile(x, repeats):
    x = _t(x)
    return tfr.tile(x, tuple(repeats) if isinstance(repeats, (list, tuple)) else (repeats,))


def repeat(x, repeats, axis=None):
    """NumPy's repeat (each element `repeats` times along axis; the tensor flattened when None)."""
    x = _t(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return tfr.repeat_interleave(x, repeats, axis)


def flip(x, axis=None):
    x = _t(x)
    axes = tuple(range(x.ndim)) if axis is None else (tuple(axis) if isinstance(axis, (list, tuple)) else (axis,))
    return tfr.flip(x, axes)


def pad(x, pad_width, mode="constant", constant_values=None):
    return tfr.pad(_t(x), pad_width, mode=mode, constant_values=0 if constant_values is None else constant_values)


def einsum(subscripts, *operands):
    return tf.einsum(subscripts, *[_t(o) for o in operands])


def sort(x, axis=-1):
    """The values sorted in increasing order along axis."""
    x = _t(x)
    return tfr.sort(x, axis)[0]


def top_k(x, k, sorted=True):  # noqa: A002 - Keras's name
    """(values, indices) of the k largest entries along the last axis."""
    x = _t(x)
    return tuple(tfr.topk(x, k, -1, True, sorted))


def in_top_k(targets, predictions, k):
    """Per row: the target class is among the k largest predictions (ties with the k-th count)."""
    p = convert_to_numpy(predictions)
    t = convert_to_numpy(targets).astype(np.int64).reshape(-1)
    if k >= p.shape[-1]:
        return _tensor(np.ones(t.shape, bool))
    kth = np.sort(p, axis=-1)[:, -k]
    return _tensor(p[np.arange(t.size), t] >= kth)
