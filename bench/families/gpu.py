"""GPU section: dlcore's CUDA kernels beside cuBLAS (cupy.matmul) and PyTorch CUDA, float32.

Skips with a message (and returns no rows) where there is no CuPy or no GPU. Timing: CUDA events
around each call on CuPy's current stream, median of repeated calls after warm-up. Every workload is
validated against its anchor (or a float64 product) before it is timed.

  gemm        4096^3 float32 (exact SIMT kernel) and TF32 (tensor cores) vs cuBLAS in the same mode
  conv2d      workloads.CONV at 4x the CPU batch: forward, backward-data, backward-filter vs PyTorch
              (cuDNN, NHWC/channels_last, TF32 off)
  lstm        workloads.LSTM forward vs torch.nn.LSTM (cuDNN)
  activation  relu / sigmoid / gelu forward on workloads.ELEMENTWISE_N elements vs PyTorch
  softmax     workloads.SOFTMAX vs torch.softmax
  adam        workloads.ADAM_N parameters vs torch.optim.Adam(fused=True)
Memory-bound rows also print GB/s as a share of the device copy bandwidth measured here (a CuPy
device-to-device copy), in the GPU table printed by run().
"""
from __future__ import annotations

import numpy as np

from common import Row
from workloads import ADAM_N, CONV, ELEMENTWISE_N, LSTM, SOFTMAX


def _gpu_or_none():
    try:
        import cupy as cp
        if cp.cuda.runtime.getDeviceCount() < 1:
            return None, "no CUDA device"
        return cp, ""
    except Exception as e:  # ImportError, or the driver is missing
        return None, f"CuPy/GPU unavailable ({type(e).__name__}: {e})"


def _torch_cuda():
    try:
        import torch
        if not torch.cuda.is_available():
            return None
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
        return torch
    except ImportError:
        return None


class _Timer:
    """Median time of f() in seconds, measured with CUDA events on CuPy's current stream."""

    def __init__(self, cp, reps):
        self.cp, self.reps = cp, reps

    def __call__(self, f, reps=None, warmup=3):
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


def _rel(cp, got, ref):
    got, ref = cp.asarray(got, dtype=cp.float64), cp.asarray(ref, dtype=cp.float64)
    return float(cp.linalg.norm(got - ref) / max(float(cp.linalg.norm(ref)), 1e-300))


