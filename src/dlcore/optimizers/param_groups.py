"""The parameters an optimizer updates: `build` (Keras), param groups (PyTorch) and each
parameter's state slots.

`ParamGroupsMixin` is a base class of `dlcore.optimizers.Optimizer`. Every parameter is held once,
in `params` (its index in `_index`), with its state in `state` at the same index and a place in
one of `param_groups` (a Keras-style optimizer has a single group).
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _move, get_array_module


class ParamGroupsMixin:
    """build, add_param_group and the state slots of each parameter; mixed into `Optimizer`."""

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
