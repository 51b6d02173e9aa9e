#include "cpu/machine.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "cpu/cpu.h"
#include "cpu/gemm/gemm.h"
#include "cpu/thread_pool.h"

namespace dlcore::cpu {
namespace {

double wtime() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

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
    std::vector<float> s(size_t(nt), 0.f);
    const double t0 = wtime();
    parallel_tasks(nt, nt, [&](int64_t tid) { s[size_t(tid)] = loop(iters); });
    const double t = wtime() - t0;
    for (float v : s) sink = sink + v;
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
  // Each thread first touches the pages it copies later (the OS places them near it).
  parallel_ranges(n, nt, nt, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      src[i] = float(i & 1023);
      dst[i] = 0.f;
    }
  });
  std::vector<double> ts;
  for (int r = 0; r < reps + 1; ++r) {
    const double t0 = wtime();
    parallel_ranges(n, nt, nt, [&](int64_t lo, int64_t hi) {
      std::memcpy(dst + lo, src + lo, size_t(hi - lo) * sizeof(float));
    });
    if (r > 0) ts.push_back(wtime() - t0);  // the first pass is warm-up
  }
  std::sort(ts.begin(), ts.end());
  std::free(src);
  std::free(dst);
  return 2.0 * double(bytes) / ts[ts.size() / 2] / 1e9;
}

namespace {

// 64-byte aligned float buffer.
struct Floats {
  float* p;
  explicit Floats(int64_t n) : p(static_cast<float*>(std::aligned_alloc(64, size_t((n * 4 + 63) / 64 * 64)))) {
    if (!p) throw std::bad_alloc();
    for (int64_t i = 0; i < n; ++i) p[i] = float((i * 7) % 13) * 0.0625f - 0.375f;
  }
  ~Floats() { std::free(p); }
  Floats(const Floats&) = delete;
  Floats& operator=(const Floats&) = delete;
};

}  // namespace

double measure_gemm_gflops(int64_t m, int64_t n, int64_t k, int reps, int threads) {
  Floats a(m * k), b(k * n), c(m * n);
  double best = 0;
  for (int r = 0; r < reps + 1; ++r) {
    const double t0 = wtime();
    gemm<float>(m, n, k, 1.f, a.p, k, 1, b.p, n, 1, 0.f, c.p, n, {}, threads);
    const double t = wtime() - t0;
    if (r > 0) best = std::max(best, 2.0 * double(m) * double(n) * double(k) / t / 1e9);  // the first warms up
  }
  return best;
}

double measure_ukr_gflops(int variant, double seconds) {
  const GemmUkrInfo<float>& u = gemm_ukr_f32_variant(active_isa(), variant);
  constexpr int64_t kc = 256, panels = 8;
  Floats a(panels * u.mr * kc), b(kc * u.nr), c(panels * u.mr * u.nr);
  double best = 0;
  int64_t calls = 64;
  for (int round = 0; round < 40; ++round) {
    const double t0 = wtime();
    for (int64_t i = 0; i < calls; ++i) {
      const int64_t q = i % panels;
      u.ukr(u.mr, u.nr, kc, a.p + q * u.mr * kc, b.p, u.nr, c.p + q * u.mr * u.nr, u.nr, 1.f, 0.f);
    }
    const double t = wtime() - t0;
    best = std::max(best, 2.0 * double(u.mr * u.nr * kc) * double(calls) / t / 1e9);
    if (t < seconds / 8) calls *= 2;
    else if (round >= 3) break;
  }
  return best;
}

}  // namespace dlcore::cpu
