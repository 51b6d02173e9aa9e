"""Adamax (Adam with the infinity norm): Keras's formulas and PyTorch's."""
from __future__ import annotations

from ..tensor import get_array_module
from .base import Optimizer, check_betas, check_number


class Adamax(Optimizer):
    """Adamax: Adam with the second moment replaced by an exponentially weighted infinity norm.

        m = b1 m + (1 - b1) g
        Keras:   u = max(b2 u, |g|);        p -= learning_rate / (1 - b1^t) * m / (u + epsilon)
        PyTorch: u = max(b2 u, |g'| + eps); p -= lr / (1 - b1^t) * m / u      (g' = g + weight_decay p)

    Args:
        learning_rate: Keras's step size. Defaults to 0.001.
        beta_1, beta_2: Keras's decay rates, in [0, 1). Defaults to 0.9, 0.999.
        epsilon: Keras's small constant. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: Keras's (see `Optimizer`).
        params, lr (default 2e-3), betas, eps (default 1e-8), maximize, foreach, capturable,
            differentiable: PyTorch's `torch.optim.Adamax`.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    w = dl.Parameter(np.array([1.0], np.float32))
    opt = dl.optimizers.Adamax(learning_rate=0.1)
    opt.apply_gradients([(np.array([4.0], np.float32), w)])
    print(w.numpy())                    # [0.9]: 1 - 0.1 * 0.4 / (0.1 * (4 + 1e-7))
    ```
    """

    keras_args = {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
    torch_args = {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "foreach": None}
    torch_kwonly = {"maximize": False, "differentiable": False, "capturable": False}
    torch_slot_names = ("exp_avg", "exp_inf")

    def check_keras(self, op):
        self.beta_1, self.beta_2 = check_betas(op, (self.beta_1, self.beta_2), ("beta_1", "beta_2"))
        self.epsilon = check_number(op, "epsilon", self.epsilon)

    def check_torch(self, op, group):
        group["betas"] = check_betas(op, group["betas"])
        group["eps"] = check_number(op, "eps", group["eps"])
        group["weight_decay"] = check_number(op, "weight_decay", group["weight_decay"])

    def keras_slots(self):
        return ("m", "u")

    def torch_slots(self, group):
        return ("exp_avg", "exp_inf")

    def keras_update(self, p, g, s, lr):
        xp, T, b1, t = get_array_module(p), p.dtype.type, self.beta_1, self.iterations
        m, u = s["m"], s["u"]
        m += (g - m) * T(1.0 - b1)
        xp.maximum(u * T(self.beta_2), xp.abs(g), out=u)
        p -= m * T(lr / (1.0 - b1 ** t)) / (u + T(self.epsilon))

    def torch_update(self, p, g, s, group):
        xp, T = get_array_module(p), p.dtype.type
        (b1, b2), wd = group["betas"], group["weight_decay"]
        if wd:
            g = g + p * T(wd)
        m, u = s["exp_avg"], s["exp_inf"]
        m += (g - m) * T(1.0 - b1)
        xp.maximum(u * T(b2), xp.abs(g) + T(group["eps"]), out=u)
        p -= m * T(group["lr"] / (1.0 - b1 ** s["step"])) / u
