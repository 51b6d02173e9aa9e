// The SIMD GEMM microkernel body, shared by the AVX2 and AVX-512 translation units: each includes
// this header after defining a vector-traits struct V for its instruction set, and is compiled
// with that ISA's flags. The contract is in gemm.h.
//
// Register blocking: an MR x (NV * W) tile of C lives in MR * NV vector registers for the whole
// K loop. Each step loads NV vectors of the B panel, broadcasts MR scalars of the A panel and
// issues MR * NV independent FMAs (enough to cover the FMA latency on both pipes).
//
// The C tile is prefetched before the K loop, so its cache misses overlap the arithmetic instead
// of stalling the stores at the end (C rows are ldc apart: each row is a separate miss).
//
// V provides: T, R (register), M (lane mask), W (lanes), zero, set1, load (aligned), loadu, storeu,
// bcast, fma(a, b, c) = a*b + c, mul, add, mask(n) (first min(n, W) lanes), loadm, storem, and
// sum4(r0, r1, r2, r3, out) (out[q] = the sum of the lanes of r_q).
// B rows are ldb apart (NR for a packed panel, the row stride of B when it is read in place), so B
// is read with unaligned loads, which cost nothing extra on aligned addresses.
#pragma once
#include <algorithm>
#include <cstdint>

#include "cpu/gemm/gemm.h"

namespace dlcore::cpu::simd {

// The tile body shared by both A layouts: `steps(acc)` runs the K loop into the MR x NV
// accumulators, then the tile is scaled and stored.
template <class V, int MR, int NV, class Steps>
inline void gemm_tile(int64_t m, int64_t n, Steps steps, typename V::T* c, int64_t ldc, typename V::T alpha,
                      typename V::T beta) {
  using T = typename V::T;
  using R = typename V::R;
  constexpr int W = V::W, NR = NV * W;

#pragma GCC unroll 64
  for (int i = 0; i < MR; ++i) {
    if (i >= m) break;
    __builtin_prefetch(c + i * ldc, 1);
    __builtin_prefetch(c + i * ldc + NR - 1, 1);
  }

  R acc[MR][NV];
#pragma GCC unroll 64
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();

  steps(acc);

  const R va = V::set1(alpha), vb = V::set1(beta);
  const bool read_c = beta != T(0);
  if (m == MR && n == NR) {
#pragma GCC unroll 64
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) {
        T* cp = c + i * ldc + j * W;
        R r = V::mul(acc[i][j], va);
        if (read_c) r = V::fma(vb, V::loadu(cp), r);
        V::storeu(cp, r);
      }
    return;
  }
  typename V::M mk[NV];
#pragma GCC unroll 8
  for (int j = 0; j < NV; ++j) mk[j] = V::mask(n - j * W);
#pragma GCC unroll 64
  for (int i = 0; i < MR; ++i) {
    if (i >= m) break;
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) {
      if (j * W >= n) break;
      T* cp = c + i * ldc + j * W;
      R r = V::mul(acc[i][j], va);
      if (read_c) r = V::fma(vb, V::loadm(cp, mk[j]), r);
      V::storem(cp, r, mk[j]);
    }
  }
}

// One K step of the tile: NV vectors of the B row at `brow`, MR broadcasts a_at(i).
template <class V, int MR, int NV, class AAt>
inline void gemm_step(typename V::R (&acc)[MR][NV], const typename V::T* brow, AAt a_at) {
  using R = typename V::R;
  R bv[NV];
#pragma GCC unroll 8
  for (int j = 0; j < NV; ++j) bv[j] = V::loadu(brow + j * V::W);
#pragma GCC unroll 64
  for (int i = 0; i < MR; ++i) {
    const R av = V::bcast(a_at(i));
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) acc[i][j] = V::fma(av, bv[j], acc[i][j]);
  }
}

// The packed-A microkernel (the contract in gemm.h).
template <class V, int MR, int NV>
void gemm_ukr(int64_t m, int64_t n, int64_t k, const typename V::T* a, const typename V::T* b, int64_t ldb,
              typename V::T* c, int64_t ldc, typename V::T alpha, typename V::T beta) {
  using R = typename V::R;
  gemm_tile<V, MR, NV>(
      m, n,
      [&](R(&acc)[MR][NV]) {
        for (int64_t p = 0; p < k; ++p) gemm_step<V, MR, NV>(acc, b + p * ldb, [&](int i) { return a + p * MR + i; });
      },
      c, ldc, alpha, beta);
}

// The row-pointer microkernel (the contract in gemm.h, "rows kernel"): A is read in place through
// MR row pointers per tap, so nothing of A is packed. An implicit-GEMM convolution hands it the
// input pixels of each filter tap (a zero row for taps in the padding).
template <class V, int MR, int NV>
void gemm_ukr_rows(int64_t m, int64_t n, int64_t taps, int64_t k, const typename V::T* const* a,
                   const typename V::T* b, int64_t ldb, typename V::T* c, int64_t ldc, typename V::T alpha,
                   typename V::T beta) {
  using T = typename V::T;
  using R = typename V::R;
  gemm_tile<V, MR, NV>(
      m, n,
      [&](R(&acc)[MR][NV]) {
        for (int64_t t = 0; t < taps; ++t) {
          const T* ar[MR];
#pragma GCC unroll 64
          for (int i = 0; i < MR; ++i) ar[i] = a[t * MR + i];
          const T* bt = b + t * k * ldb;
          for (int64_t p = 0; p < k; ++p) gemm_step<V, MR, NV>(acc, bt + p * ldb, [&](int i) { return ar[i] + p; });
        }
      },
      c, ldc, alpha, beta);
}

