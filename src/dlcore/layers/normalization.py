"""BatchNormalization, LayerNormalization and GroupNormalization (Keras arguments and defaults)."""
from __future__ import annotations

import numbers

from .. import functional as F
from .. import initializers, regularizers
from .base import Layer, float_arg


class BatchNormalization(Layer):
    """Normalize over every axis but `axis` with batch statistics (training) or moving ones (inference).

    Weights, in Keras's order: gamma, beta (trainable), moving_mean, moving_variance (not trainable).
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"{self._where()}: 'axis' must be an int, got {axis!r}")
        momentum = float_arg(momentum, self._where(), "momentum", 0.0, 1.0)
        epsilon = float_arg(epsilon, self._where(), "epsilon", 0.0, low_open=True)
        self.axis, self.momentum, self.epsilon = int(axis), momentum, epsilon
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)

    def build(self, input_shape):
        if not -len(input_shape) <= self.axis < len(input_shape) or len(input_shape) < 2:
            raise ValueError(f"{self._where()}: axis {self.axis} is out of range for an input of shape {input_shape}")
        c = input_shape[self.axis]
        self.gamma = self.add_weight("gamma", (c,), self.gamma_initializer,
                                     regularizer=self.gamma_regularizer) if self.scale else None
        self.beta = self.add_weight("beta", (c,), self.beta_initializer,
                                    regularizer=self.beta_regularizer) if self.center else None
        self.add_weight("moving_mean", (c,), self.moving_mean_initializer, trainable=False)
        self.add_weight("moving_variance", (c,), self.moving_variance_initializer, trainable=False)
        self.built = True

    def call(self, inputs, training=None):
        c = self.moving_mean.shape[0]
        if inputs.ndim < 2 or inputs.shape[self.axis] != c:
            raise ValueError(f"{self._where()}: expected input with {c} features on axis {self.axis}, "
                             f"got shape {tuple(inputs.shape)}")
        training = self._training(training) and self.trainable
        return F.batch_norm(inputs, self.gamma, self.beta, self.moving_mean, self.moving_variance,
                            training=training, momentum=self.momentum, epsilon=self.epsilon, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer)}


class LayerNormalization(Layer):
    """Normalize each sample over the trailing `axis` (int or tuple), then scale (gamma) and center (beta)."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            self.axis = int(axis)
        elif isinstance(axis, (tuple, list)) and axis and all(
                isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
            self.axis = tuple(int(a) for a in axis)
        else:
            raise TypeError(f"{self._where()}: 'axis' must be an int or a tuple of ints, got {axis!r:.60}")
        epsilon = float_arg(epsilon, self._where(), "epsilon", 0.0, low_open=True)
        self.epsilon, self.center, self.scale = epsilon, bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)

    def _axes(self, ndim):
        axes = (self.axis,) if isinstance(self.axis, int) else self.axis
        if ndim < 2 or any(not -ndim <= a < ndim for a in axes):
            raise ValueError(f"{self._where()}: 'axis' {self.axis} does not fit an input of {ndim} dimensions "
                             f"(a batch axis and at least one more)")
        return tuple(sorted(a % ndim for a in axes))

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        self.gamma = self.add_weight("gamma", shape, self.gamma_initializer,
                                     regularizer=self.gamma_regularizer) if self.scale else None
        self.beta = self.add_weight("beta", shape, self.beta_initializer,
                                    regularizer=self.beta_regularizer) if self.center else None
        self._norm_shape = shape
        self.built = True

    def call(self, inputs, training=None):
        axes = self._axes(inputs.ndim)
        if tuple(inputs.shape[a] for a in axes) != self._norm_shape:
            raise ValueError(f"{self._where()}: expected input with shape {self._norm_shape} on axes {axes}, "
                             f"got shape {tuple(inputs.shape)}")
        return F.layer_norm(inputs, self.gamma, self.beta, axis=axes, epsilon=self.epsilon)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis if isinstance(self.axis, int) else list(self.axis),
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer)}


class GroupNormalization(Layer):
    """Group normalization (Wu & He 2018; Keras's GroupNormalization): the channels on `axis` are split
    into `groups` groups, and each sample is normalized per group, over the group's channels and every
    other non-batch axis; then scaled (gamma) and shifted (beta) per channel. The statistics never mix
    samples, so it behaves the same in training and inference and for any batch size. groups=1 is
    layer normalization over all non-batch axes; groups=channels is instance normalization.

    Weights: `gamma` (channels,) and `beta` (channels,), in Keras's order.

    Args:
        groups: the number of groups, dividing the channels (default 32).
        axis: the channel axis (default -1).
        epsilon: added to the variance (default 1e-3).
        center, scale: whether to learn beta / gamma (default True).
        beta_initializer, gamma_initializer: initializers (zeros / ones).
        beta_regularizer, gamma_regularizer: regularizers.

    Input shape: (batch, ..., channels) (any rank >= 2). Output shape: the input's.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    y = dl.layers.GroupNormalization(groups=2)(np.random.rand(3, 5, 5, 4).astype("float32")).numpy()
    group = y[0, :, :, :2]
    assert abs(group.mean()) < 1e-5 and abs(group.std() - 1.0) < 1e-2
    ```
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        where = self._where()
        if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
            raise ValueError(f"{where}: 'groups' must be a positive int, got {groups!r}")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"{where}: 'axis' must be an int, got {axis!r}")
        if epsilon <= 0:
            raise ValueError(f"{where}: 'epsilon' must be > 0, got {epsilon}")
        self.groups, self.axis, self.epsilon = groups, axis, float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)

    def build(self, input_shape):
        where = self._where()
        if len(input_shape) < 2 or not -len(input_shape) <= self.axis < len(input_shape) \
                or self.axis % len(input_shape) == 0:
            raise ValueError(f"{where}: axis {self.axis} is not a channel axis of an input of shape "
                             f"{tuple(input_shape)}")
        c = input_shape[self.axis]
        if c is None:
            raise ValueError(f"{where}: the channel axis {self.axis} of the input must be known, got "
                             f"{tuple(input_shape)}")
        if c < self.groups or c % self.groups:
            raise ValueError(f"{where}: the {c} channels on axis {self.axis} must be a multiple of groups="
                             f"{self.groups} (and at least as many), got input shape {tuple(input_shape)}")
        self.gamma = self.add_weight("gamma", (c,), self.gamma_initializer,
                                     regularizer=self.gamma_regularizer) if self.scale else None
        self.beta = self.add_weight("beta", (c,), self.beta_initializer,
                                    regularizer=self.beta_regularizer) if self.center else None
        self._channels = c
        self.built = True

    def call(self, inputs, training=None):
        if inputs.ndim < 2 or not -inputs.ndim <= self.axis < inputs.ndim or inputs.shape[self.axis] != self._channels:
            raise ValueError(f"{self._where()}: expected input with {self._channels} channels on axis {self.axis}, "
                             f"got shape {tuple(inputs.shape)}")
        return F.group_norm(inputs, self.gamma, self.beta, groups=self.groups, axis=self.axis, epsilon=self.epsilon)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer)}
