"""Activations: one Function per activation kernel, forward and backward side by side.

relu, sigmoid, tanh, softmax and log_softmax compute their backward from the output y; the others
from the input x. The array work is done by the activation kernels (`dlcore.kernels`). Tensor's
methods (`t.relu()`) and `dlcore.functional` (`F.relu(t)`) both apply these.

`backward_graph` writes each derivative with Tensor ops (for second derivatives): from the saved
output re-wrapped as a tensor of this node (`self.output(y)`), or from the input tensor. gelu's
derivative is an op of its own, `GeluGrad`, whose backward is gelu's second derivative.
"""
from __future__ import annotations

from ..autograd import Function
from ._helpers import _const, _kernel, get_array_module
from .math import Clip, Where

_INV_SQRT_2PI = 0.39894228040143267794  # 1 / sqrt(2 pi)
_GELU_C = 0.79788456080286535588        # sqrt(2 / pi)
_GELU_A = 0.044715


class _FromOutput(Function):
    """An activation whose derivative is computed from its output y (relu, sigmoid, tanh)."""

    kind = ""
    saved_inputs = ()
    saves_output = True

    def forward(self, x):
        self.y = _kernel(self.kind + "_forward")(x)
        return self.y

    def backward(self, g):
        return _kernel(self.kind + "_backward")(g, self.y)


class Relu(_FromOutput):
    kind = "relu"

    def backward_graph(self, g, x):
        return g * (self.y > 0)


class Sigmoid(_FromOutput):
    kind = "sigmoid"

    def backward_graph(self, g, x):
        y = self.output(self.y)
        return g * (y * (1 - y))


class Tanh(_FromOutput):
    kind = "tanh"

    def backward_graph(self, g, x):
        y = self.output(self.y)
        return g * (1 - y * y)


class LeakyRelu(Function):
    saved_inputs = (0,)

    def forward(self, x, negative_slope):
        self.x, self.slope = x, negative_slope
        return _kernel("leaky_relu_forward")(x, negative_slope=negative_slope)

    def backward(self, g):
        return _kernel("leaky_relu_backward")(g, self.x, negative_slope=self.slope)

    def backward_graph(self, g, x):
        slope = get_array_module(self.x).where(self.x > 0, 1.0, self.slope).astype(self.x.dtype)
        return g * slope


class Elu(Function):
    saved_inputs = (0,)

    def forward(self, x, alpha):
        self.x, self.alpha = x, alpha
        return _kernel("elu_forward")(x, alpha=alpha)

    def backward(self, g):
        return _kernel("elu_backward")(g, self.x, alpha=self.alpha)

    def backward_graph(self, g, x):  # 1 where x > 0, alpha exp(x) elsewhere (exp of min(x, 0): no overflow)
        one = _const(x, get_array_module(self.x).ones((), dtype=self.x.dtype))
        return g * Where.apply(one, Clip.apply(x, lo=None, hi=0.0).exp() * self.alpha, cond=self.x > 0)


class Gelu(Function):
    saved_inputs = (0,)

    def forward(self, x, approximate):
        self.x, self.approximate = x, approximate
        return _kernel("gelu_forward")(x, approximate=approximate)

    def backward(self, g):
        return _kernel("gelu_backward")(g, self.x, approximate=self.approximate)

    def backward_graph(self, g, x):
        return g * GeluGrad.apply(x, approximate=self.approximate)


class GeluGrad(Function):
    """gelu'(x) as an op (for gelu's double backward); its backward is gelu''(x).

    exact:  gelu'' = phi(x) (2 - x^2),  phi the standard normal density.
    tanh form, gelu = x s(v), v = 2u = 2c (x + a x^3), s the sigmoid:
            gelu'' = s (1 - s) (2 v' + x (1 - 2s) v'^2 + x v''),  v' = 2c (1 + 3a x^2), v'' = 12 c a x.
    """

    saved_inputs = (0,)

    def forward(self, x, approximate):
        self.x, self.approximate = x, approximate
        return _kernel("gelu_backward")(get_array_module(x).ones_like(x), x, approximate=approximate)

    def backward(self, g):
        xp = get_array_module(self.x)
        x = xp.clip(self.x, -50, 50)  # beyond, gelu'' is 0 to the last bit; keeps x^3 finite
        if not self.approximate:
            return g * (_INV_SQRT_2PI * xp.exp(-0.5 * x * x) * (2 - x * x))
        v = 2 * _GELU_C * (x + _GELU_A * x * x * x)
        dv = 2 * _GELU_C * (1 + 3 * _GELU_A * x * x)
        s = _kernel("sigmoid_forward")(v)
        return g * (s * (1 - s) * (2 * dv + x * (1 - 2 * s) * dv * dv + x * (12 * _GELU_C * _GELU_A) * x))


class Softplus(Function):
    saved_inputs = (0,)

    def forward(self, x):
        self.x = x
        return _kernel("softplus_forward")(x)

    def backward(self, g):
        return _kernel("softplus_backward")(g, self.x)

    def backward_graph(self, g, x):
        return g * Sigmoid.apply(x)


class Silu(Function):
    saved_inputs = (0,)

    def forward(self, x):
        self.x = x
        return _kernel("silu_forward")(x)

    def backward(self, g):
        return _kernel("silu_backward")(g, self.x)

    def backward_graph(self, g, x):  # silu' = s (1 + x (1 - s))
        s = Sigmoid.apply(x)
        return g * (s * (1 + x * (1 - s)))


class Softmax(Function):
    saved_inputs = ()
    saves_output = True

    def forward(self, x, axis):
        self.axis = axis
        self.y = _kernel("softmax_forward")(x, axis=axis)
        return self.y

    def backward(self, g):
        return _kernel("softmax_backward")(g, self.y, axis=self.axis)

    def backward_graph(self, g, x):
        y = self.output(self.y)
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    saved_inputs = ()
    saves_output = True

    def forward(self, x, axis):
        self.axis = axis
        self.y = _kernel("log_softmax_forward")(x, axis=axis)
        return self.y

    def backward(self, g):
        return _kernel("log_softmax_backward")(g, self.y, axis=self.axis)

    def backward_graph(self, g, x):
        return g - self.output(self.y).exp() * g.sum(axis=self.axis, keepdims=True)
