"""Activations (float32, 2^24 elements) and softmax rows (workloads.SOFTMAX) beside PyTorch CPU, both
writing into a preallocated output (PyTorch through its out= operators).

Bytes per call = 8 per element (one read, one write) for forward, 12 for backward (two reads, one
write); the target is >= 70% of the measured copy bandwidth and faster than PyTorch. GPU: relu,
sigmoid and gelu forward on 4x the elements and the softmax rows, beside PyTorch CUDA.
"""
import numpy as np

from common import Row
from workloads import ELEMENTWISE_N, SOFTMAX
from dlcore import kernels as K


def _check(name, got, expect, tol=1e-4):
    err = np.max(np.abs(got.astype(np.float64) - expect) / (np.abs(expect) + 1e-5))
    assert err < tol, f"{name}: relative error {err:.2e} before timing"


def run(ctx):
    rows = cpu_rows(ctx) + softmax_rows(ctx) if ctx.cpu else []
    gpu = ctx.gpu()
    return rows + (gpu_rows(ctx, gpu) if gpu else [])


def cpu_rows(ctx):
    n = ELEMENTWISE_N // 16 if ctx.quick else ELEMENTWISE_N
    x = (ctx.rng.standard_normal(n, dtype=np.float32) * 3).astype(np.float32)
    y = np.empty_like(x)
    dy = ctx.rng.standard_normal(n, dtype=np.float32)
    dx = np.empty_like(x)
    x64 = x[:100_000].astype(np.float64)
    cases = [
        ("relu", lambda: K.relu_forward(x, out=y), np.maximum(x64, 0), "relu", 8),
        ("sigmoid", lambda: K.sigmoid_forward(x, out=y), 1 / (1 + np.exp(-x64)), "sigmoid", 8),
        ("tanh", lambda: K.tanh_forward(x, out=y), np.tanh(x64), "tanh", 8),
        ("silu", lambda: K.silu_forward(x, out=y), x64 / (1 + np.exp(-x64)), "silu", 8),
        ("gelu(tanh)", lambda: K.gelu_forward(x, approximate=True, out=y),
         0.5 * x64 * (1 + np.tanh(0.7978845608028654 * (x64 + 0.044715 * x64 ** 3))), "gelu_tanh", 8),
    ]
    torch = ctx.torch
    if torch is not None:
        tx, ty, tdy, tdx = (torch.from_numpy(a) for a in (x, y, dy, dx))
        anchors = {  # PyTorch's out= variants, so that neither side allocates
            "relu": lambda: torch.clamp_min(tx, 0.0, out=ty),
            "sigmoid": lambda: torch.sigmoid(tx, out=ty),
            "tanh": lambda: torch.tanh(tx, out=ty),
            "silu": lambda: torch.ops.aten.silu.out(tx, out=ty),
            "gelu_tanh": lambda: torch.ops.aten.gelu.out(tx, approximate="tanh", out=ty),
        }
    rows = []
    for name, f, expect, key, bpe in cases:
        f()
        _check(name, y[:100_000], expect)
        t_dl, *t_a = ctx.time_turns([f] + ([anchors[key]] if torch is not None else []))
        anchor, t_a = ("PyTorch", t_a[0]) if t_a else ("", float("nan"))
        rows.append(Row("activation", f"{name} fwd, {n} f32", t_dl, anchor, t_a, bytes=bpe * n))
    # one backward, for scale: sigmoid from its output
    K.sigmoid_forward(x, out=y)
    fs = [lambda: K.sigmoid_backward(dy, y, out=dx)]
    if torch is not None:
        fs.append(lambda: torch.ops.aten.sigmoid_backward.grad_input(tdy, ty, grad_input=tdx))
    t_dl, *t_a = ctx.time_turns(fs)
    t_a = t_a[0] if t_a else float("nan")
    rows.append(Row("activation", f"sigmoid bwd, {n} f32", t_dl, "PyTorch" if torch else "", t_a, bytes=12 * n))
    return rows


def softmax_rows(ctx):
    rows = []
    torch = ctx.torch
    for n, c in SOFTMAX:
        if ctx.quick:
            n = n // 4
        x = (ctx.rng.standard_normal((n, c), dtype=np.float32) * 3).astype(np.float32)
        y = np.empty_like(x)
        x64 = x.astype(np.float64)
        e = np.exp(x64 - x64.max(axis=1, keepdims=True))
        K.softmax_forward(x, out=y)
        assert np.max(np.abs(y - e / e.sum(axis=1, keepdims=True))) < 1e-6, "softmax before timing"
        fs = [lambda: K.softmax_forward(x, out=y)]
        if torch is not None:
            tx, ty = torch.from_numpy(x), torch.from_numpy(y)
            fs.append(lambda: torch.ops.aten._softmax.out(tx, -1, False, out=ty))  # no allocation
        t_dl, *t_a = ctx.time_turns(fs)
        rows.append(Row("softmax", f"{n}x{c} f32", t_dl, "PyTorch" if t_a else "", t_a[0] if t_a else float("nan"),
                        bytes=8 * n * c))
    return rows


def gpu_rows(ctx, gpu):
    cp, torch = gpu.cp, gpu.torch
    rng = cp.random.default_rng(0)
    rows = []
    n = ELEMENTWISE_N * 4
    x = rng.standard_normal(n, dtype=cp.float32)
    y = cp.empty_like(x)
    for name in ("relu", "sigmoid", "gelu"):
        forward = getattr(K, f"{name}_forward")
        forward(x, out=y)
        t_anchor = float("nan")
        if torch is not None:
            tfn = getattr(torch.nn.functional, name)
            tx = torch.from_dlpack(x)
            err = gpu.rel_error(y, cp.from_dlpack(tfn(tx)))
            assert err < 1e-5, f"gpu {name}: relative error {err:.2e} vs PyTorch before timing"
            t_anchor = gpu.time(lambda: tfn(tx))
        t_dl = gpu.time(lambda: forward(x, out=y))
        rows.append(gpu.row("activation", f"{name} fwd, {n} f32", t_dl, "PyTorch CUDA", t_anchor, nbytes=8.0 * n))
    for r, c in SOFTMAX:
        x = rng.standard_normal((r, c), dtype=cp.float32)
        y = K.softmax_forward(x)
        e = cp.exp(x.astype(cp.float64) - x.max(axis=1, keepdims=True))
        err = gpu.rel_error(y, e / e.sum(axis=1, keepdims=True))
        assert err < 1e-5, f"gpu softmax: relative error {err:.2e} before timing"
        t_anchor = float("nan")
        if torch is not None:
            tx = torch.from_dlpack(x)
            t_anchor = gpu.time(lambda: torch.softmax(tx, dim=-1))
        t_dl = gpu.time(lambda: K.softmax_forward(x))
        rows.append(gpu.row("softmax", f"{r}x{c} f32", t_dl, "PyTorch CUDA", t_anchor, nbytes=8.0 * r * c))
    return rows
