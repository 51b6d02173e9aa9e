"""Differentiable functions on Tensors (`import dlcore.functional as F`).

One `Function` per kernel family, forward and backward side by side; the array work is done by the
kernel API (`dlcore.kernels`, see docs/kernel_api.md). Layouts are Keras's: images NHWC, conv
weights (kh, kw, c_in, c_out), Dense weights (in, out), sequences (batch, time, features), LSTM gates
i, f, c, o. `batch_norm`, `layer_norm`, `embedding` and `dropout` have no C++ kernel: they are
written here with array operations through `xp` (NumPy or CuPy).

Every function takes Tensors (arrays are wrapped as constants) and returns Tensors.
"""
from __future__ import annotations

import numpy as np

from . import _random
from . import kernels as K
from .ops._helpers import _kernel
from .ops.activation import Elu, Gelu, LeakyRelu, LogSoftmax, Relu, Sigmoid, Silu, Softmax, Softplus, Tanh, _FromOutput  # noqa: F401
from .tensor import Function, Tensor, _wrap, get_array_module

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _t(x, name="input"):
    """`x` as a Tensor (arrays and numbers become constants)."""
    if isinstance(x, Tensor) or x is None:
        return x
    if isinstance(x, (np.ndarray, list, tuple, int, float, np.generic)) or hasattr(x, "__array__"):
        return Tensor(x)
    raise TypeError(f"expected a Tensor or an array for '{name}', got {type(x).__name__}")


def _array(x):
    return x.data if isinstance(x, Tensor) else x


# --------------------------------------------------------------------------------------------
# activations: forward and backward kernels (backward from y for relu/sigmoid/tanh/softmax)
# --------------------------------------------------------------------------------------------


def relu(x):
    return Relu.apply(_t(x))


def sigmoid(x):
    return Sigmoid.apply(_t(x))


def tanh(x):
    return Tanh.apply(_t(x))


def leaky_relu(x, negative_slope=0.2):
    """max(x, negative_slope * x); Keras's default slope 0.2."""
    return LeakyRelu.apply(_t(x), negative_slope=float(negative_slope))


def elu(x, alpha=1.0):
    return Elu.apply(_t(x), alpha=float(alpha))


def gelu(x, approximate=False):
    return Gelu.apply(_t(x), approximate=bool(approximate))


def softplus(x):
    return Softplus.apply(_t(x))


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    return Silu.apply(_t(x))


swish = silu


def softmax(x, axis=-1):
    return Softmax.apply(_t(x), axis=int(axis))


def log_softmax(x, axis=-1):
    return LogSoftmax.apply(_t(x), axis=int(axis))


def linear_activation(x):
    return x


# --------------------------------------------------------------------------------------------
# linear: K.gemm with the bias and activation fused into its epilogue
# --------------------------------------------------------------------------------------------

_GEMM_BACKWARD = {"relu": "relu_backward", "sigmoid": "sigmoid_backward", "tanh": "tanh_backward"}


class Linear(Function):
    """y = act(x @ w + b), x (..., in), w (in, out), b (out,) -- one fused GEMM.

    backward: dz = act'(y) * g;  dx = dz @ w^T;  dw = x^T @ dz;  db = sum_rows(dz)
    (the two products are K.gemm calls with a transposed operand; no transpose copies).
    """

    def forward(self, x, w, b, activation):
        lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        y = K.gemm(x2, w, bias=b, activation=activation)
        self.x2, self.w, self.lead, self.activation, self.has_b = x2, w, lead, activation, b is not None
        self.y = y if activation is not None else None
        return y.reshape(lead + (w.shape[1],)) if x.ndim != 2 else y

    def backward(self, g):
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        if self.activation is not None:
            g2 = _kernel(_GEMM_BACKWARD[self.activation])(g2, self.y)
        dx = K.gemm(g2, self.w, trans_b=True)
        dw = K.gemm(self.x2, g2, trans_a=True)
        db = g2.sum(axis=0) if self.has_b else None
        if len(self.lead) != 1:
            dx = dx.reshape(self.lead + (self.w.shape[0],))
        return dx, dw, db


