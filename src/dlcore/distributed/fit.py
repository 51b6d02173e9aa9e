"""What fit() does differently when its optimizer is a DistributedOptimizer: the trainer's hooks.

`session(model, x)` returns the hooks of one fit() call; the trainer calls them at fixed points,
and for a plain optimizer they are the identity (LOCAL). With a DistributedOptimizer:

- at the start: one shuffle seed for everyone (rank 0's), the model built if need be, the
  weights and the optimizer state broadcast from rank 0, and the model's BatchNorm moving
  statistics handed to the optimizer, which averages them with the gradients at every step;
- `epoch_iterator`: in-memory arrays are sharded by index (sampler.shard_indices: every
  size()-th sample of one permutation of (seed, epoch)), so `batch_size` is per process, as in
  Horovod, and every process runs the same number of steps; loaders and generators are used as
  given (shard them with a DistributedSampler) after checking their step counts agree;
- `callbacks`: progress bars, checkpoints and CSV logs stay on rank 0 only;
- `logs`: the batch logs every callback sees are averaged over the processes;
- `stop`: stop_training (EarlyStopping, TerminateOnNaN, any callback) and Ctrl-C on one
  process stop every process at the same batch;
- `evaluate`: validation arrays (validation_split is cut before sharding) are split between the
  processes and the loss and metrics combined from exact sums and counts.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..callbacks import Callback, CSVLogger, ModelCheckpoint, ProgbarLogger
from ..data import (DataLoader, Dataset, EpochIterator, class_weights_to_sample_weights, global_rng, is_array_data,
                    map_arrays, num_samples, to_numpy, unpack_batch)
from ..tensor import Tensor
from .collectives import check_same, plane
from .optimizer import broadcast_optimizer_state, broadcast_parameters, is_distributed
from .sampler import shard_indices
from .world import world

__all__ = ["session", "progress_verbose", "LocalFit", "FitSession", "ShardedEpochIterator", "batch_norm_statistics",
           "metric_state"]

RANK0_ONLY = (ProgbarLogger, ModelCheckpoint, CSVLogger)   # callbacks that write: rank 0 keeps them


def progress_verbose(model, verbose):
    """The verbosity evaluate() and predict() use: `verbose`, except 0 on the ranks other than rank 0
    when the model's optimizer is a DistributedOptimizer (the progress bars stay on rank 0, as fit's do)."""
    if verbose and is_distributed(getattr(model, "optimizer", None)) and world().rank != 0:
        return 0
    return verbose


def session(model, x):
    """The hooks of one fit() call: LOCAL (plain fit) unless model.optimizer is a DistributedOptimizer."""
    if not is_distributed(getattr(model, "optimizer", None)):
        return LOCAL
    return FitSession(model, x)


class LocalFit:
    """Plain fit(): every hook does what fit does on its own."""

    distributed = False

    def epoch_iterator(self, x, y, sample_weight, batch_size, steps, shuffle, class_weight):
        return EpochIterator(x, y, sample_weight, batch_size, steps, shuffle, class_weight)

    def callbacks(self, cbs):
        return cbs

    def logs(self, logs):
        return logs

    def stop(self, stop_training, interrupted):
        return stop_training, interrupted

    def evaluate(self, model, validation_data, batch_size, steps):
        return model.evaluate_data(validation_data, batch_size, steps)


LOCAL = LocalFit()


def batch_norm_statistics(model):
    """The moving_mean / moving_variance Tensors of every layer of `model` (BatchNormalization's)."""
    out, seen = [], set()
    for m in model.modules():
        for attr in ("moving_mean", "moving_variance"):
            v = m.__dict__.get(attr)
            if isinstance(v, Tensor) and v.dtype.kind == "f" and id(v) not in seen:
                seen.add(id(v))
                out.append(v)
    return out


def _input_shape(x):
    if isinstance(x, (np.ndarray, Tensor)):
        return (None,) + tuple(x.shape[1:])
    if isinstance(x, (list, tuple)) and x and all(isinstance(a, (np.ndarray, Tensor)) for a in x):
        return [(None,) + tuple(a.shape[1:]) for a in x]
    return None


class FitSession(LocalFit):
    """The hooks of one fit() under MPI (see the module docstring)."""

    distributed = True

    def __init__(self, model, x):
        self.model, self.world = model, world()
        w = self.world
        seed = int(global_rng().integers(2 ** 62))  # drawn on every rank, so the generators stay in step
        self.seed = w.comm.bcast(seed, root=0) if w.size > 1 else seed
        self.iterator = None
        self.sampler = None
        self._keys = None
        self.pending = True   # weights and optimizer state not yet broadcast
        shape = _input_shape(x)
        if not model.built and shape is not None:
            model.build(shape)
        if model.built:
            self.start_alike()

    def start_alike(self):
        """Rank 0's weights and optimizer state everywhere; BatchNorm statistics averaged from now on."""
        model = self.model
        model._bind_optimizer()
        broadcast_parameters(model.state_dict(), root=0)
        broadcast_optimizer_state(model.optimizer, root=0)
        if not model.optimizer._distributed_buffers:
            model.optimizer.set_buffers(batch_norm_statistics(model))
        self.pending = False

    # ---- data ---------------------------------------------------------------------------------
    def epoch_iterator(self, x, y, sample_weight, batch_size, steps, shuffle, class_weight):
        w = self.world
        if is_array_data(x):
            self.iterator = ShardedEpochIterator(x, y, sample_weight, batch_size, steps, shuffle, class_weight,
                                                 w.size, w.rank, self.seed)
            check_same(w, "fit", ("samples", self.iterator.n),
                       lambda sig: "every process must pass the same (whole) data set, which fit shards between "
                                   "them; got " + ", ".join(f"{s[1]} samples on rank {r}" for r, s in enumerate(sig)))
            return self.iterator
        it = EpochIterator(x, y, sample_weight, batch_size, steps, shuffle, class_weight)
        sampler = getattr(x, "sampler", None)
        self.sampler = sampler if hasattr(sampler, "set_epoch") else None
        counts = w.comm.allgather(it.num_batches) if w.size > 1 else [it.num_batches]
        if any(c is None for c in counts):
            raise ValueError("fit: with a DistributedOptimizer every process must run the same number of steps per "
                             "epoch, and a generator has no length: give steps_per_epoch=")
        if len(set(counts)) > 1:
            raise ValueError("fit: with a DistributedOptimizer every process must run the same number of steps per "
                             "epoch, but the data give " + ", ".join(f"{c} batches on rank {r}"
                                                                     for r, c in enumerate(counts))
                             + "; shard a loader with DataLoader(..., sampler=dl.distributed.DistributedSampler("
                             "dataset)), or give steps_per_epoch=")
        return it

    def callbacks(self, cbs):
        if self.world.rank != 0:
            cbs = [cb for cb in cbs if not isinstance(cb, RANK0_ONLY)]
        return [_SessionCallback(self)] + list(cbs)

    # ---- agreement ---------------------------------------------------------------------------
    def logs(self, logs):
        """The logs averaged over the processes (one allreduce of the values)."""
        w = self.world
        if w.size == 1:
            return logs
        keys = list(logs)
        if keys != self._keys:
            check_same(w, "fit: the logs", tuple(keys))
            self._keys = keys
        values = np.array([float(logs[k]) for k in keys], np.float64)
        plane(w, "host").allreduce_(values, "sum")
        values /= w.size
        return dict(zip(keys, values.tolist()))

    def stop(self, stop_training, interrupted):
        """(stop_training, interrupted), each True everywhere when True on any process."""
        w = self.world
        if w.size == 1:
            return stop_training, interrupted
        flags = np.array([bool(stop_training), bool(interrupted)], np.uint8)
        plane(w, "host").allreduce_(flags, "max")
        return bool(flags[0]), bool(flags[1])

    # ---- validation --------------------------------------------------------------------------
    def evaluate(self, model, validation_data, batch_size, steps):
        """Validation loss and metrics over all processes' parts, from exact sums and counts."""
        w = self.world
        counter = None
        if (isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3)
                and all(v is None or is_array_data(v) for v in validation_data)):
            parts = [None if v is None else map_arrays(to_numpy, v) for v in validation_data]
            n = num_samples(parts[0])
            # a contiguous part each (none is empty); with fewer samples than processes, all of it everywhere
            lo, hi = (n * w.rank // w.size, n * (w.rank + 1) // w.size) if n >= w.size else (0, n)
            local = tuple(None if v is None else map_arrays(lambda a: a[lo:hi], v) for v in parts)
            validation_data = local if len(local) == 3 and local[2] is not None else local[:2]
            count = hi - lo
        else:
            counter = _Counter()
            validation_data = _counting(validation_data, batch_size, counter)
        logs = model.evaluate_data(validation_data, batch_size, steps)
        if counter is not None:
            count = counter.count
        if w.size == 1:
            return logs
        return _combine(w, model, logs, count)


class _Counter:
    count = 0


class _SizedCounting:
    """A loader's batches, counting the samples that go by."""

    def __init__(self, source, counter):
        self.source, self.counter = source, counter

    def __len__(self):
        return len(self.source)

    def __iter__(self):
        for b in self.source:
            self.counter.count += num_samples(unpack_batch(b)[0])
            yield b


def _counting(source, batch_size, counter):
    """`source` (a Dataset, a loader or a generator of batches) as batches that count their samples."""
    if isinstance(source, Dataset):
        source = DataLoader(source, batch_size=batch_size)
    if hasattr(source, "__len__") and hasattr(source, "__iter__"):
        return _SizedCounting(source, counter)

    def batches():
        for b in source:
            counter.count += num_samples(unpack_batch(b)[0])
            yield b
    return batches()


_STATE_NAMES = {}


def metric_state(metric) -> list:
    """The names of a metric's state: the attributes its reset_state() assigns (total / count, tp /
    fp / fn, ...). Summed over the processes, they give the metric of the whole data."""
    cls = type(metric)
    names = _STATE_NAMES.get(cls)
    if names is None:
        assigned = []

        class Recorder(cls):
            def __setattr__(self, key, value):
                assigned.append(key)
                object.__setattr__(self, key, value)

        try:
            probe = object.__new__(Recorder)
            probe.__dict__.update(metric.__dict__)
            probe.reset_state()
        except Exception:  # a metric this cannot probe: its logged value is combined by sample count
            assigned = []
        names = tuple(dict.fromkeys(assigned))
        _STATE_NAMES[cls] = names
    return [k for k in names if _numeric(metric.__dict__.get(k))]


def _numeric(v):
    if isinstance(v, bool):
        return False
    if isinstance(v, (numbers.Real, np.number)):
        return True
    return isinstance(v, np.ndarray) and v.dtype.kind in "iuf"


def _metrics_by_name(model):
    container = getattr(model, "_compile_metrics", None)
    pairs = getattr(container, "metrics", None) or []
    try:
        return {name: m for name, m in pairs}
    except (TypeError, ValueError):
        return {}


def _combine(w, model, logs, count):
    """The logs of the whole validation data from each process's logs on its part: the loss from the sum
    of its per-sample values and the sample count, each metric from the sum of its state (a value
    whose metric object is unknown is weighted by the sample count)."""
    metrics = _metrics_by_name(model)
    parts = [float(logs["loss"]) * count if count else 0.0, float(count)]
    layout, exact = [], {}  # layout: (key, state name or None, Python type, shape, offset in parts)
    for k in logs:
        if k == "loss":
            continue
        m = metrics.get(k)
        names = metric_state(m) if m is not None else []
        if not names:
            layout.append((k, None, float, (), len(parts)))
            parts.append(float(logs[k]) * count if count else 0.0)
            continue
        exact[k] = m
        for name in names:
            v = m.__dict__[name]
            layout.append((k, name, type(v), tuple(np.shape(v)), len(parts)))
            parts.extend(np.asarray(v, np.float64).reshape(-1).tolist())
    check_same(w, "fit: validation", tuple((k, name, shape) for k, name, _, shape, _ in layout))
    vec = np.array(parts, np.float64)
    plane(w, "host").allreduce_(vec, "sum")
    total = vec[1]
    out = {"loss": vec[0] / total if total else float("nan")}
    for k, name, kind, shape, at in layout:
        v = vec[at:at + math.prod(shape)]
        if name is None:
            out[k] = v[0] / total if total else float("nan")
        elif shape:
            exact[k].__dict__[name] = v.reshape(shape).astype(np.asarray(exact[k].__dict__[name]).dtype)
        else:
            exact[k].__dict__[name] = int(round(v[0])) if issubclass(kind, numbers.Integral) else float(v[0])
    for k, m in exact.items():
        r = m.result()
        out[k] = r if isinstance(r, float) else float(to_numpy(r))
    return {k: float(out[k]) for k in logs}


class _SessionCallback(Callback):
    """First in fit's callback list: the epoch into the sharded iterator and the sampler, and the
    start-alike broadcast after the first step when the model was built by it."""

    def __init__(self, session):
        super().__init__()
        self.session = session

    def on_epoch_begin(self, epoch, logs=None):
        s = self.session
        if s.iterator is not None:
            s.iterator.epoch = epoch
        if s.sampler is not None:
            s.sampler.set_epoch(epoch)

    def on_train_batch_end(self, batch, logs=None):
        if self.session.pending:  # the first batch built the model: start alike from here
            self.session.start_alike()


class ShardedEpochIterator:
    """This process's batches of in-memory arrays: shard `rank` of `size` of each epoch's permutation.

    Every process holds the whole data; each takes every size-th sample of the permutation of
    (seed, epoch) (sampler.shard_indices), padded by wrapping around, so all get ceil(n / size)
    samples and the same number of batches. Set `epoch` before iterating (fit does).
    """

    def __init__(self, x, y, sample_weight, batch_size, steps, shuffle, class_weight, size, rank, seed,
                 what="fit"):
        x, y = map_arrays(to_numpy, x), None if y is None else map_arrays(to_numpy, y)
        n = num_samples(x)
        if y is not None and n != num_samples(y):
            raise ValueError(f"{what}: x has {n} samples but y has {num_samples(y)}")
        sw = None if sample_weight is None else np.asarray(sample_weight, np.float32).reshape(-1)
        if sw is not None and len(sw) != n:
            raise ValueError(f"{what}: sample_weight has {len(sw)} entries for {n} samples")
        if class_weight is not None:
            cw = class_weights_to_sample_weights(y, class_weight)
            sw = cw if sw is None else sw * cw
        self.x, self.y, self.sw, self.n = x, y, sw, n
        self.batch_size, self.shuffle, self.size, self.rank, self.seed = batch_size, shuffle, size, rank, seed
        per = -(-n // size)
        full = -(-per // batch_size)
        self.num_batches = full if steps is None else min(full, steps)
        self.epoch = 0

    def indices(self):
        return shard_indices(self.n, self.size, self.rank, self.shuffle, self.seed, self.epoch)

    def __iter__(self):
        idx = self.indices()
        b = self.batch_size
        for step in range(self.num_batches):
            sel = idx[step * b:(step + 1) * b]
            yield (map_arrays(lambda a: a[sel], self.x), None if self.y is None else map_arrays(lambda a: a[sel], self.y),
                   None if self.sw is None else self.sw[sel])
