"""The constructor arguments of an optimizer, in Keras's style or PyTorch's.

`ArgumentsMixin` is a base class of `dlcore.optimizers.Optimizer`: it tells the two styles apart by
the arguments' names, binds them to each style's signature and sets the hyperparameters (Keras's as
attributes, PyTorch's as `defaults`). `check_number` and `check_betas`, the checks every optimizer
uses for its hyperparameters, are here too (and importable from `dlcore.optimizers.base`).
"""
from __future__ import annotations

import math

import numpy as np

from .. import schedules

# Keras's base-optimizer arguments every Keras-style optimizer takes (after its own)
KERAS_COMMON = {"weight_decay": None, "clipnorm": None, "clipvalue": None, "global_clipnorm": None, "name": None}
# PyTorch's execution hints: dlcore's updates are one pass per parameter whatever they say, and the
# results are the same as torch.optim's for every setting (torch promises the same)
TORCH_HINTS = ("foreach", "fused")
# PyTorch's arguments dlcore cannot honour: accepted only at their default (False)
TORCH_UNSUPPORTED = ("capturable", "differentiable")


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


class ArgumentsMixin:
    """Parsing and checking the constructor's arguments (both styles); mixed into `Optimizer`."""

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
