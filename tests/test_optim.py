"""Optimizer updates against the float64 reference formulas, step by step over several steps, on every
backend; odd and empty sizes, flat buffers, strided gradients; torch.optim as an optional anchor;
errors, among them the overlap of written arrays, the same on every backend."""
import numpy as np
import pytest

import dlcore
from dlcore import _C
from dlcore import kernels as K
from harness import DTYPES, ODD_SIZES, assert_close, make, raises
import reference as ref

STEPS = 6
SIZES = ODD_SIZES + [0, 1000, 70_001]  # the last one above the threading threshold


def run_sgd(be, cfg, p, grads):
    buf = np.zeros_like(p) if cfg.get("momentum", 0.0) else None
    rp, rbuf = np.array(p, dtype=np.float64), (np.zeros(p.shape) if buf is not None else None)
    p, buf = be.to((p, buf))
    for g in grads:
        assert K.sgd_update(p, be.to(g), lr=0.05, velocity=buf, **cfg) is p
        rp, rbuf = ref.sgd_step(rp, g, 0.05, buf=rbuf, **cfg)
    return [p] + ([buf] if buf is not None else []), [rp] + ([rbuf] if rbuf is not None else [])


def run_adagrad(be, cfg, p, grads):
    acc = np.full_like(p, 0.1)
    racc = np.full(p.shape, 0.1)
    rp = np.array(p, dtype=np.float64)  # a copy: p is updated in place
    p, acc = be.to((p, acc))
    for g in grads:
        K.adagrad_update(p, be.to(g), acc, lr=0.05, **cfg)
        rp, racc = ref.adagrad_step(rp, g, racc, 0.05, **cfg)
    return [p, acc], [rp, racc]


def run_rmsprop(be, cfg, p, grads):
    sq = np.zeros_like(p)
    mb = np.zeros_like(p) if cfg.get("momentum", 0.0) else None
    ga = np.zeros_like(p) if cfg.get("centered") else None
    rp, rsq = np.array(p, dtype=np.float64), np.zeros(p.shape)
    rmb = np.zeros(p.shape) if mb is not None else None
    rga = np.zeros(p.shape) if ga is not None else None
    p, sq, mb, ga = be.to((p, sq, mb, ga))
    for g in grads:
        K.rmsprop_update(p, be.to(g), sq, lr=0.01, mom_buf=mb, grad_avg=ga, **cfg)
        rp, rsq, rmb, rga = ref.rmsprop_step(rp, g, rsq, 0.01, buf=rmb, gavg=rga, **cfg)
    got = [p, sq] + [a for a in (mb, ga) if a is not None]
    want = [rp, rsq] + [a for a in (rmb, rga) if a is not None]
    return got, want


def run_adam(be, cfg, p, grads):
    m, v = np.zeros_like(p), np.zeros_like(p)
    vmax = np.zeros_like(p) if cfg.get("amsgrad") else None
    rp, rm, rv = np.array(p, dtype=np.float64), np.zeros(p.shape), np.zeros(p.shape)
    rvmax = np.zeros(p.shape) if vmax is not None else None
    dec = cfg.pop("decoupled_weight_decay", False)
    p, m, v, vmax = be.to((p, m, v, vmax))
    for t, g in enumerate(grads, start=1):
        K.adam_update(p, be.to(g), m, v, lr=1e-2, step=t, v_max=vmax, decoupled_weight_decay=dec, **cfg)
        rp, rm, rv, rvmax = ref.adam_step(rp, g, rm, rv, 1e-2, t, decoupled=dec, vmax=rvmax, **cfg)
    got = [p, m, v] + ([vmax] if vmax is not None else [])
    want = [rp, rm, rv] + ([rvmax] if rvmax is not None else [])
    return got, want


