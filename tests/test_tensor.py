"""Tensor and autograd: constructors, every differentiable tensor op under gradcheck, graph freeing."""
import gc
import tracemalloc

import numpy as np
import pytest

import dlcore as dl
from dlcore.testing import gradcheck


def t64(*shape, positive=False, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return dl.tensor(a, requires_grad=True)


# ---- constructors --------------------------------------------------------------------------------

def test_constructors_default_float32():
    assert dl.tensor([1.0, 2.0]).dtype == np.float32
    assert dl.tensor(3.0).shape == ()
    assert dl.tensor([1, 2]).dtype.kind == "i"
    assert dl.tensor(np.zeros(3, np.float64)).dtype == np.float64
    for f in (dl.zeros, dl.ones, dl.randn, dl.rand):
        t = f(2, 3)
        assert t.shape == (2, 3) and t.dtype == np.float32 and t.device == "cpu"
        assert f((2, 3)).shape == (2, 3)
    assert dl.full((2, 2), 7.0).numpy().tolist() == [[7, 7], [7, 7]]
    assert dl.arange(5).numpy().tolist() == [0, 1, 2, 3, 4]
    assert dl.arange(0, 1, 0.5).dtype == np.float32
    x = dl.randn(4, 2)
    assert dl.zeros_like(x).shape == (4, 2) and dl.ones_like(x).numpy().sum() == 8
    assert len(x) == 4 and "tensor(" in repr(x)
    assert np.asarray(x).shape == (4, 2)
    assert dl.tensor([[2.5]]).item() == 2.5


def test_manual_seed_reproducible():
    dl.manual_seed(3)
    a = dl.randn(5).numpy().copy()
    b = dl.rand(5).numpy().copy()
    dl.manual_seed(3)
    assert np.array_equal(a, dl.randn(5).numpy())
    assert np.array_equal(b, dl.rand(5).numpy())


def test_bad_inputs():
    with pytest.raises(TypeError, match="expected an array"):
        dl.tensor(object())
    with pytest.raises(TypeError, match="floating-point"):
        dl.tensor([1, 2], requires_grad=True)
    with pytest.raises(ValueError, match="only a tensor with one element"):
        dl.randn(3).item()
    with pytest.raises(RuntimeError, match="scalar output"):
        (dl.randn(3, requires_grad=True) * 2).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        dl.randn(3).sum().backward()
    with pytest.raises(ValueError, match="must match except on axis"):
        dl.concatenate([dl.zeros(2, 3), dl.zeros(3, 2)], axis=0)


def test_cuda_device_message_without_gpu():
    if dl.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="cuda13"):
        dl.zeros(2, device="cuda")
    assert dl.cuda.is_available() is False
    dl.cuda.synchronize()


# ---- gradients of every tensor op ------------------------------------------------------------------

BINARY_CASES = {
    "add_broadcast": (lambda a, b: a + b, (3, 4), (4,)),
    "sub_broadcast": (lambda a, b: a - b, (3, 1), (1, 4)),
    "mul_broadcast": (lambda a, b: a * b, (2, 3, 4), (3, 1)),
    "div": (lambda a, b: a / b, (3, 4), (3, 4)),
    "matmul2d": (lambda a, b: a @ b, (3, 5), (5, 2)),
    "matmul_batched": (lambda a, b: a @ b, (2, 3, 5), (5, 4)),
    "matmul_vec": (lambda a, b: a @ b, (5,), (5, 3)),
    "pow_tensor": (lambda a, b: a ** b, (3, 4), (3, 4)),
}


@pytest.mark.parametrize("name", sorted(BINARY_CASES))
def test_gradcheck_binary(name):
    f, sa, sb = BINARY_CASES[name]
    positive = name in ("div", "pow_tensor")
    assert gradcheck(f, [t64(*sa, positive=positive, seed=1), t64(*sb, positive=positive, seed=2)])