def linear(x, w, b=None, activation=None):
    """act(x @ w + b) with Keras's layout: x (..., in), w (in, out), b (out,).

    `activation` "relu"/"sigmoid"/"tanh"/None run fused in the GEMM epilogue; any other activation
    name (or callable) is applied after the product.
    """
    x, w, b = _t(x, "x"), _t(w, "w"), _t(b, "b")
    if w.ndim != 2:
        raise ValueError(f"linear: 'w' must be 2-D (in, out), got shape {w.shape}")
    if x.ndim < 1 or x.shape[-1] != w.shape[0]:
        raise ValueError(f"linear: expected input with last dimension {w.shape[0]} (w has shape {w.shape}), "
                         f"got shape {x.shape}")
    if b is not None and b.shape != (w.shape[1],):
        raise ValueError(f"linear: 'b' must have shape ({w.shape[1]},), got {b.shape}")
    if x.dtype != w.dtype:
        raise TypeError(f"linear: input dtype {x.dtype} does not match weight dtype {w.dtype}; "
                        f"cast the input (x.astype('{w.dtype}'))")
    if activation in ("linear",):
        activation = None
    if activation is None or (isinstance(activation, str) and activation in _GEMM_BACKWARD):
        return Linear.apply(x, w, b, activation=activation)
    from .activations import get as get_activation
    return get_activation(activation)(Linear.apply(x, w, b, activation=None))


# --------------------------------------------------------------------------------------------
# convolution and pooling (NHWC)
# --------------------------------------------------------------------------------------------

class _Conv(Function):
    """Convolution with the bias and a relu/sigmoid/tanh epilogue fused in the forward kernel.

    backward: dz = act'(y) * g, then dx = backward_data(dz), dw = backward_filter(dz),
    db = sum of dz over every axis but the channels.
    """

    rank = 2

    def forward(self, x, w, b, strides, padding, dilation, activation):
        self.x, self.w, self.has_b, self.activation = x, w, b is not None, activation
        self.cfg = dict(strides=strides, padding=padding, dilation=dilation)
        y = _kernel(f"conv{self.rank}d_forward")(x, w, bias=b, activation=activation, **self.cfg)
        self.y = y if activation is not None else None
        return y

    def backward(self, g):
        if self.activation is not None:
            g = _kernel(_GEMM_BACKWARD[self.activation])(g, self.y)
        r = self.rank
        dx = _kernel(f"conv{r}d_backward_data")(g, self.w, self.x.shape, **self.cfg)
        dw = _kernel(f"conv{r}d_backward_filter")(g, self.x, self.w.shape, **self.cfg)
        db = _kernel(f"conv{r}d_backward_bias")(g) if self.has_b else None
        return dx, dw, db


class Conv2D(_Conv):
    rank = 2


class Conv1D(_Conv):
    rank = 1


def _conv_checks(op, x, w, rank):
    if x.ndim != rank + 2:
        layout = "(batch, height, width, channels)" if rank == 2 else "(batch, steps, channels)"
        raise ValueError(f"{op}: expected a {rank + 2}-D input {layout}, got shape {x.shape}")
    if w.ndim != rank + 2:
        raise ValueError(f"{op}: 'w' must be {rank + 2}-D (kernel..., c_in, c_out), got shape {w.shape}")
    if x.shape[-1] != w.shape[-2]:
        raise ValueError(f"{op}: input has {x.shape[-1]} channels (shape {x.shape}) but the kernel expects "
                         f"{w.shape[-2]} (w has shape {w.shape})")


def _conv(op, x, w, b, strides, padding, dilation, activation):
    if activation == "linear":
        activation = None
    fused = activation is None or (isinstance(activation, str) and activation in _GEMM_BACKWARD)
    y = op.apply(x, w, b, strides=strides, padding=padding, dilation=dilation,
                 activation=activation if fused else None)
    return y if fused else _activate(y, activation)


