"""The op-test harness shared by every kernel and op test.

- Tolerances come from the dtype, never from the test: `assert_close` checks the relative error
  ||got - ref|| / ||ref|| against `TOL[dtype]` (the measure used for GEMM-like ops), and
  `assert_allclose` the elementwise |got - ref| <= atol + rtol*|ref| with `ELEMENTWISE[dtype]`.
- `make(shape, dtype, rng, layout)` builds inputs in the layouts every kernel must accept:
  contiguous, Fortran-ordered, strided (a view with step 2 in every axis), reversed (negative
  strides).
- `ODD_SIZES`: sizes every kernel meets: 1, primes, just under/over SIMD widths and tiles.
- `raises(exc, *fragments)`: the call must raise `exc` and the message must name every fragment
  (the op and the shapes), the way the design asks errors to read.
- `gradcheck_fd(f, inputs, ...)`: finite differences in float64 along a random direction.
- `Backend`: what conftest's `backend` fixture gives a kernel test: the backend's name and array
  module, `to` (NumPy inputs to the backend's arrays, memory layout kept) and `back` (results to
  NumPy). The assertions above accept device arrays too (they copy them to the host).
"""
from __future__ import annotations

import contextlib

import numpy as np
import pytest

TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
ELEMENTWISE = {np.dtype(np.float32): (1e-4, 1e-5), np.dtype(np.float64): (1e-10, 1e-12)}  # (rtol, atol)
DTYPES = [np.float32, np.float64]
ODD_SIZES = [1, 2, 3, 7, 8, 13, 15, 16, 17, 31, 32, 33, 47, 61, 97]
LAYOUTS = ["contiguous", "fortran", "strided", "reversed"]


def host(x):
    """A CuPy array (or any array with .get()) as a NumPy array; everything else unchanged."""
    if not isinstance(x, np.ndarray) and hasattr(x, "get") and hasattr(x, "__cuda_array_interface__"):
        return x.get()
    return x


def rel_error(got, ref, scale=0.0) -> float:
    """||got - ref|| / max(||ref||, scale).

    `scale` is for results that cancel: a gradient summed from terms of size ~scale can come out
    far smaller than its terms, and its rounding error is then relative to the terms, not to it.
    """
    got, ref = host(got), host(ref)
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape, f"shape {got.shape} != reference shape {ref.shape}"
    if ref.size == 0:
        return 0.0
    denom = max(np.linalg.norm(ref), scale)
    num = np.linalg.norm(got - ref)
    return float(num / denom) if denom > 0 else float(num)


def assert_close(got, ref, dtype=None, tol=None, what="", scale=0.0):
    """||got - ref|| / max(||ref||, scale) <= TOL[dtype] (or `tol` when the issue names a different
    bound); see rel_error for `scale`."""
    got = host(got)
    dtype = np.dtype(dtype or np.asarray(got).dtype)
    limit = TOL[dtype] if tol is None else tol
    err = rel_error(got, ref, scale)
    assert np.all(np.isfinite(got)), f"{what}: non-finite values in the result"
    assert err <= limit, f"{what}: relative error {err:.3e} > {limit:.0e} ({dtype})"


def assert_allclose(got, ref, dtype=None, what=""):
    got, ref = host(got), host(ref)
    dtype = np.dtype(dtype or np.asarray(got).dtype)
    rtol, atol = ELEMENTWISE[dtype]
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != reference shape {ref.shape}"
    bad = ~(np.abs(got - ref) <= atol + rtol * np.abs(ref))
    if bad.any():
        i = np.argwhere(bad)[0]
        raise AssertionError(f"{what}: {bad.sum()} elements differ, first at {tuple(i)}: "
                             f"got {got[tuple(i)]!r}, ref {ref[tuple(i)]!r} ({dtype})")


