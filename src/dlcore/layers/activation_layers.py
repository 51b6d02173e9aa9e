"""Activation layers (Keras's): ReLU, LeakyReLU, PReLU, ELU, Softmax."""
from __future__ import annotations

import numbers

from .. import functional as F
from .. import initializers, regularizers
from .base import Layer


def _number(where, name, value, low=None, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: '{name}' must be a number, got {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{where}: '{name}' must be >= {low}, got {value!r}")
    return float(value)


class ReLU(Layer):
    """Rectified linear unit with Keras's options: a ceiling, a threshold and a slope below it.

    As keras.activations.relu computes it: `x` where x > threshold, else 0 (clipped to
    [0, max_value] when `max_value` is given), minus `negative_slope * max(threshold - x, 0)`.
    The plain relu (the defaults) and the plain leaky relu run the activation kernels.

    Args:
        max_value: the ceiling (>= 0), or None for none.
        negative_slope: the slope below the threshold (>= 0, default 0).
        threshold: values above it pass (>= 0, default 0).

    Input shape: any. Output shape: the input's.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.ReLU(max_value=6.0)(np.array([[-1.0, 3.0, 9.0]], "float32"))
    assert y.numpy().tolist() == [[0.0, 3.0, 6.0]]
    ```
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        where = self._where()
        self.max_value = _number(where, "max_value", max_value, 0.0, allow_none=True)
        self.negative_slope = _number(where, "negative_slope", negative_slope, 0.0)
        self.threshold = _number(where, "threshold", threshold, 0.0)

    def call(self, inputs, training=None):
        return F.relu_layer(inputs, self.negative_slope, self.max_value, self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(Layer):
    """Leaky relu: x for x > 0, negative_slope * x otherwise (the leaky_relu kernel).

    Args:
        negative_slope: the slope for x < 0 (>= 0; Keras 3's default 0.3). `alpha=` (the Keras 2 name)
            is accepted for it.

    Input shape: any. Output shape: the input's.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.LeakyReLU(negative_slope=0.1)(np.array([[-2.0, 2.0]], "float32"))
    assert np.allclose(y.numpy(), [[-0.2, 2.0]])
    ```
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        self.negative_slope = _number(self._where(), "negative_slope", negative_slope, 0.0)

    def call(self, inputs, training=None):
        return F.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(Layer):
    """Exponential linear unit: x for x > 0, alpha * (exp(x) - 1) otherwise (the elu kernel).

    Args:
        alpha: the scale of the negative part (default 1.0).

    Input shape: any. Output shape: the input's.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.ELU(alpha=0.5)(np.array([[0.0, 1.0]], "float32"))
    assert y.numpy().tolist() == [[0.0, 1.0]]
    ```
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _number(self._where(), "alpha", alpha)

    def call(self, inputs, training=None):
        return F.elu(inputs, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """Softmax over `axis` (an int, or a tuple of axes normalized together).

    Called with `mask` (boolean, broadcastable to the input), masked positions take no part and
    output 0, as in Keras (a fully masked row is all zeros).

    Args:
        axis: the axis or axes to normalize over (default -1).

    Input shape: any. Output shape: the input's.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.Softmax()(np.array([[1.0, 1.0, 5.0]], "float32"), mask=np.array([[True, True, False]]))
    assert np.allclose(y.numpy(), [[0.5, 0.5, 0.0]])
    ```
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis or not all(isinstance(a, int) and not isinstance(a, bool) for a in axis):
                raise TypeError(f"{self._where()}: 'axis' must be an int or a tuple of ints, got {axis!r}")
            axis = tuple(axis)
        elif isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"{self._where()}: 'axis' must be an int or a tuple of ints, got {axis!r}")
        self.axis = axis

    def call(self, inputs, training=None, mask=None):
        axes = (self.axis,) if isinstance(self.axis, int) else self.axis
        if any(not -inputs.ndim <= a < inputs.ndim for a in axes):
            raise ValueError(f"{self._where()}: axis {self.axis} is out of range for an input of shape "
                             f"{tuple(inputs.shape)}")
        return F.masked_softmax(inputs, mask, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis if isinstance(self.axis, int) else list(self.axis)}


class PReLU(Layer):
    """Parametric relu: x for x > 0, alpha * x otherwise, with `alpha` learned per position.

    Weight: `alpha`, shaped like the input without its batch axis, with size 1 on the `shared_axes`
    (e.g. shared_axes=[1, 2] for one alpha per channel of (batch, height, width, channels) images).

    Args:
        alpha_initializer: initializer of alpha (default zeros).
        alpha_regularizer: regularizer of alpha.
        alpha_constraint: a callable applied to alpha after each optimizer step (not saved with the
            model: a model holding one raises on save), or None.
        shared_axes: an int or a list of the axes (1-based, batch excluded) sharing one alpha.

    Input shape: any (batch first). Output shape: the input's.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    layer = dl.layers.PReLU(alpha_initializer=dl.initializers.Constant(0.25), shared_axes=[1, 2])
    y = layer(np.full((2, 3, 3, 4), -4.0, "float32"))
    assert layer.alpha.shape == (1, 1, 4) and np.allclose(y.numpy(), -1.0)
    ```
    """

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        where = self._where()
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        if alpha_constraint is not None and not callable(alpha_constraint):
            raise TypeError(f"{where}: 'alpha_constraint' must be a callable (array -> array) or None, got "
                            f"{alpha_constraint!r}")
        self.alpha_constraint = alpha_constraint
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = [shared_axes] if isinstance(shared_axes, int) else list(shared_axes)
            if not all(isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in axes):
                raise ValueError(f"{where}: 'shared_axes' must be axes >= 1 (the batch axis 0 is never shared), got "
                                 f"{shared_axes!r}")
            self.shared_axes = sorted(set(axes))

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"{self._where()}: expected an input (batch, ...), got shape {tuple(input_shape)}")
        shape = list(input_shape[1:])
        for a in self.shared_axes or ():
            if a >= len(input_shape):
                raise ValueError(f"{self._where()}: shared axis {a} is out of range for an input of shape "
                                 f"{tuple(input_shape)}")
            shape[a - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f"{self._where()}: the non-shared axes of the input must be known, got "
                             f"{tuple(input_shape)}")
        self.add_weight("alpha", tuple(shape), self.alpha_initializer, regularizer=self.alpha_regularizer,
                        constraint=self.alpha_constraint)
        self.built = True

    def call(self, inputs, training=None):
        return F.prelu(inputs, self.alpha)

    def get_config(self):
        if self.alpha_constraint is not None:
            raise ValueError(f"{self._where()}: cannot save a PReLU with an alpha_constraint "
                             f"({self.alpha_constraint!r}): a Python callable is not saved; rebuild the layer with "
                             f"it after loading")
        return {**super().get_config(), "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer), "alpha_constraint": None,
                "shared_axes": self.shared_axes}
