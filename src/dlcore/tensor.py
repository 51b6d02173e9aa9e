"""Tensor and reverse-mode autograd.

A `Tensor` wraps one array (a NumPy array on the CPU, a CuPy array on the GPU) together with
`requires_grad`, `grad` and `_ctx`, the `Function` node that produced it. Every differentiable
operation is a `Function` subclass with `forward` (arrays in, array out) and `backward` (gradient of
the output in, gradients of the inputs out) written side by side, micrograd/Chainer style:

    class Mul(Function):
        def forward(self, a, b):
            self.a, self.b = a, b
            return a * b
        def backward(self, g):
            return g * self.b, g * self.a

`Function.apply(*tensors, **config)` runs `forward` on the arrays and, when gradients are enabled
and an input requires them, records the node. `Tensor.backward()` walks the recorded graph in
reverse topological order (iteratively: no recursion limit), accumulates into the `.grad` of leaf
tensors and then frees the graph (saved arrays and links), so that memory stays flat over millions
of steps. Array code goes through `xp` (`numpy` or `cupy`, from `get_array_module`) so that the
same body serves both devices.
"""
from __future__ import annotations

import functools

import numpy as np

from . import _random

DEFAULT_DTYPE = np.dtype(np.float32)
_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


# --------------------------------------------------------------------------------------------
# array-module helpers
# --------------------------------------------------------------------------------------------

def get_array_module(a):
    """`numpy` for NumPy arrays (and scalars), `cupy` for CuPy arrays (the Chainer `xp` idiom)."""
    if isinstance(a, np.ndarray) or type(a).__module__ == "numpy":
        return np
    if type(a).__module__.startswith("cupy"):
        import cupy
        return cupy
    return np


