"""The elementwise, comparison and reduction ops and einsum as functions: `dl.where`, `dl.maximum`,
`dl.clamp`, `dl.eq`, `dl.var`, `dl.cumsum`, `dl.argmax`, `dl.einsum`, ...

Each takes Tensors (arrays and numbers become constants) and applies the Tensor method or op of
the same name, with PyTorch's names and arguments; the NumPy / Keras names of the same operations
are aliases (`clip` for `clamp`, `greater` for `gt`). The functions that select, repeat and reorder
(`dl.split`, `dl.gather`, `dl.pad`, ...) are in `tensor_functions_rearrange.py`.
"""
from __future__ import annotations

import numpy as np

from .primitives import Einsum
from .primitives.einsum import parse
from .tensor import Tensor


def _t(x, op, name="input"):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, list, tuple, int, float, bool, np.generic)) or hasattr(x, "__array__") \
            or hasattr(x, "__cuda_array_interface__"):
        return Tensor(x)
    raise TypeError(f"{op}: '{name}' must be a Tensor, an array or a number, got {type(x).__name__}")


def _pair(op, input, other):
    """Two operands as tensors; a number beside a tensor takes the tensor's dtype (as in `t + 1.0`)."""
    ref = input if isinstance(input, Tensor) else other if isinstance(other, Tensor) else None
    out = []
    for name, v in (("input", input), ("other", other)):
        if isinstance(v, Tensor):
            out.append(v)
        elif ref is not None and isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(ref._other(v))
        else:
            out.append(_t(v, op, name))
    return out


# ---- elementwise -------------------------------------------------------------------------------

def where(condition, input=None, other=None):
    """Elementwise choice: `input` where `condition` holds, `other` elsewhere (broadcast together).

    Differentiable with respect to `input` and `other`. With only a condition, the indices of its
    true entries, one int64 tensor per axis (NumPy's `nonzero`).

    Args:
        condition: a boolean Tensor or array.
        input: the values taken where `condition` is true (a Tensor, array or number).
        other: the values taken elsewhere.

    Example:

    ```python
    import dlcore as dl

    x = dl.tensor([-1.0, 2.0, -3.0], requires_grad=True)
    y = dl.where(x > 0, x, 0.0)
    y.sum().backward()
    assert y.tolist() == [0.0, 2.0, 0.0] and x.grad.tolist() == [0.0, 1.0, 0.0]
    ```
    """
    cond = _t(condition, "where", "condition")
    if cond.dtype != np.bool_:
        raise TypeError(f"where: 'condition' must be a boolean tensor (a comparison such as x > 0), got dtype "
                        f"{cond.dtype}")
    if input is None and other is None:
        return tuple(Tensor._make(i.astype(np.int64, copy=False)) for i in cond.xp.nonzero(cond.data))
    if input is None or other is None:
        raise TypeError("where: pass both 'input' and 'other', or only the condition")
    x, y = _pair("where", input, other)
    return x.where(cond, y)


def maximum(input, other):
    """The elementwise maximum of two tensors (broadcast); where they tie, each gets half the gradient.

    Args:
        input: a Tensor, array or number.
        other: a Tensor, array or number (a number takes the tensor's dtype).

    Example:

    ```python
    import dlcore as dl

    assert dl.maximum(dl.tensor([1.0, 5.0]), dl.tensor([3.0, 2.0])).tolist() == [3.0, 5.0]
    ```
    """
    a, b = _pair("maximum", input, other)
    return a.maximum(b)


def minimum(input, other):
    """The elementwise minimum of two tensors (broadcast); where they tie, each gets half the gradient.

    Args:
        input: a Tensor, array or number.
        other: a Tensor, array or number (a number takes the tensor's dtype).

    Example:

    ```python
    import dlcore as dl

    assert dl.minimum(dl.tensor([1.0, 5.0]), 2.0).tolist() == [1.0, 2.0]
    ```
    """
    a, b = _pair("minimum", input, other)
    return a.minimum(b)


def clamp(input, min=None, max=None):
    """`input` clipped to [min, max]; bounds are numbers or tensors (broadcast), either may be None.

    Args:
        input: the tensor.
        min: the lower bound (a number, a tensor broadcast against `input`, or None).
        max: the upper bound (likewise).

    The gradient goes to the input where min <= input <= max, else to the bound taken.

    Example:

    ```python
    import dlcore as dl

    assert dl.clamp(dl.tensor([-2.0, 0.5, 3.0]), -1.0, 1.0).tolist() == [-1.0, 0.5, 1.0]
    ```
    """
    return _t(input, "clamp").clamp(min, max)


clip = clamp


# comparisons: boolean tensors, no gradient (PyTorch's names, then NumPy's)
_CMP_DOC = """input {sym} other elementwise (broadcast), a boolean tensor without gradient; also `dl.{alias}`.

    Args:
        input: a Tensor, array or number.
        other: a Tensor, array or number.

    Example:

    ```python
    import dlcore as dl

    assert dl.{name}(dl.tensor([1.0, 2.0, 3.0]), 2.0).tolist() == {result}
    ```
    """


def eq(input, other):
    return _t(input, "eq") == other


def ne(input, other):
    return _t(input, "ne") != other


def lt(input, other):
    return _t(input, "lt") < other


def le(input, other):
    return _t(input, "le") <= other


def gt(input, other):
    return _t(input, "gt") > other


def ge(input, other):
    return _t(input, "ge") >= other


for _f, _sym, _alias, _result in [(eq, "==", "equal", [False, True, False]),
                                  (ne, "!=", "not_equal", [True, False, True]),
                                  (lt, "<", "less", [True, False, False]),
                                  (le, "<=", "less_equal", [True, True, False]),
                                  (gt, ">", "greater", [False, False, True]),
                                  (ge, ">=", "greater_equal", [False, True, True])]:
    _f.__doc__ = _CMP_DOC.format(sym=_sym, alias=_alias, name=_f.__name__, result=_result)