UNARY_CASES = {
    "neg": lambda x: -x,
    "scalar_ops": lambda x: (2.0 * x + 1.0) / 3.0 - 0.5,
    "rsub_rdiv": lambda x: 1.0 - 2.0 / x,
    "pow2": lambda x: x ** 2,
    "pow_frac": lambda x: x ** 1.5,
    "rpow": lambda x: 2.0 ** x,
    "exp": lambda x: x.exp(),
    "log": lambda x: x.log(),
    "sqrt": lambda x: x.sqrt(),
    "abs": lambda x: abs(x),
    "clip": lambda x: x.clip(0.7, 1.5),
    "getitem_slice": lambda x: x[1:, ::2],
    "getitem_int": lambda x: x[1],
    "getitem_fancy_repeats": lambda x: x[[0, 0, 2]],
    "getitem_bool": lambda x: x[x.data > 1.0],
    "reshape": lambda x: x.reshape(4, 3),
    "transpose": lambda x: x.T,
    "transpose_axes": lambda x: x.reshape(2, 3, 2).transpose(2, 0, 1),
    "sum_all": lambda x: x.sum(),
    "sum_axis": lambda x: x.sum(axis=0),
    "sum_keepdims": lambda x: x.sum(axis=1, keepdims=True),
    "mean_axes": lambda x: x.reshape(2, 3, 2).mean(axis=(0, 2)),
    "max_axis": lambda x: x.max(axis=1),
    "max_all": lambda x: x.max(),
    "min_keepdims": lambda x: x.min(axis=0, keepdims=True),
    "var": lambda x: x.var(axis=0),
    "concat": lambda x: dl.concatenate([x, x * 2.0], axis=1),
    "stack": lambda x: dl.stack([x, x.exp()], axis=1),
    "squeeze_unsqueeze": lambda x: x.unsqueeze(0).squeeze(0),
    "reuse": lambda x: x * x + x,
}


@pytest.mark.parametrize("name", sorted(UNARY_CASES))
def test_gradcheck_unary(name):
    assert gradcheck(UNARY_CASES[name], [t64(3, 4, positive=True, seed=3)])


def test_gradients_accumulate_and_match_numpy():
    x = dl.tensor(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), requires_grad=True)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.numpy() + 3)
    assert x.grad.dtype == np.float32


def test_numpy_operand_on_the_left():
    x = t64(3)
    y = np.ones(3) + x
    assert isinstance(y, dl.Tensor)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.ones(3))


def test_comparisons_have_no_grad():
    x = t64(3)
    m = x > 0
    assert m.dtype == bool and not m.requires_grad


def test_no_grad_context_and_decorator():
    x = t64(3)
    with dl.no_grad():
        y = x * 2
    assert not y.requires_grad and y._ctx is None

    @dl.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad

    @dl.no_grad
    def g(t):
        return t * 2
    assert not g(x).requires_grad
    with dl.no_grad():
        with dl.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    assert not x.detach().requires_grad
    assert x.detach().numpy() is x.numpy() or np.shares_memory(x.detach().numpy(), x.numpy())


def test_graph_is_freed_after_backward():
    x = t64(3)
    y = (x * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    z = (x * 2).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad, 6 * np.ones(3))


def test_deep_graph_no_recursion_limit():
    x = dl.tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0 + 0.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.ones(2))


def test_memory_flat_over_10000_steps():
    w = dl.tensor(np.random.default_rng(0).standard_normal((8, 8)).astype(np.float32), requires_grad=True)
    x = dl.randn(4, 8)

    def step():
        loss = ((x @ w).exp() * 0.01).mean()
        loss.backward()
        w.grad = None

    for _ in range(200):
        step()
    gc.collect()
    tracemalloc.start()
    for _ in range(1000):
        step()
    base, _ = tracemalloc.get_traced_memory()
    for _ in range(9000):
        step()
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert after - base < 64 * 1024, f"memory grew by {after - base} bytes over 9000 steps"


# ---- DLPack ----------------------------------------------------------------------------------------

def test_dlpack_with_torch_shares_memory():
    torch = pytest.importorskip("torch")
    t = dl.randn(3, 4)
    tt = torch.from_dlpack(t)
    tt[0, 0] = 42.0
    assert t.numpy()[0, 0] == 42.0
    src = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    d = dl.from_dlpack(src)
    assert d.shape == (2, 3) and d.dtype == np.float32
    src[1, 2] = -1.0
    assert d.numpy()[1, 2] == -1.0
    assert t.__dlpack_device__()[0] == 1
    with pytest.raises(TypeError, match="__dlpack__"):
        dl.from_dlpack([1, 2])
