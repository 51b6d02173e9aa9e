"""Tuning the CPU GEMM to the machine at hand, once, and remembering it.

The GEMM's register tile (its microkernel: 8, 12 or 14 rows of 32 float32 on AVX-512), the depth of
its K blocks (KC) and the share of L2 an A block takes are chosen by measuring them here, not from
one vendor's table: a core with two full-width FMA pipes (Intel Xeon, AMD Zen 5) wants more
independent accumulators than one that splits a 512-bit FMA in halves (Zen 4), and the best KC
follows the caches. The first ``import dlcore`` on a machine measures the candidates on one thread
for about a second, and stores the winner in the user's cache folder, keyed
by the CPU model, the instruction set, the cache sizes and dlcore's version; later imports read it
back. A cache file that cannot be read, or that was written for another CPU, ISA or dlcore, is
ignored and written anew.

    python -m dlcore.tune [--budget 2.0] [--show]

measures again (``--show`` only prints what is in use and where it is cached).

Environment:
    DLCORE_CACHE_DIR   where the cache lives (default ``$XDG_CACHE_HOME/dlcore``, else
                       ``~/.cache/dlcore``).
    DLCORE_TUNE=0      do not measure or read the cache: the built-in defaults.
    DLCORE_CACHE_SIZES the cache geometry to block for instead of the machine's, e.g.
                       ``l1d=48K,l2=2M,l3=64M`` (tests and benchmarks run other machines' blocking
                       this way); the defaults are used then, as a tuning measured here would not
                       belong to that geometry.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import tempfile
import time
import warnings
from pathlib import Path

from .. import _C
from .._version import __version__

FORMAT = 1
KC_CHOICES = (256, 384, 512)
A_BLOCK_L2_DIVS = (2, 4)
# One-thread GEMMs each candidate runs: a square-ish block problem and a wide one.
SHAPES = ((384, 384, 1024), (192, 1024, 512))
DEFAULT = {"ukr": 0, "kc": 512, "a_block_l2_div": 2}
# A candidate must beat the default by this much to replace it (a noisy machine's wins are smaller).
MARGIN = 1.03

_state = {"source": "default", "path": None, "result": None}


def cache_dir() -> Path:
    """The folder of the tuning cache: DLCORE_CACHE_DIR, else $XDG_CACHE_HOME/dlcore, else
    ~/.cache/dlcore."""
    if os.environ.get("DLCORE_CACHE_DIR"):
        return Path(os.environ["DLCORE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dlcore"


def machine_key() -> dict:
    """What a cached tuning must match to be used here."""
    isa = _C.isa()
    return {"format": FORMAT, "dlcore": __version__, "cpu": _C.cpu_model(), "isa": isa,
            "cache_sizes": _C.detected_cache_sizes(), "variants": list(_C.gemm_variants(isa))}


def cache_path(key: dict | None = None) -> Path:
    """The cache file of this CPU model and ISA.

    Example:

    ```python
    import dlcore.tune
    p = dlcore.tune.cache_path()
    assert p.name.startswith("gemm-") and p.suffix == ".json"
    ```
    """
    key = key or machine_key()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", key["cpu"]).strip("-").lower()[:80]
    return cache_dir() / f"gemm-{slug}-{key['isa']}.json"


def _valid(data, key: dict) -> bool:
    if not isinstance(data, dict) or {k: data.get(k) for k in key} != key:
        return False
    r = data.get("result")
    if not isinstance(r, dict):
        return False
    ints = [r.get("ukr"), r.get("kc"), r.get("a_block_l2_div")]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints):
        return False
    return 0 <= r["ukr"] < len(key["variants"]) and 64 <= r["kc"] <= 2048 and 1 <= r["a_block_l2_div"] <= 8


def load(path: Path | None = None, key: dict | None = None) -> dict | None:
    """The cached tuning for this machine, or None where there is none, or where the file is
    unreadable, malformed or written for another CPU, ISA, cache geometry or dlcore version."""
    key = key or machine_key()
    path = path or cache_path(key)
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data["result"] if _valid(data, key) else None


def apply(result: dict) -> None:
    """Make the GEMM use `result` (a dict as `measure` returns) for the active ISA. Call it only
    while no kernel runs."""
    _C.set_gemm_tuning({_C.isa(): result["ukr"]}, result["kc"], result["a_block_l2_div"])


def _rate(cand: dict) -> float:
    apply(cand)
    rates = [_C.measure_gemm_gflops(m, n, k, 1, 1) for m, n, k in SHAPES]
    return math.exp(sum(math.log(max(r, 1e-9)) for r in rates) / len(rates))


def measure(budget_s: float = 2.0) -> dict:
    """Measure the candidates on one thread and return the best: ``ukr`` (an index into
    ``dlcore._C.gemm_variants(isa)``), ``kc``, ``a_block_l2_div``, with what was measured (GFLOP/s:
    the one-thread FMA peak, each microkernel alone, the chosen GEMM). Candidates take turns over
    rounds until `budget_s` is spent (at least one round), so that a slow spell of a shared machine
    falls on all of them; each keeps its best rate. The tuning in force is restored afterwards.

    Example:

    ```python
    import dlcore.tune
    r = dlcore.tune.measure(budget_s=0.2)
    assert r["ukr_gflops"][r["ukr"]] > 0 and r["kc"] in dlcore.tune.KC_CHOICES
    ```
    """
    t_end = time.perf_counter() + budget_s
    before = _C.gemm_tuning()
    threads = _C.num_threads()
    isa = _C.isa()
    variants = list(_C.gemm_variants(isa))
    _C.set_num_threads(1)
    try:
        peak = _C.measure_peak_gflops(min(0.2, budget_s / 10))
        ukr = [max(_C.measure_ukr_gflops(v, min(0.03, budget_s / 60)) for _ in range(2)) for v in range(len(variants))]
        cands = [{"ukr": v, "kc": kc, "a_block_l2_div": d}
                 for v in range(len(variants)) for kc in KC_CHOICES for d in A_BLOCK_L2_DIVS]
        best = {}
        rounds = 0
        while rounds < 1 or (rounds < 5 and time.perf_counter() < t_end):
            for c in cands:
                key = (c["ukr"], c["kc"], c["a_block_l2_div"])
                best[key] = max(best.get(key, 0.0), _rate(c))
            rounds += 1
        default = (DEFAULT["ukr"], DEFAULT["kc"], DEFAULT["a_block_l2_div"])
        top = max(best, key=best.get)
        choice = top if best[top] > MARGIN * best.get(default, 0.0) else default
    finally:
        _C.set_num_threads(threads)
        _C.set_gemm_tuning(before["ukr_f32"], before["kc"], before["a_block_l2_div"])
    return {"ukr": choice[0], "kc": choice[1], "a_block_l2_div": choice[2], "kernel": variants[choice[0]],
            "peak_gflops_1t": peak, "ukr_gflops": ukr, "gemm_gflops_1t": best[choice], "rounds": rounds,
            "seconds": round(budget_s - (t_end - time.perf_counter()), 3)}


def save(result: dict, path: Path | None = None, key: dict | None = None) -> Path:
    """Write `result` to the cache atomically (a reader never sees half a file); returns the path."""
    key = key or machine_key()
    path = Path(path or cache_path(key))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump({**key, "result": result}, fh, indent=1)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def ensure(budget_s: float = 1.0) -> dict:
    """Use the cached tuning, or measure and cache one (what ``import dlcore`` does). Returns
    ``current()``."""
    if os.environ.get("DLCORE_TUNE", "").strip().lower() in ("0", "off", "false", "no"):
        _state.update(source="default (DLCORE_TUNE=0)", path=None, result=None)
        return current()
    if os.environ.get("DLCORE_CACHE_SIZES", "").strip():
        _state.update(source="default (DLCORE_CACHE_SIZES set)", path=None, result=None)
        return current()
    key = machine_key()
    path = cache_path(key)
    result = load(path, key)
    source = "cache"
    if result is None:
        result, source = measure(budget_s), "measured"
        try:
            save(result, path, key)
        except OSError as e:
            warnings.warn(f"dlcore.tune: could not write the tuning cache {path} ({e}); it will be measured "
                          f"again at the next import. Set DLCORE_CACHE_DIR to a writable folder, or "
                          f"DLCORE_TUNE=0 to use the defaults.", RuntimeWarning, stacklevel=2)
    apply(result)
    _state.update(source=source, path=str(path), result=result)
    return current()


def current() -> dict:
    """What the GEMM uses now: the microkernel, KC, the A block's share of L2, where that came from
    ("cache", "measured", or a default), the cache file, and the measurements behind it."""
    t = _C.gemm_tuning()
    isa = _C.isa()
    return {"isa": isa, "kernel": _C.gemm_variants(isa)[t["ukr_f32"][isa]], "kc": t["kc"],
            "a_block_l2_div": t["a_block_l2_div"], "source": _state["source"], "path": _state["path"],
            "measured": _state["result"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m dlcore.tune", description="Measure the GEMM's best microkernel and "
                                "blocking on this machine and cache them (see dlcore.tune's docstring).")
    p.add_argument("--budget", type=float, default=2.0, help="seconds to spend measuring (default 2)")
    p.add_argument("--show", action="store_true", help="only print what is in use and where it is cached")
    args = p.parse_args(argv)
    if args.budget <= 0:
        p.error(f"--budget must be positive, got {args.budget}")
    if not args.show and _state["source"] != "measured":
        result = measure(args.budget)
        path = save(result)
        apply(result)
        _state.update(source="measured", path=str(path), result=result)
    cur = current()
    print(f"cpu: {_C.cpu_model()}; ISA {cur['isa']}; caches {_C.cache_sizes()}")
    print(f"in use: {cur['kernel']}, KC {cur['kc']}, A block = L2 / {cur['a_block_l2_div']} ({cur['source']})")
    print(f"cache file: {cur['path'] or cache_path()}")
    r = cur["measured"]
    if r:
        names = _C.gemm_variants(cur["isa"])
        print(f"one-thread FMA peak {r['peak_gflops_1t']:.0f} GFLOP/s; microkernels alone: " +
              ", ".join(f"{n} {g:.0f} ({100 * g / r['peak_gflops_1t']:.0f}%)" for n, g in zip(names, r["ukr_gflops"])))
        print(f"chosen GEMM on one thread: {r['gemm_gflops_1t']:.0f} GFLOP/s "
              f"({100 * r['gemm_gflops_1t'] / r['peak_gflops_1t']:.0f}% of peak); {r['rounds']} rounds in "
              f"{r['seconds']} s")
    return 0