def make(shape, dtype=np.float32, rng=None, layout="contiguous", scale=1.0):
    """A random array of `shape` in the given memory layout (values identical across layouts)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    base = (rng.standard_normal(shape) * scale).astype(dtype)
    if layout == "contiguous":
        return base
    if layout == "fortran":
        return np.asfortranarray(base)
    if layout == "strided":
        big = np.zeros(tuple(2 * s for s in shape), dtype=dtype)
        view = big[tuple(slice(None, None, 2) for _ in shape)]
        view[...] = base
        return view
    if layout == "reversed":
        flipped = np.ascontiguousarray(base[tuple(slice(None, None, -1) for _ in shape)])
        return flipped[tuple(slice(None, None, -1) for _ in shape)]
    raise ValueError(layout)


@contextlib.contextmanager
def raises(exc, *fragments):
    """pytest.raises that also requires every fragment (op name, shapes) in the message."""
    with pytest.raises(exc) as info:
        yield info
    msg = str(info.value)
    for frag in fragments:
        assert str(frag) in msg, f"error message {msg!r} does not mention {frag!r}"


def gradcheck_fd(f, inputs, grads, eps=1e-6, tol=1e-6, rng=None):
    """Check analytic gradients of a scalar function against central differences, float64.

    f(*inputs) -> float. `grads` are the analytic gradients of f w.r.t. each input. Along a random
    direction u per input: (f(x + eps u) - f(x - eps u)) / (2 eps) must equal <grad, u>.
    """
    rng = rng if rng is not None else np.random.default_rng(1)
    for idx, (x, g) in enumerate(zip(inputs, grads)):
        if x is None or g is None:
            continue
        assert x.dtype == np.float64, "gradient checks run in float64"
        u = rng.standard_normal(x.shape)
        x0 = x.copy()
        x[...] = x0 + eps * u
        fp = f(*inputs)
        x[...] = x0 - eps * u
        fm = f(*inputs)
        x[...] = x0
        numeric = (fp - fm) / (2 * eps)
        analytic = float(np.sum(np.asarray(g, dtype=np.float64) * u))
        scale = max(1.0, abs(numeric), abs(analytic))
        assert abs(numeric - analytic) <= tol * scale, (
            f"input {idx}: finite difference {numeric!r} != analytic {analytic!r}")


class Backend:
    """One backend a kernel test runs on: `name` ("cpu-avx2", "fallback", "cuda", "cupy"), its array
    module `xp` and the moves between NumPy and its arrays.

    On the NumPy backends `to` and `back` return their argument itself, so that tests of in-place
    updates and of ``out=`` see the very arrays they passed.
    """

    def __init__(self, name, xp):
        self.name, self.xp = name, xp

    def __repr__(self):
        return f"Backend({self.name!r})"

    @property
    def gpu(self) -> bool:
        return self.xp is not np

    @property
    def kind(self) -> str:
        """How error messages name this backend's arrays."""
        return "CuPy" if self.gpu else "NumPy"

    def to(self, x):
        """NumPy arrays (also inside tuples, lists and dicts) as this backend's arrays, in the same
        kind of memory layout as harness.make builds: contiguous, Fortran, step-2 strided or
        reversed. None, scalars and strings pass through."""
        if not self.gpu:
            return x
        xp = self.xp
        if isinstance(x, np.ndarray):
            if x.flags.c_contiguous or x.size == 0:
                return xp.asarray(np.ascontiguousarray(x))
            if x.flags.f_contiguous:
                return xp.asfortranarray(xp.asarray(np.ascontiguousarray(x)))
            if any(s < 0 for s in x.strides):
                flip = tuple(slice(None, None, -1) if s < 0 else slice(None) for s in x.strides)
                return xp.ascontiguousarray(xp.asarray(np.ascontiguousarray(x))[flip])[flip]
            big = xp.zeros(tuple(2 * s for s in x.shape), dtype=x.dtype)
            view = big[tuple(slice(None, None, 2) for _ in x.shape)]
            view[...] = xp.asarray(np.ascontiguousarray(x))
            return view
        if type(x) in (tuple, list):
            return type(x)(self.to(v) for v in x)
        if type(x) is dict:
            return {k: self.to(v) for k, v in x.items()}
        return x

    def back(self, x):
        """This backend's arrays (also inside plain tuples and lists) as NumPy arrays; opaque
        objects such as a recurrent cache pass through."""
        if not self.gpu:
            return x
        if type(x) in (tuple, list):
            return type(x)(self.back(v) for v in x)
        return host(x)

    def call(self, fn, *args, **kwargs):
        """fn on this backend's copies of NumPy arguments, its result back in NumPy."""
        return self.back(fn(*self.to(args), **self.to(kwargs)))
