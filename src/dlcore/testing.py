"""Testing helpers: `gradcheck` and `gradgradcheck`, finite-difference checks of autograd in float64."""
from __future__ import annotations

import numpy as np

from .autograd import grad
from .tensor import Tensor, no_grad


def _to_f64(x):
    if isinstance(x, Tensor) and x.dtype.kind == "f":
        t = Tensor(x.numpy().astype(np.float64), requires_grad=x.requires_grad)
        return t
    return x


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0, raise_exception=True):
    """Check the gradients autograd computes for `fn` against central differences, in float64.

    `fn(*inputs)` returns a Tensor (any shape) or a tuple of Tensors. Float inputs are converted to
    float64; those with `requires_grad=True` are checked. The scalar L = sum_k <r_k, fn(...)_k>
    (r_k random) is differentiated by autograd, and for each checked input x, along a random
    direction u:

        (L(x + eps*u) - L(x - eps*u)) / (2*eps)  ==  <dL/dx, u>   within  atol + rtol*|<dL/dx, u>|

    Returns True, or raises AssertionError naming the input (or returns False when
    `raise_exception=False`).
    """
    if not isinstance(inputs, (list, tuple)):
        inputs = (inputs,)
    rng = np.random.default_rng(seed)
    xs = [_to_f64(x) for x in inputs]
    checked = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")

    def outputs():
        out = fn(*xs)
        return out if isinstance(out, (tuple, list)) else (out,)

    outs = outputs()
    weights = [rng.standard_normal(o.shape) for o in outs]

    def objective_value():
        with no_grad():
            return float(sum(np.sum(o.numpy().astype(np.float64) * w) for o, w in zip(outputs(), weights)))

    # analytic: one backward of L
    total = None
    for o, w in zip(outs, weights):
        if not o.requires_grad:
            continue
        term = (o * Tensor(w)).sum()
        total = term if total is None else total + term
    if total is None:
        raise AssertionError("gradcheck: no output depends on an input that requires grad")
    total.backward()

    for i in checked:
        x = xs[i]
        analytic_grad = x.grad if x.grad is not None else np.zeros_like(x.data)
        u = rng.standard_normal(x.shape)
        x0 = x.data.copy()
        x.data[...] = x0 + eps * u
        fp = objective_value()
        x.data[...] = x0 - eps * u
        fm = objective_value()
        x.data[...] = x0
        numeric = (fp - fm) / (2 * eps)
        analytic = float(np.sum(np.asarray(analytic_grad, dtype=np.float64) * u))
        if not abs(numeric - analytic) <= atol + rtol * abs(analytic):
            msg = (f"gradcheck: input {i} (shape {x.shape}): finite difference {numeric!r} != autograd {analytic!r} "
                   f"(difference {abs(numeric - analytic):.3e})")
            if raise_exception:
                raise AssertionError(msg)
            return False
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0, raise_exception=True):
    """Check second derivatives (`grad(..., create_graph=True)`) against finite differences of first ones.

    `fn(*inputs)` returns a Tensor or a tuple of Tensors; float inputs run in float64 and those with
    `requires_grad=True` are checked. With random r and v, G(x) = <v, dL/dx> for L = <r, fn(x)>
    is the first-order quantity; its gradient by double backward must match, along a random
    direction u, (G(x + eps u) - G(x - eps u)) / (2 eps), where each G is a plain first backward.

    Returns True, or raises AssertionError naming the input (or returns False when
    `raise_exception=False`).

    Example:

    ```python
    import dlcore as dl
    from dlcore.testing import gradgradcheck

    x = dl.randn(3, 4, requires_grad=True)
    w = dl.randn(4, 2, requires_grad=True)
    assert gradgradcheck(lambda x, w: (x @ w).tanh(), [x, w])
    ```
    """
    if not isinstance(inputs, (list, tuple)):
        inputs = (inputs,)
    rng = np.random.default_rng(seed)
    xs = [_to_f64(x) for x in inputs]
    checked = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input has requires_grad=True")
    outs = fn(*xs)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    weights = [Tensor(rng.standard_normal(o.shape)) for o in outs]
    dirs = [rng.standard_normal(xs[i].shape) for i in checked]

    def first_order(create_graph):
        out = fn(*xs)
        out = out if isinstance(out, (tuple, list)) else (out,)
        total = None
        for o, w in zip(out, weights):
            if o.requires_grad:
                term = (o * w).sum()
                total = term if total is None else total + term
        gs = grad(total, [xs[i] for i in checked], create_graph=create_graph, allow_unused=True,
                  materialize_grads=True)
        g_total = None
        for g, v in zip(gs, dirs):
            term = (g * Tensor(v)).sum()
            g_total = term if g_total is None else g_total + term
        return g_total

    G = first_order(True)
    if not G.requires_grad:  # the first derivatives are constants: every second derivative is 0
        analytic_grads = [np.zeros(xs[i].shape) for i in checked]
    else:
        analytic_grads = [g.numpy() for g in grad(G, [xs[i] for i in checked], allow_unused=True,
                                                  materialize_grads=True)]
    del outs
    for i, analytic_grad in zip(checked, analytic_grads):
        x = xs[i]
        u = rng.standard_normal(x.shape)
        x0 = x.data.copy()
        x.data[...] = x0 + eps * u
        fp = float(first_order(False).item())
        x.data[...] = x0 - eps * u
        fm = float(first_order(False).item())
        x.data[...] = x0
        numeric = (fp - fm) / (2 * eps)
        analytic = float(np.sum(analytic_grad * u))
        if not abs(numeric - analytic) <= atol + rtol * abs(analytic):
            msg = (f"gradgradcheck: input {i} (shape {x.shape}): finite difference of the first derivative "
                   f"{numeric!r} != double backward {analytic!r} (difference {abs(numeric - analytic):.3e})")
            if raise_exception:
                raise AssertionError(msg)
            return False
    return True
