"""RMSprop: Keras's formulas and PyTorch's."""
from __future__ import annotations

from ..tensor import get_array_module
from .base import Optimizer, check_number, kernel


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square of recent gradients.

    Keras's formulas (epsilon inside the square root, the momentum buffer holds the learning rate):

        velocity = rho * velocity + (1 - rho) * g^2
        centered: average_gradient = rho * average_gradient + (1 - rho) * g,
                  denominator = velocity - average_gradient^2 + epsilon;  else velocity + epsilon
        increment = learning_rate * g / sqrt(denominator)
        momentum > 0: buffer = momentum * buffer + increment, p -= buffer;  else p -= increment

    PyTorch's (epsilon outside the square root, the learning rate applied last, L2 weight decay):

        g' = g + weight_decay * p;   square_avg = alpha * square_avg + (1 - alpha) * g'^2
        avg = sqrt(square_avg - grad_avg^2) + eps (centered) or sqrt(square_avg) + eps
        momentum > 0: buffer = momentum * buffer + g' / avg, p -= lr * buffer;  else p -= lr * g' / avg

    Args:
        learning_rate: Keras's step size. Defaults to 0.001.
        rho: Keras's discounting factor for the history of gradients. Defaults to 0.9.
        momentum: float >= 0. Defaults to 0.
        epsilon: Keras's small constant (under the square root). Defaults to 1e-7.
        centered: normalize by the estimated variance of the gradient. Defaults to False.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: Keras's (decoupled weight decay).
        params, lr (default 1e-2), alpha (default 0.99), eps (default 1e-8), maximize, foreach,
            capturable, differentiable: PyTorch's `torch.optim.RMSprop`.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    w = dl.Parameter(np.array([1.0], np.float32))
    opt = dl.optimizers.RMSprop(learning_rate=0.01)
    opt.apply_gradients([(np.array([3.0], np.float32), w)])
    print(w.numpy())                    # [0.96837723]: 1 - 0.01 * 3 / sqrt(0.1 * 9 + 1e-7)
    ```
    """

    keras_args = {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False}
    torch_args = {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False,
                  "capturable": False, "foreach": None, "maximize": False, "differentiable": False}
    torch_slot_names = ("square_avg", "momentum_buffer", "grad_avg")
    # files written before the two styles were told apart held PyTorch's slots (mom_buf without lr)
    legacy_slots = {"sq_avg": ("velocity", lambda a, lr: a), "grad_avg": ("average_gradient", lambda a, lr: a),
                    "mom_buf": ("momentum", lambda b, lr: lr * b)}

    def check_keras(self, op):
        self.rho = check_number(op, "rho", self.rho, 0.0, 1.0)
        self.momentum = check_number(op, "momentum", self.momentum)
        self.epsilon = check_number(op, "epsilon", self.epsilon)
        self.centered = bool(self.centered)

    def check_torch(self, op, group):
        group["alpha"] = check_number(op, "alpha", group["alpha"], 0.0, 1.0)
        for k in ("eps", "weight_decay", "momentum"):
            group[k] = check_number(op, k, group[k])

    def keras_slots(self):
        return ("velocity",) + (("momentum",) if self.momentum else ()) + \
            (("average_gradient",) if self.centered else ())

    def torch_slots(self, group):
        return ("square_avg",) + (("momentum_buffer",) if group["momentum"] else ()) + \
            (("grad_avg",) if group["centered"] else ())

    def keras_update(self, p, g, s, lr):
        xp, T, rho = get_array_module(p), p.dtype.type, self.rho
        vel = s["velocity"]
        vel *= T(rho)
        vel += g * g * T(1.0 - rho)
        if self.centered:
            avg = s["average_gradient"]
            avg *= T(rho)
            avg += g * T(1.0 - rho)
            denominator = vel - avg * avg + T(self.epsilon)
        else:
            denominator = vel + T(self.epsilon)
        increment = g * T(lr) / xp.sqrt(denominator)
        if self.momentum:
            buf = s["momentum"]
            buf *= T(self.momentum)
            buf += increment
            p -= buf
        else:
            p -= increment

    def torch_update(self, p, g, s, group):
        kernel("rmsprop_update")(p, g, s["square_avg"], group["lr"], rho=group["alpha"], eps=group["eps"],
                                 momentum=group["momentum"], mom_buf=s.get("momentum_buffer"),
                                 centered=bool(group["centered"]), grad_avg=s.get("grad_avg"),
                                 weight_decay=group["weight_decay"])