def conv2d(x, w, b=None, strides=1, padding="valid", dilation=1, activation=None):
    """2-D convolution (cross-correlation), x NHWC, w (kh, kw, c_in, c_out), b (c_out,).

    relu/sigmoid/tanh activations run fused in the kernel's epilogue; others are applied after.
    """
    x, w, b = _t(x, "x"), _t(w, "w"), _t(b, "b")
    _conv_checks("conv2d", x, w, 2)
    return _conv(Conv2D, x, w, b, strides, padding, dilation, activation)


def conv1d(x, w, b=None, strides=1, padding="valid", dilation=1, activation=None):
    """1-D convolution, x (N, L, c_in), w (k, c_in, c_out), b (c_out,)."""
    x, w, b = _t(x, "x"), _t(w, "w"), _t(b, "b")
    _conv_checks("conv1d", x, w, 1)
    return _conv(Conv1D, x, w, b, strides, padding, dilation, activation)


def _activate(y, activation):
    if activation is None or activation == "linear":
        return y
    from .activations import get as get_activation
    return get_activation(activation)(y)


class MaxPool2D(Function):
    def forward(self, x, pool_size, strides, padding):
        self.x, self.cfg = x, dict(pool_size=pool_size, strides=strides, padding=padding)
        return _kernel("max_pool2d_forward")(x, **self.cfg)

    def backward(self, g):
        return _kernel("max_pool2d_backward")(g, self.x, **self.cfg)


class AvgPool2D(Function):
    def forward(self, x, pool_size, strides, padding):
        self.shape, self.cfg = x.shape, dict(pool_size=pool_size, strides=strides, padding=padding)
        return _kernel("avg_pool2d_forward")(x, **self.cfg)

    def backward(self, g):
        return _kernel("avg_pool2d_backward")(g, self.shape, **self.cfg)


class GlobalAvgPool2D(Function):
    def forward(self, x):
        self.shape = x.shape
        return _kernel("global_avg_pool2d_forward")(x)

    def backward(self, g):
        return _kernel("global_avg_pool2d_backward")(g, self.shape)


def _pool_checks(op, x):
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (batch, height, width, channels), got shape {x.shape}")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    x = _t(x)
    _pool_checks("max_pool2d", x)
    return MaxPool2D.apply(x, pool_size=pool_size, strides=strides, padding=padding)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    x = _t(x)
    _pool_checks("avg_pool2d", x)
    return AvgPool2D.apply(x, pool_size=pool_size, strides=strides, padding=padding)


def global_avg_pool2d(x, keepdims=False):
    x = _t(x)
    _pool_checks("global_avg_pool2d", x)
    y = GlobalAvgPool2D.apply(x)
    return y.reshape(y.shape[0], 1, 1, y.shape[1]) if keepdims else y


# --------------------------------------------------------------------------------------------
# recurrent layers: whole sequences in one kernel call each way
# --------------------------------------------------------------------------------------------

class LSTM(Function):
    def forward(self, x, h0, c0, kernel, recurrent_kernel, bias):
        hs, h_t, c_t, self.cache = _kernel("lstm_forward")(x, h0, c0, kernel, recurrent_kernel, bias)
        return hs, h_t, c_t

    def backward(self, grads):
        dhs, dh_t, dc_t = grads
        dx, dh0, dc0, dk, drk, db = _kernel("lstm_backward")(dhs, dh_t, dc_t, self.cache)
        return dx, dh0, dc0, dk, drk, db


class GRU(Function):
    def forward(self, x, h0, kernel, recurrent_kernel, bias):
        hs, h_t, self.cache = _kernel("gru_forward")(x, h0, kernel, recurrent_kernel, bias)
        return hs, h_t

    def backward(self, grads):
        dhs, dh_t = grads
        return _kernel("gru_backward")(dhs, dh_t, self.cache)


