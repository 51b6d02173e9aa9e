"""Data-parallel training over processes and machines: MPI (mpi4py) for the CPU, NCCL for GPUs.

Each process holds a whole replica of the model and trains on its own part of every batch;
before each update the gradients are averaged over the processes, so every replica applies the
same update and stays identical. The API is Horovod's:

    import dlcore as dl
    dl.distributed.init()                                      # optional: the first call does it
    model.compile(optimizer=dl.distributed.DistributedOptimizer(dl.optimizers.Adam(1e-3 * dl.distributed.size())),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=5)                   # batch_size per process; x, y whole on each

started with `mpiexec -n 4 python -m mpi4py train.py` (or `python -m dlcore.distributed.run -n 4
train.py`). fit() then broadcasts rank 0's weights, shards the data, averages the logs, stops
every process together and writes files on rank 0 only (see fit.py). PyTorch-style loops use
`broadcast_parameters`, `broadcast_optimizer_state` and a `DistributedSampler` themselves.

`import dlcore` never initializes MPI; without a launcher or without mpi4py every function here
works on a group of one process (collectives return their input). Layout: world.py (init,
rank, size, ...), collectives.py (allreduce / broadcast / allgather and their _object forms),
buckets.py (which gradients travel together), host.py / device.py (moving NumPy buffers over
MPI, CuPy buffers over NCCL), optimizer.py (DistributedOptimizer, the broadcasts), sampler.py,
fit.py (fit's hooks), callbacks.py, run.py (the launcher). Code written for Horovod runs with
`import dlcore.distributed as hvd`: its keywords (root_rank, named_parameters, op=hvd.Sum, ...) and
its Keras callbacks' names (hvd.callbacks.BroadcastGlobalVariablesCallback, ...) are here too.
"""
from . import callbacks
from .collectives import (Average, Max, Min, Product, Sum, allgather, allgather_object, allreduce, allreduce_object,
                          broadcast, broadcast_object)
from .optimizer import Compression, DistributedOptimizer, broadcast_optimizer_state, broadcast_parameters, is_distributed
from .sampler import DistributedSampler
from .world import barrier, init, is_initialized, local_rank, local_size, rank, shutdown, size

__all__ = ["init", "shutdown", "is_initialized", "rank", "size", "local_rank", "local_size", "barrier",
           "allreduce", "broadcast", "allgather", "allreduce_object", "broadcast_object", "allgather_object",
           "DistributedOptimizer", "is_distributed", "broadcast_parameters", "broadcast_optimizer_state",
           "DistributedSampler", "callbacks",
           # Horovod's names: reduction operators and gradient compression
           "Average", "Sum", "Min", "Max", "Product", "Compression"]
