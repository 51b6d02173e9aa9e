"""The differentiable image operations behind the preprocessing layers, forward and backward side by side.

Both are linear in the image, so each backward is the transpose of its forward: Resize's is the
same contraction with the roles swapped, AffineSample's scatters each output gradient back to the
input pixels it was interpolated from, with the same weights.
"""
from __future__ import annotations

from ...autograd import Function
from ...image_utils import affine_indices, resize
from ...primitives import get_array_module


class Resize(Function):
    """out = rows @ x @ cols^T per channel (+ `constant`, an array broadcast over the batch and channels)."""

    def forward(self, x, rows, cols, constant=None):
        self.rows, self.cols = rows, cols
        out = resize(x, rows, cols)
        return out if constant is None else out + constant.astype(out.dtype)

    def backward(self, g):
        xp = get_array_module(g)
        return xp.einsum("ih,nijc,jw->nhwc", xp.asarray(self.rows, g.dtype), g, xp.asarray(self.cols, g.dtype),
                         optimize=True)


class AffineSample(Function):
    """Each image resampled through its affine transform (see dlcore.image_utils.affine_sample)."""

    def forward(self, x, transforms, out_hw, interpolation, fill_mode, fill_value):
        xp = get_array_module(x)
        n, h, w, c = x.shape
        self.in_shape = x.shape
        self.taps, outside = affine_indices(xp, xp.asarray(transforms), (h, w), out_hw, interpolation, fill_mode)
        flat = x.reshape(n, h * w, c)
        out = xp.zeros((n, out_hw[0] * out_hw[1], c), dtype=x.dtype)
        for idx, wt in self.taps:
            out += xp.take_along_axis(flat, idx[:, :, None], axis=1) * wt[:, :, None].astype(x.dtype)
        if fill_mode == "constant" and fill_value:
            out += (outside[:, :, None] * fill_value).astype(x.dtype)
        return out.reshape(n, out_hw[0], out_hw[1], c)

    def backward(self, g):
        xp = get_array_module(g)
        n, h, w, c = self.in_shape
        g = g.reshape(n, -1, c)
        gx = xp.zeros((n * h * w, c), dtype=g.dtype)
        base = (xp.arange(n) * (h * w))[:, None]
        for idx, wt in self.taps:
            xp.add.at(gx, (idx + base).reshape(-1), (g * wt[:, :, None].astype(g.dtype)).reshape(-1, c))
        return gx.reshape(n, h, w, c)
