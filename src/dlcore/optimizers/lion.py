"""Lion (evolved sign momentum): Keras's arguments and PyTorch-style ones (lion-pytorch's)."""
from __future__ import annotations

from ..tensor import get_array_module
from .base import Optimizer, check_number


class Lion(Optimizer):
    """Lion: move every coordinate by the learning rate in the sign of an interpolated momentum.

        p -= lr * sign(b1 m + (1 - b1) g);   m = b2 m + (1 - b2) g

    with decoupled weight decay (p -= lr * weight_decay * p first) in both styles. torch.optim has
    no Lion: PyTorch's style follows the reference implementation (lion-pytorch: `lr=1e-4`,
    `betas=(0.9, 0.99)`, `weight_decay=0.0`). Use a learning rate 3-10x smaller than Adam's.

    Args:
        learning_rate: Keras's step size. Defaults to 0.001.
        beta_1: the interpolation rate of the step's direction, in (0, 1]. Defaults to 0.9.
        beta_2: the decay rate of the momentum, in (0, 1]. Defaults to 0.99.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: Keras's (see `Optimizer`).
        params, lr (default 1e-4), betas, weight_decay: PyTorch style.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    w = dl.Parameter(np.array([1.0, 1.0], np.float32))
    opt = dl.optimizers.Lion(learning_rate=0.1)
    opt.apply_gradients([(np.array([3.0, -0.01], np.float32), w)])
    print(w.numpy())                    # [0.9 1.1]: each coordinate moves by lr
    ```
    """

    keras_args = {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.99}
    torch_args = {"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0.0}
    torch_kwonly = {}
    torch_slot_names = ("exp_avg",)

    @staticmethod
    def _beta(op, name, b):
        return check_number(op, name, b, 0.0, 1.0, lo_open=True)

    def check_keras(self, op):
        self.beta_1, self.beta_2 = self._beta(op, "beta_1", self.beta_1), self._beta(op, "beta_2", self.beta_2)

    def check_torch(self, op, group):
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{op}: betas must be a pair (beta1, beta2), got {betas!r}")
        group["betas"] = (self._beta(op, "betas[0]", betas[0]), self._beta(op, "betas[1]", betas[1]))
        group["weight_decay"] = check_number(op, "weight_decay", group["weight_decay"])

    def keras_slots(self):
        return ("momentum",)

    def torch_slots(self, group):
        return ("exp_avg",)

    @staticmethod
    def _step(p, g, m, lr, b1, b2):
        xp, T = get_array_module(p), p.dtype.type
        p -= xp.sign(m * T(b1) + g * T(1.0 - b1)) * T(lr)
        m *= T(b2)
        m += g * T(1.0 - b2)

    def keras_update(self, p, g, s, lr):
        self._step(p, g, s["momentum"], lr, self.beta_1, self.beta_2)

    def torch_update(self, p, g, s, group):
        lr, wd = group["lr"], group["weight_decay"]
        if wd:
            p *= p.dtype.type(1.0 - lr * wd)
        self._step(p, g, s["exp_avg"], lr, *group["betas"])
