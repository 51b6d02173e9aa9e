"""Adadelta: Keras's formulas and PyTorch's (the same update; different defaults)."""
from __future__ import annotations

from ..tensor import get_array_module
from .base import Optimizer, check_number


class Adadelta(Optimizer):
    """Adadelta: steps scaled by the ratio of running RMS of past steps to running RMS of gradients.

        a = rho a + (1 - rho) g^2
        delta = sqrt(d + eps) / sqrt(a + eps) * g
        d = rho d + (1 - rho) delta^2;   p -= lr * delta

    Keras and PyTorch use the same formula; their defaults differ (Keras learning_rate=0.001,
    rho=0.95, epsilon=1e-7; PyTorch lr=1.0, rho=0.9, eps=1e-6), and their weight decay (Keras
    decoupled, PyTorch an L2 term added to g).

    Args:
        learning_rate: Keras's step size. Defaults to 0.001.
        rho: the decay rate, in [0, 1]. Defaults to 0.95 (Keras), 0.9 (PyTorch).
        epsilon: Keras's small constant. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: Keras's (see `Optimizer`).
        params, lr (default 1.0), eps (default 1e-6), maximize, foreach, capturable, differentiable:
            PyTorch's `torch.optim.Adadelta`.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    w = dl.Parameter(np.array([1.0], np.float32))
    opt = dl.optimizers.Adadelta(learning_rate=1.0, rho=0.9, epsilon=1e-6)
    opt.apply_gradients([(np.array([1.0], np.float32), w)])
    print(w.numpy())                    # [0.99683774]: 1 - sqrt(1e-6) / sqrt(0.1 + 1e-6)
    ```
    """

    keras_args = {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7}
    torch_args = {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0, "foreach": None}
    torch_kwonly = {"capturable": False, "maximize": False, "differentiable": False}
    torch_slot_names = ("square_avg", "acc_delta")

    def check_keras(self, op):
        self.rho = check_number(op, "rho", self.rho, 0.0, 1.0)
        self.epsilon = check_number(op, "epsilon", self.epsilon)

    def check_torch(self, op, group):
        group["rho"] = check_number(op, "rho", group["rho"], 0.0, 1.0)
        group["eps"] = check_number(op, "eps", group["eps"])
        group["weight_decay"] = check_number(op, "weight_decay", group["weight_decay"])

    def keras_slots(self):
        return ("accumulated_grad", "accumulated_delta_var")

    def torch_slots(self, group):
        return ("square_avg", "acc_delta")

    @staticmethod
    def _step(xp, p, g, a, d, lr, rho, eps):
        T = p.dtype.type
        a *= T(rho)
        a += g * g * T(1.0 - rho)
        delta = xp.sqrt(d + T(eps)) / xp.sqrt(a + T(eps)) * g
        d *= T(rho)
        d += delta * delta * T(1.0 - rho)
        p -= delta * T(lr)

    def keras_update(self, p, g, s, lr):
        self._step(get_array_module(p), p, g, s["accumulated_grad"], s["accumulated_delta_var"], lr, self.rho,
                   self.epsilon)

    def torch_update(self, p, g, s, group):
        if group["weight_decay"]:
            g = g + p * p.dtype.type(group["weight_decay"])
        self._step(get_array_module(p), p, g, s["square_avg"], s["acc_delta"], group["lr"], group["rho"],
                   group["eps"])
