// The GEMM framework: blocking, packing, threading and the epilogue around the per-ISA
// microkernels. The algorithm and the microkernel contract are described in gemm.h.
#include "cpu/gemm/gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "common/scalar_math.h"
#include "cpu/cpu.h"

namespace dlcore::cpu {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// A 64-byte aligned scratch buffer that grows and is reused across calls (one per thread), so a
// GEMM call does not pay for malloc + page faults of megabytes of packing space.
template <typename T>
struct Scratch {
  T* ptr = nullptr;
  int64_t cap = 0;
  T* get(int64_t n) {
    if (n > cap) {
      std::free(ptr);
      const size_t bytes = size_t(round_up(n * int64_t(sizeof(T)), 64));
      ptr = static_cast<T*>(std::aligned_alloc(64, bytes));
      if (!ptr) throw std::bad_alloc();
      cap = n;
    }
    return ptr;
  }
  ~Scratch() { std::free(ptr); }
};

template <typename T>
T* scratch_a(int64_t n) {
  thread_local Scratch<T> s;
  return s.get(n);
}
template <typename T>
T* scratch_b(int64_t n) {
  thread_local Scratch<T> s;
  return s.get(n);
}

// Pack rows [0, rows) x columns [0, kc) of A (element (i, p) at a[i*rs + p*cs]) into one MR-tall
// panel: dst[p*MR + i], rows >= `rows` zero-filled.
template <typename T>
void pack_a_panel(int64_t rows, int64_t kc, const T* a, int64_t rs, int64_t cs, int mr, T* dst) {
  if (rows < mr) std::memset(static_cast<void*>(dst), 0, sizeof(T) * size_t(kc * mr));
  if (cs == 1) {
    for (int64_t i = 0; i < rows; ++i) {
      const T* row = a + i * rs;
      for (int64_t p = 0; p < kc; ++p) dst[p * mr + i] = row[p];
    }
  } else {
    for (int64_t p = 0; p < kc; ++p) {
      const T* col = a + p * cs;
      for (int64_t i = 0; i < rows; ++i) dst[p * mr + i] = col[i * rs];
    }
  }
}

// Pack rows [0, kc) x columns [0, cols) of B (element (p, j) at b[p*rs + j*cs]) into one NR-wide
// panel: dst[p*NR + j], columns >= `cols` zero-filled.
template <typename T>
void pack_b_panel(int64_t kc, int64_t cols, const T* b, int64_t rs, int64_t cs, int nr, T* dst) {
  if (cs == 1) {
    for (int64_t p = 0; p < kc; ++p) {
      T* d = dst + p * nr;
      const T* s = b + p * rs;
      for (int64_t j = 0; j < cols; ++j) d[j] = s[j];
      for (int64_t j = cols; j < nr; ++j) d[j] = T(0);
    }
  } else {
    if (cols < nr) std::memset(static_cast<void*>(dst), 0, sizeof(T) * size_t(kc * nr));
    for (int64_t j = 0; j < cols; ++j) {
      const T* col = b + j * cs;
      for (int64_t p = 0; p < kc; ++p) dst[p * nr + j] = col[p * rs];
    }
  }
}

struct Blocking {
  int64_t kc, mc, nc;
};

template <typename T>
Blocking blocking_for(const GemmUkrInfo<T>& u) {
  const CacheSizes& cs = cache_sizes();
  const int64_t sz = sizeof(T);
  Blocking b;
  // A B micro-panel (KC x NR) fills about half of L1 ...
  b.kc = std::clamp<int64_t>((cs.l1d / 2) / (u.nr * sz) / 8 * 8, 64, 1024);
  // ... an A block (MC x KC) about half of L2 ...
  b.mc = std::max<int64_t>(u.mr, (cs.l2 / 2) / (b.kc * sz) / u.mr * u.mr);
  // ... and a B block (KC x NC) a quarter of L3 (shared by the threads).
  b.nc = std::clamp<int64_t>((cs.l3 / 4) / (b.kc * sz) / u.nr * u.nr, u.nr, 8192);
  return b;
}

template <typename T>
void scale_rows(T* c, int64_t ldc, int64_t m, int64_t n, T beta) {
  for (int64_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (beta == T(0))
      std::fill(row, row + n, T(0));
    else
      for (int64_t j = 0; j < n; ++j) row[j] *= beta;
  }
}

}  // namespace

template <typename T>
void apply_epilogue(T* c, int64_t ldc, int64_t m, int64_t n, const GemmEpilogue<T>& ep) {
  if (!ep.bias && ep.act == Activation::none) return;
  for (int64_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (ep.bias)
      for (int64_t j = 0; j < n; ++j) row[j] += ep.bias[j];
    switch (ep.act) {
      case Activation::relu:
        for (int64_t j = 0; j < n; ++j) row[j] = math::relu(row[j]);
        break;
      case Activation::sigmoid:
        for (int64_t j = 0; j < n; ++j) row[j] = math::sigmoid(row[j]);
        break;
      case Activation::tanh:
        for (int64_t j = 0; j < n; ++j) row[j] = math::tanh(row[j]);
        break;
      case Activation::none: break;
    }
  }
}

template <>
const GemmUkrInfo<float>& gemm_ukr<float>() {
  switch (active_isa()) {
    case Isa::avx512: return gemm_ukr_avx512_f32;
    case Isa::avx2: return gemm_ukr_avx2_f32;
    default: return gemm_ukr_generic_f32;
  }
}

template <>
const GemmUkrInfo<double>& gemm_ukr<double>() {
  switch (active_isa()) {
    case Isa::avx512: return gemm_ukr_avx512_f64;
    case Isa::avx2: return gemm_ukr_avx2_f64;
    default: return gemm_ukr_generic_f64;
  }
}

