"""Threads, instruction set and machine facts of the CPU backend."""
from __future__ import annotations

from . import _C


def set_num_threads(n: int) -> None:
    """Use `n` threads (one OpenMP pool) for every CPU kernel."""
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads: n must be >= 1, got {n}")
    _C.set_num_threads(n)


def get_num_threads() -> int:
    """Threads the CPU kernels use."""
    return _C.num_threads()


def cpu_isa() -> str:
    """Instruction set the CPU kernels use now: 'avx512', 'avx2' or 'generic'."""
    return _C.isa()


def set_cpu_isa(name: str) -> None:
    """Force the CPU kernels to 'avx512', 'avx2' or 'generic' (clamped to what the CPU supports)."""
    if name not in ("avx512", "avx2", "generic"):
        raise ValueError(f"set_cpu_isa: expected 'avx512', 'avx2' or 'generic', got {name!r}")
    _C.set_isa(name)


def supported_isas() -> list:
    """ISA levels the kernels may run on here, lowest first (DLCORE_CPU_ISA caps them)."""
    order = ["generic", "avx2", "avx512"]
    return order[: order.index(_INITIAL_ISA) + 1]


_INITIAL_ISA = _C.isa()
