"""Recurrent layers: SimpleRNN, LSTM, GRU (whole-sequence kernels) and the Bidirectional wrapper.

Keras layouts: inputs (batch, timesteps, features); kernel (features, G*units), recurrent_kernel
(units, G*units) with G = 1 / 4 (gates i, f, c, o) / 3 (gates z, r, h); GRU bias (2, 3*units)
(reset_after=True). Returns the last output, or the whole sequence with return_sequences=True;
return_state=True returns [output, *final_states].

How a sequence is run (Keras 3's semantics in each case):

- no mask, no recurrent dropout: one whole-sequence kernel call (input `dropout` multiplies the
  inputs by one mask for all time steps first, as Keras's fused path does);
- a mask (Masking, Embedding(mask_zero=True)): one kernel call per time step; a masked step keeps
  the states and repeats the previous output (zeros inside Bidirectional with return_sequences);
- `recurrent_dropout`: the cell in array operations, one step at a time, with one dropout mask per
  gate for the inputs and for the previous output (Keras's implementation 1).

`unroll` is accepted for Keras compatibility: it is an execution hint (unrolling a symbolic loop)
with the same results, and dlcore's loops are always eager. `stateful=True` keeps the final states
of each batch as the initial states of the next (same batch size, as in Keras) until
`reset_states()`. Keras 3 has no `time_major` argument, nor does dlcore.
"""
from __future__ import annotations

import numpy as np

from .. import _random, initializers, regularizers
from .. import functional as F
from ..tensor import Tensor, concatenate, stack
from .base import Layer
from .core import seed_arg


