"""Datasets, samplers, collation and the DataLoader (PyTorch's), with optional worker processes.

    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, seed=0, num_workers=2)
    for xb, yb in loader:
        ...
    model.fit(loader, epochs=5)

Randomness, reproducible whatever the worker count. Each epoch the loader draws, in the main
process and from its own generator (`seed=`) or dlcore's global one (`dl.manual_seed`), first a
base seed, then the order of the samples (its sampler). Batch i of the epoch is then loaded -- in
the main process or in any worker -- with a generator seeded by (base seed, i): `transform` gets it
as its `rng`, and dlcore's global generator *is* it while the batch's samples are read and collated,
so a Dataset that draws augmentation from dlcore's generator gives the same batches with 0, 1 or 8
workers. (NumPy's and Python's global generators are seeded once per worker instead, as in
PyTorch: code that draws from them sees a different stream per worker.)
"""
from __future__ import annotations

import numbers

import numpy as np

from . import _random, data_workers
from .data_workers import batch_seed, canonical, current_worker_info
from .kernels._validate import refuse_masked
from .tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "Sampler", "SequentialSampler", "RandomSampler",
           "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler", "default_collate", "DataLoader",
           "get_worker_info", "to_numpy"]


def to_numpy(x) -> np.ndarray:
    """A NumPy view of x (a NumPy array, a dlcore Tensor or anything array-like); CuPy arrays and GPU
    tensors are copied to the host. Masked arrays are refused (their mask would be lost).

    Example:
    ```python
    import dlcore as dl
    assert dl.data.to_numpy(dl.tensor([1.0, 2.0])).tolist() == [1.0, 2.0]
    ```
    """
    if isinstance(x, np.ndarray):
        refuse_masked(x, "data")
        return x
    if hasattr(x, "numpy") and callable(x.numpy):
        return np.asarray(x.numpy())
    if hasattr(x, "get") and hasattr(x, "__cuda_array_interface__"):
        return x.get()
    return np.asarray(x)


def _positive_int(value, where, arg):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{where}: '{arg}' must be a positive int, got {value!r}")
    return int(value)


def _generator(seed, where):
    """A private Generator from an int seed or a Generator (shared), or None (dlcore's global one)."""
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{where}: 'seed' must be an int, a numpy Generator or None, got {seed!r}")
    return np.random.default_rng(int(seed))


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------

class Dataset:
    """A sized collection of samples: subclasses define __len__ and __getitem__(i) -> sample.

    A sample is an array, a number, a string, or a tuple / list / dict of those (e.g. (x, y)).
    DataLoader stacks samples into batches (see `default_collate`).

    Example:
    ```python
    import numpy as np
    import dlcore as dl

    class Squares(dl.data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.float32(i), np.float32(i * i)

    x, y = next(iter(dl.data.DataLoader(Squares(), batch_size=5)))
    assert y.tolist() == [0, 1, 4, 9, 16]
    ```
    """

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are rows of equally long arrays: TensorDataset(x, y)[i] == (x[i], y[i]).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    ds = dl.data.TensorDataset(np.arange(6).reshape(3, 2), np.array([0, 1, 0]))
    assert len(ds) == 3 and ds[1][0].tolist() == [2, 3]
    ```
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: need at least one array")
        self.arrays = tuple(to_numpy(a) for a in arrays)
        n = len(self.arrays[0])
        for a in self.arrays:
            if a.ndim == 0 or len(a) != n:
                shapes = [b.shape for b in self.arrays]
                raise ValueError(f"TensorDataset: all arrays need the same first dimension, got shapes {shapes}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order: Subset(ds, [3, 1])[0] is ds[3].

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    sub = dl.data.Subset(dl.data.TensorDataset(np.arange(10)), [3, 1])
    assert len(sub) == 2 and sub[0][0] == 3
    ```
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, (np.ndarray, list)):
            return self.dataset[self.indices[index]]
        return self.dataset[int(self.indices[index])]


# --------------------------------------------------------------------------------------------
# Samplers: the order in which the loader reads samples (always drawn in the main process)
# --------------------------------------------------------------------------------------------

