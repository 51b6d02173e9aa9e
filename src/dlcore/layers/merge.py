"""Merge layers (Keras): several inputs in a list, one output.

    Concatenate(axis=-1)   join along an axis
    Add, Subtract (two inputs), Multiply, Average, Maximum, Minimum   elementwise, NumPy broadcasting
    Dot(axes, normalize=False)   per-sample dot products (Keras's batch_dot)

and their functional forms `dl.layers.concatenate([a, b])`, `add`, ..., `dot`, which build the
layer and call it. Each takes a list of tensors (or of KerasTensors in a functional model). Masks:
the output is masked where every input is (elementwise layers: where any input is masked, as Keras
combines them with a logical and; Concatenate: where all are, Keras's logical or).
"""
from __future__ import annotations

import numpy as np

from ..tensor import concatenate as _concatenate
from ..tensor import stack as _stack
from .base import Layer


class _Merge(Layer):
    """Base class: checks the list of inputs, broadcasts shapes, combines masks."""

    takes_list = True

    supports_masking = True
    min_inputs, max_inputs = 1, None

    def _check_list(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{self._where()}: expected a list of inputs, got one input of shape "
                             f"{tuple(getattr(inputs, 'shape', ()))}")
        n = len(inputs)
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            want = f"exactly {self.min_inputs}" if self.min_inputs == self.max_inputs else f"at least {self.min_inputs}"
            raise ValueError(f"{self._where()}: expected a list of {want} inputs, got {n}")

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(input_shape[0],
                                                                                            (list, tuple)):
            raise ValueError(f"{self._where()}: expected a list of inputs, got one input of shape {input_shape}")
        self._check_list(input_shape)
        self.compute_output_shape(input_shape)  # shape errors now, not at the first batch
        self.built = True

    def compute_output_shape(self, input_shape):
        out = list(input_shape[0])
        for shape in input_shape[1:]:
            out = _broadcast(self, out, shape, input_shape)
        return tuple(out)

    def call(self, inputs, training=None):
        self._check_list(inputs)
        self.compute_output_shape([tuple(x.shape) for x in inputs])
        return self._merge(list(inputs))

    def compute_mask(self, inputs, mask=None):
        if mask is None or not any(m is not None for m in mask):
            return None
        masks = [np.asarray(m) for m in mask if m is not None]
        out = masks[0]
        for m in masks[1:]:
            out = out & m
        return out


