"""Softmax and softmax cross-entropy (float32, workloads.SOFTMAX) beside PyTorch CPU.

Cross-entropy is forward + backward (value and gradient w.r.t. the logits), against
torch.nn.functional.cross_entropy followed by .backward(); target >= 1.5x PyTorch.
"""
import numpy as np

from common import Row
from workloads import SOFTMAX
from dlcore import kernels as K


def run(ctx):
    rows = []
    torch = ctx.torch
    for n, c in SOFTMAX:
        if ctx.quick:
            n = n // 4
        x = (ctx.rng.standard_normal((n, c), dtype=np.float32) * 3).astype(np.float32)
        labels = ctx.rng.integers(0, c, n)
        y = np.empty_like(x)
        # validate before timing
        x64 = x.astype(np.float64)
        z = x64 - x64.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss, grad = K.softmax_cross_entropy(x, labels)
        ref_loss = -logp[np.arange(n), labels].mean()
        assert abs(float(loss) - ref_loss) <= 1e-5 * abs(ref_loss), "softmax_cross_entropy loss before timing"
        ref_grad = np.exp(logp)
        ref_grad[np.arange(n), labels] -= 1.0
        ref_grad /= n
        err = np.linalg.norm(grad - ref_grad) / np.linalg.norm(ref_grad)
        assert err < 1e-5, f"softmax_cross_entropy grad: relative error {err:.2e} before timing"
        K.softmax_forward(x, out=y)
        assert np.max(np.abs(y - np.exp(logp))) < 1e-6, "softmax before timing"

        shape = f"{n}x{c} f32"
        sm, xe = [lambda: K.softmax_forward(x, out=y)], [lambda: K.softmax_cross_entropy(x, labels)]
        if torch is not None:
            tx, ty = torch.from_numpy(x), torch.from_numpy(y)
            sm.append(lambda: torch.ops.aten._softmax.out(tx, -1, False, out=ty))  # no allocation
            tl = torch.from_numpy(labels)
            txg = torch.from_numpy(x.copy()).requires_grad_(True)

            def torch_xent():
                txg.grad = None
                torch.nn.functional.cross_entropy(txg, tl).backward()
            xe.append(torch_xent)
        t_sm, *t_sm_a = ctx.time_turns(sm)
        t_xe, *t_xe_a = ctx.time_turns(xe)
        t_sm_a = t_sm_a[0] if t_sm_a else float("nan")
        t_xe_a = t_xe_a[0] if t_xe_a else float("nan")
        anchor = "PyTorch" if torch is not None else ""
        rows.append(Row("softmax", shape, t_sm, anchor, t_sm_a, bytes=8 * n * c))
        rows.append(Row("softmax_xent", f"{shape} fwd+bwd", t_xe, anchor, t_xe_a, bytes=8 * n * c))
    return rows
