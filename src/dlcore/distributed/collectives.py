"""Collectives on NumPy and CuPy arrays (and dlcore Tensors), and on Python objects.

    avg = dl.distributed.allreduce(x)                 # the mean of x over all processes (op="sum", ...)
    w = dl.distributed.broadcast(w, root=0)           # rank 0's array everywhere
    all_x = dl.distributed.allgather(x)               # every rank's x, concatenated on axis 0

Every call is collective: each process of the job must make it, in the same order. Before any
data moves, the processes check (one 16-byte allreduce) that they describe the same operation —
same op, dtype, shape (trailing shape for allgather) and array kind — and raise the same
ValueError everywhere otherwise, naming what each rank passed, instead of summing unrelated
buffers or waiting forever. NumPy arrays travel by MPI; CuPy arrays by NCCL on CuPy's current
stream (or through pinned host memory, see device.py). Without a launcher each call returns a
copy of its input.
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .buckets import digest
from .host import HostPlane
from .world import world

__all__ = ["allreduce", "broadcast", "allgather", "allreduce_object", "broadcast_object", "allgather_object"]

OPS = ("average", "sum", "min", "max", "prod")
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


# ---- planes and checks -------------------------------------------------------------------------

def plane(w, kind):
    """The data plane moving arrays of `kind` ('host': NumPy, 'device': CuPy) in group `w`."""
    p = w.planes.get(kind)
    if p is None:
        if "host" not in w.planes:
            w.planes["host"] = HostPlane(w)
        if kind == "device":
            import cupy

            from .device import DevicePlane
            w.planes["device"] = DevicePlane(w, w.planes["host"], cupy)
        p = w.planes[kind]
    return p


def array_kind(a) -> str:
    """'host' for NumPy arrays, 'device' for CuPy (or other CUDA) arrays."""
    return "host" if isinstance(a, np.ndarray) else "device"


def check_same(w, what, signature, explain=None):
    """Raise the same ValueError on every rank when `signature` (any repr-able value) differs between
    ranks. Costs one allreduce of 16 bytes; the signatures themselves travel only on a mismatch.
    explain(signatures by rank) -> the message, when the default listing is not clear enough."""
    if w.size == 1:
        return
    h = np.uint64(digest(repr(signature)))
    v = np.array([h, h ^ _MASK], np.uint64)   # max of h and max of ~h, i.e. max and min of h
    w.comm.Allreduce(w.MPI.IN_PLACE, v, op=w.MPI.MAX)
    if v[0] == v[1] ^ _MASK:
        return
    signatures = w.comm.allgather(signature)
    if explain is not None:
        message = explain(signatures)
    else:
        message = "the processes disagree: " + "; ".join(f"rank {r} has {s}" for r, s in enumerate(signatures))
    raise ValueError(f"{what}: {message}")


def _as_array(x, what):
    """(array, wrap) where wrap(result) gives the result back in x's form (a Tensor for a Tensor)."""
    if isinstance(x, Tensor):
        return x.data, (lambda r: Tensor(r))
    if isinstance(x, np.ndarray) or type(x).__module__.startswith("cupy"):
        arr = x
    elif hasattr(x, "__cuda_array_interface__"):  # another library's GPU array: a CuPy view of it
        arr = _cupy().asarray(x)
    else:
        arr = np.asarray(x)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"dlcore.distributed.{what}: arrays of dtype {arr.dtype} cannot be sent as arrays (expected "
                        f"bool, integer, float or complex); use {what}_object for Python objects")
    return arr, (lambda r: r)


# Horovod's reduction operators, for code written against it: allreduce(x, op=dl.distributed.Sum)
Average, Sum, Min, Max, Product = "average", "sum", "min", "max", "prod"


def check_root(what, root, w, root_rank=None):
    """The root rank as an int: `root`, or Horovod's name for the same argument, `root_rank` (not both
    with different values); a ValueError naming `what` unless it is a rank of `w`."""
    if root_rank is not None:
        if root not in (0, root_rank):
            raise ValueError(f"dlcore.distributed.{what}: root={root!r} and root_rank={root_rank!r} disagree; "
                             "give one")
        root = root_rank
    if isinstance(root, bool) or not isinstance(root, (int, np.integer)) or not 0 <= root < w.size:
        raise ValueError(f"dlcore.distributed.{what}: root must be a rank in [0, {w.size}), got {root!r}")
    return int(root)


