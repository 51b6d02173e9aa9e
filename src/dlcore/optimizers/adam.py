"""Adam and AdamW: Keras's formulas and PyTorch's, both on the fused adam_update kernel."""
from __future__ import annotations

import math

from .base import Optimizer, check_betas, check_number, kernel


class Adam(Optimizer):
    """Adam: steps from bias-corrected running means of the gradient and of its square.

    Both styles share the moments m = b1 m + (1 - b1) g and v = b2 v + (1 - b2) g^2 (amsgrad: v
    replaced by its running maximum) and differ in where epsilon sits, t being the step (1 first):

        Keras:   p -= learning_rate * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + epsilon)
        PyTorch: p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    so Keras's epsilon weighs sqrt(1 - b2^t) times PyTorch's (the same at large t, very different
    in the first steps with b2 = 0.999). Weight decay: Keras decoupled (p -= lr * wd * p first);
    PyTorch an L2 term added to g, or decoupled with decoupled_weight_decay=True (= AdamW).
    Both run on one fused kernel pass per parameter (`dlcore.kernels.adam_update`).

    Args:
        learning_rate: Keras's step size (float, schedule or callable). Defaults to 0.001.
        beta_1, beta_2: Keras's decay rates of the moments, in [0, 1). Defaults to 0.9, 0.999.
        epsilon: Keras's small constant. Defaults to 1e-7.
        amsgrad: use the running maximum of v (AMSGrad). Defaults to False.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: Keras's (see `Optimizer`).
        params, lr (default 1e-3), betas, eps (default 1e-8), weight_decay, decoupled_weight_decay,
            maximize, foreach, fused, capturable, differentiable: PyTorch's `torch.optim.Adam`.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    w = dl.Parameter(np.array([1.0, -1.0], np.float32))
    opt = dl.optimizers.Adam(learning_rate=0.1)                   # Keras's formulas
    opt.apply_gradients([(np.array([0.5, -2.0], np.float32), w)])
    print(w.numpy())                                              # about [0.9 -0.9]: a first Adam step moves lr

    v = dl.Parameter(np.zeros(2, np.float32))
    opt = dl.optimizers.Adam([v], lr=1e-3, betas=(0.5, 0.999))    # PyTorch's formulas
    v.grad = np.ones(2, np.float32)
    opt.step()
    ```
    """

    keras_args = {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}
    torch_args = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}
    torch_kwonly = {"foreach": None, "maximize": False, "capturable": False, "differentiable": False, "fused": None,
                    "decoupled_weight_decay": False}
    torch_slot_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    keras_fused_weight_decay = True
    legacy_slots = {"m": ("momentum", lambda a, lr: a), "v": ("velocity", lambda a, lr: a),
                    "v_max": ("velocity_hat", lambda a, lr: a)}
    decoupled = False  # PyTorch's weight decay: into the gradient (Adam) or on the parameter (AdamW)

    def check_keras(self, op):
        self.beta_1, self.beta_2 = check_betas(op, (self.beta_1, self.beta_2), ("beta_1", "beta_2"))
        self.epsilon = check_number(op, "epsilon", self.epsilon)
        self.amsgrad = bool(self.amsgrad)

    def check_torch(self, op, group):
        group["betas"] = check_betas(op, group["betas"])
        group["eps"] = check_number(op, "eps", group["eps"])
        group["weight_decay"] = check_number(op, "weight_decay", group["weight_decay"])

    def keras_slots(self):
        return ("momentum", "velocity") + (("velocity_hat",) if self.amsgrad else ())

    def torch_slots(self, group):
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())

    def keras_update(self, p, g, s, lr):
        t = self.iterations
        # Keras's step: lr sqrt(bc2) / bc1 * m / (sqrt(v) + eps) = the kernel's with eps / sqrt(bc2)
        eps = self.epsilon / math.sqrt(1.0 - self.beta_2 ** t)
        kernel("adam_update")(p, g, s["momentum"], s["velocity"], lr, t, beta1=self.beta_1, beta2=self.beta_2,
                              eps=eps, weight_decay=self.weight_decay, decoupled_weight_decay=True,
                              amsgrad=self.amsgrad, v_max=s.get("velocity_hat"))

    def torch_update(self, p, g, s, group):
        b1, b2 = group["betas"]
        kernel("adam_update")(p, g, s["exp_avg"], s["exp_avg_sq"], group["lr"], int(s["step"]), beta1=b1, beta2=b2,
                              eps=group["eps"], weight_decay=group["weight_decay"],
                              decoupled_weight_decay=self.decoupled or bool(group.get("decoupled_weight_decay")),
                              amsgrad=bool(group["amsgrad"]), v_max=s.get("max_exp_avg_sq"))


class AdamW(Adam):
    """Adam with decoupled weight decay: p -= lr * weight_decay * p before each Adam step.

    The same update as `Adam` in each style (Keras's or PyTorch's epsilon placement); the weight decay
    is decoupled in both, with each API's default: Keras 0.004, PyTorch 0.01.

    Args:
        learning_rate: Keras's step size. Defaults to 0.001.
        weight_decay: the decoupled decay rate (Keras 0.004, PyTorch 0.01).
        beta_1, beta_2, epsilon, amsgrad, clipnorm, clipvalue, global_clipnorm, name: as in `Adam`.
        params, lr, betas, eps, amsgrad, maximize, foreach, fused, capturable, differentiable: PyTorch's
            `torch.optim.AdamW`.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    w = dl.Parameter(np.array([1.0], np.float32))
    opt = dl.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    opt.apply_gradients([(np.array([0.0], np.float32), w)])
    print(w.numpy())                    # [0.95]: decayed by lr * wd = 0.05, no gradient step
    ```
    """

    keras_args = {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                  "amsgrad": False}
    torch_args = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False}
    torch_kwonly = {"maximize": False, "foreach": None, "capturable": False, "differentiable": False, "fused": None}
    decoupled = True
