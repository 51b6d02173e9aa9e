"""What every benchmark shares: the timer, the machine's measured limits, the optional anchors."""
from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field

import numpy as np


def median_time(f, reps: int = 7, warmup: int = 5, settle: float = 0.2, min_warmup_s: float = 0.25,
                min_time_s: float = 0.5, max_reps: int = 300) -> float:
    """Median wall time of `f()` over at least `reps` calls after at least `warmup` calls.

    Sleeps `settle` seconds first: thread pools (OpenBLAS, OpenMP, PyTorch's) keep spinning for
    milliseconds after their last call, and on a two-core machine whichever library is timed next
    would otherwise compete with the previous one's idle threads.
    Short calls are repeated longer, both the warm-up (at least `min_warmup_s`) and the timed calls
    (at least `min_time_s`, at most `max_reps`): a 2 ms call still gets faster over its first few
    dozen repetitions (caches, the allocator's heap settling, clock ramp-up), which 2 + 7 calls
    would mostly measure. Long calls get at least `warmup` = 5 calls: the first few calls with
    tens of megabytes of fresh arrays are slow until the C allocator's heap has grown to hold them
    (an LSTM forward + backward of B=64 T=100 H=256 takes 2x its steady time for 4 calls).
    dlcore and its anchors are timed alike.
    """
    time.sleep(settle)
    start, n = time.perf_counter(), 0
    while n < warmup or (n < max_reps and time.perf_counter() - start < min_warmup_s):
        f()
        n += 1
    ts = []
    start = time.perf_counter()
    while len(ts) < reps or (len(ts) < max_reps and time.perf_counter() - start < min_time_s):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]


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
