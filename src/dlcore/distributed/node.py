"""Summing a bucket through memory that the processes of one machine share (MPI-3 shared windows).

MPI's own allreduce moves a bucket between the processes of one machine through the library's
bounce buffers: every byte is copied in and out, and a rank's result lands in its own buffer.
Processes on one machine can instead reduce through a window they all map (MPI_Win_allocate_shared,
the MPI-3 hybrid model). For a bucket of S elements on m processes of one machine, each process
owns one m-th of the elements, its share, and

1. copies the parts of its gradient outside its share into its slot of the window;
2. after a barrier, sums its share: its own gradient read where it lies (the pieces of a packed
   bucket gathered chunk by chunk in cache), the others' from their slots, scaled in the same
   pass, into the shared result;
3. across machines, allreduces its share over MPI with the processes of the same local rank
   (Horovod's hierarchical allreduce, on the sums of each machine);
4. after a second barrier, every process reads the whole result: its `.grad` arrays are views of it.

Per process that is (m-1)/m S copied, S read and S/m written, against MPI's copies of every byte
in and out of its buffers plus the packing. One float32 gradient on 2 processes of an AMD EPYC
(Zen 4), medians of five rounds taking turns, MPICH 5.0: 1 MiB 0.10 ms, 4 MiB 0.23 ms, 16 MiB
2.3 ms, against 0.17, 0.70 and 3.0 ms for MPI's in-place allreduce of a buffer of that size and
0.26, 0.80 and 4.5 ms for the exchange through MPI (shared_memory=False).

Every process of a machine views the same result, so the views are read-only: writing into one
would change every process's gradient. Autograd and the optimizers never write into a gradient
(they accumulate into new arrays); nn.utils.clip_grad_norm_ scales a read-only gradient into a copy.

Each sum happens on one process only and every process reads the same memory, so the replicas
get the same bits. The barriers also order the steps: a process overwrites its slot for the next
exchange only after every process has finished reading the slots of this one (the second barrier),
and the result only after every process has reached the next exchange (the first barrier).

A window lives as long as the exchange plan that made it and is freed at shutdown(), when no
array views it any more (memory still viewed stays mapped until the process ends: a `.grad` kept
past shutdown() must not point into unmapped memory).
"""
from __future__ import annotations

import bisect
import sys

import numpy as np

__all__ = ["NodeBucket", "CHUNK_BYTES", "ALIGN"]

# The sum goes chunk by chunk so that the gathered pieces of a packed bucket, the sum and its scaling
# stay in a core's L2. 256 KiB against 64 KiB and 1 MiB, 4 MiB on 2 processes of the Zen 4:
# 0.28-0.31 ms against 0.37 and 0.32 ms (one Python call per array piece and chunk).
CHUNK_BYTES = 256 * 1024
# A bucket of several arrays up to this size is copied into the slot whole by one call (the Python cost
# of a copy per array piece is what a small bucket's exchange spends most on: 225 KB of the LSTM's 8
# gradients on 2 processes of the Zen 4: 0.075 -> 0.067-0.072 ms; the CNN's 476 KB: 0.094-0.100 ->
# 0.082-0.087 ms, against 0.053 and 0.089 ms for MPI's in-place allreduce of a buffer of that size).
WHOLE_BYTES = 1024 * 1024
ALIGN = 64   # shares start on cache-line boundaries: two processes never write into one line


