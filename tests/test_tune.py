"""The GEMM's tuning (dlcore.tune): its cache (where it lives, what it must match, corrupt and stale
files ignored and rebuilt, never a crash), `python -m dlcore.tune`, every microkernel variant and
blocking a tuning can choose against the float64 reference, DLCORE_CACHE_SIZES, and the blocking
logic under the cache geometries of the three machine kinds dlcore runs on (no plan with a cliff).

The test run's cache folder is a temporary one (conftest.py sets DLCORE_CACHE_DIR); these tests use
folders of their own below tmp_path and never the user's ~/.cache.
"""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import dlcore
from dlcore import _C, _system, tune
from harness import assert_close, raises
from reference import gemm as ref_gemm

GEOMETRIES = {  # bytes: L1d and L2 per core, the L3 a core reaches
    "AMD Zen 4": {"l1d": 32 << 10, "l2": 1 << 20, "l3": 32 << 20},
    "AMD Zen 5": {"l1d": 48 << 10, "l2": 1 << 20, "l3": 32 << 20},
    "Intel Xeon": {"l1d": 48 << 10, "l2": 2 << 20, "l3": 64 << 20},
}


@pytest.fixture
def restore_tuning():
    """Put back the tuning, the cache geometry and tune's record after a test that changes them."""
    before, caches, state = _C.gemm_tuning(), _C.cache_sizes(), dict(tune._state)
    yield
    _C.set_gemm_tuning(before["ukr_f32"], before["kc"], before["a_block_l2_div"])
    _C.set_cache_sizes(**caches)
    tune._state.update(state)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(d))
    monkeypatch.delenv("DLCORE_TUNE", raising=False)
    monkeypatch.delenv("DLCORE_CACHE_SIZES", raising=False)
    return d


@pytest.fixture
def quick_measure(monkeypatch):
    """measure() with a tiny budget, counting its calls (the tests are about the cache, not speed)."""
    calls = []
    real = tune.measure

    def measure(budget_s=2.0):
        calls.append(budget_s)
        return real(budget_s=0.05)
    monkeypatch.setattr(tune, "measure", measure)
    return calls


# ---- where the cache lives ----------------------------------------------------------------------

def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(tmp_path / "a"))
    assert tune.cache_dir() == tmp_path / "a"
    monkeypatch.delenv("DLCORE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert tune.cache_dir() == tmp_path / "xdg" / "dlcore"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert tune.cache_dir() == tmp_path / "home" / ".cache" / "dlcore"


def test_the_cache_file_is_named_by_cpu_model_and_isa(cache_dir):
    key = tune.machine_key()
    assert key["cpu"] == _C.cpu_model() and "family" in key["cpu"]
    assert key["isa"] == dlcore.cpu_isa()
    path = tune.cache_path(key)
    assert path.parent == cache_dir and path.name.endswith(f"-{key['isa']}.json")
    other = tune.cache_path({**key, "cpu": "Intel(R) Xeon(R) Platinum 8488C (family 6, model 143, stepping 8)"})
    assert other != path and "/" not in other.name


# ---- load / save: what a cache file must match --------------------------------------------------

GOOD = {"ukr": 0, "kc": 384, "a_block_l2_div": 4}


def test_save_then_load_round_trips(cache_dir):
    path = tune.save(dict(GOOD))
    assert path.exists() and tune.load() == GOOD
    assert [p.name for p in cache_dir.iterdir()] == [path.name]  # no temporary file left behind


@pytest.mark.parametrize("content", [
    b"", b"{", b"not json at all", b"\xff\xfe\x00garbage", b"[]", b"null", b'{"format": 1}',
    json.dumps({"result": GOOD}).encode(),
])
def test_a_corrupt_cache_file_is_ignored(cache_dir, content):
    path = tune.cache_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert tune.load() is None


@pytest.mark.parametrize("field, value", [
    ("cpu", "Intel(R) Xeon(R) Platinum 8488C (family 6, model 143, stepping 8)"),
    ("isa", "avx2-not-this-one"),
    ("dlcore", "0.0.1"),
    ("format", 0),
    ("cache_sizes", {"l1d": 32768, "l2": 2097152, "l3": 67108864}),
    ("variants", ["avx512 16x32"]),
])
def test_a_stale_cache_file_is_ignored(cache_dir, field, value):
    key = tune.machine_key()
    tune.save(dict(GOOD), key={**key, field: value}, path=tune.cache_path(key))
    assert tune.load() is None


@pytest.mark.parametrize("result", [
    {**GOOD, "ukr": 99}, {**GOOD, "ukr": -1}, {**GOOD, "kc": 5}, {**GOOD, "kc": True}, {**GOOD, "kc": 512.0},
    {**GOOD, "a_block_l2_div": 0}, {"ukr": 0, "kc": 512}, "fast",
])
def test_a_cache_file_with_bad_values_is_ignored(cache_dir, result):
    tune.save(result)
    assert tune.load() is None


# ---- ensure(): what import does ------------------------------------------------------------------

def test_ensure_measures_once_then_reads_the_cache(cache_dir, quick_measure, restore_tuning):
    first = tune.ensure()
    assert first["source"] == "measured" and len(quick_measure) == 1
    assert tune.cache_path().exists()
    again = tune.ensure()
    assert again["source"] == "cache" and len(quick_measure) == 1
    assert (again["kernel"], again["kc"]) == (first["kernel"], first["kc"])


@pytest.mark.parametrize("content", [b"{\"format\": 1, \"cpu\": ", b"\x00" * 64, b"[1, 2, 3]"])
def test_ensure_rebuilds_a_corrupt_cache_file(cache_dir, quick_measure, restore_tuning, content):
    path = tune.cache_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert tune.ensure()["source"] == "measured"
    assert tune.load() is not None  # rewritten, valid
    assert len(quick_measure) == 1


def test_ensure_rebuilds_a_stale_cache_file(cache_dir, quick_measure, restore_tuning):
    key = tune.machine_key()
    tune.save(dict(GOOD), key={**key, "dlcore": "0.0.1"}, path=tune.cache_path(key))
    assert tune.ensure()["source"] == "measured"
    assert json.loads(tune.cache_path().read_text())["dlcore"] == dlcore.__version__


def test_ensure_warns_when_the_cache_cannot_be_written(tmp_path, monkeypatch, quick_measure, restore_tuning):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(blocker / "sub"))  # a folder below a file: unwritable
    monkeypatch.delenv("DLCORE_TUNE", raising=False)
    monkeypatch.delenv("DLCORE_CACHE_SIZES", raising=False)
    with pytest.warns(RuntimeWarning, match="could not write the tuning cache.*DLCORE_CACHE_DIR"):
        got = tune.ensure()
    assert got["source"] == "measured"


