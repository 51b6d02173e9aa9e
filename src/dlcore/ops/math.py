"""Arithmetic, matmul and elementwise math: each op one Function, forward and backward side by side.

Broadcasting follows NumPy; the backward passes sum the gradient back over the broadcast axes
(`_unbroadcast`). 2-D float matmul on the CPU runs on the GEMM kernel (`dlcore.kernels.gemm`).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..kernels import gemm
from ._helpers import _unbroadcast, get_array_module


class Add(Function):
    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        return a + b

    def backward(self, g):
        return _unbroadcast(g, self.sa), _unbroadcast(g, self.sb)


class Sub(Function):
    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        return a - b

    def backward(self, g):
        return _unbroadcast(g, self.sa), _unbroadcast(-g, self.sb)


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        a, b = self.a, self.b
        return _unbroadcast(g * b, a.shape), _unbroadcast(g * a, b.shape)


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        a, b = self.a, self.b
        ga = g / b
        return _unbroadcast(ga, a.shape), _unbroadcast(-ga * a / b, b.shape)


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class PowScalar(Function):
    def forward(self, a, p):
        self.a, self.p = a, p
        return a ** p

    def backward(self, g):
        a, p = self.a, self.p
        if p == 2:
            return g * (2 * a)
        return g * (p * a ** (p - 1))


class Pow(Function):
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


def _gemm_ok(a, b):
    return (a.ndim == 2 and b.ndim == 2 and isinstance(a, np.ndarray) and a.dtype == b.dtype
            and a.dtype in (np.float32, np.float64) and type(b) is np.ndarray)


class MatMul(Function):
    """a @ b with NumPy's matmul rules (1-D promotion, batch broadcasting). 2-D float: K.gemm."""

    def forward(self, a, b):
        self.a, self.b = a, b
        if _gemm_ok(a, b):
            return gemm(a, b)
        return a @ b

    def backward(self, g):
        a, b = self.a, self.b
        if _gemm_ok(a, b):
            return gemm(g, b, trans_b=True), gemm(a, g, trans_a=True)
        xp = get_array_module(a)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g.reshape(xp.matmul(a2[..., :1, :], b2[..., :, :1]).shape[:-2] + (a2.shape[-2], b2.shape[-1]))
        ga = g2 @ xp.swapaxes(b2, -1, -2)
        gb = xp.swapaxes(a2, -1, -2) @ g2
        ga = _unbroadcast(ga, a2.shape).reshape(a.shape)
        gb = _unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb


class Exp(Function):
    def forward(self, a):
        self.y = get_array_module(a).exp(a)
        return self.y

    def backward(self, g):
        return g * self.y


class Log(Function):
    def forward(self, a):
        self.a = a
        return get_array_module(a).log(a)

    def backward(self, g):
        return g / self.a


class Sqrt(Function):
    def forward(self, a):
        self.y = get_array_module(a).sqrt(a)
        return self.y

    def backward(self, g):
        return g / (2 * self.y)


class Abs(Function):
    def forward(self, a):
        self.a = a
        return abs(a)

    def backward(self, g):
        return g * get_array_module(self.a).sign(self.a)


class Clip(Function):
    def forward(self, a, lo, hi):
        self.a, self.lo, self.hi = a, lo, hi
        return get_array_module(a).clip(a, lo, hi)

    def backward(self, g):
        a = self.a
        mask = True
        if self.lo is not None:
            mask = a >= self.lo
        if self.hi is not None:
            mask = mask & (a <= self.hi)
        return g * mask


class Cast(Function):
    def forward(self, a, dtype):
        self.src = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return g.astype(self.src)
