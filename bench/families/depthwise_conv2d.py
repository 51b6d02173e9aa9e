"""Depthwise convolution beside PyTorch CPU (conv2d with groups = C, channels_last), float32, on the
shapes of workloads.DEPTHWISE.

Rows: forward alone and forward + backward (dlcore's depthwise_conv2d_forward + backward_data +
backward_filter against torch's conv2d + autograd backward for the input and the weight). Results are
checked against torch's before timing. GB/s counts the bytes of x and y (forward) and of x, y, dy, dx
(forward + backward) each moved once. GPU: the forward pass at 4x the batch beside PyTorch CUDA.
"""
import numpy as np

from common import Row
from workloads import DEPTHWISE
from dlcore import kernels as K


def run(ctx):
    rows = cpu_rows(ctx) if ctx.cpu else []
    gpu = ctx.gpu()
    return rows + (gpu_rows(ctx, gpu) if gpu else [])


def cpu_rows(ctx):
    rows = []
    torch = ctx.torch
    for n, h, w, c, k, s in DEPTHWISE:
        x = ctx.rng.standard_normal((n, h, w, c), dtype=np.float32)
        wt = ctx.rng.standard_normal((k, k, c, 1), dtype=np.float32) * 0.3
        shape = f"{n}x{h}x{w}x{c} k{k} s{s}"
        y = K.depthwise_conv2d_forward(x, wt, strides=s, padding="same")
        dy = ctx.rng.standard_normal(y.shape, dtype=np.float32)

        def fwd():
            K.depthwise_conv2d_forward(x, wt, strides=s, padding="same")

        def fwd_bwd():
            K.depthwise_conv2d_forward(x, wt, strides=s, padding="same")
            K.depthwise_conv2d_backward_data(dy, wt, x.shape, strides=s, padding="same")
            K.depthwise_conv2d_backward_filter(dy, x, wt.shape, strides=s, padding="same")

        fs_f, fs_fb, label = [fwd], [fwd_bwd], ""
        if torch is not None:
            conv = torch.nn.functional.conv2d
            tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
            tx.requires_grad_(True)
            tw = torch.from_numpy(wt[:, :, :, 0]).permute(2, 0, 1)[:, None].contiguous().requires_grad_(True)
            tdy = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
            pad = k // 2  # "same" for an odd window at stride 1 (the workloads' case)
            ty = conv(tx, tw, stride=s, padding=pad, groups=c)
            np.testing.assert_allclose(y, ty.detach().permute(0, 2, 3, 1).numpy(), rtol=1e-4, atol=1e-4)

            def t_fwd():
                with torch.no_grad():
                    conv(tx, tw, stride=s, padding=pad, groups=c)

            def t_fwd_bwd():
                torch.autograd.grad(conv(tx, tw, stride=s, padding=pad, groups=c), (tx, tw), tdy)

            fs_f, fs_fb, label = [fwd, t_fwd], [fwd_bwd, t_fwd_bwd], "PyTorch channels_last"
        t_f, t_fb = ctx.time_turns(fs_f), ctx.time_turns(fs_fb)
        nbytes = 4.0 * (x.size + y.size)
        flop = 2.0 * y.size * k * k
        nan = float("nan")
        rows.append(Row("depthwise_conv2d fwd", shape, t_f[0], label, t_f[1] if label else nan, flop=flop,
                        bytes=nbytes))
        rows.append(Row("depthwise_conv2d fwd+bwd", shape, t_fb[0], label, t_fb[1] if label else nan, flop=3 * flop,
                        bytes=2 * nbytes))
    return rows


def gpu_rows(ctx, gpu):
    cp, torch = gpu.cp, gpu.torch
    rng = cp.random.default_rng(0)
    rows = []
    for n, h, w, c, k, s in DEPTHWISE:
        n *= 4
        x = rng.standard_normal((n, h, w, c), dtype=cp.float32)
        wt = rng.standard_normal((k, k, c, 1), dtype=cp.float32) * 0.3
        shape = f"{n}x{h}x{w}x{c} k{k} s{s}"
        y = K.depthwise_conv2d_forward(x, wt, strides=s, padding="same")
        t_anchor = float("nan")
        if torch is not None:
            tx = torch.from_dlpack(x).permute(0, 3, 1, 2)  # an NCHW view of NHWC memory: channels_last
            tw = torch.from_dlpack(cp.ascontiguousarray(wt[:, :, :, 0].transpose(2, 0, 1)[:, None]))
            ty = torch.nn.functional.conv2d(tx, tw, stride=s, padding=k // 2, groups=c)
            err = gpu.rel_error(y, cp.from_dlpack(ty.permute(0, 2, 3, 1).contiguous()))
            assert err < 1e-5, f"gpu depthwise_conv2d {shape}: relative error {err:.2e} before timing"
            t_anchor = gpu.time(lambda: torch.nn.functional.conv2d(tx, tw, stride=s, padding=k // 2, groups=c))
        t_dl = gpu.time(lambda: K.depthwise_conv2d_forward(x, wt, strides=s, padding="same"))
        rows.append(gpu.row("depthwise_conv2d fwd", shape, t_dl, "PyTorch CUDA", t_anchor,
                            flop=2.0 * y.size * k * k, nbytes=4.0 * (x.size + y.size)))
    return rows
