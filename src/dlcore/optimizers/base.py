"""The optimizer base class: two ways to build one, each with its own formulas.

Built with Keras's arguments, an optimizer follows Keras's update formulas and defaults; built with
PyTorch's, it follows torch.optim's:

    opt = dl.optimizers.Adam(learning_rate=1e-3, beta_1=0.9)        # Keras: the parameters come
    model.compile(optimizer=opt, loss="mse")                         # later (compile, build,
    opt.apply_gradients(zip(grads, params))                          # apply_gradients)

    opt = dl.optimizers.Adam(model.parameters(), lr=2e-4, betas=(0.5, 0.999))   # PyTorch
    opt.zero_grad(); loss.backward(); opt.step()

The names of the hyperparameters choose the style: an argument only PyTorch has (`lr`, `betas`,
`eps`, `alpha`, `maximize`, ...) means PyTorch's, one only Keras has (`learning_rate`, `beta_1`,
`epsilon`, `clipnorm`, `global_clipnorm`, ...) Keras's, and naming both is a TypeError (it would be
unclear which formulas were meant). The parameters (first, or `params=`) may come with either
(`Adam(model.parameters(), learning_rate=1e-3)` is Keras's Adam on those parameters); with no
hyperparameter named, they mean PyTorch's style. `opt.api` says which style an optimizer has
("keras" or "torch").

Keras style: one learning rate (a float, a `dl.optimizers.schedules` schedule evaluated at
`iterations`, or a callable with no arguments), `weight_decay` decoupled as in Keras
(p -= lr * wd * p before the step), clipping with `clipnorm` / `clipvalue` / `global_clipnorm`.
PyTorch style: `param_groups` (each a dict with "params" and its own hyperparameters, `lr` driven
by `dl.optim.lr_scheduler`), `weight_decay` as torch.optim defines it per optimizer, `maximize`,
one step count per parameter (state["step"]), and torch's `state_dict` layout. `docs/` lists where
the two styles' formulas differ.

state_dict: Keras style {"iterations", "config", "state": [{slot: array} per parameter]};
PyTorch style {"state": {index: {"step", slot: array}}, "param_groups": [{hyperparameters,
"params": [indices]}], "iterations"}. load_state_dict checks counts, slot names and shapes first,
then copies in place.

Where the rest is: the constructor's arguments (the two styles told apart, `check_number`) in
optimizers/arguments.py, `build` / `add_param_group` and the state slots in optimizers/param_groups.py,
`state_dict` / `load_state_dict` / `get_config` / `from_config` in optimizers/serialization.py: base
classes of `Optimizer`, which keeps the constructor, the learning rate and the updates.
"""
from __future__ import annotations

import numpy as np

from .. import kernels as K
from .. import schedules
from ..tensor import Tensor, get_array_module
from .arguments import ArgumentsMixin
from .param_groups import ParamGroupsMixin
from .serialization import SerializationMixin

# the argument checks every optimizer uses, defined with the argument parsing; imported from here
from .arguments import KERAS_COMMON, TORCH_HINTS, TORCH_UNSUPPORTED, check_betas, check_number  # noqa: F401


def kernel(name):
    f = getattr(K, name, None)
    if f is None:
        raise NotImplementedError(f"dlcore.kernels.{name} is not available in this build of dlcore")
    return f


