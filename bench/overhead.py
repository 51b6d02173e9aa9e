"""Per-op framework overhead: dlcore's autograd beside PyTorch eager, on tiny workloads.

    python bench/overhead.py [--threads 1] [--reps 15] [--iters 2000]

Tiny shapes make the arithmetic negligible, so what is measured is the cost of the framework:
Python dispatch, graph recording, backward bookkeeping, kernel-call validation. Each workload runs
`iters` times per repetition; the table shows the median over `reps` repetitions (after warm-up)
in microseconds per step, and dlcore/PyTorch (target: <= 1.5).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dlcore as dl  # noqa: E402


def per_step_us(step, iters, reps):
    for _ in range(max(iters // 10, 10)):
        step()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(iters):
            step()
        times.append((time.perf_counter() - t) / iters)
    times.sort()
    return times[len(times) // 2] * 1e6


def dlcore_workloads(batch, features):
    rng = np.random.default_rng(0)
    x = dl.tensor(rng.standard_normal((batch, features)).astype(np.float32))
    dense = dl.layers.Dense(features, activation="relu")
    dense(x)
    opt = dl.optimizers.Adam(dense.parameters(), lr=1e-3)
    a = dl.tensor(rng.standard_normal((batch, features)).astype(np.float32), requires_grad=True)
    b = dl.tensor(rng.standard_normal((batch, features)).astype(np.float32), requires_grad=True)

    def add_forward():
        with dl.no_grad():
            a + b

    def mul_sum_backward():
        (a * b).sum().backward()
        a.grad = b.grad = None

    def dense_forward():
        with dl.no_grad():
            dense(x)

    def dense_step():
        dense.zero_grad()
        dense(x).sum().backward()

    def dense_step_adam():
        opt.zero_grad()
        dense(x).sum().backward()
        opt.step()

    return {"add forward (no grad)": add_forward, "mul+sum forward+backward": mul_sum_backward,
            "Dense forward (no grad)": dense_forward, "Dense+relu forward+backward": dense_step,
            "Dense+relu fwd+bwd+Adam step": dense_step_adam}


def torch_workloads(torch, batch, features):
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((batch, features)).astype(np.float32))
    lin = torch.nn.Linear(features, features)
    opt = torch.optim.Adam(lin.parameters(), lr=1e-3)
    a = torch.tensor(rng.standard_normal((batch, features)).astype(np.float32), requires_grad=True)
    b = torch.tensor(rng.standard_normal((batch, features)).astype(np.float32), requires_grad=True)

    def add_forward():
        with torch.no_grad():
            a + b

    def mul_sum_backward():
        (a * b).sum().backward()
        a.grad = b.grad = None

    def dense_forward():
        with torch.no_grad():
            torch.relu(lin(x))

    def dense_step():
        lin.zero_grad()
        torch.relu(lin(x)).sum().backward()

    def dense_step_adam():
        opt.zero_grad()
        torch.relu(lin(x)).sum().backward()
        opt.step()

    return {"add forward (no grad)": add_forward, "mul+sum forward+backward": mul_sum_backward,
            "Dense forward (no grad)": dense_forward, "Dense+relu forward+backward": dense_step,
            "Dense+relu fwd+bwd+Adam step": dense_step_adam}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--iters", type=int, default=2000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--features", type=int, default=64)
    args = p.parse_args(argv)

    dl.set_num_threads(args.threads)
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None

    ours = dlcore_workloads(args.batch, args.features)
    theirs = torch_workloads(torch, args.batch, args.features) if torch is not None else {}
    print(f"framework overhead, batch {args.batch}, {args.features}->{args.features}, {args.threads} thread(s), "
          f"median of {args.reps} x {args.iters} steps")
    print(f"{'workload':32s} {'dlcore us':>10s} {'torch us':>10s} {'ratio':>7s}")
    for name, step in ours.items():
        d = per_step_us(step, args.iters, args.reps)
        if name in theirs:
            t = per_step_us(theirs[name], args.iters, args.reps)
            print(f"{name:32s} {d:10.2f} {t:10.2f} {d / t:7.2f}")
        else:
            print(f"{name:32s} {d:10.2f} {'-':>10s} {'-':>7s}")


if __name__ == "__main__":
    main()
