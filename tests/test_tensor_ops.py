"""The tensor ops users reach for (dl.where, maximum, split, tile, pad, einsum, gather, sort, ...):
values against NumPy in float64, broadcasting, float64 gradient checks, the error messages,
PyTorch's semantics (optional anchor), and the Example of every docstring run as written."""
import inspect
import re

import numpy as np
import pytest

import dlcore as dl
import dlcore.functional as F
from dlcore.testing import gradcheck
from harness import raises


def t64(*shape, positive=False, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return dl.tensor(a, requires_grad=True)


def a64(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def close(got, ref):
    got = got.numpy() if isinstance(got, dl.Tensor) else got
    assert got.shape == np.shape(ref), (got.shape, np.shape(ref))
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


# ---- values against NumPy ---------------------------------------------------------------------------------

def test_where_maximum_minimum_clamp_broadcast():
    x, y = a64(3, 1, 4), a64(2, 4, seed=1)
    close(dl.where(dl.tensor(x > 0), dl.tensor(x), dl.tensor(y)), np.where(x > 0, x, y))
    close(dl.where(x > 0, 1.0, dl.tensor(y)), np.where(x > 0, 1.0, y))
    close(dl.tensor(x).where(dl.tensor(x > 0), 0.0), np.where(x > 0, x, 0.0))
    close(dl.maximum(dl.tensor(x), dl.tensor(y)), np.maximum(x, y))
    close(dl.minimum(dl.tensor(x), 0.0), np.minimum(x, 0.0))
    close(dl.clamp(dl.tensor(x), -0.3, 0.4), np.clip(x, -0.3, 0.4))
    close(dl.clip(dl.tensor(x), dl.tensor(y), None), np.maximum(x, y))
    close(dl.tensor(x).clamp(max=dl.tensor(y)), np.minimum(x, y))
    idx = dl.where(dl.tensor(np.array([[True, False], [False, True]])))
    assert [i.tolist() for i in idx] == [[0, 1], [0, 1]] and idx[0].dtype == np.int64


def test_comparisons_and_logical():
    x, y = a64(3, 4), a64(4, seed=1)
    tx = dl.tensor(x)
    for name, ref in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                      ("gt", np.greater), ("ge", np.greater_equal), ("equal", np.equal), ("greater", np.greater),
                      ("less_equal", np.less_equal)]:
        got = getattr(dl, name)(tx, y)
        assert got.dtype == np.bool_ and not got.requires_grad
        assert np.array_equal(got.numpy(), ref(x, y)), name
        assert np.array_equal(getattr(tx, name)(y).numpy(), ref(x, y)), name
    a, b = dl.tensor(x > 0), dl.tensor(x < 0.5)
    assert np.array_equal((a & b).numpy(), (x > 0) & (x < 0.5))
    assert np.array_equal((a | b).numpy(), (x > 0) | (x < 0.5))
    assert np.array_equal((~a).numpy(), ~(x > 0)) and np.array_equal(dl.logical_not(a).numpy(), ~(x > 0))
    assert np.array_equal(dl.logical_and(a, b).numpy(), (x > 0) & (x < 0.5))
    assert np.array_equal(dl.logical_or(x > 0, b).numpy(), (x > 0) | (x < 0.5))
    with raises(TypeError, "~ (logical not)", "float64"):
        ~tx


def test_reductions_var_std_cumsum_argmax():
    x = a64(3, 4, 5)
    tx = dl.tensor(x)
    close(tx.var(), np.var(x))
    close(dl.var(tx, 1, keepdim=True, correction=1), np.var(x, axis=1, ddof=1, keepdims=True))
    close(tx.var(axis=(0, 2), ddof=2), np.var(x, axis=(0, 2), ddof=2))
    close(dl.std(tx, dim=2, unbiased=True), np.std(x, axis=2, ddof=1))
    close(tx.std(axis=0, keepdims=True), np.std(x, axis=0, keepdims=True))
    close(dl.cumsum(tx, 1), np.cumsum(x, axis=1))
    close(tx.cumsum(dim=-1), np.cumsum(x, axis=-1))
    close(dl.cumsum(tx), np.cumsum(x))
    for f in ("argmax", "argmin"):
        assert np.array_equal(getattr(dl, f)(tx).numpy(), getattr(np, f)(x))
        assert np.array_equal(getattr(dl, f)(tx, dim=1).numpy(), getattr(np, f)(x, axis=1))
        got = getattr(tx, f)(axis=2, keepdims=True)
        assert got.dtype == np.int64 and np.array_equal(got.numpy(), getattr(np, f)(x, axis=2, keepdims=True))
    close(tx.sum(dim=1, keepdim=True), x.sum(axis=1, keepdims=True))
    close(tx.mean(dim=(0, 2)), x.mean(axis=(0, 2)))


def test_split_chunk_tile_repeat_flip():
    x = a64(5, 4)
    tx = dl.tensor(x)
    parts = dl.split(tx, 2)
    assert [p.shape for p in parts] == [(2, 4), (2, 4), (1, 4)]
    close(parts[2], x[4:])
    parts = tx.split([1, 3], dim=1)
    close(parts[0], x[:, :1]), close(parts[1], x[:, 1:])
    assert [c.shape for c in dl.chunk(tx, 3)] == [(2, 4), (2, 4), (1, 4)]
    assert [c.shape for c in tx.chunk(4, dim=1)] == [(5, 1)] * 4
    close(dl.tile(tx, (2, 1, 3)), np.tile(x, (2, 1, 3)))
    close(tx.tile(2), np.tile(x, 2))
    close(tx.repeat(2, 3), np.tile(x, (2, 3)))
    close(dl.repeat_interleave(tx, 2), np.repeat(x, 2))
    close(dl.repeat_interleave(tx, [1, 0, 2, 1, 1], dim=0), np.repeat(x, [1, 0, 2, 1, 1], axis=0))
    close(tx.repeat_interleave(3, dim=1), np.repeat(x, 3, axis=1))
    close(dl.flip(tx, 0), x[::-1])
    close(tx.flip((0, 1)), x[::-1, ::-1])
    close(tx.flip(), np.flip(x))


def test_gather_index_select_take_sort_topk():
    x = a64(4, 6)
    tx = dl.tensor(x)
    idx = np.random.default_rng(3).integers(0, 6, (4, 3))
    close(dl.gather(tx, 1, idx), np.take_along_axis(x, idx, 1))
    close(dl.take_along_axis(tx, idx, 1), np.take_along_axis(x, idx, 1))
    idx0 = np.random.default_rng(4).integers(0, 4, (2, 6))
    close(tx.gather(0, dl.tensor(idx0)), np.take_along_axis(x, idx0, 0))
    close(dl.index_select(tx, 1, [5, 0, 5]), x[:, [5, 0, 5]])
    close(dl.take(tx, [[1, 7], [0, 23]]), np.take(x, [[1, 7], [0, 23]]))
    close(dl.take(tx, [[1, 2]], axis=1), np.take(x, [[1, 2]], axis=1))
    values, indices = dl.sort(tx, dim=1)
    close(values, np.sort(x, axis=1))
    assert np.array_equal(indices.numpy(), np.argsort(x, axis=1, kind="stable"))
    values, indices = tx.sort(0, descending=True)
    close(values, -np.sort(-x, axis=0))
    assert np.array_equal(dl.argsort(tx, axis=0, descending=True).numpy(), np.argsort(-x, axis=0, kind="stable"))
    values, indices = dl.topk(tx, 2)
    close(values, -np.sort(-x, axis=1)[:, :2])
    values, indices = tx.topk(3, dim=0, largest=False)
    close(values, np.sort(x, axis=0)[:3]), close(np.take_along_axis(x, indices.numpy(), 0), values.numpy())
    values, indices = dl.topk(dl.tensor([1.0, 4.0, 2.0, 3.0]), 2, sorted=False)
    assert values.tolist() == [4.0, 3.0] and indices.tolist() == [1, 3]
    values, indices = dl.topk(dl.tensor([3.0, 4.0, 2.0, 1.0]), 2, sorted=False)
    assert values.tolist() == [3.0, 4.0] and indices.tolist() == [0, 1]
    ties = dl.tensor([2, 1, 2, 1])
    assert dl.argsort(ties).tolist() == [1, 3, 0, 2]                    # stable
    assert dl.argsort(ties, descending=True).tolist() == [0, 2, 1, 3]   # stable, largest first
    assert dl.argsort(dl.tensor([True, False, True]), descending=True).tolist() == [0, 2, 1]


def test_einsum_against_numpy():
    rng = np.random.default_rng(5)
    cases = [
        ("ij,jk->ik", [(3, 4), (4, 5)]),
        ("ij,jk", [(3, 4), (4, 5)]),                    # implicit output
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
        ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),   # broadcast batch axes
        ("i,i->", [(7,), (7,)]),
        ("i,j->ij", [(3,), (4,)]),
        ("ii->i", [(4, 4)]),
        ("ii", [(4, 4)]),                               # trace
        ("ijk->kji", [(2, 3, 4)]),
        ("ij->", [(3, 4)]),
        ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),   # attention scores
        ("ij,ij->ij", [(1, 4), (3, 4)]),                # a size-1 axis broadcast
        ("iij->ij", [(3, 3, 2)]),
    ]
    for spec, shapes in cases:
        arrays = [rng.standard_normal(s) for s in shapes]
        close(dl.einsum(spec, *[dl.tensor(a) for a in arrays]), np.einsum(spec, *arrays))
        assert gradcheck(lambda *ts, spec=spec: dl.einsum(spec, *ts),
                         [dl.tensor(a, requires_grad=True) for a in arrays]), spec
    close(dl.einsum("ij,jk->ik", [dl.tensor(np.eye(2)), dl.tensor(np.ones((2, 2)))]), np.ones((2, 2)))


