"""The CPU data plane: NumPy buffers moved by MPI (also the GPU plane's staging path and the control plane).

A plane moves flat, C-contiguous 1-D buffers: `pack` copies arrays into one (scaling them on the
way), `allreduce_` / `bcast_` work on it in place, `views` hands its pieces back as arrays of the
original shapes and `unpack` copies them into existing arrays. `average_into` reduces one large
array into a buffer without packing it (the exchange uses it for a bucket of one array). The GPU
plane (device.py) has the same methods on CuPy buffers. Where several processes share a machine,
`node_bucket` gives the exchange a bucket summed through memory they share instead (node.py).

MPI has no float16 and reduces bool only with logical operators: float16 buffers are reduced in
float32 (rounded once at the end), bool buffers as bytes (sum/max is OR, min/prod is AND).
Broadcasts and gathers move bytes, so they work for every fixed-size dtype.
"""
from __future__ import annotations

import numpy as np

from .node import NodeBucket

__all__ = ["HostPlane"]

# average_into's chunk: each rank's share of one reduce-scatter, small enough to stay in a core's L2
# (1-2 MiB on the x86 machines measured) between the reduction and the scaling, large enough that
# the two collectives per chunk cost little beside moving it (256 KiB shares were no faster; the
# whole 8 MiB share of a 16 MiB bucket on 2 ranks, scaled in a pass of its own, was 20-30% slower).
# 1 MiB against 512 KiB, the 64 MB MLP in 16 MB buckets on 2 ranks of the AMD EPYC (Zen 4), as a
# share of the raw in-place allreduce of the same buckets: 0.76-0.81 against 0.72-0.74 (768 KiB
# 0.72-0.76, 1.5 MiB 0.76-0.81, 2 MiB 0.75-0.78).
SHARE_BYTES = 1024 * 1024