// The k-pointer microkernel (the contract in gemm.h): step p broadcasts rows i of A from a[p] +
// a_off + i. A full-height tile reads the MR values at constant offsets from one pointer per step;
// a shorter one (m < MR) reads row min(i, m - 1) for the rows past m, so that nothing past row m
// is read (their results are dropped).
template <class V, int MR, int NV>
void gemm_ukr_kptr(int64_t m, int64_t n, int64_t k, const typename V::T* const* a, int64_t a_off,
                   const typename V::T* b, int64_t ldb, typename V::T* c, int64_t ldc, typename V::T alpha,
                   typename V::T beta) {
  using T = typename V::T;
  using R = typename V::R;
  if (m == MR) {
    gemm_tile<V, MR, NV>(
        m, n,
        [&](R(&acc)[MR][NV]) {
          for (int64_t p = 0; p < k; ++p) {
            const T* ap = a[p] + a_off;
            gemm_step<V, MR, NV>(acc, b + p * ldb, [&](int i) { return ap + i; });
          }
        },
        c, ldc, alpha, beta);
    return;
  }
  int64_t row[MR];
  for (int i = 0; i < MR; ++i) row[i] = a_off + std::min<int64_t>(i, m - 1);
  gemm_tile<V, MR, NV>(
      m, n,
      [&](R(&acc)[MR][NV]) {
        for (int64_t p = 0; p < k; ++p) {
          const T* ap = a[p];
          gemm_step<V, MR, NV>(acc, b + p * ldb, [&](int i) { return ap + row[i]; });
        }
      },
      c, ldc, alpha, beta);
}

// The dot-product kernel for narrow problems (the contract is in gemm.h, "dot kernel"): an
// MR x NJ block of C (NJ <= 4, one instance per NJ) where every element is one dot product of
// length k, a row of A (read in place) with a row of B^T (packed). Vectors run along k, so no lane
// is wasted however small n is; each of the MR * NJ dot products keeps its own accumulator and is
// summed across lanes at the end.
template <class V, int MR, int NJ>
void gemm_dot_ukr(int64_t m, int64_t n, int64_t k, const typename V::T* a, int64_t lda, const typename V::T* bt,
                  int64_t ldbt, typename V::T* c, int64_t ldc, typename V::T alpha, typename V::T beta) {
  static_assert(NJ >= 1 && NJ <= 4, "sum4 reduces up to four accumulators at a time");
  using T = typename V::T;
  using R = typename V::R;
  constexpr int W = V::W;

  // Rows i >= m read row 0 again (always valid memory); their results are dropped.
  const T* ar[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) ar[i] = a + (i < m ? i : 0) * lda;

  R acc[MR][NJ];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NJ; ++j) acc[i][j] = V::zero();

  auto step = [&](int64_t p, auto load) {
    R bv[NJ];
#pragma GCC unroll 4
    for (int j = 0; j < NJ; ++j) bv[j] = load(bt + j * ldbt + p);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const R av = load(ar[i] + p);
#pragma GCC unroll 4
      for (int j = 0; j < NJ; ++j) acc[i][j] = V::fma(av, bv[j], acc[i][j]);
    }
  };
  int64_t p = 0;
  for (; p + W <= k; p += W) step(p, [](const T* x) { return V::loadu(x); });
  if (p < k) {  // the last k % W steps: masked loads read zeros past the end of each row
    const typename V::M mk = V::mask(k - p);
    step(p, [mk](const T* x) { return V::loadm(x, mk); });
  }

#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= m) break;
    // columns past NJ sum a zero register (the inner ?: keeps the index in bounds at compile time)
    const R z = V::zero();
    T s4[4];
    V::sum4(acc[i][0], NJ > 1 ? acc[i][NJ > 1 ? 1 : 0] : z, NJ > 2 ? acc[i][NJ > 2 ? 2 : 0] : z,
            NJ > 3 ? acc[i][NJ > 3 ? 3 : 0] : z, s4);
    T* crow = c + i * ldc;
    for (int64_t j = 0; j < n && j < NJ; ++j) crow[j] = beta == T(0) ? alpha * s4[j] : alpha * s4[j] + beta * crow[j];
  }
}

