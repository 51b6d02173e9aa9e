"""The geometry of 2-D convolution (and of conv1d and depthwise convolution, which run as it): the
argument checks and output sizes, computed once per call and shared by every backend.

``padding`` is "valid", "same" (Keras/TensorFlow: total padding
``max((ceil(H/s) - 1)*s + (k-1)*d + 1 - H, 0)``, the odd one at the bottom/right), an int, a pair
``(ph, pw)`` or explicit ``((top, bottom), (left, right))``; conv1d's also "causal" and (left, right).
Used by kernels/conv2d.py and kernels/depthwise_conv2d.py (which conv2d.py calls for depthwise groups:
the geometry lives here so that neither imports the other's checks).
"""
from __future__ import annotations

import math
from typing import NamedTuple

from ._validate import MAX_ELEMENTS, MAX_EXTENT, is_int


class ConvGeometry(NamedTuple):
    """Every size of one 2-D convolution, computed once per call and shared by the backends."""
    N: int
    H: int
    W: int
    Cin: int
    Ho: int
    Wo: int
    Cout: int
    kh: int
    kw: int
    sh: int
    sw: int
    dh: int
    dw: int
    pt: int
    pb: int
    pl: int
    pr: int

    @property
    def y_shape(self):
        return (self.N, self.Ho, self.Wo, self.Cout)

    def cpu(self):
        """The geometry tuple of dlcore._C.conv2d_*: (sh, sw, pt, pb, pl, pr, dh, dw)."""
        return (self.sh, self.sw, self.pt, self.pb, self.pl, self.pr, self.dh, self.dw)

    def cuda(self):
        """The geometry list of dlcore._cuda.conv2d_* (cuda::ConvGeom; the kernels bounds-check
        every input position, so the bottom/right padding is implied by Ho and Wo)."""
        return [self.N, self.H, self.W, self.Cin, self.Ho, self.Wo, self.Cout, self.kh, self.kw, self.sh, self.sw,
                self.dh, self.dw, self.pt, self.pl]


def _pair(value, op, name):
    """An int or a pair of ints >= 1, as a pair."""
    if is_int(value):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2 or not all(is_int(v) for v in value)
            or min(value) < 1 or max(value) > MAX_EXTENT):
        raise ValueError(f"{op}: '{name}' must be a positive int or a pair of positive ints, got {value!r} "
                         f"(each at most 2^31 - 1)")
    return int(value[0]), int(value[1])


def _explicit_padding(padding):
    """((top, bottom), (left, right)) from an int, an (ph, pw) pair or explicit pairs; else None."""
    def nonneg(v):
        return is_int(v) and 0 <= v <= MAX_EXTENT
    if nonneg(padding):
        p = int(padding)
        return (p, p), (p, p)
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        a, b = padding
        if nonneg(a) and nonneg(b):
            return (int(a), int(a)), (int(b), int(b))
        if (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == 2 and len(b) == 2
                and all(nonneg(v) for v in (*a, *b))):
            return (int(a[0]), int(a[1])), (int(b[0]), int(b[1]))
    return None


def _same_padding(size, k, s, d):
    """Keras's "same": (before, after) so that the output has ceil(size / s) positions."""
    total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def _groups_arg(groups, op):
    if not is_int(groups) or groups < 1:
        raise ValueError(f"{op}: 'groups' must be a positive int, got {groups!r}")
    return int(groups)


def _plain(v, depth=2):
    """Whether `v` is an int or a str, or a tuple of such values and tuples, at most `depth` tuples
    deep (the arguments, a shape, explicit padding), each of exactly that type: a key that equals
    only arguments the checks treat alike (True == 1 and 1.0 == 1 would not be). Ints and strs are
    tested inline, so that a shape costs one call."""
    if type(v) is not tuple:
        return type(v) is int or type(v) is str
    if depth < 0:
        return False
    for e in v:
        t = type(e)
        if t is not int and t is not str and not _plain(e, depth - 1):
            return False
    return True


_MEMO_SIZE = 512


def _memoized(f):
    """`f`(x_shape, w_shape, strides, padding, dilation, op, groups), remembered for plain arguments
    (_plain) once it has returned: a training step calls each convolution's kernels with the same
    shapes and arguments every time, and checking them took 7 us a call, half of the Python cost of
    a small convolution. Arguments that raise are checked again each time (nothing is stored); other
    argument types are never remembered."""
    memo = {}

    def checked(x_shape, w_shape, strides, padding, dilation, op, groups=1):
        args = (x_shape, w_shape, strides, padding, dilation, op, groups)
        key = args if _plain(args) else None
        if key is not None:
            got = memo.get(key)
            if got is not None:
                return got
        got = f(*args)
        if key is not None:
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[key] = got
        return got

    checked.__doc__, checked.__name__, checked.__wrapped__ = f.__doc__, f.__name__, f
    return checked


