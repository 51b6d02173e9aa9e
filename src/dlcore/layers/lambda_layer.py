"""Lambda: a function of the inputs as a layer (Keras's Lambda), saved by name only."""
from __future__ import annotations

import inspect

from .. import activations
from ..saving import get_registered_object
from ..tensor import Tensor
from .base import Layer


def _registered_name(fn):
    """The name `fn` is registered under with dlcore.saving.register_serializable (its __name__), or
    None. (A function registered under another name is given to Lambda by that name.)"""
    name = getattr(fn, "__name__", None)
    return name if name and get_registered_object("function", name) is fn else None


class Lambda(Layer):
    """Wraps a function of the inputs as a layer: `Lambda(lambda x: x ** 2)`.

    Saving: a model file holds no code (dlcore never unpickles or executes what it loads; Keras
    instead marshals the function's bytecode and refuses to load it unless safe_mode=False). So a
    Lambda is saved by name only: its function must be registered with
    `@dlcore.saving.register_serializable` (it is then saved and loaded by that name), or be given
    as the name of a registered function or of a Keras activation ("relu", "tanh", ...). Saving a
    Lambda holding an unregistered Python function (a lambda, a local def) raises a ValueError that
    says so; rebuild such a layer in code after loading, or register the function.

    Args:
        function: a callable of the inputs (a Tensor, or a list of Tensors), or a registered name.
        output_shape: the output shape without the batch axis, or a function of the input shape
            (batch included) returning the output shape; None: found by one call on zeros.
        mask: a mask for the next layers, or a function (inputs, mask) -> mask (`compute_mask`).
        arguments: a dict of keyword arguments passed to the function on every call.

    Input shape: what the function takes. Output shape: what it returns.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    layer = dl.layers.Lambda(lambda x, k: x * k, arguments={"k": 3.0})
    assert layer(np.ones((2, 2), "float32")).numpy().tolist() == [[3.0, 3.0], [3.0, 3.0]]
    ```
    """

    takes_list = True

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        where = self._where()
        if isinstance(function, str):
            fn = get_registered_object("function", function)
            if fn is None:
                try:
                    fn = activations.get(function)
                except ValueError:
                    raise ValueError(f"{where}: 'function' {function!r} is neither a function registered with "
                                     f"dlcore.saving.register_serializable nor an activation name") from None
            self._function_name = function
            function = fn
        elif callable(function):
            self._function_name = None
        else:
            raise TypeError(f"{where}: 'function' must be a callable or the name of a registered function, got "
                            f"{type(function).__name__}")
        self.function = function
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"{where}: 'arguments' must be a dict of keyword arguments, got {type(arguments).__name__}")
        self.arguments = dict(arguments or {})
        if output_shape is not None and not callable(output_shape):
            if not isinstance(output_shape, (tuple, list)):
                raise TypeError(f"{where}: 'output_shape' must be a tuple, a function or None, got "
                                f"{type(output_shape).__name__} ({output_shape!r:.60})")
            try:
                output_shape = tuple(None if d is None else int(d) for d in output_shape)
            except TypeError:
                raise TypeError(f"{where}: 'output_shape' must be a tuple, a function or None, got "
                                f"{output_shape!r}") from None
        self.output_shape = output_shape
        self.mask = mask
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):  # builtins without a signature
            params = {}
        self._takes = {name for name in ("training", "mask") if name in params}

    def _call_eager(self, inputs, *args, **kwargs):
        if isinstance(inputs, (list, tuple)):
            inputs = [self._as_input(x, name=f"inputs[{i}]") for i, x in enumerate(inputs)]
            self.built = True
            return self.call(inputs, *args, **kwargs)
        return super()._call_eager(inputs, *args, **kwargs)

    def call(self, inputs, training=None, mask=None):
        extra = dict(self.arguments)
        if "training" in self._takes:
            extra["training"] = self._training(training)
        if "mask" in self._takes:
            extra["mask"] = mask
        out = self.function(inputs, **extra)
        shape = self.output_shape
        if isinstance(shape, tuple) and isinstance(out, Tensor) and (out.ndim != len(shape) + 1 or any(
                d is not None and d != g for d, g in zip(shape, out.shape[1:]))):
            raise ValueError(f"{self._where()}: the function returned shape {tuple(out.shape)}, which the declared "
                             f"output_shape={shape} (without the batch axis) does not match")
        return out

    def compute_output_shape(self, input_shape):
        if self.output_shape is None:
            raise NotImplementedError  # the functional API then runs the function once on zeros
        if callable(self.output_shape):
            return self.output_shape(input_shape)
        batch = input_shape[0][0] if input_shape and isinstance(input_shape[0], (list, tuple)) else input_shape[0]
        return (batch,) + self.output_shape

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def _name_of(self, fn, what):
        name = self._function_name if fn is self.function else None
        name = name or _registered_name(fn)
        if name is None:
            raise ValueError(f"{self._where()}: cannot save {what} {getattr(fn, '__qualname__', fn)!r}: a model file "
                             f"holds no code. Register it with @dlcore.saving.register_serializable (it is then "
                             f"saved by name), or rebuild this layer in code after loading the rest")
        return name

    def get_config(self):
        output_shape = self.output_shape
        if callable(output_shape):
            output_shape = {"function": self._name_of(output_shape, "the output_shape function")}
        elif output_shape is not None:
            output_shape = list(output_shape)
        if self.mask is not None and not isinstance(self.mask, (bool, int, float, list)):
            raise ValueError(f"{self._where()}: cannot save a Lambda with a mask ({type(self.mask).__name__}); "
                             f"rebuild it after loading")
        return {**super().get_config(), "function": self._name_of(self.function, "the function"),
                "output_shape": output_shape, "mask": self.mask, "arguments": self.arguments}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        shape = config.get("output_shape")
        if isinstance(shape, dict):
            fn = get_registered_object("function", shape.get("function"))
            if fn is None:
                raise ValueError(f"Lambda: the output_shape function {shape.get('function')!r} is not registered")
            config["output_shape"] = fn
        return cls(**config)