class _RNN(Layer):
    gates = 1
    n_states = 1
    kernel_activation = ("tanh",)

    supports_masking = True
    zero_output_for_mask = False  # Bidirectional sets it when it returns sequences (as Keras)

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 **kwargs):
        super().__init__(**kwargs)
        where = self._where()
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"{where}: 'units' must be a positive int, got {units!r}")
        if activation != "tanh":
            raise ValueError(f"{where}: only activation='tanh' is supported by the recurrent kernels, got {activation!r}")
        for arg, v in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v < 1.0:
                raise ValueError(f"{where}: '{arg}' must be a float in [0, 1), got {v!r}")
        self.dropout, self.recurrent_dropout, self.seed = float(dropout), float(recurrent_dropout), seed
        self._rng = seed_arg(self, seed)
        self._states = None  # stateful=True: the final states of the last batch (arrays)
        self.units, self.activation, self.use_bias = int(units), activation, bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), bool(stateful), bool(unroll)

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

    def call(self, inputs, mask=None, training=None, initial_state=None):
        if inputs.ndim != 3 or inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"{self._where()}: expected input of shape (batch, timesteps, {self.kernel.shape[0]}), "
                             f"got shape {tuple(inputs.shape)}")
        if initial_state is None and self.stateful:
            initial_state = self._stateful_states(inputs.shape[0])
        states = self._initial_state(inputs, initial_state)
        training = self._training(training)
        x = inputs[:, ::-1] if self.go_backwards else inputs
        if mask is not None:
            mask = np.asarray(mask.get() if hasattr(mask, "get") and not isinstance(mask, np.ndarray) else mask)
            if mask.shape != tuple(inputs.shape[:2]):
                raise ValueError(f"{self._where()}: the mask must have shape (batch, timesteps) = "
                                 f"{tuple(inputs.shape[:2])}, got {mask.shape}")
            mask = mask[:, ::-1] if self.go_backwards else mask
        batch, features = inputs.shape[0], inputs.shape[2]
        rec_masks = self._dropout_masks(training, self.recurrent_dropout, (batch, self.units), per_gate=True)
        in_masks = self._dropout_masks(training, self.dropout, (batch, features), per_gate=rec_masks is not None)
        if rec_masks is not None:
            seq, finals = self._run_cells(x, states, mask, in_masks, rec_masks)
        else:
            if in_masks is not None:  # one mask for every time step (Keras's fused path)
                x = x * Tensor(in_masks[:, None, :])
            seq, finals = self._run(x, states) if mask is None else self._run_masked(x, states, mask)
        if self.stateful:
            self._states = [s.data.copy() for s in finals]
        out = seq if self.return_sequences else finals[0]
        return [out, *finals] if self.return_state else out

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        return [out] + [None] * self.n_states if self.return_state else out

    # ---- stateful -----------------------------------------------------------------------------
    def _stateful_states(self, batch):
        fixed = self.batch_input_shape[0] if self.batch_input_shape else None
        if self._states is None:
            if fixed is not None and batch != fixed:
                raise ValueError(f"{self._where()}: stateful=True with batch size {fixed} (batch_input_shape), got a "
                                 f"batch of {batch}")
            return None
        if self._states[0].shape[0] != batch:
            raise ValueError(f"{self._where()}: stateful=True keeps one state per sample of a fixed batch size "
                             f"({self._states[0].shape[0]}); got a batch of {batch}. Use batches of the same size "
                             f"(e.g. fit(..., shuffle=False) with a batch size that divides the data), or "
                             f"reset_states() first")
        return [Tensor(s) for s in self._states]

    def reset_states(self, states=None):
        """Forget the states kept by stateful=True (the next batch starts from zeros), or set them."""
        if not self.stateful:
            raise AttributeError(f"{self._where()}: reset_states() is for layers made with stateful=True")
        if states is None:
            self._states = None
            return
        states = [states] if isinstance(states, (np.ndarray, Tensor)) else list(states)
        if len(states) != self.n_states:
            raise ValueError(f"{self._where()}: reset_states expects {self.n_states} state array(s), got {len(states)}")
        arrays = [np.array(s.numpy() if isinstance(s, Tensor) else s, dtype=self.dtype) for s in states]
        for a in arrays:
            if a.ndim != 2 or a.shape[1] != self.units:
                raise ValueError(f"{self._where()}: each state must have shape (batch, {self.units}), got {a.shape}")
        self._states = arrays

    reset_state = reset_states

    # ---- dropout and the step-by-step paths ------------------------------------------------------
    def _dropout_masks(self, training, rate, shape, per_gate=False):
        """None, one mask (scaled by 1/(1-rate)) or, per_gate, one per gate (Keras's implementation 1)."""
        if not training or rate == 0.0:
            return None
        rng = self._rng if self._rng is not None else _random.generator()
        n = self.gates if per_gate else 1
        masks = (rng.random((n,) + shape) >= rate).astype(self.dtype) / self.dtype.type(1.0 - rate)
        return masks if per_gate else masks[0]

    def _zero_states(self, batch, states):
        return [s if s is not None else Tensor(np.zeros((batch, self.units), self.dtype)) for s in states]

    def _blend(self, step_mask, new, old):
        m = Tensor(step_mask[:, None].astype(self.dtype))
        return new * m + old * (1.0 - m)

    def _run_masked(self, x, states, mask):
        """One kernel call per step; masked steps keep the states and the previous output."""
        batch, steps = x.shape[0], x.shape[1]
        states = self._zero_states(batch, states)
        prev = Tensor(np.zeros((batch, self.units), self.dtype))
        outs = []
        for t in range(steps):
            _, new = self._run(x[:, t:t + 1], states)
            m = mask[:, t]
            states = [self._blend(m, n, s) for n, s in zip(new, states)]
            prev = self._blend(m, new[0], prev if not self.zero_output_for_mask else prev * 0.0)
            outs.append(prev)
        return stack(outs, axis=1), states

    def _run_cells(self, x, states, mask, in_masks, rec_masks):
        """The cell in array operations, step by step, with per-gate dropout masks (and the mask)."""
        batch, steps = x.shape[0], x.shape[1]
        states = self._zero_states(batch, states)
        prev = Tensor(np.zeros((batch, self.units), self.dtype))
        outs = []
        for t in range(steps):
            new = self._cell(x[:, t], states, in_masks, rec_masks)
            if mask is not None:
                m = mask[:, t]
                new_states = [self._blend(m, n, s) for n, s in zip(new, states)]
                out = self._blend(m, new[0], prev if not self.zero_output_for_mask else prev * 0.0)
            else:
                new_states, out = new, new[0]
            states, prev = new_states, out
            outs.append(out)
        return stack(outs, axis=1), states

    def _gate(self, x_t, h, g, in_masks, rec_masks):
        """x_t @ kernel_g and h @ recurrent_kernel_g, each input multiplied by gate g's dropout mask."""
        u = self.units
        xg = x_t * Tensor(in_masks[g]) if in_masks is not None else x_t
        hg = h * Tensor(rec_masks[g])
        return xg @ self.kernel[:, g * u:(g + 1) * u], hg @ self.recurrent_kernel[:, g * u:(g + 1) * u]

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
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed,
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll}

    def extra_repr(self):
        return f"units={self.units}, return_sequences={self.return_sequences}"


