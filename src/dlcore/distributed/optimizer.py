"""DistributedOptimizer: any dlcore optimizer, with its gradients averaged over the processes first.

    opt = dl.distributed.DistributedOptimizer(dl.optimizers.Adam(model.parameters(), lr=1e-3))
    dl.distributed.broadcast_parameters(model.state_dict(), root=0)   # every replica starts alike
    dl.distributed.broadcast_optimizer_state(opt, root=0)
    for xb, yb in loader:                                              # each rank: its own batches
        opt.zero_grad(); loss_fn(model(xb), yb).backward(); opt.step()

`step()` averages the gradients, then runs the wrapped optimizer's own step, so gradient
clipping (`clipnorm`, `global_clipnorm`) sees the global gradient and every replica applies the
same update: replicas that start equal stay bit-identical. The exchange per step:

1. one 16-byte check that every rank has gradients for the same parameters, with the same
   shapes and dtypes (a mismatch raises the same ValueError on every rank, naming the
   parameters, rather than summing unrelated buffers or waiting forever);
2. the gradients are packed into buckets (buckets.py: reverse parameter order, ~25 MB each),
   scaled by 1/size on the way, summed in place by one allreduce per bucket (MPI for NumPy,
   NCCL for CuPy), and handed back as views of the bucket: after step(), a parameter's
   `.grad` lies in the exchange buffer, which the next step() reuses. Where several processes
   share a machine, they sum their NumPy gradients through memory they all map instead (node.py:
   no packing of a large gradient, no copies through MPI's buffers; the `.grad` views are then
   read-only, since every process of the machine views the same sum). Otherwise a NumPy gradient
   of 4 MiB or more has a bucket of its own and skips the packing: it is reduce-scattered straight
   into the buffer, each rank scales its share, and an allgather completes it (host.py).

The returned object is an instance of a subclass of the optimizer's class, sharing the wrapped
optimizer's state (it *is* that optimizer, with an averaging step): `isinstance(opt, Adam)` holds,
model.save() records it as the plain optimizer, and train_on_batch / fit use it as they would
the plain one.
"""
from __future__ import annotations

import contextlib

import numpy as np

from .. import optimizers
from ..tensor import Tensor
from . import buckets
from .collectives import array_kind, check_root, check_same, plane
from .node import NodeBucket
from .world import world

__all__ = ["DistributedOptimizer", "broadcast_parameters", "broadcast_optimizer_state", "is_distributed", "Compression"]

_MAX_PLANS = 8   # exchange plans kept (a model whose branches alternate has a few gradient patterns)


class Compression:
    """Horovod's gradient compression choices: `none` (what dlcore does: gradients travel at their own
    precision). Horovod's `fp16` is not available: DistributedOptimizer raises for it.

    Example:

    ```python
    import dlcore as dl
    hvd = dl.distributed
    opt = hvd.DistributedOptimizer(dl.optimizers.Adam(learning_rate=1e-3), compression=hvd.Compression.none)
    ```
    """
    none = "none"
    fp16 = "fp16"


def _describe(p, i, names=None):
    name = (names or {}).get(id(p)) or getattr(p, "name", None)
    return f"parameter {i}" + (f" {name!r}" if name else "")