class SimpleRNN(Function):
    def forward(self, x, h0, kernel, recurrent_kernel, bias):
        hs, h_t, self.cache = _kernel("simple_rnn_forward")(x, h0, kernel, recurrent_kernel, bias)
        return hs, h_t

    def backward(self, grads):
        dhs, dh_t = grads
        return _kernel("simple_rnn_backward")(dhs, dh_t, self.cache)


def _rnn_checks(op, x, kernel, recurrent_kernel, gates):
    if x.ndim != 3:
        raise ValueError(f"{op}: expected a 3-D input (batch, timesteps, features), got shape {x.shape}")
    if kernel.ndim != 2 or kernel.shape[0] != x.shape[2]:
        raise ValueError(f"{op}: 'kernel' must have shape ({x.shape[2]}, {gates}*units) for an input of shape "
                         f"{x.shape}, got {kernel.shape}")
    units = recurrent_kernel.shape[0]
    if recurrent_kernel.shape != (units, gates * units) or kernel.shape[1] != gates * units:
        raise ValueError(f"{op}: 'recurrent_kernel' must have shape (units, {gates}*units) matching kernel "
                         f"{kernel.shape}, got {recurrent_kernel.shape}")


def lstm(x, h0, c0, kernel, recurrent_kernel, bias):
    """LSTM over a whole sequence (Keras gates i, f, c, o). Returns (outputs (B,T,H), (h_T, c_T))."""
    x, h0, c0 = _t(x), _t(h0), _t(c0)
    kernel, recurrent_kernel, bias = _t(kernel), _t(recurrent_kernel), _t(bias)
    _rnn_checks("lstm", x, kernel, recurrent_kernel, 4)
    hs, h_t, c_t = LSTM.apply(x, h0, c0, kernel, recurrent_kernel, bias)
    return hs, (h_t, c_t)


def gru(x, h0, kernel, recurrent_kernel, bias):
    """GRU (Keras reset_after=True, gates z, r, h; bias (2, 3H)). Returns (outputs, h_T)."""
    x, h0 = _t(x), _t(h0)
    kernel, recurrent_kernel, bias = _t(kernel), _t(recurrent_kernel), _t(bias)
    _rnn_checks("gru", x, kernel, recurrent_kernel, 3)
    return GRU.apply(x, h0, kernel, recurrent_kernel, bias)


def simple_rnn(x, h0, kernel, recurrent_kernel, bias):
    """Elman RNN with tanh: h_t = tanh(x_t W + h_{t-1} U + b). Returns (outputs, h_T)."""
    x, h0 = _t(x), _t(h0)
    kernel, recurrent_kernel, bias = _t(kernel), _t(recurrent_kernel), _t(bias)
    _rnn_checks("simple_rnn", x, kernel, recurrent_kernel, 1)
    return SimpleRNN.apply(x, h0, kernel, recurrent_kernel, bias)


# --------------------------------------------------------------------------------------------
# ops without a C++ kernel: dropout, batch_norm, layer_norm, embedding (array code via xp)
# --------------------------------------------------------------------------------------------

class Dropout(Function):
    def forward(self, x, rate):
        xp = get_array_module(x)
        keep = _random.generator().random(x.shape) >= rate
        self.mask = xp.asarray(keep.astype(x.dtype) / x.dtype.type(1.0 - rate))
        return x * self.mask

    def backward(self, g):
        return g * self.mask


def dropout(x, rate=0.5, training=True):
    """Inverted dropout: zero each element with probability `rate`, scale the rest by 1/(1-rate)."""
    x = _t(x)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    if not training or rate == 0.0:
        return x
    return Dropout.apply(x, rate=float(rate))