// The row-vector kernel (the contract in gemm.h): C (m <= 4 rows) := beta C + alpha A B with B
// streamed row by row. C's rows stay in L1/L2 while eight rows of B at a time are added into them:
// per vector of C, eight B loads, one C load and store, and 8 * m FMAs.
template <class V, int M>
void gemm_rowvec_m(int64_t n, int64_t k, const typename V::T* a, int64_t rs_a, int64_t cs_a, const typename V::T* b,
                   int64_t ldb, typename V::T* c, int64_t ldc, typename V::T alpha, typename V::T beta) {
  using T = typename V::T;
  using R = typename V::R;
  constexpr int W = V::W, P = 8;
  const int64_t nv = n / W * W;
  const typename V::M tail = V::mask(n - nv);
  for (int i = 0; i < M; ++i) {  // C := beta * C first (beta == 0: zeros, C not read)
    T* ci = c + i * ldc;
    if (beta == T(0))
      for (int64_t j = 0; j < n; ++j) ci[j] = T(0);
    else if (beta != T(1))
      for (int64_t j = 0; j < n; ++j) ci[j] *= beta;
  }
  int64_t p = 0;
  for (; p + P <= k; p += P) {
    R av[M][P];
    for (int i = 0; i < M; ++i)
      for (int q = 0; q < P; ++q) av[i][q] = V::set1(alpha * a[i * rs_a + (p + q) * cs_a]);
    const T* bp = b + p * ldb;
    auto step = [&](int64_t j, auto load, auto store) {
      R x[P];
      for (int q = 0; q < P; ++q) x[q] = load(bp + q * ldb + j);
      for (int i = 0; i < M; ++i) {
        T* cp = c + i * ldc + j;
        R r0 = V::fma(av[i][0], x[0], load(cp)), r1 = V::mul(av[i][1], x[1]);
        for (int q = 2; q < P; q += 2) {
          r0 = V::fma(av[i][q], x[q], r0);
          r1 = V::fma(av[i][q + 1], x[q + 1], r1);
        }
        store(cp, V::add(r0, r1));
      }
    };
    for (int64_t j = 0; j < nv; j += W)
      step(j, [](const T* x) { return V::loadu(x); }, [](T* x, R r) { V::storeu(x, r); });
    if (nv < n)
      step(nv, [tail](const T* x) { return V::loadm(x, tail); }, [tail](T* x, R r) { V::storem(x, r, tail); });
  }
  for (; p < k; ++p) {
    const T* bp = b + p * ldb;
    for (int i = 0; i < M; ++i) {
      const T ai = alpha * a[i * rs_a + p * cs_a];
      T* ci = c + i * ldc;
      for (int64_t j = 0; j < n; ++j) ci[j] += ai * bp[j];
    }
  }
}

template <class V>
void gemm_rowvec(int64_t m, int64_t n, int64_t k, const typename V::T* a, int64_t rs_a, int64_t cs_a,
                 const typename V::T* b, int64_t ldb, typename V::T* c, int64_t ldc, typename V::T alpha,
                 typename V::T beta) {
  switch (m) {
    case 1: return gemm_rowvec_m<V, 1>(n, k, a, rs_a, cs_a, b, ldb, c, ldc, alpha, beta);
    case 2: return gemm_rowvec_m<V, 2>(n, k, a, rs_a, cs_a, b, ldb, c, ldc, alpha, beta);
    case 3: return gemm_rowvec_m<V, 3>(n, k, a, rs_a, cs_a, b, ldb, c, ldc, alpha, beta);
    case 4: return gemm_rowvec_m<V, 4>(n, k, a, rs_a, cs_a, b, ldb, c, ldc, alpha, beta);
    default: return;
  }
}

// An ISA's table entries (gemm.h): the MR x (NV * W) tile kernels, and for the main tile also the
// dot kernels (DOT_MR rows, 1..4 columns) and its narrow variant. constexpr, so that the tables are
// initialized before any code runs.
template <class V, int MR, int NV>
constexpr GemmUkrInfo<typename V::T> ukr_info(const char* name) {
  return {&gemm_ukr<V, MR, NV>, &gemm_ukr_rows<V, MR, NV>, MR, NV * V::W, name, nullptr, {}, 0, nullptr, nullptr, 0,
          nullptr, &gemm_ukr_kptr<V, MR, NV>};
}

template <class V, int MR, int NV, int DOT_MR>
constexpr GemmUkrInfo<typename V::T> ukr_info_with_dot(const char* name,
                                                       const GemmUkrInfo<typename V::T>* narrow) {
  return {&gemm_ukr<V, MR, NV>,
          &gemm_ukr_rows<V, MR, NV>,
          MR,
          NV * V::W,
          name,
          narrow,
          {&gemm_dot_ukr<V, DOT_MR, 1>, &gemm_dot_ukr<V, DOT_MR, 2>, &gemm_dot_ukr<V, DOT_MR, 3>,
           &gemm_dot_ukr<V, DOT_MR, 4>},
          DOT_MR,
          &gemm_rowvec<V>,
          NV > 1 ? &gemm_ukr<V, MR, 1> : nullptr,
          NV > 1 ? V::W : 0,
          NV > 1 ? &gemm_ukr_rows<V, MR, 1> : nullptr,
          &gemm_ukr_kptr<V, MR, NV>};
}

}  // namespace dlcore::cpu::simd
