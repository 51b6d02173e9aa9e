"""Convolution (NHWC, kernels (k..., c_in / groups, c_out)) with the bias and activation fused in the kernel;
depthwise convolution as the grouped one."""
from __future__ import annotations

import numbers

from ..autograd import Function
from ..primitives._helpers import _kernel
from ._common import _GEMM_BACKWARD, _GEMM_BACKWARD_GRAPH, _t
from .activation import get_activation


class _Conv(Function):
    """Convolution with the bias and a relu/sigmoid/tanh epilogue fused in the forward kernel.

    backward: dz = act'(y) * g, then dx = backward_data(dz), dw = backward_filter(dz),
    db = sum of dz over every axis but the channels.
    backward_graph: the same, with backward_data and backward_filter applied as ops of their own
    (`ConvBackwardData`, `ConvBackwardFilter`), so that the gradients can be differentiated again.
    """

    rank = 2
    saved_inputs = (0, 1)

    def forward(self, x, w, b, strides, padding, dilation, activation, groups=1):
        self.x, self.w, self.has_b, self.activation = x, w, b is not None, activation
        self.cfg = dict(strides=strides, padding=padding, dilation=dilation, groups=groups)
        y = _kernel(f"conv{self.rank}d_forward")(x, w, bias=b, activation=activation, **self.cfg)
        self.y = y if activation is not None else None
        self.saves_output = activation is not None
        return y

    def backward(self, g):
        if self.activation is not None:
            g = _kernel(_GEMM_BACKWARD[self.activation])(g, self.y)
        r, dx, dw, db = self.rank, None, None, None
        if self.needs_grad(0):  # not for data (a first layer's input)
            dx = _kernel(f"conv{r}d_backward_data")(g, self.w, self.x.shape, **self.cfg)
        if self.needs_grad(1):  # not for frozen filters
            dw = _kernel(f"conv{r}d_backward_filter")(g, self.x, self.w.shape, **self.cfg)
        if self.has_b and self.needs_grad(2):
            db = _kernel(f"conv{r}d_backward_bias")(g)
        return dx, dw, db

    def backward_graph(self, g, x, w, b):
        if self.activation is not None:
            g = _GEMM_BACKWARD_GRAPH[self.activation](g, self.output(self.y))
        dx = ConvBackwardData.apply(g, w, x_shape=x.shape, rank=self.rank, cfg=self.cfg)
        dw = ConvBackwardFilter.apply(g, x, w_shape=w.shape, rank=self.rank, cfg=self.cfg)
        return dx, dw, g.sum(axis=tuple(range(g.ndim - 1))) if b is not None else None


class Conv2D(_Conv):
    rank = 2


class Conv1D(_Conv):
    rank = 1


_CONV = {1: Conv1D, 2: Conv2D}


class ConvBackwardData(Function):
    """dx = backward_data(dy, w): a convolution's input gradient as an op (for double backward).

    Bilinear in dy and w: <gx, backward_data(dy, w)> = <conv(gx, w), dy>, so its backward is
    d(dy) = conv(gx, w) and dw = backward_filter(dy, gx).
    """

    saved_inputs = (0, 1)

    def forward(self, dy, w, x_shape, rank, cfg):
        self.dy, self.w, self.rank, self.cfg = dy, w, rank, cfg
        return _kernel(f"conv{rank}d_backward_data")(dy, w, x_shape, **cfg)

    def backward(self, gx):
        r = self.rank
        return (_kernel(f"conv{r}d_forward")(gx, self.w, **self.cfg),
                _kernel(f"conv{r}d_backward_filter")(self.dy, gx, self.w.shape, **self.cfg))

    def backward_graph(self, gx, dy, w):
        return (_CONV[self.rank].apply(gx, w, None, activation=None, **self.cfg),
                ConvBackwardFilter.apply(dy, gx, w_shape=w.shape, rank=self.rank, cfg=self.cfg))


class ConvBackwardFilter(Function):
    """dw = backward_filter(dy, x): a convolution's filter gradient as an op (for double backward).

    Bilinear in dy and x: <gw, backward_filter(dy, x)> = <conv(x, gw), dy>, so its backward is
    d(dy) = conv(x, gw) and dx = backward_data(dy, gw).
    """

    saved_inputs = (0, 1)

    def forward(self, dy, x, w_shape, rank, cfg):
        self.dy, self.x, self.rank, self.cfg = dy, x, rank, cfg
        return _kernel(f"conv{rank}d_backward_filter")(dy, x, w_shape, **cfg)

    def backward(self, gw):
        r = self.rank
        return (_kernel(f"conv{r}d_forward")(self.x, gw, **self.cfg),
                _kernel(f"conv{r}d_backward_data")(self.dy, gw, self.x.shape, **self.cfg))

    def backward_graph(self, gw, dy, x):
        return (_CONV[self.rank].apply(x, gw, None, activation=None, **self.cfg),
                ConvBackwardData.apply(dy, gw, x_shape=x.shape, rank=self.rank, cfg=self.cfg))


