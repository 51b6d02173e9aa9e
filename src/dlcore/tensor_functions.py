"""The tensor ops as functions: `dl.where`, `dl.maximum`, `dl.einsum`, `dl.split`, `dl.gather`, ...

Each takes Tensors (arrays and numbers become constants) and applies the Tensor method or op of
the same name, with PyTorch's names and arguments; the NumPy / Keras names of the same operations
are aliases (`clip` for `clamp`, `greater` for `gt`, `take_along_axis` for `gather` with NumPy's
argument order). `pad` follows NumPy and Keras (`pad_width` per axis); PyTorch's form, the pad
tuple from the last axis, is `dlcore.functional.pad`.
"""
from __future__ import annotations

import numpy as np

from .ops import Einsum, GetItem, Pad
from .ops.einsum import parse
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


# ---- pieces, repetition, order ----------------------------------------------------------------------

def split(tensor, split_size_or_sections, dim=None, *, axis=None):
    """Pieces of `tensor` along `dim` (default 0): each `split_size_or_sections` long (an int; the
    last may be shorter) or of the listed lengths. PyTorch's split; the pieces are views.

    Args:
        tensor: the tensor.
        split_size_or_sections: the length of every piece (int), or the list of lengths, which
            must add up to the axis's length. (NumPy's `split` takes a number of equal sections
            or cut indices instead.)
        dim: the axis (also `axis`).

    Returns a tuple of tensors; unused pieces get a zero gradient.

    Example:

    ```python
    import dlcore as dl

    a, b = dl.split(dl.arange(5), [2, 3])
    assert a.tolist() == [0, 1] and b.tolist() == [2, 3, 4]
    ```
    """
    return _t(tensor, "split", "tensor").split(split_size_or_sections, dim, axis=axis)


def chunk(input, chunks, dim=None, *, axis=None):
    """`chunks` pieces of equal length along `dim` (default 0; the last may be shorter), as PyTorch's chunk.

    Example:

    ```python
    import dlcore as dl

    assert [c.shape for c in dl.chunk(dl.zeros(5, 2), 2)] == [(3, 2), (2, 2)]
    ```
    """
    return _t(input, "chunk").chunk(chunks, dim, axis=axis)


def tile(input, reps):
    """`input` repeated `reps[i]` times along axis i (NumPy's and PyTorch's tile; `Tensor.repeat` is
    the same with one entry per axis).

    Args:
        input: the tensor.
        reps: an int or a sequence of non-negative ints; a shorter one is padded with 1s in front, a
            longer one adds leading axes.

    Output shape: `input.shape[i] * reps[i]` per axis. Differentiable (the copies' gradients add up).

    Example:

    ```python
    import dlcore as dl

    assert dl.tile(dl.tensor([1, 2]), (2,)).tolist() == [1, 2, 1, 2]
    ```
    """
    return _t(input, "tile").tile(reps)


def repeat_interleave(input, repeats, dim=None, *, axis=None):
    """Each entry repeated `repeats` times (an int, or one count per entry along `dim`), copies side
    by side; `dim` None works on the flattened tensor. NumPy's and Keras's `repeat`.

    Args:
        input: the tensor.
        repeats: an int, or a 1-D integer tensor/list with one non-negative count per entry.
        dim: the axis (also `axis`); None repeats the flattened tensor.

    Example:

    ```python
    import dlcore as dl

    assert dl.repeat_interleave(dl.tensor([1, 2]), 2).tolist() == [1, 1, 2, 2]
    ```
    """
    return _t(input, "repeat_interleave").repeat_interleave(repeats, dim, axis=axis)


def flip(input, dims=None, *, axis=None):
    """The entries of the axes `dims` in reverse order (all axes when None; also `axis`). A view.

    Example:

    ```python
    import dlcore as dl

    assert dl.flip(dl.tensor([[1, 2], [3, 4]]), 1).tolist() == [[2, 1], [4, 3]]
    ```
    """
    return _t(input, "flip").flip(dims, axis=axis)