class Exchange:
    """Averages (or sums) lists of arrays over the ranks in buckets; keeps each pattern's plan and
    buffers between steps. Shared by DistributedOptimizer and broadcast_parameters."""

    def __init__(self, op="average", cap_bytes=buckets.DEFAULT_CAP_BYTES, shared_memory=True):
        self.op, self.cap_bytes, self.shared_memory = op, int(cap_bytes), bool(shared_memory)
        self._plans = {}

    def plan(self, w, signature, entries):
        got = self._plans.pop(signature, None)
        if got is None:
            got = (buckets.plan(entries, self.cap_bytes), {})
        self._plans[signature] = got  # most recently used last
        while len(self._plans) > _MAX_PLANS:
            _, old = self._plans.pop(next(iter(self._plans)))   # the same plan on every process
            shared = [b for b in old.values() if isinstance(b, NodeBucket)]
            if shared:
                plane(w, "host").retire(shared)
        return got

    def reduce(self, w, items, what, explain):
        """items: [(key, array, group)], group 'grad' (averaged or summed: self.op, handed back as views)
        or 'buffer' (averaged, copied back into the array). Returns the new arrays of the 'grad' items
        in order (views into the exchange buffers; read-only where they are shared by the processes of
        a machine)."""
        entries = [buckets.Entry(k, tuple(a.shape), a.dtype, array_kind(a), g) for k, a, g in items]
        signature = tuple((e.key, e.shape, e.dtype.str, e.device, e.group) for e in entries)
        check_same(w, what, signature, explain)
        plan, buffers = self.plan(w, signature, entries)
        by_key = {k: a for k, a, _ in items}
        out = {}
        for i, bucket in enumerate(plan):
            pl = plane(w, bucket.device)
            arrays = [by_key[s.key] for s in bucket.slots]
            scale = 1.0 / w.size if (bucket.group == "buffer" or self.op == "average") else 1.0
            buf = buffers.get(i)
            if buf is None:
                buf = pl.node_bucket(bucket) if self.shared_memory and pl.kind == "host" else None
                if buf is None:
                    buf = pl.empty(bucket.size, bucket.dtype)
                buffers[i] = buf
            shared = isinstance(buf, NodeBucket)
            if shared:
                buf = buf.reduce(arrays, scale)
            elif _straight(pl, bucket, arrays, buf):
                pl.average_into(arrays[0].reshape(-1), buf, scale)
            else:
                pl.pack(arrays, bucket, scale, out=buf)
                pl.allreduce_(buf, "sum")
            if bucket.group == "buffer":
                pl.unpack(buf, bucket, arrays)
            else:
                views = pl.views(buf, bucket)
                if shared:
                    for v in views:
                        v.flags.writeable = False
                out.update(zip((s.key for s in bucket.slots), views))
        return [out[k] for k, _, g in items if g == "grad"]


def _straight(pl, bucket, arrays, buf):
    """Whether a bucket is reduced straight from its array (HostPlane.average_into): a gradient
    bucket of one contiguous float32/float64 NumPy array of SOLO_BYTES or more that does not
    overlap the bucket's buffer (a .grad left from the last step is a view into it)."""
    return (pl.kind == "host" and bucket.group == "grad" and len(arrays) == 1
            and bucket.nbytes >= buckets.SOLO_BYTES and bucket.dtype in (np.float32, np.float64)
            and arrays[0].dtype == bucket.dtype and arrays[0].flags.c_contiguous
            and not np.may_share_memory(arrays[0], buf))


def _explain_gradients(params, names=None):
    """A message naming the parameters whose gradients the ranks disagree on (by `names`, id -> name,
    where given: DistributedOptimizer's named_parameters)."""
    def explain(signatures):
        per_rank = [{e[0]: e for e in sig if e[4] == "grad"} for sig in signatures]
        keys = sorted(set().union(*per_rank))
        lines = []
        for k in keys:
            have = [r for r, d in enumerate(per_rank) if k in d]
            what = _describe(params[k], k, names) if 0 <= k < len(params) else f"gradient {k}"
            if len(have) != len(per_rank):
                lacking = [r for r in range(len(per_rank)) if r not in have]
                lines.append(f"{what}: a gradient on rank(s) {have}, none on rank(s) {lacking}")
            elif len({(d[k][1], d[k][2], d[k][3]) for d in per_rank}) > 1:
                forms = ", ".join(f"rank {r}: shape {d[k][1]} {np.dtype(d[k][2])} on {d[k][3]}"
                                  for r, d in enumerate(per_rank))
                lines.append(f"{what}: {forms}")
        if not lines:
            lines = [f"rank {r}: {len(d)} gradient(s)" for r, d in enumerate(per_rank)]
        more = f" (and {len(lines) - 5} more)" if len(lines) > 5 else ""
        return ("the processes do not have gradients for the same parameters in this step: " + "; ".join(lines[:5])
                + more + ". Every process must run the same layers in each step (with the same model); a layer "
                "used on some processes only needs a zero-valued use on the others")
    return explain


