#include "cpu/machine.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cpu/cpu.h"

namespace dlcore::cpu {
namespace {

// Scalar fallback: 12 independent float chains (compilers keep them in registers).
float fma_loop_generic(int64_t iters) {
  float a[12];
  for (int i = 0; i < 12; ++i) a[i] = float(i);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = a[i] * 0.5f + 0.25f;
  float s = 0;
  for (float x : a) s += x;
  return s;
}

}  // namespace

double measure_peak_gflops(double seconds) {
  const Isa isa = active_isa();
  const int lanes = isa == Isa::avx512 ? 16 : isa == Isa::avx2 ? 8 : 1;
  auto loop = [&](int64_t iters) {
    return isa == Isa::avx512 ? fma_loop_avx512(iters) : isa == Isa::avx2 ? fma_loop_avx2(iters)
                                                                          : fma_loop_generic(iters);
  };
  const int nt = num_threads();
  int64_t iters = 1 << 16;
  double best = 0;
  volatile float sink = 0;
  // Grow the loop until one timing takes ~1/4 of the budget, then keep the best of a few runs.
  for (int round = 0; round < 40; ++round) {
    float s = 0;
    const double t0 = omp_get_wtime();
#pragma omp parallel num_threads(nt) reduction(+ : s)
    s += loop(iters);
    const double t = omp_get_wtime() - t0;
    sink = sink + s;
    best = std::max(best, double(nt) * double(iters) * 12.0 * lanes * 2.0 / t / 1e9);
    if (t < seconds / 4) iters *= 2;
    else if (round >= 3) break;
  }
  return best;
}

double measure_copy_gbps(int64_t bytes, int reps) {
  const int64_t n = bytes / int64_t(sizeof(float));
  float* src = static_cast<float*>(std::aligned_alloc(64, size_t(n) * sizeof(float)));
  float* dst = static_cast<float*>(std::aligned_alloc(64, size_t(n) * sizeof(float)));
  if (!src || !dst) {
    std::free(src);
    std::free(dst);
    return 0.0;
  }
  const int nt = num_threads();
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    src[i] = float(i & 1023);
    dst[i] = 0.f;
  }
  std::vector<double> ts;
  for (int r = 0; r < reps + 1; ++r) {
    const double t0 = omp_get_wtime();
#pragma omp parallel num_threads(nt)
    {
      const int tid = omp_get_thread_num(), nth = omp_get_num_threads();
      const int64_t lo = n * tid / nth, hi = n * (tid + 1) / nth;
      std::memcpy(dst + lo, src + lo, size_t(hi - lo) * sizeof(float));
    }
    if (r > 0) ts.push_back(omp_get_wtime() - t0);  // the first pass is warm-up
  }
  std::sort(ts.begin(), ts.end());
  std::free(src);
  std::free(dst);
  return 2.0 * double(bytes) / ts[ts.size() / 2] / 1e9;
}

}  // namespace dlcore::cpu
