"""The one random source of dlcore.

Every random number dlcore draws -- `randn`/`rand`, weight initializers, dropout masks, data
shuffling -- comes from the module-level NumPy Generator returned by `generator()`, so that
`dl.manual_seed(seed)` makes a whole run reproducible.
"""
from __future__ import annotations

import numpy as np

_RNG = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed every random source dlcore uses (a fresh `np.random.Generator` from `seed`)."""
    global _RNG
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    _RNG = np.random.default_rng(int(seed))


def generator() -> np.random.Generator:
    """The Generator every random draw in dlcore uses (re-created by `manual_seed`)."""
    return _RNG