class Sampler:
    """An iterable of sample indices with a length. Subclasses define __iter__ and __len__.

    Example:
    ```python
    import numpy as np
    import dlcore as dl

    class EvenFirst(dl.data.Sampler):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(list(range(0, self.n, 2)) + list(range(1, self.n, 2)))

        def __len__(self):
            return self.n

    loader = dl.data.DataLoader((np.arange(5),), batch_size=5, sampler=EvenFirst(5))
    assert next(iter(loader)).tolist() == [0, 2, 4, 1, 3]
    ```
    """

    def __iter__(self):
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def _rng(self):
        return self.generator if getattr(self, "generator", None) is not None else _random.generator()


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1.

    Example:
    ```python
    import dlcore as dl
    assert list(dl.data.SequentialSampler(range(3))) == [0, 1, 2]
    ```
    """

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random permutation of the indices each pass (or `num_samples` draws with replacement).

    seed: an int or a numpy Generator for a private, reproducible stream; None draws from dlcore's
    global generator (`dl.manual_seed`).

    Example:
    ```python
    import dlcore as dl
    order = list(dl.data.RandomSampler(range(5), seed=0))
    assert sorted(order) == [0, 1, 2, 3, 4]
    ```
    """

    def __init__(self, data_source, replacement=False, num_samples=None, seed=None):
        self.data_source = data_source
        self.replacement = bool(replacement)
        if num_samples is not None:
            num_samples = _positive_int(num_samples, "RandomSampler", "num_samples")
            if not replacement and num_samples > len(data_source):
                raise ValueError(f"RandomSampler: num_samples={num_samples} exceeds the {len(data_source)} samples; "
                                 f"pass replacement=True to draw more")
        self._num_samples = num_samples
        self.generator = _generator(seed, "RandomSampler")

    def __len__(self):
        return self._num_samples if self._num_samples is not None else len(self.data_source)

    def __iter__(self):
        n, rng = len(self.data_source), self._rng()
        if self.replacement:
            return iter(rng.integers(0, n, size=len(self)).tolist())
        return iter(rng.permutation(n)[:len(self)].tolist())


class SubsetRandomSampler(Sampler):
    """The given indices, in a new random order each pass.

    Example:
    ```python
    import dlcore as dl
    assert sorted(dl.data.SubsetRandomSampler([4, 7, 9], seed=0)) == [4, 7, 9]
    ```
    """

    def __init__(self, indices, seed=None):
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        self.generator = _generator(seed, "SubsetRandomSampler")

    def __len__(self):
        return len(self.indices)

    def __iter__(self):
        return iter(self.indices[self._rng().permutation(len(self.indices))].tolist())


class WeightedRandomSampler(Sampler):
    """`num_samples` indices drawn with probabilities proportional to `weights` (one per sample),
    e.g. to balance classes.

    Example:
    ```python
    import dlcore as dl
    draws = list(dl.data.WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=100, seed=0))
    assert 0 not in draws and draws.count(2) > draws.count(1)
    ```
    """

    def __init__(self, weights, num_samples, replacement=True, seed=None):
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: 'weights' must be finite, non-negative and not all zero")
        self.weights = w
        self.num_samples = _positive_int(num_samples, "WeightedRandomSampler", "num_samples")
        self.replacement = bool(replacement)
        if not replacement and self.num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: cannot draw {self.num_samples} distinct samples from "
                             f"{np.count_nonzero(w)} with a non-zero weight")
        self.generator = _generator(seed, "WeightedRandomSampler")

    def __len__(self):
        return self.num_samples

    def __iter__(self):
        p = self.weights / self.weights.sum()
        return iter(self._rng().choice(len(p), size=self.num_samples, replace=self.replacement, p=p).tolist())


class BatchSampler(Sampler):
    """Groups the indices of `sampler` into lists of `batch_size` (the last one shorter unless drop_last).

    Example:
    ```python
    import dlcore as dl
    assert list(dl.data.BatchSampler(range(5), 2)) == [[0, 1], [2, 3], [4]]
    ```
    """

    def __init__(self, sampler, batch_size, drop_last=False):
        self.sampler = sampler
        self.batch_size = _positive_int(batch_size, "BatchSampler", "batch_size")
        self.drop_last = bool(drop_last)

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# --------------------------------------------------------------------------------------------
# Collation and the loading of one batch (the same code in the main process and in a worker)
# --------------------------------------------------------------------------------------------