class NodeBucket:
    """The shared window of one bucket on one machine, and its reduction (see the module's text).

    Made by every process of the job at the same point of the same exchange (the allocation is
    collective). `cross` is the communicator of the processes with this local rank on every
    machine, or None on one machine."""

    def __init__(self, world, bucket, cross=None):
        mpi, comm = world.MPI, world.local_comm
        self.comm, self.cross, self.MPI = comm, cross, mpi
        self.me, m = world.local_rank, world.local_size
        self.dtype, self.size = np.dtype(bucket.dtype), int(bucket.size)
        item = self.dtype.itemsize
        seg = -(-max(self.size, 1) * item // ALIGN) * ALIGN
        # local rank 0 holds the result and its slot, every other local rank its slot
        self.win = mpi.Win.Allocate_shared(seg * (2 if self.me == 0 else 1), item, comm=comm)
        self.win.Lock_all(mpi.MODE_NOCHECK)

        def at(rank, offset):
            mem, _ = self.win.Shared_query(rank)
            return np.frombuffer(mem, self.dtype, count=self.size, offset=offset)
        self.result = at(0, 0)
        self.slots = [at(0, seg)] + [at(r, 0) for r in range(1, m)]
        per_line = max(1, ALIGN // item)
        cuts = [0] + [k * self.size // m // per_line * per_line for k in range(1, m)] + [self.size]
        self.bounds = list(zip(cuts[:-1], cuts[1:]))
        self.chunk = max(per_line, CHUNK_BYTES // item)
        self.offsets = [s.offset for s in bucket.slots]

    def _sync(self):
        self.win.Sync()
        self.comm.Barrier()
        self.win.Sync()

    def _flat(self, a):
        """`a` as a C-contiguous 1-D array of the bucket's dtype (a copy when it is not one already,
        or when it views this window: a gradient left from the last exchange)."""
        if a.dtype == self.dtype and a.flags.c_contiguous and not np.may_share_memory(a, self.result):
            return a.reshape(-1)
        return np.array(a, dtype=self.dtype, order="C").reshape(-1)

    def _own(self, flats, lo, hi, out):
        """This process's contribution to elements [lo, hi): a view of its one array, or `out`
        filled with the pieces of its arrays."""
        if len(flats) == 1:
            return flats[0][lo:hi]
        offsets = self.offsets
        i = bisect.bisect_right(offsets, lo) - 1
        while i < len(flats) and offsets[i] < hi:
            a, off = flats[i], offsets[i]
            s, e = max(lo, off), min(hi, off + a.size)
            if e > s:
                out[s - lo:e - lo] = a[s - off:e - off]
            i += 1
        return out

    def reduce(self, arrays, scale=1.0):
        """The sum over every process of `arrays` (the bucket's, in slot order), times `scale`, in
        self.result (shared by this machine's processes: read it, never write it)."""
        mpi = self.MPI
        lo, hi = self.bounds[self.me]
        mine = self.slots[self.me]
        if len(arrays) > 1 and self.size * self.dtype.itemsize <= WHOLE_BYTES:
            # 1. a small bucket of several arrays: all of it into the slot, in one call (it stays in
            # cache, and one call costs less than a few per array); my share is summed from there
            np.concatenate(arrays, axis=None, out=mine)
            flats = [mine]
        else:
            flats = [self._flat(a) for a in arrays]
            for off, a in zip(self.offsets, flats):   # 1. the parts the other processes sum
                end = off + a.size
                if off < lo:
                    e = min(end, lo)
                    mine[off:e] = a[:e - off]
                if end > hi:
                    s = max(off, hi)
                    mine[s:end] = a[s - off:]
        self._sync()
        others = [s for r, s in enumerate(self.slots) if r != self.me]
        k = self.dtype.type(scale) if scale != 1.0 else None
        for a in range(lo, hi, self.chunk):       # 2. my share of the sum, scaled
            b = min(hi, a + self.chunk)
            out = self.result[a:b]
            np.add(self._own(flats, a, b, out), others[0][a:b], out=out)
            for o in others[1:]:
                np.add(out, o[a:b], out=out)
            if k is not None:
                np.multiply(out, k, out=out)
        if self.cross is not None and hi > lo:    # 3. the same share on the other machines
            self.cross.Allreduce(mpi.IN_PLACE, self.result[lo:hi], mpi.SUM)
        self._sync()                              # 4. everyone's share is in
        return self.result

    def viewed(self) -> bool:
        """Whether an array outside this object still views the window."""
        return sys.getrefcount(self.result) > 2   # self.result and getrefcount's argument

    def free(self):
        self.win.Unlock_all()
        self.win.Free()
        self.result = self.slots = None
