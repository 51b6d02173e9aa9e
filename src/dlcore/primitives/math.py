"""Arithmetic, matmul and elementwise math: each op one Function, forward and backward side by side.

Broadcasting follows NumPy; the backward passes sum the gradient back over the broadcast axes
(`_unbroadcast`). 2-D float matmul on the CPU runs on the GEMM kernel (`dlcore.kernels.gemm`).

Most rules are written once, as a function of the gradient and the operands that works on arrays
(`backward`) and on Tensors (`backward_graph`, for second derivatives) alike: `_mul_grads(g, a, b)`
is called with the saved arrays by one and with the input tensors by the other. Where a backward
multiplies by a constant mask (abs, clip, maximum), the mask stays an array and the same code
serves both.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..kernels import gemm
from ._helpers import _const, _unbroadcast, get_array_module


def _linear_backward(self, g, *inputs):
    """backward_graph of an op whose backward is linear in g and reads no input: the same code."""
    return self.backward(g)


class Add(Function):
    saved_inputs = ()

    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        return a + b

    def backward(self, g):
        return _unbroadcast(g, self.sa), _unbroadcast(g, self.sb)

    backward_graph = _linear_backward


class Sub(Function):
    saved_inputs = ()

    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        return a - b

    def backward(self, g):
        return _unbroadcast(g, self.sa), _unbroadcast(-g, self.sb)

    backward_graph = _linear_backward


def _mul_grads(g, a, b):
    return _unbroadcast(g * b, a.shape), _unbroadcast(g * a, b.shape)


def _reads_the_other(self, i):
    """For a @ b and a * b: a's values give b's gradient, b's give a's."""
    return self.needs_grad(1 - i)


class Mul(Function):
    saved_inputs = (0, 1)
    reads_input = _reads_the_other

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        return _mul_grads(g, self.a, self.b)

    def backward_graph(self, g, a, b):
        return _mul_grads(g, a, b)


def _div_grads(g, a, b):
    ga = g / b
    return _unbroadcast(ga, a.shape), _unbroadcast(-ga * a / b, b.shape)


class Div(Function):
    saved_inputs = (0, 1)

    def reads_input(self, i):  # a's values only for b's gradient; b's for both
        return i == 1 or self.needs_grad(1)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        return _div_grads(g, self.a, self.b)

    def backward_graph(self, g, a, b):
        return _div_grads(g, a, b)


class Neg(Function):
    saved_inputs = ()

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g

    backward_graph = _linear_backward


def _pow_scalar_grad(g, a, p):
    if p == 2:
        return g * (a * 2)
    return g * (a ** (p - 1) * p)


class PowScalar(Function):
    saved_inputs = (0,)

    def forward(self, a, p):
        self.a, self.p = a, p
        return a ** p

    def backward(self, g):
        return _pow_scalar_grad(g, self.a, self.p)

    def backward_graph(self, g, a):
        return _pow_scalar_grad(g, a, self.p)


class Pow(Function):
    """a ** b for two tensors; d/db = a**b log(a), taken as 0 where a <= 0 (where it is undefined)."""

    saved_inputs = (0, 1)
    saves_output = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a ** b
        return self.y

    def backward(self, g):
        a, b, y = self.a, self.b, self.y
        xp = get_array_module(a)
        ga = g * b * a ** (b - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            gb = g * y * xp.log(xp.where(a > 0, a, 1))
        return _unbroadcast(ga, a.shape), _unbroadcast(gb, b.shape)

    def backward_graph(self, g, a, b):
        xp = get_array_module(self.a)
        y = self.output(self.y)
        ga = g * b * a ** (b - 1)
        positive = self.a > 0
        log_a = Where.apply(a, _const(a, xp.ones((), dtype=self.a.dtype)), cond=positive).log()
        gb = g * y * log_a
        return _unbroadcast(ga, a.shape), _unbroadcast(gb, b.shape)


def _gemm_ok(a, b):
    return (a.ndim == 2 and b.ndim == 2 and isinstance(a, np.ndarray) and a.dtype == b.dtype
            and a.dtype in (np.float32, np.float64) and type(b) is np.ndarray)


def _matmul_grads(g, a, b):
    """The gradients of a @ b (NumPy's rules: 1-D operands promoted, batch axes broadcast)."""
    a2 = a.reshape((1,) + tuple(a.shape)) if a.ndim == 1 else a
    b2 = b.reshape(tuple(b.shape) + (1,)) if b.ndim == 1 else b
    batch = np.broadcast_shapes(tuple(a2.shape[:-2]), tuple(b2.shape[:-2]))
    g2 = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))
    ga = g2 @ b2.swapaxes(-1, -2)
    gb = a2.swapaxes(-1, -2) @ g2
    return _unbroadcast(ga, tuple(a2.shape)).reshape(a.shape), _unbroadcast(gb, tuple(b2.shape)).reshape(b.shape)


