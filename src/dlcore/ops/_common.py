"""The helpers of dl.ops: tensors from arguments."""
from __future__ import annotations

from ..tensor import Tensor


def _t(x):
    """x as a Tensor (arrays keep their dtype; Python numbers and lists become float32 constants)."""
    return x if isinstance(x, Tensor) else Tensor(x)
