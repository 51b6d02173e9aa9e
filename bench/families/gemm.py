"""GEMM beside NumPy (OpenBLAS here) and PyTorch, float32, on the shapes of workloads.GEMM."""
import numpy as np

from common import Row
from workloads import GEMM
from dlcore import kernels as K


def run(ctx):
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
