"""The reverse-mode autograd engine: grad mode, version counters, the `Function` node, the backward sweep.

Every differentiable operation is a `Function` subclass with `forward` (arrays in, array out) and
`backward` (gradient of the output in, gradients of the inputs out) written side by side,
micrograd/Chainer style:

    class Mul(Function):
        saved_inputs = (0, 1)                  # backward reads both input arrays
        def forward(self, a, b):
            self.a, self.b = a, b
            return a * b
        def backward(self, g):
            return g * self.b, g * self.a
        def backward_graph(self, g, a, b):     # the same rule on Tensors (create_graph=True)
            return g * b, g * a

`Function.apply(*tensors, **config)` runs `forward` on the arrays and, when gradients are enabled
and an input requires them, records the node. The sweep walks the recorded graph in reverse
topological order (iteratively: no recursion limit), accumulates into the `.grad` of leaf tensors
(`Tensor.backward`) or returns the gradients of chosen tensors (`grad`), and then frees the graph
(saved arrays and links), so that memory stays flat over millions of steps.

Grad mode (`dlcore.grad_mode`) is per thread: `no_grad()` in one thread does not stop the recording
in another.

In-place changes never go unnoticed. Every storage has a version counter (`_Version`), shared by
the tensors that view it and bumped by every in-place op of Tensor. A node records the versions of
the tensors its backward reads (`saved_inputs`, `saves_output`); the sweep raises a RuntimeError
naming the op and the tensor when one of them changed. A tensor changed in place while recording
(`y += x`, `y[i] = v`) gets a new history; the nodes recorded before see it as it was (`_as_recorded`).

Second derivatives: `grad(..., create_graph=True)` runs each node's `backward_graph`, its backward
written with Tensor ops, so that the gradients are themselves differentiable. An op without one
gives its first derivative still, but differentiating that again raises a RuntimeError naming the
op rather than returning a wrong second derivative.

This module is the bottom of the framework: it imports nothing from dlcore but `grad_mode`. It
reads and writes tensors only through their attributes (`data`, `grad`, `requires_grad`, `_ctx`,
`_index`, `_vc`), and the output tensors of `apply` are made by the inputs' own class
(`Tensor._wrap`, in `dlcore.tensor`). The primitive ops live in `dlcore.primitives`, the `Tensor` class in
`dlcore.tensor`.
"""
from __future__ import annotations

# grad mode lives in grad_mode.py (per thread); the engine reads its flag
from .grad_mode import _grad_mode, enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401


# --------------------------------------------------------------------------------------------
# version counters
# --------------------------------------------------------------------------------------------

# A storage's version counter is a two-item list [version, shared]: the version is bumped by every
# in-place op of a tensor that uses the storage; `shared` is set once a view (indexing, reshape,
# transpose, expand, split, detach) shares it. A tensor gets one lazily (`_vc` None: version 0,
# never viewed). A list, not a small class: the engine makes one for every saved output, and a list
# costs a fraction of an instance.

def _version_counter(t):
    """The version counter [version, shared] of tensor `t` (created on first use)."""
    vc = t._vc
    if vc is None:
        vc = t._vc = [0, False]
    return vc


_any_bump = False  # True once any in-place op has run: until then every version is 0


def _bump(t):
    """Count one in-place change of tensor `t`'s storage; returns the new version."""
    global _any_bump
    _any_bump = True
    vc = _version_counter(t)
    vc[0] += 1
    return vc[0]


def _share_version(base, outs):
    """Make the tensors `outs`, views of `base`'s storage, share its version counter."""
    vc = _version_counter(base)
    vc[1] = True
    for o in (outs if type(outs) is tuple else (outs,)):
        o._vc = vc


# --------------------------------------------------------------------------------------------
# the graph node
# --------------------------------------------------------------------------------------------