class _Distributed:
    """Mixed in before the wrapped optimizer's class: the averaging step."""

    def synchronize(self):
        """Average the gradients (`.grad`) of the optimizer's parameters over the processes now.

        step() does it by itself; call it to work on the averaged gradients before step() (which
        then does not average them again). zero_grad() starts a new step.
        """
        self._distributed_synchronized = True
        w = world()
        if w.size == 1:
            return
        params = self.params
        items = [(i, p.grad.data if isinstance(p.grad, Tensor) else p.grad, "grad")
                 for i, p in enumerate(params) if p.grad is not None]
        buffers = self._distributed_buffers
        items += [(len(params) + j, b.data, "buffer") for j, b in enumerate(buffers)]
        new = self._distributed_exchange.reduce(w, items, "DistributedOptimizer",
                                                _explain_gradients(params, self._distributed_names))
        for (i, _, _), g in zip(items, new):
            params[i].grad = g

    def step(self, closure=None):
        """Average the gradients over the processes, then update (the wrapped optimizer's step)."""
        loss = closure() if closure is not None else None
        if not self.__dict__.get("_distributed_synchronized") and not self.__dict__.get("_distributed_skip"):
            self.synchronize()
        self._distributed_synchronized = False
        super().step()
        return loss

    @contextlib.contextmanager
    def skip_synchronize(self):
        """Horovod's: step() inside this block does not average the gradients (the program called
        synchronize() itself, then changed them, e.g. clipped them).

        Example:

        ```python
        import dlcore as dl
        w = dl.Parameter(dl.tensor([1.0, 2.0]).numpy())
        opt = dl.distributed.DistributedOptimizer(dl.optimizers.SGD([w], lr=0.1))
        (w * w).sum().backward()
        opt.synchronize()
        dl.nn.utils.clip_grad_norm_([w], 1.0)
        with opt.skip_synchronize():
            opt.step()
        ```
        """
        self._distributed_skip = True
        try:
            yield
        finally:
            self._distributed_skip = False

    def zero_grad(self, set_to_none=True):
        self._distributed_synchronized = False
        if not set_to_none:   # a gradient shared by the processes of a machine is read-only: zeros of its own
            for p in self.params:
                if isinstance(p.grad, np.ndarray) and not p.grad.flags.writeable:
                    p.grad = np.zeros_like(p.grad)
        return super().zero_grad(set_to_none)

    def apply_gradients(self, grads_and_vars):
        """Keras style: average the given gradients over the processes, then apply them."""
        pairs = list(grads_and_vars)
        w = world()
        if w.size > 1:
            items = [(i, g.data if isinstance(g, Tensor) else g, "grad") for i, (g, _) in enumerate(pairs)
                     if g is not None]
            items += [(len(pairs) + j, b.data, "buffer") for j, b in enumerate(self._distributed_buffers)]
            new = iter(self._distributed_exchange.reduce(w, items, "DistributedOptimizer.apply_gradients",
                                                         _explain_gradients([v for _, v in pairs],
                                                                            self._distributed_names)))
            pairs = [(None if g is None else next(new), v) for g, v in pairs]
        return super().apply_gradients(pairs)

    def set_buffers(self, buffers):
        """Tensors (not trained by this optimizer) averaged over the processes at every step, e.g.
        BatchNormalization's moving statistics; fit() sets its model's."""
        buffers = list(buffers or [])
        for i, b in enumerate(buffers):
            if not isinstance(b, Tensor):
                raise TypeError(f"DistributedOptimizer: buffers[{i}] is a {type(b).__name__}, expected a dlcore "
                                "Tensor (e.g. a BatchNormalization layer's moving_mean)")
            if b.dtype.kind != "f":
                raise TypeError(f"DistributedOptimizer: buffers[{i}] has dtype {b.dtype}; only float buffers can be "
                                "averaged")
        self._distributed_buffers = buffers

    @property
    def wrapped_class(self):
        """The class of the optimizer this one distributes (e.g. dl.optimizers.Adam)."""
        return self._distributed_base

    def __repr__(self):
        return f"DistributedOptimizer({self._distributed_base.__repr__(self)})"


