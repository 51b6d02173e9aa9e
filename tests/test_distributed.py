"""dlcore.distributed: data-parallel training on MPI.

In this process (no launcher, so a group of one): the API's contract on one process, the bucket
plan, the CPU data plane, sharding and the sampler, the optimizer wrapper, the launcher's command
line, the docstring examples, and a dlcore without mpi4py. Under `mpiexec -n 2/3/4` (scripts in
tests/distributed/, skipped where mpi4py or mpiexec is missing): collectives on every dtype,
N processes vs one (weights, bit-identical replicas), fit (sharding, validation, files, stopping),
and an exception on one rank ending the job. Each launch has a timeout and kills its whole
process group, so a hang fails the test instead of CI.
"""
import importlib.util
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pytest

import dlcore as dl
from dlcore.distributed import buckets, fit as dist_fit, run as launcher
from dlcore.distributed.host import HostPlane
from dlcore.distributed.sampler import shard_indices

D = dl.distributed
ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPTS = pathlib.Path(__file__).resolve().parent / "distributed"
LAUNCH_TIMEOUT = 120


# ---- launching ------------------------------------------------------------------------------------

def _mpiexec():
    try:
        return launcher.find_mpiexec()
    except FileNotFoundError:
        return None


def _have_mpi4py():
    try:
        return importlib.util.find_spec("mpi4py") is not None
    except (ImportError, ValueError):   # ValueError: blocked in sys.modules
        return False


needs_mpi = pytest.mark.skipif(not _have_mpi4py() or _mpiexec() is None,
                               reason="needs mpi4py and an mpiexec (pip install 'dlcore[distributed]' mpich)")


def _clean_env():
    env = {k: v for k, v in os.environ.items() if k not in D.world.LAUNCHER_ENV}
    env.update(PYTHONUNBUFFERED="1", OMP_WAIT_POLICY="PASSIVE")
    return env


def launch(cmd, timeout=LAUNCH_TIMEOUT):
    """Run `cmd` from an empty folder in its own process group; kill the whole group on timeout."""
    with tempfile.TemporaryDirectory() as cwd:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=_clean_env(), start_new_session=True)
        start = time.monotonic()
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            pytest.fail(f"{' '.join(map(str, cmd))} did not finish in {timeout} s:\n{out[-3000:]}\n{err[-3000:]}")
        return proc.returncode, out, err, time.monotonic() - start


def mpirun(n, script, *args):
    cmd = launcher.command(n, [str(script), *map(str, args)], _mpiexec())
    return launch(cmd)


def result(rc, out, err):
    """The JSON after rank 0's last `RESULT `: decoded up to its end, since the launcher may put another
    rank's output right after it on the same line."""
    at = out.rfind("RESULT {")
    assert rc == 0 and at >= 0, f"rc={rc}\n{out[-4000:]}\n{err[-4000:]}"
    return json.JSONDecoder().raw_decode(out, at + len("RESULT "))[0]


def run_python(code, env_extra=None):
    env = _clean_env()
    env.update(env_extra or {})
    with tempfile.TemporaryDirectory() as cwd:
        return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, env=env,
                              timeout=LAUNCH_TIMEOUT)


# ---- one process: no MPI initialized, everything an identity ------------------------------------------

def test_import_never_initializes_mpi():
    proc = run_python("import sys, numpy as np, dlcore as dl\n"
                      "before = 'mpi4py.MPI' in sys.modules\n"
                      "dl.distributed.init()\n"
                      "x = dl.distributed.allreduce(np.ones(3))\n"
                      "print(before, 'mpi4py.MPI' in sys.modules, dl.distributed.size(), dl.distributed.rank())")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False", "1", "0"]


