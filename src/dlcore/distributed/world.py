"""The process group: which MPI job this process is part of, found once by `init()`.

Nothing here runs at import: `import dlcore` never imports `mpi4py.MPI` (importing it calls
MPI_Init). `init()` decides once:

- under a launcher (mpiexec / mpirun / srun set PMI_*, PMIX_* or OMPI_COMM_WORLD_* in the
  environment), or when the program imported `mpi4py.MPI` itself, or when it passes a
  communicator, the group is that MPI communicator (a private duplicate, so that dlcore's
  messages never match the program's own);
- otherwise (no launcher, or mpi4py not installed) the group is this process alone: size 1,
  rank 0, and every collective returns its input.

Then, for a group of several processes, it finds the ranks that share this machine (an MPI-3
shared-memory split), gives each its share of the cores (unless the thread count was chosen by
the user), picks the GPU `local_rank % device_count` when CuPy sees GPUs, and makes an uncaught
exception on any rank end the whole job (MPI_Abort) instead of leaving the others waiting.
"""
from __future__ import annotations

import os
import sys
import time
import warnings

from .. import _system
from .. import cuda as _cuda

__all__ = ["init", "shutdown", "is_initialized", "rank", "size", "local_rank", "local_size", "barrier"]

ABORT_GRACE_S = 0.5   # how long the exception hook lets the launcher forward a traceback before MPI_Abort
# Variables that MPI launchers set in each process they start (MPICH/Intel MPI hydra, PMIx-based
# launchers such as Open MPI 5 and srun --mpi=pmix, Open MPI 4, MVAPICH).
LAUNCHER_ENV = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")

_WORLD = None
# The CPU kernels' thread count before the program could change it (import dlcore imports this module):
# a different count at init() means the program chose one (dl.set_num_threads), which init() keeps.
_DEFAULT_THREADS = _system.get_num_threads()


class World:
    """What init() found: the communicator (None when alone), this process's place in it, the MPI module."""

    def __init__(self, comm=None, mpi=None):
        self.comm, self.MPI = comm, mpi
        self.rank = comm.Get_rank() if comm is not None else 0
        self.size = comm.Get_size() if comm is not None else 1
        self.local_comm = None
        self.local_rank, self.local_size = 0, 1
        if comm is not None and self.size > 1:
            self.local_comm = comm.Split_type(mpi.COMM_TYPE_SHARED, key=self.rank)
            self.local_rank, self.local_size = self.local_comm.Get_rank(), self.local_comm.Get_size()
        self.planes = {}           # the data planes by array kind ("host", "device"), made on first use
        self.previous_excepthook = None
        self.threads_set = None    # the thread count init() chose, or None

    def free(self):
        for plane in self.planes.values():
            plane.close()
        self.planes = {}
        for c in (self.local_comm, self.comm):
            if c is not None:
                try:
                    c.Free()
                except Exception:  # already finalized at interpreter exit: nothing left to free
                    pass
        self.comm = self.local_comm = None


def _launched() -> bool:
    return any(v in os.environ for v in LAUNCHER_ENV)


def _launched_size() -> int:
    for v in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"):
        try:
            return int(os.environ[v])
        except (KeyError, ValueError):
            pass
    return 0


def _load_mpi(comm):
    """The mpi4py.MPI module when this process is in an MPI job, else None (MPI is then never initialized)."""
    if comm is not None or "mpi4py.MPI" in sys.modules or _launched():
        try:
            from mpi4py import MPI
        except ImportError:
            if comm is not None:
                raise
            n = _launched_size()
            if n > 1:
                warnings.warn(f"dlcore.distributed: started by an MPI launcher as one of {n} processes, but mpi4py "
                              "is not installed: each process trains alone (pip install 'dlcore[distributed]')",
                              RuntimeWarning, stacklevel=3)
            return None
        return MPI
    return None


def init(comm=None, num_threads=None) -> None:
    """Join the MPI job this process was started in (a size-1 group when there is none).

    Safe to call more than once (later calls do nothing) and called by every function of
    `dlcore.distributed` that needs the group, so calling it explicitly is optional. Without a
    launcher, or without mpi4py installed, the group is this process alone and MPI is never
    initialized.

    Args:
        comm: an mpi4py communicator to use instead of `MPI.COMM_WORLD` (dlcore works on a
            private duplicate of it).
        num_threads: threads of dlcore's CPU kernels in this process. `None` splits the cores
            of each machine between the ranks running on it (e.g. 2 ranks on 16 cores: 8 threads
            each), unless the thread count was already chosen (`DLCORE_NUM_THREADS`,
            `OMP_NUM_THREADS` or `dl.set_num_threads`).

    Example:

    ```python
    import dlcore as dl
    dl.distributed.init()
    print(f"rank {dl.distributed.rank()} of {dl.distributed.size()}")
    ```
    """
    global _WORLD
    if num_threads is not None and (isinstance(num_threads, bool) or not isinstance(num_threads, int)
                                    or num_threads < 1):
        raise ValueError(f"dlcore.distributed.init: num_threads must be a positive int or None, got {num_threads!r}")
    if _WORLD is not None:
        if comm is not None and _WORLD.comm is None:
            raise RuntimeError("dlcore.distributed.init: already initialized without a communicator; call "
                               "shutdown() first to pass comm=")
        if num_threads is not None:
            _system.set_num_threads(num_threads)
        return
    mpi = _load_mpi(comm)
    if mpi is None:
        world = World()
    else:
        base = comm if comm is not None else mpi.COMM_WORLD
        world = World(base.Dup(), mpi)
    _WORLD = world
    _set_threads(world, num_threads)
    if world.size > 1:
        _pick_device(world)
        _abort_on_uncaught_exception(world)


