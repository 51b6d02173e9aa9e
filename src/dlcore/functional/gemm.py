"""linear: K.gemm with the bias and activation fused into its epilogue (Keras's Dense layout)."""
from __future__ import annotations

from .. import kernels as K
from ..autograd import Function
from ..primitives._helpers import _kernel
from ._common import _GEMM_BACKWARD, _GEMM_BACKWARD_GRAPH, _t
from .activation import get_activation


class Linear(Function):
    """y = act(x @ w + b), x (..., in), w (in, out), b (out,) -- one fused GEMM.

    backward: dz = act'(y) * g;  dx = dz @ w^T;  dw = x^T @ dz;  db = sum_rows(dz)
    (the two products are K.gemm calls with a transposed operand; no transpose copies).
    backward_graph: the same with Tensor matmuls, from the output re-wrapped as a tensor of this node.
    """

    saved_inputs = (0, 1)

    def forward(self, x, w, b, activation):
        lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        y = K.gemm(x2, w, bias=b, activation=activation)
        self.x2, self.w, self.lead, self.activation, self.has_b = x2, w, lead, activation, b is not None
        self.y = y if activation is not None else None
        self.saves_output = activation is not None
        return y.reshape(lead + (w.shape[1],)) if x.ndim != 2 else y

    def backward(self, g):
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        if self.activation is not None:
            g2 = _kernel(_GEMM_BACKWARD[self.activation])(g2, self.y)
        dx = K.gemm(g2, self.w, trans_b=True) if self.needs_grad(0) else None  # none for data
        dw = K.gemm(self.x2, g2, trans_a=True) if self.needs_grad(1) else None  # none for frozen weights
        db = g2.sum(axis=0) if self.has_b and self.needs_grad(2) else None
        if dx is not None and len(self.lead) != 1:
            dx = dx.reshape(self.lead + (self.w.shape[0],))
        return dx, dw, db

    def backward_graph(self, g, x, w, b):
        if self.activation is not None:
            g = _GEMM_BACKWARD_GRAPH[self.activation](g, self.output(self.y.reshape(g.shape)))
        g2 = g.reshape(-1, g.shape[-1])
        dx = (g2 @ w.T).reshape(x.shape)
        dw = x.reshape(-1, x.shape[-1]).T @ g2
        return dx, dw, g2.sum(axis=0) if b is not None else None


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
    return get_activation(activation)(Linear.apply(x, w, b, activation=None))