def _broadcast(layer, a, b, shapes):
    """NumPy broadcasting of two shapes with None (unknown) dimensions, or a ValueError."""
    a, b = list(a), list(b)
    n = max(len(a), len(b))
    a, b = [1] * (n - len(a)) + a, [1] * (n - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x is None or y is None:
            out.append(y if x == 1 else x if y == 1 else None if x is None else x)
        elif x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise ValueError(f"{layer._where()}: inputs of shapes {[tuple(s) for s in shapes]} cannot be combined "
                             f"elementwise (they must be equal or broadcastable)")
    return out


class Add(_Merge):
    """The elementwise sum of a list of inputs.

    Input shape: a list of tensors of the same (or broadcastable) shape. Output shape: that shape.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    a, b = np.ones((2, 3), np.float32), np.full((2, 3), 2.0, np.float32)
    assert (dl.layers.Add()([a, b]).numpy() == 3).all()
    x1, x2 = dl.Input(shape=(3,)), dl.Input(shape=(3,))
    model = dl.Model([x1, x2], dl.layers.add([x1, x2]))
    assert model([a, b]).shape == (2, 3)
    ```
    """

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Subtract(_Merge):
    """inputs[0] - inputs[1] (exactly two inputs).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    out = dl.layers.Subtract()([np.full((1, 2), 5.0), np.ones((1, 2))])
    assert out.numpy().tolist() == [[4.0, 4.0]]
    ```
    """

    min_inputs = max_inputs = 2

    def _merge(self, xs):
        return xs[0] - xs[1]


class Multiply(_Merge):
    """The elementwise product of a list of inputs.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    out = dl.layers.Multiply()([np.full((1, 2), 3.0), np.full((1, 2), 2.0)])
    assert out.numpy().tolist() == [[6.0, 6.0]]
    ```
    """

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Average(_Merge):
    """The elementwise mean of a list of inputs.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    out = dl.layers.Average()([np.zeros((1, 2)), np.full((1, 2), 4.0)])
    assert out.numpy().tolist() == [[2.0, 2.0]]
    ```
    """

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out * (1.0 / len(xs))


class Maximum(_Merge):
    """The elementwise maximum of a list of inputs (ties share the gradient).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    out = dl.layers.Maximum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])])
    assert out.numpy().tolist() == [[3.0, 5.0]]
    ```
    """

    def _merge(self, xs):
        return _stack(_broadcast_all(xs), axis=0).max(axis=0)


class Minimum(_Merge):
    """The elementwise minimum of a list of inputs (ties share the gradient).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    out = dl.layers.Minimum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])])
    assert out.numpy().tolist() == [[1.0, 2.0]]
    ```
    """

    def _merge(self, xs):
        return _stack(_broadcast_all(xs), axis=0).min(axis=0)


def _broadcast_all(xs):
    """The inputs brought to their common shape (a differentiable broadcast: x + zeros)."""
    shape = np.broadcast_shapes(*[tuple(x.shape) for x in xs])
    return [x if tuple(x.shape) == shape else x + np.zeros(shape, x.dtype) for x in xs]


class Concatenate(_Merge):
    """Joins a list of inputs along `axis` (all other dimensions equal).

    Args:
        axis: the axis to join along (default -1, the features).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    out = dl.layers.Concatenate(axis=-1)([np.zeros((2, 3)), np.ones((2, 4))])
    assert out.shape == (2, 7)
    ```
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"{self._where()}: 'axis' must be an int, got {axis!r}")
        self.axis = int(axis)

    def compute_output_shape(self, input_shape):
        rank = len(input_shape[0])
        if not -rank <= self.axis < rank:
            raise ValueError(f"{self._where()}: axis {self.axis} is out of range for inputs of rank {rank}")
        ax = self.axis % rank
        for shape in input_shape[1:]:
            if len(shape) != rank or any(a != b and a is not None and b is not None
                                         for k, (a, b) in enumerate(zip(shape, input_shape[0])) if k != ax):
                raise ValueError(f"{self._where()}: inputs must have equal shapes except on the concatenation axis "
                                 f"{self.axis}, got {[tuple(s) for s in input_shape]}")
        sizes = [s[ax] for s in input_shape]
        out = list(input_shape[0])
        out[ax] = None if any(s is None for s in sizes) else int(sum(sizes))
        return tuple(out)

    def _merge(self, xs):
        return _concatenate(xs, axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        if mask is None or not any(m is not None for m in mask):
            return None
        lead = next(np.asarray(m).shape for m in mask if m is not None)
        ax = self.axis % len(inputs[0].shape)
        if ax < len(lead):  # joining along the masked (time) axis: the masks are joined too
            return np.concatenate([np.ones(tuple(x.shape[:len(lead)]), bool) if m is None else np.asarray(m)
                                   for x, m in zip(inputs, mask)], axis=ax)
        out = np.zeros(lead, bool)
        for m in mask:
            out = out | (np.ones(lead, bool) if m is None else np.asarray(m))
        return out

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """Per-sample dot products of two inputs along `axes` (Keras's Dot / batch_dot).

    Args:
        axes: an int (the same axis of both inputs) or a pair (axis of the first, axis of the
            second); axes count the batch axis (axis 0), which is never contracted.
        normalize: L2-normalize both inputs along `axes` first (the output is then the cosine
            similarity).

    Input shape: two tensors (batch, ...). Output shape: the first's axes without `axes[0]`, then the
    second's non-batch axes without `axes[1]`; (batch, 1) when both inputs are 2-D.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    a, b = np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]])
    assert dl.layers.Dot(axes=1)([a, b]).numpy().tolist() == [[11.0]]
    ```
    """

    min_inputs = max_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        pair = axes if isinstance(axes, (list, tuple)) else (axes, axes)
        if len(pair) != 2 or any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in pair):
            raise ValueError(f"{self._where()}: 'axes' must be an int or a pair of ints, got {axes!r}")
        self.axes = [int(a) for a in pair] if isinstance(axes, (list, tuple)) else int(axes)
        self.normalize = bool(normalize)

    def _axes(self, ranks):
        pair = self.axes if isinstance(self.axes, list) else [self.axes, self.axes]
        out = []
        for a, r in zip(pair, ranks):
            if not -r <= a < r or a % r == 0:
                raise ValueError(f"{self._where()}: axes {self.axes!r} must name non-batch axes of inputs of ranks "
                                 f"{list(ranks)}")
            out.append(a % r)
        return out

    def compute_output_shape(self, input_shape):
        a, b = (list(s) for s in input_shape)
        ax, bx = self._axes((len(a), len(b)))
        if a[ax] is not None and b[bx] is not None and a[ax] != b[bx]:
            raise ValueError(f"{self._where()}: the contracted dimensions differ: {a[ax]} (axis {ax} of "
                             f"{tuple(a)}) and {b[bx]} (axis {bx} of {tuple(b)})")
        out = a[:ax] + a[ax + 1:] + b[1:bx] + b[bx + 1:]
        return tuple(out) if len(out) > 1 else (out[0], 1)

    def _merge(self, xs):
        a, b = xs
        ax, bx = self._axes((a.ndim, b.ndim))
        if self.normalize:
            a = a / (a * a).sum(axis=ax, keepdims=True).clip(1e-12, None).sqrt()  # Keras: l2_normalize
            b = b / (b * b).sum(axis=bx, keepdims=True).clip(1e-12, None).sqrt()
        # move the contracted axis last in a and first (after the batch) in b: a batched matmul
        a_perm = [i for i in range(a.ndim) if i != ax] + [ax]
        b_perm = [0, bx] + [i for i in range(1, b.ndim) if i != bx]
        a2, b2 = a.transpose(*a_perm), b.transpose(*b_perm)
        a_rest, b_rest = a2.shape[1:-1], b2.shape[2:]
        n, k = a2.shape[0], a2.shape[-1]
        a3 = a2.reshape(n, int(np.prod(a_rest)) if a_rest else 1, k)
        b3 = b2.reshape(n, k, int(np.prod(b_rest)) if b_rest else 1)
        out = (a3 @ b3).reshape((n,) + tuple(a_rest) + tuple(b_rest))
        return out.reshape(n, 1) if out.ndim == 1 else out

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _functional(cls, doc):
    def merge(inputs, **kwargs):
        return cls(**kwargs)(inputs)
    merge.__name__ = cls.__name__.lower()
    merge.__qualname__ = merge.__name__
    merge.__doc__ = doc
    return merge


add = _functional(Add, "add(inputs, **kwargs) = Add(**kwargs)(inputs): the elementwise sum of a list of inputs.")
subtract = _functional(Subtract, "subtract([a, b], **kwargs) = Subtract(**kwargs)([a, b]): a - b.")
multiply = _functional(Multiply, "multiply(inputs, **kwargs) = Multiply(**kwargs)(inputs): the elementwise product.")
average = _functional(Average, "average(inputs, **kwargs) = Average(**kwargs)(inputs): the elementwise mean.")
maximum = _functional(Maximum, "maximum(inputs, **kwargs) = Maximum(**kwargs)(inputs): the elementwise maximum.")
minimum = _functional(Minimum, "minimum(inputs, **kwargs) = Minimum(**kwargs)(inputs): the elementwise minimum.")


def concatenate(inputs, axis=-1, **kwargs):
    """concatenate(inputs, axis=-1) = Concatenate(axis=axis)(inputs): join a list of inputs along `axis`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes, normalize=False, **kwargs):
    """dot([a, b], axes, normalize=False) = Dot(axes, normalize)([a, b]): per-sample dot products."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