template <typename T>
void gemm(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rs_a, int64_t cs_a, const T* b,
          int64_t rs_b, int64_t cs_b, T beta, T* c, int64_t ldc, const GemmEpilogue<T>& ep,
          int max_threads) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == T(0)) {  // BLAS semantics: A and B are not read
    scale_rows(c, ldc, m, n, beta);
    apply_epilogue(c, ldc, m, n, ep);
    return;
  }
  const GemmUkrInfo<T>& u = gemm_ukr<T>();
  const int mr = u.mr, nr = u.nr;
  const Blocking blk = blocking_for(u);

  int nt = max_threads > 0 ? max_threads : num_threads();
  nt = std::min(nt, threads_for(2 * m * n * k));

  // Split the ic loop when every thread gets at least one full-height block of MR panels;
  // otherwise all threads share one A block and split the jr loop.
  int64_t n_ic = ceil_div(m, blk.mc);
  bool split_ic = false;
  int64_t mc_eff = std::min(blk.mc, round_up(m, mr));
  if (nt > 1 && m >= int64_t(nt) * 4 * mr) {
    n_ic = round_up(std::max<int64_t>(n_ic, nt), nt);
    mc_eff = round_up(ceil_div(m, n_ic), mr);
    n_ic = ceil_div(m, mc_eff);
    split_ic = n_ic >= nt;
  }

  const int64_t nc_max = std::min(blk.nc, round_up(n, nr));
  const int64_t kc_max = ceil_div(k, ceil_div(k, blk.kc));  // balanced K blocks
  T* bbuf = scratch_b<T>(kc_max * nc_max);
  T* abuf_shared = split_ic ? nullptr : scratch_a<T>(mc_eff * kc_max);

#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int tid = omp_get_thread_num(), nth = omp_get_num_threads();
    for (int64_t jc = 0; jc < n; jc += nc_max) {
      const int64_t nc = std::min(nc_max, n - jc);
      const int64_t n_panels = ceil_div(nc, nr);
      GemmEpilogue<T> ep_j = ep;
      if (ep.bias) ep_j.bias = ep.bias + jc;
      for (int64_t pc = 0; pc < k; pc += kc_max) {
        const int64_t kc = std::min(kc_max, k - pc);
        const T beta_p = pc == 0 ? beta : T(1);
        const bool last = pc + kc == k;

#pragma omp for schedule(static)
        for (int64_t jp = 0; jp < n_panels; ++jp)
          pack_b_panel(kc, std::min<int64_t>(nr, nc - jp * nr), b + pc * rs_b + (jc + jp * nr) * cs_b, rs_b,
                       cs_b, nr, bbuf + jp * nr * kc);

        // C[ic:ic+mc, jc + [jp0, jp1) panels] for the packed A block `ap`.
        auto macro = [&](int64_t ic, int64_t mc, const T* ap, int64_t jp0, int64_t jp1) {
          for (int64_t jp = jp0; jp < jp1; ++jp) {
            const int64_t jr = jp * nr, ncols = std::min<int64_t>(nr, nc - jr);
            const T* bp = bbuf + jr * kc;
            for (int64_t ir = 0; ir < mc; ir += mr) {
              const int64_t rows = std::min<int64_t>(mr, mc - ir);
              T* ct = c + (ic + ir) * ldc + jc + jr;
              u.ukr(rows, ncols, kc, ap + ir * kc, bp, ct, ldc, alpha, beta_p);
              if (last) {
                GemmEpilogue<T> ep_t = ep_j;
                if (ep_t.bias) ep_t.bias += jr;
                apply_epilogue(ct, ldc, rows, ncols, ep_t);
              }
            }
          }
        };
        auto pack_a_block = [&](int64_t ic, int64_t mc, T* ap, int64_t p0, int64_t p1) {
          for (int64_t ip = p0; ip < p1; ++ip)
            pack_a_panel(std::min<int64_t>(mr, mc - ip * mr), kc, a + (ic + ip * mr) * rs_a + pc * cs_a, rs_a,
                         cs_a, mr, ap + ip * mr * kc);
        };

        if (split_ic) {
          T* ap = scratch_a<T>(mc_eff * kc_max);
#pragma omp for schedule(static)
          for (int64_t bi = 0; bi < n_ic; ++bi) {
            const int64_t ic = bi * mc_eff, mc = std::min(mc_eff, m - ic);
            pack_a_block(ic, mc, ap, 0, ceil_div(mc, mr));
            macro(ic, mc, ap, 0, n_panels);
          }
        } else {
          for (int64_t ic = 0; ic < m; ic += mc_eff) {
            const int64_t mc = std::min(mc_eff, m - ic);
            const int64_t a_panels = ceil_div(mc, mr);
            pack_a_block(ic, mc, abuf_shared, a_panels * tid / nth, a_panels * (tid + 1) / nth);
#pragma omp barrier
            macro(ic, mc, abuf_shared, n_panels * tid / nth, n_panels * (tid + 1) / nth);
#pragma omp barrier
          }
        }
      }
    }
  }
}

template void gemm<float>(int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t, const float*,
                          int64_t, int64_t, float, float*, int64_t, const GemmEpilogue<float>&, int);
template void gemm<double>(int64_t, int64_t, int64_t, double, const double*, int64_t, int64_t, const double*,
                           int64_t, int64_t, double, double*, int64_t, const GemmEpilogue<double>&, int);
template void apply_epilogue<float>(float*, int64_t, int64_t, int64_t, const GemmEpilogue<float>&);
template void apply_epilogue<double>(double*, int64_t, int64_t, int64_t, const GemmEpilogue<double>&);

}  // namespace dlcore::cpu