def test_pad_against_numpy_and_torch_form():
    x = a64(3, 4)
    tx = dl.tensor(x)
    for width in [1, (1, 2), ((0, 1), (2, 3)), ((2, 0),)]:
        close(dl.pad(tx, width), np.pad(x, width))
        for mode in ("reflect", "symmetric", "edge", "wrap"):
            close(dl.pad(tx, width, mode=mode), np.pad(x, width, mode=mode))
    close(dl.pad(tx, 1, constant_values=-2.5), np.pad(x, 1, constant_values=-2.5))
    close(dl.pad(tx, 2, mode="replicate"), np.pad(x, 2, mode="edge"))
    close(dl.pad(tx, 5, mode="circular"), np.pad(x, 5, mode="wrap"))
    close(F.pad(tx, (1, 2)), np.pad(x, ((0, 0), (1, 2))))
    close(F.pad(tx, (1, 0, 0, 2), value=7.0), np.pad(x, ((0, 2), (1, 0)), constant_values=7.0))
    close(F.pad(tx, (-1, 1)), np.pad(x[:, 1:], ((0, 0), (0, 1))))
    close(F.pad(tx, (1, 1, 1, 1), mode="reflect"), np.pad(x, 1, mode="reflect"))


def test_broadcast_to_expand_permute_swapaxes_clone():
    x = a64(3, 1)
    tx = dl.tensor(x)
    close(dl.broadcast_to(tx, (2, 3, 4)), np.broadcast_to(x, (2, 3, 4)))
    close(tx.expand(-1, 5), np.broadcast_to(x, (3, 5)))
    close(tx.expand_as(dl.zeros(3, 2)), np.broadcast_to(x, (3, 2)))
    y = a64(2, 3, 4)
    ty = dl.tensor(y)
    close(ty.permute(2, 0, 1), y.transpose(2, 0, 1))
    close(ty.swapaxes(0, -1), y.swapaxes(0, -1))
    close(ty.mT, y.swapaxes(-1, -2))
    close(ty.transpose(0, 1), y.swapaxes(0, 1))
    c = ty.clone()
    c.data[0] = 0
    assert y[0].any() and not c.numpy()[0].any()


