"""The methods of Tensor that select, repeat and reorder elements: split, chunk, repeat, tile,
repeat_interleave, flip, gather, index_select, take, sort, argsort, topk.

`RearrangeMethods` is a base class of `dlcore.tensor.Tensor`, like `TensorMethods` (whose hooks
`_other` and `_wrap` it uses). Names and arguments are PyTorch's (`dim`, `split(size_or_sections)`,
`repeat` tiling the tensor), with NumPy's `axis` accepted where PyTorch says `dim`. Most of them are
indexing (`GetItem`, whose backward scatter-adds and whose double backward indexes again), so
they are differentiable twice; the indices they return carry no gradient. Index arrays are built
with the tensor's array module (`xp`), so the same code runs on NumPy and CuPy.
"""
from __future__ import annotations

import numpy as np

from .primitives import GetItem, Split, Tile
from .tensor_methods import _axis_arg, _pick


def _default(value, default):
    return default if value is None else value


def _ints(op, name, value):
    """A tuple of ints from an int or a sequence of ints."""
    seq = (value,) if isinstance(value, (int, np.integer)) else value
    if not isinstance(seq, (tuple, list)) or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                                     for v in seq):
        raise TypeError(f"{op}: '{name}' must be an int or a sequence of ints, got {value!r}")
    return tuple(int(v) for v in seq)


