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
    device: str = "cpu"     # "gpu": % peak is of the device copy bandwidth; no FLOP peak is measured

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
    devices: tuple = ("cpu", "gpu")  # which sections of each family run
    _gpu: object = None

    def time(self, f, reps=None):
        return median_time(f, reps or self.reps)

    def time_turns(self, fs, reps=None):
        """Medians of dlcore's function and its anchors' (`fs`), timed in turns (median_times)."""
        return median_times(fs, reps or self.reps)

    @property
    def cpu(self) -> bool:
        return "cpu" in self.devices

    def gpu(self):
        """The GPU side (a Gpu) when the GPU sections run and CuPy sees a device, else None (the
        reason printed once)."""
        if "gpu" not in self.devices:
            return None
        if self._gpu is None:
            self._gpu = Gpu.open(self.reps)
        return self._gpu or None


class Gpu:
    """What the GPU section of every family shares: CuPy, a timer with CUDA events on CuPy's current
    stream, PyTorch CUDA as the anchor when installed (TF32 off in cuBLAS and cuDNN, so that float32
    is compared with float32), the device copy bandwidth measured here (the yardstick of the
    memory-bound kernels), and which dlcore backend runs CuPy arrays (dlcore._cuda or the fallback).
    dlcore.kernels routes CuPy arrays itself: the families call the same K.<kernel> as on the CPU."""

    def __init__(self, cp, reps):
        self.cp, self.reps = cp, max(5, reps)
        self.torch = _torch_cuda()
        from dlcore.kernels import backend
        self.backend = backend.gpu_backend()
        self.copy_gbps = self._copy_gbps()
        props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        print(f"gpu: {name}, {props['multiProcessorCount']} SMs; device copy {self.copy_gbps:.0f} GB/s; "
              f"PyTorch CUDA {'yes' if self.torch else 'not installed'}; dlcore backend {self.backend}", flush=True)

    @classmethod
    def open(cls, reps):
        """A Gpu, or False (and the reason printed) where there is no CuPy or no device."""
        try:
            import cupy as cp
            if cp.cuda.runtime.getDeviceCount() < 1:
                raise RuntimeError("no CUDA device")
        except Exception as e:  # ImportError, or the driver is missing
            print(f"gpu sections skipped: CuPy/GPU unavailable ({type(e).__name__}: {e})", flush=True)
            return False
        return cls(cp, reps)

    def _copy_gbps(self, n=1 << 27):
        """Device-to-device copy bandwidth: n float32 read and n written (512 MB each way)."""
        cp = self.cp
        src, dst = cp.ones(n, cp.float32), cp.empty(n, cp.float32)
        return 2 * 4 * n / self.time(lambda: cp.copyto(dst, src)) / 1e9

    def time(self, f, reps=None, warmup=3):
        """Median time of f() in seconds, measured with CUDA events on CuPy's current stream."""
        cp = self.cp
        for _ in range(warmup):
            f()
        ts = []
        start, end = cp.cuda.Event(), cp.cuda.Event()
        for _ in range(reps or self.reps):
            start.record()
            f()
            end.record()
            end.synchronize()
            ts.append(cp.cuda.get_elapsed_time(start, end) / 1e3)
        ts.sort()
        return ts[len(ts) // 2]

    def time_anchor(self, f, reps=None):
        """The anchor's median time, NaN without PyTorch CUDA (f is then not called)."""
        return self.time(f, reps) if self.torch is not None else float("nan")

    def rel_error(self, got, ref) -> float:
        cp = self.cp
        got, ref = cp.asarray(got, dtype=cp.float64), cp.asarray(ref, dtype=cp.float64)
        return float(cp.linalg.norm(got - ref) / max(float(cp.linalg.norm(ref)), 1e-300))

    def row(self, family, shape, t_dl, anchor="", t_anchor=float("nan"), flop=0.0, nbytes=0.0):
        """A GPU row: the family named "gpu <family>", no anchor label where the anchor did not run."""
        return Row(f"gpu {family}", shape, t_dl, anchor if t_anchor == t_anchor else "", t_anchor, flop=flop,
                   bytes=nbytes, device="gpu")


def _torch_cuda():
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    return torch


def cpu_model() -> str:
    """The processor's model name (/proc/cpuinfo), with its family/model numbers where the name is
    generic (a virtual machine may report just "AMD EPYC"): every figure names the CPU it ran on."""
    cpu, fam, model = platform.processor() or platform.machine(), "", ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, val = line.partition(":")
                key, val = key.strip(), val.strip()
                if key == "model name" and cpu == (platform.processor() or platform.machine()):
                    cpu = val
                elif key == "cpu family" and not fam:
                    fam = val
                elif key == "model" and not model:
                    model = val
                elif not line.strip() and fam:
                    break
    except OSError:
        pass
    return f"{cpu} (family {fam}, model {model})" if fam else cpu


def machine_description(ctx: Context) -> str:
    import dlcore
    cpu = cpu_model()
    torch_v = getattr(ctx.torch, "__version__", "not installed")
    return (f"{cpu}, {os.cpu_count()} logical CPUs, dlcore ISA {dlcore.cpu_isa()}, {ctx.threads} threads; "
            f"measured peak {ctx.peak_gflops:.0f} GFLOP/s float32, copy {ctx.copy_gbps:.1f} GB/s; "
            f"NumPy {np.__version__}, PyTorch {torch_v}")


def format_table(rows, ctx: Context) -> str:
    head = f"| {'kernel':<22} | {'shape':<34} | {'dlcore':>10} | {'anchor':<18} | {'anchor':>10} | {'speedup':>7} | {'rate':>13} | {'% peak':>6} |"
    sep = "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"
    lines = [head, sep]
    gpu = ctx._gpu or None
    for r in rows:
        on_gpu = r.device == "gpu"
        if r.flop:
            rate = r.flop / r.dl_s / 1e9
            rate_s, pct = f"{rate:.1f} GFLOP/s", "" if on_gpu else f"{100 * rate / ctx.peak_gflops:.0f}%"
        elif r.bytes:
            rate = r.bytes / r.dl_s / 1e9
            copy = gpu.copy_gbps if on_gpu and gpu is not None else ctx.copy_gbps
            rate_s, pct = f"{rate:.1f} GB/s", f"{100 * rate / copy:.0f}%"
        else:
            rate_s, pct = "", ""
        anchor_t = f"{r.anchor_s * 1e3:.3f} ms" if r.anchor_s == r.anchor_s else "-"
        speed = f"{r.speedup:.2f}x" if r.speedup == r.speedup else "-"
        lines.append(f"| {r.family:<22} | {r.shape:<34} | {r.dl_s * 1e3:>7.3f} ms | {r.anchor:<18} | {anchor_t:>10} "
                     f"| {speed:>7} | {rate_s:>13} | {pct:>6} |")
    return "\n".join(lines)
