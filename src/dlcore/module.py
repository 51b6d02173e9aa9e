"""Module: the base of every layer and model (PyTorch's nn.Module meets Keras's Layer).

PyTorch style: subclass, assign sub-modules and Parameters as attributes in `__init__`, write
`forward`. Keras style: `__init__` validates arguments, `build(input_shape)` creates the weights
(called lazily on the first input, or eagerly when `input_shape=` / `input_dim=` is given to a
model), `call(inputs, training=None)` computes.

Tracking is by attribute: `named_parameters()` walks the attributes in assignment order --
Parameters, Modules, and lists/tuples/dicts of them, under any name (`_blocks` too) -- recursively,
and names each weight by its attribute path (`"fc1.kernel"`, `"blocks.0.bias"`).

state_dict contract (stable; saving builds on it): an ordered dict from those dotted names to the
weights' arrays -- trainable and non-trainable (e.g. BatchNormalization's moving_mean) -- in
`named_parameters(include_non_trainable=True)` order. The arrays are the live ones (no copy).
`load_state_dict(state, strict=True)` copies values in place (so optimizers keep their references)
after checking every key and shape; any mismatch raises before anything is written.

The functional API: calling a module on a KerasTensor (from `dl.Input`) records a graph node
instead of computing (see dlcore.graph). `Module.__call__` makes that check for every class,
whenever it is defined; the eager call behind it is `_call_eager`, which `Layer` specialises (input
casting, lazy build). A subclass that overrides `__call__` itself must delegate to
`super().__call__` to take part in graphs, as in Keras. `__init_subclass__` registers dlcore's own
layer and model classes with dlcore.saving, by class name.
"""
from __future__ import annotations

import re
from collections import OrderedDict

import numpy as np

from . import graph, initializers, regularizers
from .saving import charge_weight, register_kind, register_serializable
from .kernels._validate import refuse_masked
from .tensor import DEFAULT_DTYPE, Parameter, Tensor, _move

_NAME_COUNTS: dict = {}


def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(base: str) -> str:
    """Keras-style unique layer names: 'dense', 'dense_1', 'dense_2', ..."""
    n = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def reset_name_counters() -> None:
    _NAME_COUNTS.clear()


