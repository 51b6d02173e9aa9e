"""Convolution (NHWC, kernels (k..., c_in, c_out)) with the bias and activation fused in the kernel."""
from __future__ import annotations

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

    def forward(self, x, w, b, strides, padding, dilation, activation):
        self.x, self.w, self.has_b, self.activation = x, w, b is not None, activation
        self.cfg = dict(strides=strides, padding=padding, dilation=dilation)
        y = _kernel(f"conv{self.rank}d_forward")(x, w, bias=b, activation=activation, **self.cfg)
        self.y = y if activation is not None else None
        self.saves_output = activation is not None
        return y

    def backward(self, g):
        if self.activation is not None:
            g = _kernel(_GEMM_BACKWARD[self.activation])(g, self.y)
        r = self.rank
        dx = _kernel(f"conv{r}d_backward_data")(g, self.w, self.x.shape, **self.cfg)
        dw = _kernel(f"conv{r}d_backward_filter")(g, self.x, self.w.shape, **self.cfg)
        db = _kernel(f"conv{r}d_backward_bias")(g) if self.has_b else None
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
    return get_activation(activation)(y)
