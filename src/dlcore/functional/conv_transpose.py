"""Transposed convolution (Keras's Conv1DTranspose / Conv2DTranspose): the convolution's backward-data
pass run forward, on the conv2d kernels.

Layouts (Keras's): x NHWC (N, H, W, C_in), filters (kh, kw, filters, C_in), y (N, Ho, Wo, filters);
1-D: x (N, L, C_in), filters (k, filters, C_in). The map x -> y is the adjoint of the convolution
z (N, Ho, Wo, filters) -> conv2d(z, w) (N, H, W, C_in) with the padding below, so

    forward          y  = conv2d_backward_data(x, w, y_shape)
    backward, x      dx = conv2d_forward(dy, w)
    backward, w      dw = conv2d_backward_filter(dy=x, x=dy)

Output size and padding per axis (k_eff = (k - 1) * d + 1), as Keras computes them (its JAX / torch
backends pad the stride-dilated input by (left, right) and convolve with the flipped filters):

    "valid": left = k_eff - 1, right = k_eff - 1 + op, op = output_padding or max(k_eff, s) - k_eff
    "same":  pad = s + k_eff - 2 (output_padding None) or k_eff + k_eff % 2 - 2 + op,
             left = min(ceil(pad / 2), k_eff - 1), right = pad - left
    out = (L - 1) * s + 1 + left + right - k_eff + 1

The adjoint convolution of an input of length `out` then has padding (k_eff - 1 - left) before and
(k_eff - 1 - right) after; "after" may be negative (down to 1 - s), which the kernels' output size
already accounts for, so it is passed as 0.
"""
from __future__ import annotations

import numbers

from ..autograd import Function
from ..primitives._helpers import _kernel
from ._common import _t
from .activation import get_activation


