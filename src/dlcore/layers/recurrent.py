"""Recurrent layers: SimpleRNN, LSTM, GRU (whole-sequence kernels) and the Bidirectional wrapper.

Keras layouts: inputs (batch, timesteps, features); kernel (features, G*units), recurrent_kernel
(units, G*units) with G = 1 / 4 (gates i, f, c, o) / 3 (gates z, r, h); GRU bias (2, 3*units)
(reset_after=True). Returns the last output, or the whole sequence with return_sequences=True;
return_state=True returns [output, *final_states].
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import initializers, regularizers
from ..tensor import Tensor, concatenate
from .base import Layer


class _RNN(Layer):
    gates = 1
    n_states = 1
    kernel_activation = ("tanh",)

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, **kwargs):
        super().__init__(**kwargs)
        where = self._where()
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"{where}: 'units' must be a positive int, got {units!r}")
        if activation != "tanh":
            raise ValueError(f"{where}: only activation='tanh' is supported by the recurrent kernels, got {activation!r}")
        if stateful:
            raise ValueError(f"{where}: stateful=True is not supported")
        self.units, self.activation, self.use_bias = int(units), activation, bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), False, bool(unroll)

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_init(self, shape, dtype):
        return self.bias_initializer(shape, dtype)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self._where()}: expected a 3-D input (batch, timesteps, features), "
                             f"got shape {tuple(input_shape)}")
        g, u = self.gates, self.units
        self.add_weight("kernel", (input_shape[-1], g * u), self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.add_weight("recurrent_kernel", (u, g * u), self.recurrent_initializer,
                        regularizer=self.recurrent_regularizer)
        # the kernels always take a bias; use_bias=False keeps it at zero and frozen
        self.add_weight("bias", self._bias_shape(), self._bias_init, trainable=self.use_bias,
                        regularizer=self.bias_regularizer if self.use_bias else None)
        self.built = True

    def _initial_state(self, inputs, initial_state):
        if initial_state is None:
            return [None] * self.n_states
        if isinstance(initial_state, (Tensor, np.ndarray)):
            initial_state = [initial_state]
        if len(initial_state) != self.n_states:
            raise ValueError(f"{self._where()}: 'initial_state' must be a list of {self.n_states} tensor(s), got "
                             f"{len(initial_state)}")
        states = [self._as_input(s, "initial_state") for s in initial_state]
        for s in states:
            if s.shape != (inputs.shape[0], self.units):
                raise ValueError(f"{self._where()}: each initial state must have shape ({inputs.shape[0]}, {self.units}), "
                                 f"got {s.shape}")
        return states

    def call(self, inputs, initial_state=None, training=None):
        if inputs.ndim != 3 or inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"{self._where()}: expected input of shape (batch, timesteps, {self.kernel.shape[0]}), "
                             f"got shape {tuple(inputs.shape)}")
        states = self._initial_state(inputs, initial_state)
        x = inputs[:, ::-1] if self.go_backwards else inputs
        seq, finals = self._run(x, states)
        out = seq if self.return_sequences else finals[0]
        return [out, *finals] if self.return_state else out

    def compute_output_shape(self, input_shape):
        b, t = input_shape[0], input_shape[1]
        out = (b, t, self.units) if self.return_sequences else (b, self.units)
        return [out] + [(b, self.units)] * self.n_states if self.return_state else out

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation, "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "unroll": self.unroll}

    def extra_repr(self):
        return f"units={self.units}, return_sequences={self.return_sequences}"


class SimpleRNN(_RNN):
    """h_t = tanh(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)."""

    def _run(self, x, states):
        seq, h = F.simple_rnn(x, states[0], self.kernel, self.recurrent_kernel, self.bias)
        return seq, [h]


class LSTM(_RNN):
    """Long short-term memory, Keras gate order i, f, c, o; unit_forget_bias starts the f bias at 1."""

    gates = 4
    n_states = 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", unit_forget_bias=True, **kwargs):
        if recurrent_activation != "sigmoid":
            raise ValueError(f"LSTM: only recurrent_activation='sigmoid' is supported, got {recurrent_activation!r}")
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation, self.unit_forget_bias = recurrent_activation, bool(unit_forget_bias)

    def _bias_init(self, shape, dtype):
        b = np.asarray(self.bias_initializer(shape, dtype))
        if self.unit_forget_bias and self.use_bias:
            b[self.units:2 * self.units] = 1.0
        return b

    def _run(self, x, states):
        seq, (h, c) = F.lstm(x, states[0], states[1], self.kernel, self.recurrent_kernel, self.bias)
        return seq, [h, c]

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": self.recurrent_activation,
                "unit_forget_bias": self.unit_forget_bias}


class GRU(_RNN):
    """Gated recurrent unit, Keras reset_after=True (gates z, r, h; bias (2, 3*units))."""

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True, **kwargs):
        if recurrent_activation != "sigmoid":
            raise ValueError(f"GRU: only recurrent_activation='sigmoid' is supported, got {recurrent_activation!r}")
        if not reset_after:
            raise ValueError("GRU: only reset_after=True (the Keras default) is supported")
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation, self.reset_after = recurrent_activation, True

    def _bias_shape(self):
        return (2, 3 * self.units)

    def _run(self, x, states):
        seq, h = F.gru(x, states[0], self.kernel, self.recurrent_kernel, self.bias)
        return seq, [h]

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": self.recurrent_activation, "reset_after": True}


class Bidirectional(Layer):
    """Runs `layer` forwards and a copy of it backwards in time, merging the outputs.

    merge_mode: "concat" (default), "sum", "mul", "ave", or None (a list of both outputs).
    """

    def __init__(self, layer, merge_mode="concat", backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, _RNN):
            raise TypeError(f"{self._where()}: 'layer' must be a SimpleRNN, LSTM or GRU layer, got {type(layer).__name__}")
        if merge_mode not in ("concat", "sum", "mul", "ave", None):
            raise ValueError(f"{self._where()}: 'merge_mode' must be 'concat', 'sum', 'mul', 'ave' or None, "
                             f"got {merge_mode!r}")
        self.forward_layer = layer
        if backward_layer is None:
            config = layer.get_config()
            config.update(name="backward_" + layer.name, go_backwards=not layer.go_backwards)
            config.pop("batch_input_shape", None)
            backward_layer = type(layer).from_config(config)
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state

    def build(self, input_shape):
        self.forward_layer.build(input_shape)
        self.forward_layer.built = True
        self.backward_layer.build(input_shape)
        self.backward_layer.built = True
        self.built = True

    def call(self, inputs, initial_state=None, training=None):
        n = self.forward_layer.n_states
        fs, bs = (None, None) if initial_state is None else (initial_state[:n], initial_state[n:])
        f = self.forward_layer(inputs, initial_state=fs)
        b = self.backward_layer(inputs, initial_state=bs)
        f_out, f_states = (f[0], f[1:]) if self.return_state else (f, [])
        b_out, b_states = (b[0], b[1:]) if self.return_state else (b, [])
        if self.return_sequences:
            b_out = b_out[:, ::-1]
        out = self._merge(f_out, b_out)
        return [out, *f_states, *b_states] if self.return_state else out

    def _merge(self, a, b):
        if self.merge_mode == "concat":
            return concatenate([a, b], axis=-1)
        if self.merge_mode == "sum":
            return a + b
        if self.merge_mode == "mul":
            return a * b
        if self.merge_mode == "ave":
            return (a + b) * 0.5
        return [a, b]

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        out = shape[0] if self.return_state else shape
        if self.merge_mode == "concat":
            out = tuple(out[:-1]) + (2 * out[-1],)
        return out

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": {"class_name": type(self.forward_layer).__name__, "config": self.forward_layer.get_config()}}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        inner = config.pop("layer")
        layer = _recurrent_class(inner["class_name"]).from_config(inner["config"])
        return cls(layer, **config)


def _recurrent_class(class_name):
    """The recurrent layer class a Bidirectional config names (the only layers it can wrap)."""
    classes = {c.__name__: c for c in (SimpleRNN, LSTM, GRU)}
    if class_name not in classes:
        raise ValueError(f"Bidirectional: unknown recurrent layer class {class_name!r}; expected one of "
                         f"{sorted(classes)}")
    return classes[class_name]
