"""Float64 NumPy references for every dlcore kernel, written from the formula as plainly as possible.

This file imports NumPy only and never calls dlcore: it is the independent check. One section per
kernel family, in the order of docs/kernel_api.md.
"""
import numpy as np


def f64(x):
    return np.asarray(x, dtype=np.float64)


# ---------------------------------------------------------------- activations used by epilogues

def act_ref(x, activation):
    x = f64(x)
    if activation in (None, "linear"):
        return x
    if activation == "relu":
        return np.maximum(x, 0.0)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if activation == "tanh":
        return np.tanh(x)
    raise ValueError(activation)


# ---------------------------------------------------------------------------------------- gemm

def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, c=None, bias=None, activation=None):
    """act(alpha * op(a) @ op(b) + beta * c + bias) in float64."""
    A = f64(a).T if trans_a else f64(a)
    B = f64(b).T if trans_b else f64(b)
    out = alpha * (A @ B)
    if beta != 0.0:
        out = out + beta * f64(c)
    if bias is not None:
        out = out + f64(bias)
    return act_ref(out, activation)


# ---------------------------------------------------------------------------------- activations
# Forward f(x) and derivative f'(x); the kernels' backward is dy * f'(x) (relu/sigmoid/tanh take y).

import math  # noqa: E402  (math.erfc: NumPy has no erf)

_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def relu(x):
    return np.maximum(f64(x), 0.0)


def relu_grad(x):
    return (f64(x) > 0).astype(np.float64)


def leaky_relu(x, slope=0.2):
    x = f64(x)
    return np.where(x > 0, x, slope * x)


def leaky_relu_grad(x, slope=0.2):
    return np.where(f64(x) > 0, 1.0, slope)


def elu(x, alpha=1.0):
    x = f64(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_grad(x, alpha=1.0):
    x = f64(x)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))


def sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -f64(x)))  # 1 / (1 + e^-x) without overflow


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * sigmoid(-f64(x))


def tanh(x):
    return np.tanh(f64(x))


def tanh_grad(x):
    return 1.0 - np.tanh(f64(x)) ** 2


def softplus(x):
    return np.logaddexp(0.0, f64(x))


def softplus_grad(x):
    return sigmoid(x)


def silu(x):
    return f64(x) * sigmoid(x)


def silu_grad(x):
    x = f64(x)
    return sigmoid(x) * (1.0 + x * sigmoid(-x))


def gelu(x, approximate=False):
    x = f64(x)
    if approximate:
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * _erfc(-x / math.sqrt(2.0))  # x Phi(x); erfc keeps Phi accurate for x << 0


def gelu_grad(x, approximate=False):
    x = f64(x)
    if approximate:
        c = math.sqrt(2.0 / math.pi)
        u = c * (x + 0.044715 * x ** 3)
        du = c * (1.0 + 3 * 0.044715 * x ** 2)
        t = np.tanh(u)
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t ** 2) * du
    cdf = 0.5 * _erfc(-x / math.sqrt(2.0))
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return cdf + x * pdf


def softmax(x, axis=-1):
    x = f64(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True, initial=-np.inf))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    x = f64(x)
    z = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def softmax_backward(dy, y, axis=-1):
    """dx = y * (dy - sum(dy * y)) for y = softmax(x)."""
    dy, y = f64(dy), f64(y)
    return y * (dy - np.sum(dy * y, axis=axis, keepdims=True))


def log_softmax_backward(dy, y, axis=-1):
    """dx = dy - softmax(x) * sum(dy) for y = log_softmax(x)."""
    dy, y = f64(dy), f64(y)
    return dy - np.exp(y) * np.sum(dy, axis=axis, keepdims=True)


# --------------------------------------------------------------------------------------- losses
# Per-sample losses (N,) from the formula; reduce() applies Keras's reductions and sample weights.

KERAS_EPS = 1e-7


def reduce_loss(per_sample, reduction="mean", sample_weight=None):
    per_sample = f64(per_sample)
    if sample_weight is not None:
        per_sample = per_sample * f64(sample_weight)
    if reduction == "none":
        return per_sample
    total = np.sum(per_sample)
    return total / per_sample.shape[0] if reduction == "mean" and per_sample.shape[0] else total


def softmax_xent_per_sample(logits, labels):
    """labels int (N,) or float (N, C): -sum_c t_c log softmax(x)_c."""
    logp = log_softmax(logits, axis=1)
    labels = np.asarray(labels)
    if labels.dtype.kind in "iu":
        return -logp[np.arange(logp.shape[0]), labels]
    return -np.sum(f64(labels) * logp, axis=1)


def categorical_xent_per_sample(probs, targets, eps=KERAS_EPS):
    p = f64(probs)
    q = np.clip(p / np.sum(p, axis=1, keepdims=True), eps, 1.0 - eps)
    return -np.sum(f64(targets) * np.log(q), axis=1)


def sparse_categorical_xent_per_sample(probs, labels, eps=KERAS_EPS):
    onehot = np.zeros(np.shape(probs))
    onehot[np.arange(onehot.shape[0]), np.asarray(labels)] = 1.0
    return categorical_xent_per_sample(probs, onehot, eps)