class RearrangeMethods:
    """Selection, repetition and ordering methods; mixed into `Tensor` (see the module docstring)."""

    __slots__ = ()

    # ---- pieces -----------------------------------------------------------------------------
    def split(self, split_size_or_sections, dim=None, *, axis=None):
        """Pieces along `dim` (default 0): of `split_size_or_sections` elements each (an int; the last
        may be smaller) or of the listed sizes (which must add up to the axis's length). Views."""
        dim = _axis_arg("split", _default(_pick("split", axis, dim), 0), self.ndim)
        n = self.shape[dim]
        s = split_size_or_sections
        if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
            if s <= 0:
                raise ValueError(f"split: 'split_size_or_sections' must be a positive int, got {s}")
            sizes = (s,) * (n // s) + ((n % s,) if n % s or n == 0 else ())
        else:
            sizes = _ints("split", "split_size_or_sections", s)
            if any(v < 0 for v in sizes) or sum(sizes) != n:
                raise ValueError(f"split: the section sizes {list(sizes)} must be non-negative and add up to the "
                                 f"length of axis {dim}, {n} (shape {self.shape})")
        return Split.apply(self, sizes=sizes, axis=dim)

    def chunk(self, chunks, dim=None, *, axis=None):
        """`chunks` pieces of equal size along `dim` (default 0; the last smaller, fewer when the axis
        is short), as PyTorch's chunk."""
        dim = _axis_arg("chunk", _default(_pick("chunk", axis, dim), 0), self.ndim)
        if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks <= 0:
            raise ValueError(f"chunk: 'chunks' must be a positive int, got {chunks!r}")
        n = self.shape[dim]
        return self.split(max(-(-n // int(chunks)), 1), dim)

    # ---- repetition -------------------------------------------------------------------------
    def tile(self, *reps):
        """The tensor repeated `reps[i]` times along axis i (NumPy's and PyTorch's tile: a shorter
        `reps` is padded with 1s in front, a longer one adds leading axes)."""
        reps = _ints("tile", "reps", reps[0] if len(reps) == 1 and not isinstance(reps[0], int) else reps)
        if any(r < 0 for r in reps):
            raise ValueError(f"tile: repetitions must be non-negative, got {reps}")
        t = self
        if len(reps) > self.ndim:
            t = self.reshape((1,) * (len(reps) - self.ndim) + self.shape)
        reps = (1,) * (t.ndim - len(reps)) + reps
        return Tile.apply(t, reps=reps)

    def repeat(self, *sizes):
        """PyTorch's repeat: the tensor tiled `sizes[i]` times along axis i (`sizes` has at least as
        many entries as the tensor has axes). NumPy's `repeat` is `repeat_interleave`."""
        sizes = _ints("repeat", "sizes", sizes[0] if len(sizes) == 1 and not isinstance(sizes[0], int) else sizes)
        if len(sizes) < self.ndim:
            raise ValueError(f"repeat: 'sizes' needs one entry per axis of the tensor (shape {self.shape}), got "
                             f"{sizes}; use tile() to repeat the trailing axes only")
        return self.tile(sizes)

    def repeat_interleave(self, repeats, dim=None, *, axis=None):
        """Each element repeated `repeats` times (an int, or one count per element along `dim`), the
        copies side by side (NumPy's `repeat`). `dim` None repeats the flattened tensor."""
        dim = _pick("repeat_interleave", axis, dim)
        t = self.reshape(-1) if dim is None else self
        dim = 0 if dim is None else _axis_arg("repeat_interleave", dim, self.ndim)
        xp, n = self.xp, t.shape[dim]
        counts = repeats.numpy() if hasattr(repeats, "_ctx") else repeats
        if isinstance(counts, (int, np.integer)) and not isinstance(counts, bool):
            counts = np.full((n,), int(counts), dtype=np.int64)
        counts = np.asarray(counts.get() if hasattr(counts, "get") else counts)  # sizes are host values
        if counts.dtype.kind not in "iu" or counts.ndim > 1 or counts.size not in (1, n):
            raise ValueError(f"repeat_interleave: 'repeats' must be an int or {n} non-negative ints (one per element "
                             f"along axis {dim}), got shape {counts.shape} of dtype {counts.dtype}")
        if counts.size and int(counts.min()) < 0:
            raise ValueError(f"repeat_interleave: 'repeats' must be non-negative, got a minimum of {int(counts.min())}")
        index = np.repeat(np.arange(n), np.broadcast_to(counts.reshape(-1), (n,)))
        return GetItem.apply(t, index=(slice(None),) * dim + (xp.asarray(index),))

    # ---- reordering -------------------------------------------------------------------------
    def flip(self, dims=None, *, axis=None):
        """The elements of the axes `dims` in reverse order (all axes when None); a view."""
        dims = _pick("flip", axis, dims)
        dims = range(self.ndim) if dims is None else _ints("flip", "dims", dims)
        axes = {_axis_arg("flip", d, self.ndim) for d in dims}
        return GetItem.apply(self, index=tuple(slice(None, None, -1) if i in axes else slice(None)
                                               for i in range(self.ndim)))

    def gather(self, dim, index):
        """out[i][j][k] = self[index[i][j][k]][j][k] for dim 0 (and so on): PyTorch's gather.

        `index` is an integer tensor with as many axes as self, no longer than self along the other
        axes; the result has its shape."""
        dim = _axis_arg("gather", dim, self.ndim)
        idx = self._index_array("gather", index)
        if idx.ndim != self.ndim or any(idx.shape[d] > self.shape[d] for d in range(self.ndim) if d != dim):
            raise ValueError(f"gather: 'index' must have {self.ndim} axes, none longer than the input's (shape "
                             f"{self.shape}) except along dim {dim}, got shape {tuple(idx.shape)}")
        self._check_range("gather", idx, self.shape[dim], dim)
        xp = self.xp
        mesh = tuple(idx if d == dim else xp.arange(idx.shape[d]).reshape((-1,) + (1,) * (self.ndim - d - 1))
                     for d in range(self.ndim))
        return GetItem.apply(self, index=mesh)

    take_along_dim = gather

    def index_select(self, dim, index):
        """The entries `index` (1-D integers) along `dim`, in that order (repeats allowed)."""
        dim = _axis_arg("index_select", dim, self.ndim)
        idx = self._index_array("index_select", index)
        if idx.ndim != 1:
            raise ValueError(f"index_select: 'index' must be 1-D, got shape {tuple(idx.shape)}")
        self._check_range("index_select", idx, self.shape[dim], dim)
        return GetItem.apply(self, index=(slice(None),) * dim + (idx,))

    def argsort(self, dim=None, descending=False, *, axis=None):
        """The indices that sort the tensor along `dim` (default -1; stable: ties keep their order); int64."""
        dim = _axis_arg("argsort", _default(_pick("argsort", axis, dim), -1), self.ndim)
        xp, a = self.xp, self.data
        if descending:
            if a.dtype.kind in "fi":
                a = -a
            else:  # bool and unsigned: reverse the ascending order of the reversed tensor (keeps ties stable)
                rev = (slice(None),) * dim + (slice(None, None, -1),)
                order = xp.argsort(a[rev], axis=dim, **({"kind": "stable"} if xp is np else {}))
                return self._wrap((a.shape[dim] - 1 - order)[rev].astype(np.int64), None, 0)
        order = xp.argsort(a, axis=dim, **({"kind": "stable"} if xp is np else {}))
        return self._wrap(order.astype(np.int64, copy=False), None, 0)

    def sort(self, dim=None, descending=False, *, axis=None):
        """(values, indices) sorted along `dim` (default -1); the values are differentiable (a gather)."""
        dim = _axis_arg("sort", _default(_pick("sort", axis, dim), -1), self.ndim)
        indices = self.argsort(dim, descending)
        return self.gather(dim, indices), indices

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """(values, indices) of the `k` largest (`largest=False`: smallest) entries along `dim`, in
        order (`sorted=False`: in their order along `dim`); the values are differentiable."""
        dim = _axis_arg("topk", dim, self.ndim)
        n = self.shape[dim]
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
            raise ValueError(f"topk: 'k' must be an int in [0, {n}] (the length of axis {dim}, shape {self.shape}), "
                             f"got {k!r}")
        order = self.argsort(dim, descending=largest)
        indices = order.data[(slice(None),) * dim + (slice(0, int(k)),)]
        if not sorted:
            indices = self.xp.sort(indices, axis=dim)
        indices = self._wrap(indices, None, 0)
        return self.gather(dim, indices), indices

    # ---- helpers ----------------------------------------------------------------------------
    def _index_array(self, op, index):
        idx = index.data if hasattr(index, "_ctx") else self.xp.asarray(index)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"{op}: 'index' must hold integers, got dtype {idx.dtype}")
        return idx

    @staticmethod
    def _check_range(op, idx, n, dim):
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
            raise ValueError(f"{op}: 'index' values must be in [0, {n}) (the length of dim {dim}), got values in "
                             f"[{int(idx.min())}, {int(idx.max())}]")