def _unbroadcast(g, shape):
    """Sum `g` over the axes that broadcasting added or stretched, so that it has `shape`."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


# --------------------------------------------------------------------------------------------
# grad mode
# --------------------------------------------------------------------------------------------

class _GradMode:
    enabled = True


class no_grad:
    """Context manager (and decorator) that turns graph recording off.

        with dl.no_grad():
            y = model(x)          # no graph, no saved arrays

        @dl.no_grad()
        def evaluate(...): ...
    """

    __slots__ = ("_prev",)

    def __new__(cls, func=None):
        self = super().__new__(cls)
        return self(func) if func is not None else self  # bare @dl.no_grad decorator

    def __init__(self, func=None):
        pass

    def __enter__(self):
        self._prev = _GradMode.enabled
        _GradMode.enabled = False
        return self

    def __exit__(self, *exc):
        _GradMode.enabled = self._prev
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with no_grad():
                return func(*args, **kwargs)
        return wrapper


class enable_grad(no_grad):
    """Context manager that turns graph recording back on (inside a no_grad block)."""

    def __enter__(self):
        self._prev = _GradMode.enabled
        _GradMode.enabled = True
        return self


def is_grad_enabled() -> bool:
    return _GradMode.enabled


# --------------------------------------------------------------------------------------------
# the graph node
# --------------------------------------------------------------------------------------------

class Function:
    """One differentiable operation: `forward(*arrays, **config)` and `backward(grad_out)`.

    `backward` returns one gradient per tensor input of `apply`, in order (None where there is
    none); a multi-output forward (a tuple) gets a tuple of output gradients (None for outputs that
    received no gradient). Subclasses save what backward needs as attributes of `self`; those are
    dropped once backward has run.
    """

    parents = ()
    freed = False
    n_out = 1

    def forward(self, *arrays, **config):  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, grad):  # pragma: no cover - interface
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **config):
        """Run the op on the arrays of `inputs` (Tensors or None) and record it when needed."""
        fn = cls()
        out = fn.forward(*[t.data if t is not None else None for t in inputs], **config)
        record = _GradMode.enabled
        if record:
            for t in inputs:
                if t is not None and t.requires_grad:
                    break
            else:
                record = False
        if type(out) is tuple:
            outs = tuple(_wrap(o, fn, i) if record else _wrap(o, None, 0) for i, o in enumerate(out))
            if record:
                fn.parents = inputs
                fn.n_out = len(out)
            return outs
        if record:
            fn.parents = inputs
            return _wrap(out, fn, 0)
        return _wrap(out, None, 0)

    def __repr__(self):
        return f"<{type(self).__name__} backward>"


def _wrap(array, fn, index):
    """A Tensor around `array` made by node `fn` (None: a constant), without re-validation."""
    if isinstance(array, np.generic):  # NumPy turns 0-d results into scalars; keep arrays
        array = np.asarray(array)
    t = Tensor.__new__(Tensor)
    t.data = array
    t.grad = None
    t.requires_grad = fn is not None
    t._ctx = fn
    t._index = index
    return t


def _backward(root, grad, retain_graph=False):
    """Reverse-mode sweep from `root`, seeded with `grad` (an array shaped like root)."""
    # 1. reverse topological order of the nodes, by an explicit-stack depth-first search
    order = []
    seen = set()
    stack = [(root._ctx, False)]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            order.append(fn)
            continue
        if id(fn) in seen:
            continue
        if fn.freed:
            raise RuntimeError("backward: trying to backward through the graph a second time (its saved arrays were "
                               "freed by the first backward); pass retain_graph=True to the first call to keep them")
        seen.add(id(fn))
        stack.append((fn, True))
        for p in fn.parents:
            if p is not None and p._ctx is not None and id(p._ctx) not in seen:
                stack.append((p._ctx, False))
    # 2. push gradients from the output to the inputs, node by node
    given = set()  # ids of arrays handed to a leaf's .grad in this sweep
    pending = {id(root._ctx): [None] * root._ctx.n_out}
    pending[id(root._ctx)][root._index] = grad
    for fn in reversed(order):
        gouts = pending.pop(id(fn), None)
        if gouts is None:
            continue
        gins = fn.backward(gouts[0] if fn.n_out == 1 else tuple(gouts))
        if len(fn.parents) == 1 and type(gins) is not tuple:
            gins = (gins,)
        for p, g in zip(fn.parents, gins):
            if g is None or p is None or not p.requires_grad:
                continue
            if g.dtype != p.data.dtype:
                g = g.astype(p.data.dtype)
            ctx = p._ctx
            if ctx is None:  # a leaf: accumulate into .grad (never in place: g may be shared)
                if p.grad is not None:
                    p.grad = p.grad + g
                elif id(g) in given or not g.flags.c_contiguous:  # own, dense storage per leaf
                    p.grad = g.copy()
                else:
                    p.grad = g
                given.add(id(p.grad))
            else:
                buf = pending.get(id(ctx))
                if buf is None:
                    buf = pending[id(ctx)] = [None] * ctx.n_out
                i = p._index
                buf[i] = g if buf[i] is None else buf[i] + g
        if not retain_graph:
            fn.__dict__.clear()
            fn.freed = True


# --------------------------------------------------------------------------------------------
# Tensor
# --------------------------------------------------------------------------------------------

def _as_array(data, dtype=None, copy=False):
    """`data` (array, scalar, nested list, Tensor, DLPack object) as a NumPy/CuPy array.

    Python floats and lists of them become float32 (the default dtype); NumPy arrays keep their
    dtype unless `dtype` is given.
    """
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray) or type(data).__module__.startswith("cupy"):
        xp = get_array_module(data)
        if dtype is not None and data.dtype != dtype:
            return data.astype(dtype)
        return data.copy() if copy else data
    if isinstance(data, (list, tuple, int, float, bool, np.generic)):
        arr = np.array(data)
        if arr.dtype == object:
            raise TypeError("dl.tensor: could not build an array from the given nested sequence (ragged or mixed types)")
        if dtype is not None:
            return arr.astype(dtype)
        if arr.dtype == np.float64 and not isinstance(data, np.generic):
            arr = arr.astype(DEFAULT_DTYPE)
        return arr
    if hasattr(data, "__dlpack__"):
        return from_dlpack(data).data
    if hasattr(data, "__array__"):
        return _as_array(np.asarray(data), dtype, copy)
    raise TypeError(f"dl.tensor: expected an array, a number or a (nested) list, got {type(data).__name__}")


def _move(array, device):
    """`array` on `device` ('cpu', 'cuda', 'cuda:N')."""
    if device is None:
        return array
    device = str(device)
    if device == "cpu":
        if isinstance(array, np.ndarray):
            return array
        return array.get()
    if device == "cuda" or device.startswith("cuda:"):
        from .cuda import require_cupy
        cp = require_cupy(f"a tensor on device={device!r}")
        index = int(device.split(":")[1]) if ":" in device else cp.cuda.Device().id
        with cp.cuda.Device(index):
            return cp.asarray(array)
    raise ValueError(f"unknown device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")


class Tensor:
    """An n-dimensional array with an optional gradient.

    Attributes: `data` (the NumPy/CuPy array), `grad` (an array like `data`, or None),
    `requires_grad`. Arithmetic follows NumPy broadcasting; gradients are summed back over the
    broadcast axes.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_index", "__weakref__")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        arr = _as_array(data, None if dtype is None else np.dtype(dtype))
        arr = _move(arr, device)
        if requires_grad and arr.dtype not in _FLOATS:
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {arr.dtype}")
        self.data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._index = 0

    # ---- facts ------------------------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def device(self):
        if isinstance(self.data, np.ndarray):
            return "cpu"
        return f"cuda:{self.data.device.id}"

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def xp(self):
        return get_array_module(self.data)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(")
        extra = ""
        if self.dtype != DEFAULT_DTYPE:
            extra += f", dtype={self.dtype}"
        if self.device != "cpu":
            extra += f", device='{self.device}'"
        if self._ctx is not None:
            extra += f", grad_fn={type(self._ctx).__name__}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    __hash__ = object.__hash__

    # ---- conversions ------------------------------------------------------------------------
    def numpy(self):
        """The data as a NumPy array (a host copy for GPU tensors; shares memory on the CPU)."""
        if isinstance(self.data, np.ndarray):
            return self.data
        return self.data.get()

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): only a tensor with one element can be converted to a Python scalar, "
                             f"got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor with {self.data.size} elements is ambiguous")
        return bool(self.item())

    def __dlpack__(self, *args, **kwargs):
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    def to(self, device=None, dtype=None):
        """A tensor on `device` and/or with `dtype` (self when nothing changes). Differentiable."""
        out = self
        if dtype is not None and np.dtype(dtype) != self.dtype:
            out = Cast.apply(out, dtype=np.dtype(dtype))
        if device is not None and str(device) != out.device and not (str(device) == "cuda" and
                                                                     out.device.startswith("cuda")):
            moved = _move(out.data, device)
            t = Tensor(moved, requires_grad=False)
            t.requires_grad = out.requires_grad
            return t
        return out

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(dtype=np.float32)

    def double(self):
        return self.to(dtype=np.float64)

    def astype(self, dtype):
        return self.to(dtype=dtype)

    def detach(self):
        """A tensor sharing the data, cut from the graph (requires_grad False)."""
        return Tensor._make(self.data)

    def requires_grad_(self, flag=True):
        if flag and self.dtype not in _FLOATS:
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    def zero_grad(self):
        self.grad = None

    @staticmethod
    def _make(array, requires_grad=False):
        t = _wrap(array, None, 0)
        t.requires_grad = requires_grad
        return t

    # ---- autograd ---------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`, then free the graph."""
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no graph (was it computed "
                               "under no_grad(), or from tensors without requires_grad=True?)")
        xp = self.xp
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward: grad can be implicitly created only for a scalar output, "
                                   f"got shape {self.shape}; pass grad=")
            grad = xp.ones_like(self.data)
        else:
            grad = _as_array(grad, self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward: grad has shape {grad.shape}, expected {self.shape}")
        if self._ctx is None:  # a leaf
            self.grad = grad if self.grad is None else self.grad + grad
            return
        _backward(self, grad, retain_graph)

    # ---- arithmetic -------------------------------------------------------------------------
    def _other(self, other):
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float)) and self.data.dtype in _FLOATS:
            return _wrap(self.xp.asarray(other, dtype=self.data.dtype), None, 0)
        return _wrap(self.xp.asarray(_as_array(other)), None, 0)

    def __add__(self, o):
        return Add.apply(self, self._other(o))

    def __radd__(self, o):
        return Add.apply(self._other(o), self)

    def __sub__(self, o):
        return Sub.apply(self, self._other(o))

    def __rsub__(self, o):
        return Sub.apply(self._other(o), self)

    def __mul__(self, o):
        return Mul.apply(self, self._other(o))

    def __rmul__(self, o):
        return Mul.apply(self._other(o), self)

    def __truediv__(self, o):
        return Div.apply(self, self._other(o))

    def __rtruediv__(self, o):
        return Div.apply(self._other(o), self)

    def __neg__(self):
        return Neg.apply(self)

    def __pos__(self):
        return self

    def __pow__(self, o):
        if isinstance(o, (int, float)):
            return PowScalar.apply(self, p=o)
        return Pow.apply(self, self._other(o))

    def __rpow__(self, o):
        return Pow.apply(self._other(o), self)

    def __matmul__(self, o):
        return MatMul.apply(self, self._other(o))

    def __rmatmul__(self, o):
        return MatMul.apply(self._other(o), self)

    def __abs__(self):
        return Abs.apply(self)

    # comparisons: no gradient, boolean result
    def _cmp(self, o, f):
        o = o.data if isinstance(o, Tensor) else o
        return _wrap(f(self.data, o), None, 0)

    def __eq__(self, o):
        return self._cmp(o, lambda a, b: a == b)

    def __ne__(self, o):
        return self._cmp(o, lambda a, b: a != b)

    def __lt__(self, o):
        return self._cmp(o, lambda a, b: a < b)

    def __le__(self, o):
        return self._cmp(o, lambda a, b: a <= b)

    def __gt__(self, o):
        return self._cmp(o, lambda a, b: a > b)

    def __ge__(self, o):
        return self._cmp(o, lambda a, b: a >= b)

    # ---- shape ------------------------------------------------------------------------------
    def __getitem__(self, index):
        return GetItem.apply(self, index=_plain_index(index))

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self, start_dim=0):
        return self.reshape(self.shape[:start_dim] + (-1,))

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if len(axes) == 2 and self.ndim != 2:  # torch style: swap two axes
            perm = list(range(self.ndim))
            perm[axes[0]], perm[axes[1]] = perm[axes[1]], perm[axes[0]]
            axes = tuple(perm)
        return Transpose.apply(self, axes=axes or None)

    @property
    def T(self):
        return Transpose.apply(self, axes=None)

    def squeeze(self, axis=None):
        shape = self.shape
        if axis is None:
            new = tuple(s for s in shape if s != 1)
        else:
            axes = {a % self.ndim for a in ((axis,) if isinstance(axis, int) else axis)}
            new = tuple(s for i, s in enumerate(shape) if i not in axes)
        return self.reshape(new)

    def unsqueeze(self, axis):
        shape = list(self.shape)
        shape.insert(axis if axis >= 0 else len(shape) + 1 + axis, 1)
        return self.reshape(tuple(shape))

    expand_dims = unsqueeze

    # ---- reductions -------------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return Sum.apply(self, axis=_axis(axis), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return Mean.apply(self, axis=_axis(axis), keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return Max.apply(self, axis=_axis(axis), keepdims=keepdims, sign=1)

    def min(self, axis=None, keepdims=False):
        return Max.apply(self, axis=_axis(axis), keepdims=keepdims, sign=-1)

    def var(self, axis=None, keepdims=False):
        d = self - self.mean(axis, keepdims=True)
        return (d * d).mean(axis, keepdims=keepdims)

    def argmax(self, axis=None):
        return _wrap(self.data.argmax(axis=axis), None, 0)

    def argmin(self, axis=None):
        return _wrap(self.data.argmin(axis=axis), None, 0)

    # ---- elementwise math -------------------------------------------------------------------
    def exp(self):
        return Exp.apply(self)

    def log(self):
        return Log.apply(self)

    def sqrt(self):
        return Sqrt.apply(self)

    def abs(self):
        return Abs.apply(self)

    def clip(self, min=None, max=None):
        return Clip.apply(self, lo=min, hi=max)

    clamp = clip

    def pow(self, p):
        return self ** p

    def neg(self):
        return Neg.apply(self)

    # activations live in functional (they call the activation kernels)
    def relu(self):
        from .functional import relu
        return relu(self)

    def sigmoid(self):
        from .functional import sigmoid
        return sigmoid(self)

    def tanh(self):
        from .functional import tanh
        return tanh(self)

    def softmax(self, axis=-1):
        from .functional import softmax
        return softmax(self, axis=axis)

    def log_softmax(self, axis=-1):
        from .functional import log_softmax
        return log_softmax(self, axis=axis)


