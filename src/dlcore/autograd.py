"""The reverse-mode autograd engine: grad mode, the `Function` node and the backward sweep.

Every differentiable operation is a `Function` subclass with `forward` (arrays in, array out) and
`backward` (gradient of the output in, gradients of the inputs out) written side by side,
micrograd/Chainer style:

    class Mul(Function):
        def forward(self, a, b):
            self.a, self.b = a, b
            return a * b
        def backward(self, g):
            return g * self.b, g * self.a

`Function.apply(*tensors, **config)` runs `forward` on the arrays and, when gradients are enabled
and an input requires them, records the node. `_backward` walks the recorded graph in reverse
topological order (iteratively: no recursion limit), accumulates into the `.grad` of leaf tensors
and then frees the graph (saved arrays and links), so that memory stays flat over millions of steps.

This module is the bottom of the framework: it imports nothing from dlcore. It reads and writes
tensors only through their attributes (`data`, `grad`, `requires_grad`, `_ctx`, `_index`), and the
output tensors of `apply` are made by the inputs' own class (`Tensor._wrap`, in `dlcore.tensor`).
The primitive ops live in `dlcore.ops`, the `Tensor` class in `dlcore.tensor`.
"""
from __future__ import annotations

import functools


# --------------------------------------------------------------------------------------------
# grad mode
# --------------------------------------------------------------------------------------------

class _GradMode:
    enabled = True


class no_grad:
    """Context manager (and decorator) that turns graph recording off.

        with dl.no_grad():
            y = model(x)          # no graph, no saved arrays

        @dl.no_grad()
        def evaluate(...): ...
    """

    __slots__ = ("_prev",)

    def __new__(cls, func=None):
        self = super().__new__(cls)
        return self(func) if func is not None else self  # bare @dl.no_grad decorator

    def __init__(self, func=None):
        pass

    def __enter__(self):
        self._prev = _GradMode.enabled
        _GradMode.enabled = False
        return self

    def __exit__(self, *exc):
        _GradMode.enabled = self._prev
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with no_grad():
                return func(*args, **kwargs)
        return wrapper


class enable_grad(no_grad):
    """Context manager that turns graph recording back on (inside a no_grad block)."""

    def __enter__(self):
        self._prev = _GradMode.enabled
        _GradMode.enabled = True
        return self


def is_grad_enabled() -> bool:
    return _GradMode.enabled


# --------------------------------------------------------------------------------------------
# the graph node
# --------------------------------------------------------------------------------------------

class Function:
    """One differentiable operation: `forward(*arrays, **config)` and `backward(grad_out)`.

    `backward` returns one gradient per tensor input of `apply`, in order (None where there is
    none); a multi-output forward (a tuple) gets a tuple of output gradients (None for outputs that
    received no gradient). Subclasses save what backward needs as attributes of `self`; those are
    dropped once backward has run.
    """

    parents = ()
    freed = False
    n_out = 1

    def forward(self, *arrays, **config):  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, grad):  # pragma: no cover - interface
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **config):
        """Run the op on the arrays of `inputs` (Tensors or None) and record it when needed."""
        wrap = _wrapper(inputs)
        fn = cls()
        out = fn.forward(*[t.data if t is not None else None for t in inputs], **config)
        record = _GradMode.enabled
        if record:
            for t in inputs:
                if t is not None and t.requires_grad:
                    break
            else:
                record = False
        if type(out) is tuple:
            outs = tuple(wrap(o, fn, i) if record else wrap(o, None, 0) for i, o in enumerate(out))
            if record:
                fn.parents = inputs
                fn.n_out = len(out)
            return outs
        if record:
            fn.parents = inputs
            return wrap(out, fn, 0)
        return wrap(out, None, 0)

    def __repr__(self):
        return f"<{type(self).__name__} backward>"


def _wrapper(inputs):
    """How `apply` wraps its output arrays: the `_wrap` of the inputs' tensor class (Tensor._wrap).

    Asking the inputs keeps this engine below the Tensor class: it never imports dlcore.tensor.
    """
    for t in inputs:
        if t is not None:
            return type(t)._wrap
    raise TypeError("Function.apply: expected at least one tensor input, got none")


def _backward(root, grad, retain_graph=False):
    """Reverse-mode sweep from `root`, seeded with `grad` (an array shaped like root)."""
    # 1. reverse topological order of the nodes, by an explicit-stack depth-first search
    order = []
    seen = set()
    stack = [(root._ctx, False)]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            order.append(fn)
            continue
        if id(fn) in seen:
            continue
        if fn.freed:
            raise RuntimeError("backward: trying to backward through the graph a second time (its saved arrays were "
                               "freed by the first backward); pass retain_graph=True to the first call to keep them")
        seen.add(id(fn))
        stack.append((fn, True))
        for p in fn.parents:
            if p is not None and p._ctx is not None and id(p._ctx) not in seen:
                stack.append((p._ctx, False))
    # 2. push gradients from the output to the inputs, node by node
    given = set()  # ids of arrays handed to a leaf's .grad in this sweep
    pending = {id(root._ctx): [None] * root._ctx.n_out}
    pending[id(root._ctx)][root._index] = grad
    for fn in reversed(order):
        gouts = pending.pop(id(fn), None)
        if gouts is None:
            continue
        gins = fn.backward(gouts[0] if fn.n_out == 1 else tuple(gouts))
        if len(fn.parents) == 1 and type(gins) is not tuple:
            gins = (gins,)
        for p, g in zip(fn.parents, gins):
            if g is None or p is None or not p.requires_grad:
                continue
            if g.dtype != p.data.dtype:
                g = g.astype(p.data.dtype)
            ctx = p._ctx
            if ctx is None:  # a leaf: accumulate into .grad (never in place: g may be shared)
                if p.grad is not None:
                    p.grad = p.grad + g
                elif id(g) in given or not g.flags.c_contiguous:  # own, dense storage per leaf
                    p.grad = g.copy()
                else:
                    p.grad = g
                given.add(id(p.grad))
            else:
                buf = pending.get(id(ctx))
                if buf is None:
                    buf = pending[id(ctx)] = [None] * ctx.n_out
                i = p._index
                buf[i] = g if buf[i] is None else buf[i] + g
        if not retain_graph:
            fn.__dict__.clear()
            fn.freed = True


