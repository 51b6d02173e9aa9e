"""Einstein summation: one Function for any subscripts, its gradients einsums themselves.

The subscripts are first made explicit (`parse`): every '...' becomes letters of its own (aligned
on the right, as NumPy broadcasts them) and an implicit output becomes the letters seen once, in
order. The gradient of operand i is then the einsum of the output gradient with the other operands
onto operand i's letters, followed by three repairs einsum cannot express by itself:

- a letter only operand i has (summed over inside it) is broadcast back along its axis;
- an axis where operand i has size 1 but the others more (broadcast in the forward) is summed;
- a letter repeated in operand i ('ii->i', a diagonal) puts the gradient back on that diagonal,
  through a product with a 0/1 "all indices equal" tensor.

`_grads` is written once for arrays (backward) and Tensors (backward_graph, for second
derivatives): it takes the einsum, broadcast and constant-making functions to use.
"""
from __future__ import annotations

import string

from ..autograd import Function
from ._helpers import _const, get_array_module
from .shape import BroadcastTo


def parse(subscripts, shapes, op="einsum"):
    """(terms, out): one list of letters per operand and the output's, with every '...' made explicit."""
    if not isinstance(subscripts, str):
        raise TypeError(f"{op}: 'subscripts' must be a string such as 'ij,jk->ik', got {type(subscripts).__name__}")
    s = subscripts.replace(" ", "")
    ins, arrow, out = s.partition("->")
    terms = ins.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"{op}: subscripts {subscripts!r} name {len(terms)} operand(s), got {len(shapes)}")
    bad = set(s) - set(string.ascii_letters) - set(",.->")
    if bad or any(t.replace("...", "").count(".") for t in terms + [out]):
        raise ValueError(f"{op}: subscripts {subscripts!r} may hold only letters, ',', '->' and '...'")
    free = [c for c in string.ascii_letters if c not in s]
    n_ell = []
    for k, (t, shape) in enumerate(zip(terms, shapes)):
        named = len(t.replace("...", ""))
        n = len(shape) - named if "..." in t else 0
        if n < 0 or ("..." not in t and named != len(shape)):
            raise ValueError(f"{op}: operand {k} has shape {tuple(shape)} ({len(shape)} axes) but its subscripts "
                             f"{t!r} name {named}{' or more' if '...' in t else ''}")
        n_ell.append(n)
    ell = free[:max(n_ell, default=0)]
    expanded = []
    for t, n in zip(terms, n_ell):
        pre, dots, post = t.partition("...")
        expanded.append(list(pre) + (ell[len(ell) - n:] if dots else []) + list(post))
    size = {}
    for k, (t, shape) in enumerate(zip(expanded, shapes)):
        for c, n in zip(t, shape):
            if size.get(c, 1) not in (1, n) and n != 1:
                raise ValueError(f"{op}: subscript {c!r} has size {size[c]} in one operand and {n} in operand {k} "
                                 f"(shape {tuple(shape)}) in {subscripts!r}; sizes must match (or be 1)")
            size[c] = max(size.get(c, 1), n)
    if arrow:
        pre, dots, post = out.partition("...")
        out = list(pre) + (ell if dots else []) + list(post)
        known = {c for t in expanded for c in t}
        missing = [c for c in out if c not in known]
        if missing or len(set(out)) != len(out):
            raise ValueError(f"{op}: the output subscripts of {subscripts!r} must be distinct letters that the "
                             f"operands use")
    else:
        counts = {}
        for t in expanded:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + sorted(c for c, n in counts.items() if n == 1 and c not in ell)
    return expanded, out


def _spec(terms, out):
    return ",".join("".join(t) for t in terms) + "->" + "".join(out)


def _diagonal_ones(xp, n, k, dtype):
    """The k-axis tensor of size n per axis that is 1 where all k indices are equal, 0 elsewhere."""
    d = xp.zeros((n,) * k, dtype=dtype)
    i = xp.arange(n)
    d[(i,) * k] = 1
    return d


def _grads(g, operands, terms, out, einsum, broadcast_to, const, xp):
    """The gradient of every operand of einsum(terms -> out), given the output gradient g."""
    grads = []
    for i, term in enumerate(terms):
        others = [(t, o) for j, (t, o) in enumerate(zip(terms, operands)) if j != i]
        avail = set(out).union(*(set(t) for t, _ in others))
        uniq = list(dict.fromkeys(term))
        kept = [c for c in uniq if c in avail]
        gi = einsum(_spec([out] + [t for t, _ in others], kept), g, *[o for _, o in others])
        size = {c: operands[i].shape[k] for k, c in enumerate(term)}
        if len(kept) != len(uniq):  # letters summed inside operand i alone: broadcast back
            gi = gi.reshape(tuple(gi.shape[kept.index(c)] if c in kept else 1 for c in uniq))
        axes = tuple(k for k, c in enumerate(uniq) if size[c] == 1 and gi.shape[k] != 1)
        if axes:  # operand i was broadcast along these in the forward
            gi = gi.sum(axis=axes, keepdims=True)
        target = tuple(size[c] for c in uniq)
        if tuple(gi.shape) != target:
            gi = broadcast_to(gi, target)
        if len(uniq) != len(term):  # a repeated letter: the gradient lies on the diagonal
            names = iter(c for c in string.ascii_letters if c not in set(term) | avail)
            renamed, repeats = [], {}
            for c in term:
                if c in repeats:
                    repeats[c].append(next(names))
                    renamed.append(repeats[c][-1])
                else:
                    repeats[c] = [c]
                    renamed.append(c)
            groups = [ls for ls in repeats.values() if len(ls) > 1]
            diag = [const(_diagonal_ones(xp, size[ls[0]], len(ls), g.dtype)) for ls in groups]
            gi = einsum(_spec([uniq] + groups, renamed), gi, *diag)
        grads.append(gi)
    return tuple(grads)


class Einsum(Function):
    """einsum with explicit subscripts (`parse` makes them so), on arrays of one dtype."""

    saved_inputs = None  # every operand is read by the gradients of the others

    def forward(self, *operands, terms, out):
        self.operands, self.terms, self.out = operands, terms, out
        xp = get_array_module(operands[0])
        return xp.einsum(_spec(terms, out), *operands, optimize=len(operands) > 1)

    def backward(self, g):
        xp = get_array_module(g)
        return _grads(g, self.operands, self.terms, self.out,
                      lambda spec, *ops: xp.einsum(spec, *ops, optimize=len(ops) > 1),
                      xp.broadcast_to, lambda a: a, xp)

    def backward_graph(self, g, *operands):
        def einsum(spec, *ops):
            ins, out = spec.split("->")
            return Einsum.apply(*ops, terms=[list(t) for t in ins.split(",")], out=list(out))
        return _grads(g, operands, self.terms, self.out, einsum,
                      lambda t, shape: BroadcastTo.apply(t, shape=shape), lambda a: _const(g, a),
                      get_array_module(g.data))
