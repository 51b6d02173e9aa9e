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
"""
from __future__ import annotations

import math

import numpy as np

from .. import kernels as K
from .. import schedules
from ..tensor import Tensor, _move, get_array_module

# Keras's base-optimizer arguments every Keras-style optimizer takes (after its own)
KERAS_COMMON = {"weight_decay": None, "clipnorm": None, "clipvalue": None, "global_clipnorm": None, "name": None}
# PyTorch's execution hints: dlcore's updates are one pass per parameter whatever they say, and the
# results are the same as torch.optim's for every setting (torch promises the same)
TORCH_HINTS = ("foreach", "fused")
# PyTorch's arguments dlcore cannot honour: accepted only at their default (False)
TORCH_UNSUPPORTED = ("capturable", "differentiable")


def kernel(name):
    f = getattr(K, name, None)
    if f is None:
        raise NotImplementedError(f"dlcore.kernels.{name} is not available in this build of dlcore")
    return f


def _is_params(obj):
    """True when `obj` looks like PyTorch's first argument (parameters), not a learning rate."""
    if obj is None or isinstance(obj, (int, float, schedules.LearningRateSchedule)) or callable(obj):
        return False
    return not isinstance(obj, (str, bytes))


def check_number(op, name, value, lo=0.0, hi=None, hi_open=False, lo_open=False):
    """`value` as a float, or a ValueError naming the optimizer, the argument and the range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__} {value!r}")
    v = float(value)
    bad = not math.isfinite(v) or (lo is not None and (v <= lo if lo_open else v < lo)) or \
        (hi is not None and (v >= hi if hi_open else v > hi))
    if bad:
        rng = f"{'(' if lo_open else '['}{lo}, {hi if hi is not None else 'inf'}{')' if hi_open or hi is None else ']'}"
        raise ValueError(f"{op}: {name} must be a finite number in {rng}, got {value!r}")
    return v


def check_betas(op, betas, names=("betas[0]", "betas[1]")):
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{op}: betas must be a pair (beta1, beta2), got {betas!r}")
    return tuple(check_number(op, n, b, 0.0, 1.0, hi_open=True) for n, b in zip(names, betas))


class Optimizer:
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

    # ---- arguments -------------------------------------------------------------------------------
    def _parse(self, op, args, kwargs):
        """('keras' | 'torch', params or None, {argument: value}) from the constructor's arguments.

        The hyperparameters' names choose the style: PyTorch's (`lr`, `betas`, `eps`, ...) give
        torch.optim's formulas, Keras's (`learning_rate`, `beta_1`, `epsilon`, ...) Keras's. The
        parameters themselves (first, or `params=`) may come with either; given with neither kind
        of name, they mean PyTorch's style (`Adam(model.parameters())`).
        """
        keras_names = set(self.keras_args) | set(KERAS_COMMON)
        torch_names = set(self.torch_args) | set(self.torch_kwonly)
        only_torch = sorted(k for k in kwargs if k in torch_names - keras_names)
        only_keras = sorted(k for k in kwargs if k in keras_names - torch_names)
        if only_torch and only_keras:
            raise TypeError(f"{op}: {', '.join(only_keras)} {'is' if len(only_keras) == 1 else 'are'} Keras's "
                            f"argument name(s) but {', '.join(only_torch)} PyTorch's; build the optimizer in one "
                            f"style, e.g. {op}(model.parameters(), lr=...) (PyTorch's formulas) or "
                            f"{op}(learning_rate=...) (Keras's formulas)")
        params_first = bool(args) and _is_params(args[0])
        if params_first and "params" in kwargs:
            raise TypeError(f"{op}: got params twice (positionally and as params=)")
        params = args[0] if params_first else kwargs.pop("params", None)
        rest = args[1:] if params_first else args
        if only_torch or (params is not None and not only_keras):
            return "torch", params, self._bind(op, rest, kwargs, self.torch_args, self.torch_kwonly, "PyTorch")
        return "keras", params, self._bind(op, rest, kwargs, self.keras_args, KERAS_COMMON, "Keras")

    @staticmethod
    def _bind(op, args, kwargs, positional, keyword, style):
        if len(args) > len(positional):
            raise TypeError(f"{op}: takes at most {len(positional)} positional argument(s) in {style}'s style "
                            f"({', '.join(positional)}), got {len(args)}")
        values = {**keyword, **positional}  # a subclass's own default wins (AdamW's weight_decay)
        for name, v in zip(positional, args):
            values[name] = v
        for name, v in kwargs.items():
            if name not in values:
                raise TypeError(f"{op}: unexpected keyword argument {name!r} for {style}'s style; it takes "
                                f"{', '.join(list(positional) + list(keyword))}")
            if name in positional and list(positional).index(name) < len(args):
                raise TypeError(f"{op}: got multiple values for argument {name!r}")
            values[name] = v
        return values

    def _init_keras(self, op, hp):
        lr = hp.pop("learning_rate")
        self._learning_rate = self._check_lr(op, lr, keras=True)
        wd = hp.pop("weight_decay")
        self.weight_decay = 0.0 if wd is None else check_number(op, "weight_decay", wd)
        clips = {k: hp.pop(k) for k in ("clipnorm", "clipvalue", "global_clipnorm")}
        if sum(v is not None for v in clips.values()) > 1:
            raise ValueError(f"{op}: use only one of clipnorm, clipvalue and global_clipnorm, got "
                             f"{ {k: v for k, v in clips.items() if v is not None} }")
        for k, v in clips.items():
            setattr(self, k, None if v is None else check_number(op, k, v, 0.0, lo_open=True))
        name = hp.pop("name")
        self.name = name if name is not None else op.lower()
        for k, v in hp.items():
            setattr(self, k, v)
        self.check_keras(op)
        self.param_groups = [{"params": []}]

    def _init_torch(self, op, hp):
        for k in TORCH_UNSUPPORTED:
            if hp.get(k):
                raise ValueError(f"{op}: {k}=True is not supported by dlcore (its updates are not recorded by "
                                 f"autograd and need no CUDA-graph capture)")
        hp["lr"] = self._check_lr(op, hp["lr"], keras=False)
        self.name = op.lower()
        self.defaults = hp
        self.check_torch(op, hp)

    @staticmethod
    def _check_lr(op, lr, keras):
        if keras and (isinstance(lr, schedules.LearningRateSchedule) or callable(lr)):
            return lr
        if not keras and (isinstance(lr, schedules.LearningRateSchedule) or callable(lr)):
            raise TypeError(f"{op}: lr must be a number in PyTorch's style (drive it with dl.optim.lr_scheduler); "
                            f"a learning-rate schedule is Keras's learning_rate=")
        return check_number(op, "learning_rate" if keras else "lr", lr)

    def check_keras(self, op):
        """Validate the Keras-style hyperparameters (attributes); subclasses extend."""

    def check_torch(self, op, group):
        """Validate one PyTorch-style group's hyperparameters; subclasses extend."""

    # ---- parameters ------------------------------------------------------------------------------
    def build(self, params):
        """Take the parameters to optimize (Keras's build(var_list)); parameters already held are kept."""
        params = list(params)
        if params and isinstance(params[0], dict):
            for group in params:
                self.add_param_group(group)
            return self
        new = [p for p in self._as_params(params, type(self).__name__) if id(p) not in self._index]
        if self.api == "keras":
            self._register(self.param_groups[0], new)
        elif new:
            self.add_param_group({"params": new})
        self.built = True
        return self

    def _add_params(self, params, op):
        if isinstance(params, Tensor):
            raise TypeError(f"{op}: params must be an iterable of parameters or of dicts (param groups), got a "
                            f"single Tensor; pass [tensor] or model.parameters()")
        params = list(params)
        if not params:
            raise ValueError(f"{op}: got an empty parameter list (the model has no weights yet? build it first, e.g. "
                             f"by calling it once or giving its first layer input_shape=)")
        if self.api == "keras":  # Adam(model.parameters(), learning_rate=...): Keras's formulas, bound now
            self.build(params)
        elif isinstance(params[0], dict):
            for group in params:
                self.add_param_group(group)
        else:
            self.add_param_group({"params": params})

    @staticmethod
    def _as_params(params, op):
        out = []
        for i, p in enumerate(params):
            if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):  # named_parameters()
                p = p[1]
            if not isinstance(p, Tensor):
                raise TypeError(f"{op}: parameter {i} is a {type(p).__name__}, expected a dl.Parameter "
                                f"(pass model.parameters())")
            out.append(p)
        return out

    def add_param_group(self, param_group):
        """PyTorch's add_param_group: a dict with "params" and any hyperparameters to override."""
        op = type(self).__name__
        if self.api == "keras":
            raise TypeError(f"{op}: param groups belong to PyTorch's style; this optimizer was built with Keras's "
                            f"arguments (give the parameters first, e.g. {op}(model.parameters(), lr=...))")
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{op}: a param group is a dict with a 'params' entry, got {param_group!r:.80}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        params = self._as_params(params, op)
        if any(id(p) in self._index for p in params) or len({id(p) for p in params}) != len(params):
            raise ValueError(f"{op}: some parameters appear in more than one parameter group")
        group = {**self.defaults, **{k: v for k, v in param_group.items() if k != "params"}}
        group["lr"] = self._check_lr(op, group["lr"], keras=False)
        self.check_torch(op, group)
        group["params"] = []
        self.param_groups.append(group)
        self._register(group, params)
        self.built = True

    def _register(self, group, params):
        for p in params:
            if not p.data.flags.c_contiguous:  # the update kernels write parameters in place
                p.data = get_array_module(p.data).ascontiguousarray(p.data)
            self._index[id(p)] = len(self.params)
            self.params.append(p)
            self.state.append(self._new_state(p, group))
            group["params"].append(p)
        if self.api == "keras":
            self.built = True

    def _new_state(self, p, group):
        xp = get_array_module(p.data)
        if self.api == "keras":
            return {s: xp.zeros(p.shape, dtype=p.dtype) for s in self.keras_slots()}
        state = {"step": 0.0} if self.torch_step else {}
        state.update({s: xp.zeros(p.shape, dtype=p.dtype) for s in self.torch_slots(group)})
        return state

    def _slots(self, i, group):
        """The state of parameter i, with any slot its group's current settings need (a group's
        amsgrad / momentum / centered may be switched on after the first step), on the parameter's
        device and in its dtype: model.to(device, dtype) after the state was created moves and casts
        the parameters, and their state follows them."""
        s = self.state[i]
        p = self.params[i]
        xp = get_array_module(p.data)
        names = self.keras_slots() if self.api == "keras" else self.torch_slots(group)
        for n in names:
            if n not in s:
                s[n] = xp.zeros(p.shape, dtype=p.dtype)
        for n, v in s.items():
            is_array = isinstance(v, np.ndarray) or hasattr(v, "__cuda_array_interface__")
            if is_array and (v.dtype != p.dtype or get_array_module(v) is not xp):
                s[n] = xp.ascontiguousarray(_move(v, p.device), dtype=p.dtype)
        return s

    def keras_slots(self):
        return ()

    def torch_slots(self, group):
        return ()

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

    # ---- state -----------------------------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state: Keras style {"iterations", "config", "state": [...]}, PyTorch style
        torch's layout {"state": {index: {...}}, "param_groups": [...]} plus "iterations"."""
        if self.api == "keras":
            return {"iterations": self.iterations, "config": self.get_config(),
                    "state": [dict(s) for s in self.state]}
        groups = []
        for g in self.param_groups:
            entry = {k: v for k, v in g.items() if k != "params"}
            entry["params"] = [self._index[id(p)] for p in g["params"]]
            groups.append(entry)
        return {"state": {i: dict(s) for i, s in enumerate(self.state)}, "param_groups": groups,
                "iterations": self.iterations}

    def load_state_dict(self, state):
        """Restore the state after checking parameter counts, slot names and shapes (nothing is
        changed when a check fails)."""
        op = type(self).__name__
        if not isinstance(state, dict):
            raise TypeError(f"{op}: load_state_dict expects a dict (from state_dict()), got {type(state).__name__}")
        torch_layout = "param_groups" in state
        if torch_layout != (self.api == "torch"):
            raise ValueError(f"{op}: load_state_dict: the state comes from a {'PyTorch' if torch_layout else 'Keras'}-"
                             f"style optimizer, this one was built in {'PyTorch' if self.api == 'torch' else 'Keras'}'s "
                             f"style (their formulas and state differ)")
        if torch_layout:
            self._load_torch(op, state)
        else:
            self._load_keras(op, state.get("state", []))
        self.iterations = int(state.get("iterations", 0))
        self.after_load()

    def _check_entry(self, op, i, name, value, scalar):
        if scalar:
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise ValueError(f"{op}: load_state_dict: '{name}' of parameter {i} must be a number, got "
                                 f"{type(value).__name__}")
        elif tuple(np.shape(value)) != tuple(self.params[i].shape):
            raise ValueError(f"{op}: load_state_dict: slot '{name}' of parameter {i} has shape "
                             f"{tuple(np.shape(value))}, expected {tuple(self.params[i].shape)}")

    def _load_keras(self, op, slots):
        """The Keras layout: the same slots as this optimizer's, copied in place (legacy names converted)."""
        if not isinstance(slots, (list, tuple)) or len(slots) != len(self.params):
            n = len(slots) if isinstance(slots, (list, tuple)) else "no"
            raise ValueError(f"{op}: load_state_dict: the state has {n} parameter(s), the optimizer has "
                             f"{len(self.params)} (build it with the same parameters first)")
        lr = self.learning_rate
        converted = []
        for i, (mine, theirs) in enumerate(zip(self.state, slots)):
            theirs = dict(theirs)
            for old, (new, convert) in self.legacy_slots.items():
                if old in theirs and new not in theirs:
                    theirs[new] = convert(np.asarray(theirs.pop(old)), lr)
            if set(theirs) != set(mine):
                raise ValueError(f"{op}: load_state_dict: parameter {i} has slots {sorted(theirs)}, expected "
                                 f"{sorted(mine)}")
            for k, v in theirs.items():
                self._check_entry(op, i, k, v, scalar=False)
            converted.append(theirs)
        for mine, theirs in zip(self.state, converted):
            for k, v in theirs.items():
                mine[k][...] = np.asarray(v) if isinstance(mine[k], np.ndarray) else v

    def _load_torch(self, op, state):
        """torch's layout: per-parameter entries by index (a parameter without one starts afresh, as
        in torch), the groups' hyperparameters restored."""
        groups = state["param_groups"]
        sizes, mine_sizes = [len(g["params"]) for g in groups], [len(g["params"]) for g in self.param_groups]
        if sizes != mine_sizes:
            raise ValueError(f"{op}: load_state_dict: the state has {len(groups)} param group(s) of sizes {sizes}, "
                             f"the optimizer {mine_sizes} (build it with the same parameters first)")
        saved = state.get("state", {})
        scalars = {"step", *self.torch_scalars}
        allowed = set(self.torch_slot_names) | scalars
        fresh = []
        for group, theirs_group in zip(self.param_groups, groups):
            for p, j in zip(group["params"], theirs_group["params"]):
                i = self._index[id(p)]
                entry = saved.get(j, saved.get(str(j)))
                new = self._new_state(p, group)
                if entry is not None:
                    unknown = sorted(set(entry) - allowed)
                    if unknown:
                        raise ValueError(f"{op}: load_state_dict: parameter {i} has unknown slot(s) {unknown}; "
                                         f"expected some of {sorted(allowed)}")
                    for k, v in entry.items():
                        self._check_entry(op, i, k, v, scalar=k in scalars)
                        new[k] = float(v) if k in scalars else \
                            get_array_module(p.data).asarray(v, dtype=p.dtype).copy()
                fresh.append((i, new))
        for i, new in fresh:
            self.state[i] = new
        for mine, theirs in zip(self.param_groups, groups):
            mine.update({k: (tuple(v) if k == "betas" else v) for k, v in theirs.items() if k != "params"})

    def after_load(self):
        """Called after load_state_dict (recompute what derives from the step count)."""

    def get_config(self):
        """Keras style: Keras's argument names (a schedule serialized); PyTorch style: PyTorch's."""
        if self.api == "torch":
            return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.defaults.items()}
        lr = self._learning_rate
        lr = schedules.serialize(lr) if isinstance(lr, schedules.LearningRateSchedule) else lr
        config = {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                  "clipnorm": self.clipnorm, "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm}
        config.update({k: getattr(self, k) for k in self.keras_args if k != "learning_rate"})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            config["learning_rate"] = schedules.deserialize(lr)
        if isinstance(config.get("betas"), list):
            config["betas"] = tuple(config["betas"])
        return cls(**config)

    def __repr__(self):
        if self.api == "torch":
            return (f"{type(self).__name__}(api='torch', lr={self.learning_rate!r}, groups={len(self.param_groups)}, "
                    f"params={len(self.params)})")
        return f"{type(self).__name__}(learning_rate={self._learning_rate!r}, params={len(self.params)})"
