"""Nadam (Adam with Nesterov momentum): Keras's formulas and PyTorch's NAdam."""
from __future__ import annotations

from ..tensor import get_array_module
from .base import Optimizer, check_betas, check_number


def _mu(beta_1, t, momentum_decay=1.0):
    """The momentum schedule of step t: beta_1 (1 - 0.5 * 0.96^(t * momentum_decay))."""
    return beta_1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))


class Nadam(Optimizer):
    """Nadam: Adam whose first moment takes a Nesterov look-ahead, with a warming momentum schedule.

    With mu_t the momentum of step t and M_t = mu_1 ... mu_t their product, both styles step

        m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2;   v_hat = v / (1 - b2^t)
        p -= lr * (mu_{t+1} m / (1 - M_t mu_{t+1}) + (1 - mu_t) g / (1 - M_t)) / (sqrt(v_hat) + eps)

    and differ in the schedule: Keras mu_t = beta_1 (1 - 0.5 * 0.96^t) (one product M for the whole
    optimizer); PyTorch mu_t = beta1 (1 - 0.5 * 0.96^(t * momentum_decay)), momentum_decay = 0.004
    (one product per parameter, over its own steps). Weight decay: Keras decoupled; PyTorch L2 on
    the gradient, or decoupled with decoupled_weight_decay=True.

    Args:
        learning_rate: Keras's step size. Defaults to 0.001.
        beta_1, beta_2: Keras's decay rates, in [0, 1). Defaults to 0.9, 0.999.
        epsilon: Keras's small constant. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: Keras's (see `Optimizer`).
        params, lr (default 2e-3), betas, eps (default 1e-8), momentum_decay, decoupled_weight_decay,
            maximize, foreach, capturable, differentiable: PyTorch's `torch.optim.NAdam`.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    w = dl.Parameter(np.array([1.0], np.float32))
    opt = dl.optimizers.Nadam(learning_rate=0.01)
    for _ in range(3):
        opt.apply_gradients([(np.array([1.0], np.float32), w)])
    print(w.numpy())                    # about [0.97]: three steps of about lr each
    ```
    """

    keras_args = {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
    torch_args = {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "momentum_decay": 4e-3,
                  "decoupled_weight_decay": False}
    torch_kwonly = {"foreach": None, "maximize": False, "capturable": False, "differentiable": False}
    torch_slot_names = ("exp_avg", "exp_avg_sq")
    torch_scalars = ("mu_product",)

    def check_keras(self, op):
        self.beta_1, self.beta_2 = check_betas(op, (self.beta_1, self.beta_2), ("beta_1", "beta_2"))
        self.epsilon = check_number(op, "epsilon", self.epsilon)
        self._u_product, self._u_step = 1.0, 0

    def check_torch(self, op, group):
        group["betas"] = check_betas(op, group["betas"])
        for k in ("eps", "weight_decay", "momentum_decay"):
            group[k] = check_number(op, k, group[k])

    def keras_slots(self):
        return ("momentum", "velocity")

    def torch_slots(self, group):
        return ("exp_avg", "exp_avg_sq")

    def _new_state(self, p, group):
        state = super()._new_state(p, group)
        if self.api == "torch":
            state["mu_product"] = 1.0
        return state

    def before_keras_step(self):
        self.after_load()  # M_t for t = iterations (the step being taken)

    def after_load(self):
        if self.api != "keras":
            return
        if self._u_step > self.iterations:
            self._u_product, self._u_step = 1.0, 0
        while self._u_step < self.iterations:
            self._u_step += 1
            self._u_product *= _mu(self.beta_1, self._u_step)

    def keras_update(self, p, g, s, lr):
        xp, T = get_array_module(p), p.dtype.type
        b1, b2, t = self.beta_1, self.beta_2, self.iterations
        u_t, u_next = _mu(b1, t), _mu(b1, t + 1)
        prod, prod_next = self._u_product, self._u_product * u_next
        m, v = s["momentum"], s["velocity"]
        m += (g - m) * T(1.0 - b1)
        v += (g * g - v) * T(1.0 - b2)
        m_hat = m * T(u_next / (1.0 - prod_next)) + g * T((1.0 - u_t) / (1.0 - prod))
        v_hat = v * T(1.0 / (1.0 - b2 ** t))
        p -= m_hat * T(lr) / (xp.sqrt(v_hat) + T(self.epsilon))

    def torch_update(self, p, g, s, group):
        xp, T = get_array_module(p), p.dtype.type
        (b1, b2), lr, wd, step = group["betas"], group["lr"], group["weight_decay"], s["step"]
        if wd:
            if group["decoupled_weight_decay"]:
                p *= T(1.0 - lr * wd)
            else:
                g = g + p * T(wd)
        mu, mu_next = _mu(b1, step, group["momentum_decay"]), _mu(b1, step + 1, group["momentum_decay"])
        s["mu_product"] *= mu
        prod, prod_next = s["mu_product"], s["mu_product"] * mu_next
        m, v = s["exp_avg"], s["exp_avg_sq"]
        m += (g - m) * T(1.0 - b1)
        v *= T(b2)
        v += g * g * T(1.0 - b2)
        denom = xp.sqrt(v * T(1.0 / (1.0 - b2 ** step))) + T(group["eps"])
        p -= g * T(lr * (1.0 - mu) / (1.0 - prod)) / denom
        p -= m * T(lr * mu_next / (1.0 - prod_next)) / denom
