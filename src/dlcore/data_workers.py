"""The worker processes of DataLoader(num_workers=n): start, feed, collect in order, shut down.

The main process owns the order: it draws each batch's indices and seed and hands batch i to worker
i mod n through that worker's task queue, keeping prefetch_factor * n batches in flight; workers
answer on one shared result queue, and the main process yields batch i only after batch i - 1,
holding early arrivals in a buffer. A worker that raises sends the exception and its traceback back:
the main process stops every worker and raises it, naming the worker. A worker that dies (a signal,
os._exit) is noticed while the main process waits, with its exit code; workers notice a dead parent
and leave. Shutdown sends each worker a stop message, waits for it (draining the result queue so
that no worker blocks on a full pipe), and terminates what is left: no zombie, no hang.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import random
import signal
import time
import traceback

import numpy as np

from . import _random

__all__ = ["WorkerInfo", "current_worker_info", "iterate", "batch_seed", "canonical"]

POLL_S = 0.1            # how often the main process checks on its workers while it waits
SHUTDOWN_S = 5.0        # how long shutdown waits for workers to exit before terminating them

_WORKER_INFO = None


class WorkerInfo:
    """What a DataLoader worker knows about itself: id (0..num_workers-1), num_workers, seed, dataset."""

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


def current_worker_info():
    return _WORKER_INFO


def canonical(obj):
    """`obj` with each NumPy array of a built-in dtype viewed with NumPy's own dtype object.

    An array that went through pickle carries an equal but distinct dtype object, which the compiled
    kernels' dtype check (an identity test) refuses; a view with the canonical dtype costs nothing.
    """
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "biufc" and obj.dtype.fields is None and obj.dtype.isnative:
            canon = np.dtype(obj.dtype.type)
            return obj if obj.dtype is canon else obj.view(canon)
        return obj
    if isinstance(obj, tuple):
        return tuple(canonical(o) for o in obj)
    if isinstance(obj, list):
        return [canonical(o) for o in obj]
    if isinstance(obj, dict):
        return {k: canonical(v) for k, v in obj.items()}
    return obj


def batch_seed(base, index):
    """The seed of batch `index` of an epoch whose base seed is `base` (the same in every process)."""
    return np.random.SeedSequence([base, index])


class _WorkerError:
    """An exception raised in a worker, carried to the main process as its type and formatted traceback."""

    def __init__(self, worker_id, what, exc):
        self.worker_id, self.what = worker_id, what
        try:
            pickle.dumps(type(exc))
            self.exc_type = type(exc)
        except Exception:
            self.exc_type = RuntimeError
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def reraise(self):
        msg = (f"DataLoader worker {self.worker_id} raised {self.exc_type.__name__} while {self.what}; its "
               f"traceback:\n{self.text}")
        try:
            err = self.exc_type(msg)
        except Exception:
            err = RuntimeError(msg)
        raise err


# --------------------------------------------------------------------------------------------
# the worker side
# --------------------------------------------------------------------------------------------

def _worker_loop(worker_id, num_workers, fetch, tasks, results, seed, worker_init_fn, parent_pid):
    global _WORKER_INFO
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _WORKER_INFO = WorkerInfo(worker_id, num_workers, seed, fetch.dataset)
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    _random._RNG = np.random.default_rng(seed)
    broken = False
    if worker_init_fn is not None:
        try:
            worker_init_fn(worker_id)
        except Exception as e:  # reported once; the worker then only waits for its stop message
            results.put((None, _WorkerError(worker_id, "running worker_init_fn", e)))
            broken = True
    while True:
        try:
            task = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent_pid:  # the main process is gone
                return
            continue
        if task is None:
            return
        if broken:
            continue
        key, indices, seed_i = task
        try:  # pickled here, so that an unpicklable batch is reported naming the worker
            out = pickle.dumps(fetch(indices, seed_i), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:
            out = _WorkerError(worker_id, f"loading batch {key[1]}", e)
        results.put((key, out))


# --------------------------------------------------------------------------------------------
# the main side
# --------------------------------------------------------------------------------------------

def _context(ctx):
    if ctx is None:
        return multiprocessing.get_context()
    if isinstance(ctx, str):
        try:
            return multiprocessing.get_context(ctx)
        except ValueError:
            methods = multiprocessing.get_all_start_methods()
            raise ValueError(f"DataLoader: 'multiprocessing_context' must be one of {methods} or a multiprocessing "
                             f"context, got {ctx!r}") from None
    if hasattr(ctx, "Process") and hasattr(ctx, "Queue"):
        return ctx
    raise TypeError(f"DataLoader: 'multiprocessing_context' must be a start method name or a multiprocessing "
                    f"context, got {type(ctx).__name__}")


class _Pool:
    """num_workers processes, their task queues and the shared result queue."""

    def __init__(self, loader, fetch, base_seed):
        ctx = _context(loader.multiprocessing_context)
        n = loader.num_workers
        self.results = ctx.Queue()
        self.tasks = [ctx.Queue() for _ in range(n)]
        self.workers = []
        self.epoch = 0
        self.closed = False
        try:
            for i in range(n):
                seed = int(np.random.SeedSequence([base_seed, 2 ** 32 + i]).generate_state(2, np.uint64)[0] >> 1)
                p = ctx.Process(target=_worker_loop, name=f"dlcore-DataLoader-worker-{i}",
                                args=(i, n, fetch, self.tasks[i], self.results, seed, loader.worker_init_fn,
                                      os.getpid()), daemon=True)
                p.start()
                self.workers.append(p)
        except (pickle.PicklingError, TypeError, AttributeError) as e:
            self.shutdown()
            method = ctx.get_start_method()
            raise TypeError(f"DataLoader: the '{method}' workers receive the dataset, collate_fn, transform and "
                            f"worker_init_fn by pickling, and one of them cannot be pickled ({e}); define them at "
                            f"module level (no lambdas or local classes)") from None
        except BaseException:
            self.shutdown()
            raise

    def check_alive(self):
        for i, p in enumerate(self.workers):
            if p.exitcode is not None:
                code = p.exitcode
                how = f"was killed by signal {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
                self.shutdown()
                raise RuntimeError(f"DataLoader worker {i} (pid {p.pid}) {how} unexpectedly")

    def shutdown(self):
        if self.closed:
            return
        self.closed = True
        for q in self.tasks:
            try:
                q.put(None)
            except Exception:
                pass
        deadline = time.monotonic() + SHUTDOWN_S
        while any(p.is_alive() for p in self.workers) and time.monotonic() < deadline:
            try:  # keep the pipe drained: a worker blocked on a full result queue could not exit
                while True:
                    self.results.get_nowait()
            except (queue.Empty, OSError, EOFError, ValueError):
                pass
            for p in self.workers:
                p.join(POLL_S / len(self.workers))
        for p in self.workers:
            if p.is_alive():
                p.terminate()
            p.join()
        for q in self.tasks + [self.results]:
            q.cancel_join_thread()
            q.close()


def iterate(loader, fetch, batches, base_seed):
    """The batches of one epoch, loaded by the loader's workers: started at the first batch (or kept from the
    last epoch with persistent_workers), stopped at the end, on an error, or when the loop is abandoned."""
    pool = None
    keep = False
    try:
        pool = loader._pool
        if pool is None or pool.closed:
            pool = _Pool(loader, fetch, base_seed)
            if loader.persistent_workers:
                loader._pool = pool
        pool.epoch += 1
        epoch, n = pool.epoch, len(pool.workers)
        ahead = loader.prefetch_factor * n
        sent = received = 0
        done_sending = False
        buffer = {}
        while True:
            while not done_sending and sent - received < ahead:
                idx = next(batches, None)
                if idx is None:
                    done_sending = True
                    break
                pool.tasks[sent % n].put(((epoch, sent), list(idx), batch_seed(base_seed, sent)))
                sent += 1
            if done_sending and received == sent:
                keep = True
                return
            waited = 0.0
            while received not in buffer:
                try:
                    key, out = pool.results.get(timeout=POLL_S)
                except queue.Empty:
                    pool.check_alive()
                    waited += POLL_S
                    if loader.timeout and waited >= loader.timeout:
                        raise RuntimeError(f"DataLoader: no batch from the workers in {loader.timeout:g} s "
                                           f"(waiting for batch {received})") from None
                    continue
                if isinstance(out, _WorkerError):
                    out.reraise()
                if key[0] == epoch:  # else: a batch of an epoch abandoned earlier (persistent workers)
                    buffer[key[1]] = out
            out = canonical(pickle.loads(buffer.pop(received)))
            received += 1
            yield out
    except GeneratorExit:  # the loop stopped early: persistent workers finish the batches in flight, unused
        keep = True
        raise
    finally:
        if pool is not None and not (keep and loader.persistent_workers):
            pool.shutdown()
            if loader._pool is pool:
                loader._pool = None
