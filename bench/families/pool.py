"""Pooling beside PyTorch CPU (NCHW and channels_last), float32, on the shapes of workloads.POOL.

Rows: max and average pooling, forward alone and forward + backward (dlcore's *_forward +
*_backward against torch's forward + autograd backward for the input). Results are checked against
torch's before timing. GB/s counts the bytes of x, y, dy and dx each read or written once.
"""
import numpy as np

from common import Row
from workloads import POOL
from dlcore import kernels as K


def run(ctx):
    rows = []
    torch = ctx.torch
    for n, h, w, c, k in POOL:
        x = ctx.rng.standard_normal((n, h, w, c), dtype=np.float32)
        shape = f"{n}x{h}x{w}x{c} k{k} s{k}"
        for kind in ("max", "avg"):
            fwd_k = getattr(K, f"{kind}_pool2d_forward")
            bwd_k = getattr(K, f"{kind}_pool2d_backward")
            y = fwd_k(x, k)
            dy = ctx.rng.standard_normal(y.shape, dtype=np.float32)
            second = x if kind == "max" else x.shape
            bytes_f = 4.0 * (x.size + y.size)
            bytes_fb = bytes_f + 4.0 * (dy.size + x.size + x.size)

            def fwd():
                fwd_k(x, k)

            def fwd_bwd():
                fwd_k(x, k)
                bwd_k(dy, second, k)

            t_f, t_fb = ctx.time(fwd), ctx.time(fwd_bwd)
            if torch is None:
                rows.append(Row(f"{kind}_pool2d fwd", shape, t_f, bytes=bytes_f))
                rows.append(Row(f"{kind}_pool2d fwd+bwd", shape, t_fb, bytes=bytes_fb))
                continue
            tpool = getattr(torch.nn.functional, f"{kind}_pool2d")
            for fmt, mf in (("NCHW", torch.contiguous_format), ("channels_last", torch.channels_last)):
                tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=mf).requires_grad_(True)
                tdy = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=mf)
                ty = tpool(tx, k)
                (gx,) = torch.autograd.grad(ty, (tx,), tdy)
                np.testing.assert_allclose(y, ty.detach().permute(0, 2, 3, 1).numpy(), rtol=1e-5, atol=1e-6)
                np.testing.assert_allclose(bwd_k(dy, second, k), gx.permute(0, 2, 3, 1).numpy(), rtol=1e-5, atol=1e-6)

                def t_fwd():
                    with torch.no_grad():
                        tpool(tx, k)

                def t_fwd_bwd():
                    torch.autograd.grad(tpool(tx, k), (tx,), tdy)

                rows.append(Row(f"{kind}_pool2d fwd", shape, t_f, f"PyTorch {fmt}", ctx.time(t_fwd), bytes=bytes_f))
                rows.append(Row(f"{kind}_pool2d fwd+bwd", shape, t_fb, f"PyTorch {fmt}", ctx.time(t_fwd_bwd),
                                bytes=bytes_fb))
    return rows
