"""Attention layers (Keras 3's): Attention (dot-product / additive "Luong" attention over a value
sequence) and MultiHeadAttention (Vaswani et al.). Both are compositions of differentiable tensor ops
(matmul, softmax, the GEMM of `F.linear`) and take their padding masks explicitly.

Masks are boolean (or 0/1) arrays: True where a position may be attended to. MultiHeadAttention
follows Keras's masked softmax (a masked score becomes -1e9 and its weight 0, so a fully masked row
gives zeros); Attention subtracts 1e9 from the masked scores, as Keras's Attention does.

As in Keras, both layers read the masks their inputs carry (`Embedding(mask_zero=True)`, `Masking`)
when no mask is given for that input: Attention's `mask=[query_mask, value_mask]`, MultiHeadAttention's
`query_mask`, `value_mask` and `key_mask` (the key's only when a key other than the value is given).
The output carries the query's mask.

In a functional model (`dl.Input`), `mha(query, value)` records one node whose inputs are the query,
the value (and the key), and any mask given as a symbolic tensor; `return_attention_scores=True` then
gives two outputs.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import functional as F
from .. import graph, initializers, regularizers
from ..call_context import get_mask
from ..primitives import get_array_module
from ..tensor import Tensor
from .base import Layer, _attach_masks

_MASKS = ("query_mask", "value_mask", "key_mask", "attention_mask")


def _bool_mask(layer, name, mask, xp):
    """A mask (Tensor, NumPy / CuPy array, nested list) as a boolean array of the inputs' module."""
    if mask is None:
        return None
    m = mask.data if isinstance(mask, Tensor) else mask
    m = xp.asarray(m)
    if m.dtype != bool:
        if m.dtype.kind not in "fiub":
            raise TypeError(f"{layer._where()}: '{name}' must be a boolean or numeric array, got dtype {m.dtype}")
        m = m > 0.5
    return m


def _causal(tq, tk, xp):
    """(1, Tq, Tk): position i may attend to positions j <= i."""
    return xp.tril(xp.ones((tq, tk), dtype=bool))[None]