def test_ensure_applies_the_cached_choice(cache_dir, restore_tuning):
    isa = dlcore.cpu_isa()
    last = len(_C.gemm_variants(isa)) - 1
    tune.save({"ukr": last, "kc": 256, "a_block_l2_div": 4})
    got = tune.ensure()
    assert got["source"] == "cache" and got["kernel"] == _C.gemm_variants(isa)[last]
    assert _C.gemm_tuning()["kc"] == 256 and _C.gemm_tuning()["a_block_l2_div"] == 4


@pytest.mark.parametrize("env, source", [({"DLCORE_TUNE": "0"}, "DLCORE_TUNE=0"),
                                         ({"DLCORE_CACHE_SIZES": "l2=2M"}, "DLCORE_CACHE_SIZES")])
def test_ensure_uses_the_defaults_when_told(cache_dir, monkeypatch, quick_measure, restore_tuning, env, source):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert source in tune.ensure()["source"]
    assert quick_measure == [] and not cache_dir.exists()


def test_measure_reports_what_it_measured(restore_tuning):
    before = _C.gemm_tuning()
    r = tune.measure(budget_s=0.05)
    assert _C.gemm_tuning() == before  # measuring leaves the tuning in force alone
    names = _C.gemm_variants(dlcore.cpu_isa())
    assert r["kernel"] == names[r["ukr"]] and len(r["ukr_gflops"]) == len(names)
    assert r["peak_gflops_1t"] > 0 and r["gemm_gflops_1t"] > 0 and r["rounds"] >= 1
    assert r["kc"] in tune.KC_CHOICES and r["a_block_l2_div"] in tune.A_BLOCK_L2_DIVS


def run_module(args, cache, extra_env=None):
    env = {**os.environ, "DLCORE_CACHE_DIR": str(cache), **(extra_env or {})}
    env.pop("DLCORE_CACHE_SIZES", None)
    env.pop("DLCORE_TUNE", None)
    out = subprocess.run([sys.executable, "-m", "dlcore.tune", *args], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_python_m_dlcore_tune_measures_and_caches(tmp_path):
    cache = tmp_path / "c"
    out = run_module(["--budget", "0.2"], cache)
    assert "in use:" in out and "(measured)" in out and "microkernels alone" in out
    files = list(cache.iterdir())
    assert len(files) == 1 and files[0].suffix == ".json"
    shown = run_module(["--show"], cache)
    assert "(cache)" in shown and str(files[0]) in shown


def test_import_survives_a_corrupt_cache_file_and_rewrites_it(tmp_path):
    cache = tmp_path / "c"
    run_module(["--budget", "0.1"], cache)
    path = next(cache.iterdir())
    path.write_bytes(b"\x00garbage{")
    out = subprocess.run([sys.executable, "-c", "import dlcore.tune as t; print(t.current()['source'])"],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "DLCORE_CACHE_DIR": str(cache)})
    assert out.returncode == 0 and out.stdout.strip() == "measured", out.stderr
    assert json.loads(path.read_text())["result"]["kc"] in tune.KC_CHOICES


