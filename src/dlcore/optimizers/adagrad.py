"""Adagrad: Keras's formulas and PyTorch's."""
from __future__ import annotations

from ..tensor import get_array_module
from .base import Optimizer, check_number, kernel


class Adagrad(Optimizer):
    """Adagrad: per-coordinate step sizes shrinking with the sum of the squared gradients.

    Keras's formulas (epsilon inside the square root):

        accumulator += g^2;   p -= learning_rate * g / sqrt(accumulator + epsilon)

    PyTorch's (epsilon outside, a learning-rate decay, L2 weight decay):

        g' = g + weight_decay * p;   sum += g'^2
        p -= lr / (1 + (step - 1) * lr_decay) * g' / (sqrt(sum) + eps)

    Args:
        learning_rate: Keras's step size. Defaults to 0.001.
        initial_accumulator_value: starting value of the accumulator (Keras 0.1, PyTorch 0).
        epsilon: Keras's small constant, added under the square root. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: Keras's (decoupled weight decay).
        params, lr (default 1e-2), lr_decay, eps (default 1e-10), maximize, foreach, fused: PyTorch's
            `torch.optim.Adagrad`.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    w = dl.Parameter(np.array([1.0], np.float32))
    opt = dl.optimizers.Adagrad(learning_rate=0.1, initial_accumulator_value=0.0)
    opt.apply_gradients([(np.array([2.0], np.float32), w)])
    print(w.numpy())                    # [0.9]: 1 - 0.1 * 2 / sqrt(4 + 1e-7)
    ```
    """

    keras_args = {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7}
    torch_args = {"lr": 1e-2, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10,
                  "foreach": None}
    torch_kwonly = {"maximize": False, "differentiable": False, "fused": None}
    torch_slot_names = ("sum",)

    def check_keras(self, op):
        self.initial_accumulator_value = check_number(op, "initial_accumulator_value",
                                                      self.initial_accumulator_value)
        self.epsilon = check_number(op, "epsilon", self.epsilon)

    def check_torch(self, op, group):
        for k in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            group[k] = check_number(op, k, group[k])

    def keras_slots(self):
        return ("accumulator",)

    def torch_slots(self, group):
        return ("sum",)

    def _new_state(self, p, group):
        state = super()._new_state(p, group)
        name, value = (("accumulator", self.initial_accumulator_value) if self.api == "keras" else
                       ("sum", group["initial_accumulator_value"]))
        state[name] = get_array_module(p.data).full(p.shape, value, dtype=p.dtype)
        return state

    def keras_update(self, p, g, s, lr):
        xp, T = get_array_module(p), p.dtype.type
        acc = s["accumulator"]
        acc += g * g
        p -= g * T(lr) / xp.sqrt(acc + T(self.epsilon))

    def torch_update(self, p, g, s, group):
        clr = group["lr"] / (1.0 + (s["step"] - 1.0) * group["lr_decay"])
        kernel("adagrad_update")(p, g, s["sum"], clr, eps=group["eps"], weight_decay=group["weight_decay"])