class HostPlane:
    kind = "host"
    xp = np

    def __init__(self, world):
        self.world = world
        self.comm = world.comm
        mpi = world.MPI
        self._ops = None if mpi is None else {"sum": mpi.SUM, "min": mpi.MIN, "max": mpi.MAX, "prod": mpi.PROD}
        self._node = None         # (whether buckets can be summed through shared memory, cross communicator)
        self._node_buckets = []   # the windows in use
        self._retired = []        # windows of forgotten plans still viewed by some array

    def close(self):
        """Free the shared windows (those no array views any more) and the cross-machine communicator."""
        try:
            self.retire(self._node_buckets)
        except Exception:  # MPI already finalized at interpreter exit: nothing left to free
            pass
        self._node_buckets = self._retired = []
        cross = self._node[1] if self._node else None
        self._node = None
        if cross is not None:
            try:
                cross.Free()
            except Exception:
                pass

    def retire(self, node_buckets):
        """Free these NodeBuckets, and those retired earlier, where no array views them on any process
        of the machine (the others wait for the next call). Collective, like node_bucket()."""
        gone = {id(nb) for nb in node_buckets}
        self._node_buckets = [nb for nb in self._node_buckets if id(nb) not in gone]
        self._retired = self._retired + list(node_buckets)
        if not self._retired:
            return
        viewed = np.array([nb.viewed() for nb in self._retired], np.uint8)
        self.world.local_comm.Allreduce(self.world.MPI.IN_PLACE, viewed, self.world.MPI.MAX)
        for nb, v in zip(self._retired, viewed):
            if not v:
                nb.free()
        self._retired = [nb for nb, v in zip(self._retired, viewed) if v]

    def node_bucket(self, bucket):
        """A NodeBucket summing `bucket` through memory shared by the processes of each machine, or
        None where that does not apply: one process per machine, machines with different numbers
        of processes, or a dtype other than float32/float64. Collective: every process calls it
        for the same buckets in the same order (the first call decides for the whole job)."""
        w = self.world
        if self._node is None:
            ok = w.size > 1 and w.local_size > 1 and len(set(w.comm.allgather(w.local_size))) == 1
            cross = w.comm.Split(color=w.local_rank, key=w.rank) if ok and w.size > w.local_size else None
            self._node = (ok, cross)
        ok, cross = self._node
        if not ok or bucket.size == 0 or np.dtype(bucket.dtype) not in (np.float32, np.float64):
            return None
        nb = NodeBucket(w, bucket, cross)
        self._node_buckets.append(nb)
        return nb

    # ---- buffers ------------------------------------------------------------------------------
    @staticmethod
    def empty(n, dtype):
        return np.empty(int(n), dtype=dtype)

    @staticmethod
    def pack(arrays, bucket, scale=1.0, out=None):
        """The arrays, times `scale`, end to end in one flat buffer of the bucket's dtype (one pass)."""
        buf = np.empty(bucket.size, bucket.dtype) if out is None else out
        s = bucket.dtype.type(scale) if scale != 1.0 else None
        for slot, a in zip(bucket.slots, arrays):
            dst = buf[slot.offset:slot.offset + slot.size].reshape(slot.shape)
            if s is None:
                np.copyto(dst, a, casting="same_kind")
            else:
                np.multiply(a, s, out=dst, casting="same_kind")
        return buf

    @staticmethod
    def views(buf, bucket):
        """The pieces of `buf`, shaped like the arrays packed into it (no copy)."""
        return [buf[s.offset:s.offset + s.size].reshape(s.shape) for s in bucket.slots]

    @staticmethod
    def unpack(buf, bucket, arrays):
        """Copy the pieces of `buf` into `arrays` (in place)."""
        for slot, a in zip(bucket.slots, arrays):
            np.copyto(a, buf[slot.offset:slot.offset + slot.size].reshape(slot.shape), casting="same_kind")

    # ---- collectives (in place on flat contiguous buffers) -------------------------------------
    def allreduce_(self, buf, op="sum"):
        """Reduce `buf` over the ranks in place with op 'sum', 'min', 'max' or 'prod'."""
        if self.world.size == 1 or buf.size == 0:
            return buf
        mpi = self.world.MPI
        if buf.dtype == np.bool_:
            self.comm.Allreduce(mpi.IN_PLACE, buf.view(np.uint8), mpi.MAX if op in ("sum", "max") else mpi.MIN)
        elif buf.dtype == np.float16:
            wide = buf.astype(np.float32)
            self.comm.Allreduce(mpi.IN_PLACE, wide, self._ops[op])
            buf[...] = wide
        else:
            self.comm.Allreduce(mpi.IN_PLACE, buf, self._ops[op])
        return buf

    def average_into(self, src, buf, scale=1.0):
        """buf := scale * (the sum of `src` over the ranks), for a float32/float64 `src` that does not
        overlap `buf`, without packing `src` first: a reduce-scatter straight from `src` leaves each
        rank the sum of one n-th of the elements, which it scales before an in-place allgather hands
        every rank the whole (the allreduce's own two halves, with the copy and the scaling folded
        in). It goes in chunks of SHARE_BYTES per rank, so that a rank scales its share while the
        reduction has just left it in its cache instead of in a pass of its own over memory. The
        last `size % n` elements take one small allreduce. Every element is summed on one rank only,
        so every rank gets the same bits."""
        w, mpi = self.world, self.world.MPI
        n, size = w.size, src.size
        s = buf.dtype.type(scale) if scale != 1.0 else None
        if n == 1:
            np.multiply(src, s, out=buf) if s is not None else np.copyto(buf, src)
            return buf
        step = n * max(1, SHARE_BYTES // buf.itemsize)
        main = size // n * n
        for lo in range(0, main, step):
            hi = min(main, lo + step)
            c = (hi - lo) // n
            mine = buf[lo + w.rank * c:lo + (w.rank + 1) * c]
            self.comm.Reduce_scatter_block(src[lo:hi], mine, mpi.SUM)
            if s is not None:
                mine *= s
            self.comm.Allgather(mpi.IN_PLACE, buf[lo:hi])
        if main < size:
            tail = buf[main:]
            np.multiply(src[main:], s, out=tail) if s is not None else np.copyto(tail, src[main:])
            self.comm.Allreduce(mpi.IN_PLACE, tail, mpi.SUM)
        return buf

    def bcast_(self, buf, root=0):
        """Every rank's `buf` becomes root's (in place)."""
        if self.world.size > 1 and buf.size:
            self.comm.Bcast(buf.view(np.uint8), root=root)
        return buf

    def allgatherv(self, buf, counts):
        """Every rank's `buf` (counts[r] elements on rank r) end to end, in rank order."""
        counts = [int(c) for c in counts]
        out = np.empty(sum(counts), buf.dtype)
        if self.world.size == 1:
            out[...] = buf
            return out
        item = buf.dtype.itemsize
        sizes = [c * item for c in counts]
        displs = [sum(sizes[:r]) for r in range(len(sizes))]
        self.comm.Allgatherv(buf.view(np.uint8), [out.view(np.uint8), sizes, displs, self.world.MPI.BYTE])
        return out
