"""dlcore as a neighbour: kernel calls mixed with NumPy (OpenBLAS) and PyTorch calls in one thread of
one process, against the sum of their times alone; and the latency of small threaded calls.

    python bench/interference.py [--threads 2] [--rounds 5]

For each mix (a multi-threaded NumPy matmul then a dlcore GEMM; a PyTorch matmul then a dlcore
GEMM; NumPy, PyTorch and dlcore in turn) the table shows each call's median time alone, the median
time of one pass through the mix, and their ratio: 1.00 means no interference. Target: at most 1.25.
NumPy's and PyTorch's pools also collide with each other (PyTorch's OpenMP workers spin while
OpenBLAS's run): the mix of those two alone is shown as the control, and for the three-way mix the
ratio that counts is dlcore's: the three-way pass / (the control pass + dlcore's call alone).
Pools keep spinning for a while after their last call (OpenBLAS ~0.1 s, libgomp milliseconds): a
neighbour that spins against the next library's threads shows here as a ratio far above 1 (with
OpenMP's default wait policy, dlcore's ratio was ~20-40 on a 2-core machine).
The small-call rows give the median time of one call repeated back to back (the workers stay
awake between calls) and after a 1 ms pause (they may have gone to sleep), for the smallest
calls that use more than one thread.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dlcore  # noqa: E402
from dlcore import kernels as K  # noqa: E402
from common import cpu_model, median_times  # noqa: E402

TARGET = 1.25


def median_of(f, n):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]


def mixed(fs, rounds, passes=60):
    """Median time of one pass through fs (each called once, in order), over rounds x passes."""
    ts = []
    for _ in range(rounds):
        time.sleep(0.2)
        for _ in range(5):
            for f in fs:
                f()
        for _ in range(passes):
            t = time.perf_counter()
            for f in fs:
                f()
            ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--results", default="", help="put the tables in this machine's section of this file "
                   "(bench/RESULTS.md), leaving other machines' sections alone")
    args = p.parse_args(argv)
    dlcore.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    na = rng.standard_normal((512, 512), dtype=np.float32)
    nout = np.empty_like(na)
    da, db = (rng.standard_normal((256, 256), dtype=np.float32) for _ in range(2))
    dout = np.empty((256, 256), np.float32)
    calls = {"NumPy matmul 512^3": lambda: np.matmul(na, na, out=nout),
             "dlcore gemm 256^3": lambda: K.gemm(da, db, out=dout)}
    try:
        import torch
        torch.set_num_threads(args.threads)
        ta = torch.from_numpy(na)
        calls["PyTorch matmul 512^3"] = lambda: torch.mm(ta, ta)
    except ImportError:
        torch = None
    out = []

    def say(line=""):
        print(line, flush=True)
        out.append(line)
    say(f"{cpu_model()}: dlcore ISA {dlcore.cpu_isa()}, {args.threads} threads; NumPy {np.__version__}, "
        f"PyTorch {torch.__version__ if torch else 'not installed'}")
    names = list(calls)
    alone = dict(zip(names, median_times([calls[n] for n in names], reps=30)))
    dl_name = "dlcore gemm 256^3"
    mixes = [["NumPy matmul 512^3", dl_name]]
    if torch is not None:
        mixes += [["PyTorch matmul 512^3", dl_name], ["NumPy matmul 512^3", "PyTorch matmul 512^3"],
                  ["NumPy matmul 512^3", "PyTorch matmul 512^3", dl_name]]
    say()
    say("| mix (one thread, in turn) | alone, each (ms) | sum alone | one pass mixed | ratio | dlcore's ratio |")
    say("|---|---|---|---|---|---|")
    worst, passes = 0.0, {}
    for mix in mixes:
        t_mix = mixed([calls[n] for n in mix], args.rounds)
        passes[tuple(mix)] = t_mix
        t_sum = sum(alone[n] for n in mix)
        others = tuple(n for n in mix if n != dl_name)
        if dl_name not in mix:
            mine = "(control)"
        else:
            base = passes.get(others, sum(alone[n] for n in others)) if len(others) > 1 else alone[others[0]]
            r = t_mix / (base + alone[dl_name])
            worst = max(worst, r)
            mine = f"{r:.2f}"
        say(f"| {' -> '.join(mix)} | {' + '.join(f'{alone[n] * 1e3:.3f}' for n in mix)} | {t_sum * 1e3:.3f} ms "
            f"| {t_mix * 1e3:.3f} ms | {t_mix / t_sum:.2f} | {mine} |")

    small = {"gemm 96x96x96": (lambda a=rng.standard_normal((96, 96), dtype=np.float32), o=np.empty((96, 96), np.float32):
                               K.gemm(a, a, out=o)),
             "tanh 65536": (lambda x=rng.standard_normal(1 << 16, dtype=np.float32), o=np.empty(1 << 16, np.float32):
                            K.tanh_forward(x, out=o))}
    say()
    say("| small threaded call | back to back (us) | after a 1 ms pause (us) |")
    say("|---|---|---|")
    for name, f in small.items():
        for _ in range(200):
            f()
        b2b = median_of(f, 2000)

        def paused(f=f):
            time.sleep(0.001)
            t = time.perf_counter()
            f()
            return time.perf_counter() - t
        pause = sorted(paused() for _ in range(300))[150]
        say(f"| {name} | {b2b * 1e6:.1f} | {pause * 1e6:.1f} |")
    say()
    say(f"worst dlcore ratio {worst:.2f} (target <= {TARGET}): {'met' if worst <= TARGET else 'NOT met'}")
    if args.results:
        from results import target, update
        update(args.results, cpu_model(), cpu_model(), "interference",
               "### Beside NumPy and PyTorch: `python bench/interference.py`\n\n" + "\n".join(out),
               {"dlcore calls mixed with NumPy/PyTorch vs alone": target(worst, TARGET, "lower")})
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
