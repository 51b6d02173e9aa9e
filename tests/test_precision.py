"""Precision that used to be lost, on every backend, against the float64 reference.

- log_softmax and softmax cross-entropy at large logits: x - (max + log sum) rounds max + log sum to
  max's ulp (6e-5 at 1000 in float32), a relative error of ~4e-5 in a result of ~-0.4; the kernels
  compute (x - max) - log sum, exact near the maximum.
- the categorical cross-entropies from probabilities whose rows do not sum to 1: Keras normalises by
  the row's sum before clipping; the CUDA kernel used to clip the raw probabilities (and the CuPy
  arrays were routed to the fallback because of it); every backend now runs Keras's formula.
"""
import numpy as np
import pytest

from dlcore import kernels as K
from harness import DTYPES, assert_close, gradcheck_fd
import reference as ref


def large_logits(shape, rng, dtype=np.float32, offset=1000.0):
    return (offset + rng.standard_normal(shape) * 2.0).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("offset", [1000.0, -1000.0, 3.0e4])
@pytest.mark.parametrize("axis", [-1, 0])
def test_log_softmax_keeps_full_precision_at_large_logits(backend, dtype, offset, axis, rng):
    for shape in [(4, 10), (3, 37), (65, 5)]:
        x = large_logits(shape, rng, dtype, offset)
        y = backend.call(K.log_softmax_forward, x, axis=axis)
        assert_close(y, ref.log_softmax(x, axis=axis), dtype, what=f"log_softmax {shape} axis={axis} at {offset}")
        assert_close(backend.call(K.softmax_forward, x, axis=axis), ref.softmax(x, axis=axis), dtype,
                     what=f"softmax {shape} at {offset}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("offset", [1000.0, -1000.0])
def test_softmax_cross_entropy_keeps_full_precision_at_large_logits(backend, dtype, offset, rng):
    for n, c in [(8, 10), (5, 37), (3, 1)]:
        x = large_logits((n, c), rng, dtype, offset)
        labels = rng.integers(0, c, n)
        loss, _ = backend.call(K.softmax_cross_entropy, x, labels, reduction="none")
        assert_close(loss, ref.softmax_xent_per_sample(x, labels), dtype, what=f"sparse {n}x{c} at {offset}")
        soft = rng.random((n, c)).astype(dtype)
        soft /= soft.sum(axis=1, keepdims=True)
        loss, _ = backend.call(K.softmax_cross_entropy, x, soft, reduction="none")
        assert_close(loss, ref.softmax_xent_per_sample(x, soft), dtype, what=f"dense {n}x{c} at {offset}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_categorical_losses_normalise_rows_on_every_backend(backend, dtype, scale, rng):
    # rows summing to `scale`, not 1: Keras divides by the sum before clipping
    for n, c in [(6, 5), (4, 33), (2, 2)]:
        p = rng.uniform(0.05, 1.0, (n, c))
        p = (p / p.sum(axis=1, keepdims=True) * scale).astype(dtype)
        labels = rng.integers(0, c, n)
        onehot = np.eye(c, dtype=dtype)[labels]
        for fn, target, per_sample in ((K.categorical_cross_entropy, onehot, ref.categorical_xent_per_sample),
                                       (K.sparse_categorical_cross_entropy, labels,
                                        ref.sparse_categorical_xent_per_sample)):
            for reduction in ("none", "mean", "sum"):
                loss, grad = backend.call(fn, p, target, reduction=reduction)
                assert_close(loss, ref.reduce_loss(per_sample(p, target), reduction), dtype,
                             what=f"{fn.__name__} {n}x{c} {reduction}")
                name = "categorical_xent" if fn is K.categorical_cross_entropy else "sparse_categorical_xent"
                want = ref.loss_grad(name, p, onehot if name == "categorical_xent" else labels, reduction)
                assert_close(grad, want, dtype, what=f"{fn.__name__} grad {n}x{c} {reduction}")


def test_the_normalised_loss_gradient_passes_a_finite_difference_check(backend, rng):
    # the kernels' gradient of the normalised loss, in float64, against central differences
    p = rng.uniform(0.1, 1.0, (3, 4)) * 2.0
    t = np.eye(4)[[0, 3, 1]]

    def f(q):
        return float(backend.call(K.categorical_cross_entropy, q, t, reduction="sum")[0])
    gradcheck_fd(f, [p], [backend.call(K.categorical_cross_entropy, p, t, reduction="sum")[1]])