class MatMul(Function):
    """a @ b with NumPy's matmul rules (1-D promotion, batch broadcasting). 2-D float: K.gemm."""

    saved_inputs = (0, 1)
    reads_input = _reads_the_other

    def forward(self, a, b):
        self.a, self.b = a, b
        if _gemm_ok(a, b):
            return gemm(a, b)
        return a @ b

    def backward(self, g):
        a, b = self.a, self.b
        if _gemm_ok(a, b):
            return gemm(g, b, trans_b=True), gemm(a, g, trans_a=True)
        return _matmul_grads(g, a, b)

    def backward_graph(self, g, a, b):
        return _matmul_grads(g, a, b)


class Exp(Function):
    saved_inputs = ()
    saves_output = True

    def forward(self, a):
        self.y = get_array_module(a).exp(a)
        return self.y

    def backward(self, g):
        return g * self.y

    def backward_graph(self, g, a):
        return g * self.output(self.y)


class Log(Function):
    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return get_array_module(a).log(a)

    def backward(self, g):
        return g / self.a

    def backward_graph(self, g, a):
        return g / a


class Sqrt(Function):
    saved_inputs = ()
    saves_output = True

    def forward(self, a):
        self.y = get_array_module(a).sqrt(a)
        return self.y

    def backward(self, g):
        return g / (2 * self.y)

    def backward_graph(self, g, a):
        return g / (self.output(self.y) * 2)


class Abs(Function):
    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return abs(a)

    def backward(self, g):
        return g * get_array_module(self.a).sign(self.a)

    backward_graph = _linear_backward  # the sign is a constant of the input


class Clip(Function):
    """Clip to [lo, hi] (None: no bound); the gradient passes where lo <= a <= hi."""

    saved_inputs = (0,)

    def forward(self, a, lo, hi):
        self.a, self.lo, self.hi = a, lo, hi
        return get_array_module(a).clip(a, lo, hi)

    def backward(self, g):
        a = self.a
        xp = get_array_module(a)
        mask = xp.ones(a.shape, dtype=bool)
        if self.lo is not None:
            mask &= a >= self.lo
        if self.hi is not None:
            mask &= a <= self.hi
        return g * mask

    backward_graph = _linear_backward


class Cast(Function):
    saved_inputs = ()

    def forward(self, a, dtype):
        self.src = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return g.astype(self.src)

    backward_graph = _linear_backward


class Where(Function):
    """cond ? x : y elementwise, with broadcasting; `cond` a boolean array (no gradient)."""

    saved_inputs = ()

    def forward(self, x, y, cond):
        self.cond, self.sx, self.sy = cond, x.shape, y.shape
        return get_array_module(x).where(cond, x, y)

    def backward(self, g):
        xp = get_array_module(g)
        zero = xp.zeros((), dtype=g.dtype)
        return (_unbroadcast(xp.where(self.cond, g, zero), self.sx),
                _unbroadcast(xp.where(self.cond, zero, g), self.sy))

    def backward_graph(self, g, x, y):
        zero = _const(g, get_array_module(g.data).zeros((), dtype=g.dtype))
        return (_unbroadcast(Where.apply(g, zero, cond=self.cond), self.sx),
                _unbroadcast(Where.apply(zero, g, cond=self.cond), self.sy))


class Maximum(Function):
    """Elementwise max (sign 1) or min (sign -1) with broadcasting; ties split the gradient in halves."""

    saved_inputs = ()  # backward reads the shares computed at forward time, not the inputs

    def forward(self, a, b, sign):
        xp = get_array_module(a)
        y = xp.maximum(a, b) if sign > 0 else xp.minimum(a, b)
        wins = (a > b) if sign > 0 else (a < b)
        self.wa = wins + (a == b) * 0.5  # the share of the gradient that goes to a (a constant)
        self.sa, self.sb = a.shape, b.shape
        return y

    def backward(self, g):
        wa = self.wa.astype(g.dtype, copy=False)
        return _unbroadcast(g * wa, self.sa), _unbroadcast(g * (1 - wa), self.sb)

    backward_graph = _linear_backward
