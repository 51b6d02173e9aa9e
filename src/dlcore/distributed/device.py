"""The GPU data plane: CuPy buffers packed by one kernel and reduced by NCCL on CuPy's current stream.

The methods are those of the CPU plane (host.py) on CuPy buffers:

- `pack` / `unpack`: ONE kernel launch copies every array of a bucket into (or out of) its flat
  buffer, scaling on the way (pack_f32 / pack_f64; other dtypes are copied as raw words). A
  table of (device address, offset, size) per array tells each y-block which array it copies.
- `allreduce_` / `bcast_` / `allgatherv`: NCCL (ncclAllReduce / ncclBroadcast / ncclAllGather)
  on CuPy's current stream, so they are ordered after the kernels that produced the gradients
  and before the optimizer kernels that read them, with no host synchronisation. The NCCL
  communicator is created on first use from an id that rank 0 draws and MPI broadcasts.
- Where NCCL is missing on any rank, or for a dtype NCCL cannot reduce, the buffer is staged
  through pinned host memory: copied down on the current stream, the stream synchronised (MPI
  must never see a buffer a kernel may still be writing), reduced by the CPU plane, copied back.

Nothing here runs without CuPy; the bucket plan, the checks and the ordering it follows are
buckets.py and optimizer.py, shared with (and tested on) the CPU path.
"""
from __future__ import annotations

import numpy as np

__all__ = ["DevicePlane"]

_NCCL_TYPES = {"int8": "NCCL_INT8", "uint8": "NCCL_UINT8", "int32": "NCCL_INT32", "uint32": "NCCL_UINT32",
               "int64": "NCCL_INT64", "uint64": "NCCL_UINT64", "float16": "NCCL_FLOAT16",
               "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64"}
_NCCL_OPS = {"sum": "NCCL_SUM", "prod": "NCCL_PROD", "max": "NCCL_MAX", "min": "NCCL_MIN"}

_THREADS = 256
_MAX_BLOCKS_X = 2048
_MAX_ARRAYS_PER_LAUNCH = 65535   # gridDim.y limit

# Pack / unpack, one launch per bucket. table (int64, 3*n): the arrays' device addresses, then their
# offsets in the flat buffer, then their element counts (all in units of T). blockIdx.y picks the
# array; the blocks along x stride over its elements, so small and large arrays share one launch.
_KERNEL = r"""
extern "C" __global__ void {name}(const long long* __restrict__ table, const long long n,
                                  {T}* __restrict__ buf, const {S} scale) {{
    const long long a = blockIdx.y;
    {T}* arr = reinterpret_cast<{T}*>(table[a]);
    const long long offset = table[n + a];
    const long long count = table[2 * n + a];
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {{
        {body};
    }}
}}
"""
_BODIES = {"pack_scaled": "buf[offset + i] = arr[i] * scale", "pack": "buf[offset + i] = arr[i]",
           "unpack": "arr[i] = buf[offset + i]"}
_SCALED = {"float32": ("float", "float"), "float64": ("double", "double")}
_WORDS = {1: "unsigned char", 2: "unsigned short", 4: "unsigned int", 8: "unsigned long long"}


