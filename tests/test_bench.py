"""The benchmark scripts' own logic (bench/): what they count as a failed target."""
import importlib.util
import os

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")


def load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", os.path.join(BENCH, f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


SHAPES = [(63, 63, 63), (64, 64, 64), (65, 65, 65)]


def timer(slow_in):
    """Timings of SHAPES at 100 GFLOP/s for both libraries, dlcore's 64^3 twice as slow in the timings
    whose number is in `slow_in` (1 = the first)."""
    calls = []

    def time():
        calls.append(1)
        out = []
        for m, n, k in SHAPES:
            t = 2 * m * n * k / 1e11
            out.append((2 * t if (m == 64 and len(calls) in slow_in) else t, t))
        return out
    return time, calls


@pytest.mark.parametrize("slow_in, retime, timings, fails", [
    ((1,), 2, 2, False),        # a spell on the first timing: timed again, passes
    ((1, 2, 3), 2, 3, True),    # a cliff in every timing still fails, after two more timings
    ((1,), 0, 1, True),         # --retime 0: the first timing stands
    ((), 2, 1, False),          # nothing failed: timed once
    ((2,), 2, 1, False),        # never timed a second time when the first passes
])
def test_sweep_times_a_failing_family_again_and_keeps_the_lowest_medians(slow_in, retime, timings, fails):
    sweep = load("gemm_sweep")
    time, calls = timer(slow_in)
    (rows, slowdowns, failures, lines), n, first = sweep.time_checked("square ~64", SHAPES, True, 200.0, retime, time)
    assert n == timings == len(calls)
    assert bool(failures) == fails
    assert bool(first) == (retime > 0 and 1 in slow_in)
    if fails:
        assert any("64x64x64" in f and "slower than a neighbour" in f and "0.50x NumPy" in f for f in failures)
    else:
        assert [round(r[5], 6) for r in rows] == [1.0, 1.0, 1.0] and max(slowdowns) < 1.3
    assert len(lines) == len(SHAPES)


def test_kernels_runs_a_family_missing_a_target_again_keeping_the_lowest_medians():
    kernels = load("kernels")
    from common import Context, Row  # bench/common.py, on the path once bench/kernels.py is loaded
    ctx = Context(threads=2, reps=3, quick=True, peak_gflops=100.0, copy_gbps=10.0)
    spell = [Row("gemm", "128x512x784", 2e-3, "NumPy", 1e-3), Row("gemm", "64x64x64", 1e-5, "NumPy", 2e-5)]
    again = [Row("gemm", "128x512x784", 1e-3, "NumPy", 1.5e-3), Row("gemm", "64x64x64", 3e-5, "NumPy", 1e-5)]
    assert kernels.missed_targets(spell, ctx) == ["GEMM vs NumPy 0.50 (goal 0.9)"]
    best = kernels.lowest(spell, again)
    assert [(r.dl_s, r.anchor_s) for r in best] == [(1e-3, 1e-3), (1e-5, 1e-5)]
    assert kernels.missed_targets(best, ctx) == []
    with pytest.raises(AssertionError):  # rows of different workloads are never merged
        kernels.lowest(spell, again[::-1])
