"""Optimizers: SGD, Adagrad, RMSprop, Adam, AdamW -- Keras arguments and PyTorch's.

Both styles work:

    opt = dl.optimizers.Adam(learning_rate=1e-3, beta_1=0.9)            # Keras: params come later,
    opt.apply_gradients(zip(grads, params))                               # via build()/apply_gradients
    opt = dl.optimizers.Adam(model.parameters(), lr=2e-4, betas=(0.5, 0.999))   # PyTorch
    opt.zero_grad(); loss.backward(); opt.step()

Every update is one fused kernel call per parameter (`dlcore.kernels.adam_update` etc.: parameter,
gradient and state in one pass, PyTorch's formulas). `weight_decay` is PyTorch's: an L2 term added
to the gradient for SGD/Adagrad/RMSprop/Adam, decoupled (param *= 1 - lr*wd) for AdamW. Gradient
clipping (Keras): `clipvalue` (elementwise), `clipnorm` (per parameter), `global_clipnorm` (over all).
`learning_rate` may be a float or a schedule from `dlcore.schedules` (called with the step count).

state_dict contract: {"iterations": int, "config": get_config(), "state": [ {slot name: array}
per parameter, in parameter order ]}; load_state_dict checks the parameter count and every shape.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import kernels as K
from . import schedules
from .tensor import Tensor, _move, get_array_module


def _kernel(name):
    f = getattr(K, name, None)
    if f is None:
        raise NotImplementedError(f"dlcore.kernels.{name} is not available in this build of dlcore")
    return f


def _number(where, name, value, low=0.0, high=math.inf, low_open=False, high_open=False, optional=False):
    """`value` as a float in the range, or a TypeError / ValueError naming the optimizer and argument.

    An argument that is accepted must do what it says: a negative clipvalue or a NaN learning rate
    would be taken silently and move every parameter the wrong way.
    """
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: '{name}' must be a number, got {type(value).__name__} ({value!r:.60})")
    v = float(value)
    if not (math.isfinite(v) and (v > low if low_open else v >= low) and (v < high if high_open else v <= high)):
        lo, hi = ("(" if low_open else "[") + f"{low:g}", f"{high:g}" + (")" if high_open else "]")
        raise ValueError(f"{where}: '{name}' must be a finite number in {lo}, {hi}, got {value!r}")
    return v


def _is_params(obj):
    """True when `obj` looks like PyTorch's first argument (parameters), not a learning rate."""
    if obj is None or isinstance(obj, (int, float, schedules.LearningRateSchedule)) or callable(obj):
        return False
    return True