equal, not_equal, less, less_equal, greater, greater_equal = eq, ne, lt, le, gt, ge


def logical_and(input, other):
    """Elementwise `input and other` of two boolean (or truthy) tensors; a boolean tensor, no gradient.

    Example:

    ```python
    import dlcore as dl

    x = dl.tensor([-1.0, 0.5, 2.0])
    assert dl.logical_and(x > 0, x < 1).tolist() == [False, True, False]
    ```
    """
    return _t(input, "logical_and").to(dtype=bool) & _t(other, "logical_and", "other").to(dtype=bool)


def logical_or(input, other):
    """Elementwise `input or other`; a boolean tensor, no gradient.

    Example:

    ```python
    import dlcore as dl

    x = dl.tensor([-1.0, 0.5, 2.0])
    assert dl.logical_or(x < 0, x > 1).tolist() == [True, False, True]
    ```
    """
    return _t(input, "logical_or").to(dtype=bool) | _t(other, "logical_or", "other").to(dtype=bool)


def logical_not(input):
    """Elementwise `not input`; a boolean tensor, no gradient (also `~t` on a boolean tensor).

    Example:

    ```python
    import dlcore as dl

    assert dl.logical_not(dl.tensor([True, False])).tolist() == [False, True]
    ```
    """
    return ~_t(input, "logical_not").to(dtype=bool)


# ---- reductions and scans -----------------------------------------------------------------------

def var(input, dim=None, keepdim=False, *, correction=None, ddof=None, unbiased=None, axis=None, keepdims=None):
    """Variance over `dim` (all axes when None): sum((x - mean)^2) / (N - correction).

    Args:
        input: the tensor.
        dim: an int or a tuple of ints (NumPy's name `axis` works too); None for all axes.
        keepdim: keep the reduced axes with length 1 (also `keepdims`).
        correction: subtracted from N in the divisor (also `ddof`; `unbiased=True` means 1).

    The default correction is 0 (the population variance, as NumPy and Keras); PyTorch's `var`
    defaults to 1: pass `correction=1` (or `unbiased=True`, or NumPy's `ddof=1`) for its result.

    Example:

    ```python
    import dlcore as dl

    x = dl.tensor([1.0, 2.0, 3.0, 4.0])
    assert dl.var(x).item() == 1.25 and abs(dl.var(x, correction=1).item() - 5 / 3) < 1e-6
    ```
    """
    return _t(input, "var").var(axis, keepdims or False, correction=correction, ddof=ddof, unbiased=unbiased,
                                dim=dim, keepdim=keepdim or None)


def std(input, dim=None, keepdim=False, *, correction=None, ddof=None, unbiased=None, axis=None, keepdims=None):
    """Standard deviation: the square root of `var` (same arguments; population by default).

    Example:

    ```python
    import dlcore as dl

    assert dl.std(dl.tensor([1.0, 3.0])).item() == 1.0
    ```
    """
    return _t(input, "std").std(axis, keepdims or False, correction=correction, ddof=ddof, unbiased=unbiased,
                                dim=dim, keepdim=keepdim or None)


def cumsum(input, dim=None, *, axis=None):
    """Cumulative sum along `dim` (None: over the flattened tensor, as NumPy does; also `axis`).

    Output shape: the input's (flattened when `dim` is None). Differentiable (the gradient is the
    reversed cumulative sum).

    Example:

    ```python
    import dlcore as dl

    assert dl.cumsum(dl.tensor([[1.0, 2.0], [3.0, 4.0]]), dim=1).tolist() == [[1.0, 3.0], [3.0, 7.0]]
    ```
    """
    return _t(input, "cumsum").cumsum(axis, dim=dim)


def argmax(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Indices of the largest entries along `dim` (of the flattened tensor when None); int64, no gradient.

    Example:

    ```python
    import dlcore as dl

    assert dl.argmax(dl.tensor([[1.0, 9.0], [8.0, 2.0]]), dim=1).tolist() == [1, 0]
    ```
    """
    return _t(input, "argmax").argmax(axis, keepdims or False, dim=dim, keepdim=keepdim or None)


def argmin(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Indices of the smallest entries along `dim` (of the flattened tensor when None); int64, no gradient.

    Example:

    ```python
    import dlcore as dl

    assert dl.argmin(dl.tensor([3.0, 1.0, 2.0])).item() == 1
    ```
    """
    return _t(input, "argmin").argmin(axis, keepdims or False, dim=dim, keepdim=keepdim or None)


# ---- einsum ----------------------------------------------------------------------------------------------

def einsum(subscripts, *operands):
    """Einstein summation over the operands' axes named by `subscripts` ('ij,jk->ik' is a matmul).

    Any subscripts NumPy accepts: '...' for broadcast axes, an implicit output, repeated letters
    (diagonals, traces). Differentiable (twice) with respect to every operand.

    Args:
        subscripts: the axes of each operand, comma-separated, then optionally '->' and the output's.
        *operands: the tensors (or a single list of them).

    Example:

    ```python
    import dlcore as dl

    a, b = dl.randn(2, 3, requires_grad=True), dl.randn(3, 4)
    c = dl.einsum("ij,jk->ik", a, b)
    c.sum().backward()
    assert c.shape == (2, 4) and a.grad.shape == (2, 3)
    ```
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise TypeError("einsum: expected at least one operand")
    ts = [_t(o, "einsum", f"operands[{k}]") for k, o in enumerate(operands)]
    terms, out = parse(subscripts, [t.shape for t in ts])
    return Einsum.apply(*ts, terms=terms, out=out)
