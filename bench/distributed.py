"""Data-parallel training: the MPI's own allreduce, dlcore's gradient exchange beside it, and weak scaling.

    python bench/distributed.py [--np 2] [--quick] [--skip-train] [--results bench/RESULTS.md]

Starts its measurements under mpiexec itself (dlcore.distributed.run finds it and adds the flags
Open MPI needs) and prints three tables:

1. allreduce: the MPI library's in-place MPI_Allreduce of float32 buffers from 4 KB to 64 MB on
   --np processes: time, algorithm bandwidth (bytes / time) and bus bandwidth (algbw * 2(n-1)/n,
   the per-link figure of nccl-tests, comparable across process counts);
2. exchange: dlcore's gradient exchange (DistributedOptimizer's: the agreement check, then per
   bucket the sum through the machine's shared memory, scaled by 1/n, views back; and with
   shared_memory=False, packing into buckets scaled by 1/n and one MPI allreduce per bucket) on
   real parameter lists (bench/train.py's CNN and LSTM, and an MLP of 64 MB), for bucket caps of
   1 and 25 MB, beside raw allreduces of the same bucket sizes: ratio = raw time / dlcore time
   (target >= 0.8 for buckets of 1 MB and more), and beside one raw allreduce of the whole list;
3. weak scaling: the CNN of bench/train.py, Adam, 32 samples per process and step, on 1 and on
   --np processes with one thread each, against one process with one and with --np threads on
   the same global batch: step time, samples/s, efficiency (samples/s over --np times one
   single-thread process's) and the share of the step spent in the exchange (communication
   plus waiting for the slowest rank).

With CuPy and a GPU it adds: the pack / unpack kernels' throughput on a 64 MB parameter list
(bytes read + written, beside the device copy bandwidth) and the cost of staging a bucket through
pinned host memory (the path used where NCCL is missing).

Timing: barrier, then one call, per repetition; the median per rank, then the slowest rank's. The
exchange and its raw anchors take turns over five rounds (a slow spell falls on all of them alike).
Run it on a quiet machine; with more processes than cores the MPI's busy polling dominates.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import dlcore as dl  # noqa: E402
from dlcore.distributed import run as launcher  # noqa: E402

KB, MB = 1 << 10, 1 << 20
HERE = os.path.abspath(__file__)


# ---- parameter lists ------------------------------------------------------------------------------

def model(kind):
    L = dl.layers
    if kind == "cnn":
        return dl.Sequential([
            L.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), L.MaxPooling2D((2, 2)),
            L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)), L.Flatten(),
            L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])
    if kind == "lstm":
        return dl.Sequential([L.LSTM(64, return_sequences=True, input_shape=(28, 28)), L.LSTM(64),
                              L.Dense(10, activation="softmax")])
    # mlp: four 2048x2048 layers and a head, 64 MB of float32
    return dl.Sequential([L.Dense(2048, activation="relu", input_shape=(2048,))]
                         + [L.Dense(2048, activation="relu") for _ in range(3)] + [L.Dense(10)])


def param_shapes(kind):
    return [tuple(p.shape) for p in model(kind).parameters()]


# ---- timing across ranks ---------------------------------------------------------------------------

def timed(comm, f, budget_s=0.3, min_reps=5, max_reps=200):
    """The slowest rank's median time of f() (each call after a barrier)."""
    for _ in range(3):
        f()
    comm.Barrier()
    t0 = time.perf_counter()
    f()
    first = comm.allreduce(time.perf_counter() - t0, op=_mpi().MAX)
    reps = int(min(max_reps, max(min_reps, budget_s / max(first, 1e-7))))
    ts = []
    for _ in range(reps):
        comm.Barrier()
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return comm.allreduce(sorted(ts)[len(ts) // 2], op=_mpi().MAX)


def timed_turns(comm, fs, rounds=5, budget_s=0.3, min_reps=5, max_reps=100):
    """The slowest rank's median time of each f in fs, the functions taking turns over `rounds`
    rounds (each call after a barrier), so that a slow spell of a shared machine falls on all of
    them alike instead of on whichever ran then."""
    per_call = [timed(comm, f, budget_s=0.0, min_reps=1, max_reps=1) for f in fs]
    reps = [int(min(max_reps, max(min_reps, budget_s / max(t, 1e-7)))) for t in per_call]
    ts = [[] for _ in fs]
    for r in range(rounds):
        for f, n, t in zip(fs, reps, ts):
            for _ in range(-(-n * (r + 1) // rounds) - -(-n * r // rounds)):
                comm.Barrier()
                t0 = time.perf_counter()
                f()
                t.append(time.perf_counter() - t0)
    return [comm.allreduce(sorted(t)[len(t) // 2], op=_mpi().MAX) for t in ts]


def _mpi():
    from mpi4py import MPI
    return MPI


# ---- workers (run under mpiexec) -------------------------------------------------------------------

def worker_allreduce(args):
    from dlcore.distributed import buckets
    from dlcore.distributed.optimizer import Exchange
    from dlcore.distributed.world import world
    w = world()
    comm, MPI, n = w.comm, _mpi(), w.size
    out = {"n": n, "mpi": MPI.Get_library_version().splitlines()[0].strip(), "sweep": [], "exchange": []}
    top = 1 * MB if args.quick else 64 * MB
    nbytes = 4 * KB
    while nbytes <= top:
        buf = np.ones(nbytes // 4, np.float32)
        t = timed(comm, lambda: comm.Allreduce(MPI.IN_PLACE, buf, MPI.SUM))
        algbw = nbytes / t
        out["sweep"].append({"bytes": nbytes, "s": t, "algbw": algbw, "busbw": algbw * 2 * (n - 1) / n})
        nbytes *= 4
    rng = np.random.default_rng(0)
    kinds = ["cnn", "lstm"] + ([] if args.quick else ["mlp"])
    for kind in kinds:
        grads = [rng.standard_normal(s).astype(np.float32) for s in param_shapes(kind)]
        items = [(i, g, "grad") for i, g in enumerate(grads)]
        total = sum(g.nbytes for g in grads)
        for cap in (1 * MB, 25 * MB):
            ex, ex_mpi = Exchange("average", cap), Exchange("average", cap, shared_memory=False)
            plan = buckets.plan([buckets.Entry(i, g.shape, g.dtype) for i, g in enumerate(grads)], cap)
            bufs = [np.ones(b.size, np.float32) for b in plan]

            def raw_buckets():
                for b in bufs:
                    comm.Allreduce(MPI.IN_PLACE, b, MPI.SUM)
            whole = np.ones(total // 4, np.float32)
            t_dl, t_mpi, t_raw, t_whole = timed_turns(
                comm, [lambda: ex.reduce(w, items, "bench", None), lambda: ex_mpi.reduce(w, items, "bench", None),
                       raw_buckets, lambda: comm.Allreduce(MPI.IN_PLACE, whole, MPI.SUM)],
                budget_s=1.0 if not args.quick else 0.2)
            out["exchange"].append({"model": kind, "params": len(grads), "bytes": total, "cap": cap,
                                    "buckets": len(plan), "largest": max(b.nbytes for b in plan), "dl_s": t_dl,
                                    "mpi_s": t_mpi, "raw_s": t_raw, "whole_s": t_whole})
    if w.rank == 0:
        print("JSON " + json.dumps(out), flush=True)


def worker_train(args):
    from dlcore.distributed.world import world
    dl.distributed.init(num_threads=args.threads)
    w = world()
    dl.manual_seed(0)
    m = model("cnn")
    opt = dl.distributed.DistributedOptimizer(dl.optimizers.Adam(learning_rate=1e-3))
    m.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(w.rank)
    x = rng.random((args.batch, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, args.batch)
    comm_s = [0.0]
    sync = opt.synchronize

    def timed_sync():
        t0 = time.perf_counter()
        sync()
        comm_s[0] += time.perf_counter() - t0
    opt.synchronize = timed_sync
    for _ in range(3):
        m.train_on_batch(x, y)
    steps = 10 if args.quick else 40
    times = []
    comm_s[0] = 0.0
    for _ in range(steps):
        if w.comm is not None:
            w.comm.Barrier()
        t0 = time.perf_counter()
        m.train_on_batch(x, y)
        times.append(time.perf_counter() - t0)
    step = sorted(times)[len(times) // 2]
    share = comm_s[0] / sum(times)
    if w.comm is not None:
        step = w.comm.allreduce(step, op=_mpi().MAX)
        share = w.comm.allreduce(share, op=_mpi().MAX)
    if w.rank == 0:
        print("JSON " + json.dumps({"n": w.size, "threads": dl.get_num_threads(), "batch": args.batch,
                                    "step_s": step, "comm_share": share}), flush=True)


# ---- the driver --------------------------------------------------------------------------------------

def launch(n, *worker_args):
    cmd = launcher.command(n, [HERE, *worker_args], launcher.find_mpiexec())
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "DLCORE_NUM_THREADS")}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("JSON ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][5:])


def fmt_bytes(b):
    return f"{b / MB:.0f} MB" if b >= MB else f"{b / KB:.0f} KB"


def print_allreduce(res):
    print(f"\n## allreduce on {res['n']} processes: {res['mpi']}\n")
    print("| bytes | time | algbw | busbw |")
    print("|------:|-----:|------:|------:|")
    for r in res["sweep"]:
        print(f"| {fmt_bytes(r['bytes'])} | {r['s'] * 1e6:.1f} us | {r['algbw'] / 1e9:.2f} GB/s | "
              f"{r['busbw'] / 1e9:.2f} GB/s |")
    print(f"\n## dlcore's gradient exchange on {res['n']} processes (DistributedOptimizer.synchronize)\n")
    print("dlcore: summed through shared memory (the default where processes share a machine); MPI only: "
          "shared_memory=False. ratio: raw time / dlcore time.\n")
    print("| parameters | bytes | bucket cap | buckets (largest) | dlcore | MPI only | raw, same buckets | ratio | "
          "ratio, MPI only | raw, one message | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in res["exchange"]:
        print(f"| {r['model']} ({r['params']} arrays) | {fmt_bytes(r['bytes'])} | {fmt_bytes(r['cap'])} | "
              f"{r['buckets']} ({fmt_bytes(r['largest'])}) | {r['dl_s'] * 1e3:.3f} ms | {r['mpi_s'] * 1e3:.3f} ms | "
              f"{r['raw_s'] * 1e3:.3f} ms | {r['raw_s'] / r['dl_s']:.2f} | {r['raw_s'] / r['mpi_s']:.2f} | "
              f"{r['whole_s'] * 1e3:.3f} ms | {r['whole_s'] / r['dl_s']:.2f} |")


def print_scaling(rows, n):
    base = next(r for r in rows if r["n"] == 1 and r["threads"] == 1)
    base_rate = base["batch"] / base["step_s"]
    print("\n## weak scaling: CNN (bench/train.py), Adam, 32 samples per process and step\n")
    print("| processes x threads | samples per step | step | samples/s | efficiency vs 1x1 | exchange share |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        rate = r["n"] * r["batch"] / r["step_s"]
        eff = rate / (r["n"] * r["threads"] * base_rate)
        print(f"| {r['n']} x {r['threads']} | {r['n'] * r['batch']} | {r['step_s'] * 1e3:.2f} ms | {rate:.0f} | "
              f"{eff * 100:.0f}% | {r['comm_share'] * 100:.1f}% |" if r["n"] > 1 else
              f"| {r['n']} x {r['threads']} | {r['batch']} | {r['step_s'] * 1e3:.2f} ms | {rate:.0f} | "
              f"{eff * 100:.0f}% | - |")


def gpu_section(quick):
    try:
        import cupy as cp
        if cp.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no CUDA device")
    except Exception as e:
        print(f"\n(GPU section skipped: {type(e).__name__}: {e})")
        return
    from dlcore.distributed import buckets
    from dlcore.distributed.device import DevicePlane
    from dlcore.distributed.host import HostPlane
    from dlcore.distributed.world import World
    w = World()
    plane = DevicePlane(w, HostPlane(w), cp)
    kind = "cnn" if quick else "mlp"
    shapes = param_shapes(kind)
    grads = [cp.random.standard_normal(s, dtype=cp.float32) for s in shapes]
    entries = [buckets.Entry(i, s, np.dtype(np.float32), "device") for i, s in enumerate(shapes)]
    [bucket] = buckets.plan(entries, cap_bytes=1 << 40)   # one bucket holding the whole list
    buf = plane.empty(bucket.size, np.float32)
    arrays = [grads[s.key] for s in bucket.slots]

    def gtime(f, reps=20):
        for _ in range(3):
            f()
        start, end = cp.cuda.Event(), cp.cuda.Event()
        ts = []
        for _ in range(reps):
            start.record()
            f()
            end.record()
            end.synchronize()
            ts.append(cp.cuda.get_elapsed_time(start, end) / 1e3)
        return sorted(ts)[len(ts) // 2]
    nbytes = bucket.nbytes
    t_pack = gtime(lambda: plane.pack(arrays, bucket, 0.5, out=buf))
    t_unpack = gtime(lambda: plane.unpack(buf, bucket, arrays))
    src, dst = cp.empty(bucket.size, cp.float32), cp.empty(bucket.size, cp.float32)
    t_copy = gtime(lambda: cp.copyto(dst, src))
    name = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)["name"]
    name = name.decode() if isinstance(name, bytes) else name
    print(f"\n## GPU ({name}): pack / unpack of {kind}'s {len(shapes)} gradients, {fmt_bytes(nbytes)}\n")
    print("| kernel | time | GB/s (read + write) | device copy GB/s |")
    print("|---|---:|---:|---:|")
    for what, t in (("pack (x 1/n)", t_pack), ("unpack", t_unpack)):
        print(f"| {what} | {t * 1e3:.3f} ms | {2 * nbytes / t / 1e9:.0f} | {2 * nbytes / t_copy / 1e9:.0f} |")
    print("\n| staged bucket (device -> pinned host -> device) | time | GB/s each way |")
    print("|---:|---:|---:|")
    size = 1 * MB
    while size <= (4 * MB if quick else 64 * MB):
        b = cp.ones(size // 4, cp.float32)
        t = gtime(lambda: plane._staged(b, lambda h: None), reps=10)
        print(f"| {fmt_bytes(size)} | {t * 1e3:.3f} ms | {size / (t / 2) / 1e9:.1f} |")
        size *= 4
    plane.close()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--np", type=int, default=2, help="processes for the multi-process measurements (default 2)")
    p.add_argument("--quick", action="store_true", help="small sizes and few repetitions (a smoke run)")
    p.add_argument("--skip-train", action="store_true", help="only the allreduce and exchange tables")
    p.add_argument("--results", default="", help="put the tables and the exchange target in this machine's section "
                   "of this file (bench/RESULTS.md), leaving other machines' sections alone")
    p.add_argument("--worker", choices=["allreduce", "train"], help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, default=32, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker == "allreduce":
        return worker_allreduce(args)
    if args.worker == "train":
        return worker_train(args)
    quick = ["--quick"] if args.quick else []
    sys.path.insert(0, os.path.dirname(HERE))
    from common import cpu_model
    out = io.StringIO()
    with _tee(out):
        print(f"# dlcore {dl.__version__} distributed benchmark: {cpu_model()}, {os.cpu_count()} logical CPUs, "
              f"ISA {dl.cpu_isa()}; NumPy {np.__version__}; {args.np} processes")
        res = launch(args.np, "--worker", "allreduce", *quick)
        print_allreduce(res)
        if not args.skip_train:
            rows = [launch(1, "--worker", "train", "--threads", "1", *quick),
                    launch(args.np, "--worker", "train", "--threads", "1", *quick),
                    launch(1, "--worker", "train", "--threads", str(args.np), "--batch", str(32 * args.np), *quick)]
            print_scaling(rows, args.np)
        gpu_section(args.quick)
    if args.results:
        from results import target, update
        big = [r["raw_s"] / r["dl_s"] for r in res["exchange"] if r["largest"] >= MB]
        flags = " ".join(f for f, on in (("--quick", args.quick), ("--skip-train", args.skip_train)) if on)
        update(args.results, cpu_model(), cpu_model(), "distributed",
               f"### Data-parallel training: `python bench/distributed.py --np {args.np}{' ' + flags if flags else ''}`"
               "\n\n" + _demote_headings(out.getvalue().strip()),
               {"gradient exchange vs raw allreduce, buckets >= 1 MB": target(min(big), 0.8)} if big else {})
    return 0


def _demote_headings(text):
    """The printed report as part of a machine's section: its title line as plain text, its tables'
    headings one level below the part's."""
    lines = []
    for line in text.splitlines():
        if line.startswith("## "):
            line = "#### " + line[3:]
        elif line.startswith("# "):
            line = line[2:]
        lines.append(line)
    return "\n".join(lines)


class _tee:
    """Print to stdout and into `buf` as well, inside a with block."""

    def __init__(self, buf):
        self.buf = buf

    def write(self, text):
        self.buf.write(text)
        return self.stdout.write(text)

    def flush(self):
        self.stdout.flush()

    def __enter__(self):
        self.stdout, sys.stdout = sys.stdout, self
        return self

    def __exit__(self, *exc):
        sys.stdout = self.stdout


if __name__ == "__main__":
    sys.exit(main())
