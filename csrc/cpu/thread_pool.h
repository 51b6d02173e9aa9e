// The one thread pool of the CPU kernels: a caller and up to num_threads() - 1 workers.
//
// Why not OpenMP: three things a library that shares its process with NumPy (OpenBLAS), PyTorch
// and data-loader workers needs, which libgomp does not give:
//   1. Good neighbour. After a parallel region libgomp's workers spin for milliseconds, and a team
//      waits at every barrier for every member. Beside OpenBLAS's or PyTorch's own spinning workers
//      on the same cores, a member the OS has not scheduled stalls everyone for a time slice:
//      measured, a 0.1 ms GEMM right after a NumPy matmul took 16 ms. Here a worker spins
//      briefly (kSpinNs) after its last task, then sleeps on a futex; and work is handed out as
//      tasks that whichever thread is running claims, the caller included, so a call never waits
//      for a thread that is not running: at worst the caller does every task itself.
//   2. fork. A kernel called in a forked child after the parent used libgomp hangs (the child has
//      the pool's bookkeeping but not its threads). pthread_atfork handlers here keep a fork from
//      landing in the middle of a call and give the child an empty pool, whose workers are started
//      again on its first parallel call, with the thread count set in the child.
//   3. One thread count that dlcore.set_num_threads, DLCORE_NUM_THREADS / OMP_NUM_THREADS (read by
//      dlcore._system at import) and threadpoolctl (through dlcore_get/set_num_threads, exported
//      with C linkage) all see.
//
// The unit of work is a task: parallel_tasks(n, nt, f) runs f(i) once for each i in [0, n) and
// returns when all have run. Tasks are claimed in order by the caller and by up to nt - 1 workers;
// f must not rely on two tasks running at the same time (no barrier inside a task) nor on which
// thread runs a task. Per-thread scratch (scratch.h) is per OS thread, so a thread that runs
// several tasks reuses its buffers; per-task buffers are indexed by the task number. Where an
// algorithm needs a barrier, it ends one parallel_tasks call and starts the next.
//
// A call made while the pool is busy (from inside a task, or from a second Python thread while
// another call runs) runs its tasks inline on the calling thread: nesting never deadlocks and never
// oversubscribes.
//
// This header is included by files compiled with AVX2 / AVX-512 flags: everything in it is a
// template over the caller's lambda or a declaration, so no inline function compiled with one ISA's
// flags can be merged into a caller compiled for another.
#pragma once
#include <cstdint>
#include <type_traits>

namespace dlcore::cpu {

// Threads the kernels use (the caller included); >= 1.
int pool_num_threads();
// Set it; n >= 1. Takes effect at the next call; workers are started as calls need them.
void pool_set_num_threads(int n);
// Workers started so far in this process (0 in a forked child until its first parallel call).
int pool_workers_started();

namespace pool_detail {
using TaskFn = void (*)(void* ctx, int64_t task);
// Runs fn(ctx, i) for i in [0, n) on up to nt threads; rethrows the first exception a task threw.
void run(int64_t n, int nt, TaskFn fn, void* ctx);
}  // namespace pool_detail

// f(i) for every i in [0, n), on up to nt threads (the caller included); nt <= 1 or n <= 1: inline.
template <class F>
void parallel_tasks(int64_t n, int nt, F&& f) {
  if (n <= 0) return;
  if (nt <= 1 || n == 1) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  pool_detail::run(
      n, nt, [](void* ctx, int64_t i) { (*static_cast<Fn*>(ctx))(i); },
      const_cast<void*>(static_cast<const void*>(&f)));
}

// f(begin, end) over [0, n) cut into `parts` contiguous ranges (as equal as possible), run as
// tasks on up to nt threads. Range q is [n * q / parts, n * (q + 1) / parts).
template <class F>
void parallel_ranges(int64_t n, int64_t parts, int nt, F&& f) {
  if (n <= 0) return;
  parts = parts < 1 ? 1 : parts > n ? n : parts;
  parallel_tasks(parts, nt, [&](int64_t q) { f(n * q / parts, n * (q + 1) / parts); });
}

// f(i) for every i in [0, n), the way `omp parallel for schedule(static)` would, but as a few
// contiguous ranges per thread claimed as tasks (a range, not an index, per claim: loops of
// sub-microsecond iterations stay cheap).
template <class F>
void parallel_for(int64_t n, int nt, F&& f) {
  parallel_ranges(n, int64_t(nt) * 4, nt, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) f(i);
  });
}

}  // namespace dlcore::cpu