class Function:
    """One differentiable operation: `forward(*arrays, **config)` and `backward(grad_out)`.

    `backward` returns one gradient per tensor input of `apply`, in order (None where there is
    none); a multi-output forward (a tuple) gets a tuple of output gradients (None for outputs that
    received no gradient). Subclasses save what backward needs as attributes of `self`; those are
    dropped once backward has run.

    What a subclass declares:

    - `saved_inputs`: the indices of the inputs whose arrays backward reads (None, the default: all
      of them; `reads_input(i)` may refine it); `saves_output`: whether it reads the output array.
      The engine checks at backward time that no in-place op changed them since.
    - `backward_graph(g, *inputs)`: the backward written with Tensor ops on Tensors (`inputs` are
      the input tensors as they were at forward time; `self.output(array)` wraps a saved output),
      used by `grad(..., create_graph=True)`. Without one, second derivatives through the op
      raise a RuntimeError naming it.
    - `forward` sets `self.view_of = i` when its output is a view of input i's storage.
    """

    parents = ()
    freed = False
    n_out = 1
    saved_inputs = None
    saves_output = False
    view_of = None
    rebase_version = None  # set on the node of an in-place op: the version its write produced
    _pv = None             # the inputs' versions when the node was recorded (None: all 0)
    _ovc = None            # the version counters of the saved outputs (fresh: at version 0)

    def forward(self, *arrays, **config):  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, grad):  # pragma: no cover - interface
        raise NotImplementedError

    def backward_graph(self, grad, *inputs):
        """The default for an op without a differentiable backward: its first-order gradients (from
        `backward`) as tensors whose own backward raises, naming the op. The values are right; a
        second derivative through them is refused rather than silently wrong."""
        tup = type(grad) is tuple
        gs = grad if tup else (grad,)
        arrays = self.backward(tuple(None if g is None else g.data for g in gs) if tup else grad.data)
        arrays = arrays if type(arrays) is tuple else (arrays,)
        keep = [k for k, a in enumerate(arrays) if a is not None]
        sources = [g for g in gs if g is not None] + [t for t in inputs if t is not None]
        outs = _NoDoubleBackward.apply(*sources, grads=tuple(arrays[k] for k in keep), op=self.name)
        result = [None] * len(arrays)
        for k, o in zip(keep, outs):
            result[k] = o
        return tuple(result)

    def needs_grad(self, i):
        """Whether the gradient of input i is wanted (PyTorch's `ctx.needs_input_grad[i]`): the
        input requires grad. `backward` may return None for an input that does not, and skip its
        product (the input gradient of a network's first layer, whose input is data). True when the
        node was not recorded (`backward` called by hand)."""
        ps = self.parents
        return not ps or (i < len(ps) and ps[i] is not None and ps[i].requires_grad)

    def reads_input(self, i):
        """Whether backward needs input i's values (`saved_inputs`); an op may refine it (Mul reads a
        only for b's gradient, so only when b requires grad)."""
        return self.saved_inputs is None or i in self.saved_inputs

    @property
    def name(self):
        """The op's name in error messages."""
        return type(self).__name__.lstrip("_")

    def output(self, array, index=0):
        """A saved output array as a Tensor whose history is this node (for backward_graph)."""
        return _wrapper(self.parents)(array, self, index)

    @classmethod
    def apply(cls, *inputs, **config):
        """Run the op on the arrays of `inputs` (Tensors or None) and record it when needed."""
        wrap = _wrapper(inputs)
        fn = cls()
        out = fn.forward(*[t.data if t is not None else None for t in inputs], **config)
        record = _grad_mode.enabled
        if record:
            for t in inputs:
                if t is not None and t.requires_grad:
                    break
            else:
                record = False
        node = fn if record else None
        if type(out) is tuple:
            outs = tuple(wrap(o, node, i) for i, o in enumerate(out))
            fn.n_out = len(out)
        else:
            outs = wrap(out, node, 0)
        if fn.view_of is not None:
            _share_version(inputs[fn.view_of], outs)
        if record:
            fn.parents = inputs
            if _any_bump:  # record the versions that are not 0 (there are none before any in-place op)
                for t in inputs:
                    if t is not None and t._vc is not None and t._vc[0]:
                        fn._pv = [0 if u is None or u._vc is None else u._vc[0] for u in inputs]
                        break
            if fn.saves_output:
                if type(outs) is tuple:
                    fn._ovc = tuple(_version_counter(o) for o in outs)
                else:
                    outs._vc = vc = [0, False]
                    fn._ovc = (vc,)
        return outs

    def __repr__(self):
        return f"<{type(self).__name__} backward>"