class _AttentionBase(Layer):
    """The list / keyword plumbing both attention layers share."""

    takes_list = True

    def _inputs(self, values):
        """Each input as a Tensor of the layer's float dtype."""
        return [self._as_input(v, name=f"inputs[{i}]") for i, v in enumerate(values)]

    def _rng_init(self, seed):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise ValueError(f"{self._where()}: 'seed' must be None or an int >= 0, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self._rng = np.random.default_rng(self.seed) if self.seed is not None else None

    def _dropout_arg(self, dropout):
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
            raise ValueError(f"{self._where()}: 'dropout' must be a float in [0, 1), got {dropout!r}")
        return float(dropout)


class Attention(_AttentionBase):
    """Dot-product attention (Luong style), as Keras's Attention layer.

    Called on `[query, value]` or `[query, value, key]` (key defaults to value):
    scores = query @ key^T (times the learned `scale` with use_scale=True), or with
    score_mode="concat" `concat_score_weight * sum(tanh(scale * (query_i + key_j)))`; weights =
    softmax(scores) over the value steps; output = weights @ value.

    Args:
        use_scale: learn a scalar `scale` multiplying the scores (initialized to 1).
        score_mode: "dot" or "concat" (additive; learns `concat_score_weight`, initialized to 1).
        dropout: the fraction of attention weights dropped in training.
        seed: an int for this layer's own random stream (dropout), or None for dlcore's global one.

    Call arguments:
        inputs: [query (batch, Tq, dim), value (batch, Tv, dim)] or [query, value, key (batch, Tv, dim)].
        mask: None or [query_mask (batch, Tq), value_mask (batch, Tv)] (either may be None): masked
            value steps get no weight (their score minus 1e9), masked query steps output zeros. Not
            given, the masks the query and the value carry are used (Keras); the output carries the
            query mask.
        training: dropout only when True (default: the layer's mode).
        return_attention_scores: also return the weights (batch, Tq, Tv).
        use_causal_mask: query step i attends to value steps j <= i only.

    Input shape: as `inputs` above.
    Output shape: (batch, Tq, dim of value), and (batch, Tq, Tv) with return_attention_scores.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    q, v = np.random.rand(2, 3, 4).astype("float32"), np.random.rand(2, 5, 4).astype("float32")
    out, weights = dl.layers.Attention()([q, v], return_attention_scores=True)
    assert out.shape == (2, 3, 4) and np.allclose(weights.numpy().sum(-1), 1.0, atol=1e-6)
    ```
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{self._where()}: 'score_mode' must be 'dot' or 'concat', got {score_mode!r}")
        self.use_scale, self.score_mode = bool(use_scale), score_mode
        self.dropout = self._dropout_arg(dropout)
        self._rng_init(seed)

    def _shapes(self, input_shape):
        if not (isinstance(input_shape, (list, tuple)) and len(input_shape) in (2, 3)
                and all(isinstance(s, (list, tuple)) for s in input_shape)):
            raise ValueError(f"{self._where()}: expected inputs [query, value] or [query, value, key], got "
                             f"{input_shape!r}")
        return [tuple(s) for s in input_shape]

    def build(self, input_shape):
        shapes = self._shapes(input_shape)
        if any(len(s) != 3 for s in shapes):
            raise ValueError(f"{self._where()}: query, value and key must be 3-D (batch, steps, dim), got shapes "
                             f"{shapes}")
        self.scale = self.add_weight("scale", (), "ones") if self.use_scale else None
        self.concat_score_weight = self.add_weight("concat_score_weight", (), "ones") \
            if self.score_mode == "concat" else None
        self.built = True

    supports_masking = True  # the output keeps the query's steps, and its mask

    def _call_eager(self, inputs, mask=None, **kwargs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise ValueError(f"{self._where()}: expected inputs [query, value] or [query, value, key], got "
                             f"{type(inputs).__name__}")
        if mask is None:
            # Keras: the masks the query and the value carry; the key's is not read (its steps are the
            # value's). Given as [None, None] when neither has one, so that a masked key alone changes nothing.
            mask = [get_mask(inputs[0]), get_mask(inputs[1])]
        return super()._call_eager(list(inputs), mask=mask, **kwargs)

    def compute_mask(self, inputs, mask=None):
        """The query mask (Keras): the output has the query's steps."""
        if mask is None or not isinstance(mask, (list, tuple)) or not mask or mask[0] is None:
            return None
        return _bool_mask(self, "query_mask", mask[0], get_array_module(inputs[0].data))

    def call(self, inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=False):
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        for name, t in (("query", q), ("value", v), ("key", k)):
            if t.ndim != 3:
                raise ValueError(f"{self._where()}: {name} must be 3-D (batch, steps, dim), got shape {tuple(t.shape)}")
        if q.shape[0] != v.shape[0] or k.shape[:2] != v.shape[:2] or q.shape[2] != k.shape[2]:
            raise ValueError(f"{self._where()}: incompatible shapes query {tuple(q.shape)}, value {tuple(v.shape)}, "
                             f"key {tuple(k.shape)} (same batch, key steps = value steps, query dim = key dim)")
        if mask is not None and (not isinstance(mask, (list, tuple)) or len(mask) != 2):
            raise ValueError(f"{self._where()}: 'mask' must be None or [query_mask, value_mask], got {mask!r:.80}")
        xp = get_array_module(q.data)
        q_mask, v_mask = (None, None) if mask is None else (_bool_mask(self, "query_mask", mask[0], xp),
                                                            _bool_mask(self, "value_mask", mask[1], xp))
        for name, m, t in (("query_mask", q_mask, q), ("value_mask", v_mask, v)):
            if m is not None and tuple(m.shape) != tuple(t.shape[:2]):
                raise ValueError(f"{self._where()}: '{name}' must have shape {tuple(t.shape[:2])}, got "
                                 f"{tuple(m.shape)}")
        if self.score_mode == "dot":
            scores = q @ k.transpose(0, 2, 1)
            if self.scale is not None:
                scores = scores * self.scale
        else:
            summed = q.reshape(q.shape[0], q.shape[1], 1, q.shape[2]) + k.reshape(k.shape[0], 1, k.shape[1], k.shape[2])
            if self.scale is not None:
                summed = summed * self.scale
            scores = self.concat_score_weight * summed.tanh().sum(axis=-1)
        allowed = None if v_mask is None else v_mask[:, None, :]
        if use_causal_mask:
            causal = _causal(q.shape[1], k.shape[1], xp)
            allowed = causal if allowed is None else allowed & causal
        if allowed is not None:
            scores = scores - (~allowed).astype(scores.dtype) * 1e9
        weights = F.softmax(scores, axis=-1)
        if self.dropout > 0:
            weights = F.seeded_dropout(weights, self.dropout, training=self._training(training), rng=self._rng)
        out = weights @ v
        if q_mask is not None:
            out = out * q_mask[:, :, None].astype(out.dtype)
        return (out, weights) if return_attention_scores else out

    def compute_output_shape(self, input_shape):
        shapes = self._shapes(input_shape)
        out = shapes[0][:-1] + (shapes[1][-1],)
        if getattr(self, "_scores_requested", False):
            return [out, shapes[0][:-1] + (shapes[-1][1],)]
        return out

    def __call__(self, inputs, *args, **kwargs):
        self._scores_requested = bool(kwargs.get("return_attention_scores", False))
        try:
            return super().__call__(inputs, *args, **kwargs)
        finally:
            self._scores_requested = False

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}