CONFIGS = [
    ("sgd", run_sgd, {}),
    ("sgd", run_sgd, {"weight_decay": 0.01}),
    ("sgd", run_sgd, {"momentum": 0.9}),
    ("sgd", run_sgd, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("adagrad", run_adagrad, {}),
    ("adagrad", run_adagrad, {"weight_decay": 0.01, "eps": 1e-10}),
    ("rmsprop", run_rmsprop, {}),
    ("rmsprop", run_rmsprop, {"momentum": 0.9, "weight_decay": 0.01}),
    ("rmsprop", run_rmsprop, {"centered": True, "rho": 0.8}),
    ("rmsprop", run_rmsprop, {"centered": True, "momentum": 0.5}),
    ("adam", run_adam, {}),
    ("adam", run_adam, {"weight_decay": 0.01, "beta1": 0.5, "beta2": 0.99}),
    ("adamw", run_adam, {"weight_decay": 0.01, "decoupled_weight_decay": True}),
    ("adam", run_adam, {"amsgrad": True}),
    ("adamw", run_adam, {"amsgrad": True, "weight_decay": 0.1, "decoupled_weight_decay": True, "eps": 1e-8}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,runner,cfg", CONFIGS, ids=[f"{c[0]}{i}" for i, c in enumerate(CONFIGS)])
def test_steps_match_reference(backend, dtype, name, runner, cfg, rng):
    for n in SIZES:
        p = make((n,), dtype, rng)
        grads = [make((n,), dtype, rng) for _ in range(STEPS)]
        got, want = runner(backend, dict(cfg), p, grads)
        for i, (a, b) in enumerate(zip(got, want)):
            assert_close(a, b, dtype, what=f"{backend.name} {name} {cfg} n={n} array {i}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_any_shape_and_strided_grad(backend, dtype, rng):
    p = make((7, 5, 3), dtype, rng)
    g = make((7, 5, 3), dtype, rng, layout="strided")
    rp, rm, rv, _ = ref.adam_step(p, g, 0.0, 0.0, 1e-3, 1)
    p, g = backend.to((p, g))
    m, v = backend.xp.zeros_like(p), backend.xp.zeros_like(p)
    K.adam_update(p, g, m, v, lr=1e-3, step=1)
    assert_close(p, rp, dtype)
    assert_close(v, rv, dtype)


def test_flat_buffer_views(backend, rng):
    """One flat buffer holding all parameters: updating it equals updating each view."""
    xp = backend.xp
    flat, grad = backend.to((make((1000,), np.float32, rng), make((1000,), np.float32, rng)))
    views = [flat[:300].reshape(20, 15), flat[300:].reshape(700)]
    gviews = [grad[:300].reshape(20, 15), grad[300:]]
    sep = [v.copy() for v in views]
    ms = [xp.zeros_like(v) for v in sep]
    vs = [xp.zeros_like(v) for v in sep]
    for a, g, m, v in zip(sep, gviews, ms, vs):
        K.adam_update(a, g, m, v, lr=1e-3, step=1)
    K.adam_update(flat, grad, xp.zeros_like(flat), xp.zeros_like(flat), lr=1e-3, step=1)
    np.testing.assert_array_equal(backend.back(views[0]), backend.back(sep[0]))
    np.testing.assert_array_equal(backend.back(views[1]), backend.back(sep[1]))


def test_threads_agree(rng):
    n = 300_001
    p0, g = make((n,), np.float32, rng), make((n,), np.float32, rng)
    out = []
    before = dlcore.get_num_threads()
    try:
        for t in (1, 2):
            dlcore.set_num_threads(t)
            p, m, v = p0.copy(), np.zeros(n, np.float32), np.zeros(n, np.float32)
            K.adam_update(p, g, m, v, lr=1e-3, step=1)
            out.append((p, K.global_norm([g, p])))
    finally:
        dlcore.set_num_threads(before)
    np.testing.assert_array_equal(out[0][0], out[1][0])
    assert abs(out[0][1] - out[1][1]) <= 1e-12 * out[0][1]


@pytest.mark.parametrize("dtype", DTYPES)
def test_global_norm_and_scale(backend, dtype, rng):
    arrays = [make((n,), dtype, rng) for n in (0, 1, 17, 1000, 70_001)] + [make((13, 7), dtype, rng, "strided")]
    expect = np.sqrt(sum(np.sum(ref.f64(a) ** 2) for a in arrays))
    before = [ref.f64(a).copy() for a in arrays]
    arrays = backend.to(arrays)
    got = K.global_norm(arrays)
    assert isinstance(got, float)
    assert abs(got - expect) <= 1e-12 * expect  # accumulated in float64 for both dtypes
    assert K.global_norm([]) == 0.0
    assert K.global_norm(arrays[3]) == K.global_norm([arrays[3]])  # one array alone
    assert K.scale_(arrays, 0.25) == arrays
    for a, b in zip(arrays, before):
        assert_close(a, 0.25 * b, dtype)
    big = backend.xp.full(10, 1e30, np.float32)  # squares overflow float32, not the float64 accumulator
    assert abs(K.global_norm([big]) - 1e30 * np.sqrt(10)) <= 1e-6 * 1e30 * np.sqrt(10)


def test_torch_anchor(rng):
    """Five steps of torch.optim (foreach=False) and dlcore from the same start, float64."""
    torch = pytest.importorskip("torch")
    n = 257
    p0 = rng.standard_normal(n)
    grads = [rng.standard_normal(n) for _ in range(5)]
    cases = [
        (torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), "sgd"),
        (torch.optim.Adagrad, dict(lr=0.1, eps=1e-7, weight_decay=0.01), "adagrad"),
        (torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-7, momentum=0.5, centered=True), "rmsprop"),
        (torch.optim.Adam, dict(lr=0.01, eps=1e-7, weight_decay=0.01, amsgrad=True), "adam"),
        (torch.optim.AdamW, dict(lr=0.01, eps=1e-7, weight_decay=0.1), "adamw"),
    ]
    for cls, kw, name in cases:
        tp = torch.tensor(p0.copy(), requires_grad=True)
        opt = cls([tp], foreach=False, **kw)
        p = p0.copy()
        z = [np.zeros(n) for _ in range(3)]
        for t, g in enumerate(grads, start=1):
            tp.grad = torch.tensor(g)
            opt.step()
            if name == "sgd":
                K.sgd_update(p, g, lr=0.1, momentum=0.9, velocity=z[0], nesterov=True, weight_decay=0.01)
            elif name == "adagrad":
                K.adagrad_update(p, g, z[0], lr=0.1, eps=1e-7, weight_decay=0.01)
            elif name == "rmsprop":
                K.rmsprop_update(p, g, z[0], lr=0.01, rho=0.9, eps=1e-7, momentum=0.5, mom_buf=z[1],
                                 centered=True, grad_avg=z[2])
            elif name == "adam":
                K.adam_update(p, g, z[0], z[1], lr=0.01, step=t, eps=1e-7, weight_decay=0.01, amsgrad=True,
                              v_max=z[2])
            else:
                K.adam_update(p, g, z[0], z[1], lr=0.01, step=t, eps=1e-7, weight_decay=0.1,
                              decoupled_weight_decay=True)
        assert_close(p, tp.detach().numpy(), np.float64, what=f"{name} vs torch.optim")


def test_errors(backend):
    """The same call raises the same exception and message on every backend."""
    xp = backend.xp
    p = xp.zeros((4, 3), np.float32)
    g = xp.zeros((4, 3), np.float32)
    with raises(TypeError, "adam_update", "float32 or float64", "int64"):
        K.adam_update(xp.zeros(3, np.int64), xp.zeros(3, np.int64), xp.zeros(3), xp.zeros(3), lr=1e-3, step=1)
    with raises(TypeError, "adam_update", "grad", "float32", "float64"):
        K.adam_update(p, xp.zeros((4, 3)), xp.zeros_like(p), xp.zeros_like(p), lr=1e-3, step=1)
    with raises(TypeError, "adam_update", "'m'", "float32", "float64"):
        K.adam_update(p, g, xp.zeros((4, 3)), xp.zeros_like(p), lr=1e-3, step=1)
    with raises(ValueError, "adam_update", "grad", "(4, 3)", "(3, 4)"):
        K.adam_update(p, xp.zeros((3, 4), np.float32), xp.zeros_like(p), xp.zeros_like(p), lr=1e-3, step=1)
    with raises(ValueError, "adam_update", "'v'", "(4, 3)", "(12,)"):
        K.adam_update(p, g, xp.zeros_like(p), xp.zeros(12, np.float32), lr=1e-3, step=1)
    with raises(ValueError, "adam_update", "'m'", "C-contiguous"):
        K.adam_update(p, g, xp.zeros((4, 6), np.float32)[:, ::2], xp.zeros_like(p), lr=1e-3, step=1)
    with raises(ValueError, "adam_update", "'param'", "C-contiguous"):
        K.adam_update(xp.zeros((4, 6), np.float32)[:, ::2], g, xp.zeros_like(p), xp.zeros_like(p), lr=1e-3, step=1)
    with raises(ValueError, "adam_update", "step", "0"):
        K.adam_update(p, g, xp.zeros_like(p), xp.zeros_like(p), lr=1e-3, step=0)
    with raises(TypeError, "adam_update", "step", "float"):
        K.adam_update(p, g, xp.zeros_like(p), xp.zeros_like(p), lr=1e-3, step=1.0)
    with raises(TypeError, "adam_update", "step", "bool"):
        K.adam_update(p, g, xp.zeros_like(p), xp.zeros_like(p), lr=1e-3, step=True)
    with raises(ValueError, "adam_update", "v_max"):
        K.adam_update(p, g, xp.zeros_like(p), xp.zeros_like(p), lr=1e-3, step=1, amsgrad=True)
    with raises(ValueError, "adam_update", "beta1"):
        K.adam_update(p, g, xp.zeros_like(p), xp.zeros_like(p), lr=1e-3, step=1, beta1=1.0)
    with raises(ValueError, "adam_update", "'lr'", "nan"):
        K.adam_update(p, g, xp.zeros_like(p), xp.zeros_like(p), lr=float("nan"), step=1)
    with raises(ValueError, "sgd_update", "velocity"):
        K.sgd_update(p, g, lr=0.1, momentum=0.9)
    with raises(ValueError, "sgd_update", "'lr'", "-0.1"):
        K.sgd_update(p, g, lr=-0.1)
    with raises(ValueError, "sgd_update", "nesterov"):
        K.sgd_update(p, g, lr=0.1, nesterov=True)
    with raises(ValueError, "rmsprop_update", "grad_avg"):
        K.rmsprop_update(p, g, xp.zeros_like(p), lr=0.1, centered=True)
    with raises(ValueError, "rmsprop_update", "'rho'", "1.5"):
        K.rmsprop_update(p, g, xp.zeros_like(p), lr=0.1, rho=1.5)
    if not backend.gpu:  # CuPy arrays have no read-only flag
        ro = np.zeros(3, np.float32)
        ro.flags.writeable = False
        with raises(ValueError, "sgd_update", "read-only"):
            K.sgd_update(ro, np.zeros(3, np.float32), lr=0.1)
    with raises(TypeError, "global_norm", "arrays[1]", "list"):
        K.global_norm([p, [1.0]])
    with raises(TypeError, "scale_", "factor"):
        K.scale_([p], "x")
    with raises(ValueError, "scale_", "factor", "inf"):
        K.scale_([p], float("inf"))


def test_written_arrays_must_not_overlap(backend):
    """No state may share memory with the parameter, another state or the gradient, on any backend
    (the GPU copy of the API had no such check: adam_update(p, g, m, m) ran with m and v aliased)."""
    xp = backend.xp
    p, g, m, v = (xp.zeros(8, np.float32) for _ in range(4))
    with raises(ValueError, "adam_update", "'v' must not share memory with 'm'"):
        K.adam_update(p, g, m, m, lr=1e-3, step=1)
    with raises(ValueError, "adam_update", "'m' must not share memory with 'param'"):
        K.adam_update(p, g, p, v, lr=1e-3, step=1)
    with raises(ValueError, "adam_update", "'v_max' must not share memory with 'v'"):
        K.adam_update(p, g, m, v, lr=1e-3, step=1, amsgrad=True, v_max=v)
    with raises(ValueError, "adam_update", "'param' must not share memory with 'grad'"):
        K.adam_update(p, p, m, v, lr=1e-3, step=1)
    with raises(ValueError, "adagrad_update", "accum", "share memory"):
        K.adagrad_update(p, g, p, lr=0.1)
    with raises(ValueError, "sgd_update", "'velocity' must not share memory with 'grad'"):
        K.sgd_update(p, g, lr=0.1, momentum=0.9, velocity=g)
    with raises(ValueError, "rmsprop_update", "'grad_avg' must not share memory with 'sq_avg'"):
        K.rmsprop_update(p, g, m, lr=0.1, centered=True, grad_avg=m)
    with raises(ValueError, "rmsprop_update", "'mom_buf' must not share memory with 'sq_avg'"):
        buf = xp.zeros(16, np.float32)
        K.rmsprop_update(p, g, buf[:8], lr=0.1, momentum=0.9, mom_buf=buf[4:12])
    np.testing.assert_array_equal(backend.back(p), 0.0)  # nothing was updated


def test_binding_safety_net():
    p = np.zeros(8, np.float32)
    with pytest.raises(ValueError):
        _C.adam_update(p, np.zeros(7, np.float32), np.zeros(8, np.float32), np.zeros(8, np.float32), None,
                       1e-3, 1, 0.9, 0.999, 1e-7, 0.0, False, False)
    with pytest.raises(ValueError):
        _C.adam_update(p, p, np.zeros(16, np.float32)[::2], np.zeros(8, np.float32), None,
                       1e-3, 1, 0.9, 0.999, 1e-7, 0.0, False, False)
    with pytest.raises(ValueError):
        _C.sgd_update(p, p, None, 0.1, 0.9, False, 0.0)
    with pytest.raises(ValueError):
        _C.adam_update(p, p, np.zeros(8, np.float32), np.zeros(8, np.float32), None,
                       1e-3, 0, 0.9, 0.999, 1e-7, 0.0, False, False)
