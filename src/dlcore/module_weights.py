"""A Module's weights: creating them (`add_weight`) and their values (`get_weights` /
`set_weights`, `state_dict` / `load_state_dict`).

`WeightsMixin` is a base class of `dlcore.module.Module`, which states the state_dict contract; the
names and the order of the weights come from the tree walks of `dlcore.module_tree`.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from . import initializers, regularizers
from .saving import charge_weight
from .tensor import DEFAULT_DTYPE, Parameter, Tensor


class WeightsMixin:
    """add_weight, get_weights / set_weights, state_dict / load_state_dict; mixed into `Module`."""

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
        result = np.dtype(dtype)
    except TypeError:
        error = ValueError if isinstance(dtype, str) else TypeError
        raise error(f"{where}: '{arg}' must be a NumPy dtype or its name ('float32', 'float64', ...), got "
                    f"{dtype!r}") from None
    if result.kind not in "biufc":  # a structured, string, object or date dtype holds no numbers to compute on
        raise ValueError(f"{where}: '{arg}' must be a numeric dtype ('float32', 'float64', ...), got {dtype!r:.60}")
    return result


def _host_copy(array):
    if isinstance(array, np.ndarray):
        return np.array(array, copy=True)
    return np.asarray(array.get())  # a CuPy array
