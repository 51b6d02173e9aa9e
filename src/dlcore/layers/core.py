"""Core layers: Dense, Activation, Flatten, Reshape, Dropout, Embedding."""
from __future__ import annotations

import numpy as np

from .. import activations, initializers, regularizers
from .. import functional as F
from .base import Layer, activation_arg, float_arg


class Dense(Layer):
    """outputs = activation(inputs @ kernel + bias); kernel (in, units), inputs (..., in).

    relu/sigmoid/tanh run fused in the GEMM epilogue.
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"{self._where()}: 'units' must be a positive int, got {units!r}")
        self.units = int(units)
        self.activation = activation_arg(self._where(), activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"{self._where()}: expected an input of shape (batch, ..., features) with a known last "
                             f"dimension, got shape {tuple(input_shape)}")
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer,
                        regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                    regularizer=self.bias_regularizer) if self.use_bias else None
        self.built = True

    def call(self, inputs, training=None):
        if inputs.ndim < 2 or inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"{self._where()}: expected input with last dimension {self.kernel.shape[0]}, "
                             f"got shape {tuple(inputs.shape)}")
        return F.linear(inputs, self.kernel, self.bias, self.activation)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer)}

    def extra_repr(self):
        return f"units={self.units}, activation={activations.serialize(self.activation)!r}"


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activation_arg(self._where(), activation)
        self._fn = activations.get(activation)

    def call(self, inputs, training=None):
        return self._fn(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1*d2*...)."""

    def call(self, inputs, training=None):
        if inputs.ndim < 1:
            raise ValueError(f"{self._where()}: expected an input with a batch axis, got shape {inputs.shape}")
        return inputs.reshape(inputs.shape[0], -1)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if any(s is None for s in rest) else int(np.prod(rest)))


class Reshape(Layer):
    """(batch, ...) -> (batch,) + target_shape (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target_shape = tuple(int(s) for s in target_shape)
        if sum(1 for s in target_shape if s == -1) > 1 or any(s == 0 or s < -1 for s in target_shape):
            raise ValueError(f"{self._where()}: 'target_shape' must have positive entries and at most one -1, "
                             f"got {target_shape}")
        self.target_shape = target_shape

    def call(self, inputs, training=None):
        size = int(np.prod(inputs.shape[1:]))
        known = int(np.prod([s for s in self.target_shape if s != -1]))
        if (-1 in self.target_shape and size % known) or (-1 not in self.target_shape and size != known):
            raise ValueError(f"{self._where()}: cannot reshape an input of shape {tuple(inputs.shape)} "
                             f"({size} values per sample) to target_shape {self.target_shape}")
        return inputs.reshape((inputs.shape[0],) + self.target_shape)

    def compute_output_shape(self, input_shape):
        shape = list(self.target_shape)
        if -1 in shape:
            size = int(np.prod(input_shape[1:]))
            shape[shape.index(-1)] = size // int(np.prod([s for s in shape if s != -1]))
        return (input_shape[0],) + tuple(shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Dropout(Layer):
    """Zero inputs with probability `rate` during training (scaled by 1/(1-rate)); identity at inference."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = float_arg(rate, self._where(), "rate", 0.0, 1.0, high_open=True)
        self.noise_shape, self.seed = noise_shape, seed

    def call(self, inputs, training=None):
        return F.dropout(inputs, self.rate, training=self._training(training))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed}


class Embedding(Layer):
    """Integer ids (batch, ...) -> rows of `embeddings` (input_dim, output_dim): (batch, ..., output_dim)."""

    cast_inputs = False

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 mask_zero=False, input_length=None, **kwargs):
        super().__init__(**kwargs)
        for arg, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{self._where()}: '{arg}' must be a positive int, got {v!r}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        if embeddings_initializer == "uniform":
            embeddings_initializer = initializers.RandomUniform(-0.05, 0.05)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.mask_zero, self.input_length = bool(mask_zero), input_length

    def build(self, input_shape):
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer,
                        regularizer=self.embeddings_regularizer)
        self.built = True

    def call(self, inputs, training=None):
        ids = inputs.data
        if ids.dtype.kind == "f":
            if ids.size and not (ids == np.round(ids)).all():
                raise TypeError(f"{self._where()}: inputs must be integer token ids, got non-integer floats")
            ids = ids.astype(np.int64)
        elif ids.dtype.kind not in "iu":
            raise TypeError(f"{self._where()}: inputs must be integer token ids, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            raise ValueError(f"{self._where()}: token ids must be in [0, {self.input_dim}) (input_dim={self.input_dim}), "
                             f"got values in [{int(ids.min())}, {int(ids.max())}]")
        return F.embedding(ids, self.embeddings)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "mask_zero": self.mask_zero, "input_length": self.input_length}
