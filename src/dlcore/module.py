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
casting, lazy build, masks). Each symbolic call is kept in the module's inbound nodes, so that
`layer.input` / `layer.output` name its KerasTensors (feature extraction from a built model).

Training mode (the rule is written once, in dlcore.call_context): a PyTorch-style Module starts
in training mode (as `torch.nn.Module`), a Keras layer or model in inference mode (a Keras
`model(x)` is inference); modules inside a call without a mode of their own take the mode of the
call; `.train()` / `.eval()` set the mode of a module and everything inside it (PyTorch style); a
call given `training=True/False` runs every nested layer and model in that mode, whatever their
own, and a module whose forward does not take `training` still passes it on. `trainable = False` freezes a module and every
module inside it.

Construction: a layer whose input size is known when its constructor returns (`input_shape=`,
`input_dim=`, ...) is built then (`_after_init`), so that `parameters()` holds its weights before
any call -- what a PyTorch-style `Adam(net.parameters())` needs. A subclass that overrides `__call__` itself must delegate to
`super().__call__` to take part in graphs, as in Keras. `__init_subclass__` registers dlcore's own
layer and model classes with dlcore.saving, by class name.
"""
from __future__ import annotations

import inspect
import re
from collections import OrderedDict

import numpy as np

from . import graph, initializers, regularizers
from .call_context import current_training, resolve_training, training_context
from .kernels._validate import refuse_masked
from .saving import charge_weight, register_kind, register_serializable
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


class _ModuleType(type):
    """Calls `_after_init()` once the whole constructor chain has returned (eager building)."""

    def __call__(cls, *args, **kwargs):
        obj = super().__call__(*args, **kwargs)
        obj._after_init()
        return obj


class Module(metaclass=_ModuleType):
    """Base class of layers and models.

    Keras keyword arguments every layer accepts: `name`, `trainable`, `dtype`, `input_shape`
    (without the batch axis), `input_dim` (shorthand for input_shape=(input_dim,)), `batch_input_shape`.
    """

    # class-level defaults, so that a subclass that forgets super().__init__() still works
    name = "module"
    default_training = True  # PyTorch: a new torch.nn.Module is in training mode; Keras classes: False
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
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(unknown)}: dlcore's "
                            f"{type(self).__name__} does not support them (see help(dl.layers."
                            f"{type(self).__name__}) for the arguments it takes)")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: 'name' must be a string, got {type(name).__name__}")
        object.__setattr__(self, "name", name or unique_name(_snake(type(self).__name__)))
        self.trainable = bool(trainable)
        self.dtype = _dtype_arg(self._where(), dtype)
        self.built = False
        if input_dim is not None:
            input_shape = (int(input_dim),)
        if input_shape is not None:
            if isinstance(input_shape, int):
                input_shape = (input_shape,)
            batch_input_shape = (None,) + tuple(input_shape)
        self.batch_input_shape = tuple(batch_input_shape) if batch_input_shape is not None else None
        self._losses = []

    def _after_init(self):
        """Runs when the constructor has returned; Layer builds there when the input shape is known."""

    # ---- training mode (PyTorch's flag; the rule in dlcore.call_context) --------------------------
    @property
    def training(self):
        """The mode set by .train() / .eval(), else the class's default (`default_training`)."""
        own = self.__dict__.get("_training_mode")
        return self.default_training if own is None else own

    @training.setter
    def training(self, value):
        self.__dict__["_training_mode"] = bool(value)

    # ---- trainable (Keras: setting it sets it for every module inside) ---------------------------
    @property
    def trainable(self):
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        self.__dict__["_trainable"] = value
        for _, child in self._children():
            if isinstance(child, Module):
                child.trainable = value

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
        training = kwargs.get("training")
        if "training" in kwargs and not self._forward_takes("training"):
            del kwargs["training"]  # passed on to the layers inside through the call context
        if training is not None:
            with training_context(training, forced=True):
                return self._call_eager(*args, **kwargs)
        mode = self._training()
        inherited = current_training()
        if inherited is not None and inherited[0] == mode:  # nothing new to pass on (the common case)
            return self._call_eager(*args, **kwargs)
        with training_context(mode, forced=False):
            return self._call_eager(*args, **kwargs)

    def _forward_fn(self):
        """The function that receives the call's keyword arguments (forward, or call behind it)."""
        fwd = type(self).forward
        return getattr(type(self), "call", None) if fwd is Module.forward else fwd

    def _forward_takes(self, arg):
        """Whether the forward pass accepts keyword `arg` (by name, or through **kwargs)."""
        cache = type(self).__dict__.get("_takes_cache")
        if cache is None:
            cache = {}
            type.__setattr__(type(self), "_takes_cache", cache)
        fn = self._forward_fn()
        key = (arg, fn)
        if key not in cache:
            try:
                params = inspect.signature(fn).parameters if fn is not None else {}
            except (TypeError, ValueError):
                params = {}
            cache[key] = arg in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
        return cache[key]

    def _training(self, training=None):
        """Training or inference for this call: `training` if given, else the enclosing call's, else
        the module's mode (see dlcore.call_context)."""
        return resolve_training(training, self.__dict__.get("_training_mode"), self.default_training)

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
    def add_weight(self, *args, shape=None, initializer=None, dtype=None, trainable=True, regularizer=None,
                   constraint=None, name=None):
        """Create a weight, keep it as the attribute `name` and return it (Keras's add_weight).

        Two forms: Keras 3's `add_weight(shape=None, initializer=None, dtype=None, *, trainable, regularizer,
        constraint, name)` (at most those three positionally), and dlcore's own `add_weight(name, shape,
        initializer, trainable, regularizer, dtype, constraint)`, told apart by a string first.

        Args:
            shape: the weight's shape; default () (a scalar).
            initializer: an initializer or its name; default "glorot_uniform" for a float dtype, "zeros"
                otherwise (Keras's defaults).
            dtype: the weight's dtype; default the layer's.
            trainable: whether optimizers update it.
            regularizer: a penalty on the weight, added to the layer's `losses`.
            constraint: a function applied to the weight after every optimizer step.
            name: the attribute that holds it, so its key in `state_dict()` and weight files; default
                "variable", "variable_1", ... (Keras's default names). Assigning the weight to another
                attribute as well (`self.w = self.add_weight(...)`) makes a second name for the same weight.

        Example:
        ```python
        import numpy as np
        import dlcore as dl

        class Scale(dl.layers.Layer):
            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

            def call(self, x):
                return x * self.w

        layer = Scale()
        assert layer(np.full((2, 3), 2.0, "float32")).numpy().tolist() == [[2.0] * 3] * 2
        assert list(layer.state_dict()) == ["variable"] and layer.w is layer.variable
        ```
        """
        where = f"{self._where()}: add_weight"
        positional = ("name", "shape", "initializer", "trainable", "regularizer", "dtype", "constraint") \
            if args and isinstance(args[0], str) else ("shape", "initializer", "dtype")
        if len(args) > len(positional):
            raise TypeError(f"{where} takes at most {len(positional)} positional arguments ({', '.join(positional)}), "
                            f"got {len(args)}; give the others by keyword")
        given = dict(shape=shape, initializer=initializer, dtype=dtype, trainable=trainable, regularizer=regularizer,
                     constraint=constraint, name=name)
        defaults = dict(shape=None, initializer=None, dtype=None, trainable=True, regularizer=None, constraint=None,
                        name=None)
        for arg, value in zip(positional, args):
            if given[arg] is not defaults[arg]:
                raise TypeError(f"{where} got '{arg}' both by position and by keyword")
            given[arg] = value
        dtype = _dtype_arg(where, given["dtype"]) if given["dtype"] is not None else self.dtype
        initializer = given["initializer"]
        if initializer is None:
            initializer = "glorot_uniform" if dtype.kind == "f" else "zeros"
        if given["trainable"] and dtype.kind != "f":
            raise ValueError(f"{where}: a weight of dtype {dtype} cannot be trained (gradients are floats); pass "
                             f"trainable=False")
        if given["constraint"] is not None and not callable(given["constraint"]):
            raise TypeError(f"{where}: 'constraint' must be a function of the weight's array (there is no "
                            f"keras.constraints), got {given['constraint']!r}")
        name = self._weight_name(where, given["name"])
        init = initializers.get(initializer)
        shape = () if given["shape"] is None else given["shape"]
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
        if charge_weight(shape, f"{self._where()}: weight '{name}'"):  # inside load_model: counted first,
            value = np.zeros(shape, dtype)                                 # and the file's values replace it
        else:
            value = np.asarray(init(shape, dtype=dtype))
        p = Parameter(value, requires_grad=bool(given["trainable"]), name=name)
        p.regularizer = regularizers.get(given["regularizer"])
        p.constraint = given["constraint"]
        setattr(self, name, p)
        return p

    def _weight_name(self, where, name):
        """The attribute add_weight keeps a weight as: `name` checked, or Keras's default "variable", "variable_1"..."""
        i = 0
        while name is None:
            candidate = f"variable_{i}" if i else "variable"
            name = None if candidate in self.__dict__ or hasattr(type(self), candidate) else candidate
            i += 1
        if not isinstance(name, str):
            raise TypeError(f"{where}: 'name' must be a string, got {type(name).__name__}")
        if not name.isidentifier():
            raise ValueError(f"{where}: 'name' must be a Python identifier (it becomes the attribute that holds the "
                             f"weight and its key in state_dict), got {name!r}")
        attr = getattr(type(self), name, None)
        if callable(attr) or isinstance(attr, property):
            raise ValueError(f"{where}: name={name!r} is a method or property of {type(self).__name__}; give the "
                             f"weight another name")
        return name

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

    def get_weights(self):
        """Copies of every weight (trainable and not, state_dict order) as NumPy arrays (Keras)."""
        return [_host_copy(p.data) for p in self.weights]

    def set_weights(self, weights):
        """Assign arrays given in get_weights() order; count and shapes are checked before anything changes."""
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(f"{self._where()}: set_weights: expected {len(own)} arrays (the layer's weights in "
                             f"get_weights() order), got {len(weights)}")
        values = []
        for i, (p, w) in enumerate(zip(own, weights)):
            w = w.numpy() if isinstance(w, Tensor) else np.asarray(w)
            if tuple(w.shape) != tuple(p.shape):
                raise ValueError(f"{self._where()}: set_weights: weight {i} ({p.name}) has shape {tuple(p.shape)}, "
                                 f"got {tuple(w.shape)}")
            values.append(w)
        for p, w in zip(own, values):
            p.data[...] = p.xp.asarray(w, dtype=p.dtype)

    # ---- the functional API: the KerasTensors of this module's calls --------------------------------
    def _node_tensors(self, which):
        nodes = self.__dict__.get("_inbound_nodes") or []
        if not nodes:
            raise AttributeError(f"{self._where()} has no {which} yet: it has not been called on a KerasTensor "
                                 f"(dl.Input) or built into a functional or Sequential model")
        if len(nodes) > 1:
            raise AttributeError(f"{self._where()} has been called {len(nodes)} times, so its {which} is ambiguous; "
                                 f"use the KerasTensors returned by each call")
        node = nodes[0]
        if which == "input":
            return node.inputs
        return node.outputs if node.multi_output else node.outputs[0]

    @property
    def input(self):
        """The KerasTensor(s) this layer was called on in a functional model (Keras's layer.input)."""
        return self._node_tensors("input")

    @property
    def output(self):
        """The KerasTensor(s) this layer produced in a functional model (Keras's layer.output)."""
        return self._node_tensors("output")

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