class _NoDoubleBackward(Function):
    """The first-order gradients of an op without backward_graph, depending on its output gradients
    and inputs; differentiating them again raises an error that names the op."""

    saved_inputs = ()

    def forward(self, *sources, grads, op):
        self.op = op
        return grads

    def backward(self, grads):
        raise RuntimeError(f"{self.op}: its backward is not differentiable in dlcore, so second derivatives "
                           f"through it (a function of grad(..., create_graph=True) differentiated again) are "
                           f"not available; keep this op out of the gradient penalty's path, or use finite "
                           f"differences")


def _wrapper(inputs):
    """How `apply` wraps its output arrays: the `_wrap` of the inputs' tensor class (Tensor._wrap).

    Asking the inputs keeps this engine below the Tensor class: it never imports dlcore.tensor.
    """
    for t in inputs:
        if t is not None:
            return type(t)._wrap
    raise TypeError("Function.apply: expected at least one tensor input, got none")


# --------------------------------------------------------------------------------------------
# the backward sweep
# --------------------------------------------------------------------------------------------

_SECOND_TIME = ("trying to backward through the graph a second time (its saved arrays were freed by the first "
                "backward); pass retain_graph=True to the first call to keep them")


def _as_recorded(p, version):
    """Tensor `p` as it was at `version`: in-place ops since then gave `p` a new history, whose
    first input is the tensor as it was before each of them."""
    ctx = p._ctx
    while ctx is not None and ctx.rebase_version is not None and ctx.rebase_version > version:
        if ctx.freed:
            raise RuntimeError(f"backward: {_SECOND_TIME}")
        p = ctx.parents[0]
        ctx = p._ctx
    return p


def _graph(roots):
    """The nodes reachable from `roots`, each after its parents (reversed: a valid backward order).

    Returns (order, edges, changed): `edges` holds, for the nodes some of whose inputs an in-place op
    changed since they were recorded, those inputs as they were (`_as_recorded`); `changed` the
    indices of those inputs, checked against `saved_inputs` when the node runs.
    """
    order, edges, changed = [], {}, {}
    check = _any_bump  # before any in-place op, nothing can have changed
    seen = set()
    stack = [(r._ctx, False) for r in roots if r._ctx is not None]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            order.append(fn)
            continue
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        stack.append((fn, True))
        ps = fn.parents
        if check:
            pv = fn._pv
            for i, p in enumerate(ps):
                if p is None:
                    continue
                vc = p._vc
                if vc is not None and vc[0] != (0 if pv is None else pv[i]):  # changed in place since recorded
                    changed.setdefault(id(fn), []).append(i)
                    p = _as_recorded(p, 0 if pv is None else pv[i])
                    if p is not ps[i]:
                        edge = edges.get(id(fn))
                        if edge is None:
                            edge = edges[id(fn)] = list(ps)
                        edge[i] = p
                if p._ctx is not None and id(p._ctx) not in seen:
                    stack.append((p._ctx, False))
        else:
            for p in ps:
                if p is not None and p._ctx is not None and id(p._ctx) not in seen:
                    stack.append((p._ctx, False))
    return order, edges, changed


def _check_saved(fn, changed):
    """Raise when an in-place op changed a tensor that `fn`'s backward reads."""
    for i in changed:
        if fn.reads_input(i):
            p = fn.parents[i]
            expected = fn._pv[i] if fn._pv is not None else 0
            raise RuntimeError(
                f"backward: one of the tensors needed for the gradient of {fn.name} has been modified by an "
                f"in-place operation: its input {i} (shape {tuple(p.data.shape)}, dtype {p.data.dtype}) is at "
                f"version {p._vc[0]}, expected version {expected}. Change a copy (t.clone()) instead, or "
                f"make the change before {fn.name} uses the tensor")
    for k, vc in enumerate(fn._ovc or ()):
        if vc[0]:
            raise RuntimeError(
                f"backward: one of the tensors needed for the gradient of {fn.name} has been modified by an "
                f"in-place operation: its output {k} is at version {vc[0]}, expected version 0. "
                f"Change a copy of the output (y.clone()) instead")