def conv_transpose_length(length, kernel, stride, dilation, padding, output_padding=None):
    """(output length, padding before, padding after) of one axis of a transposed convolution.

    `length` may be None (unknown): the output length is then None. Keras's rule (see the module).
    """
    k = (kernel - 1) * dilation + 1
    if padding == "valid":
        op = max(k, stride) - k if output_padding is None else output_padding
        left, right = k - 1, k - 1 + op
    else:
        pad = stride + k - 2 if output_padding is None else k + k % 2 - 2 + output_padding
        left = min(pad // 2 + pad % 2, k - 1)
        right = pad - left
    out = None if length is None else (length - 1) * stride + 1 + left + right - k + 1
    return out, k - 1 - left, max(k - 1 - right, 0)


def _check_arg(op, name, value, n, low):
    """An int or an n-sequence of ints >= low, as an n-tuple."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,) * n
    if (not isinstance(value, (tuple, list)) or len(value) != n
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= low for v in value)):
        raise ValueError(f"{op}: '{name}' must be an int or a tuple of {n} ints >= {low}, got {value!r}")
    return tuple(int(v) for v in value)


def _geometry(op, x_shape, w_shape, rank, strides, padding, output_padding, dilation):
    """(output shape, explicit conv padding, strides, dilation) after the argument checks."""
    layout = "(batch, height, width, channels)" if rank == 2 else "(batch, steps, channels)"
    if len(x_shape) != rank + 2:
        raise ValueError(f"{op}: expected a {rank + 2}-D input {layout}, got shape {tuple(x_shape)}")
    if len(w_shape) != rank + 2:
        raise ValueError(f"{op}: 'w' must be {rank + 2}-D (kernel..., filters, c_in), got shape {tuple(w_shape)}")
    if x_shape[-1] != w_shape[-1]:
        raise ValueError(f"{op}: input has {x_shape[-1]} channels (shape {tuple(x_shape)}) but the kernel expects "
                         f"{w_shape[-1]} (w has shape {tuple(w_shape)}, the last axis is the input channels)")
    s = _check_arg(op, "strides", strides, rank, 1)
    d = _check_arg(op, "dilation", dilation, rank, 1)
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"{op}: 'padding' must be 'valid' or 'same', got {padding!r}")
    padding = padding.lower()
    ops = (None,) * rank if output_padding is None else _check_arg(op, "output_padding", output_padding, rank, 0)
    for o, st in zip(ops, s):
        if o is not None and o >= st:
            raise ValueError(f"{op}: 'output_padding' must be smaller than the strides, got output_padding "
                             f"{output_padding!r} and strides {strides!r}")
    spatial, pads = [], []
    for length, k, st, dl, o in zip(x_shape[1:-1], w_shape[:rank], s, d, ops):
        if length < 1:
            raise ValueError(f"{op}: the input must have at least one position per spatial axis, got shape "
                             f"{tuple(x_shape)}")
        out, before, after = conv_transpose_length(length, k, st, dl, padding, o)
        if out < 1:
            raise ValueError(f"{op}: the output would be empty for input {tuple(x_shape)}, kernel {tuple(w_shape)}, "
                             f"padding {padding!r}")
        spatial.append(out)
        pads.append((before, after))
    y_shape = (x_shape[0],) + tuple(spatial) + (w_shape[-2],)
    return y_shape, (pads[0] if rank == 1 else tuple(pads)), (s[0] if rank == 1 else s), (d[0] if rank == 1 else d)


class _ConvTranspose(Function):
    """y = the adjoint convolution of x (plus bias); see the module docstring for the three passes."""

    rank = 2

    def forward(self, x, w, b, y_shape, strides, padding, dilation):
        r = self.rank
        self.x, self.w, self.has_b = x, w, b is not None
        self.cfg = dict(strides=strides, padding=padding, dilation=dilation)
        y = _kernel(f"conv{r}d_backward_data")(x, w, y_shape, **self.cfg)
        if b is not None:
            y += b
        return y

    def backward(self, g):
        r = self.rank
        dx = dw = db = None
        if self.needs_grad(0):  # not for data (a first layer's input)
            dx = _kernel(f"conv{r}d_forward")(g, self.w, **self.cfg)
        if self.needs_grad(1):  # not for frozen filters
            dw = _kernel(f"conv{r}d_backward_filter")(self.x, g, self.w.shape, **self.cfg)
        if self.has_b and self.needs_grad(2):
            db = g.reshape(-1, g.shape[-1]).sum(axis=0)
        return dx, dw, db


class Conv2DTranspose(_ConvTranspose):
    rank = 2


class Conv1DTranspose(_ConvTranspose):
    rank = 1


def _conv_transpose(fn, op, x, w, b, strides, padding, output_padding, dilation, activation):
    x, w, b = _t(x, "x"), _t(w, "w"), _t(b, "b")
    y_shape, pads, s, d = _geometry(op, x.shape, w.shape, fn.rank, strides, padding, output_padding, dilation)
    if b is not None and b.shape != (w.shape[-2],):
        raise ValueError(f"{op}: 'b' must have shape ({w.shape[-2]},), got {b.shape}")
    y = fn.apply(x, w, b, y_shape=y_shape, strides=s, padding=pads, dilation=d)
    return y if activation in (None, "linear") else get_activation(activation)(y)


def conv2d_transpose(x, w, b=None, strides=1, padding="valid", output_padding=None, dilation=1, activation=None):
    """Transposed 2-D convolution (Keras's Conv2DTranspose): x (N, H, W, C_in), w (kh, kw, filters, C_in),
    b (filters,) -> (N, Ho, Wo, filters); Ho = H * s ("same", no output_padding) or
    (H - 1) * s + max(k_eff, s) ("valid"); see the module docstring for output_padding.

    Args:
        x, w, b: the input, the filters and the bias (or None): Tensors or arrays.
        strides, dilation: ints or pairs; padding: "valid" or "same"; output_padding: None, an int or
            a pair, each smaller than its stride; activation: a name or callable applied after.

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    y = F.conv2d_transpose(np.ones((1, 3, 3, 2)), np.ones((3, 3, 4, 2)), strides=2, padding="same")
    assert y.shape == (1, 6, 6, 4)
    ```
    """
    return _conv_transpose(Conv2DTranspose, "conv2d_transpose", x, w, b, strides, padding, output_padding, dilation,
                           activation)


def conv1d_transpose(x, w, b=None, strides=1, padding="valid", output_padding=None, dilation=1, activation=None):
    """Transposed 1-D convolution (Keras's Conv1DTranspose): x (N, L, C_in), w (k, filters, C_in),
    b (filters,) -> (N, Lo, filters); the arguments as conv2d_transpose, with ints.

    Example:
    ```python
    import numpy as np
    import dlcore.functional as F
    assert F.conv1d_transpose(np.ones((2, 5, 3)), np.ones((4, 6, 3)), strides=2).shape == (2, 12, 6)
    ```
    """
    return _conv_transpose(Conv1DTranspose, "conv1d_transpose", x, w, b, strides, padding, output_padding, dilation,
                           activation)
