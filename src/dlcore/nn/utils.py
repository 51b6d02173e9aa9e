"""PyTorch's `torch.nn.utils` gradient clipping, on the gradients of dlcore parameters (in place)."""
from __future__ import annotations

import math

import numpy as np

from .. import kernels as K
from ..tensor import Tensor, get_array_module

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients so that their total norm (over all parameters) is at most max_norm:
    g *= max_norm / (total + 1e-6) when that is < 1 (torch's formula). Returns the total norm.

    Args:
        parameters: a parameter or an iterable of them (those without a gradient are skipped).
        max_norm: the largest total norm.
        norm_type: the p of the p-norm (2.0; float("inf") for the largest absolute value).
        error_if_nonfinite: raise RuntimeError when the total norm is NaN or infinite.
        foreach: accepted for torch's signature (an execution hint; the result is the same).

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    w = dl.Parameter(np.zeros(2, np.float32))
    w.grad = np.array([3.0, 4.0], np.float32)
    total = dl.nn.utils.clip_grad_norm_([w], max_norm=1.0)
    print(total.item(), w.grad)         # 5.0 [0.6 0.8] (about)
    ```
    """
    params = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not params:
        return Tensor(np.zeros((), np.float32))
    # a read-only gradient (one that the processes of a machine share after a distributed exchange) is
    # scaled into a copy of its own
    grads = [get_array_module(p.grad).ascontiguousarray(p.grad) if getattr(p.grad.flags, "writeable", True)
             else p.grad.copy() for p in params]
    for p, g in zip(params, grads):
        p.grad = g
    if norm_type == 2.0:
        total = K.global_norm(grads)
    elif math.isinf(norm_type):
        total = max(float(get_array_module(g).abs(g).max()) if g.size else 0.0 for g in grads)
    else:
        total = sum(float((get_array_module(g).abs(g.astype(np.float64)) ** norm_type).sum()) for g in grads) \
            ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is non-finite "
                           f"({total}), so it cannot be clipped (error_if_nonfinite=False skips this check)")
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        K.scale_(grads, coef)
    return Tensor(np.asarray(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clip every gradient element into [-clip_value, clip_value], in place.

    Example:

    ```python
    import numpy as np
    import dlcore as dl

    w = dl.Parameter(np.zeros(3, np.float32))
    w.grad = np.array([-5.0, 0.5, 2.0], np.float32)
    dl.nn.utils.clip_grad_value_([w], 1.0)
    print(w.grad)                       # [-1.   0.5  1. ]
    ```
    """
    c = float(clip_value)
    for p in _grads(parameters):
        xp = get_array_module(p.grad)
        p.grad = xp.clip(p.grad, -c, c)