def check_op(what, op, dtype=None):
    """Validate op (and that it applies to `dtype`); returns it."""
    if op not in OPS:
        raise ValueError(f"dlcore.distributed.{what}: op must be one of {', '.join(map(repr, OPS))}, got {op!r}")
    if dtype is not None:
        if op == "average" and dtype.kind not in "fc":
            raise TypeError(f"dlcore.distributed.{what}: op='average' needs a float or complex dtype, got {dtype}; "
                            "use op='sum' and divide, or cast first")
        if op in ("min", "max") and dtype.kind == "c":
            raise TypeError(f"dlcore.distributed.{what}: op={op!r} is not defined for complex dtype {dtype}")
    return op


# ---- array collectives ---------------------------------------------------------------------------

def allreduce(x, op="average", *, average=None, name=None):
    """Combine `x` over all processes: the mean (op="average"), or "sum", "min", "max", "prod".

    Every process passes an array of the same shape and dtype and gets the result (a new array;
    x is not modified). Works on NumPy arrays (via MPI), CuPy arrays (via NCCL) and dlcore
    Tensors (the result is a Tensor without gradient). float16 is reduced in float32 and
    rounded once; bool "sum"/"max" are a logical OR, "min"/"prod" an AND.

    Args:
        x: array or Tensor (bool, integer, float or complex).
        op: "average" (float and complex only), "sum", "min", "max" (not complex) or "prod"
            (also as Horovod's constants: dl.distributed.Average, Sum, Min, Max, Product).
        average: Horovod's older form of op: True is "average", False "sum".
        name: Horovod's label for the operation: every process must give the same one here
            (a ValueError on every process otherwise), as Horovod matches collectives by name.

    Returns:
        The combined array, same shape and dtype as x.

    Example:

    ```python
    import numpy as np
    import dlcore as dl
    grads = np.ones(3, np.float32) * (dl.distributed.rank() + 1)
    mean = dl.distributed.allreduce(grads)                 # (1 + ... + size) / size everywhere
    total = dl.distributed.allreduce(np.array([1]), op="sum")
    assert total[0] == dl.distributed.size()
    ```
    """
    arr, wrap = _as_array(x, "allreduce")
    if average is not None:
        if not isinstance(average, (bool, np.bool_)):
            raise TypeError(f"dlcore.distributed.allreduce: average must be True or False, got {average!r}")
        if op != "average":
            raise ValueError(f"dlcore.distributed.allreduce: give op={op!r} or average={average!r}, not both")
        op = "average" if average else "sum"
    op = check_op("allreduce", op, arr.dtype)
    w = world()
    kind = array_kind(arr)
    check_same(w, "dlcore.distributed.allreduce", ("allreduce", op, arr.dtype.str, tuple(arr.shape), kind, name))
    p = plane(w, kind) if w.size > 1 else None
    xp = p.xp if p is not None else (np if kind == "host" else _cupy())
    out = xp.array(arr, copy=True, order="C")
    if p is not None and out.size:
        flat = out.reshape(-1)
        p.allreduce_(flat, "sum" if op == "average" else op)
        if op == "average":
            xp.true_divide(flat, w.size, out=flat)
    return wrap(out)


def broadcast(x, root=0, *, root_rank=None, name=None):
    """Root's `x` on every process (a new array; x is not modified).

    Every process passes an array of the same shape and dtype (its values matter only on root).

    Args:
        x: array or Tensor.
        root: the rank whose values everyone receives (Horovod's `root_rank` is the same).
        name: Horovod's label for the operation: every process must give the same one here.

    Returns:
        A copy of root's array.

    Example:

    ```python
    import numpy as np
    import dlcore as dl
    seed = dl.distributed.broadcast(np.array([np.random.randint(1 << 30)]), root=0)   # one seed for all
    ```
    """
    arr, wrap = _as_array(x, "broadcast")
    w = world()
    root = check_root("broadcast", root, w, root_rank)
    kind = array_kind(arr)
    check_same(w, "dlcore.distributed.broadcast", ("broadcast", root, arr.dtype.str, tuple(arr.shape), kind, name))
    p = plane(w, kind) if w.size > 1 else None
    xp = p.xp if p is not None else (np if kind == "host" else _cupy())
    out = xp.array(arr, copy=True, order="C")
    if p is not None:
        p.bcast_(out.reshape(-1), root)
    return wrap(out)


