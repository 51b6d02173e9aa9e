"""An optimizer's state and configuration: `state_dict` / `load_state_dict` (Keras's layout and
torch's) and `get_config` / `from_config`.

`SerializationMixin` is a base class of `dlcore.optimizers.Optimizer`; the layouts are described in
`dlcore.optimizers.base`'s docstring. A model file stores an optimizer through these methods.
"""
from __future__ import annotations

import numpy as np

from .. import schedules
from ..tensor import get_array_module


class SerializationMixin:
    """state_dict / load_state_dict and get_config / from_config; mixed into `Optimizer`."""

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