def _conv_checks(op, x, w, rank, groups=1):
    if x.ndim != rank + 2:
        layout = "(batch, height, width, channels)" if rank == 2 else "(batch, steps, channels)"
        raise ValueError(f"{op}: expected a {rank + 2}-D input {layout}, got shape {x.shape}")
    if w.ndim != rank + 2:
        raise ValueError(f"{op}: 'w' must be {rank + 2}-D (kernel..., c_in, c_out), got shape {w.shape}")
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"{op}: 'groups' must be a positive int, got {groups!r}")
    if x.shape[-1] != w.shape[-2] * groups:
        per = f" * groups={groups}" if groups > 1 else ""
        raise ValueError(f"{op}: input has {x.shape[-1]} channels (shape {x.shape}) but the kernel expects "
                         f"{w.shape[-2]}{per} (w has shape {w.shape})")


def _conv(op, x, w, b, strides, padding, dilation, activation, groups=1):
    if activation == "linear":
        activation = None
    fused = activation is None or (isinstance(activation, str) and activation in _GEMM_BACKWARD)
    y = op.apply(x, w, b, strides=strides, padding=padding, dilation=dilation,
                 activation=activation if fused else None, groups=groups)
    return y if fused else _activate(y, activation)


def conv2d(x, w, b=None, strides=1, padding="valid", dilation=1, activation=None, groups=1):
    """2-D convolution (cross-correlation), x NHWC, w (kh, kw, c_in / groups, c_out), b (c_out,).

    relu/sigmoid/tanh activations run fused in the kernel's epilogue; others are applied after.
    `groups` > 1: output channel o sees only the input channels of its group (Keras's `groups`).
    """
    x, w, b = _t(x, "x"), _t(w, "w"), _t(b, "b")
    _conv_checks("conv2d", x, w, 2, groups)
    return _conv(Conv2D, x, w, b, strides, padding, dilation, activation, groups)


def conv1d(x, w, b=None, strides=1, padding="valid", dilation=1, activation=None, groups=1):
    """1-D convolution, x (N, L, c_in), w (k, c_in / groups, c_out), b (c_out,)."""
    x, w, b = _t(x, "x"), _t(w, "w"), _t(b, "b")
    _conv_checks("conv1d", x, w, 1, groups)
    return _conv(Conv1D, x, w, b, strides, padding, dilation, activation, groups)


def depthwise_conv2d(x, w, b=None, strides=1, padding="valid", dilation=1, activation=None):
    """Depthwise 2-D convolution (Keras's DepthwiseConv2D): x NHWC (N, H, W, C), w (kh, kw, C, m),
    b (C*m,) -> (N, Ho, Wo, C*m); output channel c*m + j is channel c convolved with w[..., c, j].

    It is conv2d with groups = C and the filters seen as (kh, kw, 1, C*m); it runs the depthwise kernels.
    strides / padding / dilation / activation as conv2d.

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    y = F.depthwise_conv2d(np.ones((1, 5, 5, 3)), np.ones((3, 3, 3, 2)), padding="same")
    assert y.shape == (1, 5, 5, 6) and float(y.numpy()[0, 2, 2, 0]) == 9.0
    ```
    """
    x, w, b = _t(x, "x"), _t(w, "w"), _t(b, "b")
    if w.ndim != 4:
        raise ValueError(f"depthwise_conv2d: 'w' must be 4-D (kh, kw, channels, depth_multiplier), got shape "
                         f"{w.shape}")
    if x.ndim != 4 or x.shape[-1] != w.shape[2]:
        raise ValueError(f"depthwise_conv2d: expected a 4-D input (batch, height, width, {w.shape[2]}) for w of "
                         f"shape {w.shape}, got shape {x.shape}")
    kh, kw, c, m = w.shape
    return conv2d(x, w.reshape(kh, kw, 1, c * m), b, strides, padding, dilation, activation, groups=max(c, 1))


def _activate(y, activation):
    if activation is None or activation == "linear":
        return y
    return get_activation(activation)(y)
