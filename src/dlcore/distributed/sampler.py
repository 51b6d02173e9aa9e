"""Sharding data by index: each process takes every size()-th sample of one shared permutation.

    sampler = dl.distributed.DistributedSampler(dataset, shuffle=True, seed=0)
    loader = dl.data.DataLoader(dataset, batch_size=32, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)          # a new permutation each epoch, the same on every rank
        for xb, yb in loader: ...

The permutation depends only on (seed, epoch), so every process draws the same one and takes
its own strided part: together the shards cover the data, and every process gets the same
number of samples (the permutation is padded by wrapping around, as PyTorch's sampler does, or
cut with drop_last=True), hence the same number of steps. Taking every size()-th sample keeps
batches equivalent to one process's: rank r's b-th batch of B samples and the other ranks' b-th
batches together are exactly the b-th batch of size()*B samples of the same permutation.
"""
from __future__ import annotations

import numbers

import numpy as np

from .world import world

__all__ = ["shard_indices", "DistributedSampler"]


def shard_indices(n, num_replicas, rank, shuffle=True, seed=0, epoch=0, drop_last=False) -> np.ndarray:
    """The sample indices of shard `rank` of `num_replicas` for this epoch (int64)."""
    order = np.random.default_rng([int(seed), int(epoch)]).permutation(n) if shuffle else np.arange(n)
    if drop_last:
        order = order[:n // num_replicas * num_replicas]
    else:
        per = -(-n // num_replicas)
        pad = per * num_replicas - n
        if pad and n:
            order = np.concatenate([order, np.resize(order, pad)])  # wrap around (repeats the first samples)
    return order[rank::num_replicas].astype(np.int64, copy=False)


def _int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"DistributedSampler: {name} must be an int >= {low}, got {value!r}")
    return int(value)


class DistributedSampler:
    """The indices of this process's shard of a dataset: give it to `DataLoader(sampler=...)`.

    PyTorch's `torch.utils.data.DistributedSampler`: a permutation drawn from (seed, epoch) —
    the same on every process — padded to a multiple of num_replicas by wrapping around (or cut,
    with drop_last=True), of which this process takes every num_replicas-th index starting at
    its rank. Every process gets len(sampler) indices. Call `set_epoch(epoch)` at the start of
    each epoch for a new order (fit() does it for a DataLoader it is given).

    Args:
        dataset: anything with a length (a Dataset, an array).
        num_replicas: number of shards (default: dl.distributed.size()).
        rank: this process's shard (default: dl.distributed.rank()).
        shuffle: draw a permutation (else the shards take the samples in order).
        seed: the permutation's seed; must be the same on every process.
        drop_last: drop the tail that does not fill every shard instead of padding.

    Example:

    ```python
    import numpy as np
    import dlcore as dl
    x, y = np.random.rand(100, 4).astype("float32"), np.random.rand(100, 1).astype("float32")
    dataset = dl.data.TensorDataset(x, y)
    sampler = dl.distributed.DistributedSampler(dataset, shuffle=True, seed=0)
    loader = dl.data.DataLoader(dataset, batch_size=10, sampler=sampler)
    for epoch in range(2):
        sampler.set_epoch(epoch)
        for xb, yb in loader:
            pass
    ```
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        try:
            len(dataset)
        except TypeError:
            raise TypeError(f"DistributedSampler: dataset must have a length, got {type(dataset).__name__}") from None
        self.num_replicas = _int("num_replicas", world().size if num_replicas is None else num_replicas, 1)
        self.rank = _int("rank", world().rank if rank is None else rank, 0)
        if self.rank >= self.num_replicas:
            raise ValueError(f"DistributedSampler: rank must be in [0, {self.num_replicas}), got {self.rank}")
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.seed = _int("seed", seed, 0)
        self.dataset = dataset
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of this epoch (call it before iterating, with the same epoch everywhere)."""
        self.epoch = _int("epoch", epoch, 0)

    def indices(self) -> np.ndarray:
        return shard_indices(len(self.dataset), self.num_replicas, self.rank, self.shuffle, self.seed, self.epoch,
                             self.drop_last)

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.num_replicas if self.drop_last else -(-n // self.num_replicas)

    def __repr__(self):
        return (f"DistributedSampler(num_samples={len(self.dataset)}, rank={self.rank}/{self.num_replicas}, "
                f"shuffle={self.shuffle}, seed={self.seed}, epoch={self.epoch})")