def _dtype_arg(where, dtype, arg="dtype"):
    """A layer's dtype argument as a NumPy dtype (None: float32), or an error naming the layer and the argument.

    Keras's mixed-precision policies ("mixed_float16", "mixed_bfloat16", a policy whose compute and
    variable dtypes differ) are refused: dlcore computes and stores weights in one dtype.
    """
    if dtype is None:
        return DEFAULT_DTYPE
    compute, variable = getattr(dtype, "compute_dtype", None), getattr(dtype, "variable_dtype", None)
    if compute is not None and variable is not None:  # a Keras DTypePolicy object
        dtype = compute if str(compute) == str(variable) else f"mixed_{compute}"
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        raise ValueError(f"{where}: {arg}={dtype!r} is a Keras mixed-precision policy; dlcore does not support mixed "
                         f"precision: give one dtype, such as 'float32' (the default) or 'float64'")
    try:
        return np.dtype(dtype)
    except TypeError:
        error = ValueError if isinstance(dtype, str) else TypeError
        raise error(f"{where}: '{arg}' must be a NumPy dtype or its name ('float32', 'float64', ...), got "
                    f"{dtype!r}") from None


def _host_copy(array):
    if isinstance(array, np.ndarray):
        return np.array(array, copy=True)
    return np.asarray(array.get())  # a CuPy array


register_kind("layer", Module)  # files name layers and models by class; custom ones need registering