class Module:
    """Base class of layers and models.

    Keras keyword arguments every layer accepts: `name`, `trainable`, `dtype`, `input_shape`
    (without the batch axis), `input_dim` (shorthand for input_shape=(input_dim,)), `batch_input_shape`.
    """

    # class-level defaults, so that a subclass that forgets super().__init__() still works
    name = "module"
    training = True
    trainable = True
    built = True
    dtype = DEFAULT_DTYPE
    batch_input_shape = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("dlcore.") and not cls.__name__.startswith("_"):
            register_serializable(cls)  # dlcore's own layers and models: files may name them

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None,
                 batch_input_shape=None, **unknown):
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(unknown)}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: 'name' must be a string, got {type(name).__name__}")
        object.__setattr__(self, "name", name or unique_name(_snake(type(self).__name__)))
        self.training = True
        self.trainable = bool(trainable)
        self.dtype = np.dtype(dtype) if dtype is not None else DEFAULT_DTYPE
        self.built = False
        if input_dim is not None:
            input_shape = (int(input_dim),)
        if input_shape is not None:
            if isinstance(input_shape, int):
                input_shape = (input_shape,)
            batch_input_shape = (None,) + tuple(input_shape)
        self.batch_input_shape = tuple(batch_input_shape) if batch_input_shape is not None else None
        self._losses = []

    # ---- lifecycle -------------------------------------------------------------------------------
    def build(self, input_shape):
        """Create the weights for inputs of `input_shape` (batch axis first, may be None)."""
        self.built = True

    def _ensure_built(self, x):
        if not self.built:
            shape = x.shape if hasattr(x, "shape") else None
            self.build(tuple(shape) if shape is not None else None)
            self.built = True

    def __call__(self, *args, **kwargs):
        if graph.is_symbolic(args):
            return graph.symbolic_call(self, args, kwargs)
        return self._call_eager(*args, **kwargs)

    def _call_eager(self, *args, **kwargs):
        """The call on real tensors: build on the first input when needed, then forward."""
        if not self.__dict__.get("built", True):
            if args:
                self._ensure_built(args[0])
            else:
                self.built = True
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        """The computation. Keras-style layers implement `call` instead; forward delegates to it."""
        call = getattr(type(self), "call", None)
        if call is None:
            raise NotImplementedError(f"{type(self).__name__} must implement forward() (or call())")
        return call(self, *args, **kwargs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    # ---- weights ---------------------------------------------------------------------------------
    def add_weight(self, name, shape, initializer="glorot_uniform", trainable=True, regularizer=None,
                   dtype=None, constraint=None):
        """Create a Parameter attribute `name` of `shape` initialized by `initializer` (Keras)."""
        init = initializers.get(initializer)
        dtype = np.dtype(dtype) if dtype is not None else self.dtype
        shape = tuple(shape)
        if charge_weight(shape, f"{self._where()}: weight '{name}'"):  # inside load_model: counted first,
            value = np.zeros(shape, dtype)                                 # and the file's values replace it
        else:
            value = np.asarray(init(shape, dtype=dtype))
        p = Parameter(value, requires_grad=trainable, name=name)
        p.regularizer = regularizers.get(regularizer)
        p.constraint = constraint
        setattr(self, name, p)
        return p

    def _children(self):
        """(attribute path, value) for every Parameter / Module held directly or in containers."""
        for key, value in self.__dict__.items():
            if isinstance(value, (Parameter, Module)):
                yield key, value
            elif isinstance(value, (list, tuple)):
                for i, v in enumerate(value):
                    if isinstance(v, (Parameter, Module)):
                        yield f"{key}.{i}", v
            elif isinstance(value, dict):
                for k, v in value.items():
                    if isinstance(v, (Parameter, Module)):
                        yield f"{key}.{k}", v

    def named_parameters(self, prefix="", include_non_trainable=False, _seen=None):
        """(dotted name, Parameter) pairs, recursively, each weight once.

        Only trainable weights (requires_grad, in a trainable module) unless include_non_trainable.
        """
        seen = set() if _seen is None else _seen
        frozen = not self.trainable
        for key, value in self._children():
            name = f"{prefix}{key}"
            if isinstance(value, Module):
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
            if isinstance(v, Module):
                out.extend(m for m in v.modules() if all(m is not o for o in out))
        return out

    def named_modules(self, prefix=""):
        yield prefix.rstrip("."), self
        for key, v in self._children():
            if isinstance(v, Module):
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
        out = []
        for m in self.modules():
            out.extend(m.__dict__.get("_losses", []))
            for key, v in m._children():
                if isinstance(v, Parameter) and getattr(v, "regularizer", None) is not None:
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

    # ---- state -----------------------------------------------------------------------------------
    def state_dict(self):
        """Ordered {dotted name: array} of every weight, trainable and not (live arrays)."""
        return OrderedDict((name, p.data) for name, p in self.named_parameters(include_non_trainable=True))

    def load_state_dict(self, state, strict=True):
        """Copy `state` (name -> array/Tensor) into the weights in place, after checking it all.

        strict=True: missing and unexpected keys are errors. Shape mismatches are always errors.
        Returns (missing_keys, unexpected_keys).
        """
        own = OrderedDict(self.named_parameters(include_non_trainable=True))
        where = f"{type(self).__name__} '{self.name}'"
        if not own and state:
            raise ValueError(f"{where}: load_state_dict: the module has no weights yet (it is built lazily); call it "
                             f"on an input or build it with input_shape= before loading")
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise KeyError(f"{where}: load_state_dict: " + "; ".join(parts))
        values = {}
        for k, p in own.items():
            if k not in state:
                continue
            v = state[k]
            v = v.numpy() if isinstance(v, Tensor) else np.asarray(v)
            if tuple(v.shape) != tuple(p.shape):
                raise ValueError(f"{where}: load_state_dict: shape mismatch for '{k}': the module has {tuple(p.shape)}, "
                                 f"the state has {tuple(v.shape)}")
            values[k] = v
        for k, v in values.items():
            p = own[k]
            p.data[...] = p.xp.asarray(v, dtype=p.dtype)
        return missing, unexpected

    # ---- config ----------------------------------------------------------------------------------
    def get_config(self):
        """JSON-able constructor arguments: from_config(get_config()) rebuilds an equal (unbuilt) layer."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": str(self.dtype)}
        if self.batch_input_shape is not None:
            config["batch_input_shape"] = list(self.batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # ---- display ---------------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()})"] if not any(
            isinstance(v, Module) for _, v in self._children()) else [f"{type(self).__name__}("]
        if len(lines) == 1 and lines[0].endswith("("):
            for key, v in self._children():
                if isinstance(v, Module):
                    sub = repr(v).replace("\n", "\n  ")
                    lines.append(f"  ({key}): {sub}")
            lines.append(")")
        return "\n".join(lines)

    # ---- input checks shared by layers -----------------------------------------------------------
    def _where(self):
        return f"{type(self).__name__} '{self.name}'"

    def _as_input(self, x, name="inputs", cast=True):
        """`x` as a Tensor of this layer's float dtype (Keras autocasts floats), or a clear error."""
        if isinstance(x, Tensor):
            if cast and x.dtype.kind == "f" and x.dtype != self.dtype:
                return x.to(dtype=self.dtype)
            if cast and x.dtype.kind in "iub":
                return x.to(dtype=self.dtype)
            return x
        if isinstance(x, (np.ndarray, list, tuple, float, int, np.generic)) or hasattr(x, "__array__"):
            refuse_masked(x, self._where(), name)
            arr = np.asarray(x)
            if arr.dtype.kind not in "fiub":
                raise TypeError(f"{self._where()}: '{name}' must be numeric, got an array of dtype {arr.dtype}")
            return Tensor(arr.astype(self.dtype) if cast else arr)
        raise TypeError(f"{self._where()}: '{name}' must be a Tensor or a NumPy array, got {type(x).__name__}")


register_kind("layer", Module)  # files name layers and models by class; custom ones need registering