def _sweep(roots, seeds, retain_graph=False, create_graph=False, inputs=None):
    """The reverse-mode sweep from `roots` seeded with `seeds` (arrays; Tensors when create_graph).

    inputs None: accumulate into every leaf's `.grad` (Tensor.backward). Otherwise: return the
    gradients of the tensors `inputs` (None where none arrived), touch no `.grad`, and run only the
    nodes that lie between the roots and those tensors.
    """
    order, edges, changed = _graph(roots)
    want = needed = captured = None
    met_freed = False
    if inputs is not None:
        want = {}
        for k, t in enumerate(inputs):  # an input may be listed twice
            want.setdefault(id(t), []).append(k)
        needed = set()
        for fn in order:  # parents first: a node is needed when one of its inputs leads to a wanted tensor
            met_freed = met_freed or fn.freed  # a freed node has forgotten its inputs
            for p in edges.get(id(fn), fn.parents):
                if p is not None and (id(p) in want or (p._ctx is not None and id(p._ctx) in needed)):
                    needed.add(id(fn))
                    break
        captured = [None] * len(inputs)
    pending = {}
    given = set()  # ids of arrays handed to a leaf's .grad in this sweep
    for root, seed in zip(roots, seeds):
        _deliver(root, seed, pending, given, want, needed, captured)
    for fn in reversed(order):
        gouts = pending.pop(id(fn), None)
        if gouts is None:
            continue
        if fn.freed:
            raise RuntimeError(f"backward: {_SECOND_TIME}")
        if changed and id(fn) in changed:
            _check_saved(fn, changed[id(fn)])
        if fn._ovc is not None and _any_bump:
            for vc in fn._ovc:
                if vc[0]:
                    _check_saved(fn, ())
        ps = edges.get(id(fn), fn.parents) if edges else fn.parents
        g = gouts[0] if fn.n_out == 1 else tuple(gouts)
        gins = fn.backward_graph(g, *ps) if create_graph else fn.backward(g)
        if len(ps) == 1 and type(gins) is not tuple:
            gins = (gins,)
        for p, g in zip(ps, gins):
            if g is None or p is None or not p.requires_grad:
                continue
            if want is not None:
                _deliver(p, g, pending, given, want, needed, captured)
                continue
            ctx = p._ctx
            if g.dtype != p.data.dtype:
                g = g.astype(p.data.dtype)
            if ctx is None:  # a leaf: accumulate into .grad (never in place: g may be shared)
                if p.grad is not None:
                    p.grad = p.grad + g
                elif id(g) in given or not g.flags.c_contiguous:  # own, dense storage per leaf
                    p.grad = g.copy()
                else:
                    p.grad = g
                given.add(id(p.grad))
                continue
            buf = pending.get(id(ctx))
            if buf is None:
                buf = pending[id(ctx)] = [None] * ctx.n_out
            i = p._index
            buf[i] = g if buf[i] is None else buf[i] + g
        if not retain_graph:
            fn.__dict__.clear()
            fn.freed = True
    if met_freed and any(g is None for g in captured):  # the path to it may run through a freed node
        raise RuntimeError(f"grad: {_SECOND_TIME}")
    return captured


def _deliver(p, g, pending, given, want, needed, captured):
    """Hand gradient `g` to tensor `p`: its node's pending buffer, its `.grad` (a leaf) or `captured`.

    (The sweep's loop does the same inline for Tensor.backward, the path every training step takes.)
    """
    if g.dtype != p.data.dtype:
        g = g.astype(p.data.dtype)
    ctx = p._ctx
    if want is not None:
        ks = want.get(id(p))
        for k in ks or ():
            captured[k] = g if captured[k] is None else captured[k] + g
        if ctx is None:
            return
        if id(ctx) not in needed:
            if ctx.freed and ks is None:
                raise RuntimeError(f"grad: {_SECOND_TIME}")
            return
    elif ctx is None:  # a leaf: accumulate into .grad (never in place: g may be shared)
        if p.grad is not None:
            p.grad = p.grad + g
        elif id(g) in given or not g.flags.c_contiguous:  # own, dense storage per leaf
            p.grad = g.copy()
        else:
            p.grad = g
        given.add(id(p.grad))
        return
    if ctx.freed:
        raise RuntimeError(f"backward: {_SECOND_TIME}")
    buf = pending.get(id(ctx))
    if buf is None:
        buf = pending[id(ctx)] = [None] * ctx.n_out
    i = p._index
    buf[i] = g if buf[i] is None else buf[i] + g


def _backward(root, grad, retain_graph=False):
    """Tensor.backward: reverse-mode sweep from `root`, seeded with `grad` (an array shaped like root)."""
    _sweep([root], [grad], retain_graph)


