"""pad with PyTorch's arguments (`F.pad(x, (left, right, top, bottom))`), on dl.pad's ops."""
from __future__ import annotations

from ..primitives import GetItem
from ..tensor_functions_rearrange import pad as _pad_numpy
from ._common import _t

_TORCH_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):
    """`input` padded as PyTorch's `F.pad`: `pad` lists (before, after) pairs from the last axis backwards.

    Args:
        input: the tensor.
        pad: an even-length sequence of ints, (left, right) for the last axis, then (top, bottom) for
            the one before, and so on; negative values crop instead.
        mode: "constant", "reflect", "replicate" (the edge repeated) or "circular" (periodic).
        value: the fill of mode "constant" (default 0).

    Output shape: each named axis grows by its two values. Differentiable (twice). `dl.pad` is the
    same with NumPy's `pad_width` (one pair per axis, from the first).

    Example:

    ```python
    import dlcore as dl
    import dlcore.functional as F

    x = dl.ones(1, 2, 2)
    assert F.pad(x, (1, 1)).shape == (1, 2, 4)              # the last axis
    assert F.pad(x, (0, 0, 2, 0), value=5.0).shape == (1, 4, 2)
    ```
    """
    x = _t(input, "input")
    if not isinstance(pad, (tuple, list)) or len(pad) % 2 or len(pad) // 2 > x.ndim or not all(
            isinstance(p, int) and not isinstance(p, bool) for p in pad):
        raise ValueError(f"pad: 'pad' must be an even-length sequence of ints, at most two per axis of the input "
                         f"(shape {x.shape}), got {pad!r}")
    if mode not in _TORCH_MODES:
        raise ValueError(f"pad: 'mode' must be one of {list(_TORCH_MODES)}, got {mode!r}")
    if value is not None and mode != "constant":
        raise ValueError(f"pad: 'value' is the fill of mode 'constant' only, got value={value!r} with mode={mode!r}")
    widths = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    if any(b < 0 or a < 0 for b, a in widths):  # negative pads crop first
        crop = tuple(slice(max(-b, 0), n - max(-a, 0)) for (b, a), n in zip(widths, x.shape))
        x = GetItem.apply(x, index=crop)
        widths = [(max(b, 0), max(a, 0)) for b, a in widths]
    return _pad_numpy(x, widths, mode=mode, constant_values=0 if value is None else value)