@_memoized
def conv2d_geometry(x_shape, w_shape, strides, padding, dilation, op, groups=1) -> ConvGeometry:
    """Checks the shapes and arguments of one convolution; returns its ConvGeometry.

    With `groups` > 1 the filters hold C_in / groups input channels (Keras's layout) and the geometry
    is that of the whole convolution (Cin and Cout of all groups)."""
    x_shape, w_shape = tuple(int(v) for v in x_shape), tuple(int(v) for v in w_shape)
    for what, shape in (("input", x_shape), ("filters", w_shape)):
        if math.prod(shape) > MAX_ELEMENTS:
            raise ValueError(f"{op}: the {what} shape {shape} is too large for an array")
    if len(x_shape) != 4:
        raise ValueError(f"{op}: input must be 4-D (N, H, W, C_in), got shape {x_shape}")
    if len(w_shape) != 4:
        raise ValueError(f"{op}: filters must be 4-D (kh, kw, C_in, C_out), got shape {w_shape}")
    if min(x_shape) < 0 or min(w_shape) < 0:
        raise ValueError(f"{op}: negative dimension in input {x_shape} or filters {w_shape}")
    n, h, w, cin = x_shape
    kh, kw, wcin, cout = w_shape
    groups = _groups_arg(groups, op)
    if groups > 1 and (cin % groups or cout % groups):
        raise ValueError(f"{op}: with groups={groups}, C_in and C_out must be multiples of the groups, got input "
                         f"{x_shape} and filters {w_shape}")
    if wcin * groups != cin:
        per = f" with groups={groups}" if groups > 1 else ""
        raise ValueError(f"{op}: channel mismatch: input {x_shape} has C_in={cin} but filters {w_shape}{per} "
                         f"expect C_in={wcin * groups}")
    if kh < 1 or kw < 1:
        raise ValueError(f"{op}: filter window must be at least 1x1, got filters {w_shape}")
    sh, sw = _pair(strides, op, "strides")
    dh, dw = _pair(dilation, op, "dilation")
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            pads = (0, 0), (0, 0)
        elif mode == "same":
            pads = _same_padding(h, kh, sh, dh), _same_padding(w, kw, sw, dw)
        else:
            raise ValueError(f"{op}: padding must be 'valid', 'same', an int or ((top, bottom), (left, right)), "
                             f"got {padding!r}")
    else:
        pads = _explicit_padding(padding)
        if pads is None:
            raise ValueError(f"{op}: padding must be 'valid', 'same', a non-negative int, a pair (ph, pw) or "
                             f"((top, bottom), (left, right)), got {padding!r}")
    (pt, pb), (pl, pr) = pads
    ekh, ekw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if h + pt + pb < ekh or w + pl + pr < ekw:
        raise ValueError(f"{op}: filter window {ekh}x{ekw} (filters {w_shape}, dilation {(dh, dw)}) is larger than "
                         f"the padded input {h + pt + pb}x{w + pl + pr} (input {x_shape}, padding {padding!r})")
    ho = (h + pt + pb - ekh) // sh + 1
    wo = (w + pl + pr - ekw) // sw + 1
    return ConvGeometry(n, h, w, cin, ho, wo, cout, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr)



# ------------------------------------------------------------------------------------- conv1d

def _padding_1d(padding, k, d, op):
    """conv1d's padding as conv2d's: height gets none; "causal" pads (k-1)*d on the left only."""
    if isinstance(padding, str):
        if padding.lower() == "causal":
            return ((0, 0), ((k - 1) * d, 0))
        if padding.lower() in ("valid", "same"):
            return padding  # the height is 1 and kh = 1, so "same" pads nothing there
        raise ValueError(f"{op}: padding must be 'valid', 'same', 'causal', an int or (left, right), got {padding!r}")
    if is_int(padding) and 0 <= padding <= MAX_EXTENT:
        return ((0, 0), (int(padding), int(padding)))
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and all(is_int(v) and 0 <= v <= MAX_EXTENT
                                                                         for v in padding):
        return ((0, 0), (int(padding[0]), int(padding[1])))
    raise ValueError(f"{op}: padding must be 'valid', 'same', 'causal', an int or (left, right), got {padding!r}")


def _int1(value, op, name):
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not is_int(value) or value < 1 or value > MAX_EXTENT:
        raise ValueError(f"{op}: '{name}' must be a positive int, got {value!r} (at most 2^31 - 1)")
    return int(value)


@_memoized
def geometry_1d(x_shape, w_shape, strides, padding, dilation, op, groups=1) -> ConvGeometry:
    """The ConvGeometry of conv1d (as conv2d with H = 1) after the 1-D checks, errors named `op`."""
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    if len(x_shape) != 3:
        raise ValueError(f"{op}: 'x' must be 3-D (N, L, C), got shape {x_shape}")
    if len(w_shape) != 3:
        raise ValueError(f"{op}: filters must be 3-D (k, C_in, C_out), got shape {w_shape}")
    s, d = _int1(strides, op, "strides"), _int1(dilation, op, "dilation")
    p = _padding_1d(padding, int(w_shape[0]), d, op)
    groups = _groups_arg(groups, op)
    if x_shape[2] != w_shape[1] * groups:
        per = f" with groups={groups}" if groups > 1 else ""
        raise ValueError(f"{op}: channel mismatch: input {x_shape} has C_in={x_shape[2]} but filters "
                         f"{w_shape}{per} expect C_in={w_shape[1] * groups}")
    return conv2d_geometry((x_shape[0], 1) + x_shape[1:], (1,) + w_shape, (1, s), p, (1, d), op, groups)
