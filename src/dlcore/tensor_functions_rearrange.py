"""The ops that select, repeat and reorder as functions: `dl.split`, `dl.chunk`, `dl.tile`,
`dl.repeat_interleave`, `dl.flip`, `dl.gather`, `dl.take_along_axis`, `dl.index_select`, `dl.take`,
`dl.sort`, `dl.argsort`, `dl.topk`, `dl.broadcast_to`, `dl.pad`.

Each applies the Tensor method of the same name (`dlcore.tensor_rearrange`), with PyTorch's names
and arguments; NumPy's names are aliases (`take_along_axis` for `gather` with NumPy's argument
order). `pad` follows NumPy and Keras (`pad_width` per axis); PyTorch's form, the pad tuple from
the last axis, is `dlcore.functional.pad`.
"""
from __future__ import annotations

import numpy as np

from .primitives import GetItem, Pad
from .tensor_functions import _t


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
