"""DataLoader with worker processes (fork and spawn), samplers and collation.

Spawned workers import dlcore afresh (about a second each on a small machine), so the spawn tests
share loaders with persistent workers where they can.
"""
import gc
import multiprocessing
import os

import numpy as np
import pytest

import dlcore as dl
import dlcore.kernels as K
from dlcore import data
import loader_helpers as H

def _epochs(loader, n=2):
    return [[tuple(np.array(a) for a in b) if isinstance(b, tuple) else np.array(b) for b in loader] for _ in range(n)]


def _same(a, b):
    return len(a) == len(b) and all(
        len(x) == len(y) and all(np.array_equal(p, q) for p, q in zip(x if isinstance(x, tuple) else (x,),
                                                                        y if isinstance(y, tuple) else (y,)))
        for ea, eb in zip(a, b) for x, y in zip(ea, eb))


def _no_children():
    gc.collect()
    return multiprocessing.active_children() == []


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_order_and_augmentation_do_not_depend_on_the_worker_count(context):
    ds = H.Augmented()
    ref = _epochs(data.DataLoader(ds, batch_size=4, shuffle=True, seed=7, transform=H.jitter))
    assert not _same([ref[0]], [ref[1]])  # a new order and new noise each epoch
    for n in (1, 3) if context == "fork" else (2,):
        got = _epochs(data.DataLoader(ds, batch_size=4, shuffle=True, seed=7, transform=H.jitter, num_workers=n,
                                      multiprocessing_context=context))
        assert _same(ref, got), f"{n} {context} workers"
    assert _no_children()


def test_the_global_seed_drives_loaders_without_a_seed():
    dl.manual_seed(11)
    a = _epochs(data.DataLoader(H.Augmented(), batch_size=5, shuffle=True), 1)
    dl.manual_seed(11)
    b = _epochs(data.DataLoader(H.Augmented(), batch_size=5, shuffle=True, num_workers=2,
                                multiprocessing_context="fork"), 1)
    assert _same(a, b)


def test_worker_info_worker_init_fn_and_persistent_workers():
    loader = data.DataLoader(H.WhoLoads(), batch_size=3, num_workers=2, multiprocessing_context="spawn",
                             worker_init_fn=H.record_init, persistent_workers=True, prefetch_factor=1)
    try:
        first = list(loader)
        i, pid, wid, seen = (np.concatenate(c) for c in zip(*first))
        assert i.tolist() == list(range(12))             # in order, whatever worker loaded a batch
        assert wid.tolist() == [0] * 3 + [1] * 3 + [0] * 3 + [1] * 3  # batch b went to worker b mod 2
        assert np.array_equal(seen, wid)                 # worker_init_fn ran in each worker, with its id
        assert os.getpid() not in pid and len(set(pid.tolist())) == 2
        second = list(loader)
        assert set(np.concatenate([b[1] for b in second]).tolist()) == set(pid.tolist())  # the same processes
        assert len(multiprocessing.active_children()) == 2
    finally:
        loader.close()
    assert _no_children()
    assert data.get_worker_info() is None


def test_an_exception_in_a_worker_surfaces_naming_the_worker():
    loader = data.DataLoader(H.FailsAt(13), batch_size=4, num_workers=2, multiprocessing_context="fork")
    with pytest.raises(ValueError, match=r"DataLoader worker 1 raised ValueError while loading batch 3(.|\n)*"
                                         r"sample 13 is broken"):
        list(loader)
    assert _no_children()


def test_worker_init_fn_errors_surface():
    loader = data.DataLoader(H.FailsAt(-1), batch_size=4, num_workers=2, multiprocessing_context="fork",
                             worker_init_fn=H.failing_init)
    with pytest.raises(KeyError, match="while running worker_init_fn"):
        list(loader)
    assert _no_children()


@pytest.mark.parametrize("mode, match", [("exit", "exited with code 3 unexpectedly"),
                                         ("kill", "was killed by signal SIGKILL unexpectedly")])
def test_a_dead_worker_is_noticed(mode, match):
    loader = data.DataLoader(H.FailsAt(6, mode), batch_size=4, num_workers=2, multiprocessing_context="fork")
    with pytest.raises(RuntimeError, match="DataLoader worker 1 .*" + match):
        list(loader)
    assert _no_children()