def default_collate(samples):
    """Stack a list of samples into a batch: arrays, Tensors and numbers into one NumPy array (a new
    first axis), strings into a string array, and tuples / lists / dicts element by element.

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    xb, yb = dl.data.default_collate([(np.zeros(3), 1), (np.ones(3), 0)])
    assert xb.shape == (2, 3) and yb.tolist() == [1, 0]
    ```
    """
    if not samples:
        raise ValueError("default_collate: no samples")
    first = samples[0]
    if isinstance(first, tuple):
        if any(not isinstance(s, tuple) or len(s) != len(first) for s in samples):
            raise TypeError("default_collate: the samples are tuples of different lengths")
        return tuple(default_collate([s[k] for s in samples]) for k in range(len(first)))
    if isinstance(first, list):
        return [default_collate([s[k] for s in samples]) for k in range(len(first))]
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (np.ndarray, Tensor, numbers.Number, np.generic, str, bytes)) or hasattr(first, "__array__"):
        return np.stack([to_numpy(s) for s in samples])
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; give collate_fn=")


class _batch_generator:
    """While active, dlcore's global generator is `rng` (the batch's own)."""

    def __init__(self, rng):
        self.rng = rng

    def __enter__(self):
        self.saved = _random._RNG
        _random._RNG = self.rng

    def __exit__(self, *exc):
        _random._RNG = self.saved
        return False


class Fetcher:
    """Loads one batch: reads the samples at `indices`, collates them, applies the transform. Picklable
    (sent to spawned workers) when the dataset, collate_fn and transform are."""

    def __init__(self, dataset, collate_fn, transform):
        self.dataset, self.collate_fn, self.transform = dataset, collate_fn, transform

    def __call__(self, indices, seed):
        rng = np.random.default_rng(seed)
        with _batch_generator(rng):
            if self.collate_fn is None and isinstance(self.dataset, TensorDataset):
                batch = self.dataset[np.asarray(indices, dtype=np.int64)]  # one fancy index per array
            else:
                collate = self.collate_fn or default_collate
                batch = collate([self.dataset[int(i)] for i in indices])
            batch = canonical(batch)  # arrays that came through pickle (a spawned worker's dataset) too
            if self.transform is not None:
                if isinstance(batch, tuple):
                    batch = (self.transform(batch[0], rng),) + batch[1:]
                else:
                    batch = self.transform(batch, rng)
        if isinstance(batch, tuple) and len(batch) == 1:
            return batch[0]
        return batch


# --------------------------------------------------------------------------------------------
# The loader
# --------------------------------------------------------------------------------------------