_CLASSES = {}


def _distributed_class(base):
    cls = _CLASSES.get(base)
    if cls is None:
        # named like the optimizer it distributes, so that a saved model records the plain optimizer
        cls = type(base.__name__, (_Distributed, base), {"__module__": base.__module__,
                                                          "__qualname__": f"DistributedOptimizer[{base.__qualname__}]",
                                                          "_distributed_base": base})
        _CLASSES[base] = cls
    return cls


def is_distributed(optimizer) -> bool:
    """Whether `optimizer` came from DistributedOptimizer (its steps average the gradients).

    Example:

    ```python
    import dlcore as dl
    opt = dl.distributed.DistributedOptimizer(dl.optimizers.SGD(learning_rate=0.1))
    assert dl.distributed.is_distributed(opt) and not dl.distributed.is_distributed(dl.optimizers.SGD())
    ```
    """
    return isinstance(optimizer, _Distributed)


def DistributedOptimizer(optimizer, op="average", bucket_cap_mb=25.0, buffers=None, shared_memory=True, *,
                         named_parameters=None, compression=None, backward_passes_per_step=1,
                         gradient_predivide_factor=1.0, sparse_as_dense=False):
    """Wrap a dlcore optimizer so that each step averages the gradients over all processes first.

    Horovod's `hvd.DistributedOptimizer`: every process computes gradients on its own part of
    the batch; `step()` (or `apply_gradients`) averages them in packed buckets (reverse parameter
    order, about `bucket_cap_mb` each; MPI for NumPy, NCCL for CuPy) before clipping and the
    update, so every replica applies the same update. With one process it is the optimizer
    itself.

    Args:
        optimizer: a dlcore Optimizer (or a name like "adam", or a config dict).
        op: "average" (the gradient of the mean loss over the global batch) or "sum".
        bucket_cap_mb: size of one exchange buffer in MiB (bigger: fewer, larger messages).
        buffers: Tensors averaged over the processes at every step besides the gradients, such
            as BatchNormalization's moving_mean / moving_variance (fit() passes its model's).
        shared_memory: where several processes share a machine, sum their float32/float64
            gradients through memory they all map (an MPI-3 shared window; across machines MPI
            then sums each machine's result). The averaged `.grad` arrays are then read-only views
            that the processes of a machine share: assign a new array to change one
            (`p.grad = p.grad * 0.5`). False: MPI's allreduce on each process's own buffers.

    Horovod's keywords, for code written against it:
        named_parameters: (name, parameter) pairs, e.g. model.named_parameters(): the names used
            in the error raised when processes disagree on which parameters have gradients.
        compression: Compression.none (or None). Compression.fp16 raises: gradients travel at
            their own precision.
        backward_passes_per_step: 1. Larger values raise: to accumulate, call backward() several
            times before one step() (the gradients add up in .grad) and scale the loss yourself.
        gradient_predivide_factor: 1.0 (other values raise).
        sparse_as_dense: accepted; dlcore's gradients are always dense.

    Returns:
        The optimizer, as an instance of a subclass of its class that shares its state.

    Example:

    ```python
    import numpy as np
    import dlcore as dl
    model = dl.Sequential([dl.layers.Dense(1, input_shape=(3,))])
    opt = dl.distributed.DistributedOptimizer(dl.optimizers.SGD(learning_rate=0.1))
    model.compile(optimizer=opt, loss="mse")
    model.fit(np.ones((8, 3), np.float32), np.zeros((8, 1), np.float32), epochs=1, batch_size=4, verbose=0)
    ```
    """
    if isinstance(optimizer, _Distributed):
        raise ValueError("DistributedOptimizer: this optimizer is already distributed")
    try:
        opt = optimizers.get(optimizer)
    except TypeError:
        raise TypeError(f"DistributedOptimizer: optimizer must be a dlcore Optimizer, a name or a config dict, "
                        f"got {type(optimizer).__name__}") from None
    if op not in ("average", "sum"):
        raise ValueError(f"DistributedOptimizer: op must be 'average' or 'sum', got {op!r}")
    if isinstance(bucket_cap_mb, bool) or not isinstance(bucket_cap_mb, (int, float)) or not bucket_cap_mb > 0:
        raise ValueError(f"DistributedOptimizer: bucket_cap_mb must be a positive number, got {bucket_cap_mb!r}")
    if not isinstance(shared_memory, (bool, np.bool_)):
        raise TypeError(f"DistributedOptimizer: shared_memory must be True or False, got {shared_memory!r}")
    if compression not in (None, Compression.none):
        raise ValueError(f"DistributedOptimizer: compression={compression!r} is not available; gradients travel at "
                         "their own precision (compression=Compression.none)")
    if isinstance(backward_passes_per_step, bool) or backward_passes_per_step != 1:
        raise ValueError(f"DistributedOptimizer: backward_passes_per_step={backward_passes_per_step!r} is not "
                         "available (only 1); to accumulate gradients, call backward() several times before one "
                         "step(): they add up in .grad")
    if isinstance(gradient_predivide_factor, bool) or gradient_predivide_factor != 1.0:
        raise ValueError(f"DistributedOptimizer: gradient_predivide_factor={gradient_predivide_factor!r} is not "
                         "available (only 1.0)")
    if not isinstance(sparse_as_dense, (bool, np.bool_)):
        raise TypeError(f"DistributedOptimizer: sparse_as_dense must be True or False, got {sparse_as_dense!r}")
    names = {}
    for item in (named_parameters or ()):
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Tensor)):
            raise TypeError("DistributedOptimizer: named_parameters must give (name, parameter) pairs, as "
                            f"model.named_parameters() does; got {type(item).__name__}")
        names[id(item[1])] = str(item[0])
    cls = _distributed_class(type(opt))
    dist = cls.__new__(cls)
    dist.__dict__ = opt.__dict__   # one optimizer, two faces: state, parameters and step count are shared
    dist._distributed_exchange = Exchange(op, max(1, int(bucket_cap_mb * 2 ** 20)), bool(shared_memory))
    dist._distributed_names = names
    dist.set_buffers(buffers)
    world()  # join the job now (threads, device), not in the middle of the first step
    return dist