def grad(outputs, inputs, grad_outputs=None, *, create_graph=False, retain_graph=None, allow_unused=False,
         materialize_grads=False):
    """The gradients of `outputs` with respect to `inputs`, returned rather than accumulated into `.grad`.

    Like `torch.autograd.grad`. With `create_graph=True` the gradients are themselves recorded, so
    that a function of them (a gradient penalty) can be differentiated again.

    Args:
        outputs: a Tensor or a sequence of Tensors to differentiate.
        inputs: a Tensor or a sequence of Tensors (leaves or intermediate results) to differentiate
            with respect to.
        grad_outputs: the vector of the vector-Jacobian product: one gradient (Tensor or array) per
            output, or None for a one-element output (1). Default None.
        create_graph: record the backward pass, for higher derivatives. Default False.
        retain_graph: keep the graph of `outputs` for another backward; defaults to `create_graph`.
        allow_unused: return None for an input the outputs do not depend on, instead of raising.
        materialize_grads: return zeros instead of None for such inputs (implies `allow_unused`).

    Returns:
        A tuple with one Tensor (or None) per input. `.grad` attributes are left untouched.

    Example:

    ```python
    import dlcore as dl

    x = dl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x ** 3).sum()
    (dx,) = dl.grad(y, x, create_graph=True)       # 3 x^2, itself differentiable
    (dxx,) = dl.grad(dx.sum(), x)                   # 6 x
    assert dxx.tolist() == [6.0, 12.0, 18.0]
    ```
    """
    outputs = _tensor_seq(outputs, "outputs")
    inputs = _tensor_seq(inputs, "inputs")
    for k, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: inputs[{k}] (shape {tuple(t.shape)}) does not require grad; create it with "
                               f"requires_grad=True or call t.requires_grad_()")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif type(grad_outputs) not in (list, tuple):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: expected one grad_output per output ({len(outputs)}), got {len(grad_outputs)}")
    wrap = type(outputs[0])._wrap
    roots, seeds = [], []
    for k, (out, go) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:
            raise RuntimeError(f"grad: outputs[{k}] does not require grad and has no graph (was it computed under "
                               f"no_grad(), or from tensors without requires_grad=True?)")
        xp = out.xp
        if go is None:
            if out.data.size != 1:
                raise RuntimeError(f"grad: grad can be implicitly created only for a one-element output; "
                                   f"outputs[{k}] has shape {tuple(out.shape)}, pass grad_outputs")
            seed = xp.ones_like(out.data)
        else:
            seed = go.data if hasattr(go, "_ctx") else xp.asarray(go, dtype=out.data.dtype)
            if tuple(seed.shape) != tuple(out.shape):
                raise ValueError(f"grad: grad_outputs[{k}] has shape {tuple(seed.shape)}, expected the shape of "
                                 f"outputs[{k}], {tuple(out.shape)}")
        if create_graph:
            seed = go if go is not None and hasattr(go, "_ctx") else wrap(seed, None, 0)
        roots.append(out)
        seeds.append(seed)
    retain = create_graph if retain_graph is None else bool(retain_graph)
    if create_graph:
        with enable_grad():
            captured = _sweep(roots, seeds, retain, True, inputs)
    else:
        captured = _sweep(roots, seeds, retain, False, inputs)
    result = []
    for k, (t, g) in enumerate(zip(inputs, captured)):
        if g is None:
            if not (allow_unused or materialize_grads):
                raise RuntimeError(f"grad: inputs[{k}] (shape {tuple(t.shape)}) was not used to compute the outputs "
                                   f"(no path leads from it to them); pass allow_unused=True to get None for it")
            if materialize_grads:
                g = t.xp.zeros_like(t.data)
            else:
                result.append(None)
                continue
        if not hasattr(g, "_ctx"):  # an array: a dense copy of its own, as a constant tensor
            dense = g.flags.c_contiguous and getattr(g.flags, "writeable", True)
            g = wrap(g if dense else g.copy(), None, 0)
        result.append(g)
    return tuple(result)


def _tensor_seq(x, what):
    seq = [x] if hasattr(x, "_ctx") else x
    if type(seq) not in (list, tuple) or not seq or not all(hasattr(t, "_ctx") for t in seq):
        raise TypeError(f"grad: '{what}' must be a Tensor or a non-empty sequence of Tensors, got "
                        f"{type(x).__name__}")
    return list(seq)