class BatchNorm(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, statistics over every axis but `axis`.

    backward (xhat = normalized x, m = elements per channel):
        dbeta = sum(g), dgamma = sum(g * xhat)
        dx = gamma / sqrt(var + eps) * (g - dbeta/m - xhat * dgamma/m)
    """

    training = True

    def forward(self, x, gamma, beta, mean, var, epsilon, reduce_axes, shape):
        xp = get_array_module(x)
        self.inv_std = 1.0 / xp.sqrt(var.reshape(shape) + epsilon)
        self.xhat = (x - mean.reshape(shape)) * self.inv_std
        self.gamma = gamma.reshape(shape) if gamma is not None else None
        self.reduce_axes, self.shape = reduce_axes, shape
        self.has_beta = beta is not None
        y = self.xhat * self.gamma if gamma is not None else self.xhat
        return y + beta.reshape(shape) if beta is not None else y

    def backward(self, g):
        ax = self.reduce_axes
        dbeta = g.sum(axis=ax) if self.has_beta else None
        dgamma = (g * self.xhat).sum(axis=ax) if self.gamma is not None else None
        gg = g * self.gamma if self.gamma is not None else g
        if self.training:  # the statistics came from this batch: their gradient flows too
            m = int(np.prod([g.shape[a] for a in ax]))
            dx = self.inv_std * (gg - gg.mean(axis=ax, keepdims=True)
                                 - self.xhat * (gg * self.xhat).sum(axis=ax, keepdims=True) / m)
        else:
            dx = gg * self.inv_std
        return dx, None if dgamma is None else dgamma.astype(g.dtype), None if dbeta is None else dbeta, None, None


class _BatchNormTrain(BatchNorm):
    training = True


class _BatchNormInfer(BatchNorm):
    training = False


def batch_norm(x, gamma, beta, moving_mean, moving_var, training=False, momentum=0.99, epsilon=1e-3, axis=-1):
    """Batch normalization (Keras semantics) over every axis but `axis`.

    training=True: normalize with the batch mean/variance (biased) and update `moving_mean` /
    `moving_var` in place: moving = moving * momentum + batch * (1 - momentum). training=False:
    normalize with the moving statistics. gamma/beta may be None (scale/center off).
    """
    x = _t(x)
    axis = axis % x.ndim
    c = x.shape[axis]
    reduce_axes = tuple(i for i in range(x.ndim) if i != axis)
    shape = tuple(c if i == axis else 1 for i in range(x.ndim))
    mm, mv = _array(moving_mean), _array(moving_var)
    if training:
        xd = x.data
        mean = xd.mean(axis=reduce_axes)
        var = xd.var(axis=reduce_axes)
        mm[...] = mm * momentum + mean * (1.0 - momentum)
        mv[...] = mv * momentum + var * (1.0 - momentum)
        op = _BatchNormTrain
    else:
        mean, var = mm, mv
        op = _BatchNormInfer
    return op.apply(x, _t(gamma), _t(beta), Tensor._make(mean), Tensor._make(var),
                    epsilon=epsilon, reduce_axes=reduce_axes, shape=shape)


class LayerNorm(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, statistics over `axes` of each sample.

    backward: dx = inv_std * (gg - mean(gg) - xhat * mean(gg * xhat)),  gg = g * gamma.
    """

    def forward(self, x, gamma, beta, axes, epsilon):
        xp = get_array_module(x)
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)
        self.inv_std = 1.0 / xp.sqrt(var + epsilon)
        self.xhat = (x - mean) * self.inv_std
        self.gamma, self.has_beta, self.axes = gamma, beta is not None, axes
        y = self.xhat * gamma if gamma is not None else self.xhat
        return y + beta if beta is not None else y

    def backward(self, g):
        lead = tuple(range(g.ndim - (self.gamma.ndim if self.gamma is not None else 0)))
        dgamma = (g * self.xhat).sum(axis=lead) if self.gamma is not None else None
        dbeta = g.sum(axis=lead) if self.has_beta else None
        gg = g * self.gamma if self.gamma is not None else g
        ax = self.axes
        dx = self.inv_std * (gg - gg.mean(axis=ax, keepdims=True)
                             - self.xhat * (gg * self.xhat).mean(axis=ax, keepdims=True))
        return dx, dgamma, dbeta


