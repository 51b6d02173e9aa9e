"""SGD, with momentum and Nesterov momentum: Keras's formulas and PyTorch's."""
from __future__ import annotations

from ..tensor import get_array_module
from .base import Optimizer, check_number, kernel


class SGD(Optimizer):
    """Gradient descent with momentum (optionally Nesterov momentum).

    Keras's formulas (built with `learning_rate=`, or nothing PyTorch-only), velocity `m` holding
    the learning rate:

        m = momentum * m - learning_rate * g
        p += m                                    (nesterov: p += momentum * m - learning_rate * g)

    PyTorch's formulas (built with the parameters first or `lr=`), buffer `b` without it:

        g' = g + weight_decay * p;   b = momentum * b + (1 - dampening) * g'   (b = g' on the first step)
        p -= lr * (g' + momentum * b if nesterov else b)

    The two agree while the learning rate is constant and differ once it changes (a schedule).

    Args:
        learning_rate: Keras's step size (float, schedule or callable). Defaults to 0.01.
        momentum: float in [0, 1]; 0 is plain gradient descent. Defaults to 0.
        nesterov: whether to use Nesterov momentum (needs momentum > 0). Defaults to False.
        weight_decay: Keras: decoupled decay (p -= learning_rate * weight_decay * p before the step);
            PyTorch: L2 term added to the gradient.
        clipnorm, clipvalue, global_clipnorm, name: Keras's (see `dl.optimizers.Optimizer`).
        params, lr (default 1e-3), dampening, maximize, foreach, fused: PyTorch's `torch.optim.SGD`.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    w = dl.Parameter(np.array([1.0, 2.0], np.float32))
    opt = dl.optimizers.SGD(learning_rate=0.1, momentum=0.9)       # Keras's formulas
    opt.apply_gradients([(np.array([0.5, -1.0], np.float32), w)])
    print(w.numpy())                                               # [0.95 2.1 ]

    v = dl.Parameter(np.zeros(3, np.float32))
    opt = dl.optimizers.SGD([v], lr=0.1, momentum=0.9)             # PyTorch's formulas
    v.grad = np.ones(3, np.float32)
    opt.step()
    print(v.numpy())                                               # [-0.1 -0.1 -0.1]
    ```
    """

    keras_args = {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False}
    torch_args = {"lr": 1e-3, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}
    torch_kwonly = {"maximize": False, "foreach": None, "differentiable": False, "fused": None}
    # the velocity of files written before the two styles were told apart held PyTorch's buffer
    legacy_slots = {"velocity": ("momentum", lambda b, lr: -lr * b)}
    torch_slot_names = ("momentum_buffer",)
    torch_step = False  # torch's SGD keeps no step count; its buffer appears at the first step

    def check_keras(self, op):
        self.momentum = check_number(op, "momentum", self.momentum, 0.0, 1.0)
        self.nesterov = bool(self.nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError(f"{op}: nesterov=True needs momentum > 0")

    def check_torch(self, op, group):
        for k in ("momentum", "dampening", "weight_decay"):
            group[k] = check_number(op, k, group[k])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{op}: Nesterov momentum requires a momentum and zero dampening (as in PyTorch)")

    def keras_slots(self):
        return ("momentum",) if self.momentum else ()

    def torch_slots(self, group):
        return ()  # the momentum buffer is made by the first step (torch: a copy of the gradient)

    def keras_update(self, p, g, s, lr):
        if not self.momentum:
            kernel("sgd_update")(p, g, lr)
            return
        T, mu = p.dtype.type, self.momentum
        m = s["momentum"]
        m *= T(mu)
        m -= g * T(lr)
        if self.nesterov:
            p += m * T(mu) - g * T(lr)
        else:
            p += m

    def torch_update(self, p, g, s, group):
        mu, damp, wd, lr = group["momentum"], group["dampening"], group["weight_decay"], group["lr"]
        if mu == 0 or damp == 0:  # the fused kernel: a zero buffer makes torch's first b = g'
            b = None
            if mu:
                b = s.get("momentum_buffer")
                if b is None:
                    b = s["momentum_buffer"] = get_array_module(p).zeros_like(p)
            kernel("sgd_update")(p, g, lr, momentum=mu, velocity=b, nesterov=bool(group["nesterov"]), weight_decay=wd)
            return
        T = p.dtype.type
        if wd:
            g = g + p * T(wd)
        b = s.get("momentum_buffer")
        if b is None:
            b = s["momentum_buffer"] = g.copy()
        else:
            b *= T(mu)
            b += g * T(1.0 - damp)
        p -= b * T(lr)
