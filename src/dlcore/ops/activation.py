"""Activations: one Function per activation kernel, forward and backward side by side.

relu, sigmoid, tanh, softmax and log_softmax compute their backward from the output y; the others
from the input x. The array work is done by the activation kernels (`dlcore.kernels`). Tensor's
methods (`t.relu()`) and `dlcore.functional` (`F.relu(t)`) both apply these.
"""
from __future__ import annotations

from ..autograd import Function
from ._helpers import _kernel


class _FromOutput(Function):
    """An activation whose derivative is computed from its output y (relu, sigmoid, tanh)."""

    kind = ""

    def forward(self, x):
        self.y = _kernel(self.kind + "_forward")(x)
        return self.y

    def backward(self, g):
        return _kernel(self.kind + "_backward")(g, self.y)


class Relu(_FromOutput):
    kind = "relu"


class Sigmoid(_FromOutput):
    kind = "sigmoid"


class Tanh(_FromOutput):
    kind = "tanh"


class LeakyRelu(Function):
    def forward(self, x, negative_slope):
        self.x, self.slope = x, negative_slope
        return _kernel("leaky_relu_forward")(x, negative_slope=negative_slope)

    def backward(self, g):
        return _kernel("leaky_relu_backward")(g, self.x, negative_slope=self.slope)


class Elu(Function):
    def forward(self, x, alpha):
        self.x, self.alpha = x, alpha
        return _kernel("elu_forward")(x, alpha=alpha)

    def backward(self, g):
        return _kernel("elu_backward")(g, self.x, alpha=self.alpha)


class Gelu(Function):
    def forward(self, x, approximate):
        self.x, self.approximate = x, approximate
        return _kernel("gelu_forward")(x, approximate=approximate)

    def backward(self, g):
        return _kernel("gelu_backward")(g, self.x, approximate=self.approximate)


class Softplus(Function):
    def forward(self, x):
        self.x = x
        return _kernel("softplus_forward")(x)

    def backward(self, g):
        return _kernel("softplus_backward")(g, self.x)


class Silu(Function):
    def forward(self, x):
        self.x = x
        return _kernel("silu_forward")(x)

    def backward(self, g):
        return _kernel("silu_backward")(g, self.x)


class Softmax(Function):
    def forward(self, x, axis):
        self.axis = axis
        self.y = _kernel("softmax_forward")(x, axis=axis)
        return self.y

    def backward(self, g):
        return _kernel("softmax_backward")(g, self.y, axis=self.axis)


class LogSoftmax(Function):
    def forward(self, x, axis):
        self.axis = axis
        self.y = _kernel("log_softmax_forward")(x, axis=axis)
        return self.y

    def backward(self, g):
        return _kernel("log_softmax_backward")(g, self.y, axis=self.axis)
