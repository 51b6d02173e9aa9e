"""Pooling beside PyTorch CPU (NCHW and channels_last), float32, on the shapes of workloads.POOL;
1-D pooling (the 2-D kernels on (N, 1, L, C)) beside torch's max_pool1d / avg_pool1d (NCL) on
workloads.POOL1D.

Rows: max and average pooling, forward alone and forward + backward (dlcore's *_forward +
*_backward against torch's forward + autograd backward for the input). Results are checked against
torch's before timing. GB/s counts the bytes of x, y, dy and dx each read or written once.
GPU: the forward passes at 4x the batch beside PyTorch CUDA (channels_last), GB/s as a share of the
device copy bandwidth.
"""
import numpy as np

from common import Row
from workloads import POOL, POOL1D
from dlcore import kernels as K


def _torch_pool(torch, kind, mf, x, y, dy, k, dx):
    """PyTorch's forward and forward + backward in memory format `mf`, checked against dlcore's y, dx."""
    tpool = getattr(torch.nn.functional, f"{kind}_pool2d")
    tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=mf).requires_grad_(True)
    tdy = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=mf)
    ty = tpool(tx, k)
    (gx,) = torch.autograd.grad(ty, (tx,), tdy)
    np.testing.assert_allclose(y, ty.detach().permute(0, 2, 3, 1).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx, gx.permute(0, 2, 3, 1).numpy(), rtol=1e-5, atol=1e-6)

    def t_fwd():
        with torch.no_grad():
            tpool(tx, k)

    def t_fwd_bwd():
        torch.autograd.grad(tpool(tx, k), (tx,), tdy)

    return t_fwd, t_fwd_bwd


def run(ctx):
    rows = cpu_rows(ctx) + cpu_rows_1d(ctx) if ctx.cpu else []
    gpu = ctx.gpu()
    return rows + (gpu_rows(ctx, gpu) if gpu else [])


def cpu_rows(ctx):
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

            anchors = []  # (label, forward, forward + backward)
            if torch is not None:
                for fmt, mf in (("NCHW", torch.contiguous_format), ("channels_last", torch.channels_last)):
                    anchors.append((f"PyTorch {fmt}", *_torch_pool(torch, kind, mf, x, y, dy, k, bwd_k(dy, second, k))))
            t_f, *a_f = ctx.time_turns([fwd] + [a[1] for a in anchors])
            t_fb, *a_fb = ctx.time_turns([fwd_bwd] + [a[2] for a in anchors])
            if not anchors:
                rows.append(Row(f"{kind}_pool2d fwd", shape, t_f, bytes=bytes_f))
                rows.append(Row(f"{kind}_pool2d fwd+bwd", shape, t_fb, bytes=bytes_fb))
            for (label, _, _), tf, tfb in zip(anchors, a_f, a_fb):
                rows.append(Row(f"{kind}_pool2d fwd", shape, t_f, label, tf, bytes=bytes_f))
                rows.append(Row(f"{kind}_pool2d fwd+bwd", shape, t_fb, label, tfb, bytes=bytes_fb))
    return rows


def cpu_rows_1d(ctx):
    rows = []
    torch = ctx.torch
    for n, length, c, k, s in POOL1D:
        x = ctx.rng.standard_normal((n, length, c), dtype=np.float32)
        shape = f"{n}x{length}x{c} k{k} s{s}"
        for kind in ("max", "avg"):
            fwd_k = getattr(K, f"{kind}_pool1d_forward")
            bwd_k = getattr(K, f"{kind}_pool1d_backward")
            y = fwd_k(x, k, s)
            dy = ctx.rng.standard_normal(y.shape, dtype=np.float32)
            second = x if kind == "max" else x.shape

            def fwd():
                fwd_k(x, k, s)

            def fwd_bwd():
                fwd_k(x, k, s)
                bwd_k(dy, second, k, s)

            fs_f, fs_fb, label = [fwd], [fwd_bwd], ""
            if torch is not None:
                tpool = getattr(torch.nn.functional, f"{kind}_pool1d")
                tx = torch.from_numpy(x).permute(0, 2, 1).contiguous().requires_grad_(True)
                tdy = torch.from_numpy(dy).permute(0, 2, 1).contiguous()
                ty = tpool(tx, k, s)
                (gx,) = torch.autograd.grad(ty, (tx,), tdy)
                np.testing.assert_allclose(y, ty.detach().permute(0, 2, 1).numpy(), rtol=1e-5, atol=1e-6)
                np.testing.assert_allclose(bwd_k(dy, second, k, s), gx.permute(0, 2, 1).numpy(), rtol=1e-5,
                                           atol=1e-6)

                def t_fwd():
                    with torch.no_grad():
                        tpool(tx, k, s)

                def t_fwd_bwd():
                    torch.autograd.grad(tpool(tx, k, s), (tx,), tdy)

                fs_f, fs_fb, label = [fwd, t_fwd], [fwd_bwd, t_fwd_bwd], "PyTorch NCL"
            t_f = ctx.time_turns(fs_f)
            t_fb = ctx.time_turns(fs_fb)
            nbytes = 4.0 * (x.size + y.size)
            rows.append(Row(f"{kind}_pool1d fwd", shape, t_f[0], label, t_f[1] if label else float("nan"),
                            bytes=nbytes))
            rows.append(Row(f"{kind}_pool1d fwd+bwd", shape, t_fb[0], label, t_fb[1] if label else float("nan"),
                            bytes=nbytes + 4.0 * (dy.size + 2 * x.size)))
    return rows


def gpu_rows(ctx, gpu):
    cp, torch = gpu.cp, gpu.torch
    rng = cp.random.default_rng(0)
    rows = []
    for n, h, w, c, k in POOL:
        n *= 4
        x = rng.standard_normal((n, h, w, c), dtype=cp.float32)
        ho, wo = h // k, w // k
        windows = x[:, :ho * k, :wo * k].reshape(n, ho, k, wo, k, c)  # k x k windows, stride k, "valid"
        shape = f"{n}x{h}x{w}x{c} k{k} s{k}"
        for kind, expect in (("max", windows.max(axis=(2, 4))), ("avg", windows.mean(axis=(2, 4)))):
            forward = getattr(K, f"{kind}_pool2d_forward")
            err = gpu.rel_error(forward(x, k), expect)
            assert err < 1e-6, f"gpu {kind}_pool2d {shape}: relative error {err:.2e} before timing"
            t_anchor = float("nan")
            if torch is not None:
                tpool = getattr(torch.nn.functional, f"{kind}_pool2d")
                tx = torch.from_dlpack(x).permute(0, 3, 1, 2)  # an NCHW view of NHWC memory: channels_last
                t_anchor = gpu.time(lambda: tpool(tx, k))
            t_dl = gpu.time(lambda: forward(x, k))
            rows.append(gpu.row(f"{kind}_pool2d fwd", shape, t_dl, "PyTorch CUDA", t_anchor,
                                nbytes=4.0 * (x.size + expect.size)))
    return rows