class Parameter(Tensor):
    """A Tensor that is a trainable weight of a Module (requires_grad=True by default)."""

    __slots__ = ("name", "trainable", "regularizer", "constraint")

    def __init__(self, data, requires_grad=True, name=None, dtype=None):
        if dtype is None and isinstance(data, (list, tuple, float, int)):
            dtype = DEFAULT_DTYPE
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)
        if not self.data.flags.c_contiguous:  # a weight owns dense storage: update kernels write it in place
            self.data = self.xp.ascontiguousarray(self.data)
        self.name = name
        self.trainable = bool(requires_grad)
        self.regularizer = None
        self.constraint = None

    def __repr__(self):
        return f"Parameter(name={self.name!r}, shape={self.shape}, dtype={self.dtype})"


def _axis(axis):
    if isinstance(axis, list):
        return tuple(axis)
    return axis


def _plain_index(index):
    """An index with Tensors replaced by their arrays (they index; they carry no gradient)."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _is_basic(index):
    """True for ints/slices/None/Ellipsis only (no repeated element can be selected)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice, np.integer)) for i in items)


# --------------------------------------------------------------------------------------------
# the primitive ops: forward and backward side by side
# --------------------------------------------------------------------------------------------

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
            from .kernels import gemm
            return gemm(a, b)
        return a @ b

    def backward(self, g):
        a, b = self.a, self.b
        if _gemm_ok(a, b):
            from .kernels import gemm
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


