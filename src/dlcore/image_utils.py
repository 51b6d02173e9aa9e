"""Image arrays (NHWC): resizing, cropping to an aspect ratio, affine resampling, and reading image files.

The array functions take NumPy or CuPy arrays (the `xp` idiom) and are the formulas behind the
preprocessing layers (which add their gradients) and `image_dataset_from_directory`:

- resizing is separable, out = R @ image @ C^T per channel, R and C interpolation matrices with
  pixel centres aligned (TensorFlow's half_pixel_centers): output pixel i sits at input
  coordinate (i + 0.5) * n_in / n_out - 0.5;
- affine resampling maps each output pixel (x, y) to the input point
  (a0 x + a1 y + a2, b0 x + b1 y + b2) -- Keras's 8-number transforms with c0 = c1 = 0 -- and
  interpolates there (bilinear or nearest); input pixels outside the image are read through the
  fill mode: 'constant' (fill_value), 'nearest' (the edge pixel), 'reflect' (d c b a | a b c d |
  d c b a), 'wrap' (a b c d | a b c d) or 'mirror' (d c b | a b c d | c b a).

Reading files needs Pillow (`pip install dlcore[image]`).
"""
from __future__ import annotations

import numpy as np

__all__ = ["resize_matrix", "resize", "smart_resize", "affine_sample", "load_img", "img_to_array", "INTERPOLATIONS",
           "FILL_MODES"]

INTERPOLATIONS = ("bilinear", "nearest")
FILL_MODES = ("constant", "nearest", "reflect", "wrap", "mirror")


def resize_matrix(n_out: int, n_in: int, interpolation: str = "bilinear", dtype=np.float64) -> np.ndarray:
    """(n_out, n_in) interpolation matrix along one axis (rows sum to 1), half-pixel centres.

    Example:
    ```python
    from dlcore.image_utils import resize_matrix
    assert resize_matrix(2, 4).tolist() == [[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5]]
    ```
    """
    m = np.zeros((n_out, n_in), dtype=np.float64)
    pos = (np.arange(n_out) + 0.5) * (n_in / n_out)
    rows = np.arange(n_out)
    if interpolation == "nearest":
        m[rows, np.minimum(np.floor(pos).astype(np.int64), n_in - 1)] = 1.0
        return m.astype(dtype)
    x = np.clip(pos - 0.5, 0.0, n_in - 1)
    lo = np.floor(x).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    t = x - lo
    np.add.at(m, (rows, lo), 1.0 - t)
    np.add.at(m, (rows, hi), t)
    return m.astype(dtype)


def resize(images, rows, cols):
    """out[n, i, j, c] = sum_h sum_w rows[i, h] images[n, h, w, c] cols[j, w]  (images NHWC).

    Example:
    ```python
    import numpy as np
    from dlcore.image_utils import resize, resize_matrix
    img = np.ones((1, 4, 4, 1))
    assert resize(img, resize_matrix(2, 4), resize_matrix(3, 4)).shape == (1, 2, 3, 1)
    ```
    """
    xp = _xp(images)
    return xp.einsum("ih,nhwc,jw->nijc", xp.asarray(rows, images.dtype), images, xp.asarray(cols, images.dtype),
                     optimize=True)


def aspect_window(height, width, target_h, target_w):
    """(top, left, h, w): the largest centred window of a height x width image with the target's aspect ratio."""
    h = min(height, int(round(width * target_h / target_w)))
    w = min(width, int(round(height * target_w / target_h)))
    h, w = max(h, 1), max(w, 1)
    return (height - h) // 2, (width - w) // 2, h, w


def smart_resize(x, size, interpolation="bilinear"):
    """Resize an image (H, W, C) or a batch (N, H, W, C) to `size` = (height, width) without distorting it:
    the largest centred window with the target aspect ratio is cut out, then resized (Keras's smart_resize).

    Example:
    ```python
    import numpy as np
    from dlcore.image_utils import smart_resize
    img = np.ones((30, 60, 3), np.float32)
    assert smart_resize(img, (20, 20)).shape == (20, 20, 3)
    ```
    """
    single = x.ndim == 3
    batch = x[None] if single else x
    if batch.ndim != 4:
        raise ValueError(f"smart_resize: expected an image (H, W, C) or a batch (N, H, W, C), got shape {x.shape}")
    th, tw = size
    top, left, h, w = aspect_window(batch.shape[1], batch.shape[2], th, tw)
    window = batch[:, top:top + h, left:left + w]
    if window.dtype.kind != "f":
        window = window.astype(np.float32)
    out = resize(window, resize_matrix(th, h, interpolation), resize_matrix(tw, w, interpolation))
    return out[0] if single else out


def _map_index(xp, i, n, mode):
    inside = (i >= 0) & (i < n)
    if mode in ("constant", "nearest"):
        return xp.clip(i, 0, n - 1), inside
    if mode == "wrap":
        return i % n, inside
    if mode == "reflect":  # period 2n: a b c d | d c b a
        j = i % (2 * n)
        return xp.where(j < n, j, 2 * n - 1 - j), inside
    if n == 1:  # mirror, period 2n - 2: a b c d | c b
        return xp.zeros_like(i), inside
    j = i % (2 * n - 2)
    return xp.where(j < n, j, 2 * n - 2 - j), inside