def gather(input, dim, index):
    """out[i][j] = input[index[i][j]][j] for dim 0, input[i][index[i][j]] for dim 1 (PyTorch's gather).

    Args:
        input: the tensor.
        dim: the axis the indices point along.
        index: an integer tensor with as many axes as `input`, no longer than it along the other
            axes, values in [0, input.shape[dim]).

    Output shape: `index.shape`. Differentiable with respect to `input` (the gradient is
    scatter-added back, repeated indices adding up).

    Example:

    ```python
    import dlcore as dl

    x = dl.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert dl.gather(x, 1, dl.tensor([[1, 1], [0, 1]])).tolist() == [[2.0, 2.0], [3.0, 4.0]]
    ```
    """
    return _t(input, "gather").gather(dim, index)


def take_along_axis(arr, indices, axis):
    """NumPy's name and argument order of `gather`: `take_along_axis(x, idx, axis) == gather(x, axis, idx)`.

    Example:

    ```python
    import dlcore as dl

    x = dl.tensor([[10.0, 30.0, 20.0]])
    assert dl.take_along_axis(x, dl.argsort(x, dim=1), 1).tolist() == [[10.0, 20.0, 30.0]]
    ```
    """
    return _t(arr, "take_along_axis", "arr").gather(axis, indices)


def index_select(input, dim, index):
    """The entries `index` (1-D integers, repeats allowed) along `dim`, in that order.

    Example:

    ```python
    import dlcore as dl

    assert dl.index_select(dl.tensor([5.0, 6.0, 7.0]), 0, [2, 0, 2]).tolist() == [7.0, 5.0, 7.0]
    ```
    """
    return _t(input, "index_select").index_select(dim, index)


def take(a, indices, axis=None):
    """NumPy's and Keras's take: the entries `indices` along `axis` (of the flattened tensor when None).

    Args:
        a: the tensor.
        indices: integers (any shape; repeats allowed), in [0, length).
        axis: the axis to take along; None takes from the flattened tensor.

    Output shape: `a.shape[:axis] + indices.shape + a.shape[axis + 1:]`. Differentiable in `a`.

    Example:

    ```python
    import dlcore as dl

    x = dl.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert dl.take(x, [3, 0]).tolist() == [4.0, 1.0]
    assert dl.take(x, [1, 1], axis=1).tolist() == [[2.0, 2.0], [4.0, 4.0]]
    ```
    """
    t = _t(a, "take", "a")
    if axis is None:
        idx = t._index_array("take", indices)
        t._check_range("take", idx, t.size, 0)
        return GetItem.apply(t.reshape(-1), index=idx)
    return t.index_select(axis, t.xp.asarray(t._index_array("take", indices)).reshape(-1)).reshape(
        t.shape[:axis % t.ndim] + tuple(np.shape(indices)) + t.shape[axis % t.ndim + 1:])


def sort(input, dim=None, descending=False, *, axis=None):
    """(values, indices) of `input` sorted along `dim` (default -1); the values are differentiable.

    Args:
        input: the tensor.
        dim: the axis (also `axis`).
        descending: largest first. The sort is stable either way (ties keep their order).

    Example:

    ```python
    import dlcore as dl

    values, indices = dl.sort(dl.tensor([3.0, 1.0, 2.0]))
    assert values.tolist() == [1.0, 2.0, 3.0] and indices.tolist() == [1, 2, 0]
    ```
    """
    return _t(input, "sort").sort(dim, descending, axis=axis)


def argsort(input, dim=None, descending=False, *, axis=None):
    """The indices that sort `input` along `dim` (default -1; stable: ties keep their order); int64,
    no gradient.

    Example:

    ```python
    import dlcore as dl

    assert dl.argsort(dl.tensor([3.0, 1.0, 2.0]), descending=True).tolist() == [0, 2, 1]
    ```
    """
    return _t(input, "argsort").argsort(dim, descending, axis=axis)


