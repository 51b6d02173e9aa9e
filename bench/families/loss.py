"""Softmax cross-entropy (float32, workloads.SOFTMAX), value and gradient w.r.t. the logits in one
call, beside torch.nn.functional.cross_entropy followed by .backward() on the CPU (target >= 1.5x
PyTorch) and on the GPU.
"""
import numpy as np

from common import Row
from workloads import SOFTMAX
from dlcore import kernels as K


def run(ctx):
    rows = cpu_rows(ctx) if ctx.cpu else []
    gpu = ctx.gpu()
    return rows + (gpu_rows(ctx, gpu) if gpu else [])


def _reference(x64, labels):
    """The mean loss and its gradient w.r.t. the logits, float64."""
    n = x64.shape[0]
    z = x64 - x64.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    grad = np.exp(logp)
    grad[np.arange(n), labels] -= 1.0
    return -logp[np.arange(n), labels].mean(), grad / n


def _check(loss, grad, x64, labels, what):
    ref_loss, ref_grad = _reference(x64, labels)
    assert abs(float(loss) - ref_loss) <= 1e-5 * abs(ref_loss), f"{what} loss before timing"
    err = np.linalg.norm(grad - ref_grad) / np.linalg.norm(ref_grad)
    assert err < 1e-5, f"{what} grad: relative error {err:.2e} before timing"


def cpu_rows(ctx):
    rows = []
    torch = ctx.torch
    for n, c in SOFTMAX:
        if ctx.quick:
            n = n // 4
        x = (ctx.rng.standard_normal((n, c), dtype=np.float32) * 3).astype(np.float32)
        labels = ctx.rng.integers(0, c, n)
        _check(*K.softmax_cross_entropy(x, labels), x.astype(np.float64), labels, "softmax_cross_entropy")
        fs = [lambda: K.softmax_cross_entropy(x, labels)]
        if torch is not None:
            tl = torch.from_numpy(labels)
            txg = torch.from_numpy(x.copy()).requires_grad_(True)

            def torch_xent():
                txg.grad = None
                torch.nn.functional.cross_entropy(txg, tl).backward()
            fs.append(torch_xent)
        t_dl, *t_a = ctx.time_turns(fs)
        rows.append(Row("softmax_xent", f"{n}x{c} f32 fwd+bwd", t_dl, "PyTorch" if t_a else "",
                        t_a[0] if t_a else float("nan"), bytes=8 * n * c))
    return rows


def gpu_rows(ctx, gpu):
    cp, torch = gpu.cp, gpu.torch
    rng = cp.random.default_rng(0)
    rows = []
    for n, c in SOFTMAX:
        x = rng.standard_normal((n, c), dtype=cp.float32) * np.float32(3)
        labels = rng.integers(0, c, n)
        loss, grad = K.softmax_cross_entropy(x, labels)
        _check(cp.asnumpy(loss), cp.asnumpy(grad), cp.asnumpy(x).astype(np.float64), cp.asnumpy(labels),
               "gpu softmax_cross_entropy")
        t_anchor = float("nan")
        if torch is not None:
            tl = torch.from_dlpack(labels)
            txg = torch.from_dlpack(x).clone().requires_grad_(True)

            def torch_xent():
                txg.grad = None
                torch.nn.functional.cross_entropy(txg, tl).backward()
            t_anchor = gpu.time(torch_xent)
        t_dl = gpu.time(lambda: K.softmax_cross_entropy(x, labels))
        rows.append(gpu.row("softmax_xent", f"{n}x{c} f32 fwd+bwd", t_dl, "PyTorch CUDA", t_anchor,
                            nbytes=8.0 * n * c))
    return rows