def affine_indices(xp, transforms, in_hw, out_hw, interpolation, fill_mode):
    """The (flat input index, weight) pairs of each output pixel: K tap lists of shape (N, out_h * out_w),
    K = 4 for bilinear, 1 for nearest. Taps outside the image in 'constant' mode get weight 0 and a
    `outside` weight that multiplies fill_value (returned last)."""
    n = transforms.shape[0]
    (h, w), (oh, ow) = in_hw, out_hw
    ys, xs = xp.meshgrid(xp.arange(oh, dtype=xp.float64), xp.arange(ow, dtype=xp.float64), indexing="ij")
    xs, ys = xs.reshape(1, -1), ys.reshape(1, -1)
    t = xp.asarray(transforms, dtype=xp.float64)
    x_in = t[:, 0:1] * xs + t[:, 1:2] * ys + t[:, 2:3]
    y_in = t[:, 3:4] * xs + t[:, 4:5] * ys + t[:, 5:6]
    if interpolation == "nearest":
        taps = [(xp.floor(y_in + 0.5).astype(xp.int64), xp.floor(x_in + 0.5).astype(xp.int64), xp.ones_like(x_in))]
    else:
        x0, y0 = xp.floor(x_in), xp.floor(y_in)
        tx, ty = x_in - x0, y_in - y0
        x0, y0 = x0.astype(xp.int64), y0.astype(xp.int64)
        taps = [(y0, x0, (1 - ty) * (1 - tx)), (y0, x0 + 1, (1 - ty) * tx), (y0 + 1, x0, ty * (1 - tx)),
                (y0 + 1, x0 + 1, ty * tx)]
    out, outside = [], xp.zeros((n, oh * ow))
    for yi, xi, wt in taps:
        yi, in_y = _map_index(xp, yi, h, fill_mode)
        xi, in_x = _map_index(xp, xi, w, fill_mode)
        if fill_mode == "constant":
            ok = in_y & in_x
            outside = outside + xp.where(ok, 0.0, wt)
            wt = xp.where(ok, wt, 0.0)
        out.append((yi * w + xi, wt))
    return out, outside


def affine_sample(images, transforms, out_hw=None, interpolation="bilinear", fill_mode="reflect", fill_value=0.0):
    """Resample each image of an NHWC batch through its affine transform (see the module docstring).

    transforms: (N, 6) or (N, 8) rows [a0, a1, a2, b0, b1, b2(, 0, 0)] mapping output (x, y) to input
    (a0 x + a1 y + a2, b0 x + b1 y + b2). out_hw: the output's (height, width), default the input's.

    Example:
    ```python
    import numpy as np
    from dlcore.image_utils import affine_sample
    img = np.arange(6.0).reshape(1, 2, 3, 1)
    mirrored = affine_sample(img, np.array([[-1.0, 0, 2, 0, 1, 0]]), interpolation="nearest")
    assert mirrored[0, :, :, 0].tolist() == [[2, 1, 0], [5, 4, 3]]
    ```
    """
    xp = _xp(images)
    n, h, w, c = images.shape
    out_hw = (h, w) if out_hw is None else tuple(out_hw)
    taps, outside = affine_indices(xp, transforms, (h, w), out_hw, interpolation, fill_mode)
    flat = images.reshape(n, h * w, c)
    out = xp.zeros((n, out_hw[0] * out_hw[1], c), dtype=images.dtype)
    for idx, wt in taps:
        out += xp.take_along_axis(flat, idx[:, :, None], axis=1) * wt[:, :, None].astype(images.dtype)
    if fill_mode == "constant" and fill_value:
        out += (outside[:, :, None] * fill_value).astype(images.dtype)
    return out.reshape(n, out_hw[0], out_hw[1], c)


def _xp(a):
    if type(a).__module__.startswith("cupy"):
        import cupy
        return cupy
    return np


# --------------------------------------------------------------------------------------------
# files (Pillow)
# --------------------------------------------------------------------------------------------

def _pil():
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("reading images needs Pillow, which is not installed: pip install dlcore[image]  "
                          "(or pip install pillow)") from e
    return Image


def load_img(path, color_mode="rgb"):
    """Read an image file (PNG, JPEG, BMP, GIF: its first frame) into a uint8 array (H, W, C).

    Args:
        path: the file.
        color_mode: 'rgb' (3 channels), 'rgba' (4) or 'grayscale' (1).

    Example:
    ```python
    import os, tempfile
    import numpy as np
    from dlcore.image_utils import load_img
    try:
        from PIL import Image
    except ImportError:
        Image = None  # Pillow is optional
    if Image is not None:
        path = os.path.join(tempfile.mkdtemp(), "red.png")
        Image.new("RGB", (4, 3), (255, 0, 0)).save(path)
        img = load_img(path)
        assert img.shape == (3, 4, 3) and img[0, 0].tolist() == [255, 0, 0]
    ```
    """
    modes = {"rgb": "RGB", "rgba": "RGBA", "grayscale": "L"}
    if color_mode not in modes:
        raise ValueError(f"load_img: 'color_mode' must be 'rgb', 'rgba' or 'grayscale', got {color_mode!r}")
    image_module = _pil()
    with image_module.open(path) as img:
        img.load()
        arr = np.asarray(img.convert(modes[color_mode]), dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr


def img_to_array(img, dtype="float32"):
    """A Pillow image (or an array) as a (H, W, C) array of `dtype`.

    Example:
    ```python
    import numpy as np
    from dlcore.image_utils import img_to_array
    assert img_to_array(np.zeros((2, 3), np.uint8)).shape == (2, 3, 1)
    ```
    """
    arr = np.asarray(img, dtype=dtype)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(f"img_to_array: expected an image of 2 or 3 dimensions, got shape {arr.shape}")
    return arr