class SimpleRNN(_RNN):
    """h_t = tanh(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)."""

    def _run(self, x, states):
        seq, h = F.simple_rnn(x, states[0], self.kernel, self.recurrent_kernel, self.bias)
        return seq, [h]

    def _cell(self, x_t, states, in_masks, rec_masks):
        xk, hk = self._gate(x_t, states[0], 0, in_masks, rec_masks)
        return [(xk + hk + self.bias).tanh()]


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

    def _cell(self, x_t, states, in_masks, rec_masks):
        h, c = states
        u = self.units
        z = [sum(self._gate(x_t, h, g, in_masks, rec_masks)) + self.bias[g * u:(g + 1) * u] for g in range(4)]
        i, f, cc, o = z[0].sigmoid(), z[1].sigmoid(), z[2].tanh(), z[3].sigmoid()
        c = f * c + i * cc
        return [o * c.tanh(), c]

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

    def _cell(self, x_t, states, in_masks, rec_masks):
        h = states[0]
        u = self.units
        xs, hs = zip(*[self._gate(x_t, h, g, in_masks, rec_masks) for g in range(3)])
        xs = [xs[g] + self.bias[0, g * u:(g + 1) * u] for g in range(3)]
        hs = [hs[g] + self.bias[1, g * u:(g + 1) * u] for g in range(3)]
        z, r = (xs[0] + hs[0]).sigmoid(), (xs[1] + hs[1]).sigmoid()
        hh = (xs[2] + r * hs[2]).tanh()
        return [z * h + (1.0 - z) * hh]

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
        if layer.stateful:
            raise ValueError(f"{self._where()}: a stateful layer cannot be wrapped in Bidirectional")
        self.forward_layer = layer
        if backward_layer is None:
            config = layer.get_config()
            config.update(name="backward_" + layer.name, go_backwards=not layer.go_backwards)
            config.pop("batch_input_shape", None)
            backward_layer = type(layer).from_config(config)
        elif not isinstance(backward_layer, _RNN):
            raise TypeError(f"{self._where()}: 'backward_layer' must be None or a SimpleRNN, LSTM or GRU layer, got "
                            f"{type(backward_layer).__name__}")
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state
        for sub in (self.forward_layer, self.backward_layer):  # masked steps output zeros (Keras)
            sub.zero_output_for_mask = sub.return_sequences

    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        n = 2 * self.forward_layer.n_states
        return [out] + [None] * n if self.return_state else out

    def build(self, input_shape):
        self.forward_layer.build(input_shape)
        self.forward_layer.built = True
        self.backward_layer.build(input_shape)
        self.backward_layer.built = True
        self.built = True

    def call(self, inputs, mask=None, training=None, initial_state=None):
        n = self.forward_layer.n_states
        fs, bs = (None, None) if initial_state is None else (initial_state[:n], initial_state[n:])
        f = self.forward_layer(inputs, mask=mask, training=training, initial_state=fs)
        b = self.backward_layer(inputs, mask=mask, training=training, initial_state=bs)
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