class GetItem(Function):
    def forward(self, a, index):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return a[index]

    def backward(self, g):
        xp = get_array_module(g)
        ga = xp.zeros(self.shape, dtype=self.dtype)
        if _is_basic(self.index):
            ga[self.index] = g
        else:  # advanced indexing may pick an element twice: scatter-add
            if xp is np:
                np.add.at(ga, self.index, g)
            else:
                xp.add.at(ga, self.index, g)
        return ga


class Reshape(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return g.reshape(self.shape)


class Transpose(Function):
    def forward(self, a, axes):
        self.axes = axes
        return a.transpose(axes) if axes is not None else a.T

    def backward(self, g):
        if self.axes is None:
            return g.T
        return g.transpose(np.argsort(self.axes))


class Sum(Function):
    def forward(self, a, axis, keepdims):
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        return a.sum(axis=axis, keepdims=keepdims)

    def backward(self, g):
        xp = get_array_module(g)
        if self.axis is not None and not self.keepdims:
            g = xp.expand_dims(g, self.axis)
        return xp.broadcast_to(g, self.shape)


class Mean(Function):
    def forward(self, a, axis, keepdims):
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        y = a.mean(axis=axis, keepdims=keepdims)
        self.count = (a.size // y.size) if y.size else 1
        return y

    def backward(self, g):
        xp = get_array_module(g)
        if self.axis is not None and not self.keepdims:
            g = xp.expand_dims(g, self.axis)
        return xp.broadcast_to(g / self.count, self.shape)


class Max(Function):
    """max (sign=1) or min (sign=-1) over axes; ties share the gradient equally."""

    def forward(self, a, axis, keepdims, sign):
        self.a, self.axis, self.keepdims = a, axis, keepdims
        y = a.max(axis=axis, keepdims=True) if sign > 0 else a.min(axis=axis, keepdims=True)
        self.y = y
        return y if keepdims else (y.reshape(()) if axis is None else y.squeeze(axis))

    def backward(self, g):
        xp = get_array_module(g)
        if not self.keepdims:
            g = g.reshape(self.y.shape)
        mask = (self.a == self.y)
        count = mask.sum(axis=self.axis, keepdims=True)
        return (g * mask / count).astype(self.a.dtype)


class Concatenate(Function):
    def forward(self, *arrays, axis):
        xp = get_array_module(arrays[0])
        self.axis = axis
        self.sizes = [a.shape[axis] for a in arrays]
        return xp.concatenate(arrays, axis=axis)

    def backward(self, g):
        xp = get_array_module(g)
        cuts = np.cumsum(self.sizes)[:-1]
        return tuple(xp.split(g, cuts, axis=self.axis))


class Stack(Function):
    def forward(self, *arrays, axis):
        xp = get_array_module(arrays[0])
        self.axis = axis
        return xp.stack(arrays, axis=axis)

    def backward(self, g):
        xp = get_array_module(g)
        n = g.shape[self.axis]
        return tuple(xp.take(g, i, axis=self.axis) for i in range(n))


# --------------------------------------------------------------------------------------------
# constructors
# --------------------------------------------------------------------------------------------

def _tensors(seq, op):
    if not isinstance(seq, (list, tuple)) or not seq:
        raise TypeError(f"{op}: expected a non-empty list of tensors, got {type(seq).__name__}")
    return [t if isinstance(t, Tensor) else Tensor(t) for t in seq]


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis (differentiable)."""
    ts = _tensors(tensors, "concatenate")
    ref = ts[0].shape
    for i, t in enumerate(ts[1:], 1):
        if t.ndim != len(ref) or any(a != b for k, (a, b) in enumerate(zip(t.shape, ref)) if k != axis % len(ref)):
            raise ValueError(f"concatenate: all shapes must match except on axis {axis}, got {ref} and {t.shape} "
                             f"(tensor {i})")
    return Concatenate.apply(*ts, axis=axis)


cat = concatenate


def stack(tensors, axis=0):
    """Join same-shape tensors along a new axis (differentiable)."""
    ts = _tensors(tensors, "stack")
    for i, t in enumerate(ts[1:], 1):
        if t.shape != ts[0].shape:
            raise ValueError(f"stack: all tensors must have the same shape, got {ts[0].shape} and {t.shape} (tensor {i})")
    return Stack.apply(*ts, axis=axis)


def tensor(data, requires_grad=False, dtype=None, device=None):
    """A Tensor from an array, a number or a nested list (floats default to float32)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _make(array, dtype, requires_grad, device):
    dtype = DEFAULT_DTYPE if dtype is None else np.dtype(dtype)
    return Tensor(array.astype(dtype, copy=False), requires_grad=requires_grad, device=device)


def zeros(*shape, dtype=None, requires_grad=False, device=None):
    return _make(np.zeros(_shape(shape)), dtype, requires_grad, device)


def ones(*shape, dtype=None, requires_grad=False, device=None):
    return _make(np.ones(_shape(shape)), dtype, requires_grad, device)


def full(shape, fill_value, dtype=None, requires_grad=False, device=None):
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return _make(np.full(shape, fill_value), dtype, requires_grad, device)


def randn(*shape, dtype=None, requires_grad=False, device=None):
    """Standard-normal samples from dlcore's generator (seeded by dl.manual_seed)."""
    return _make(_random.generator().standard_normal(_shape(shape)), dtype, requires_grad, device)


def rand(*shape, dtype=None, requires_grad=False, device=None):
    """Uniform [0, 1) samples from dlcore's generator (seeded by dl.manual_seed)."""
    return _make(_random.generator().random(_shape(shape)), dtype, requires_grad, device)


def arange(start, stop=None, step=1, dtype=None, device=None):
    """Like np.arange; integer arguments give int64, float ones float32."""
    if stop is None:
        start, stop = 0, start
    a = np.arange(start, stop, step)
    if dtype is not None:
        a = a.astype(dtype)
    elif a.dtype == np.float64:
        a = a.astype(DEFAULT_DTYPE)
    return Tensor(a, device=device)


def zeros_like(t, dtype=None, requires_grad=False):
    src = t.data if isinstance(t, Tensor) else np.asarray(t)
    xp = get_array_module(src)
    return Tensor(xp.zeros(src.shape, dtype=dtype or src.dtype), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    src = t.data if isinstance(t, Tensor) else np.asarray(t)
    xp = get_array_module(src)
    return Tensor(xp.ones(src.shape, dtype=dtype or src.dtype), requires_grad=requires_grad)


def from_dlpack(x):
    """A Tensor sharing memory with any DLPack producer (torch, CuPy, JAX, NumPy): zero-copy."""
    if isinstance(x, Tensor):
        return x
    if not hasattr(x, "__dlpack__"):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ (a torch/CuPy/JAX array), "
                        f"got {type(x).__name__}")
    device_type = x.__dlpack_device__()[0] if hasattr(x, "__dlpack_device__") else 1
    if device_type in (1, 3):  # kDLCPU, kDLCUDAHost
        arr = np.from_dlpack(x)
    else:
        from .cuda import require_cupy
        arr = require_cupy("from_dlpack of a GPU array").from_dlpack(x)
    return Tensor._make(arr)
