"""GEMM beside NumPy (OpenBLAS here) and PyTorch, float32, on the shapes of workloads.GEMM; on the GPU
4096^3 (2048^3 with --quick) in exact float32 and in TF32, each beside cuBLAS (cupy.matmul) in the
same mode."""
import numpy as np

from common import Row
from workloads import GEMM
from dlcore import kernels as K
from dlcore.kernels.fallback._xp import tf32_matmul  # cuBLAS's TF32 switch, as the fallback uses it


def run(ctx):
    rows = cpu_rows(ctx) if ctx.cpu else []
    gpu = ctx.gpu()
    return rows + (gpu_rows(ctx, gpu) if gpu else [])


def cpu_rows(ctx):
    rows = []
    shapes = GEMM[:2] + GEMM[4:] if ctx.quick else GEMM
    for m, n, k in shapes:
        a = ctx.rng.standard_normal((m, k), dtype=np.float32)
        b = ctx.rng.standard_normal((k, n), dtype=np.float32)
        out = np.empty((m, n), np.float32)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        got = K.gemm(a, b, out=out)
        err = np.linalg.norm(got - ref) / np.linalg.norm(ref)
        assert err < 1e-5, f"gemm {m}x{n}x{k}: relative error {err:.2e} before timing"
        reps = max(3, min(ctx.reps * 3, int(2e10 / (2 * m * n * k))))  # more reps for small shapes
        shape = f"{m}x{n}x{k} (MxNxK)"
        fs, labels = [lambda: K.gemm(a, b, out=out), lambda: np.matmul(a, b, out=out)], ["NumPy"]
        if ctx.torch is not None:
            ta, tb = ctx.torch.from_numpy(a), ctx.torch.from_numpy(b)
            fs.append(lambda: ta @ tb)
            labels.append("PyTorch")
        t_dl, *t_anchors = ctx.time_turns(fs, reps)
        for label, t in zip(labels, t_anchors):
            rows.append(Row("gemm", shape, t_dl, label, t, flop=2.0 * m * n * k))
    return rows


def gpu_rows(ctx, gpu):
    cp = gpu.cp
    m = n = k = 2048 if ctx.quick else 4096
    rng = cp.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=cp.float32)
    b = rng.standard_normal((k, n), dtype=cp.float32)
    c = cp.empty((m, n), cp.float32)
    exact = a.astype(cp.float64) @ b.astype(cp.float64)
    rows = []
    for tf32 in (False, True):
        K.set_tf32(tf32)
        try:
            K.gemm(a, b, out=c)
            err = gpu.rel_error(c, exact)
            assert err < (2e-3 if tf32 else 1e-5), f"gpu gemm tf32={tf32}: relative error {err:.2e} before timing"
            t_dl = gpu.time(lambda: K.gemm(a, b, out=c))
            with tf32_matmul(cp, tf32):
                t_cublas = gpu.time(lambda: cp.matmul(a, b, out=c))
        finally:
            K.set_tf32(False)
        rows.append(gpu.row("gemm", f"{m}^3 {'tf32' if tf32 else 'fp32'}", t_dl, "cuBLAS", t_cublas,
                            flop=2.0 * m * n * k))
    return rows