def test_timeout():
    loader = data.DataLoader(H.FailsAt(0, "sleep"), batch_size=4, num_workers=1, multiprocessing_context="fork",
                             timeout=0.5)
    with pytest.raises(RuntimeError, match="no batch from the workers in 0.5 s"):
        list(loader)
    assert _no_children()


def test_leaving_the_loop_early_stops_the_workers():
    loader = data.DataLoader(H.FailsAt(-1), batch_size=2, num_workers=2, multiprocessing_context="fork")
    for _ in loader:
        assert len(multiprocessing.active_children()) == 2
        break
    assert _no_children()
    persistent = data.DataLoader(H.FailsAt(-1), batch_size=2, num_workers=2, multiprocessing_context="fork",
                                 persistent_workers=True)
    for _ in persistent:
        break
    assert [float(b[0]) for b in persistent] == [float(i) for i in range(0, 40, 2)]  # stale batches dropped
    del persistent
    assert _no_children()


def test_spawn_needs_picklable_pieces():
    loader = data.DataLoader(H.FailsAt(-1), batch_size=2, num_workers=1, multiprocessing_context="spawn",
                             collate_fn=lambda s: np.stack(s))
    with pytest.raises(TypeError, match="receive the dataset, collate_fn, transform and worker_init_fn by pickling"):
        list(loader)
    assert _no_children()


def test_spawned_workers_call_dlcore_kernels():
    K.gemm(np.ones((8, 8), np.float32), np.ones((8, 8), np.float32))  # the parent has used the kernels
    loader = data.DataLoader(H.KernelDataset(), batch_size=4, num_workers=2, multiprocessing_context="spawn")
    xs, ids = zip(*loader)
    x, i = np.concatenate(xs), np.concatenate(ids)
    for k in range(16):
        np.testing.assert_allclose(x[k], H.kernel_reference(i[k]), rtol=1e-4, atol=1e-4)
    # the dataset's arrays reach the spawned workers through pickle; the kernels take them all the same
    z = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    loader = data.DataLoader((z,), batch_size=5, num_workers=1, multiprocessing_context="spawn",
                             transform=H.relu_transform)
    np.testing.assert_array_equal(np.concatenate(list(loader)), np.maximum(z, 0))
    assert _no_children()


def test_forked_workers_call_dlcore_kernels():
    # the parent has used the kernels on every thread (a GEMM large enough to wake the pool's workers)
    K.gemm(np.ones((512, 512), np.float32), np.ones((512, 512), np.float32))
    loader = data.DataLoader(H.KernelDataset(), batch_size=4, num_workers=2, multiprocessing_context="fork",
                             timeout=60)
    xs, ids = zip(*loader)
    x, i = np.concatenate(xs), np.concatenate(ids)
    for k in range(16):
        np.testing.assert_allclose(x[k], H.kernel_reference(i[k]), rtol=1e-4, atol=1e-4)
    assert _no_children()


def test_fit_evaluate_predict_take_a_loader_with_workers():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = (x.sum(1) > 0).astype(np.int64)

    def train(num_workers):
        dl.manual_seed(3)
        model = dl.Sequential([dl.layers.Dense(8, activation="relu", input_shape=(5,)),
                               dl.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        kw = {"num_workers": num_workers, "multiprocessing_context": "fork"} if num_workers else {}
        loader = data.DataLoader((x, y), batch_size=16, shuffle=True, seed=1, **kw)
        history = model.fit(loader, epochs=3, verbose=0, validation_data=data.DataLoader((x, y), batch_size=32, **kw))
        ev = model.evaluate(data.DataLoader((x, y), batch_size=32, **kw), return_dict=True)
        pred = model.predict(data.DataLoader((x,), batch_size=10, **kw))
        return history.history, ev, pred
    h0, e0, p0 = train(0)
    h2, e2, p2 = train(2)
    assert h0 == h2 and e0 == e2 and np.array_equal(p0, p2) and p0.shape == (64, 2)
    assert _no_children()


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"num_workers": -1}, ValueError, "'num_workers' must be an int >= 0"),
    ({"prefetch_factor": 2}, ValueError, "'prefetch_factor' needs num_workers > 0"),
    ({"persistent_workers": True}, ValueError, "persistent_workers=True needs num_workers > 0"),
    ({"timeout": 1}, ValueError, "'timeout' needs num_workers > 0"),
    ({"num_workers": 1, "timeout": -1}, ValueError, "'timeout' must be"),
    ({"worker_init_fn": print}, ValueError, "'worker_init_fn' needs num_workers > 0"),
    ({"collate_fn": 3}, TypeError, "'collate_fn' must be callable"),
    ({"shuffle": True, "sampler": [0, 1]}, ValueError, "give either 'sampler' or shuffle=True"),
    ({"batch_sampler": [[0, 1]], "batch_size": 4}, ValueError, "'batch_sampler' excludes"),
    ({"seed": 1.5}, TypeError, "'seed' must be an int"),
    ({"num_workers": 1, "prefetch_factor": 0}, ValueError, "'prefetch_factor' must be a positive int"),
])
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match="DataLoader: " + match):
        data.DataLoader(np.zeros((4, 2)), **kwargs)