# ---- gradients (float64, along random directions) ------------------------------------------------------------

IDX = np.array([[0, 2, 2], [1, 1, 0], [3, 0, 1]])
GRAD_CASES = {
    "where_broadcast": (lambda a, b: dl.where(a.data > 0, a, b), [(3, 4), (4,)]),
    "where_scalar": (lambda a: dl.where(a.data > 0, 0.5, a * a), [(3, 4)]),
    "maximum_broadcast": (lambda a, b: dl.maximum(a, b), [(3, 4), (3, 1)]),
    "minimum": (lambda a, b: dl.minimum(a, b), [(3, 4), (4,)]),
    "clamp_tensor_bounds": (lambda a, lo, hi: dl.clamp(a, lo, hi), [(3, 4), (4,), (3, 1)]),
    "var": (lambda a: dl.var(a, 1, correction=1), [(3, 4)]),
    "std_all": (lambda a: a.std(), [(3, 4)]),
    "cumsum": (lambda a: dl.cumsum(a, 0), [(3, 4)]),
    "cumsum_flat": (lambda a: dl.cumsum(a), [(3, 4)]),
    "split": (lambda a: dl.split(a, [1, 2, 1], dim=1), [(3, 4)]),
    "split_unused_piece": (lambda a: dl.split(a, 2)[0] * 2.0, [(3, 4)]),
    "chunk": (lambda a: a.chunk(2, dim=1)[1], [(3, 4)]),
    "tile": (lambda a: dl.tile(a, (2, 1, 3)), [(3, 4)]),
    "repeat": (lambda a: a.repeat(2, 2), [(3, 4)]),
    "repeat_interleave": (lambda a: dl.repeat_interleave(a, [2, 0, 1], dim=0), [(3, 4)]),
    "repeat_interleave_flat": (lambda a: dl.repeat_interleave(a, 2), [(3, 4)]),
    "flip": (lambda a: dl.flip(a, (0, 1)), [(3, 4)]),
    "gather_repeats": (lambda a: dl.gather(a, 1, IDX), [(3, 4)]),
    "index_select": (lambda a: dl.index_select(a, 0, [2, 2, 0]), [(3, 4)]),
    "sort_values": (lambda a: dl.sort(a, 1)[0], [(3, 4)]),
    "topk_values": (lambda a: dl.topk(a, 2, dim=0)[0], [(3, 4)]),
    "pad_constant": (lambda a: dl.pad(a, ((1, 2), (0, 1)), constant_values=3.0), [(3, 4)]),
    "pad_reflect": (lambda a: dl.pad(a, 2, mode="reflect"), [(3, 4)]),
    "pad_wrap": (lambda a: dl.pad(a, 5, mode="wrap"), [(3, 4)]),
    "F_pad_crop": (lambda a: F.pad(a, (1, -1, -1, 0), mode="constant"), [(3, 4)]),
    "einsum_batched": (lambda a, b: dl.einsum("bij,jk->bik", a, b), [(2, 3, 4), (4, 5)]),
    "broadcast_to": (lambda a: a.broadcast_to((2, 3, 4)), [(3, 1)]),
    "permute": (lambda a: a.reshape(2, 3, 2).permute(1, 2, 0), [(3, 4)]),
    "clone": (lambda a: a.clone() * a, [(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradcheck(name):
    f, shapes = GRAD_CASES[name]
    assert gradcheck(f, [t64(*s, seed=k + 1) for k, s in enumerate(shapes)])


def test_maximum_tie_splits_the_gradient():
    a, b = dl.tensor([1.0, 2.0, 3.0], requires_grad=True), dl.tensor([1.0, 5.0, 0.0], requires_grad=True)
    dl.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 0.0, 1.0] and b.grad.tolist() == [0.5, 1.0, 0.0]


def test_argmax_sort_indices_carry_no_gradient():
    x = t64(3, 4)
    assert not x.argmax(1).requires_grad and not dl.sort(x)[1].requires_grad and dl.sort(x)[0].requires_grad


# ---- errors name the op, the argument, what was expected and what was received --------------------------------

def test_errors():
    x = dl.zeros(3, 4)
    with raises(TypeError, "where", "'condition'", "boolean", "float32"):
        dl.where(x, x, x)
    with raises(TypeError, "where", "'other'"):
        dl.where(x > 0, x)
    with raises(ValueError, "split", "[1, 1]", "add up", "4"):
        dl.split(x, [1, 1], dim=1)
    with raises(ValueError, "split", "positive int", "0"):
        x.split(0)
    with raises(ValueError, "chunk", "'chunks'", "positive int"):
        x.chunk(0)
    with raises(ValueError, "split", "'dim'", "[-2, 2)", "5"):
        x.split(1, dim=5)
    with raises(TypeError, "split", "got both 'axis' and 'dim'"):
        x.split(1, dim=0, axis=1)
    with raises(ValueError, "repeat", "'sizes'", "(3, 4)", "(2,)"):
        x.repeat(2)
    with raises(ValueError, "tile", "non-negative", "-1"):
        x.tile((1, -1))
    with raises(ValueError, "repeat_interleave", "'repeats'", "4 non-negative ints"):
        dl.repeat_interleave(x, [1, 2], dim=1)
    with raises(ValueError, "gather", "'index'", "[0, 4)", "[9, 9]"):
        dl.gather(x, 1, np.array([[9]] * 3))
    with raises(TypeError, "gather", "'index'", "integers", "float64"):
        dl.gather(x, 1, np.ones((3, 1)))
    with raises(ValueError, "gather", "'index'", "2 axes", "(3,)"):
        dl.gather(x, 1, np.zeros(3, dtype=np.int64))
    with raises(ValueError, "index_select", "1-D", "(1, 1)"):
        dl.index_select(x, 0, [[0]])
    with raises(ValueError, "topk", "'k'", "[0, 4]", "5"):
        dl.topk(x, 5)
    with raises(ValueError, "einsum", "'ij,jk->ik'", "2 operand(s)", "got 1"):
        dl.einsum("ij,jk->ik", x)
    with raises(ValueError, "einsum", "operand 1", "(3, 4, 1)", "'jk'"):
        dl.einsum("ij,jk->ik", x, dl.zeros(3, 4, 1))
    with raises(ValueError, "einsum", "subscript 'j'", "size 4", "3"):
        dl.einsum("ij,jk->ik", x, x)
    with raises(ValueError, "einsum", "output subscripts"):
        dl.einsum("ij->iz", x)
    with raises(TypeError, "einsum", "'subscripts'", "string"):
        dl.einsum(3, x)
    with raises(ValueError, "pad", "'mode'", "'mean'"):
        dl.pad(x, 1, mode="mean")
    with raises(ValueError, "pad", "'pad_width'", "non-negative", "-1"):
        dl.pad(x, -1)
    with raises(ValueError, "pad", "'pad_width'", "(3, 4)", "(1, 2, 3)"):
        dl.pad(x, (1, 2, 3))
    with raises(ValueError, "pad", "mode 'reflect'", "at least 2"):
        dl.pad(dl.zeros(1), 1, mode="reflect")
    with raises(ValueError, "pad", "'pad'", "even-length", "(1,)"):
        F.pad(x, (1,))
    with raises(ValueError, "pad", "'value'", "'reflect'"):
        F.pad(x, (1, 1), mode="reflect", value=1.0)
    with raises(ValueError, "broadcast_to", "(3, 4)", "(2, 4)"):
        dl.broadcast_to(x, (2, 4))
    with raises(ValueError, "permute", "'dims'", "(0, 0)"):
        x.permute(0, 0)
    with raises(ValueError, "clamp", "'min'", "'max'"):
        x.clamp()
    with raises(TypeError, "var", "one of 'correction', 'ddof' and 'unbiased'"):
        x.var(correction=1, ddof=1)
    with raises(ValueError, "argmax", "empty"):
        dl.zeros(0).argmax()
    with raises(TypeError, "maximum", "'input'", "str"):
        dl.maximum("a", x)


# ---- PyTorch's semantics (optional anchor) ------------------------------------------------------------------

def test_semantics_match_torch():
    torch = pytest.importorskip("torch")
    x = a64(5, 6)
    tx, px = dl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    w = a64(6, 4, seed=2)
    pairs = [
        (lambda t: t.split(2, 1)[2], lambda p: p.split(2, 1)[2]),
        (lambda t: t.chunk(4, 0)[1], lambda p: p.chunk(4, 0)[1]),
        (lambda t: t.repeat(2, 1, 2), lambda p: p.repeat(2, 1, 2)),
        (lambda t: t.repeat_interleave(2, dim=1), lambda p: p.repeat_interleave(2, dim=1)),
        (lambda t: t.flip(1), lambda p: p.flip(1)),
        (lambda t: t.gather(1, dl.tensor(np.array([[0, 5], [1, 1], [2, 0], [3, 3], [4, 4]]))),
         lambda p: p.gather(1, torch.tensor([[0, 5], [1, 1], [2, 0], [3, 3], [4, 4]]))),
        (lambda t: t.topk(3, dim=1)[0], lambda p: p.topk(3, dim=1)[0]),
        (lambda t: t.sort(0, descending=True)[0], lambda p: p.sort(0, descending=True)[0]),
        (lambda t: t.cumsum(dim=1), lambda p: p.cumsum(dim=1)),
        (lambda t: t.std(dim=1, correction=1), lambda p: p.std(dim=1)),
        (lambda t: t.var(), lambda p: p.var(correction=0)),
        (lambda t: t.clamp(-0.5, 0.5), lambda p: p.clamp(-0.5, 0.5)),
        (lambda t: t.clamp(min=t[0]), lambda p: p.clamp(min=p[0])),
        (lambda t: dl.maximum(t, t.flip(0)), lambda p: torch.maximum(p, p.flip(0))),
        (lambda t: dl.where(t > 0, t, t * t), lambda p: torch.where(p > 0, p, p * p)),
        (lambda t: F.pad(t, (1, 2, 2, 0), mode="reflect"), lambda p: torch.nn.functional.pad(p[None], (1, 2, 2, 0),
                                                                                          mode="reflect")[0]),
        (lambda t: F.pad(t, (1, 2), mode="replicate"), lambda p: torch.nn.functional.pad(p[None], (1, 2),
                                                                                      mode="replicate")[0]),
        (lambda t: F.pad(t, (-1, 2), value=3.0), lambda p: torch.nn.functional.pad(p, (-1, 2), value=3.0)),
        (lambda t: dl.einsum("ij,jk->ik", t, dl.tensor(w)), lambda p: torch.einsum("ij,jk->ik", p, torch.tensor(w))),
        (lambda t: dl.einsum("ii->i", t[:5, :5]), lambda p: torch.einsum("ii->i", p[:5, :5])),
    ]
    r = a64(200, seed=9)
    for k, (ours, theirs) in enumerate(pairs):
        tx.grad, px.grad = None, None
        o, p = ours(tx), theirs(px)
        np.testing.assert_allclose(o.numpy(), p.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=str(k))
        weights = r[:o.size].reshape(o.shape)
        (o * dl.tensor(weights)).sum().backward()
        (p * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose(tx.grad, px.grad.numpy(), rtol=1e-12, atol=1e-12, err_msg=str(k))


# ---- every Example of the new public names runs as written ----------------------------------------------------

EXAMPLED = [dl.grad, dl.no_grad, dl.set_grad_enabled, dl.inference_mode, dl.where, dl.maximum, dl.minimum, dl.clamp,
            dl.eq, dl.ne, dl.lt, dl.le, dl.gt, dl.ge, dl.logical_and, dl.logical_or, dl.logical_not, dl.var, dl.std,
            dl.cumsum, dl.argmax, dl.argmin, dl.split, dl.chunk, dl.tile, dl.repeat_interleave, dl.flip, dl.gather,
            dl.take_along_axis, dl.index_select, dl.take, dl.sort, dl.argsort, dl.topk, dl.broadcast_to, dl.einsum,
            dl.pad, F.pad, dl.testing.gradgradcheck]


@pytest.mark.parametrize("obj", EXAMPLED, ids=lambda o: o.__qualname__)
def test_docstring_example_runs(obj):
    doc = inspect.getdoc(obj)
    assert "Example:" in doc, f"{obj.__qualname__} has no Example section"
    blocks = re.findall(r"```python\n(.*?)```", doc.split("Example:", 1)[1], re.S)
    assert len(blocks) == 1, f"{obj.__qualname__}: expected one python block in its Example"
    exec(compile(blocks[0], f"<{obj.__qualname__} example>", "exec"), {})
