"""conv2d beside PyTorch CPU (NCHW and channels_last), float32, on the shapes of workloads.CONV.

Rows: the forward pass alone, and forward + backward = conv2d_forward + conv2d_backward_data +
conv2d_backward_filter + conv2d_backward_bias against torch's forward + autograd backward for the
input, the filters and the bias. dlcore's results are checked against torch's before timing.
GPU: the same shapes at 4x the batch, NHWC, forward, backward-data and backward-filter each beside
PyTorch CUDA (cuDNN, channels_last, TF32 off).
"""
import numpy as np

from common import Row
from workloads import CONV
from dlcore import kernels as K


def _check(got, ref, what):
    err = np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-30)
    assert err < 1e-4, f"{what}: relative error {err:.2e} vs PyTorch before timing"


def _torch_conv(torch, mf, x, wt, b, dy, stride, pad, shape, geo):
    """PyTorch's forward and forward + backward in memory format `mf`, checked against dlcore."""
    F = torch.nn.functional
    tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=mf).requires_grad_(True)
    tw = torch.from_numpy(wt).permute(3, 2, 0, 1).contiguous(memory_format=mf).requires_grad_(True)
    tb = torch.from_numpy(b).requires_grad_(True)
    tdy = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=mf)
    ty = F.conv2d(tx, tw, tb, stride=stride, padding=pad)
    gx, gw, gb = torch.autograd.grad(ty, (tx, tw, tb), tdy)
    _check(K.conv2d_forward(x, wt, b, **geo), ty.detach().permute(0, 2, 3, 1).numpy(), f"conv2d forward {shape}")
    _check(K.conv2d_backward_data(dy, wt, x.shape, **geo), gx.permute(0, 2, 3, 1).numpy(),
           f"conv2d backward-data {shape}")
    _check(K.conv2d_backward_filter(dy, x, wt.shape, **geo), gw.permute(2, 3, 1, 0).numpy(),
           f"conv2d backward-filter {shape}")
    _check(K.conv2d_backward_bias(dy), gb.numpy(), f"conv2d backward-bias {shape}")

    def t_fwd():
        with torch.no_grad():
            F.conv2d(tx, tw, tb, stride=stride, padding=pad)

    def t_fwd_bwd():
        torch.autograd.grad(F.conv2d(tx, tw, tb, stride=stride, padding=pad), (tx, tw, tb), tdy)

    return t_fwd, t_fwd_bwd


def run(ctx):
    rows = cpu_rows(ctx) if ctx.cpu else []
    gpu = ctx.gpu()
    return rows + (gpu_rows(ctx, gpu) if gpu else [])


def cpu_rows(ctx):
    rows = []
    torch = ctx.torch
    for n, h, w, cin, cout, k, stride, pad in (CONV[:2] + CONV[4:5] if ctx.quick else CONV):
        kh, kw = (k, k) if isinstance(k, int) else k
        x = ctx.rng.standard_normal((n, h, w, cin), dtype=np.float32)
        wt = (ctx.rng.standard_normal((kh, kw, cin, cout), dtype=np.float32) / np.sqrt(kh * kw * cin)).astype(np.float32)
        b = ctx.rng.standard_normal(cout, dtype=np.float32)
        geo = dict(strides=stride, padding=pad)
        y = K.conv2d_forward(x, wt, b, **geo)
        dy = ctx.rng.standard_normal(y.shape, dtype=np.float32)
        m = y.shape[0] * y.shape[1] * y.shape[2]
        flop = 2.0 * m * kh * kw * cin * cout
        ks = f"{kh}x{kw}" if kh != kw else f"{kh}"
        ss = "x".join(map(str, stride)) if isinstance(stride, tuple) else f"{stride}"
        shape = f"{n}x{h}x{w}x{cin}->{cout} k{ks} s{ss} p{pad}"

        def fwd():
            K.conv2d_forward(x, wt, b, **geo)

        def fwd_bwd():
            K.conv2d_forward(x, wt, b, **geo)
            K.conv2d_backward_data(dy, wt, x.shape, **geo)
            K.conv2d_backward_filter(dy, x, wt.shape, **geo)
            K.conv2d_backward_bias(dy)

        anchors = []  # (label, forward, forward + backward)
        if torch is not None:
            for fmt, mf in (("NCHW", torch.contiguous_format), ("channels_last", torch.channels_last)):
                anchors.append((f"PyTorch {fmt}", *_torch_conv(torch, mf, x, wt, b, dy, stride, pad, shape, geo)))
        t_f, *a_f = ctx.time_turns([fwd] + [a[1] for a in anchors])
        t_fb, *a_fb = ctx.time_turns([fwd_bwd] + [a[2] for a in anchors])
        if not anchors:
            rows.append(Row("conv2d fwd", shape, t_f, flop=flop))
            rows.append(Row("conv2d fwd+bwd", shape, t_fb, flop=3 * flop))
        for (label, _, _), tf, tfb in zip(anchors, a_f, a_fb):
            rows.append(Row("conv2d fwd", shape, t_f, label, tf, flop=flop))
            rows.append(Row("conv2d fwd+bwd", shape, t_fb, label, tfb, flop=3 * flop))
    return rows