def test_everything_works_without_mpi4py():
    code = """
import sys, warnings
sys.modules['mpi4py'] = None     # as if mpi4py were not installed
import numpy as np, dlcore as dl
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    dl.distributed.init()
D = dl.distributed
assert (D.size(), D.rank(), D.local_rank(), D.local_size()) == (1, 0, 0, 1)
assert D.allgather_object(3) == [3] and D.broadcast_object(4) == 4 and D.allreduce_object(5) == 5
x = np.arange(6.0).reshape(2, 3)
assert np.array_equal(D.allreduce(x), x) and np.array_equal(D.allgather(x), x) and np.array_equal(D.broadcast(x), x)
D.barrier()
model = dl.Sequential([dl.layers.Dense(2, input_shape=(3,))])
model.compile(optimizer=D.DistributedOptimizer(dl.optimizers.SGD(learning_rate=0.1)), loss='mse')
h = model.fit(np.ones((8, 3), np.float32), np.zeros((8, 2), np.float32), batch_size=4, epochs=2,
              validation_split=0.25, verbose=0)
assert len(h.history['val_loss']) == 2
print('ok', [str(w.message) for w in caught])
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok []")
    # started by a launcher as one of several processes, but without mpi4py: said loudly, then alone
    proc = run_python(code, {"PMI_SIZE": "2", "PMI_RANK": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "mpi4py is not installed: each process trains alone" in proc.stdout


def test_collectives_of_one_process():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    for op in ("average", "sum", "min", "max", "prod"):
        got = D.allreduce(x, op=op)
        assert got is not x and np.array_equal(got, x) and got.dtype == x.dtype
    t = D.allreduce(dl.tensor(x))
    assert isinstance(t, dl.Tensor) and np.array_equal(t.numpy(), x)
    assert np.array_equal(D.broadcast(x, root=0), x)
    assert np.array_equal(D.allgather(x), x)
    assert np.array_equal(D.allreduce(np.array([True, False]), op="sum"), [True, False])
    assert D.allreduce(np.zeros((0, 3))).shape == (0, 3)
    assert D.allreduce(np.float32(2.5)).shape == ()


@pytest.mark.parametrize("call, error, words", [
    (lambda: D.allreduce(np.arange(3), op="average"), TypeError, ["op='average'", "int64"]),
    (lambda: D.allreduce(np.ones(3), op="mean"), ValueError, ["op must be one of", "'mean'"]),
    (lambda: D.allreduce(np.ones(2, np.complex64), op="max"), TypeError, ["complex"]),
    (lambda: D.allreduce(np.array(["a"])), TypeError, ["dtype <U1", "allreduce_object"]),
    (lambda: D.allreduce(np.array([object()])), TypeError, ["dtype object"]),
    (lambda: D.broadcast(np.ones(2), root=1), ValueError, ["root must be a rank in [0, 1)", "1"]),
    (lambda: D.broadcast(np.ones(2), root=True), ValueError, ["root"]),
    (lambda: D.allgather(np.float32(1)), ValueError, ["at least one dimension", "0-d"]),
    (lambda: D.allreduce_object(1, op="avg"), ValueError, ["op must be one of"]),
    (lambda: D.broadcast_object(1, root=-1), ValueError, ["root"]),
    (lambda: D.init(num_threads=0), ValueError, ["num_threads", "0"]),
])
def test_bad_arguments_are_named(call, error, words):
    with pytest.raises(error) as e:
        call()
    for w in words:
        assert w in str(e.value)


def test_init_twice_and_shutdown():
    D.init()
    D.init()
    assert D.is_initialized()
    D.shutdown()
    assert not D.is_initialized()
    assert D.size() == 1 and D.is_initialized()   # the next call joins again


# ---- the bucket plan and the CPU plane --------------------------------------------------------------

def _entries(shapes, dtype=np.float32, device="host"):
    return [buckets.Entry(i, s, np.dtype(dtype), device) for i, s in enumerate(shapes)]


def test_buckets_fill_in_reverse_order_up_to_the_cap():
    shapes = [(10,), (20,), (30,), (5,), (100,), (1,)]
    plan = buckets.plan(_entries(shapes), cap_bytes=40 * 4)
    keys = [[s.key for s in b.slots] for b in plan]
    assert keys == [[5], [4], [3, 2], [1, 0]]   # 1+100 > 40: the big one alone; 5+30 and 20+10 <= 40 together
    for b in plan:
        assert b.nbytes <= 40 * 4 or len(b.slots) == 1
        assert [s.offset for s in b.slots] == list(np.cumsum([0] + [s.size for s in b.slots[:-1]]))
        assert b.size == sum(s.size for s in b.slots)
    assert sorted(s.key for b in plan for s in b.slots) == list(range(len(shapes)))


def test_a_large_array_gets_a_bucket_of_its_own():
    shapes = [(10,), (50,), (5,), (64,), (3,)]
    plan = buckets.plan(_entries(shapes), cap_bytes=100 * 4, solo_bytes=50 * 4)
    assert [[s.key for s in b.slots] for b in plan] == [[4, 2, 0], [3], [1]]   # 50 and 64 alone, the rest together
    assert buckets.SOLO_BYTES == 4 << 20 and buckets.DEFAULT_CAP_BYTES > buckets.SOLO_BYTES
    [solo] = [b for b in buckets.plan(_entries([(3,), (buckets.SOLO_BYTES // 4,), (2,)])) if len(b.slots) == 1]
    assert solo.slots[0].key == 1 and solo.nbytes == buckets.SOLO_BYTES


def test_host_plane_average_into_on_one_process():
    plane = HostPlane(D.world.World())
    src = np.arange(7, dtype=np.float64)
    buf = np.empty(7)
    assert plane.average_into(src, buf, 0.25) is buf and np.array_equal(buf, src * 0.25)
    assert np.array_equal(plane.average_into(src, buf), src)


def test_buckets_keep_dtypes_devices_and_groups_apart():
    entries = [buckets.Entry(0, (3,), np.dtype("float32")), buckets.Entry(1, (3,), np.dtype("float64")),
               buckets.Entry(2, (3,), np.dtype("float32"), "device"), buckets.Entry(3, (3,), np.dtype("float32")),
               buckets.Entry(4, (2,), np.dtype("float32"), group="buffer")]
    plan = buckets.plan(entries)
    kinds = [(b.dtype.name, b.device, b.group, [s.key for s in b.slots]) for b in plan]
    assert kinds == [("float32", "host", "buffer", [4]), ("float32", "host", "grad", [3, 0]),
                     ("float32", "device", "grad", [2]), ("float64", "host", "grad", [1])]
    assert buckets.plan([]) == []
    with pytest.raises(ValueError, match="cap_bytes"):
        buckets.plan(entries, cap_bytes=0)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="solo_bytes"):
            buckets.plan(entries, solo_bytes=bad)


def test_buckets_are_the_same_for_the_same_entries():
    entries = _entries([(3, 4), (7,), (0,), (2, 2, 2)])
    assert buckets.plan(entries, 64) == buckets.plan(list(entries), 64)
    assert buckets.digest("abc") == buckets.digest("abc") != buckets.digest("abd")


def test_host_plane_packs_scales_views_and_unpacks():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (5,), (0, 2), (2, 3)]]
    arrays[0] = np.asfortranarray(arrays[0])   # not C-contiguous: packed all the same
    arrays[3] = arrays[3][:, ::-1]
    [bucket] = buckets.plan(_entries([a.shape for a in arrays]))
    plane = HostPlane(D.world.World())
    buf = plane.pack([arrays[s.key] for s in bucket.slots], bucket, scale=0.5)
    assert buf.dtype == np.float32 and buf.shape == (bucket.size,)
    for s, v in zip(bucket.slots, plane.views(buf, bucket)):
        assert np.array_equal(v, arrays[s.key] * np.float32(0.5)) and (v.size == 0 or np.shares_memory(v, buf))
    targets = [np.zeros(s.shape, np.float32) for s in bucket.slots]
    plane.unpack(buf, bucket, targets)
    for s, t in zip(bucket.slots, targets):
        assert np.array_equal(t, arrays[s.key] * np.float32(0.5))
    half = [np.ones(3, np.float16)]
    [hb] = buckets.plan(_entries([(3,)], np.float16))
    assert plane.pack(half, hb, scale=1 / 3).dtype == np.float16


# ---- sharding ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("n, replicas", [(0, 2), (1, 4), (7, 2), (10, 3), (103, 4), (16, 4)])
def test_shards_cover_the_data_with_equal_lengths(n, replicas):
    for shuffle in (True, False):
        shards = [shard_indices(n, replicas, r, shuffle, seed=5, epoch=2) for r in range(replicas)]
        assert len({len(s) for s in shards}) == 1 and len(shards[0]) == -(-n // replicas)
        assert set(np.concatenate(shards).tolist()) == set(range(n))
        dropped = [shard_indices(n, replicas, r, shuffle, seed=5, epoch=2, drop_last=True) for r in range(replicas)]
        assert all(len(s) == n // replicas for s in dropped)
        assert len(set(np.concatenate(dropped).tolist())) == n // replicas * replicas


def test_shards_follow_seed_and_epoch_and_interleave_like_one_process():
    a = shard_indices(40, 2, 0, True, seed=1, epoch=0)
    assert np.array_equal(a, shard_indices(40, 2, 0, True, seed=1, epoch=0))
    assert not np.array_equal(a, shard_indices(40, 2, 0, True, seed=1, epoch=1))
    assert not np.array_equal(a, shard_indices(40, 2, 0, True, seed=2, epoch=0))
    # rank r's batch b of 5 and the other ranks' batch b make one process's batch b of 20 (same permutation)
    one = shard_indices(40, 1, 0, True, seed=1, epoch=3)
    parts = [shard_indices(40, 4, r, True, seed=1, epoch=3) for r in range(4)]
    for b in range(2):
        together = np.concatenate([p[b * 5:(b + 1) * 5] for p in parts])
        assert set(together.tolist()) == set(one[b * 20:(b + 1) * 20].tolist())


def test_distributed_sampler_with_a_data_loader():
    x = np.arange(22, dtype=np.float32)[:, None]
    ds = dl.data.TensorDataset(x, x)
    samplers = [D.DistributedSampler(ds, num_replicas=3, rank=r, seed=4) for r in range(3)]
    seen = []
    for s in samplers:
        s.set_epoch(1)
        loader = dl.data.DataLoader(ds, batch_size=4, sampler=s)
        assert len(s) == 8 and len(loader) == 2
        seen += [int(v) for xb, _ in loader for v in xb[:, 0]]
    assert set(seen) == set(range(22)) and len(seen) == 24
    assert list(samplers[0]) != list(D.DistributedSampler(ds, num_replicas=3, rank=0, seed=4))  # epoch 0 differs
    assert "rank=0/3" in repr(samplers[0])
    with pytest.raises(ValueError, match="rank must be in"):
        D.DistributedSampler(ds, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas"):
        D.DistributedSampler(ds, num_replicas=0)
    with pytest.raises(TypeError, match="must have a length"):
        D.DistributedSampler(iter([1, 2]))
    with pytest.raises(ValueError, match="sampler.*shuffle=True, not both"):
        dl.data.DataLoader(ds, shuffle=True, sampler=samplers[0])


def test_sharded_epoch_iterator_gives_each_rank_its_part():
    x = np.arange(23, dtype=np.float32)[:, None]
    y = np.arange(23)
    its = [dist_fit.ShardedEpochIterator(x, y, None, 4, None, True, None, 3, r, seed=9) for r in range(3)]
    assert {it.num_batches for it in its} == {2}    # ceil(ceil(23 / 3) / 4)
    for epoch in (0, 1):
        ids = []
        for it in its:
            it.epoch = epoch
            for xb, yb, swb in it:
                assert np.array_equal(xb[:, 0], yb) and swb is None
                ids += yb.tolist()
        assert set(ids) == set(range(23)) and len(ids) == 24
    it = dist_fit.ShardedEpochIterator(x, y, None, 4, 1, False, {0: 3.0}, 2, 1, seed=0)
    [(xb, yb, swb)] = list(it)
    assert yb.tolist() == [1, 3, 5, 7] and swb.tolist() == [1.0] * 4
    with pytest.raises(ValueError, match="x has 23 samples but y has 22"):
        dist_fit.ShardedEpochIterator(x, y[:22], None, 4, None, True, None, 2, 0, seed=0)


def test_metric_state_is_what_reset_state_assigns():
    assert dist_fit.metric_state(dl.metrics.BinaryAccuracy()) == ["total", "count"]
    assert dist_fit.metric_state(dl.metrics.Precision()) == ["tp", "fp", "tn", "fn"]
    assert dist_fit.metric_state(dl.metrics.get("accuracy")) == ["total", "count"]


# ---- the optimizer wrapper on one process -----------------------------------------------------------

def _model(seed=0):
    dl.manual_seed(seed)
    return dl.Sequential([dl.layers.Dense(6, activation="tanh", input_shape=(4,)), dl.layers.Dense(2)])


@pytest.mark.parametrize("make", [lambda p: dl.optimizers.SGD(p, lr=0.1, momentum=0.9),
                                  lambda p: dl.optimizers.Adam(p, learning_rate=0.01, global_clipnorm=0.1)])
def test_one_process_distributed_optimizer_is_the_optimizer(make):
    rng = np.random.default_rng(0)
    data = [(rng.standard_normal((8, 4)).astype(np.float32), rng.standard_normal((8, 2)).astype(np.float32))
            for _ in range(4)]
    models = [_model(), _model()]
    opts = [make(models[0].parameters()), D.DistributedOptimizer(make(models[1].parameters()))]
    for m, opt in zip(models, opts):
        for x, y in data:
            opt.zero_grad()
            dl.functional.mse(dl.tensor(y), m(dl.tensor(x))).backward()
            opt.step()
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        assert np.array_equal(a, b)
    assert isinstance(opts[1], type(opts[0])) and D.is_distributed(opts[1]) and not D.is_distributed(opts[0])
    assert repr(opts[1]).startswith("DistributedOptimizer(") and opts[1].wrapped_class is type(opts[0])


def test_distributed_optimizer_shares_the_wrapped_state():
    m = _model()
    inner = dl.optimizers.Adam(m.parameters(), lr=0.01)
    opt = D.DistributedOptimizer(inner)
    assert opt.params is inner.params and opt.state is inner.state
    opt.iterations = 5
    assert inner.iterations == 5
    opt.learning_rate = 0.5
    assert inner.learning_rate == 0.5


@pytest.mark.parametrize("kwargs, error, words", [
    ({"optimizer": 3}, TypeError, ["dlcore Optimizer", "int"]),
    ({"optimizer": "adam", "op": "mean"}, ValueError, ["op must be 'average' or 'sum'", "'mean'"]),
    ({"optimizer": "adam", "bucket_cap_mb": 0}, ValueError, ["bucket_cap_mb", "0"]),
    ({"optimizer": "adam", "buffers": [np.zeros(3)]}, TypeError, ["buffers[0]", "ndarray"]),
    ({"optimizer": "adam", "buffers": [dl.tensor(np.zeros(3, np.int32))]}, TypeError, ["int32"]),
    ({"optimizer": "adam", "shared_memory": "yes"}, TypeError, ["shared_memory must be True or False", "'yes'"]),
    ({"optimizer": "adam", "compression": "fp16"}, ValueError, ["compression='fp16' is not available"]),
    ({"optimizer": "adam", "backward_passes_per_step": 2}, ValueError, ["backward_passes_per_step=2", "backward()"]),
    ({"optimizer": "adam", "gradient_predivide_factor": 2.0}, ValueError, ["gradient_predivide_factor=2.0"]),
    ({"optimizer": "adam", "named_parameters": [3]}, TypeError, ["named_parameters", "(name, parameter) pairs"]),
])
def test_distributed_optimizer_bad_arguments(kwargs, error, words):
    with pytest.raises(error) as e:
        D.DistributedOptimizer(**kwargs)
    for w in words:
        assert w in str(e.value)
    with pytest.raises(ValueError, match="already distributed"):
        D.DistributedOptimizer(D.DistributedOptimizer("sgd"))


def test_a_model_compiled_with_it_saves_and_loads_as_the_plain_optimizer(tmp_path):
    model = _model()
    model.compile(optimizer=D.DistributedOptimizer(dl.optimizers.Adam(learning_rate=0.01)), loss="mse")
    x, y = np.ones((8, 4), np.float32), np.zeros((8, 2), np.float32)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    model.train_on_batch(x, y)
    model.save(tmp_path / "m.dlc")
    loaded = dl.models.load_model(tmp_path / "m.dlc")
    assert type(loaded.optimizer) is dl.optimizers.Adam and loaded.optimizer.iterations == model.optimizer.iterations
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert np.array_equal(a, b)


def test_fit_with_a_plain_optimizer_uses_no_hooks():
    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    assert dist_fit.session(model, None) is dist_fit.LOCAL
    model.compile(optimizer=D.DistributedOptimizer("sgd"), loss="mse")
    assert dist_fit.session(model, np.ones((2, 4), np.float32)).distributed


def test_broadcasts_of_one_process_leave_things_as_they_are():
    m = _model()
    before = m.get_weights()
    D.broadcast_parameters(m.state_dict())
    D.broadcast_parameters(m)
    D.broadcast_parameters(m.parameters())
    opt = dl.optimizers.Adam(m.parameters())
    D.broadcast_optimizer_state(opt)
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    with pytest.raises(TypeError, match="broadcast_optimizer_state: expected a dlcore Optimizer"):
        D.broadcast_optimizer_state(object())
    with pytest.raises(TypeError, match="'w' is a str"):
        D.broadcast_parameters({"w": "not an array"})


def test_learning_rate_warmup_ramps_from_lr_over_size(monkeypatch):
    from dlcore.distributed import callbacks as dcb

    class FourRanks:
        size, rank = 4, 0
    monkeypatch.setattr(dcb, "world", lambda: FourRanks())
    cb = dcb.LearningRateWarmup(warmup_epochs=2, initial_learning_rate=0.4, steps_per_epoch=10)
    cb.target, cb.steps = 0.4, 10
    assert cb.learning_rate(0, 0) == pytest.approx(0.1)             # lr / size at the start
    assert cb.learning_rate(1, 0) == pytest.approx(0.1 * (1 + 1 * 3 / 2))
    assert cb.learning_rate(2, 0) == 0.4 and cb.learning_rate(5, 3) == 0.4
    for bad in ({"warmup_epochs": 0}, {"initial_learning_rate": -1}, {"steps_per_epoch": 0}):
        with pytest.raises(ValueError, match="LearningRateWarmup"):
            dcb.LearningRateWarmup(**bad)
    with pytest.raises(ValueError, match="every_n_batches"):
        dcb.AverageBatchNormStatistics(every_n_batches=0)
    with pytest.raises(ValueError, match="root"):
        dcb.BroadcastWeights(root=-1)


def test_learning_rate_warmup_momentum_correction(monkeypatch):
    """With momentum_correction (Horovod's default), a Keras-style SGD momentum, which holds lr times the
    gradients, is scaled by lr' / lr when the warmup changes the rate; PyTorch-style and off: untouched."""
    from dlcore.distributed import callbacks as dcb

    class FourRanks:
        size, rank = 4, 0
    monkeypatch.setattr(dcb, "world", lambda: FourRanks())

    def momentum_around_warmup(opt, cb, key):
        model = dl.Sequential([dl.layers.Dense(1, input_shape=(2,))])
        model.compile(optimizer=opt, loss="mse")
        x, y = np.ones((8, 2), np.float32), np.ones((8, 1), np.float32)
        model.train_on_batch(x, y)                  # builds the momentum at the compiled lr
        before = opt.state[0][key].copy()
        cb.set_model(model)
        cb.params = {"steps": 10}
        cb.on_train_begin()
        cb.on_epoch_begin(0)
        cb.on_train_batch_begin(0)                  # the rate drops from 0.4 to 0.1
        return before, opt.state[0][key]

    cb = dcb.LearningRateWarmupCallback(initial_lr=0.4, warmup_epochs=2)
    before, after = momentum_around_warmup(dl.optimizers.SGD(learning_rate=0.4, momentum=0.9), cb, "momentum")
    assert np.any(before != 0) and np.allclose(after, before * 0.25, rtol=1e-6)
    cb = dcb.LearningRateWarmup(warmup_epochs=2, initial_learning_rate=0.4)           # off by default
    before, after = momentum_around_warmup(dl.optimizers.SGD(learning_rate=0.4, momentum=0.9), cb, "momentum")
    assert np.array_equal(after, before)
    with pytest.raises(TypeError, match="momentum_correction"):
        dcb.LearningRateWarmup(momentum_correction="yes")
    for cls in (dcb.BroadcastGlobalVariablesCallback, dcb.MetricAverageCallback):
        with pytest.raises(ValueError, match="TensorFlow placement"):
            cls(device="/gpu:0")


def test_horovod_names_on_one_process():
    """Code written for Horovod (`import dlcore.distributed as hvd`): its keywords and constants."""
    x = np.arange(3.0)
    assert np.array_equal(D.allreduce(x, op=D.Sum), x) and np.array_equal(D.allreduce(x, average=False), x)
    assert np.array_equal(D.allreduce(x, op=D.Max, name="m"), x) and D.Average == "average"
    assert np.array_equal(D.broadcast(x, root_rank=0, name="b"), x) and D.broadcast_object(5, root_rank=0) == 5
    with pytest.raises(ValueError, match="root=1 and root_rank=0 disagree"):
        D.broadcast(x, root=1, root_rank=0)
    with pytest.raises(ValueError, match="not both"):
        D.allreduce(x, op="sum", average=True)
    model = dl.Sequential([dl.layers.Dense(2, input_shape=(3,))])
    opt = D.DistributedOptimizer(dl.optimizers.SGD(model.parameters(), lr=0.1), named_parameters=model.named_parameters(),
                                 compression=D.Compression.none, sparse_as_dense=True)
    D.broadcast_parameters(model.state_dict(), root_rank=0)
    D.broadcast_optimizer_state(opt, root_rank=0)
    names = opt._distributed_names
    assert sorted(names.values()) == sorted(n for n, _ in model.named_parameters())


# ---- the launcher --------------------------------------------------------------------------------------

def test_launcher_adds_what_open_mpi_needs():
    base = ["/x/mpiexec", "-n", "4"]
    tail = [sys.executable, "-m", "mpi4py", "train.py", "--epochs", "2"]
    target = ["train.py", "--epochs", "2"]
    assert launcher.command(4, target, "/x/mpiexec", ("mpich", 0), as_root=True, cores=2) == base + tail
    assert (launcher.command(4, target, "/x/mpiexec", ("openmpi", 4), as_root=True, cores=2)
            == base + ["--allow-run-as-root", "--oversubscribe"] + tail)
    assert (launcher.command(4, target, "/x/mpiexec", ("openmpi", 5), as_root=False, cores=2)
            == base + ["--map-by", ":OVERSUBSCRIBE"] + tail)
    assert launcher.command(2, target, "/x/mpiexec", ("openmpi", 5), as_root=False, cores=8) == \
        ["/x/mpiexec", "-n", "2"] + tail


@needs_mpi
def test_launcher_dry_run_and_errors(capsys):
    assert launcher.main(["-n", "2", "--dry-run", "train.py", "--lr", "0.1"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed[1:3] == ["-n", "2"] and printed[-4:] == ["mpi4py", "train.py", "--lr", "0.1"]
    assert launcher.main(["-n", "2", "--dry-run", "-m", "pkg.train", "--lr", "0.1"]) == 0
    assert capsys.readouterr().out.split()[-5:] == ["mpi4py", "-m", "pkg.train", "--lr", "0.1"]
    for bad in (["-n", "0", "train.py"], ["-n", "2"], ["-n", "2", "-m"], ["train.py"]):
        with pytest.raises(SystemExit):
            launcher.main(bad)
    with pytest.raises(FileNotFoundError, match="--mpiexec"):
        launcher.find_mpiexec("/no/such/mpiexec")


# ---- the docstring examples ----------------------------------------------------------------------------

def _public_objects():
    from dlcore.distributed import callbacks as dcb
    names = [getattr(D, n) for n in D.__all__ if n != "callbacks" and not isinstance(getattr(D, n), str)]
    from dlcore.distributed.optimizer import _Distributed
    return names + [getattr(dcb, n) for n in dcb.__all__] + [_Distributed.skip_synchronize]


@pytest.mark.parametrize("obj", _public_objects(), ids=lambda o: o.__name__)
def test_docstring_example_runs(obj):
    doc = obj.__doc__ or ""
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert "Example:" in doc and len(blocks) == 1, f"{obj.__name__} needs one ```python example"
    code = textwrap.dedent(blocks[0])
    exec(compile(code, f"<{obj.__name__} example>", "exec"), {})


# ---- several processes -------------------------------------------------------------------------------

@needs_mpi
def test_collectives_on_every_dtype_with_3_processes():
    res = result(*mpirun(3, SCRIPTS / "mpi_collectives.py")[:3])
    assert res["size"] == 3 and res["failures_by_rank"] == [0, 0, 0], res["failures"]
    assert not res["imported_mpi_early"]
    assert sorted(res["local"]) == [[0, 3], [1, 3], [2, 3]]
    if not res["omp_env"]:   # three ranks share this machine's cores
        assert res["threads"] == max(1, len(os.sched_getaffinity(0)) // 3)


@needs_mpi
def test_collectives_with_2_processes_through_the_launcher():
    rc, out, err, _ = launch([sys.executable, "-m", "dlcore.distributed.run", "-n", "2",
                              str(SCRIPTS / "mpi_collectives.py"), "--set-threads"])
    res = result(rc, out, err)
    assert res["size"] == 2 and res["failures_by_rank"] == [0, 0], res["failures"]
    assert res["threads"] == 3   # chosen by the program before init(): kept


@needs_mpi
@pytest.mark.parametrize("n", [2, 4])
def test_n_processes_train_like_one(n):
    res = result(*mpirun(n, SCRIPTS / "mpi_equivalence.py")[:3])
    r = res["results"]
    for case in ("sgd_momentum", "adam_global_clipnorm", "adam_clipnorm", "branch_rmsprop", "apply_gradients_adamw",
                 "wide_adam_accumulate", "packed_pieces", "sgd_momentum_mpi", "wide_adam_accumulate_mpi", "synchronize_clip_grad_norm",
                 "zero_grad_in_place") + (("two_machines",) if n == 4 else ()):
        assert r[case]["max_rel_err"] <= res["tol"], (case, r[case])
        assert r[case]["moved"] > 1e-3 and r[case]["identical"], (case, r[case])
        # summed through the machine's shared memory, `.grad` is a read-only view of the average (except
        # with apply_gradients, which leaves .grad alone, and where clip_grad_norm_ scaled it into copies)
        writable = case.endswith("_mpi") or case in ("apply_gradients_adamw", "synchronize_clip_grad_norm")
        assert r[case]["read_only"] is (not writable), (case, r[case])
    if n == 4:   # as two machines of two: shared memory, then MPI between the machines
        assert r["two_machines_cross"] and r["kept_after_shutdown"] > 0
    assert r["local_clip_error"] > 1e3 * res["tol"]          # the negative control is far off
    assert "parameter 4 'kernel': a gradient on rank(s) [0], none on rank(s)" in r["mismatch"]
    assert r["mismatch_all_raised"] == 1
    assert "parameter 4 'b.kernel': a gradient on rank(s) [0], none on rank(s)" in r["mismatch_named"]
    assert r["skip_synchronize_local"] and r["step_after_skip_averages"]
    assert r["same_name"] == n
    assert r["name_mismatch"].startswith("dlcore.distributed.allreduce: the processes disagree")
    assert r["object_name_mismatch"].startswith("dlcore.distributed.broadcast_object: the processes disagree")
    assert "rank 1: shape (5, 3)" in r["model_mismatch"]
    assert r["optimizer_state_identical"] and r["bn_buffers_identical"]


@needs_mpi
@pytest.mark.parametrize("n", [2, 4])
def test_fit_on_n_processes(n, tmp_path):
    rc, out, err, _ = mpirun(n, SCRIPTS / "mpi_fit.py", tmp_path)
    res = result(rc, out, err)["res"]
    assert all(c["covers"] and c["no_validation"] for c in res["coverage"]), res["coverage"]
    per_rank = -(-83 // n)
    assert res["steps"] == [[-(-per_rank // 5)] * 3] * n
    hist, full = res["val"]["history"], res["val"]["evaluate"]
    assert hist[1] == full[1] and abs(hist[0] - full[0]) <= 1e-6 * abs(full[0])
    hist, full = res["weighted_val"]["history"], res["weighted_val"]["evaluate"]
    assert hist[1] == pytest.approx(full[1], rel=1e-12) and abs(hist[0] - full[0]) <= 1e-6 * abs(full[0])
    # evaluate(verbose="auto") on every rank: with a DistributedOptimizer its bar prints on rank 0 only
    # (its final line: where the MPI gives the ranks a terminal, as Open MPI does, an ETA line comes first)
    assert out.count(f"/step - loss: {full[0]:.4f} - accuracy: {full[1]:.4f}") == 1, out[-3000:]
    assert res["history_same"] and res["weights_same"]
    assert res["files"][0] == ["ckpt-1.weights.safetensors", "ckpt-2.weights.safetensors",
                               "ckpt-3.weights.safetensors", "log.csv"]
    assert all(f == [] for f in res["files"][1:])
    assert out.count("Epoch 1/3") == 1 and out.count("Epoch 3/3") == 1   # progress from rank 0 only
    steps = -(-(-(-80 // n)) // 4)
    assert res["callback_on_one_rank"] == [[2, 2 * steps]] * n
    assert res["interrupt_on_one_rank"] == [[0, 4]] * n
    assert len({tuple(v) for v in res["terminate_on_nan"]}) == 1 and res["terminate_on_nan"][0][1] < steps
    assert res["early_stopping"] == [[2, 2 * steps]] * n
    assert res["equivalence"] <= 1e-6
    assert res["loader"]["steps"] == [[-(-(-(-50 // n)) // 4)] * 2] * n
    assert res["loader"]["epoch_set"] == 1 and res["loader"]["weights_same"]
    loss, acc, full_loss, full_acc = res["loader"]["val"]   # a validation loader on every rank: combined alike
    assert acc == full_acc and abs(loss - full_loss) <= 1e-6 * abs(full_loss)
    assert "6 batches on rank 0, 5 batches on rank 1" in res["unequal_loaders"]
    assert "give steps_per_epoch=" in res["generator_without_steps"] and res["errors_everywhere"] == 1


@needs_mpi
@pytest.mark.parametrize("through_mpi4py", [True, False], ids=["python -m mpi4py", "plain python"])
def test_an_exception_on_one_rank_ends_the_job(through_mpi4py):
    script = str(SCRIPTS / "mpi_abort.py")
    cmd = launcher.command(2, [script], _mpiexec())
    if not through_mpi4py:
        cmd = [c for c in cmd if c not in ("-m", "mpi4py")]
    rc, out, err, seconds = launch(cmd, timeout=60)
    assert rc != 0 and "UNREACHABLE" not in out
    assert "boom on the last rank" in err
    assert seconds < 30


@needs_mpi
@pytest.mark.slow
def test_the_example_prints_the_same_accuracy_on_1_2_and_4_processes():
    lines = []
    for n in (1, 2, 4):
        rc, out, err, _ = mpirun(n, ROOT / "examples" / "distributed_digits.py")
        found = [line for line in out.splitlines() if line.startswith("RESULT ")]
        assert rc == 0 and found and found[-1].endswith(": met"), out[-3000:] + err[-3000:]
        lines.append(re.sub(r"processes=\d+ ", "", found[-1]))
    assert lines[0] == lines[1] == lines[2], lines


# ---- the GPU plane (CuPy; skipped without a GPU) ------------------------------------------------------

def _cupy():
    try:
        import cupy
        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:
        return None


@pytest.mark.cuda
@pytest.mark.skipif(_cupy() is None, reason="needs CuPy and a CUDA GPU")
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "complex64", "bool"])
def test_device_plane_pack_unpack_kernels(dtype):
    cp = _cupy()
    from dlcore.distributed.device import DevicePlane
    world = D.world.World()
    plane = DevicePlane(world, HostPlane(world), cp)
    rng = np.random.default_rng(0)
    host = [(rng.standard_normal(s) * 4).astype(dtype) for s in [(3, 5), (0,), (1,), (1000, 3), (7,)]]
    dev = [cp.asarray(a) for a in host]
    [bucket] = buckets.plan(_entries([a.shape for a in host], dtype, "device"))
    scale = 0.5 if np.dtype(dtype).kind in "fc" else 1.0
    buf = plane.pack([dev[s.key] for s in bucket.slots], bucket, scale)
    want = HostPlane(world).pack([host[s.key] for s in bucket.slots], bucket, scale)
    assert np.array_equal(cp.asnumpy(buf), want)
    targets = [cp.zeros(s.shape, dtype) for s in bucket.slots]
    plane.unpack(buf, bucket, targets)
    for s, t in zip(bucket.slots, targets):
        assert np.array_equal(cp.asnumpy(t), want[s.offset:s.offset + s.size].reshape(s.shape))
    assert plane.transport == "staged"   # a group of one never opens NCCL
    plane.close()


@pytest.mark.cuda
@pytest.mark.skipif(_cupy() is None, reason="needs CuPy and a CUDA GPU")
def test_collectives_of_one_process_on_the_gpu():
    cp = _cupy()
    x = cp.arange(6, dtype=cp.float32).reshape(2, 3)
    for f in (D.allreduce, D.broadcast, D.allgather):
        got = f(x)
        assert isinstance(got, cp.ndarray) and bool((got == x).all())