def test_the_tune_command_checks_its_budget(tmp_path):
    env = {**os.environ, "DLCORE_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "dlcore.tune", "--budget", "-1"], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 2 and "--budget must be positive" in out.stderr


# ---- every choice a tuning can make is correct ---------------------------------------------------

SHAPES = [(1, 300, 70), (3, 1030, 257), (8, 100, 513), (29, 64, 600), (67, 1024, 300), (301, 257, 1029),
          (700, 40, 90), (513, 515, 517)]


@pytest.mark.parametrize("kc, div", [(64, 1), (256, 4), (512, 2), (2048, 8)])
def test_every_microkernel_and_blocking_matches_the_reference(isa, kc, div, restore_tuning, rng):
    for v in range(len(_C.gemm_variants(isa))):
        _C.set_gemm_tuning({isa: v}, kc, div)
        for m, n, k in SHAPES:
            a = rng.standard_normal((m, k)).astype(np.float32)
            b = rng.standard_normal((k, n)).astype(np.float32)
            assert_close(dlcore.kernels.gemm(a, b), ref_gemm(a, b))
            bt = np.ascontiguousarray(b.T)
            assert_close(dlcore.kernels.gemm(a, bt, trans_b=True, bias=np.ones(n, np.float32)),
                         ref_gemm(a, b) + 1.0)


def test_every_microkernel_runs_the_convolution_and_lstm(restore_tuning, rng):
    from reference import conv2d_backward_filter, conv2d_forward, lstm_forward
    K = dlcore.kernels
    isa = dlcore.cpu_isa()
    x = rng.standard_normal((2, 9, 11, 20)).astype(np.float32)
    w = rng.standard_normal((3, 3, 20, 24)).astype(np.float32)
    xs = rng.standard_normal((3, 7, 13)).astype(np.float32)
    h0, c0 = np.zeros((3, 17), np.float32), np.zeros((3, 17), np.float32)
    kern = rng.standard_normal((13, 68)).astype(np.float32) * 0.3
    rec = rng.standard_normal((17, 68)).astype(np.float32) * 0.3
    bias = rng.standard_normal(68).astype(np.float32)
    for v in range(len(_C.gemm_variants(isa))):
        _C.set_gemm_tuning({isa: v}, 512, 2)
        y = K.conv2d_forward(x, w, strides=(1, 2), padding="same")
        assert_close(y, conv2d_forward(x, w, strides=(1, 2), pads=((1, 1), (1, 1))))
        dy = rng.standard_normal(y.shape).astype(np.float32)
        assert_close(K.conv2d_backward_filter(dy, x, w.shape, strides=(1, 2), padding="same"),
                     conv2d_backward_filter(dy, x, w.shape, strides=(1, 2), pads=((1, 1), (1, 1))))
        hs = K.lstm_forward(xs, h0, c0, kern, rec, bias)[0]
        assert_close(hs, lstm_forward(xs, h0, c0, kern, rec, bias)[0])


def test_set_gemm_tuning_checks_its_values(restore_tuning):
    with raises(ValueError, "kc", "[64, 2048]", "got 8"):
        _C.set_gemm_tuning({}, 8, 2)
    with raises(ValueError, "a_block_l2_div", "got 0"):
        _C.set_gemm_tuning({}, 512, 0)
    with raises(ValueError, "ukr_f32", "avx2", "got 7"):
        _C.set_gemm_tuning({"avx2": 7}, 512, 2)


# ---- DLCORE_CACHE_SIZES and the blocking under other machines' geometries ----------------------

def test_cache_sizes_from_env_parses_levels_and_units():
    parse = _system.cache_sizes_from_env
    assert parse({}) is None
    assert parse({"DLCORE_CACHE_SIZES": "l1d=48K,l2=2M,l3=64M"}) == GEOMETRIES["Intel Xeon"]
    assert parse({"DLCORE_CACHE_SIZES": " L2 = 1MiB "}) == {"l2": 1 << 20}
    assert parse({"DLCORE_CACHE_SIZES": "l3=33554432"}) == {"l3": 32 << 20}
    for bad in ("l2", "l4=1M", "l2=1X", "l2=-1M", "l2=1M,l2=2M", "l1d=1K", "l3=2G"):
        with raises(ValueError, "DLCORE_CACHE_SIZES", repr(bad).strip("'")):
            parse({"DLCORE_CACHE_SIZES": bad})


def test_dlcore_cache_sizes_sets_the_geometry_at_import():
    out = subprocess.run([sys.executable, "-c", "import dlcore; print(dlcore._C.cache_sizes()); "
                          "import dlcore.tune as t; print(t.current()['source'])"],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "DLCORE_CACHE_SIZES": "l1d=48K,l2=2M,l3=64M"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert eval(lines[0]) == GEOMETRIES["Intel Xeon"]
    assert "DLCORE_CACHE_SIZES" in lines[1]
    bad = subprocess.run([sys.executable, "-c", "import dlcore"], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "DLCORE_CACHE_SIZES": "l2=lots"})
    assert bad.returncode != 0 and "DLCORE_CACHE_SIZES" in bad.stderr


def sweep_families():
    """The cliff sweep's families (bench/gemm_sweep.py): squares around each power of two, then thin
    and model shapes, each a list of neighbours."""
    # (below 256 a call is a few microseconds, and the edge tiles' share of it is not what decides it)
    fams = [[(s, s, s) for s in (p - 16, p - 1, p, p + 1, p + 16)] for p in (256, 512, 1024, 2048, 4096)]
    # (the narrow-n family, n = 1..64, changes driver at n = 16: the dot kernels' cost is not the
    # tile model's, so only the timed sweep judges it)
    fams += [[(1, 1024, 1024), (1, 4096, 4096), (1, 4097, 4095)], [(m, 1024, 4096) for m in (1, 4, 16, 64)],
             [(1024, n, 1024) for n in (17, 33, 64)], [(1024, 1024, k) for k in (1, 4, 16, 64)],
             [(128, 512, 784), (128, 10, 512), (784, 512, 128)], [(64, 1024, 256), (6400, 1024, 128),
                                                                  (128, 1024, 6400)]]
    return fams


def modeled_efficiency(plan, m, n, k):
    """The share of a plan's microkernel work that is useful (edge tiles compute padding; a narrow
    last B panel runs the edge kernel, a last few columns the dot driver): a crude model, enough to see a plan that falls off a cliff
    between neighbouring sizes."""
    mr, nr, edge = plan["mr"], plan["nr"], plan["nr_edge"]
    if plan["driver"] == "rowvec":
        return 1.0
    n -= plan["edge_dot"]  # those columns run as dot products, no padding
    n_pad = n // nr * nr + (0 if n % nr == 0 else edge if n % nr <= edge else nr)
    useful = (m * n) / (math.ceil(m / mr) * mr * n_pad)
    if plan["driver"] == "dot":
        useful = m / (math.ceil(m / mr) * mr)
    return useful


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_no_plan_of_the_sweep_falls_off_a_cliff(geometry, restore_tuning):
    if dlcore.cpu_isa() == "generic":
        pytest.skip("the portable kernel is the reference path (no row-vector or edge kernels), not a fast one")
    _C.set_cache_sizes(**GEOMETRIES[geometry])
    l2 = GEOMETRIES[geometry]["l2"]
    for fam in sweep_families():
        plans = [_C.gemm_plan(m, n, k, max_threads=2) for m, n, k in fam]
        effs = []
        for (m, n, k), plan in zip(fam, plans):
            # balanced K blocks, never deeper than the tuned KC; an A block within L2
            assert plan["kc"] <= max(_C.gemm_tuning()["kc"], k) and plan["mc"] * plan["kc"] * 4 <= l2
            many_panels = m > 64 or (m > 2 * plan["mr"] and k * n * 4 > l2)
            if plan["driver"] == "b_in_place" and many_panels and (n * 4) % 64 == 0:
                # B read in place by more than 64 rows of A (more than 8 A panels), or a B larger than
                # L2 by more than two A panels: its row stride (4n bytes) must not fold a panel of kc
                # rows into too few L2 sets (counted with 8 ways, as gemm.cpp does)
                sets = l2 // 64 // 8
                rows_held = sets // math.gcd((n * 4 // 64) % sets, sets) * 8
                assert rows_held >= 2 * plan["kc"], (geometry, m, n, k, plan)
            if m <= 4:
                assert plan["driver"] == "rowvec" or (plan["driver"] == "dot" and n <= 16), (m, n, k, plan)
            effs.append(modeled_efficiency(plan, m, n, k))
        for i, e in enumerate(effs):
            for j in (i - 1, i + 1):
                if 0 <= j < len(effs):
                    assert e * 1.3 >= effs[j], (geometry, fam[i], plans[i], fam[j], plans[j])


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_gemm_is_correct_under_every_geometry(geometry, restore_tuning, rng):
    _C.set_cache_sizes(**GEOMETRIES[geometry])
    for m, n, k in [(255, 257, 256), (257, 255, 1025), (1, 1024, 1024), (64, 1024, 300), (1023, 33, 513),
                    (16, 1024, 600)]:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        assert_close(dlcore.kernels.gemm(a, b), ref_gemm(a, b))