def topk(input, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the `k` largest (or smallest) entries along `dim`, largest first.

    Args:
        input: the tensor.
        k: how many, in [0, input.shape[dim]].
        dim: the axis (default -1).
        largest: the largest (True) or the smallest (False) entries, in that order.
        sorted: True: in order (largest first); False: in the order they have in `input`.

    Example:

    ```python
    import dlcore as dl

    values, indices = dl.topk(dl.tensor([1.0, 4.0, 2.0, 3.0]), 2)
    assert values.tolist() == [4.0, 3.0] and indices.tolist() == [1, 3]
    ```
    """
    return _t(input, "topk").topk(k, dim, largest, sorted)


def broadcast_to(input, shape):
    """A read-only view of `input` repeated along new or size-1 axes to `shape` (NumPy's rules);
    the gradient sums the copies back (PyTorch's `expand` takes -1 for an unchanged axis).

    Example:

    ```python
    import dlcore as dl

    assert dl.broadcast_to(dl.tensor([1.0, 2.0]), (2, 2)).tolist() == [[1.0, 2.0], [1.0, 2.0]]
    ```
    """
    return _t(input, "broadcast_to").broadcast_to(shape)


# ---- einsum and pad ---------------------------------------------------------------------------------

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


PAD_MODES = {"constant": "constant", "reflect": "reflect", "symmetric": "symmetric", "edge": "edge",
             "wrap": "wrap", "replicate": "edge", "circular": "wrap"}


def pad(x, pad_width, mode="constant", constant_values=0):
    """`x` padded with `pad_width[i] = (before, after)` entries on axis i (NumPy's and Keras's pad).

    Args:
        x: the tensor.
        pad_width: an int (every side of every axis), one (before, after) pair for every axis, or
            one pair per axis.
        mode: "constant" (`constant_values`), "reflect" (mirrored, edge not repeated),
            "symmetric" (mirrored, edge repeated), "edge" (the edge repeated; PyTorch's
            "replicate") or "wrap" (periodic; PyTorch's "circular").
        constant_values: the fill of mode "constant" (a number).

    Output shape: `x.shape[i] + before_i + after_i` on each axis. Differentiable (twice).

    Example:

    ```python
    import dlcore as dl

    assert dl.pad(dl.tensor([1.0, 2.0]), (1, 2)).tolist() == [0.0, 1.0, 2.0, 0.0, 0.0]
    assert dl.pad(dl.tensor([1.0, 2.0, 3.0]), 1, mode="reflect").tolist() == [2.0, 1.0, 2.0, 3.0, 2.0]
    ```
    """
    x = _t(x, "pad", "x")
    try:
        widths = np.broadcast_to(np.asarray(pad_width), (x.ndim, 2))
    except ValueError:
        raise ValueError(f"pad: 'pad_width' must be an int, a (before, after) pair or one pair per axis of the input "
                         f"(shape {x.shape}), got {pad_width!r}") from None
    if widths.dtype.kind not in "iu" or (widths < 0).any():
        raise ValueError(f"pad: 'pad_width' must hold non-negative ints, got {pad_width!r}")
    if mode not in PAD_MODES:
        raise ValueError(f"pad: 'mode' must be one of {sorted(PAD_MODES)}, got {mode!r}")
    widths = tuple((int(b), int(a)) for b, a in widths)
    if PAD_MODES[mode] == "constant":
        if not isinstance(constant_values, (int, float)) or isinstance(constant_values, bool):
            raise TypeError(f"pad: 'constant_values' must be a number, got {constant_values!r}")
        return Pad.apply(x, pad_width=widths, value=constant_values)
    out = x
    for axis, (b, a) in enumerate(widths):
        if b or a:
            n = x.shape[axis]
            if n == 0 or (mode == "reflect" and n == 1):
                raise ValueError(f"pad: mode {mode!r} needs at least {2 if mode == 'reflect' else 1} entries along "
                                 f"axis {axis} to copy from, the input has shape {x.shape}")
            index = np.pad(np.arange(n), (b, a), mode=PAD_MODES[mode])
            out = GetItem.apply(out, index=(slice(None),) * axis + (x.xp.asarray(index),))
    return out
