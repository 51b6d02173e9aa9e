"""LSTM and GRU beside torch.nn.LSTM / torch.nn.GRU(I, H, batch_first=True) on the CPU, float32, shapes
of workloads.LSTM; on the GPU the LSTM forward pass beside torch.nn.LSTM on CUDA (cuDNN).

Both sides do the same training work:
  forward           dlcore.kernels.lstm_forward (keeps its cache)   | y, _ = lstm(x), autograd on
  forward+backward  lstm_forward + lstm_backward(ones)              | y, _ = lstm(x); y.backward(ones)
(the same for the GRU). x requires grad on the PyTorch side too, so both compute dx and every weight
gradient. The weights are shared and the outputs compared before timing: PyTorch's weight_ih is
kernel^T; the LSTM's gate order i, f, g, o is Keras's i, f, c, o (b_hh = 0); Keras's GRU with
reset_after=True is PyTorch's GRU with the gates z, r, h reordered to r, z, n and bias rows 0 / 1 as
b_ih / b_hh.
"""
import numpy as np

from common import Row
from workloads import LSTM
from dlcore import kernels as K


def _flops(B, T, I, H, backward, gates=4):
    """Multiply-adds of the GEMMs, x2: input projection + recurrent product (forward); backward adds
    dh (recurrent^T), dkernel, drecurrent and dx. `gates`: 4 for the LSTM, 3 for the GRU."""
    fwd = 2.0 * B * T * gates * H * (I + H)
    return fwd + (2.0 * B * T * gates * H * (H + I + H + I) if backward else 0.0)


def run(ctx):
    rows = cpu_rows(ctx, LSTM_CPU) + cpu_rows(ctx, GRU_CPU) if ctx.cpu else []
    gpu = ctx.gpu()
    return rows + (gpu_rows(ctx, gpu) if gpu else [])


def _lstm_torch(torch, I, H, kernel, recurrent, bias):
    lstm = torch.nn.LSTM(I, H, batch_first=True)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(kernel.T.copy()))
        lstm.weight_hh_l0.copy_(torch.from_numpy(recurrent.T.copy()))
        lstm.bias_ih_l0.copy_(torch.from_numpy(bias))
        lstm.bias_hh_l0.zero_()
    return lstm


def _gru_torch(torch, I, H, kernel, recurrent, bias):
    gru = torch.nn.GRU(I, H, batch_first=True)
    order = np.concatenate([np.arange(H, 2 * H), np.arange(H), np.arange(2 * H, 3 * H)])  # z r h -> r z n
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.from_numpy(kernel[:, order].T.copy()))
        gru.weight_hh_l0.copy_(torch.from_numpy(recurrent[:, order].T.copy()))
        gru.bias_ih_l0.copy_(torch.from_numpy(bias[0, order].copy()))
        gru.bias_hh_l0.copy_(torch.from_numpy(bias[1, order].copy()))
    return gru


# What differs between the layers timed on the CPU: name, gates, bias shape, dlcore's forward (x,
# weights -> outputs whose first is hs and last the cache) and backward (ones, cache), PyTorch's module.
LSTM_CPU = dict(name="lstm", gates=4, bias=lambda H: (4 * H,), anchor="PyTorch nn.LSTM",
                fwd=lambda x, k, r, b: K.lstm_forward(x, None, None, k, r, b),
                bwd=lambda ones, cache: K.lstm_backward(ones, None, None, cache), torch=_lstm_torch)
GRU_CPU = dict(name="gru", gates=3, bias=lambda H: (2, 3 * H), anchor="PyTorch nn.GRU",
               fwd=lambda x, k, r, b: K.gru_forward(x, None, k, r, b),
               bwd=lambda ones, cache: K.gru_backward(ones, None, cache), torch=_gru_torch)


