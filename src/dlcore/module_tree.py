"""The module tree: a Module's sub-modules and weights, found through its attributes.

`ModuleTreeMixin` is a base class of `dlcore.module.Module`. `_children()` yields the Parameters
and Modules an instance holds (directly, or in lists, tuples and dicts, under any attribute name);
the walks built on it are here: `named_parameters()` / `parameters()`, `modules()` /
`named_modules()`, the weight lists (`weights`, `trainable_weights`, `non_trainable_weights`,
`count_params()`), the penalties (`losses`, `add_loss`), and what is set across the whole tree
(`train()` / `eval()`, `zero_grad()`, `to()`). Creating weights and reading or writing their values
is `dlcore.module_weights`.
"""
from __future__ import annotations

import numpy as np

from .tensor import Parameter, _move


class ModuleTreeMixin:
    """The walks over a module's sub-modules and weights; mixed into `Module` (see the module docstring)."""

    # ---- the tree ------------------------------------------------------------------------------
    def _children(self):
        """(attribute path, value) for every Parameter / Module held directly or in containers."""
        for key, value in self.__dict__.items():
            if isinstance(value, (Parameter, ModuleTreeMixin)):
                yield key, value
            elif isinstance(value, (list, tuple)):
                for i, v in enumerate(value):
                    if isinstance(v, (Parameter, ModuleTreeMixin)):
                        yield f"{key}.{i}", v
            elif isinstance(value, dict):
                for k, v in value.items():
                    if isinstance(v, (Parameter, ModuleTreeMixin)):
                        yield f"{key}.{k}", v

    def named_parameters(self, prefix="", include_non_trainable=False, _seen=None):
        """(dotted name, Parameter) pairs, recursively, each weight once.

        Only trainable weights (requires_grad, in a trainable module) unless include_non_trainable.
        """
        seen = set() if _seen is None else _seen
        frozen = not self.trainable
        for key, value in self._children():
            name = f"{prefix}{key}"
            if isinstance(value, ModuleTreeMixin):
                if frozen and not include_non_trainable:
                    continue
                yield from value.named_parameters(name + ".", include_non_trainable, seen)
            elif id(value) not in seen:
                if include_non_trainable or (value.requires_grad and not frozen):
                    seen.add(id(value))
                    yield name, value

    def parameters(self):
        """The trainable Parameters (what an optimizer updates)."""
        return [p for _, p in self.named_parameters()]

    def modules(self):
        """This module and every sub-module, depth first."""
        out = [self]
        for _, v in self._children():
            if isinstance(v, ModuleTreeMixin):
                out.extend(m for m in v.modules() if all(m is not o for o in out))
        return out

    def named_modules(self, prefix=""):
        yield prefix.rstrip("."), self
        for key, v in self._children():
            if isinstance(v, ModuleTreeMixin):
                yield from v.named_modules(f"{prefix}{key}.")

    @property
    def weights(self):
        return [p for _, p in self.named_parameters(include_non_trainable=True)]

    @property
    def trainable_weights(self):
        return self.parameters()

    @property
    def non_trainable_weights(self):
        trainable = {id(p) for p in self.parameters()}
        return [p for p in self.weights if id(p) not in trainable]

    def count_params(self):
        """Number of scalars in every weight (trainable and not), like Keras."""
        if not self.built and not self.weights:
            raise ValueError(f"{type(self).__name__} '{self.name}': count_params() needs the layer built; call it on an "
                             f"input or pass input_shape=")
        return int(sum(p.size for p in self.weights))

    @property
    def losses(self):
        """Regularization penalties (scalar Tensors) of every weight with a regularizer, plus add_loss terms."""
        out, seen = [], set()
        for m in self.modules():
            out.extend(m.__dict__.get("_losses", []))
            for key, v in m._children():
                if isinstance(v, Parameter) and getattr(v, "regularizer", None) is not None and id(v) not in seen:
                    seen.add(id(v))  # a weight held under two names (or by two modules) is penalized once
                    out.append(v.regularizer(v))
        return out

    def add_loss(self, loss):
        self.__dict__.setdefault("_losses", []).append(loss)

    # ---- modes, devices, gradients ---------------------------------------------------------------
    def train(self, mode=True):
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self):
        for p in self.weights:
            p.grad = None

    def to(self, device=None, dtype=None):
        """Move (and/or cast) every weight in place; returns self."""
        for p in self.weights:
            data = p.data
            if dtype is not None:
                data = data.astype(dtype)
            if device is not None:
                data = _move(data, device)
            p.data = data
            p.grad = None
        if dtype is not None:
            for m in self.modules():
                m.dtype = np.dtype(dtype)
        return self
