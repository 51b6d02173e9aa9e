"""GPU implementations of the kernel API (docs/kernel_api.md), for CuPy arrays.

One module per family, beside the CPU ones: gemm, conv, pool, activation, loss, optim, rnn. Each
public function is written once, with its validation, and exists in two versions made by
``_backends.two_backends``: the CuPy fallback (cuBLAS through cupy.matmul, CuPy elementwise kernels
and reductions) and the version that launches dlcore's own CUDA kernels (dlcore._cuda). Each family
module lists them in ``FALLBACK`` and ``CUDA`` (name -> function). dlcore.kernels._dispatch picks one.

Importing this package imports neither CuPy nor dlcore._cuda; the family modules are imported the
first time ``lookup`` is asked for one of their functions.
"""
from __future__ import annotations

import importlib

_FAMILIES = ("gemm", "conv", "pool", "activation", "loss", "optim", "rnn")
_TABLES = None


def _tables():
    global _TABLES
    if _TABLES is None:
        fallback, cuda = {}, {}
        for fam in _FAMILIES:
            mod = importlib.import_module(f"{__name__}.{fam}")
            fallback.update(mod.FALLBACK)
            cuda.update(mod.CUDA)
        _TABLES = (fallback, cuda)
    return _TABLES


def lookup(name: str, cuda: bool):
    """The GPU function `name`: the dlcore._cuda version when `cuda`, else the CuPy fallback."""
    fallback, cuda_table = _tables()
    if name not in fallback:
        raise AttributeError(f"dlcore.kernels: no GPU implementation of {name!r}")
    return cuda_table.get(name, fallback[name]) if cuda else fallback[name]


def names() -> list:
    return sorted(_tables()[0])
