"""One Adam step on workloads.ADAM_N float32 parameters beside torch.optim.Adam (foreach=False, foreach=True
and, where PyTorch has it, fused=True). Bytes per step = 4 * N * 7 (read p, g, m, v; write p, m, v);
target >= 2x torch.optim.Adam. GPU: the same step on CuPy arrays beside torch.optim.Adam(fused=True)
on CUDA, GB/s as a share of the device copy bandwidth.
"""
import numpy as np

from common import Row
from workloads import ADAM_N
from dlcore import kernels as K


def run(ctx):
    rows = cpu_rows(ctx) if ctx.cpu else []
    gpu = ctx.gpu()
    return rows + (gpu_rows(ctx, gpu) if gpu else [])


def _first_step(p0, g0, lr=1e-3):
    """The parameters after one Adam step from m = v = 0 (step 1), float64: p - lr g / (|g| + eps)."""
    return p0 - lr * (0.1 * g0 / 0.1) / (np.sqrt(0.001 * g0 * g0) / np.sqrt(0.001) + 1e-7)


def cpu_rows(ctx):
    n = ADAM_N // 10 if ctx.quick else ADAM_N
    rng = ctx.rng
    p = rng.standard_normal(n, dtype=np.float32)
    g = rng.standard_normal(n, dtype=np.float32)
    m = np.zeros(n, np.float32)
    v = np.zeros(n, np.float32)
    # validate one step before timing (m = v = 0, step 1: p -= lr * g / (|g| + eps'))
    p0 = p[:1000].astype(np.float64)
    K.adam_update(p, g, m, v, lr=1e-3, step=1)
    expect = _first_step(p0, g[:1000].astype(np.float64))
    assert np.max(np.abs(p[:1000] - expect)) < 1e-5, "adam_update before timing"

    step = [1]

    def dl_step():
        step[0] += 1
        K.adam_update(p, g, m, v, lr=1e-3, step=step[0])
    shape = f"Adam step, {n / 1e6:g}M f32"
    torch = ctx.torch
    if torch is None:
        return [Row("optim", shape, ctx.time(dl_step), bytes=28 * n)]
    variants = [("torch foreach=False", dict(foreach=False)), ("torch foreach=True", dict(foreach=True))]
    try:
        torch.optim.Adam([torch.zeros(1, requires_grad=True)], fused=True)
        variants.append(("torch fused=True", dict(fused=True)))
    except (RuntimeError, TypeError, ValueError):
        pass
    steps = []
    for label, kw in variants:
        tp = torch.from_numpy(rng.standard_normal(n, dtype=np.float32)).requires_grad_(True)
        tp.grad = torch.from_numpy(g)
        opt = torch.optim.Adam([tp], lr=1e-3, eps=1e-7, **kw)
        opt.step()  # creates the state
        steps.append(opt.step)
    t_dl, *t_anchors = ctx.time_turns([dl_step] + steps)
    rows = [Row("optim", shape, t_dl, label, t_a, bytes=28 * n) for (label, _), t_a in zip(variants, t_anchors)]
    return rows


def gpu_rows(ctx, gpu):
    cp, torch = gpu.cp, gpu.torch
    n = ADAM_N // 10 if ctx.quick else ADAM_N
    rng = cp.random.default_rng(0)
    p = rng.standard_normal(n, dtype=cp.float32)
    g = rng.standard_normal(n, dtype=cp.float32)
    m, v = cp.zeros(n, cp.float32), cp.zeros(n, cp.float32)
    p0, g0 = cp.asnumpy(p[:1000]).astype(np.float64), cp.asnumpy(g[:1000]).astype(np.float64)
    K.adam_update(p, g, m, v, lr=1e-3, step=1)
    assert np.max(np.abs(cp.asnumpy(p[:1000]) - _first_step(p0, g0))) < 1e-5, "gpu adam_update before timing"
    step = [1]

    def dl_step():
        step[0] += 1
        K.adam_update(p, g, m, v, lr=1e-3, step=step[0])

    t_dl = gpu.time(dl_step)
    t_anchor = float("nan")
    if torch is not None:
        tp = torch.nn.Parameter(torch.from_dlpack(p).clone())
        tp.grad = torch.from_dlpack(g).clone()
        opt = torch.optim.Adam([tp], lr=1e-3, eps=1e-7, fused=True)
        opt.step()  # creates the state
        t_anchor = gpu.time(opt.step)
    return [gpu.row("optim", f"Adam step, {n / 1e6:g}M f32", t_dl, "PyTorch fused", t_anchor, nbytes=28.0 * n)]