def allgather(x):
    """Every process's `x`, concatenated along the first axis in rank order.

    The first dimension may differ between processes; the other dimensions and the dtype must
    agree.

    Args:
        x: array or Tensor with at least one dimension.

    Returns:
        An array of shape (sum of the first dimensions, *x.shape[1:]).

    Example:

    ```python
    import numpy as np
    import dlcore as dl
    mine = np.full((dl.distributed.rank() + 1, 2), dl.distributed.rank())
    everyone = dl.distributed.allgather(mine)
    assert len(everyone) == sum(range(1, dl.distributed.size() + 1))
    ```
    """
    arr, wrap = _as_array(x, "allgather")
    if arr.ndim == 0:
        raise ValueError("dlcore.distributed.allgather: x needs at least one dimension (the one that is "
                         "concatenated), got a 0-d array; reshape it to (1,)")
    w = world()
    kind = array_kind(arr)
    trailing = tuple(arr.shape[1:])
    check_same(w, "dlcore.distributed.allgather", ("allgather", arr.dtype.str, trailing, kind))
    if w.size == 1:
        xp = np if kind == "host" else _cupy()
        return wrap(xp.array(arr, copy=True, order="C"))
    p = plane(w, kind)
    rows = w.comm.allgather(int(arr.shape[0]))
    per_row = math.prod(trailing)
    flat = p.xp.ascontiguousarray(arr).reshape(-1)
    out = p.allgatherv(flat, [r * per_row for r in rows])
    return wrap(out.reshape((sum(rows),) + trailing))


def _cupy():
    import cupy
    return cupy


# ---- object collectives (pickled; for small Python values) --------------------------------------

def allreduce_object(obj, op="sum"):
    """Combine a picklable Python value over all processes with op "sum", "average", "min", "max", "prod".

    "sum" uses `+` (numbers add, lists concatenate), "average" is the sum divided by size().

    Example:

    ```python
    import dlcore as dl
    seen = dl.distributed.allreduce_object(10, op="sum")     # 10 * size()
    assert seen == 10 * dl.distributed.size()
    ```
    """
    op = check_op("allreduce_object", op)
    w = world()
    if w.size == 1:
        return obj
    mpi = w.MPI
    total = w.comm.allreduce(obj, op={"average": mpi.SUM, "sum": mpi.SUM, "min": mpi.MIN, "max": mpi.MAX,
                                      "prod": mpi.PROD}[op])
    return total / w.size if op == "average" else total


def broadcast_object(obj=None, root=0, *, root_rank=None, name=None):
    """Root's picklable Python value on every process (the others may pass anything, e.g. None).
    `root_rank` is Horovod's name for root; a `name` (Horovod's label) must be the same on every process.

    Example:

    ```python
    import dlcore as dl
    config = {"lr": 0.01} if dl.distributed.rank() == 0 else None
    config = dl.distributed.broadcast_object(config, root=0)
    assert config["lr"] == 0.01
    ```
    """
    w = world()
    root = check_root("broadcast_object", root, w, root_rank)
    if w.size == 1:
        return obj
    if name is not None:
        check_same(w, "dlcore.distributed.broadcast_object", ("broadcast_object", root, name))
    return w.comm.bcast(obj, root=root)


def allgather_object(obj):
    """A list of every process's picklable value, in rank order.

    Example:

    ```python
    import socket
    import dlcore as dl
    hosts = dl.distributed.allgather_object(socket.gethostname())
    assert len(hosts) == dl.distributed.size()
    ```
    """
    w = world()
    if w.size == 1:
        return [obj]
    return w.comm.allgather(obj)
