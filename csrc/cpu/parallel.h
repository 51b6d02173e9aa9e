// Splitting a flat loop of n elements over the thread pool (thread_pool.h), for the elementwise
// kernel families (activations, optimizer updates). Below kParallelThreshold elements one thread
// does it all: waking the pool costs a few microseconds, more than the loop itself.
#pragma once
#include <algorithm>
#include <cstdint>

#include "cpu/cpu.h"
#include "cpu/thread_pool.h"

namespace dlcore::cpu {

constexpr int64_t kParallelThreshold = int64_t(1) << 16;  // 64K elements

// Tasks per thread for a flat loop: a few, so that a thread the OS runs late (a neighbour's pool
// busy on the same cores) leaves its share to the others instead of holding up the call.
constexpr int kChunksPerThread = 4;

// Calls f(begin, end) on contiguous chunks covering [0, n). Chunk starts are multiples of 64
// elements (whole cache lines and SIMD vectors) so that only the last chunk has a vector tail.
template <class F>
void parallel_chunks(int64_t n, F&& f) {
  const int nt = n >= kParallelThreshold ? num_threads() : 1;
  if (nt <= 1) {
    f(int64_t(0), n);
    return;
  }
  const int64_t parts = int64_t(nt) * kChunksPerThread;
  const int64_t chunk = ((n + parts - 1) / parts + 63) / 64 * 64;
  parallel_tasks((n + chunk - 1) / chunk, nt, [&](int64_t q) { f(q * chunk, std::min(n, (q + 1) * chunk)); });
}

// Calls f(row) for every row in [0, rows), threaded when rows * row_cost reaches the threshold.
template <class F>
void parallel_rows(int64_t rows, int64_t row_cost, F&& f) {
  const int nt = rows > 1 && rows * row_cost >= kParallelThreshold ? num_threads() : 1;
  if (nt <= 1) {
    for (int64_t r = 0; r < rows; ++r) f(r);
    return;
  }
  parallel_ranges(rows, int64_t(nt) * kChunksPerThread, nt, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) f(r);
  });
}

}  // namespace dlcore::cpu
