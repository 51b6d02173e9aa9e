"""Datasets and functions for the DataLoader worker tests, at module level so that spawned workers can
unpickle them (a spawned worker imports this module by name)."""
import os
import time

import numpy as np

import dlcore.kernels as K
from dlcore import data


class Augmented(data.Dataset):
    """Sample i: (i + noise from dlcore's global generator, i); the noise depends on the batch's seed only."""

    def __init__(self, n=37):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full(3, i, np.float32) + data.global_rng().random(3).astype(np.float32), np.int64(i)


def jitter(x, rng):
    return x + rng.normal(size=x.shape).astype(x.dtype)


class WhoLoads(data.Dataset):
    """Sample i: (i, the loading process's pid, its worker id, what worker_init_fn saw)."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = data.get_worker_info()
        return np.int64(i), np.int64(os.getpid()), np.int64(-1 if info is None else info.id), \
            np.int64(INIT_SEEN.get("id", -2))


INIT_SEEN = {}


def record_init(worker_id):
    INIT_SEEN["id"] = worker_id


def failing_init(worker_id):
    raise KeyError(f"worker_init_fn failed in worker {worker_id}")


class FailsAt(data.Dataset):
    """Raises ValueError at sample `bad`; os._exit / SIGKILL at it with mode='exit' / 'kill'; sleeps with 'sleep'."""

    def __init__(self, bad, mode="raise", n=40):
        self.bad, self.mode, self.n = bad, mode, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            if self.mode == "raise":
                raise ValueError(f"sample {i} is broken")
            if self.mode == "exit":
                os._exit(3)
            if self.mode == "kill":
                os.kill(os.getpid(), 9)
            if self.mode == "sleep":
                time.sleep(5)
        return np.float32(i)


class KernelDataset(data.Dataset):
    """Each sample runs dlcore's CPU kernels (a GEMM and a ReLU) in the process that loads it."""

    def __len__(self):
        return 16

    def __getitem__(self, i):
        a = np.random.default_rng(i).standard_normal((64, 64)).astype(np.float32)
        return K.relu_forward(K.gemm(a, a))[:2, :2].copy(), np.int64(i)


def kernel_reference(i):
    a = np.random.default_rng(i).standard_normal((64, 64)).astype(np.float64)
    return np.maximum(a @ a, 0)[:2, :2]


def relu_transform(x, rng):
    """A transform that runs a dlcore kernel on the batch (in the worker that loads it)."""
    return K.relu_forward(x)