class Optimizer(ArgumentsMixin, ParamGroupsMixin, SerializationMixin):
    """Base class of dlcore's optimizers (Keras's `keras.optimizers.Optimizer` and PyTorch's
    `torch.optim.Optimizer` in one).

    Subclasses declare their arguments in both styles, in each API's positional order:
    `keras_args` (starting with learning_rate), `torch_args` (after params) and `torch_kwonly`;
    the slots of their state (`keras_slots()` / `torch_slots(group)`); and the two update rules,
    `keras_update(p, g, state, lr)` and `torch_update(p, g, state, group)`, each working on arrays
    in place with the hyperparameters of its own API.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    w = dl.Parameter(np.ones(3, np.float32))
    keras_style = dl.optimizers.RMSprop(learning_rate=0.01)      # Keras's formulas and defaults
    torch_style = dl.optimizers.RMSprop([w], lr=0.01)            # PyTorch's
    print(keras_style.api, keras_style.rho, torch_style.api, torch_style.param_groups[0]["alpha"])
    # keras 0.9 torch 0.99
    ```
    """

    keras_args: dict = {"learning_rate": 0.001}
    torch_args: dict = {"lr": 1e-3, "weight_decay": 0.0}
    torch_kwonly: dict = {}
    # Keras-style updates that apply the decoupled weight decay themselves (in a fused kernel)
    keras_fused_weight_decay = False
    # slots of files written before the two styles were told apart: old name -> (new name, convert)
    legacy_slots: dict = {}
    # PyTorch style: every array slot the state may hold, the scalar entries besides "step", and
    # whether a step count is kept per parameter (torch's SGD keeps none)
    torch_slot_names: tuple = ()
    torch_scalars: tuple = ()
    torch_step = True

    def __init__(self, *args, **kwargs):
        op = type(self).__name__
        self.api, params, hp = self._parse(op, args, kwargs)
        self.iterations = 0
        self.params = []
        self.state = []
        self.param_groups = []
        self._index = {}
        self.built = False
        if self.api == "keras":
            self._init_keras(op, hp)
        else:
            self._init_torch(op, hp)
        if params is not None:
            self._add_params(params, op)

    # ---- learning rate ---------------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The learning rate of the next update: a schedule is evaluated at `iterations`; in
        PyTorch's style, the first param group's lr."""
        if self.api == "torch":
            return self.param_groups[0]["lr"] if self.param_groups else self.defaults["lr"]
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            return float(lr(self.iterations))
        return float(lr()) if callable(lr) else lr

    @learning_rate.setter
    def learning_rate(self, value):
        op = type(self).__name__
        if self.api == "torch":
            value = self._check_lr(op, value, keras=False)
            self.defaults["lr"] = value
            for g in self.param_groups:
                g["lr"] = value
        else:
            self._learning_rate = self._check_lr(op, value, keras=True)

    lr = learning_rate

    # ---- updates ---------------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Drop the gradients (PyTorch); set_to_none=False zeroes them in place instead."""
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient (PyTorch style); returns closure() if given."""
        loss = closure() if closure is not None else None
        if not self.built:
            raise RuntimeError(f"{type(self).__name__}: no parameters; create it with model.parameters() or call "
                               f"build(params) / apply_gradients(grads_and_vars)")
        self._apply([(i, p.grad) for i, p in enumerate(self.params) if p.grad is not None])
        return loss

    def apply_gradients(self, grads_and_vars):
        """Keras style: apply [(gradient, parameter), ...]; unknown parameters are built on the way."""
        grads_and_vars = [(g, v) for g, v in grads_and_vars if g is not None]
        self.build([v for _, v in grads_and_vars])
        self._apply([(self._index[id(v)], g) for g, v in grads_and_vars])
        return self.iterations

    def apply(self, grads, trainable_variables=None):
        """Keras 3's apply(grads, trainable_variables): gradients in the order of the variables (or of
        the parameters the optimizer holds when trainable_variables is None)."""
        grads = list(grads)
        if trainable_variables is None:
            if not self.built:
                raise ValueError(f"{type(self).__name__}: apply(grads) without variables needs a built optimizer; "
                                 f"call build(params) first")
            if len(grads) != len(self.params):
                raise ValueError(f"{type(self).__name__}: apply got {len(grads)} gradient(s) for "
                                 f"{len(self.params)} parameter(s)")
            trainable_variables = self.params
        return self.apply_gradients(zip(grads, trainable_variables))

    def _apply(self, pairs):
        if not pairs:
            return
        op = type(self).__name__
        arrays = []
        for i, g in pairs:
            p = self.params[i]
            g = g.data if isinstance(g, Tensor) else g
            if tuple(g.shape) != tuple(p.shape):
                raise ValueError(f"{op}: gradient of shape {tuple(g.shape)} for parameter "
                                 f"{getattr(p, 'name', None) or i!r} of shape {tuple(p.shape)}")
            # (ascontiguousarray makes a 0-d gradient 1-d: the reshape keeps a scalar weight's shape)
            arrays.append(get_array_module(p.data).ascontiguousarray(g, dtype=p.dtype).reshape(p.shape))
        if self.api == "keras":
            self._apply_keras([i for i, _ in pairs], arrays)
        else:
            self._apply_torch(dict(zip((i for i, _ in pairs), arrays)))

    def _apply_keras(self, indices, grads):
        grads = self._clip(grads)
        lr = self.learning_rate  # evaluated at the step count before this update, as Keras does
        self.iterations += 1
        self.before_keras_step()
        wd = self.weight_decay if not self.keras_fused_weight_decay else 0.0
        group = self.param_groups[0]
        for i, g in zip(indices, grads):
            p = self.params[i]
            if wd:  # Keras: variable -= variable * wd * lr, before the update
                p.data -= p.data * p.data.dtype.type(wd * lr)
            self.keras_update(p.data, g, self._slots(i, group), lr)
            if getattr(p, "constraint", None) is not None:
                p.data[...] = p.constraint(p.data)

    def _apply_torch(self, grads):
        self.iterations += 1
        for group in self.param_groups:
            for p in group["params"]:
                i = self._index[id(p)]
                g = grads.get(i)
                if g is None:
                    continue
                s = self._slots(i, group)
                if self.torch_step:
                    s["step"] += 1.0
                if group.get("maximize"):
                    g = -g
                self.torch_update(p.data, g, s, group)
                if getattr(p, "constraint", None) is not None:
                    p.data[...] = p.constraint(p.data)

    def before_keras_step(self):
        """Called once per Keras-style update, after `iterations` counts it (Nadam's momentum product)."""

    def _clip(self, grads):
        """Clipped copies of the gradients (never in place: a gradient array may be shared)."""
        if self.clipvalue is not None:
            c = self.clipvalue
            return [get_array_module(g).clip(g, -c, c) for g in grads]
        if self.clipnorm is not None:
            out = []
            for g in grads:
                n = float(get_array_module(g).sqrt((g.astype(np.float64) ** 2).sum()))
                out.append(g * g.dtype.type(self.clipnorm / n) if n > self.clipnorm else g)
            return out
        if self.global_clipnorm is not None:
            norm = kernel("global_norm")(grads)
            if norm > self.global_clipnorm:
                return [g * g.dtype.type(self.global_clipnorm / norm) for g in grads]
        return grads

    def keras_update(self, param, grad, state, lr):  # pragma: no cover - interface
        raise NotImplementedError

    def torch_update(self, param, grad, state, group):  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self):
        if self.api == "torch":
            return (f"{type(self).__name__}(api='torch', lr={self.learning_rate!r}, groups={len(self.param_groups)}, "
                    f"params={len(self.params)})")
        return f"{type(self).__name__}(learning_rate={self._learning_rate!r}, params={len(self.params)})"