class Optimizer:
    """Base class. Subclasses define `slots` (state arrays per parameter) and `_update(p, g, state, lr)`."""

    slots: tuple = ()
    kernel_name = ""

    def __init__(self, params=None, learning_rate=0.001, *, lr=None, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name=None, **unknown):
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(unknown)}")
        if params is not None and not _is_params(params):  # Keras positional learning_rate
            params, learning_rate = None, params
        if lr is not None:
            learning_rate = lr
        where = type(self).__name__
        if not isinstance(learning_rate, schedules.LearningRateSchedule) and not callable(learning_rate):
            if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real):
                raise ValueError(f"{where}: learning_rate must be a non-negative number or a schedule, "
                                 f"got {learning_rate!r}")
            learning_rate = _number(where, "learning_rate", learning_rate)
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(f"{where}: use only one of clipnorm, clipvalue and global_clipnorm")
        self._learning_rate = learning_rate
        self.weight_decay = _number(where, "weight_decay", weight_decay or 0.0)
        self.clipnorm, self.clipvalue, self.global_clipnorm = (
            _number(where, n, v, low_open=True, optional=True)
            for n, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm)))
        self.name = name or type(self).__name__.lower()
        self.iterations = 0
        self.params = []
        self.state = []
        self.built = False
        if params is not None:
            self.build(params)

    # ---- parameters ------------------------------------------------------------------------------
    def build(self, params):
        """Take the parameters to optimize and create their state (zeros), once."""
        params = list(params)
        if params and isinstance(params[0], dict):  # PyTorch param groups: flatten (one set of options)
            params = [p for group in params for p in group["params"]]
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameter {i} is a {type(p).__name__}, expected a "
                                f"dl.Parameter (pass model.parameters())")
        known = {id(p) for p in self.params}
        for p in params:
            if not p.data.flags.c_contiguous:  # the update kernels write parameters in place
                p.data = get_array_module(p.data).ascontiguousarray(p.data)
            if id(p) not in known:
                known.add(id(p))
                self.params.append(p)
                self.state.append(self._init_state(p))
        self.built = True
        return self

    def _init_state(self, p):
        xp = get_array_module(p.data)
        return {s: xp.zeros(p.shape, dtype=p.dtype) for s in self.slots}

    # ---- learning rate ---------------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The learning rate of the next update (a schedule is evaluated at `iterations`)."""
        lr = self._learning_rate
        return float(lr(self.iterations)) if callable(lr) else lr

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = value

    @property
    def lr(self):
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        self._learning_rate = value

    # ---- updates ---------------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        for p in self.params:
            p.grad = None

    def step(self, closure=None):
        """Update every parameter that has a gradient (PyTorch style)."""
        loss = closure() if closure is not None else None
        if not self.built:
            raise RuntimeError(f"{type(self).__name__}: no parameters; create it with model.parameters() or call "
                               f"build(params) / apply_gradients(grads_and_vars)")
        pairs = [(i, p.grad) for i, p in enumerate(self.params) if p.grad is not None]
        self._apply(pairs)
        return loss

    def apply_gradients(self, grads_and_vars):
        """Keras style: apply [(gradient, parameter), ...]; unknown parameters are built on the way."""
        grads_and_vars = [(g, v) for g, v in grads_and_vars if g is not None]
        self.build([v for _, v in grads_and_vars])
        index = {id(p): i for i, p in enumerate(self.params)}
        pairs = [(index[id(v)], g.data if isinstance(g, Tensor) else g) for g, v in grads_and_vars]
        self._apply(pairs)
        return self.iterations

    def _apply(self, pairs):
        if not pairs:
            return
        grads = []
        for i, g in pairs:
            p = self.params[i]
            if g.shape != p.shape:
                raise ValueError(f"{type(self).__name__}: gradient of shape {g.shape} for parameter "
                                 f"{getattr(p, 'name', i)!r} of shape {p.shape}")
            grads.append(g)
        grads = self._clip(grads)
        lr = self.learning_rate
        self.iterations += 1
        for (i, _), g in zip(pairs, grads):
            p = self.params[i]
            xp = get_array_module(p.data)
            g = xp.ascontiguousarray(g, dtype=p.dtype)
            self._update(p.data, g, self._state_of(i), lr)
            if getattr(p, "constraint", None) is not None:
                p.data[...] = p.constraint(p.data)

    def _state_of(self, i):
        """The state of parameter i, on the parameter's device and in its dtype: model.to(device, dtype)
        after the state was created moves and casts the parameters, and their state follows them."""
        p, state = self.params[i], self.state[i]
        xp = get_array_module(p.data)
        for k, s in state.items():
            if s.dtype != p.dtype or get_array_module(s) is not xp:
                state[k] = xp.ascontiguousarray(_move(s, p.device), dtype=p.dtype)
        return state

    def _clip(self, grads):
        """Clipped copies of the gradients (never in place: a gradient array may be shared)."""
        if self.clipvalue is not None:
            c = float(self.clipvalue)
            return [get_array_module(g).clip(g, -c, c) for g in grads]
        if self.clipnorm is not None:
            out = []
            for g in grads:
                n = float(get_array_module(g).sqrt((g.astype(np.float64) ** 2).sum()))
                out.append(g * (self.clipnorm / n) if n > self.clipnorm else g)
            return out
        if self.global_clipnorm is not None:
            norm = _kernel("global_norm")([get_array_module(g).ascontiguousarray(g) for g in grads])
            if norm > self.global_clipnorm:
                scale = self.global_clipnorm / norm
                return [g * g.dtype.type(scale) for g in grads]
        return grads

    def _update(self, param, grad, state, lr):  # pragma: no cover - interface
        raise NotImplementedError

    # ---- state -----------------------------------------------------------------------------------
    def state_dict(self):
        return {"iterations": self.iterations, "config": self.get_config(),
                "state": [{k: v for k, v in s.items()} for s in self.state]}

    def load_state_dict(self, state):
        """Restore iterations and slot arrays (in place) after checking count and shapes."""
        slots = state.get("state", [])
        if len(slots) != len(self.params):
            raise ValueError(f"{type(self).__name__}: load_state_dict: the state has {len(slots)} parameter(s), the "
                             f"optimizer has {len(self.params)} (build it with the same parameters first)")
        for i, (mine, theirs) in enumerate(zip(self.state, slots)):
            if set(mine) != set(theirs):
                raise ValueError(f"{type(self).__name__}: load_state_dict: parameter {i} has slots {sorted(theirs)}, "
                                 f"expected {sorted(mine)}")
            for k, v in theirs.items():
                if tuple(np.shape(v)) != tuple(mine[k].shape):
                    raise ValueError(f"{type(self).__name__}: load_state_dict: slot '{k}' of parameter {i} has shape "
                                     f"{tuple(np.shape(v))}, expected {tuple(mine[k].shape)}")
        for mine, theirs in zip(self.state, slots):
            for k, v in theirs.items():
                mine[k][...] = np.asarray(v) if isinstance(mine[k], np.ndarray) else v
        self.iterations = int(state.get("iterations", 0))

    def get_config(self):
        lr = self._learning_rate
        lr = schedules.serialize(lr) if isinstance(lr, schedules.LearningRateSchedule) else lr
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            config["learning_rate"] = schedules.deserialize(lr)
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(learning_rate={self._learning_rate!r}, params={len(self.params)})"


