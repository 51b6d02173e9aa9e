"""Reshaping ops of the Keras layers ZeroPadding*, Cropping*, RepeatVector and Permute, written with
array code through `xp` (no C++ kernel: each is one copy)."""
from __future__ import annotations

from ..autograd import Function
from ..primitives import get_array_module
from ._common import _t


class ZeroPad(Function):
    """Zeros around the input; the gradient is the slice of g where the input was."""

    def forward(self, x, pad_width):
        self.inside = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        return get_array_module(x).pad(x, pad_width)

    def backward(self, g):
        return g[self.inside]


class RepeatVector(Function):
    def forward(self, x, n):
        return get_array_module(x).repeat(x[:, None, :], n, axis=1)

    def backward(self, g):
        return g.sum(axis=1)


def _pairs(op, name, value, n):
    """An int, an n-tuple of ints or an n-tuple of (before, after) pairs, all >= 0, as n pairs."""
    def ok(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0
    if ok(value):
        return ((value, value),) * n
    if isinstance(value, (tuple, list)) and len(value) == n:
        if all(ok(v) for v in value):
            return tuple((v, v) for v in value)
        if all(isinstance(v, (tuple, list)) and len(v) == 2 and all(ok(u) for u in v) for v in value):
            return tuple((v[0], v[1]) for v in value)
    if n == 1 and isinstance(value, (tuple, list)) and len(value) == 2 and all(ok(v) for v in value):
        return ((value[0], value[1]),)
    raise ValueError(f"{op}: '{name}' must be a non-negative int, a tuple of {n} ints or a tuple of {n} "
                     f"(before, after) pairs, got {value!r}")


def zero_padding(x, padding, axes):
    """Zeros added before and after each of `axes`: padding[i] = (before, after) for axes[i].

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    assert F.zero_padding(np.ones((2, 3, 4)), [(1, 2)], axes=(1,)).shape == (2, 6, 4)
    ```
    """
    x = _t(x)
    width = [(0, 0)] * x.ndim
    for axis, pair in zip(axes, padding):
        width[axis] = tuple(int(v) for v in pair)
    return ZeroPad.apply(x, pad_width=tuple(width))


def cropping(x, cropping, axes):
    """The input without cropping[i] = (before, after) positions at the ends of axes[i].

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    assert F.cropping(np.ones((2, 6, 4)), [(1, 2)], axes=(1,)).shape == (2, 3, 4)
    ```
    """
    x = _t(x)
    index = [slice(None)] * x.ndim
    for axis, (before, after) in zip(axes, cropping):
        n = x.shape[axis]
        if before + after >= n:
            raise ValueError(f"cropping: cannot crop {before} + {after} positions from an axis of {n} "
                             f"(input shape {x.shape})")
        index[axis] = slice(before, n - after)
    return x[tuple(index)]


def repeat_vector(x, n):
    """(batch, features) -> (batch, n, features): the input repeated n times (Keras's RepeatVector).

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    assert F.repeat_vector(np.ones((2, 3)), 4).shape == (2, 4, 3)
    ```
    """
    x = _t(x)
    if x.ndim != 2:
        raise ValueError(f"repeat_vector: expected a 2-D input (batch, features), got shape {x.shape}")
    return RepeatVector.apply(x, n=int(n))
