"""Image preprocessing layers (NHWC): Resizing, CenterCrop, and the random augmentations.

The random layers (RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomCrop,
RandomContrast) transform only while training -- in fit, with training=True, or in train mode --
and pass images through unchanged in evaluate / predict (eval mode); RandomCrop then crops the
centre instead. Each image of a batch gets its own random transform, drawn from the layer's
generator (`seed=`) or dlcore's global one (`dl.manual_seed`). Every layer is differentiable in its
input (all are linear maps of the pixels, RandomContrast's clipping aside), takes a batch
(N, H, W, C) or one image (H, W, C), and casts integer images to its float dtype.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ... import _random
from ...image_utils import FILL_MODES, INTERPOLATIONS, aspect_window, resize_matrix
from ..base import Layer
from ._ops import AffineSample, Resize

__all__ = ["Resizing", "CenterCrop", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomCrop",
           "RandomContrast"]


def _size(layer, value, arg):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{layer._where()}: '{arg}' must be a positive int, got {value!r}")
    return int(value)


def _choice(layer, value, arg, allowed):
    if value not in allowed:
        raise ValueError(f"{layer._where()}: '{arg}' must be one of {list(allowed)}, got {value!r}")
    return value


def _factor(layer, value, arg, lowest=-math.inf, highest=math.inf):
    """A float f as (-f, f), or a (lower, upper) pair, each bound in [lowest, highest]."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        lo, hi = value
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        lo, hi = -abs(value), abs(value)
    else:
        raise ValueError(f"{layer._where()}: '{arg}' must be a float or a (lower, upper) pair, got {value!r}")
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in (lo, hi)) or not \
            lowest <= lo <= hi <= highest:
        raise ValueError(f"{layer._where()}: '{arg}' must have lower <= upper, both in [{lowest}, {highest}], got "
                         f"{value!r}")
    return float(lo), float(hi)


class _ImageLayer(Layer):
    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{self._where()}: 'data_format' must be 'channels_last' (dlcore's images are NHWC), "
                             f"got {data_format!r}")
        self.data_format = "channels_last"

    def _batched(self, x):
        if x.ndim == 3:
            return x.reshape((1,) + tuple(x.shape)), True
        if x.ndim != 4:
            raise ValueError(f"{self._where()}: expected images of shape (batch, height, width, channels) or one "
                             f"image (height, width, channels), got shape {tuple(x.shape)}")
        return x, False

    def call(self, inputs, training=None):
        x, single = self._batched(inputs)
        out = self._transform(x, training)
        return out.reshape(tuple(out.shape[1:])) if single else out

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class _RandomLayer(_ImageLayer):
    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"{self._where()}: 'seed' must be an int or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self._generator = None if seed is None else np.random.default_rng(self.seed)

    def _rng(self):
        return self._generator if self._generator is not None else _random.generator()

    def _transform(self, x, training):
        if not self._training(training):
            return self._inference(x)
        return self._augment(x, self._rng())

    def _inference(self, x):
        return x

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def _window_and_resize(x, th, tw, interpolation="bilinear"):
    """The largest centred window with the target aspect ratio, resized to (th, tw)."""
    _, h, w, _ = x.shape
    top, left, wh, ww = aspect_window(h, w, th, tw)
    if (wh, ww) != (h, w):
        x = x[:, top:top + wh, left:left + ww]
    if (wh, ww) == (th, tw):
        return x
    rows, cols = resize_matrix(th, wh, interpolation), resize_matrix(tw, ww, interpolation)
    return Resize.apply(x, rows=rows, cols=cols)


def _center_or_resize(x, th, tw):
    _, h, w, _ = x.shape
    if h >= th and w >= tw:
        top, left = (h - th) // 2, (w - tw) // 2
        return x[:, top:top + th, left:left + tw]
    return _window_and_resize(x, th, tw)


# --------------------------------------------------------------------------------------------
# deterministic
# --------------------------------------------------------------------------------------------