class SGD(Optimizer):
    """v = momentum * v + g;  p -= lr * (g + momentum * v if nesterov else v)  (plain SGD when momentum=0)."""

    def __init__(self, params=None, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        momentum = _number("SGD", "momentum", momentum)
        if nesterov and momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        self.momentum, self.nesterov = momentum, bool(nesterov)
        self.slots = ("velocity",) if self.momentum else ()
        super().__init__(params, learning_rate, **kwargs)

    def _update(self, param, grad, state, lr):
        _kernel("sgd_update")(param, grad, lr, momentum=self.momentum, velocity=state.get("velocity"),
                              nesterov=self.nesterov, weight_decay=self.weight_decay)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adagrad(Optimizer):
    """accum += g^2;  p -= lr * g / (sqrt(accum) + eps)."""

    def __init__(self, params=None, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, *, eps=None,
                 **kwargs):
        self.initial_accumulator_value = _number("Adagrad", "initial_accumulator_value", initial_accumulator_value)
        self.epsilon = _number("Adagrad", "epsilon", eps if eps is not None else epsilon)
        self.slots = ("accumulator",)
        super().__init__(params, learning_rate, **kwargs)

    def _init_state(self, p):
        xp = get_array_module(p.data)
        return {"accumulator": xp.full(p.shape, self.initial_accumulator_value, dtype=p.dtype)}

    def _update(self, param, grad, state, lr):
        _kernel("adagrad_update")(param, grad, state["accumulator"], lr, eps=self.epsilon,
                                  weight_decay=self.weight_decay)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """sq = rho * sq + (1 - rho) g^2;  p -= lr * g / (sqrt(sq [- mean(g)^2 if centered]) + eps) (+ momentum)."""

    def __init__(self, params=None, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, *,
                 alpha=None, eps=None, **kwargs):
        self.rho = _number("RMSprop", "rho", alpha if alpha is not None else rho, high=1.0)
        self.momentum, self.centered = _number("RMSprop", "momentum", momentum), bool(centered)
        self.epsilon = _number("RMSprop", "epsilon", eps if eps is not None else epsilon)
        self.slots = ("sq_avg",) + (("mom_buf",) if self.momentum else ()) + (("grad_avg",) if self.centered else ())
        super().__init__(params, learning_rate, **kwargs)

    def _update(self, param, grad, state, lr):
        _kernel("rmsprop_update")(param, grad, state["sq_avg"], lr, rho=self.rho, eps=self.epsilon,
                                  momentum=self.momentum, mom_buf=state.get("mom_buf"), centered=self.centered,
                                  grad_avg=state.get("grad_avg"), weight_decay=self.weight_decay)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adam(Optimizer):
    """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr * m_hat / (sqrt(v_hat) + eps).

    Keras args (learning_rate, beta_1, beta_2, epsilon, amsgrad) or PyTorch's (lr, betas, eps).
    """

    decoupled = False

    def __init__(self, params=None, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, *,
                 betas=None, eps=None, **kwargs):
        where = type(self).__name__
        if betas is not None:
            if not isinstance(betas, (tuple, list)) or len(betas) != 2:
                raise ValueError(f"{where}: 'betas' must be a pair (beta_1, beta_2), got {betas!r:.60}")
            beta_1, beta_2 = betas
        self.beta_1 = _number(where, "beta_1", beta_1, high=1.0, high_open=True)
        self.beta_2 = _number(where, "beta_2", beta_2, high=1.0, high_open=True)
        self.epsilon = _number(where, "epsilon", eps if eps is not None else epsilon)
        self.amsgrad = bool(amsgrad)
        self.slots = ("m", "v") + (("v_max",) if self.amsgrad else ())
        super().__init__(params, learning_rate, **kwargs)

    def _update(self, param, grad, state, lr):
        _kernel("adam_update")(param, grad, state["m"], state["v"], lr, self.iterations, beta1=self.beta_1,
                               beta2=self.beta_2, eps=self.epsilon, weight_decay=self.weight_decay,
                               decoupled_weight_decay=self.decoupled, amsgrad=self.amsgrad, v_max=state.get("v_max"))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay before the Adam step (Keras default 0.004)."""

    decoupled = True

    def __init__(self, params=None, learning_rate=0.001, weight_decay=0.004, **kwargs):
        super().__init__(params, learning_rate, weight_decay=weight_decay, **kwargs)


_ALL = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}


def get(identifier, **kwargs):
    """An optimizer from a name ("adam"), a config dict {"class_name", "config"} or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _ALL.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {identifier!r}; expected one of {sorted(_ALL)}")
        return cls(**kwargs)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(f"optimizer must be a name, a config dict or an Optimizer, got {type(identifier).__name__}")


def serialize(opt):
    return {"class_name": type(opt).__name__, "config": opt.get_config()}


def deserialize(config):
    cls = {c.__name__: c for c in _ALL.values()}.get(config["class_name"]) or _ALL.get(config["class_name"].lower())
    if cls is None:
        raise ValueError(f"unknown optimizer class {config['class_name']!r}")
    return cls.from_config(config.get("config", {}))