# ---- starting every replica alike -----------------------------------------------------------------

def _named_arrays(params, what):
    """[(name, writable array)] from a state_dict, a Module, or a list of Tensors / (name, Tensor) pairs."""
    if hasattr(params, "state_dict") and hasattr(params, "named_parameters"):  # a Module or a Model
        params = params.state_dict()
    if isinstance(params, dict):
        items = sorted(params.items(), key=lambda kv: str(kv[0]))  # the same order on every rank
    else:
        items = []
        for i, p in enumerate(params):
            items.append(p if isinstance(p, tuple) and len(p) == 2 else (getattr(p, "name", None) or str(i), p))
    out = []
    for name, v in items:
        a = v.data if isinstance(v, Tensor) else v
        if not (isinstance(a, np.ndarray) or hasattr(a, "__cuda_array_interface__")):
            raise TypeError(f"dlcore.distributed.{what}: {name!r} is a {type(v).__name__}, expected an array or a "
                            "Tensor (pass model.state_dict(), model.parameters() or a list of tensors)")
        if a.dtype.kind not in "biufc":
            raise TypeError(f"dlcore.distributed.{what}: {name!r} has dtype {a.dtype}, which cannot be sent")
        out.append((str(name), a))
    return out


def _broadcast_arrays(w, named, root, what, cap_bytes=buckets.DEFAULT_CAP_BYTES):
    """Root's values into every rank's arrays, in place, packed in buckets (one bcast per bucket)."""
    signature = tuple((n, tuple(a.shape), a.dtype.str, array_kind(a)) for n, a in named)
    check_same(w, what, signature)
    entries = [buckets.Entry(i, tuple(a.shape), a.dtype, array_kind(a), "param") for i, (_, a) in enumerate(named)]
    for bucket in buckets.plan(entries, cap_bytes):
        pl = plane(w, bucket.device)
        arrays = [named[s.key][1] for s in bucket.slots]
        buf = pl.pack(arrays, bucket) if w.rank == root else pl.empty(bucket.size, bucket.dtype)
        pl.bcast_(buf, root)
        if w.rank != root:
            pl.unpack(buf, bucket, arrays)