def _cores() -> set:
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return set(range(os.cpu_count() or 1))


def _set_threads(world, num_threads):
    """Each rank's share of its machine's cores, unless the user chose a thread count."""
    if num_threads is not None:
        _system.set_num_threads(num_threads)
        world.threads_set = num_threads
        return
    if world.local_size <= 1:
        return
    mine = _cores()
    sets = [set(s) for s in world.local_comm.allgather(sorted(mine))]  # every local rank takes part
    if os.environ.get("DLCORE_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS"):
        return
    if _system.get_num_threads() != _DEFAULT_THREADS:
        return  # set_num_threads was called: the user chose
    union = set().union(*sets)
    if sum(len(s) for s in sets) == len(union):
        n = len(mine)  # the launcher bound the ranks to disjoint cores: each uses its own
    else:
        n = max(1, len(union) // world.local_size)
    _system.set_num_threads(n)
    world.threads_set = n


def _pick_device(world):
    """With CuPy and GPUs: this rank's GPU is local_rank % device_count."""
    count = _cuda.device_count()
    if count:
        import cupy
        cupy.cuda.Device(world.local_rank % count).use()


def _abort_on_uncaught_exception(world):
    """An uncaught exception prints its traceback and then aborts the whole job (the ranks waiting
    for this one in a collective would otherwise wait forever). Not in an interactive session."""
    if hasattr(sys, "ps1") or sys.flags.interactive:
        return
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        if _WORLD is world and world.comm is not None:
            sys.stdout.flush()
            sys.stderr.write(f"dlcore.distributed: rank {world.rank} raised {kind.__name__}; aborting the job\n")
            sys.stderr.flush()
            # The launcher forwards each rank's output through its own pipes and stops forwarding once
            # the abort kills the job: give it a moment, or the traceback arrives cut after one line.
            time.sleep(ABORT_GRACE_S)
            world.MPI.COMM_WORLD.Abort(1)

    world.previous_excepthook = previous
    sys.excepthook = hook


def world() -> World:
    """The group (init() on first use)."""
    if _WORLD is None:
        init()
    return _WORLD


def is_initialized() -> bool:
    """Whether init() has run (and shutdown() has not).

    Example:

    ```python
    import dlcore as dl
    dl.distributed.init()
    assert dl.distributed.is_initialized()
    ```
    """
    return _WORLD is not None


def shutdown() -> None:
    """Release dlcore's communicators (MPI itself stays up: mpi4py finalizes it at exit).

    After shutdown(), init() may be called again.

    Example:

    ```python
    import dlcore as dl
    dl.distributed.init()
    dl.distributed.shutdown()
    assert not dl.distributed.is_initialized()
    ```
    """
    global _WORLD
    w, _WORLD = _WORLD, None
    if w is None:
        return
    if w.previous_excepthook is not None and sys.excepthook is not w.previous_excepthook:
        sys.excepthook = w.previous_excepthook
    w.free()


def rank() -> int:
    """This process's rank, 0 to size() - 1 (0 without a launcher).

    Example:

    ```python
    import dlcore as dl
    if dl.distributed.rank() == 0:
        print("only the first process prints this")
    ```
    """
    return world().rank


def size() -> int:
    """The number of processes in the job (1 without a launcher).

    Example:

    ```python
    import dlcore as dl
    global_batch = 64
    per_process_batch = global_batch // dl.distributed.size()
    ```
    """
    return world().size


def local_rank() -> int:
    """This process's rank among those on the same machine (it picks the GPU).

    Example:

    ```python
    import dlcore as dl
    print(dl.distributed.local_rank(), "of", dl.distributed.local_size(), "on this machine")
    ```
    """
    return world().local_rank


def local_size() -> int:
    """The number of processes of the job on this machine.

    Example:

    ```python
    import dlcore as dl
    assert 1 <= dl.distributed.local_size() <= dl.distributed.size()
    ```
    """
    return world().local_size


def barrier() -> None:
    """Wait until every process has reached this call.

    Example:

    ```python
    import dlcore as dl
    dl.distributed.barrier()   # e.g. after rank 0 wrote a file the others read next
    ```
    """
    w = world()
    if w.comm is not None and w.size > 1:
        w.comm.Barrier()