def test_bad_context():
    with pytest.raises(ValueError, match="'multiprocessing_context' must be one of"):
        list(data.DataLoader(np.zeros((4, 2)), num_workers=1, multiprocessing_context="telepathy"))


# ---- samplers and collation ----------------------------------------------------------------------

def test_samplers():
    ds = list(range(10))
    assert list(data.SequentialSampler(ds)) == list(range(10))
    a, b = list(data.RandomSampler(ds, seed=3)), list(data.RandomSampler(ds, seed=3))
    assert a == b and sorted(a) == list(range(10)) and a != list(range(10))
    r = data.RandomSampler(ds, replacement=True, num_samples=25, seed=0)
    assert len(r) == 25 and len(list(r)) == 25 and max(r) < 10
    with pytest.raises(ValueError, match="exceeds the 10 samples"):
        data.RandomSampler(ds, num_samples=11)
    s = list(data.SubsetRandomSampler([2, 4, 6], seed=0))
    assert sorted(s) == [2, 4, 6]
    w = list(data.WeightedRandomSampler([0, 1, 0, 3], num_samples=400, seed=0))
    assert set(w) == {1, 3} and 0.65 < w.count(3) / 400 < 0.85
    with pytest.raises(ValueError, match="cannot draw 3 distinct samples"):
        data.WeightedRandomSampler([0, 1, 2], 3, replacement=False)
    with pytest.raises(ValueError, match="'weights' must be finite"):
        data.WeightedRandomSampler([-1, 1], 3)
    assert list(data.BatchSampler(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(data.BatchSampler(range(7), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(data.BatchSampler(range(7), 3)) == 3


def test_loader_with_a_sampler_and_a_batch_sampler():
    x = np.arange(10)
    loader = data.DataLoader((x,), batch_size=3, sampler=data.SubsetRandomSampler([1, 3, 5, 7], seed=0))
    assert sorted(np.concatenate(list(loader)).tolist()) == [1, 3, 5, 7] and len(loader) == 2
    loader = data.DataLoader((x,), batch_sampler=[[9, 0], [4]])
    assert [b.tolist() for b in loader] == [[9, 0], [4]]


def test_default_collate_nests():
    samples = [{"img": np.zeros((2, 2)), "meta": ("a", 1.5)}, {"img": np.ones((2, 2)), "meta": ("b", 2.5)}]
    out = data.default_collate(samples)
    assert out["img"].shape == (2, 2, 2) and out["meta"][0].tolist() == ["a", "b"]
    assert out["meta"][1].tolist() == [1.5, 2.5]
    assert data.default_collate([[1, 2], [3, 4]])[1].tolist() == [2, 4]
    with pytest.raises(TypeError, match="cannot batch samples of type object"):
        data.default_collate([object(), object()])
    with pytest.raises(TypeError, match="tuples of different lengths"):
        data.default_collate([(1, 2), (3,)])


def test_subset():
    ds = data.TensorDataset(np.arange(10) * 10)
    sub = data.Subset(ds, [7, 2])
    assert len(sub) == 2 and sub[0][0] == 70 and sub[np.array([1, 0])][0].tolist() == [20, 70]