class DevicePlane:
    kind = "device"

    def __init__(self, world, host, cp, use_nccl=None):
        """`host`: the CPU plane (staging and control). use_nccl: None uses NCCL where every rank has
        it, False never (the staged path), True requires it."""
        self.world, self.host, self.cp, self.xp = world, host, cp, cp
        self._kernels = {}
        self._pinned, self._pinned_nbytes = None, 0
        self._comm = None
        self.nccl = None
        if world.size > 1 and use_nccl is not False:
            nccl = _nccl_module()
            here = nccl is not None
            everywhere = bool(world.comm.allreduce(int(here), op=world.MPI.MIN))  # all ranks choose alike
            if everywhere:
                self.nccl = nccl
            elif use_nccl:
                raise RuntimeError("dlcore.distributed: NCCL is not available on every rank (CuPy's "
                                   "cupy.cuda.nccl); install it as CuPy's installation guide says, or let dlcore "
                                   "stage GPU buffers through host memory (use_nccl=None)")
        self.transport = "nccl" if self.nccl is not None else "staged"

    def close(self):
        if self._comm is not None:
            self._comm.destroy()
            self._comm = None
        self._pinned, self._pinned_nbytes = None, 0

    # ---- buffers ------------------------------------------------------------------------------
    def empty(self, n, dtype):
        return self.cp.empty(int(n), dtype=dtype)

    def _kernel(self, what, dtype):
        """(RawKernel, words per element, scale type) for packing / unpacking arrays of `dtype`."""
        key = (what, dtype.str)
        k = self._kernels.get(key)
        if k is None:
            if what == "pack_scaled":
                t, s = _SCALED[dtype.name]
                words = 1
            else:
                word = min(dtype.itemsize, 8)
                t, s, words = _WORDS[word], "float", dtype.itemsize // word
            name = f"dlcore_{what}_{t.replace(' ', '_')}"
            src = _KERNEL.format(name=name, T=t, S=s, body=_BODIES[what])
            k = (self.cp.RawKernel(src, name), words, np.float64 if s == "double" else np.float32)
            self._kernels[key] = k
        return k

    def _launch(self, what, dtype, buf, slots, arrays, scale=1.0):
        """One launch (per 65535 arrays) of the pack / unpack kernel over (slot, array) pairs."""
        cp = self.cp
        kernel, words, stype = self._kernel(what, dtype)
        pairs = [(s, a) for s, a in zip(slots, arrays) if s.size]
        for start in range(0, len(pairs), _MAX_ARRAYS_PER_LAUNCH):
            chunk = pairs[start:start + _MAX_ARRAYS_PER_LAUNCH]
            n = len(chunk)
            table = np.empty(3 * n, np.int64)
            table[:n] = [a.data.ptr for _, a in chunk]
            table[n:2 * n] = [s.offset * words for s, _ in chunk]
            table[2 * n:] = [s.size * words for s, _ in chunk]
            longest = int(table[2 * n:].max())
            blocks = (min(_MAX_BLOCKS_X, -(-longest // _THREADS)), n)
            kernel(blocks, (_THREADS,), (cp.asarray(table), np.int64(n), buf, stype(scale)))

    def pack(self, arrays, bucket, scale=1.0, out=None):
        """The arrays, times `scale`, end to end in one flat buffer: one kernel launch."""
        cp = self.cp
        buf = self.empty(bucket.size, bucket.dtype) if out is None else out
        # sources must be contiguous and of the bucket's dtype (a no-op for gradients, which are)
        srcs = [cp.ascontiguousarray(a, dtype=bucket.dtype) for a in arrays]
        scaled = scale != 1.0 and bucket.dtype.name in _SCALED
        self._launch("pack_scaled" if scaled else "pack", bucket.dtype, buf, bucket.slots, srcs, scale)
        if scale != 1.0 and not scaled:  # float16 / complex: scale the packed buffer in one more pass
            cp.multiply(buf, bucket.dtype.type(scale), out=buf)
        return buf

    @staticmethod
    def views(buf, bucket):
        return [buf[s.offset:s.offset + s.size].reshape(s.shape) for s in bucket.slots]

    def unpack(self, buf, bucket, arrays):
        """Copy the pieces of `buf` into `arrays` in place: one launch for the contiguous ones."""
        direct = [(s, a) for s, a in zip(bucket.slots, arrays) if a.flags.c_contiguous and a.dtype == bucket.dtype]
        if direct:
            self._launch("unpack", bucket.dtype, buf, [s for s, _ in direct], [a for _, a in direct])
        for s, a in zip(bucket.slots, arrays):
            if not (a.flags.c_contiguous and a.dtype == bucket.dtype):
                a[...] = buf[s.offset:s.offset + s.size].reshape(s.shape)

    # ---- collectives ----------------------------------------------------------------------------
    def _nccl_comm(self):
        """The NCCL communicator, created by every rank together on first use (id broadcast over MPI)."""
        if self._comm is None:
            w = self.world
            uid = self.nccl.get_unique_id() if w.rank == 0 else None
            uid = w.comm.bcast(uid, root=0)
            self._comm = self.nccl.NcclCommunicator(w.size, uid, w.rank)
        return self._comm

    def _stream(self):
        return self.cp.cuda.get_current_stream().ptr

    def _staged(self, buf, fn):
        """Run fn on a pinned host copy of buf, then copy the result back (all on the current stream)."""
        cp = self.cp
        if self._pinned_nbytes < buf.nbytes:
            self._pinned = cp.cuda.alloc_pinned_memory(buf.nbytes)
            self._pinned_nbytes = buf.nbytes
        host = np.frombuffer(self._pinned, dtype=buf.dtype, count=buf.size)
        stream = cp.cuda.get_current_stream()
        rt = cp.cuda.runtime
        rt.memcpyAsync(host.ctypes.data, buf.data.ptr, buf.nbytes, rt.memcpyDeviceToHost, stream.ptr)
        stream.synchronize()  # the copy has landed (and the kernels before it are done) before MPI reads
        fn(host)
        rt.memcpyAsync(buf.data.ptr, host.ctypes.data, buf.nbytes, rt.memcpyHostToDevice, stream.ptr)
        stream.synchronize()  # the pinned buffer is free again for the next call
        return buf

    def allreduce_(self, buf, op="sum"):
        if self.world.size == 1 or buf.size == 0:
            return buf
        if self.nccl is not None:
            target, nop = buf, op
            if buf.dtype == np.bool_:
                target, nop = buf.view(np.uint8), ("max" if op in ("sum", "max") else "min")
            elif buf.dtype.kind == "c" and op == "sum":
                target = buf.view(np.float32 if buf.dtype == np.complex64 else np.float64)
            if target.dtype.name in _NCCL_TYPES:
                n = self.nccl
                self._nccl_comm().allReduce(target.data.ptr, target.data.ptr, target.size,
                                            getattr(n, _NCCL_TYPES[target.dtype.name]), getattr(n, _NCCL_OPS[nop]),
                                            self._stream())
                return buf
        return self._staged(buf, lambda h: self.host.allreduce_(h, op))

    def bcast_(self, buf, root=0):
        if self.world.size == 1 or buf.size == 0:
            return buf
        if self.nccl is not None:
            self._nccl_comm().broadcast(buf.data.ptr, buf.data.ptr, buf.nbytes, self.nccl.NCCL_UINT8, root,
                                        self._stream())
            return buf
        return self._staged(buf, lambda h: self.host.bcast_(h, root))

    def allgatherv(self, buf, counts):
        cp = self.cp
        counts = [int(c) for c in counts]
        if self.world.size == 1:
            return buf.copy()
        if self.nccl is None:
            return cp.asarray(self.host.allgatherv(cp.asnumpy(buf), counts))  # asnumpy waits for the stream
        most = max(counts)
        if most == 0:
            return cp.empty(0, buf.dtype)
        send = buf
        if buf.size != most:  # NCCL gathers equal counts: pad to the longest, then cut the padding out
            send = cp.zeros(most, buf.dtype)
            send[:buf.size] = buf
        recv = cp.empty(most * self.world.size, buf.dtype)
        self._nccl_comm().allGather(send.data.ptr, recv.data.ptr, send.nbytes, self.nccl.NCCL_UINT8, self._stream())
        if all(c == most for c in counts):
            return recv
        return cp.concatenate([recv[r * most:r * most + c] for r, c in enumerate(counts)])


def _nccl_module():
    """CuPy's NCCL binding when NCCL is installed, else None."""
    try:
        from cupy.cuda import nccl
    except ImportError:
        return None
    return nccl if getattr(nccl, "available", False) else None