def broadcast_parameters(params, root=0, *, root_rank=None):
    """Overwrite every process's weights with root's, in place (start all replicas alike).

    Args:
        params: `model.state_dict()` (every weight, trainable or not), a Module / Model, or a list
            of Tensors or (name, Tensor) pairs. Dicts are sent in sorted-key order.
        root: the rank whose weights everyone receives (Horovod's `root_rank` is the same).

    Example:

    ```python
    import dlcore as dl
    model = dl.Sequential([dl.layers.Dense(4, input_shape=(3,))])
    dl.distributed.broadcast_parameters(model.state_dict(), root=0)
    ```
    """
    w = world()
    root = check_root("broadcast_parameters", root, w, root_rank)
    named = _named_arrays(params, "broadcast_parameters")
    if w.size > 1:
        _broadcast_arrays(w, named, root, "dlcore.distributed.broadcast_parameters")


def broadcast_optimizer_state(optimizer, root=0, *, root_rank=None):
    """Overwrite every process's optimizer state with root's: slot arrays (Adam's m and v, ...), the
    step count and a constant learning rate.

    Build the optimizer first (give it the parameters, or train one step); with fit() this
    happens by itself. `root_rank` is Horovod's name for `root`.

    Example:

    ```python
    import dlcore as dl
    model = dl.Sequential([dl.layers.Dense(4, input_shape=(3,))])
    opt = dl.optimizers.Adam(model.parameters(), lr=1e-3)
    dl.distributed.broadcast_optimizer_state(opt, root=0)
    ```
    """
    if not isinstance(optimizer, optimizers.Optimizer):
        raise TypeError(f"dlcore.distributed.broadcast_optimizer_state: expected a dlcore Optimizer, got "
                        f"{type(optimizer).__name__}")
    w = world()
    root = check_root("broadcast_optimizer_state", root, w, root_rank)
    if w.size == 1:
        return
    # the slot arrays travel in buckets; the per-parameter scalars (PyTorch's "step"), the param
    # groups' hyperparameters (lr, betas, ...) and the step count as one small object
    named = [(f"{i}.{k}", s[k]) for i, s in enumerate(optimizer.state) for k in sorted(s) if hasattr(s[k], "shape")]
    _broadcast_arrays(w, named, root, "dlcore.distributed.broadcast_optimizer_state")
    lr = getattr(optimizer, "_learning_rate", None)   # the constant, not a schedule's current value
    scalars = w.comm.bcast({
        "iterations": int(optimizer.iterations),
        "learning_rate": lr if isinstance(lr, float) else None,
        "state": [{k: v for k, v in s.items() if not hasattr(v, "shape")} for s in optimizer.state],
        "groups": [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups],
    }, root=root)
    optimizer.iterations = scalars["iterations"]
    if scalars["learning_rate"] is not None and isinstance(lr, float):
        optimizer.learning_rate = scalars["learning_rate"]
    for mine, theirs in zip(optimizer.state, scalars["state"]):
        mine.update(theirs)
    for mine, theirs in zip(optimizer.param_groups, scalars["groups"]):
        mine.update(theirs)
