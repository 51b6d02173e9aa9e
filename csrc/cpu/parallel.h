// Splitting a flat loop of n elements over the OpenMP pool, for the elementwise kernel families
// (activations, optimizer updates). Below kParallelThreshold elements one thread does it all: waking
// the pool costs a few microseconds, more than the loop itself.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "cpu/cpu.h"

namespace dlcore::cpu {

constexpr int64_t kParallelThreshold = int64_t(1) << 16;  // 64K elements

// Calls f(begin, end) on contiguous chunks covering [0, n), one per thread. Chunk starts are
// multiples of 64 elements (whole cache lines and SIMD vectors) so that only the last chunk has a
// vector tail.
template <class F>
void parallel_chunks(int64_t n, F&& f) {
  const int nt = n >= kParallelThreshold ? num_threads() : 1;
  if (nt <= 1) {
    f(int64_t(0), n);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const int64_t tid = omp_get_thread_num(), nth = omp_get_num_threads();
    const int64_t chunk = (n + nth - 1) / nth;
    const int64_t rounded = (chunk + 63) / 64 * 64;
    const int64_t begin = std::min(n, tid * rounded), end = std::min(n, begin + rounded);
    if (begin < end) f(begin, end);
  }
}

// Calls f(row) for every row in [0, rows), threaded when rows * row_cost reaches the threshold.
template <class F>
void parallel_rows(int64_t rows, int64_t row_cost, F&& f) {
  const int nt = rows > 1 && rows * row_cost >= kParallelThreshold ? num_threads() : 1;
  if (nt <= 1) {
    for (int64_t r = 0; r < rows; ++r) f(r);
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t r = 0; r < rows; ++r) f(r);
}

}  // namespace dlcore::cpu
