"""Threads, instruction set and machine facts of the CPU backend.

The CPU kernels share one thread pool (csrc/cpu/thread_pool.h): the calling thread plus up to
``get_num_threads() - 1`` workers, started at the first call that needs them. Its size comes from
``dlcore.set_num_threads(n)``, else ``DLCORE_NUM_THREADS``, else ``OMP_NUM_THREADS`` (its first
entry), else the CPUs this process may run on. The pool survives ``fork`` (a child starts its own
workers at its first parallel call, with the thread count set in the child) and ``threadpoolctl``
sees and limits it (``user_api`` and ``internal_api`` "dlcore").

At import it also applies the GEMM tuning of this machine (dlcore.tune: read from the user's cache,
or measured once), and ``DLCORE_CACHE_SIZES`` (see cache_sizes_from_env) when set.
"""
from __future__ import annotations

import importlib.util
import os
import warnings

from . import _C, tune
from ._version import __version__

_MAX_THREADS = 1024


def set_num_threads(n: int) -> None:
    """Use `n` threads (the calling thread included) for every CPU kernel.

    Args:
        n: a positive int (at most 1024). It takes effect at the next kernel call; workers are
            started as calls need them.

    Example:

    ```python
    import dlcore
    before = dlcore.get_num_threads()
    dlcore.set_num_threads(1)
    assert dlcore.get_num_threads() == 1
    dlcore.set_num_threads(before)
    ```
    """
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    if not 1 <= n <= _MAX_THREADS:
        raise ValueError(f"set_num_threads: n must be between 1 and {_MAX_THREADS}, got {n}")
    _C.set_num_threads(n)


def get_num_threads() -> int:
    """Threads the CPU kernels use (the calling thread included)."""
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


def threads_from_env(environ=os.environ):
    """The thread count the environment asks for, or None: ``DLCORE_NUM_THREADS``, else the first
    entry of ``OMP_NUM_THREADS`` (a list of counts per nesting level, as OpenMP reads it).

    A malformed ``DLCORE_NUM_THREADS`` raises ValueError; a malformed ``OMP_NUM_THREADS`` belongs to
    every OpenMP library of the process, so it is ignored with a warning, as they ignore it."""
    for name in ("DLCORE_NUM_THREADS", "OMP_NUM_THREADS"):
        raw = environ.get(name, "").strip()
        if not raw:
            continue
        first = raw.split(",")[0].strip()
        n = int(first) if first.isdigit() else 0
        if 1 <= n <= _MAX_THREADS:
            return n
        msg = f"{name}: expected a thread count between 1 and {_MAX_THREADS}, got {raw!r}"
        if name == "DLCORE_NUM_THREADS":
            raise ValueError(msg)
        warnings.warn(msg + "; dlcore ignores it", RuntimeWarning, stacklevel=2)
    return None


_UNITS = {"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "KIB": 1 << 10, "M": 1 << 20, "MB": 1 << 20, "MIB": 1 << 20,
          "G": 1 << 30, "GB": 1 << 30, "GIB": 1 << 30}


def cache_sizes_from_env(environ=os.environ):
    """The cache geometry ``DLCORE_CACHE_SIZES`` asks for, as a dict of the levels it names, or None.

    The value is a comma-separated list of ``level=size`` with levels ``l1d``, ``l2``, ``l3`` (bytes per
    core for l1d and l2, the L3 a core reaches) and sizes in bytes or with a K/M/G suffix, e.g.
    ``l1d=48K,l2=2M,l3=64M`` (an Intel Xeon's geometry). Levels it leaves out keep the machine's."""
    raw = environ.get("DLCORE_CACHE_SIZES", "").strip()
    if not raw:
        return None
    out = {}
    for item in raw.split(","):
        level, _, size = item.partition("=")
        level, size = level.strip().lower(), size.strip().upper().replace(" ", "")
        num = size.rstrip("KMGIB")
        unit = size[len(num):]
        if level not in ("l1d", "l2", "l3") or not num.isdigit() or unit not in _UNITS or level in out:
            raise ValueError("DLCORE_CACHE_SIZES: expected a comma-separated list of level=size with levels l1d, l2, "
                             f"l3 (each once) and sizes like 48K or 2M, e.g. 'l1d=48K,l2=2M,l3=64M'; got {raw!r}")
        out[level] = int(num) * _UNITS[unit]
        if not 4 << 10 <= out[level] <= 1 << 30:
            raise ValueError(f"DLCORE_CACHE_SIZES: {level} must be between 4K and 1G, got {size!r} in {raw!r}")
    return out


def _register_threadpoolctl() -> None:
    """Make threadpoolctl see dlcore's pool, as it sees OpenBLAS's and OpenMP's (through
    ``threadpoolctl.register``, its hook for custom controllers; a version without it, or no
    threadpoolctl, is left alone)."""
    if importlib.util.find_spec("threadpoolctl") is None:
        return
    import threadpoolctl
    if not hasattr(threadpoolctl, "register") or not hasattr(threadpoolctl, "LibController"):
        return

    class DlcoreController(threadpoolctl.LibController):
        """dlcore's thread pool: the functions dlcore._C exports with C linkage for this."""
        user_api = "dlcore"
        internal_api = "dlcore"
        # threadpoolctl compares lower-cased file names: dlcore/_C.<abi>.so. Other modules named
        # _C (PyTorch's) lack the symbols below and are passed over.
        filename_prefixes = ("_c.",)
        check_symbols = ("dlcore_get_num_threads", "dlcore_set_num_threads")

        def get_num_threads(self):
            get = getattr(self.dynlib, "dlcore_get_num_threads", None)
            return get() if get is not None else None

        def set_num_threads(self, num_threads):
            self.dynlib.dlcore_set_num_threads(int(num_threads))

        def get_version(self):
            return __version__

    threadpoolctl.register(DlcoreController)


_INITIAL_ISA = _C.isa()
_ENV_THREADS = threads_from_env()
if _ENV_THREADS is not None:
    _C.set_num_threads(_ENV_THREADS)
_ENV_CACHES = cache_sizes_from_env()
if _ENV_CACHES is not None:
    _C.set_cache_sizes(**{**_C.detected_cache_sizes(), **_ENV_CACHES})
_register_threadpoolctl()
tune.ensure()