def run(ctx):
    cp, why = _gpu_or_none()
    if cp is None:
        print(f"gpu: skipped — {why}")
        return []
    from dlcore.kernels._dispatch import cuda_module
    from dlcore.kernels import _gpu
    from dlcore.kernels._gpu import device
    if cuda_module() is None:
        print("gpu: dlcore._cuda is not built; timing the CuPy fallback as 'dlcore'")
    use_cuda = cuda_module() is not None
    K = lambda name: _gpu.lookup(name, cuda=use_cuda)  # noqa: E731
    torch = _torch_cuda()
    t = _Timer(cp, max(5, ctx.reps))
    rows, extra = [], []
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]

    # ---- device copy bandwidth: the yardstick of the memory-bound kernels
    n_copy = 1 << 27  # 512 MB of float32 each way
    src, dst = cp.ones(n_copy, cp.float32), cp.empty(n_copy, cp.float32)
    t_copy = t(lambda: cp.copyto(dst, src))
    copy_gbps = 2 * 4 * n_copy / t_copy / 1e9
    del src, dst
    print(f"gpu: {name}, {props['multiProcessorCount']} SMs; device copy {copy_gbps:.0f} GB/s; "
          f"PyTorch CUDA {'yes' if torch else 'not installed'}; dlcore backend {'_cuda' if use_cuda else 'CuPy'}")

    def add(family, shape, t_dl, anchor, t_anchor, flop=0.0, nbytes=0.0):
        rows.append(Row(family, shape, t_dl, anchor, t_anchor))
        if flop:
            extra.append(f"| {family:<12} | {shape:<34} | {flop / t_dl / 1e12:8.1f} TFLOP/s | "
                         f"{flop / t_anchor / 1e12 if t_anchor == t_anchor else float('nan'):8.1f} TFLOP/s ({anchor}) |")
        if nbytes:
            extra.append(f"| {family:<12} | {shape:<34} | {nbytes / t_dl / 1e9:8.0f} GB/s "
                         f"({100 * nbytes / t_dl / 1e9 / copy_gbps:3.0f}% of copy) | {anchor} |")

    # ---- GEMM 4096^3: exact float32 and TF32, each against cuBLAS in the same mode
    m = n = k = 2048 if ctx.quick else 4096
    rng = cp.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=cp.float32)
    b = rng.standard_normal((k, n), dtype=cp.float32)
    c = cp.empty((m, n), cp.float32)
    exact = a.astype(cp.float64) @ b.astype(cp.float64)
    gemm = K("gemm")
    for tf32 in (False, True):
        device.set_tf32(tf32)
        try:
            gemm(a, b, out=c)
            err = _rel(cp, c, exact)
            assert err < (2e-3 if tf32 else 1e-5), f"gemm tf32={tf32}: relative error {err:.2e} before timing"
            t_dl = t(lambda: gemm(a, b, out=c))
            with device.cublas_tf32(tf32):
                t_cb = t(lambda: cp.matmul(a, b, out=c))
        finally:
            device.set_tf32(False)
        add("gpu gemm", f"{m}^3 {'tf32' if tf32 else 'fp32'}", t_dl, "cuBLAS", t_cb, flop=2.0 * m * n * k)
    del a, b, c, exact

    # ---- conv2d at 4x the CPU batch, NHWC
    for N, H, W, Cin, Cout, kk, s, p in CONV:
        N *= 4
        x = rng.standard_normal((N, H, W, Cin), dtype=cp.float32)
        w = rng.standard_normal((kk, kk, Cin, Cout), dtype=cp.float32) * (1.0 / np.sqrt(kk * kk * Cin))
        geo = dict(strides=s, padding=p)
        y = K("conv2d_forward")(x, w, **geo)
        dy = rng.standard_normal(y.shape, dtype=cp.float32)
        flop = 2.0 * y.size * kk * kk * Cin
        shape = f"{N}x{H}x{W}x{Cin}->{Cout} k{kk}s{s}p{p}"
        tf = t(lambda: K("conv2d_forward")(x, w, **geo))
        tbd = t(lambda: K("conv2d_backward_data")(dy, w, x.shape, **geo))
        tbf = t(lambda: K("conv2d_backward_filter")(dy, x, w.shape, **geo))
        if torch is not None:
            F = torch.nn.functional
            xt = torch.from_dlpack(x).permute(0, 3, 1, 2)  # NCHW view of NHWC memory (channels_last)
            wt = torch.from_dlpack(w).permute(3, 2, 0, 1).contiguous(memory_format=torch.channels_last)
            dyt = torch.from_dlpack(dy).permute(0, 3, 1, 2)
            yt = F.conv2d(xt, wt, stride=s, padding=p)
            err = _rel(cp, y, cp.from_dlpack(yt.permute(0, 2, 3, 1).contiguous()))
            assert err < 1e-4, f"conv2d {shape}: relative error vs PyTorch {err:.2e} before timing"
            ttf = t(lambda: F.conv2d(xt, wt, stride=s, padding=p))
            ttd = t(lambda: torch.nn.grad.conv2d_input(xt.shape, wt, dyt, stride=s, padding=p))
            ttw = t(lambda: torch.nn.grad.conv2d_weight(xt, wt.shape, dyt, stride=s, padding=p))
        else:
            ttf = ttd = ttw = float("nan")
        add("gpu conv fwd", shape, tf, "PyTorch CUDA", ttf, flop=flop)
        add("gpu conv bwd-d", shape, tbd, "PyTorch CUDA", ttd, flop=flop)
        add("gpu conv bwd-w", shape, tbf, "PyTorch CUDA", ttw, flop=flop)

    # ---- LSTM forward
    for B, T, I, H in LSTM:
        x = rng.standard_normal((B, T, I), dtype=cp.float32)
        W = rng.standard_normal((I, 4 * H), dtype=cp.float32) * 0.1
        U = rng.standard_normal((H, 4 * H), dtype=cp.float32) * 0.1
        bias = rng.standard_normal((4 * H,), dtype=cp.float32) * 0.1
        hs = K("lstm_forward")(x, None, None, W, U, bias)[0]
        shape = f"B{B} T{T} I{I} H{H}"
        t_dl = t(lambda: K("lstm_forward")(x, None, None, W, U, bias), reps=max(3, ctx.reps // 2))
        if torch is not None:
            lstm = torch.nn.LSTM(I, H, batch_first=True).cuda()
            with torch.no_grad():
                lstm.weight_ih_l0.copy_(torch.from_dlpack(W).T)
                lstm.weight_hh_l0.copy_(torch.from_dlpack(U).T)
                lstm.bias_ih_l0.copy_(torch.from_dlpack(bias))
                lstm.bias_hh_l0.zero_()
                xt = torch.from_dlpack(x)
                ht = lstm(xt)[0]
                err = _rel(cp, hs, cp.from_dlpack(ht.contiguous()))
                assert err < 1e-4, f"lstm {shape}: relative error vs PyTorch {err:.2e} before timing"
                t_t = t(lambda: lstm(xt), reps=max(3, ctx.reps // 2))
        else:
            t_t = float("nan")
        add("gpu lstm fwd", shape, t_dl, "PyTorch CUDA", t_t, flop=2.0 * B * T * (I + H) * 4 * H)

    # ---- activations (memory bound: read n, write n)
    n = ELEMENTWISE_N * 4
    x = rng.standard_normal(n, dtype=cp.float32)
    y = cp.empty_like(x)
    for act, tfn in (("relu", "relu"), ("sigmoid", "sigmoid"), ("gelu", "gelu")):
        f = K(f"{act}_forward")
        f(x, out=y)
        t_dl = t(lambda: f(x, out=y))
        if torch is not None:
            xt, yt = torch.from_dlpack(x), torch.from_dlpack(y)
            ref = getattr(torch.nn.functional, tfn)(xt)
            err = _rel(cp, y, cp.from_dlpack(ref))
            assert err < 1e-5, f"{act}: relative error vs PyTorch {err:.2e} before timing"
            g = getattr(torch.nn.functional, tfn)
            t_t = t(lambda: g(xt))
        else:
            t_t = float("nan")
        add(f"gpu {act}", f"{n} elements", t_dl, "PyTorch CUDA", t_t, nbytes=8.0 * n)

    # ---- softmax rows
    for R, C in SOFTMAX:
        x = rng.standard_normal((R, C), dtype=cp.float32)
        y = K("softmax_forward")(x)
        t_dl = t(lambda: K("softmax_forward")(x))
        if torch is not None:
            xt = torch.from_dlpack(x)
            err = _rel(cp, y, cp.from_dlpack(torch.softmax(xt, dim=-1)))
            assert err < 1e-5, f"softmax: relative error vs PyTorch {err:.2e} before timing"
            t_t = t(lambda: torch.softmax(xt, dim=-1))
        else:
            t_t = float("nan")
        add("gpu softmax", f"{R}x{C}", t_dl, "PyTorch CUDA", t_t, nbytes=8.0 * R * C)

    # ---- Adam over one flat buffer (read p, g, m, v; write p, m, v)
    n = ADAM_N
    p = rng.standard_normal(n, dtype=cp.float32)
    g = rng.standard_normal(n, dtype=cp.float32)
    m_, v_ = cp.zeros(n, cp.float32), cp.zeros(n, cp.float32)
    adam = K("adam_update")
    step = [0]

    def dl_step():
        step[0] += 1
        adam(p, g, m_, v_, 1e-3, step[0])

    t_dl = t(dl_step)
    if torch is not None:
        pt = torch.nn.Parameter(torch.from_dlpack(p).clone())
        pt.grad = torch.from_dlpack(g).clone()
        opt = torch.optim.Adam([pt], lr=1e-3, eps=1e-7, fused=True)
        t_t = t(opt.step)
    else:
        t_t = float("nan")
    add("gpu adam", f"{n} params", t_dl, "PyTorch fused", t_t, nbytes=7.0 * 4 * n)

    print("| GPU kernel   | shape                              | dlcore rate                       | anchor |")
    print("\n".join(extra))
    return rows