def cpu_rows(ctx, layer):
    rows = []
    name, G = layer["name"], layer["gates"]
    for B, T, I, H in LSTM:
        rng = ctx.rng
        x = rng.standard_normal((B, T, I), dtype=np.float32)
        kernel = (rng.standard_normal((I, G * H), dtype=np.float32) / np.sqrt(I)).astype(np.float32)
        recurrent = (rng.standard_normal((H, G * H), dtype=np.float32) / np.sqrt(H)).astype(np.float32)
        bias = (0.1 * rng.standard_normal(layer["bias"](H), dtype=np.float32)).astype(np.float32)
        ones = np.ones((B, T, H), np.float32)

        def dl_fwd():
            return layer["fwd"](x, kernel, recurrent, bias)

        def dl_fwd_bwd():
            return layer["bwd"](ones, dl_fwd()[-1])

        hs = dl_fwd()[0]
        shape = f"B={B} T={T} I={I} H={H}"
        reps = max(3, ctx.reps)
        anchor, anchors = "", []
        torch = ctx.torch
        if torch is not None:
            anchor = layer["anchor"]
            module = layer["torch"](torch, I, H, kernel, recurrent, bias)
            tx = torch.from_numpy(x).requires_grad_(True)
            tones = torch.from_numpy(ones)
            y, _ = module(tx)
            err = np.linalg.norm(y.detach().numpy() - hs) / np.linalg.norm(hs)
            assert err < 1e-4, f"{name} {shape}: relative error {err:.2e} against PyTorch before timing"

            def t_fwd():
                return module(tx)

            def t_fwd_bwd():
                y, _ = module(tx)
                y.backward(tones)

            anchors = [(t_fwd, t_fwd_bwd)]
        t_f, *a_f = ctx.time_turns([dl_fwd] + [a[0] for a in anchors], reps)
        t_fb, *a_fb = ctx.time_turns([dl_fwd_bwd] + [a[1] for a in anchors], reps)
        t_tf = a_f[0] if a_f else float("nan")
        t_tfb = a_fb[0] if a_fb else float("nan")
        rows.append(Row(f"{name} fwd", shape, t_f, anchor, t_tf, flop=_flops(B, T, I, H, False, gates=G)))
        rows.append(Row(f"{name} fwd+bwd", shape, t_fb, anchor, t_tfb, flop=_flops(B, T, I, H, True, gates=G)))
    return rows


def gpu_rows(ctx, gpu):
    cp, torch = gpu.cp, gpu.torch
    rng = cp.random.default_rng(0)
    rows = []
    for B, T, I, H in LSTM:
        x = rng.standard_normal((B, T, I), dtype=cp.float32)
        kernel = rng.standard_normal((I, 4 * H), dtype=cp.float32) * np.float32(0.1)
        recurrent = rng.standard_normal((H, 4 * H), dtype=cp.float32) * np.float32(0.1)
        bias = rng.standard_normal((4 * H,), dtype=cp.float32) * np.float32(0.1)
        hs = K.lstm_forward(x, None, None, kernel, recurrent, bias)[0]
        shape = f"B={B} T={T} I={I} H={H}"
        reps = max(3, ctx.reps // 2)
        t_dl = gpu.time(lambda: K.lstm_forward(x, None, None, kernel, recurrent, bias), reps)
        t_anchor = float("nan")
        if torch is not None:
            lstm = torch.nn.LSTM(I, H, batch_first=True).cuda()
            with torch.no_grad():
                lstm.weight_ih_l0.copy_(torch.from_dlpack(kernel).T)
                lstm.weight_hh_l0.copy_(torch.from_dlpack(recurrent).T)
                lstm.bias_ih_l0.copy_(torch.from_dlpack(bias))
                lstm.bias_hh_l0.zero_()
                tx = torch.from_dlpack(x)
                err = gpu.rel_error(hs, cp.from_dlpack(lstm(tx)[0].contiguous()))
                assert err < 1e-4, f"gpu lstm {shape}: relative error {err:.2e} vs PyTorch before timing"
                t_anchor = gpu.time(lambda: lstm(tx), reps)
        rows.append(gpu.row("lstm fwd", shape, t_dl, "PyTorch CUDA", t_anchor, flop=_flops(B, T, I, H, False)))
    return rows