def _flat(x):
    x = f64(x)
    return x.reshape(x.shape[0], -1)


def binary_xent_per_sample(probs, targets, eps=KERAS_EPS):
    q = np.clip(_flat(probs), eps, 1.0 - eps)
    t = _flat(targets)
    return np.mean(-(t * np.log(q) + (1.0 - t) * np.log(1.0 - q)), axis=1)


def binary_xent_logits_per_sample(logits, targets):
    x, t = _flat(logits), _flat(targets)
    return np.mean(np.maximum(x, 0.0) - x * t + np.log1p(np.exp(-np.abs(x))), axis=1)


def mse_per_sample(pred, target):
    return np.mean((_flat(pred) - _flat(target)) ** 2, axis=1)


def mae_per_sample(pred, target):
    return np.mean(np.abs(_flat(pred) - _flat(target)), axis=1)


# ------------------------------------------------------------------------------ optimizer steps
# One step of each update rule (PyTorch's formulas) in float64 on copies: returns the new
# parameter and the new state.

def sgd_step(p, g, lr, momentum=0.0, buf=None, nesterov=False, weight_decay=0.0):
    p, g = f64(p).copy(), f64(g)
    g = g + weight_decay * p
    if momentum != 0.0:
        buf = momentum * f64(buf) + g
        g = g + momentum * buf if nesterov else buf
    return p - lr * g, buf


def adagrad_step(p, g, acc, lr, eps=1e-7, weight_decay=0.0):
    p, g = f64(p).copy(), f64(g)
    g = g + weight_decay * p
    acc = f64(acc) + g * g
    return p - lr * g / (np.sqrt(acc) + eps), acc


def rmsprop_step(p, g, sq, lr, rho=0.9, eps=1e-7, momentum=0.0, buf=None, centered=False, gavg=None,
                 weight_decay=0.0):
    p, g = f64(p).copy(), f64(g)
    g = g + weight_decay * p
    sq = rho * f64(sq) + (1 - rho) * g * g
    if centered:
        gavg = rho * f64(gavg) + (1 - rho) * g
        denom = np.sqrt(sq - gavg * gavg) + eps
    else:
        denom = np.sqrt(sq) + eps
    if momentum != 0.0:
        buf = momentum * f64(buf) + g / denom
        return p - lr * buf, sq, buf, gavg
    return p - lr * g / denom, sq, buf, gavg


def adam_step(p, g, m, v, lr, step, beta1=0.9, beta2=0.999, eps=1e-7, weight_decay=0.0, decoupled=False,
              amsgrad=False, vmax=None):
    p, g = f64(p).copy(), f64(g)
    if decoupled:
        p = p * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * p
    m = beta1 * f64(m) + (1 - beta1) * g
    v = beta2 * f64(v) + (1 - beta2) * g * g
    vv = v
    if amsgrad:
        vmax = np.maximum(f64(vmax), v)
        vv = vmax
    bc1 = 1 - beta1 ** step
    bc2 = 1 - beta2 ** step
    p = p - (lr / bc1) * m / (np.sqrt(vv) / math.sqrt(bc2) + eps)
    return p, m, v, vmax


# Gradients of the reduced losses w.r.t. the prediction, from the formulas above: per-sample
# derivative times w_i, divided by N for "mean" ("none": the gradient of the sum).

def _row_scale(n, reduction, sample_weight):
    w = np.ones(n) if sample_weight is None else f64(sample_weight)
    return (w / n if reduction == "mean" and n else w).reshape(n, 1)


def loss_grad(name, pred, target, reduction="mean", sample_weight=None, eps=KERAS_EPS):
    """name: softmax_xent, categorical_xent, sparse_categorical_xent, binary_xent, binary_xent_logits, mse, mae."""
    shape = np.shape(pred)
    n = shape[0]
    x = _flat(pred)
    if name in ("sparse_categorical_xent",) or (name == "softmax_xent" and np.asarray(target).dtype.kind in "iu"):
        t = np.zeros(x.shape)
        t[np.arange(n), np.asarray(target)] = 1.0
    else:
        t = _flat(target)
    d = x.shape[1]
    if name == "softmax_xent":
        g = np.sum(t, axis=1, keepdims=True) * softmax(x, axis=1) - t
    elif name in ("categorical_xent", "sparse_categorical_xent"):
        s = np.sum(x, axis=1, keepdims=True)
        q = x / s
        inside = (q > eps) & (q < 1.0 - eps)
        dq = np.where(inside, -t / np.clip(q, eps, 1.0 - eps), 0.0)
        g = (dq - np.sum(dq * q, axis=1, keepdims=True)) / s
    elif name == "binary_xent":
        q = np.clip(x, eps, 1.0 - eps)
        g = np.where((x > eps) & (x < 1.0 - eps), -(t / q - (1.0 - t) / (1.0 - q)), 0.0) / d
    elif name == "binary_xent_logits":
        g = (sigmoid(x) - t) / d
    elif name == "mse":
        g = 2.0 * (x - t) / d
    elif name == "mae":
        g = np.sign(x - t) / d
    else:
        raise ValueError(name)
    return (g * _row_scale(n, reduction, sample_weight)).reshape(shape)