class MultiHeadAttention(_AttentionBase):
    """Multi-head attention (Vaswani et al. 2017), as Keras 3's MultiHeadAttention.

    The query, key and value are projected per head (`key_dim` for queries and keys, `value_dim` for
    values), each head computes softmax(q k^T / sqrt(key_dim)) v over the key steps, and the heads'
    outputs are projected back to the query's last dimension (or `output_shape`).

    Weights, in Keras's order and shapes: query_kernel (query_dim, num_heads, key_dim), query_bias
    (num_heads, key_dim), key_kernel (key_dim_in, num_heads, key_dim), key_bias, value_kernel
    (value_dim_in, num_heads, value_dim), value_bias, output_kernel (num_heads, value_dim, out_dim),
    output_bias (out_dim,); no biases with use_bias=False.

    Args:
        num_heads: the number of heads.
        key_dim: the size of each head for queries and keys.
        value_dim: the size of each head for values (default key_dim).
        dropout: the fraction of attention weights dropped in training.
        use_bias: whether the projections have biases (default True).
        output_shape: the last dimension of the output, an int (default: the query's).
        attention_axes: None or (1,): attention over the steps of (batch, steps, dim) inputs (other
            axes are not implemented and raise).
        flash_attention: None or False (a fused kernel is not implemented; True raises).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer: for the four
            projections.
        seed: an int for this layer's own random stream (dropout), or None for dlcore's global one.

    Call arguments:
        query: (batch, Tq, query_dim); value: (batch, Tv, value_dim_in); key: (batch, Tv, key_dim_in)
            (default value).
        query_mask (batch, Tq), value_mask (batch, Tv), key_mask (batch, Tv): padding masks, True for
            real steps; attention_mask: (batch, Tq, Tv), True where query step i may attend to key
            step j. All are combined, as Keras does. A padding mask not given is the mask its input
            carries (`Embedding(mask_zero=True)`, `Masking`), as in Keras; the output carries the
            query's.
        return_attention_scores: also return the weights (batch, num_heads, Tq, Tv).
        training: dropout only when True (default: the layer's mode).
        use_causal_mask: query step i attends to key steps j <= i only.

    Output shape: (batch, Tq, out_dim), and (batch, num_heads, Tq, Tv) with return_attention_scores.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    mha = dl.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    x = np.random.rand(3, 5, 8).astype("float32")
    out, scores = mha(x, x, use_causal_mask=True, return_attention_scores=True)
    assert out.shape == (3, 5, 8) and scores.shape == (3, 2, 5, 5)
    assert float(abs(scores.numpy()[:, :, 0, 1:]).max()) == 0.0  # step 0 sees only itself
    ```
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        where = self._where()
        for name, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{where}: '{name}' must be a positive int, got {value!r}")
        if value_dim is not None and (isinstance(value_dim, bool) or not isinstance(value_dim, numbers.Integral)
                                      or value_dim < 1):
            raise ValueError(f"{where}: 'value_dim' must be None or a positive int, got {value_dim!r}")
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim is not None else self.key_dim
        self.dropout = self._dropout_arg(dropout)
        self.use_bias = bool(use_bias)
        if isinstance(output_shape, (tuple, list)) and len(output_shape) == 1:
            output_shape = output_shape[0]
        if output_shape is not None and (isinstance(output_shape, bool) or
                                         not isinstance(output_shape, numbers.Integral) or output_shape < 1):
            raise ValueError(f"{where}: 'output_shape' must be None or a positive int (the output's last "
                             f"dimension), got {output_shape!r}")
        self.output_shape = None if output_shape is None else int(output_shape)
        if attention_axes not in (None, 1, (1,), [1]):
            raise ValueError(f"{where}: attention_axes={attention_axes!r} is not implemented; only None or (1,): "
                             f"attention over the steps of (batch, steps, dim) inputs")
        self.attention_axes = None if attention_axes is None else (1,)
        if flash_attention:
            raise ValueError(f"{where}: flash_attention=True is not implemented (no fused attention kernel); "
                             f"leave it None or False")
        self.flash_attention = flash_attention
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self._rng_init(seed)

    supports_masking = True  # reads the masks its inputs carry; the output carries the query's

    # ---- shapes and weights --------------------------------------------------------------------
    def _shapes(self, input_shape):
        """(query, value, key) shapes; further shapes (masks moved into a functional node) are ignored."""
        if not (isinstance(input_shape, (list, tuple)) and len(input_shape) >= 2
                and all(isinstance(s, (list, tuple)) for s in input_shape)):
            raise ValueError(f"{self._where()}: expected the shapes of (query, value) or (query, value, key), got "
                             f"{input_shape!r}")
        shapes = [tuple(s) for s in input_shape[:3]]
        return shapes[0], shapes[1], shapes[2] if len(shapes) > 2 else shapes[1]

    def build(self, input_shape):
        q, v, k = self._shapes(input_shape)
        for name, s in (("query", q), ("value", v), ("key", k)):
            if len(s) != 3 or s[-1] is None:
                raise ValueError(f"{self._where()}: {name} must be 3-D (batch, steps, dim) with a known dim, got "
                                 f"shape {s}")
        h, kd, vd = self.num_heads, self.key_dim, self.value_dim
        out = self.output_shape or q[-1]
        for name, d_in, d in (("query", q[-1], kd), ("key", k[-1], kd), ("value", v[-1], vd)):
            self.add_weight(f"{name}_kernel", (d_in, h, d), self.kernel_initializer,
                            regularizer=self.kernel_regularizer)
            setattr(self, f"{name}_bias", self.add_weight(f"{name}_bias", (h, d), self.bias_initializer,
                                                          regularizer=self.bias_regularizer)
                    if self.use_bias else None)
        self.add_weight("output_kernel", (h, vd, out), self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.output_bias = self.add_weight("output_bias", (out,), self.bias_initializer,
                                           regularizer=self.bias_regularizer) if self.use_bias else None
        self.built = True

    def compute_output_shape(self, input_shape):
        q, v, k = self._shapes(input_shape)
        out = q[:-1] + (self.output_shape or q[-1],)
        if getattr(self, "_scores_requested", False):
            return [out, (q[0], self.num_heads, q[1], k[1])]
        return out

    # ---- calling ---------------------------------------------------------------------------------
    def __call__(self, query, value=None, key=None, **kwargs):
        """mha(query, value, key=None, **call arguments); a list [query, value(, key)] is taken too (how
        a functional model calls the layer back)."""
        if isinstance(query, (list, tuple)):
            inputs = list(query)
        else:
            if value is None:
                raise ValueError(f"{self._where()}: missing 'value' (call as layer(query, value, key=None))")
            inputs = [query, value] + ([key] if key is not None else [])
        symbolic = graph.is_symbolic((inputs,))
        if symbolic:  # masks given as symbolic tensors travel as further inputs of the node
            moved = [name for name in _MASKS if isinstance(kwargs.get(name), graph.KerasTensor)]
            if moved:
                if len(inputs) == 2:
                    inputs.append(inputs[1])  # the key, so that the masks follow at fixed places
                inputs += [kwargs.pop(name) for name in moved]
                kwargs["_tensor_kwargs"] = moved
        self._scores_requested = bool(kwargs.get("return_attention_scores", False))
        try:
            return super().__call__(inputs, **kwargs)
        finally:
            self._scores_requested = False

    def _call_eager(self, inputs, _tensor_kwargs=(), **kwargs):
        inputs = list(inputs)
        if _tensor_kwargs:
            for name, t in zip(_tensor_kwargs, inputs[3:]):
                kwargs[name] = t
            inputs = inputs[:3]
        if len(inputs) not in (2, 3):
            raise ValueError(f"{self._where()}: expected query, value and optionally key, got {len(inputs)} inputs")
        # Keras: the mask an input carries is its *_mask unless one is given; the key's only when the key
        # is not the value
        carried = {"query_mask": get_mask(inputs[0]), "value_mask": get_mask(inputs[1]),
                   "key_mask": get_mask(inputs[2]) if len(inputs) > 2 and inputs[2] is not inputs[1] else None}
        for name, m in carried.items():
            if m is not None and kwargs.get(name) is None:
                kwargs[name] = m
        xs = self._inputs(inputs)
        if not self.built:
            self.build([tuple(x.shape) for x in xs])
            self.built = True
        outputs = self.call(*xs, **kwargs)
        _attach_masks(outputs, carried["query_mask"])  # the output has the query's steps (Keras)
        return outputs

    def _mask(self, query, key, xp, query_mask, value_mask, key_mask, attention_mask, use_causal_mask):
        """The combined (batch or 1, Tq, Tk) boolean mask, or None (Keras's _compute_attention_mask)."""
        b, tq, tk = query.shape[0], query.shape[1], key.shape[1]
        allowed = None
        for name, m, want in (("query_mask", query_mask, (b, tq)), ("value_mask", value_mask, (b, tk)),
                              ("key_mask", key_mask, (b, tk)), ("attention_mask", attention_mask, (b, tq, tk))):
            m = _bool_mask(self, name, m, xp)
            if m is None:
                continue
            if tuple(m.shape) != want:
                raise ValueError(f"{self._where()}: '{name}' must have shape {want}, got {tuple(m.shape)}")
            m = m[:, :, None] if name == "query_mask" else (m[:, None, :] if m.ndim == 2 else m)
            allowed = m if allowed is None else allowed & m
        if use_causal_mask:
            causal = _causal(tq, tk, xp)
            allowed = causal if allowed is None else allowed & causal
        return allowed

    def _project(self, x, name):
        """x (B, T, d) -> (B, heads, T, head_dim) through <name>_kernel (d, heads, head_dim) and its bias."""
        kernel, bias = getattr(self, f"{name}_kernel"), getattr(self, f"{name}_bias")
        d, h, k = kernel.shape
        if x.shape[-1] != d:
            raise ValueError(f"{self._where()}: {name} must have last dimension {d}, got shape {tuple(x.shape)}")
        y = F.linear(x, kernel.reshape(d, h * k), None if bias is None else bias.reshape(h * k))
        return y.reshape(x.shape[0], x.shape[1], h, k).transpose(0, 2, 1, 3)

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        key = value if key is None else key
        for name, t in (("query", query), ("value", value), ("key", key)):
            if t.ndim != 3:
                raise ValueError(f"{self._where()}: {name} must be 3-D (batch, steps, dim), got shape "
                                 f"{tuple(t.shape)}")
        if query.shape[0] != value.shape[0] or key.shape[:2] != value.shape[:2]:
            raise ValueError(f"{self._where()}: incompatible shapes query {tuple(query.shape)}, value "
                             f"{tuple(value.shape)}, key {tuple(key.shape)} (same batch; key steps = value steps)")
        xp = get_array_module(query.data)
        allowed = self._mask(query, key, xp, query_mask, value_mask, key_mask, attention_mask, use_causal_mask)
        q = self._project(query, "query") * (1.0 / math.sqrt(self.key_dim))
        k, v = self._project(key, "key"), self._project(value, "value")
        scores = q @ k.transpose(0, 1, 3, 2)                                # (B, H, Tq, Tk)
        weights = F.masked_softmax(scores, None if allowed is None else allowed[:, None], axis=-1)
        dropped = weights
        if self.dropout > 0:
            dropped = F.seeded_dropout(weights, self.dropout, training=self._training(training), rng=self._rng)
        heads = dropped @ v                                                 # (B, H, Tq, vd)
        b, h, tq, vd = heads.shape
        merged = heads.transpose(0, 2, 1, 3).reshape(b, tq, h * vd)
        w_out = self.output_kernel
        out = F.linear(merged, w_out.reshape(h * vd, w_out.shape[-1]), self.output_bias)
        return (out, weights) if return_attention_scores else out

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "output_shape": self.output_shape,
                "attention_axes": None if self.attention_axes is None else list(self.attention_axes),
                "flash_attention": self.flash_attention,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer), "seed": self.seed}
