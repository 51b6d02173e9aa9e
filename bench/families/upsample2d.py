"""Upsampling beside PyTorch CPU (interpolate, NCHW and channels_last), float32, on the shapes of
workloads.UPSAMPLE.

Rows: nearest and bilinear, forward alone and forward + backward (dlcore's upsample2d_forward +
upsample2d_backward against torch's interpolate + autograd backward for the input). Results are
checked against torch's before timing. GB/s counts the bytes of x, y, dy and dx each read or written
once. GPU: the forward passes at 4x the batch beside PyTorch CUDA (channels_last).
"""
import numpy as np

from common import Row
from workloads import UPSAMPLE
from dlcore import kernels as K


def _torch_kwargs(mode):
    return {"align_corners": False} if mode == "bilinear" else {}


def _torch_up(torch, mode, mf, x, y, dy, f, dx):
    """PyTorch's forward and forward + backward in memory format `mf`, checked against dlcore's y, dx."""
    interp = torch.nn.functional.interpolate
    kw = dict(scale_factor=f, mode=mode, **_torch_kwargs(mode))
    tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=mf).requires_grad_(True)
    tdy = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=mf)
    ty = interp(tx, **kw)
    (gx,) = torch.autograd.grad(ty, (tx,), tdy)
    np.testing.assert_allclose(y, ty.detach().permute(0, 2, 3, 1).numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx, gx.permute(0, 2, 3, 1).numpy(), rtol=1e-4, atol=1e-4)

    def t_fwd():
        with torch.no_grad():
            interp(tx, **kw)

    def t_fwd_bwd():
        torch.autograd.grad(interp(tx, **kw), (tx,), tdy)

    return t_fwd, t_fwd_bwd


def run(ctx):
    rows = cpu_rows(ctx) if ctx.cpu else []
    gpu = ctx.gpu()
    return rows + (gpu_rows(ctx, gpu) if gpu else [])


def cpu_rows(ctx):
    rows = []
    torch = ctx.torch
    for n, h, w, c, f in UPSAMPLE:
        x = ctx.rng.standard_normal((n, h, w, c), dtype=np.float32)
        shape = f"{n}x{h}x{w}x{c} x{f}"
        for mode in ("nearest", "bilinear"):
            y = K.upsample2d_forward(x, f, mode)
            dy = ctx.rng.standard_normal(y.shape, dtype=np.float32)
            bytes_f = 4.0 * (x.size + y.size)
            bytes_fb = bytes_f + 4.0 * (dy.size + x.size)

            def fwd():
                K.upsample2d_forward(x, f, mode)

            def fwd_bwd():
                K.upsample2d_forward(x, f, mode)
                K.upsample2d_backward(dy, x.shape, f, mode)

            anchors = []  # (label, forward, forward + backward)
            if torch is not None:
                dx = K.upsample2d_backward(dy, x.shape, f, mode)
                for fmt, mf in (("NCHW", torch.contiguous_format), ("channels_last", torch.channels_last)):
                    anchors.append((f"PyTorch {fmt}", *_torch_up(torch, mode, mf, x, y, dy, f, dx)))
            t_f, *a_f = ctx.time_turns([fwd] + [a[1] for a in anchors])
            t_fb, *a_fb = ctx.time_turns([fwd_bwd] + [a[2] for a in anchors])
            if not anchors:
                rows.append(Row(f"upsample2d {mode} fwd", shape, t_f, bytes=bytes_f))
                rows.append(Row(f"upsample2d {mode} fwd+bwd", shape, t_fb, bytes=bytes_fb))
            for (label, _, _), tf, tfb in zip(anchors, a_f, a_fb):
                rows.append(Row(f"upsample2d {mode} fwd", shape, t_f, label, tf, bytes=bytes_f))
                rows.append(Row(f"upsample2d {mode} fwd+bwd", shape, t_fb, label, tfb, bytes=bytes_fb))
    return rows


def gpu_rows(ctx, gpu):
    cp, torch = gpu.cp, gpu.torch
    rng = cp.random.default_rng(0)
    rows = []
    for n, h, w, c, f in UPSAMPLE:
        n *= 4
        x = rng.standard_normal((n, h, w, c), dtype=cp.float32)
        shape = f"{n}x{h}x{w}x{c} x{f}"
        expect = cp.repeat(cp.repeat(x, f, axis=1), f, axis=2)
        err = gpu.rel_error(K.upsample2d_forward(x, f, "nearest"), expect)
        assert err == 0.0, f"gpu upsample2d nearest {shape}: relative error {err:.2e} before timing"
        for mode in ("nearest", "bilinear"):
            t_anchor = float("nan")
            if torch is not None:
                tx = torch.from_dlpack(x).permute(0, 3, 1, 2)  # an NCHW view of NHWC memory: channels_last
                kw = dict(scale_factor=f, mode=mode, **_torch_kwargs(mode))
                if mode == "bilinear":
                    ty = torch.nn.functional.interpolate(tx, **kw).permute(0, 2, 3, 1)
                    err = gpu.rel_error(K.upsample2d_forward(x, f, mode), cp.from_dlpack(ty.contiguous()))
                    assert err < 1e-6, f"gpu upsample2d bilinear {shape}: relative error {err:.2e} before timing"
                t_anchor = gpu.time(lambda: torch.nn.functional.interpolate(tx, **kw))
            t_dl = gpu.time(lambda: K.upsample2d_forward(x, f, mode))
            rows.append(gpu.row(f"upsample2d {mode} fwd", shape, t_dl, "PyTorch CUDA", t_anchor,
                                nbytes=4.0 * x.size * (1 + f * f)))
    return rows
