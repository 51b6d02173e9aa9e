"""The Tensor: one array (NumPy on the CPU, CuPy on the GPU) with an optional gradient.

A `Tensor` wraps its array together with `requires_grad`, `grad` and `_ctx`, the `Function` node
that produced it. The engine that records nodes and runs the backward pass is `dlcore.autograd`;
the primitive ops (Functions on arrays, forward and backward side by side) are in `dlcore.primitives`;
the operators and methods that apply them (`t + u`, `t.sum()`, `t.relu()`) come from
`TensorMethods` (`dlcore.tensor_methods`), `ReduceMethods` (`sum`, `mean`, `var`, `argmax`, ...:
`dlcore.tensor_reduce`), `RearrangeMethods` (`split`, `gather`, `sort`, ...:
`dlcore.tensor_rearrange`) and `InplaceMethods` (`+=`, `t[i] = v`, ...: `dlcore.tensor_inplace`).
This module adds what a tensor is (its array, device, dtype, version counter, conversions,
`backward()`) and the constructors (`dl.tensor`, `zeros`, `randn`, ...).
Array code goes through `xp` (`numpy` or `cupy`, from `get_array_module`) so that the same body
serves both devices.

Layering, each importing only those before it: grad_mode <- autograd <- ops <- tensor_methods
(tensor_reduce, tensor_rearrange, tensor_inplace) <- tensor <- tensor_functions (tensor_functions_rearrange) <-
functional <- activations <- layers. The names that used to be defined here (`Function`,
`no_grad`, the op classes, ...) are still importable from this module.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import _random
from .autograd import _backward, _share_version
from .cuda import require_cupy
from .kernels._validate import refuse_masked
from .primitives import Cast, Concatenate, GetItem, Stack, get_array_module
from .tensor_inplace import InplaceMethods, _plain_index
from .tensor_methods import TensorMethods
from .tensor_rearrange import RearrangeMethods
from .tensor_reduce import ReduceMethods

# Defined in this module before autograd, ops and tensor_methods were split out of it: still
# importable from here, where other modules and users import them from.
from .autograd import Function, enable_grad, is_grad_enabled, no_grad  # noqa: F401
from .primitives.math import Abs, Add, Clip, Div, Exp, Log, MatMul, Mul, Neg, Pow, PowScalar, Sqrt, Sub  # noqa: F401
from .primitives.reduce import Max, Mean, Sum  # noqa: F401
from .primitives.shape import Reshape, Transpose  # noqa: F401

DEFAULT_DTYPE = np.dtype(np.float32)
_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


# --------------------------------------------------------------------------------------------
# Tensor
# --------------------------------------------------------------------------------------------

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
    t._vc = None
    return t


def _as_array(data, dtype=None, copy=False):
    """`data` (array, scalar, nested list, Tensor, DLPack object) as a NumPy/CuPy array.

    Python floats and lists of them become float32 (the default dtype); NumPy arrays keep their
    dtype unless `dtype` is given.
    """
    if isinstance(data, Tensor):
        data = data.data
    refuse_masked(data, "dl.tensor", "data")
    if isinstance(data, np.ndarray) or type(data).__module__.startswith("cupy"):
        if dtype is not None and data.dtype != dtype:
            return data.astype(dtype)
        return data.copy() if copy else data
    if isinstance(data, (list, tuple, int, float, bool, np.generic)):
        try:
            arr = np.array(data)
        except ValueError:  # NumPy's "inhomogeneous shape": rows of different lengths
            raise ValueError(f"dl.tensor: the nested sequence is ragged (its rows differ in length), so it is not "
                             f"an array: {data!r:.80}; pad the rows to one length") from None
        if arr.dtype == object or (arr.dtype.kind in "US" and not all(
                isinstance(v, (str, bytes, np.str_, np.bytes_)) for v in np.array(data, dtype=object).ravel())):
            # dl.tensor([1, "a"]) would silently be the strings ["1", "a"]; a list of strings is a string tensor
            raise TypeError(f"dl.tensor: could not build an array from the given nested sequence (it mixes numbers "
                            f"and strings, or holds objects): {data!r:.80}")
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
        cp = require_cupy(f"a tensor on device={device!r}")
        index = int(device.split(":")[1]) if ":" in device else cp.cuda.Device().id
        with cp.cuda.Device(index):
            return cp.asarray(array)
    raise ValueError(f"unknown device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")


class Tensor(TensorMethods, ReduceMethods, RearrangeMethods, InplaceMethods):
    """An n-dimensional array with an optional gradient.

    Attributes: `data` (the NumPy/CuPy array), `grad` (an array like `data`, or None),
    `requires_grad`. Arithmetic follows NumPy broadcasting; gradients are summed back over the
    broadcast axes. The operators and op methods come from `TensorMethods`, `ReduceMethods`,
    `RearrangeMethods` and `InplaceMethods`. `_vc` is the version counter of the storage (None
    until first needed; see `dlcore.autograd`).
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_index", "_vc", "__weakref__")
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
        self._vc = None

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
        """A tensor sharing the data (and its version counter), cut from the graph (requires_grad False)."""
        t = Tensor._make(self.data)
        _share_version(self, t)
        return t

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

    # ---- operands of the ops (the hooks TensorMethods relies on) -----------------------------
    _wrap = staticmethod(_wrap)  # also how Function.apply wraps the arrays its forward returns

    def _other(self, other):
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float)) and self.data.dtype in _FLOATS:
            return _wrap(self.xp.asarray(other, dtype=self.data.dtype), None, 0)
        return _wrap(self.xp.asarray(_as_array(other)), None, 0)

    # comparisons: no gradient, boolean result
    def _cmp(self, o, f):
        o = o.data if isinstance(o, Tensor) else o
        return _wrap(f(self.data, o), None, 0)

    def __getitem__(self, index):
        return GetItem.apply(self, index=_plain_index(index))


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


def _shape(shape, op="dl.zeros"):
    """The shape of a constructor call, (2, 3) or ((2, 3),), checked: non-negative ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(shape)
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise ValueError(f"{op}: the shape must be non-negative ints, got {shape!r:.80}")
    return tuple(int(d) for d in shape)


def _make(array, dtype, requires_grad, device):
    dtype = DEFAULT_DTYPE if dtype is None else np.dtype(dtype)
    return Tensor(array.astype(dtype, copy=False), requires_grad=requires_grad, device=device)


def zeros(*shape, dtype=None, requires_grad=False, device=None):
    return _make(np.zeros(_shape(shape)), dtype, requires_grad, device)


def ones(*shape, dtype=None, requires_grad=False, device=None):
    return _make(np.ones(_shape(shape, "dl.ones")), dtype, requires_grad, device)


def full(shape, fill_value, dtype=None, requires_grad=False, device=None):
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return _make(np.full(shape, fill_value), dtype, requires_grad, device)


def randn(*shape, dtype=None, requires_grad=False, device=None):
    """Standard-normal samples from dlcore's generator (seeded by dl.manual_seed)."""
    return _make(_random.generator().standard_normal(_shape(shape, "dl.randn")), dtype, requires_grad, device)


def rand(*shape, dtype=None, requires_grad=False, device=None):
    """Uniform [0, 1) samples from dlcore's generator (seeded by dl.manual_seed)."""
    return _make(_random.generator().random(_shape(shape, "dl.rand")), dtype, requires_grad, device)


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
        arr = require_cupy("from_dlpack of a GPU array").from_dlpack(x)
    return Tensor._make(arr)
