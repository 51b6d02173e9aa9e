"""Core layers: Dense, Activation, Flatten, Reshape, Dropout, Embedding, Masking."""
from __future__ import annotations

import numpy as np

from .. import activations, initializers, regularizers
from .. import functional as F
from ..module import shape_arg
from ..tensor import Tensor
from .base import Layer, activation_arg, float_arg


def seed_arg(layer, seed):
    """A layer's own random Generator from `seed` (Keras's seed=), or None for dlcore's global one."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{layer._where()}: 'seed' must be a non-negative int or None, got {seed!r}")
    return np.random.default_rng(int(seed))


class Dense(Layer):
    """outputs = activation(inputs @ kernel + bias); kernel (in, units), inputs (..., in).

    relu/sigmoid/tanh run fused in the GEMM epilogue. The weights exist when the constructor
    returns if the input size is given (`input_dim=`, `input_shape=`, or PyTorch's `in_features=`),
    else they are created on the first call. Time steps keep their mask.
    """

    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, in_features=None,
                 **kwargs):
        if in_features is not None:
            if kwargs.get("input_dim") not in (None, in_features):
                raise ValueError(f"Dense: 'in_features' ({in_features!r}) and 'input_dim' ({kwargs['input_dim']!r}) "
                                 f"disagree; give one of them")
            kwargs["input_dim"] = in_features
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
    """Applies an activation function (a name from dl.activations or a callable) to its input."""

    supports_masking = True

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

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{self._where()}: only data_format='channels_last' is supported, got {data_format!r}")
        self.data_format = data_format

    def get_config(self):
        config = super().get_config()
        if self.data_format is not None:
            config["data_format"] = self.data_format
        return config

    def call(self, inputs, training=None):
        if inputs.ndim < 1:
            raise ValueError(f"{self._where()}: expected an input with a batch axis, got shape {inputs.shape}")
        # the per-sample size spelled out: NumPy cannot infer a -1 beside an empty batch axis
        return inputs.reshape(inputs.shape[0], int(np.prod(inputs.shape[1:])))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if any(s is None for s in rest) else int(np.prod(rest)))


class Reshape(Layer):
    """(batch, ...) -> (batch,) + target_shape (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target_shape = shape_arg(self._where(), "target_shape", target_shape, unknown=False)
        if sum(1 for s in target_shape if s == -1) > 1 or any(s == 0 or s < -1 for s in target_shape):
            raise ValueError(f"{self._where()}: 'target_shape' must have positive entries and at most one -1, "
                             f"got {target_shape}")
        self.target_shape = target_shape

    def call(self, inputs, training=None):
        if inputs.ndim < 1:
            raise ValueError(f"{self._where()}: expected an input with a batch axis, got shape {inputs.shape}")
        size = int(np.prod(inputs.shape[1:]))
        known = int(np.prod([s for s in self.target_shape if s != -1]))
        if (-1 in self.target_shape and size % known) or (-1 not in self.target_shape and size != known):
            raise ValueError(f"{self._where()}: cannot reshape an input of shape {tuple(inputs.shape)} "
                             f"({size} values per sample) to target_shape {self.target_shape}")
        # the -1 resolved here: NumPy cannot infer it beside an empty batch axis
        target = tuple(size // known if s == -1 else s for s in self.target_shape)
        return inputs.reshape((inputs.shape[0],) + target)

    def compute_output_shape(self, input_shape):
        shape = list(self.target_shape)
        if -1 in shape:
            size = int(np.prod(input_shape[1:]))
            shape[shape.index(-1)] = size // int(np.prod([s for s in shape if s != -1]))
        return (input_shape[0],) + tuple(shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Dropout(Layer):
    """Zero inputs with probability `rate` during training (scaled by 1/(1-rate)); identity at inference.

    Args:
        rate: the fraction of the inputs to drop, in [0, 1).
        noise_shape: the shape of the random mask, broadcast to the input: None (or the input's
            size) keeps an axis, 1 shares one draw along it; e.g. (None, 1, None) drops the same
            features at every time step of a (batch, time, features) input.
        seed: an int for a layer-own random generator (reproducible masks), or None to draw from
            dlcore's generator (seeded by dl.manual_seed).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    drop = dl.layers.Dropout(0.5, noise_shape=(None, 1, None), seed=0)
    y = drop(np.ones((2, 3, 4), np.float32), training=True).numpy()
    assert (y == y[:, :1, :]).all()          # one mask for every time step
    assert (drop(np.ones((2, 3, 4))).numpy() == 1).all()   # inference: identity
    ```
    """

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = float_arg(rate, self._where(), "rate", 0.0, 1.0, high_open=True)
        if noise_shape is not None:
            if not isinstance(noise_shape, (list, tuple)) or not all(
                    n is None or (isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1)
                    for n in noise_shape):
                raise ValueError(f"{self._where()}: 'noise_shape' must be a tuple of positive ints and Nones, got "
                                 f"{noise_shape!r}")
            noise_shape = tuple(None if n is None else int(n) for n in noise_shape)
        self.noise_shape, self.seed = noise_shape, seed
        self._rng = seed_arg(self, seed)

    def call(self, inputs, training=None):
        if self.noise_shape is not None and len(self.noise_shape) != inputs.ndim:
            raise ValueError(f"{self._where()}: 'noise_shape' {self.noise_shape} has {len(self.noise_shape)} "
                             f"entries, the input has {inputs.ndim} axes (shape {tuple(inputs.shape)})")
        return F.dropout(inputs, self.rate, training=self._training(training), noise_shape=self.noise_shape,
                         rng=self._rng)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape), "seed": self.seed}


class Embedding(Layer):
    """Integer ids (batch, ...) -> rows of `embeddings` (input_dim, output_dim): (batch, ..., output_dim).

    The weights exist when the constructor returns (their shape does not depend on the input).

    Args:
        input_dim: the vocabulary size (ids are in [0, input_dim)).
        output_dim: the size of each embedding vector.
        embeddings_initializer, embeddings_regularizer: as in Keras.
        mask_zero: id 0 is padding: the output carries a mask (ids != 0) that recurrent layers,
            losses and metrics read, so padded time steps do not count (Keras).
        input_length: the number of ids per sample, when fixed: inputs of another length are refused.
        weights: initial values of the embeddings, an array (input_dim, output_dim) or a list of one.

    Input shape: (batch, ...) integer ids. Output shape: (batch, ..., output_dim).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    emb = dl.layers.Embedding(10, 4, mask_zero=True)
    ids = np.array([[3, 5, 0, 0]])
    out = emb(ids)
    assert out.shape == (1, 4, 4)
    assert emb.compute_mask(ids).tolist() == [[True, True, False, False]]
    ```
    """

    cast_inputs = False

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 mask_zero=False, input_length=None, weights=None, **kwargs):
        super().__init__(**kwargs)
        for arg, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{self._where()}: '{arg}' must be a positive int, got {v!r}")
        if input_length is not None and (isinstance(input_length, bool) or not isinstance(
                input_length, (int, np.integer)) or input_length < 1):
            raise ValueError(f"{self._where()}: 'input_length' must be a positive int or None, got {input_length!r}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        if embeddings_initializer == "uniform":
            embeddings_initializer = initializers.RandomUniform(-0.05, 0.05)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.input_length = None if input_length is None else int(input_length)
        if weights is not None:
            w = weights[0] if isinstance(weights, (list, tuple)) and len(weights) == 1 else weights
            w = w.numpy() if isinstance(w, Tensor) else np.asarray(w)
            if w.shape != (self.input_dim, self.output_dim):
                raise ValueError(f"{self._where()}: 'weights' must be an array of shape ({self.input_dim}, "
                                 f"{self.output_dim}) (input_dim, output_dim), got shape {w.shape}")
            weights = w
        self._initial_weights = weights

    def _known_input_shape(self):
        return self.batch_input_shape or (None, self.input_length)

    def build(self, input_shape):
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer,
                        regularizer=self.embeddings_regularizer)
        if self._initial_weights is not None:
            self.embeddings.data[...] = self._initial_weights
            self._initial_weights = None
        self.built = True

    def _ids(self, inputs):
        ids = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
        if ids.dtype.kind == "f":
            if ids.size and not (ids == np.round(ids)).all():
                raise TypeError(f"{self._where()}: inputs must be integer token ids, got non-integer floats")
            ids = ids.astype(np.int64)
        elif ids.dtype.kind not in "iu":
            raise TypeError(f"{self._where()}: inputs must be integer token ids, got dtype {ids.dtype}")
        return ids

    def call(self, inputs, training=None):
        raw = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
        # the output's memory first: ids too many for it (a broadcast view of 2**40 ids) fail at once
        # with MemoryError, before the checks below scan every id
        np.empty(raw.shape + (self.output_dim,), self.dtype)
        ids = self._ids(inputs)
        if self.input_length is not None and (ids.ndim < 2 or ids.shape[1] != self.input_length):
            raise ValueError(f"{self._where()}: expected inputs of shape (batch, {self.input_length}) "
                             f"(input_length={self.input_length}), got shape {tuple(ids.shape)}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            raise ValueError(f"{self._where()}: token ids must be in [0, {self.input_dim}) (input_dim={self.input_dim}), "
                             f"got values in [{int(ids.min())}, {int(ids.max())}]")
        return F.embedding(ids, self.embeddings)

    def compute_mask(self, inputs, mask=None):
        """ids != 0 when mask_zero=True (a boolean array shaped like the ids), else None."""
        if not self.mask_zero:
            return None
        return self._ids(inputs) != 0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "mask_zero": self.mask_zero, "input_length": self.input_length}


class Masking(Layer):
    """Masks the time steps whose features all equal `mask_value` (Keras).

    The output is the input with those steps set to 0, and it carries a mask (batch, time) that
    recurrent layers (which skip masked steps), losses and metrics (which leave them out) read.

    Args:
        mask_value: the padding value (default 0.0).

    Input shape: (batch, time, features). Output shape: the same.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]], np.float32)
    layer = dl.layers.Masking(mask_value=0.0)
    assert layer.compute_mask(x).tolist() == [[True, False, True]]
    assert np.array_equal(layer(x).numpy(), x)
    ```
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.number)):
            raise TypeError(f"{self._where()}: 'mask_value' must be a number, got {mask_value!r}")
        self.mask_value = float(mask_value)

    def compute_mask(self, inputs, mask=None):
        x = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
        return (x != self.mask_value).any(axis=-1)

    def call(self, inputs, training=None):
        if inputs.ndim < 2:
            raise ValueError(f"{self._where()}: expected an input (batch, ..., features), got shape "
                             f"{tuple(inputs.shape)}")
        keep = self.compute_mask(inputs)
        return inputs * Tensor(keep[..., None].astype(inputs.dtype))

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
