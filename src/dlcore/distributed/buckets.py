"""Which arrays travel together: the bucket plan, shared by the CPU and the GPU data planes.

The gradients of one step are exchanged in a few large messages rather than one per parameter:
each message is a bucket, a flat buffer holding several gradients end to end. Buckets hold one
dtype on one device (a "host" NumPy array or a "device" CuPy array) for one purpose (gradients,
or buffers such as BatchNorm statistics), are filled in reverse parameter order (the order in
which backpropagation produces gradients: the last layers first) and close when the next array
would take them past `cap_bytes`; an array larger than the cap travels alone, and so does one of
`SOLO_BYTES` (4 MiB) or more: it reaches the allreduce's full bandwidth by itself, and a bucket of
one array is reduced straight from the array, without the copy into a bucket buffer.

    entries = [Entry(key=i, shape=p.shape, dtype=p.dtype, device="host") for i, p in enumerate(params)]
    for bucket in plan(entries, cap_bytes=25 << 20):
        ...   # bucket.slots: (key, offset, size, shape) of each array in the flat buffer

The plan depends only on the entries, which every rank lists in the same order, so every rank
builds the same buckets (the exchange checks that the entries agree before any data moves).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_CAP_BYTES", "SOLO_BYTES", "Entry", "Slot", "Bucket", "plan", "digest"]

DEFAULT_CAP_BYTES = 25 * 2 ** 20   # PyTorch DDP's and Horovod's default fusion size
SOLO_BYTES = 4 * 2 ** 20           # an array this large gets a bucket of its own


@dataclass(frozen=True)
class Entry:
    """One array to exchange: `key` names it on every rank (a parameter's position)."""
    key: int
    shape: tuple
    dtype: np.dtype
    device: str = "host"
    group: str = "grad"

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Slot:
    """Where one array lies in its bucket's flat buffer."""
    key: int
    offset: int
    size: int
    shape: tuple


@dataclass(frozen=True)
class Bucket:
    """A flat buffer of `size` elements of `dtype` on `device`, holding `slots` end to end."""
    dtype: np.dtype
    device: str
    group: str
    size: int
    slots: tuple

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize


def plan(entries, cap_bytes: int = DEFAULT_CAP_BYTES, solo_bytes: int = SOLO_BYTES) -> list:
    """Buckets for `entries` (given in parameter order): reverse order, one dtype / device / group
    per bucket, at most `cap_bytes` each unless one array alone is larger; an array of `solo_bytes`
    or more alone. Buckets come in the order they were opened, which is the order their first
    gradients become ready in backpropagation."""
    for name, value in (("cap_bytes", cap_bytes), ("solo_bytes", solo_bytes)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"buckets.plan: {name} must be a positive int, got {value!r}")
    opened = []    # [key, slots, size] in opening order
    current = {}   # (dtype, device, group) -> the open bucket of that kind
    for e in reversed(list(entries)):
        dtype = np.dtype(e.dtype)
        kind = (dtype, e.device, e.group)
        n = e.size
        if n * dtype.itemsize >= solo_bytes:   # a bucket of its own; the open one stays open
            opened.append([kind, [Slot(e.key, 0, n, tuple(e.shape))], n])
            continue
        b = current.get(kind)
        if b is not None and b[2] and (b[2] + n) * dtype.itemsize > cap_bytes:
            b = None  # full: the next array opens a new bucket of this kind
        if b is None:
            b = [kind, [], 0]
            current[kind] = b
            opened.append(b)
        b[1].append(Slot(e.key, b[2], n, tuple(e.shape)))
        b[2] += n
    return [Bucket(k[0], k[1], k[2], size, tuple(slots)) for k, slots, size in opened]


def digest(text: str) -> int:
    """A 64-bit fingerprint of `text`, the same on every machine (not Python's salted hash())."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
