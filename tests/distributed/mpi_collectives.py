"""Run under mpiexec (tests/test_distributed.py starts it): every collective on every dtype, empty and
odd sizes, against NumPy references computed from every rank's (reproducible) input.

Rank 0 prints one line `RESULT <json>`: {"size", "failures": [...], "threads", ...}. With --set-threads
the script calls dl.set_num_threads(3) before init().
"""
import json
import os
import sys

import numpy as np

import dlcore as dl

D = dl.distributed
imported_mpi_early = "mpi4py.MPI" in sys.modules   # import dlcore must not initialize MPI
if "--set-threads" in sys.argv:   # the program chose a thread count: init() keeps it
    dl.set_num_threads(3)
D.init()
r, n = D.rank(), D.size()
failures = []

DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64,
          np.float16, np.float32, np.float64, np.complex64, np.complex128]
SHAPES = [(), (0,), (1,), (7,), (33, 3), (2, 0, 5)]


def data(rank, dtype, shape, salt=0):
    """Small integer values (so that every sum, mean and product is exact), reproducible per rank."""
    rng = np.random.default_rng([rank, salt, np.dtype(dtype).num, len(shape)] + list(shape))
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    lo = 0 if dt.kind == "u" else -3
    v = rng.integers(lo, 4, size=shape)
    if dt.kind == "c":
        v = v + 1j * rng.integers(-3, 4, size=shape)
    return np.asarray(v).astype(dt)


def reference(xs, op, dtype):
    s = np.stack(xs)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return {"sum": s.any(0), "max": s.any(0), "min": s.all(0), "prod": s.all(0)}[op]
    if dt == np.float16:
        wide = s.astype(np.float32)
        if op == "average":
            return wide.sum(0).astype(np.float16) / n
        return {"sum": wide.sum(0), "max": wide.max(0), "min": wide.min(0), "prod": wide.prod(0)}[op].astype(dt)
    if op == "average":
        return s.sum(0, dtype=dt) / n
    return {"sum": s.sum(0, dtype=dt), "max": s.max(0) if dt.kind != "c" else None, "min": s.min(0) if dt.kind != "c"
            else None, "prod": s.prod(0, dtype=dt)}[op]


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)


def check(what, got, want):
    if not same(got, want):
        failures.append(f"{what}: got {np.asarray(got)!r}, expected {np.asarray(want)!r}")


for dtype in DTYPES:
    dt = np.dtype(dtype)
    ops = ["sum", "min", "max", "prod"] + (["average"] if dt.kind in "fc" else [])
    if dt.kind == "c":
        ops = [o for o in ops if o not in ("min", "max")]
    for shape in SHAPES:
        xs = [data(q, dtype, shape) for q in range(n)]
        mine = xs[r].copy()
        for op in ops:
            got = D.allreduce(xs[r], op=op)
            check(f"allreduce {dt} {shape} {op}", got, reference(xs, op, dtype))
        check(f"input unchanged {dt} {shape}", xs[r], mine)
        check(f"broadcast {dt} {shape}", D.broadcast(xs[r], root=n - 1), xs[n - 1])
        if len(shape) >= 1:
            ys = [data(q, dtype, (q + shape[0],) + shape[1:], salt=1) for q in range(n)]
            check(f"allgather {dt} {shape}", D.allgather(ys[r]), np.concatenate(ys))
    # the wrong op for the dtype is refused the same way on every rank, before any message
    if dt.kind not in "fc":
        try:
            D.allreduce(data(r, dtype, (3,)), op="average")
            failures.append(f"average on {dt} did not raise")
        except TypeError:
            pass

# Tensors in, Tensors out
t = D.allreduce(dl.tensor(np.full(4, float(r + 1), np.float32)))
check("allreduce Tensor", t.numpy(), np.full(4, (n + 1) / 2, np.float32))
if not isinstance(t, dl.Tensor):
    failures.append("allreduce of a Tensor did not return a Tensor")

# a shape mismatch is one ValueError on every rank, naming what each rank passed (and nothing hangs)
try:
    D.allreduce(np.zeros(3 + (r == 0), np.float32))
    failures.append("mismatched shapes did not raise")
except ValueError as e:
    if "rank 0" not in str(e) or "(4,)" not in str(e):
        failures.append(f"unclear mismatch message: {e}")
try:
    D.allgather(np.zeros((2, 3 + (r == 1)), np.float32))
    failures.append("mismatched trailing shapes did not raise")
except ValueError:
    pass

# HostPlane.average_into (the exchange's path for a large gradient) in chunks of 3 elements per rank:
# sizes with whole chunks, a short last chunk, a tail below n elements and fewer elements than ranks
from dlcore.distributed import host  # noqa: E402
from dlcore.distributed.world import world  # noqa: E402

plane = host.HostPlane(world())
share_bytes = host.SHARE_BYTES
for dtype in (np.float32, np.float64):
    host.SHARE_BYTES = 3 * np.dtype(dtype).itemsize
    for size in (0, 1, n - 1, 3 * n, 3 * n + 1, 7 * n + n // 2 + 1, 100):
        xs = [data(q, dtype, (size,), salt=2) for q in range(n)]
        want = np.stack(xs).sum(0, dtype=dtype)
        check(f"average_into {np.dtype(dtype)} ({size},)", plane.average_into(xs[r], np.full(size, np.nan, dtype)),
              want)
        check(f"average_into {np.dtype(dtype)} ({size},) scaled", plane.average_into(xs[r], np.empty(size, dtype),
                                                                                    0.5), want * dtype(0.5))
host.SHARE_BYTES = share_bytes

# objects
check("allreduce_object sum", D.allreduce_object(r + 1), sum(range(1, n + 1)))
check("allreduce_object max", D.allreduce_object(r, op="max"), n - 1)
check("allreduce_object average", D.allreduce_object(float(r), op="average"), sum(range(n)) / n)
check("broadcast_object", D.broadcast_object({"from": r} if r == 1 % n else None, root=1 % n)["from"], 1 % n)
if D.allgather_object(("rank", r)) != [("rank", q) for q in range(n)]:
    failures.append("allgather_object order")
D.barrier()

local = D.allgather_object((D.local_rank(), D.local_size()))
result = {"size": n, "failures": failures[:20], "n_failures": len(failures), "imported_mpi_early": imported_mpi_early,
          "threads": dl.get_num_threads(), "local": local, "omp_env": bool(os.environ.get("OMP_NUM_THREADS")
                                                                          or os.environ.get("DLCORE_NUM_THREADS"))}
all_failures = D.allgather_object(len(failures))
result["failures_by_rank"] = all_failures
if r == 0:
    print("RESULT " + json.dumps(result), flush=True)
