"""What every benchmark shares: the timer, the machine's measured limits, the optional anchors."""
from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field

import numpy as np


def median_times(fs, reps: int = 7, warmup: int = 5, settle: float = 0.2, min_warmup_s: float = 0.25,
                 min_time_s: float = 0.5, max_reps: int = 300, rounds: int = 3) -> list[float]:
    """Median wall time of each function in `fs`, timed in turns.

    The functions (dlcore's and its anchors' version of one workload) take turns over `rounds`
    rounds, each turn timing one function for its share of the calls, so that a slow spell of a
    shared machine (seconds long) falls on dlcore and its anchors alike instead of on whichever
    happened to be running; the medians are over all of a function's timed calls.

    Before each turn, a sleep of `settle` seconds: thread pools (OpenBLAS, OpenMP, PyTorch's) keep
    spinning for milliseconds after their last call, and on a two-core machine whichever library is
    timed next would otherwise compete with the previous one's idle threads.
    Each function's first turn warms it up with at least `warmup` calls and `min_warmup_s` seconds,
    later turns with half of that: a 2 ms call still gets faster over its first few dozen
    repetitions (caches, the allocator's heap settling, clock ramp-up), and the first few calls with
    tens of megabytes of fresh arrays are slow until the C allocator's heap has grown to hold them
    (an LSTM forward + backward of B=64 T=100 H=256 takes 2x its steady time for 4 calls).
    Over all turns a function gets at least `reps` timed calls and `min_time_s` seconds of them (at
    most `max_reps`).
    """
    times = [[] for _ in fs]
    for r in range(rounds):
        first = r == 0
        for f, ts in zip(fs, times):
            time.sleep(settle)
            calls, secs = (warmup, min_warmup_s) if first else (max(1, warmup // 2), min_warmup_s / 2)
            start, n = time.perf_counter(), 0
            while n < calls or (n < max_reps and time.perf_counter() - start < secs):
                f()
                n += 1
            want = -(-reps * (r + 1) // rounds)  # this turn's share of `reps`, rounded up
            cap = max_reps * (r + 1) // rounds
            start = time.perf_counter()
            while len(ts) < want or (len(ts) < cap and time.perf_counter() - start < min_time_s / rounds):
                t = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t)
    return [sorted(ts)[len(ts) // 2] for ts in times]


def median_time(f, reps: int = 7, **kw) -> float:
    """Median wall time of `f()` alone: median_times with one function, in one turn."""
    kw.setdefault("rounds", 1)
    return median_times([f], reps, **kw)[0]


def try_import_torch(threads: int):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


@dataclass
class Row:
    """One timed workload: dlcore's time beside an anchor's, and the work it does."""
    family: str
    shape: str
    dl_s: float
    anchor: str = ""
    anchor_s: float = float("nan")
    flop: float = 0.0       # floating-point operations per call (GFLOP/s column)
    bytes: float = 0.0      # bytes moved per call (GB/s column)
    note: str = ""

    @property
    def speedup(self) -> float:
        return self.anchor_s / self.dl_s if self.anchor_s == self.anchor_s else float("nan")


@dataclass
class Context:
    threads: int
    reps: int
    quick: bool
    peak_gflops: float
    copy_gbps: float
    torch: object = None
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    def time(self, f, reps=None):
        return median_time(f, reps or self.reps)

    def time_turns(self, fs, reps=None):
        """Medians of dlcore's function and its anchors' (`fs`), timed in turns (median_times)."""
        return median_times(fs, reps or self.reps)


def machine_description(ctx: Context) -> str:
    import dlcore
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    torch_v = getattr(ctx.torch, "__version__", "not installed")
    return (f"{cpu}, {os.cpu_count()} logical CPUs, dlcore ISA {dlcore.cpu_isa()}, {ctx.threads} threads; "
            f"measured peak {ctx.peak_gflops:.0f} GFLOP/s float32, copy {ctx.copy_gbps:.1f} GB/s; "
            f"NumPy {np.__version__}, PyTorch {torch_v}")


def format_table(rows, ctx: Context) -> str:
    head = f"| {'kernel':<14} | {'shape':<34} | {'dlcore':>10} | {'anchor':<18} | {'anchor':>10} | {'speedup':>7} | {'rate':>13} | {'% peak':>6} |"
    sep = "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"
    lines = [head, sep]
    for r in rows:
        if r.flop:
            rate = r.flop / r.dl_s / 1e9
            rate_s, pct = f"{rate:.1f} GFLOP/s", f"{100 * rate / ctx.peak_gflops:.0f}%"
        elif r.bytes:
            rate = r.bytes / r.dl_s / 1e9
            rate_s, pct = f"{rate:.1f} GB/s", f"{100 * rate / ctx.copy_gbps:.0f}%"
        else:
            rate_s, pct = "", ""
        anchor_t = f"{r.anchor_s * 1e3:.3f} ms" if r.anchor_s == r.anchor_s else "-"
        speed = f"{r.speedup:.2f}x" if r.speedup == r.speedup else "-"
        lines.append(f"| {r.family:<14} | {r.shape:<34} | {r.dl_s * 1e3:>7.3f} ms | {r.anchor:<18} | {anchor_t:>10} "
                     f"| {speed:>7} | {rate_s:>13} | {pct:>6} |")
    return "\n".join(lines)