def layer_norm(x, gamma=None, beta=None, axis=-1, epsilon=1e-3):
    """Layer normalization over the trailing axes `axis` (an int or tuple of trailing axes)."""
    x = _t(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(sorted(a % x.ndim for a in axes))
    if axes != tuple(range(x.ndim - len(axes), x.ndim)):
        raise ValueError(f"layer_norm: axis must name the trailing axes of the input, got {axis} for shape {x.shape}")
    return LayerNorm.apply(x, _t(gamma), _t(beta), axes=axes, epsilon=epsilon)


class Embedding(Function):
    def forward(self, weights, ids):
        self.ids, self.shape = ids, weights.shape
        return weights[ids]

    def backward(self, g):
        xp = get_array_module(g)
        dw = xp.zeros(self.shape, dtype=g.dtype)
        np.add.at(dw, self.ids, g) if xp is np else xp.add.at(dw, self.ids, g)
        return dw


def embedding(ids, weights):
    """Rows of `weights` (vocab, dim) picked by integer `ids` (any shape) -> ids.shape + (dim,)."""
    ids_arr = _array(ids)
    ids_arr = np.asarray(ids_arr) if not hasattr(ids_arr, "dtype") else ids_arr
    if ids_arr.dtype.kind not in "iu":
        if ids_arr.dtype.kind == "f" and ids_arr.size and (ids_arr == ids_arr.astype(np.int64)).all():
            ids_arr = ids_arr.astype(np.int64)
        else:
            raise TypeError(f"embedding: ids must be integers, got dtype {ids_arr.dtype}")
    weights = _t(weights)
    vocab = weights.shape[0]
    if ids_arr.size and (ids_arr.min() < 0 or ids_arr.max() >= vocab):
        raise ValueError(f"embedding: ids must be in [0, {vocab}) (input_dim={vocab}), got values in "
                         f"[{int(ids_arr.min())}, {int(ids_arr.max())}]")
    return Embedding.apply(weights, ids=ids_arr)


# --------------------------------------------------------------------------------------------
# losses: value and gradient in one kernel pass
# --------------------------------------------------------------------------------------------

class _Loss(Function):
    """A loss kernel returning (loss, dloss/dpred) in one pass; targets get no gradient.

    reduction "none" gives per-sample losses (N,); their kernel grad is that of their sum, so the
    incoming gradient of each sample scales its own row.
    """

    def backward(self, g):
        grad = self.grad
        if self.reduction == "none":
            g = g.reshape(g.shape + (1,) * (grad.ndim - g.ndim))
        return (grad * g).reshape(self.shape)


_REDUCTIONS = ("mean", "sum", "none", "sum_over_batch_size", None)


def _loss(kernel_name, y_pred, y_true, reduction, sample_weight, op, sparse=False):
    y_pred = _t(y_pred, "y_pred")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean' (sum over batch size), 'sum' or 'none', got {reduction!r}")
    reduction = "mean" if reduction in ("sum_over_batch_size", None) else reduction
    xp = get_array_module(y_pred.data)
    target = _array(y_true)
    if not hasattr(target, "dtype"):
        target = np.asarray(target)
    pred = y_pred
    shape = pred.shape
    if sparse:
        target = target.reshape(-1) if target.ndim > 1 and target.shape[-1] == 1 or target.ndim == pred.ndim - 1 \
            else target
        if pred.ndim > 2:
            pred = pred.reshape(-1, pred.shape[-1])
            target = target.reshape(-1)
        if target.dtype.kind == "f":
            if not (target == xp.round(target)).all():
                raise ValueError(f"{op}: labels must be integer class indices, got non-integer floats")
            target = target.astype(np.int64)
        if target.dtype.kind not in "iu":
            raise TypeError(f"{op}: labels must be integer class indices, got dtype {target.dtype}")
        if target.shape != (pred.shape[0],):
            raise ValueError(f"{op}: labels must have shape ({pred.shape[0]},) for predictions of shape "
                             f"{shape}, got {target.shape}")
        n_classes = pred.shape[-1]
        if target.size and (int(target.min()) < 0 or int(target.max()) >= n_classes):
            raise ValueError(f"{op}: labels must be in [0, {n_classes}) for {n_classes} classes, got values in "
                             f"[{int(target.min())}, {int(target.max())}]")
    else:
        if target.dtype != pred.dtype:
            target = target.astype(pred.dtype)
        if target.shape != pred.shape:
            if target.size == pred.data.size:
                target = target.reshape(pred.shape)
            else:
                raise ValueError(f"{op}: y_true and y_pred must have the same shape, got y_true {target.shape} "
                                 f"and y_pred {pred.shape}")
        if pred.ndim == 1:
            pred = pred.reshape(-1, 1)
            target = target.reshape(-1, 1)
    if sample_weight is not None:
        sample_weight = xp.asarray(_array(sample_weight), dtype=pred.dtype).reshape(-1)
    return _loss_apply(pred, target, sample_weight, kernel_name, reduction)


def _loss_apply(pred, target, sample_weight, kernel_name, reduction):
    kernel = _kernel(kernel_name)
    fn = _Loss()
    loss, fn.grad = kernel(pred.data, target, reduction=reduction, sample_weight=sample_weight)
    fn.reduction, fn.shape = reduction, pred.shape
    xp = get_array_module(pred.data)
    out = xp.asarray(loss, dtype=pred.data.dtype)
    from .tensor import _GradMode
    if _GradMode.enabled and pred.requires_grad:
        fn.parents = (pred,)
        return _wrap(out, fn, 0)
    return _wrap(out, None, 0)


def mse(y_true, y_pred, reduction="mean", sample_weight=None):
    """Mean squared error (Keras argument order: y_true first)."""
    return _loss("mean_squared_error", y_pred, y_true, reduction, sample_weight, "mean_squared_error")


mean_squared_error = mse


def mae(y_true, y_pred, reduction="mean", sample_weight=None):
    """Mean absolute error."""
    return _loss("mean_absolute_error", y_pred, y_true, reduction, sample_weight, "mean_absolute_error")


mean_absolute_error = mae


def binary_cross_entropy(y_true, y_pred, from_logits=False, reduction="mean", sample_weight=None):
    """Binary cross-entropy on probabilities (clipped like Keras) or logits (from_logits=True)."""
    name = "binary_cross_entropy_with_logits" if from_logits else "binary_cross_entropy"
    return _loss(name, y_pred, y_true, reduction, sample_weight, "binary_cross_entropy")


def categorical_cross_entropy(y_true, y_pred, from_logits=False, reduction="mean", sample_weight=None):
    """Cross-entropy with one-hot / soft targets (N, C); probabilities or logits."""
    name = "softmax_cross_entropy" if from_logits else "categorical_cross_entropy"
    return _loss(name, y_pred, y_true, reduction, sample_weight, "categorical_cross_entropy")


def sparse_categorical_cross_entropy(y_true, y_pred, from_logits=False, reduction="mean", sample_weight=None):
    """Cross-entropy with integer labels (N,) and probabilities or logits (N, C)."""
    name = "softmax_cross_entropy" if from_logits else "sparse_categorical_cross_entropy"
    return _loss(name, y_pred, y_true, reduction, sample_weight, "sparse_categorical_cross_entropy", sparse=True)


def huber(y_true, y_pred, delta=1.0, reduction="mean", sample_weight=None):
    """Huber loss: 0.5 d^2 where |d| <= delta, delta (|d| - 0.5 delta) beyond (composed from tensor ops)."""
    y_pred = _t(y_pred)
    y_true = Tensor._make(_array(_t(y_true)).astype(y_pred.dtype).reshape(y_pred.shape))
    d = abs(y_pred - y_true)
    quad = d.clip(None, delta)
    per = (quad * quad * 0.5 + (d - quad) * delta)
    per = per.mean(axis=-1) if per.ndim > 1 else per
    if sample_weight is not None:
        per = per * Tensor._make(get_array_module(per.data).asarray(_array(sample_weight), dtype=per.dtype))
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    return per.sum() / max(per.shape[0] if per.ndim else 1, 1)