class DataLoader:
    """Iterate over a dataset in batches, in the main process or in worker processes (PyTorch's).

    Args:
        dataset: a Dataset, or a tuple (x, y) / a single array (wrapped in a TensorDataset).
        batch_size: samples per batch.
        shuffle: a new random order every pass (a RandomSampler).
        sampler: the order of the samples (a Sampler or any sized iterable of indices); excludes
            shuffle.
        batch_sampler: yields lists of indices, one per batch; excludes batch_size, shuffle,
            sampler and drop_last.
        num_workers: 0 loads in the main process; n > 0 starts n worker processes that load
            batches ahead (in order: batch i is yielded i-th whatever worker loaded it).
        collate_fn: makes a batch from a list of samples (default: `default_collate`).
        drop_last: drop the last batch if it is smaller than batch_size.
        timeout: seconds to wait for a worker's batch before raising (0: no limit).
        worker_init_fn: called as worker_init_fn(worker_id) in each worker when it starts.
        multiprocessing_context: 'fork', 'spawn', 'forkserver' (or a multiprocessing context);
            None is the platform's default. With 'spawn', the dataset, collate_fn, transform and
            worker_init_fn are pickled to the workers.
        prefetch_factor: batches loaded ahead per worker (default 2; only with num_workers > 0).
        persistent_workers: keep the workers between passes (only with num_workers > 0).
        seed: an int (or numpy Generator) for this loader's own generator, which draws the order
            and each epoch's base seed; None uses dlcore's global generator (`dl.manual_seed`).
        transform: applied to each batch's first array as transform(x_batch, rng), with the
            batch's own generator `rng` (e.g. augmentation).

    Yields:
        A tuple of NumPy arrays per batch (or one array when samples are single arrays).

    Example:
    ```python
    import numpy as np
    import dlcore as dl
    x, y = np.arange(20, dtype=np.float32).reshape(10, 2), np.arange(10)
    loader = dl.data.DataLoader((x, y), batch_size=4, shuffle=True, seed=0)
    sizes = [len(xb) for xb, yb in loader]
    assert sizes == [4, 4, 2] and len(loader) == 3
    ```
    """

    def __init__(self, dataset, batch_size=32, shuffle=False, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, drop_last=False, timeout=0, worker_init_fn=None, multiprocessing_context=None,
                 prefetch_factor=None, persistent_workers=False, seed=None, transform=None):
        where = "DataLoader"
        if isinstance(dataset, (tuple, list)):
            dataset = TensorDataset(*dataset)
        elif not isinstance(dataset, Dataset):
            dataset = TensorDataset(dataset)
        self.dataset = dataset
        self._gen = _generator(seed, where)
        if batch_sampler is not None:
            if batch_size != 32 or shuffle or sampler is not None or drop_last:
                raise ValueError(f"{where}: 'batch_sampler' excludes batch_size, shuffle, sampler and drop_last")
            self.batch_size = None
        else:
            self.batch_size = _positive_int(batch_size, where, "batch_size")
            if sampler is not None and shuffle:
                raise ValueError(f"{where}: give either 'sampler' or shuffle=True, not both")
            if sampler is None:
                sampler = RandomSampler(dataset, seed=self._gen) if shuffle else SequentialSampler(dataset)
            batch_sampler = BatchSampler(sampler, self.batch_size, drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError(f"{where}: 'num_workers' must be an int >= 0, got {num_workers!r}")
        self.num_workers = int(num_workers)
        if prefetch_factor is not None:
            if self.num_workers == 0:
                raise ValueError(f"{where}: 'prefetch_factor' needs num_workers > 0 (it counts batches per worker)")
            prefetch_factor = _positive_int(prefetch_factor, where, "prefetch_factor")
        self.prefetch_factor = prefetch_factor if prefetch_factor is not None else (2 if self.num_workers else None)
        if persistent_workers and self.num_workers == 0:
            raise ValueError(f"{where}: persistent_workers=True needs num_workers > 0")
        self.persistent_workers = bool(persistent_workers)
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or timeout < 0:
            raise ValueError(f"{where}: 'timeout' must be a number of seconds >= 0, got {timeout!r}")
        if timeout and self.num_workers == 0:
            raise ValueError(f"{where}: 'timeout' needs num_workers > 0 (it bounds the wait for a worker)")
        self.timeout = float(timeout)
        for arg, fn in (("collate_fn", collate_fn), ("worker_init_fn", worker_init_fn), ("transform", transform)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{where}: '{arg}' must be callable, got {type(fn).__name__}")
        if worker_init_fn is not None and self.num_workers == 0:
            raise ValueError(f"{where}: 'worker_init_fn' needs num_workers > 0")
        self.collate_fn, self.worker_init_fn, self.transform = collate_fn, worker_init_fn, transform
        if multiprocessing_context is not None and self.num_workers == 0:
            raise ValueError(f"{where}: 'multiprocessing_context' needs num_workers > 0")
        self.multiprocessing_context = multiprocessing_context
        self._pool = None

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def _base_seed(self) -> int:
        rng = self._gen if self._gen is not None else _random.generator()
        return int(rng.integers(0, 2 ** 63))

    def __iter__(self):
        base = self._base_seed()  # first, whatever the worker count: the order is drawn after it
        batches = iter(self.batch_sampler)
        fetch = Fetcher(self.dataset, self.collate_fn, self.transform)
        if self.num_workers == 0:
            return (fetch(idx, batch_seed(base, i)) for i, idx in enumerate(batches))
        return data_workers.iterate(self, fetch, batches, base)

    def close(self):
        """Stop the persistent workers, if any (they also stop when the loader is garbage-collected)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def get_worker_info():
    """In a DataLoader worker: its WorkerInfo (id, num_workers, seed, dataset); None in the main process.

    Example:
    ```python
    import dlcore as dl
    assert dl.data.get_worker_info() is None  # not in a worker
    ```
    """
    return current_worker_info()
