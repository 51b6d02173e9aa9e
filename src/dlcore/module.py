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

Where the rest is: the tree walks (`named_parameters`, `modules`, `weights`, `losses`, `train` /
`eval`, `to`, ...) in dlcore.module_tree, `add_weight` and the weights' values (`get_weights` /
`set_weights`, `state_dict` / `load_state_dict`) in dlcore.module_weights: both are base classes of
`Module`.
"""
from __future__ import annotations

import inspect
import numbers
import re

import numpy as np

from . import graph
from .call_context import current_training, resolve_training, training_context
from .kernels._validate import refuse_masked
from .module_tree import ModuleTreeMixin
from .module_weights import WeightsMixin, _dtype_arg
from .saving import register_kind, register_serializable
from .tensor import DEFAULT_DTYPE, Tensor

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


def shape_arg(where, arg, shape, unknown=True):
    """A shape argument as a tuple of ints (and None for an unknown size where `unknown`): TypeError
    for anything else."""
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"{where}: '{arg}' must be a tuple of ints, got {type(shape).__name__} ({shape!r:.60})")
    shape = tuple(shape)
    if any(not (s is None and unknown) and (isinstance(s, bool) or not isinstance(s, numbers.Integral))
           for s in shape):
        raise TypeError(f"{where}: '{arg}' must be a tuple of ints{' (None for an unknown size)' if unknown else ''}, "
                        f"got {shape!r:.60}")
    return tuple(None if s is None else int(s) for s in shape)


def boundary_error(e, where, *names):
    """At a public boundary (a constructor, a layer's call): `e`, a TypeError or ValueError raised
    somewhere below, as the same kind of error prefixed with `where`; None when its message already
    names one of `names` (then it is raised as it is)."""
    message = str(e)
    if any(name in message for name in names):
        return None
    return (TypeError if isinstance(e, TypeError) else ValueError)(f"{where}: {message}")


class _ModuleType(type):
    """Calls `_after_init()` once the whole constructor chain has returned (eager building)."""

    def __call__(cls, *args, **kwargs):
        try:
            obj = super().__call__(*args, **kwargs)
            obj._after_init()
        except (TypeError, ValueError) as e:
            # the constructor is the boundary: its errors name the class (a helper's message may not)
            named = boundary_error(e, cls.__name__, cls.__name__)
            if named is None:
                raise
            raise named from e
        return obj


class Module(ModuleTreeMixin, WeightsMixin, metaclass=_ModuleType):
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
            if isinstance(input_dim, bool) or not isinstance(input_dim, numbers.Integral) or input_dim < 1:
                raise (ValueError if isinstance(input_dim, numbers.Integral) and not isinstance(input_dim, bool)
                       else TypeError)(f"{self._where()}: 'input_dim' must be a positive int, got {input_dim!r:.60}")
            input_shape = (int(input_dim),)
        if input_shape is not None:
            if isinstance(input_shape, int):
                input_shape = (input_shape,)
            batch_input_shape = (None,) + shape_arg(self._where(), "input_shape", input_shape)
        if batch_input_shape is not None:
            batch_input_shape = shape_arg(self._where(), "batch_input_shape", batch_input_shape)
        self.batch_input_shape = batch_input_shape
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