def gpu_rows(ctx, gpu):
    cp, torch = gpu.cp, gpu.torch
    rng = cp.random.default_rng(0)
    rows = []
    for n, h, w, cin, cout, k, stride, pad in (CONV[:2] + CONV[4:5] if ctx.quick else CONV):
        n *= 4
        kh, kw = (k, k) if isinstance(k, int) else k
        x = rng.standard_normal((n, h, w, cin), dtype=cp.float32)
        wt = rng.standard_normal((kh, kw, cin, cout), dtype=cp.float32) * np.float32(1.0 / np.sqrt(kh * kw * cin))
        geo = dict(strides=stride, padding=pad)
        y = K.conv2d_forward(x, wt, **geo)
        dy = rng.standard_normal(y.shape, dtype=cp.float32)
        flop = 2.0 * y.size * kh * kw * cin
        shape = f"{n}x{h}x{w}x{cin}->{cout} k{kh}x{kw} s{stride} p{pad}"
        t_f = gpu.time(lambda: K.conv2d_forward(x, wt, **geo))
        t_bd = gpu.time(lambda: K.conv2d_backward_data(dy, wt, x.shape, **geo))
        t_bf = gpu.time(lambda: K.conv2d_backward_filter(dy, x, wt.shape, **geo))
        a_f = a_bd = a_bf = float("nan")
        if torch is not None:
            F = torch.nn.functional
            tx = torch.from_dlpack(x).permute(0, 3, 1, 2)  # an NCHW view of NHWC memory: channels_last
            tw = torch.from_dlpack(wt).permute(3, 2, 0, 1).contiguous(memory_format=torch.channels_last)
            tdy = torch.from_dlpack(dy).permute(0, 3, 1, 2)
            ty = F.conv2d(tx, tw, stride=stride, padding=pad)
            err = gpu.rel_error(y, cp.from_dlpack(ty.permute(0, 2, 3, 1).contiguous()))
            assert err < 1e-4, f"gpu conv2d {shape}: relative error {err:.2e} vs PyTorch before timing"
            a_f = gpu.time(lambda: F.conv2d(tx, tw, stride=stride, padding=pad))
            a_bd = gpu.time(lambda: torch.nn.grad.conv2d_input(tx.shape, tw, tdy, stride=stride, padding=pad))
            a_bf = gpu.time(lambda: torch.nn.grad.conv2d_weight(tx, tw.shape, tdy, stride=stride, padding=pad))
        rows.append(gpu.row("conv2d fwd", shape, t_f, "PyTorch CUDA", a_f, flop=flop))
        rows.append(gpu.row("conv2d bwd-data", shape, t_bd, "PyTorch CUDA", a_bd, flop=flop))
        rows.append(gpu.row("conv2d bwd-filter", shape, t_bf, "PyTorch CUDA", a_bf, flop=flop))
    return rows