class Resizing(_ImageLayer):
    """Resize images to (height, width), bilinearly or to the nearest pixel (Keras's Resizing).

    Pixel centres are aligned (TensorFlow's half_pixel_centers), so an image resized to its own size
    is unchanged. With crop_to_aspect_ratio, the largest centred window with the target aspect ratio
    is resized; with pad_to_aspect_ratio, the image is padded with fill_value to that ratio first.

    Args:
        height, width: the output size.
        interpolation: 'bilinear' or 'nearest'.
        crop_to_aspect_ratio: resize without distortion by cropping.
        pad_to_aspect_ratio: resize without distortion by padding.
        fill_mode: 'constant' (the padding is fill_value).
        fill_value: the padding's value.
        antialias: False (dlcore does not filter before downsampling).
        data_format: 'channels_last' (or None).

    Input shape: (batch, h, w, channels) or (h, w, channels).
    Output shape: (batch, height, width, channels) or (height, width, channels).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    out = dl.layers.Resizing(16, 16)(np.random.rand(2, 28, 28, 1))
    assert tuple(out.shape) == (2, 16, 16, 1)
    ```
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                 fill_mode="constant", fill_value=0.0, antialias=False, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = _size(self, height, "height"), _size(self, width, "width")
        self.interpolation = _choice(self, interpolation, "interpolation", INTERPOLATIONS)
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(f"{self._where()}: choose crop_to_aspect_ratio or pad_to_aspect_ratio, not both")
        self.crop_to_aspect_ratio, self.pad_to_aspect_ratio = bool(crop_to_aspect_ratio), bool(pad_to_aspect_ratio)
        self.fill_mode = _choice(self, fill_mode, "fill_mode", ("constant",))
        self.fill_value = float(fill_value)
        if antialias:
            raise ValueError(f"{self._where()}: antialias=True is not supported (dlcore resizes without a "
                             f"low-pass filter)")
        self.antialias = False

    def _transform(self, x, training):
        th, tw = self.height, self.width
        if 0 in x.shape[1:3]:
            raise ValueError(f"{self._where()}: cannot resize an image with no pixels: height x width "
                             f"{x.shape[1]} x {x.shape[2]}")
        if self.crop_to_aspect_ratio:
            return _window_and_resize(x, th, tw, self.interpolation)
        _, h, w, _ = x.shape
        rows, cols = resize_matrix(th, h, self.interpolation), resize_matrix(tw, w, self.interpolation)
        constant = None
        if self.pad_to_aspect_ratio:
            ph, pw = max(h, int(round(w * th / tw))), max(w, int(round(h * tw / th)))
            embed_r = np.eye(ph, h, -((ph - h) // 2))  # (ph, h): row r of the padded image is row r - top
            embed_c = np.eye(pw, w, -((pw - w) // 2))
            rows, cols = resize_matrix(th, ph, self.interpolation) @ embed_r, resize_matrix(tw, pw, self.interpolation) @ embed_c
            if self.fill_value:
                padded = 1.0 - np.outer(rows.sum(1), cols.sum(1))
                constant = x.xp.asarray((self.fill_value * padded)[None, :, :, None])
        if (th, tw) == (h, w) and constant is None and not self.pad_to_aspect_ratio:
            return x
        return Resize.apply(x, rows=rows, cols=cols, constant=constant)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-3]) + (self.height, self.width, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


class CenterCrop(_ImageLayer):
    """Crop the centre (height, width) window of each image (Keras's CenterCrop).

    An image smaller than the target in either dimension is instead resized: its largest centred
    window with the target aspect ratio, bilinearly.

    Input shape: (batch, h, w, channels) or (h, w, channels).
    Output shape: (batch, height, width, channels) or (height, width, channels).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    x = np.arange(36, dtype=np.float32).reshape(1, 6, 6, 1)
    out = dl.layers.CenterCrop(2, 2)(x)
    assert out.numpy()[0, :, :, 0].tolist() == [[14, 15], [20, 21]]
    ```
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = _size(self, height, "height"), _size(self, width, "width")

    def _transform(self, x, training):
        return _center_or_resize(x, self.height, self.width)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-3]) + (self.height, self.width, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


# --------------------------------------------------------------------------------------------
# random, through one affine resampling per image
# --------------------------------------------------------------------------------------------

class _AffineLayer(_RandomLayer):
    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.fill_mode = _choice(self, fill_mode, "fill_mode", FILL_MODES)
        self.interpolation = _choice(self, interpolation, "interpolation", INTERPOLATIONS)
        self.fill_value = float(fill_value)

    def _augment(self, x, rng):
        n, h, w, _ = x.shape
        t = self._transforms(rng, n, h, w)
        return AffineSample.apply(x, transforms=t, out_hw=(h, w), interpolation=self.interpolation,
                                  fill_mode=self.fill_mode, fill_value=self.fill_value)

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value}


class RandomFlip(_RandomLayer):
    """Flip each image left-right and/or up-down with probability 1/2, while training (Keras's RandomFlip).

    Args:
        mode: 'horizontal', 'vertical' or 'horizontal_and_vertical'.
        seed: an int for the layer's own generator (None: dlcore's global one).

    Input shape: (batch, h, w, channels) or (h, w, channels). Output shape: the same.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    flip = dl.layers.RandomFlip("horizontal", seed=0)
    out = flip(np.random.rand(8, 4, 4, 3), training=True)
    assert tuple(out.shape) == (8, 4, 4, 3)
    ```
    """

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = _choice(self, mode, "mode", ("horizontal", "vertical", "horizontal_and_vertical"))

    def _augment(self, x, rng):
        n, h, w, _ = x.shape
        fx = rng.random(n) < 0.5 if self.mode != "vertical" else np.zeros(n, bool)
        fy = rng.random(n) < 0.5 if self.mode != "horizontal" else np.zeros(n, bool)
        t = np.zeros((n, 6))
        t[:, 0], t[:, 2] = np.where(fx, -1.0, 1.0), np.where(fx, w - 1.0, 0.0)
        t[:, 4], t[:, 5] = np.where(fy, -1.0, 1.0), np.where(fy, h - 1.0, 0.0)
        return AffineSample.apply(x, transforms=t, out_hw=(h, w), interpolation="nearest", fill_mode="nearest",
                                  fill_value=0.0)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class RandomRotation(_AffineLayer):
    """Rotate each image about its centre by a random angle, while training (Keras's RandomRotation).

    Args:
        factor: a float f (angles in [-f, f] turns, f * 360 degrees) or a (lower, upper) pair of
            fractions of a full turn; positive angles turn counter-clockwise.
        fill_mode: how pixels from outside the image are read: 'reflect', 'wrap', 'mirror',
            'nearest' or 'constant' (fill_value).
        interpolation: 'bilinear' or 'nearest'.
        seed: an int for the layer's own generator (None: dlcore's global one).
        fill_value: the value outside the image with fill_mode='constant'.

    Input shape: (batch, h, w, channels) or (h, w, channels). Output shape: the same.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    rot = dl.layers.RandomRotation(0.1, seed=0)
    assert tuple(rot(np.random.rand(4, 8, 8, 1), training=True).shape) == (4, 8, 8, 1)
    ```
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = _factor(self, factor, "factor")

    def _transforms(self, rng, n, h, w):
        theta = rng.uniform(self.factor[0], self.factor[1], n) * 2 * np.pi
        c, s = np.cos(theta), np.sin(theta)
        cx, cy = (w - 1) / 2, (h - 1) / 2
        return np.stack([c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy], 1)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor)}


class RandomZoom(_AffineLayer):
    """Zoom each image in or out about its centre by a random factor, while training (Keras's RandomZoom).

    Args:
        height_factor: a float f (zoom in [-f, f]) or a (lower, upper) pair, each > -1: the
            vertical zoom is 1 + a uniform draw in it; positive values zoom out (the image shrinks),
            negative values zoom in.
        width_factor: the same horizontally; None zooms both axes alike (keeps the aspect ratio).
        fill_mode, interpolation, seed, fill_value: as in RandomRotation.

    Input shape: (batch, h, w, channels) or (h, w, channels). Output shape: the same.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    zoom = dl.layers.RandomZoom((-0.2, 0.2), seed=0)
    assert tuple(zoom(np.random.rand(4, 8, 8, 1), training=True).shape) == (4, 8, 8, 1)
    ```
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = _factor(self, height_factor, "height_factor", lowest=-0.999)
        self.width_factor = None if width_factor is None else _factor(self, width_factor, "width_factor",
                                                                      lowest=-0.999)

    def _transforms(self, rng, n, h, w):
        zy = 1.0 + rng.uniform(self.height_factor[0], self.height_factor[1], n)
        zx = zy if self.width_factor is None else 1.0 + rng.uniform(self.width_factor[0], self.width_factor[1], n)
        cx, cy = (w - 1) / 2, (h - 1) / 2
        zero = np.zeros(n)
        return np.stack([zx, zero, cx * (1 - zx), zero, zy, cy * (1 - zy)], 1)

    def get_config(self):
        return {**super().get_config(), "height_factor": list(self.height_factor),
                "width_factor": None if self.width_factor is None else list(self.width_factor)}


class RandomTranslation(_AffineLayer):
    """Shift each image by a random fraction of its size, while training (Keras's RandomTranslation).

    Args:
        height_factor: a float f (shifts in [-f, f] of the height) or a (lower, upper) pair in
            [-1, 1]; positive values move the image down.
        width_factor: the same for the width; positive values move the image right.
        fill_mode, interpolation, seed, fill_value: as in RandomRotation.

    Input shape: (batch, h, w, channels) or (h, w, channels). Output shape: the same.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    shift = dl.layers.RandomTranslation(0.1, 0.1, seed=0)
    assert tuple(shift(np.random.rand(4, 28, 28, 1), training=True).shape) == (4, 28, 28, 1)
    ```
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = _factor(self, height_factor, "height_factor", -1.0, 1.0)
        self.width_factor = _factor(self, width_factor, "width_factor", -1.0, 1.0)

    def _transforms(self, rng, n, h, w):
        dy = rng.uniform(self.height_factor[0], self.height_factor[1], n) * h
        dx = rng.uniform(self.width_factor[0], self.width_factor[1], n) * w
        one, zero = np.ones(n), np.zeros(n)
        return np.stack([one, zero, -dx, zero, one, -dy], 1)

    def get_config(self):
        return {**super().get_config(), "height_factor": list(self.height_factor),
                "width_factor": list(self.width_factor)}


class RandomCrop(_RandomLayer):
    """Crop a random (height, width) window of each image while training; the centre otherwise.

    While training, each image gets its own window (Keras draws one per batch). At inference, and
    for images smaller than the target, the largest centred window with the target aspect ratio is
    resized to (height, width) instead (Keras's behaviour).

    Args:
        height, width: the output size.
        seed: an int for the layer's own generator (None: dlcore's global one).

    Input shape: (batch, h, w, channels) or (h, w, channels).
    Output shape: (batch, height, width, channels) or (height, width, channels).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    crop = dl.layers.RandomCrop(24, 24, seed=0)
    assert tuple(crop(np.random.rand(4, 28, 28, 1), training=True).shape) == (4, 24, 24, 1)
    ```
    """

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height, self.width = _size(self, height, "height"), _size(self, width, "width")

    def _augment(self, x, rng):
        n, h, w, _ = x.shape
        th, tw = self.height, self.width
        if h < th or w < tw:
            return _window_and_resize(x, th, tw)
        top, left = rng.integers(0, h - th + 1, n), rng.integers(0, w - tw + 1, n)
        one, zero = np.ones(n), np.zeros(n)
        t = np.stack([one, zero, left.astype(float), zero, one, top.astype(float)], 1)
        return AffineSample.apply(x, transforms=t, out_hw=(th, tw), interpolation="nearest", fill_mode="nearest",
                                  fill_value=0.0)

    def _inference(self, x):
        _, h, w, _ = x.shape
        if (h, w) == (self.height, self.width):
            return x
        return _window_and_resize(x, self.height, self.width)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-3]) + (self.height, self.width, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


class RandomContrast(_RandomLayer):
    """Scale each image's deviation from its per-channel mean by a random factor, while training.

    out = clip((x - mean) * f + mean, *value_range), with mean the channel's mean over the image and
    f uniform in [1 - lower, 1 + upper] (Keras's RandomContrast).

    Args:
        factor: a float in [0, 1] (lower = upper = factor) or a (lower, upper) pair in [0, 1].
        value_range: the (min, max) the output is clipped to, e.g. (0, 255) or (0, 1).
        seed: an int for the layer's own generator (None: dlcore's global one).

    Input shape: (batch, h, w, channels) or (h, w, channels). Output shape: the same.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    contrast = dl.layers.RandomContrast(0.5, value_range=(0, 1), seed=0)
    out = contrast(np.random.rand(4, 8, 8, 3), training=True).numpy()
    assert out.min() >= 0 and out.max() <= 1
    ```
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if isinstance(factor, numbers.Real) and not isinstance(factor, bool):
            factor = (factor, factor)
        lo, hi = _factor(self, factor, "factor", 0.0, math.inf)
        if lo > 1 or hi > 1:
            raise ValueError(f"{self._where()}: 'factor' must be in [0, 1], got {factor!r}")
        self.factor = (lo, hi)
        if not (isinstance(value_range, (tuple, list)) and len(value_range) == 2 and value_range[0] < value_range[1]):
            raise ValueError(f"{self._where()}: 'value_range' must be a (min, max) pair, got {value_range!r}")
        self.value_range = (float(value_range[0]), float(value_range[1]))

    def _augment(self, x, rng):
        n = x.shape[0]
        f = rng.uniform(1.0 - self.factor[0], 1.0 + self.factor[1], n).reshape(n, 1, 1, 1).astype(x.dtype)
        mean = x.mean(axis=(1, 2), keepdims=True)
        return ((x - mean) * x.xp.asarray(f) + mean).clip(*self.value_range)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}
