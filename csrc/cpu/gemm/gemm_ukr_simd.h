// The SIMD GEMM microkernel body, shared by the AVX2 and AVX-512 translation units: each includes
// this header after defining a vector-traits struct V for its instruction set, and is compiled
// with that ISA's flags. The contract is in gemm.h.
//
// Register blocking: an MR x (NV * W) tile of C lives in MR * NV vector registers for the whole
// K loop. Each step loads NV vectors of the B panel, broadcasts MR scalars of the A panel and
// issues MR * NV independent FMAs (enough to cover the FMA latency on both pipes).
//
// V provides: T, R (register), M (lane mask), W (lanes), zero, set1, load (aligned), loadu, storeu,
// bcast, fma(a, b, c) = a*b + c, mul, mask(n) (first min(n, W) lanes), loadm, storem.
#pragma once
#include <cstdint>

namespace dlcore::cpu::simd {

template <class V, int MR, int NV>
void gemm_ukr(int64_t m, int64_t n, int64_t k, const typename V::T* a, const typename V::T* b,
              typename V::T* c, int64_t ldc, typename V::T alpha, typename V::T beta) {
  using T = typename V::T;
  using R = typename V::R;
  constexpr int W = V::W, NR = NV * W;

  R acc[MR][NV];
#pragma GCC unroll 64
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();

  for (int64_t p = 0; p < k; ++p) {
    R bv[NV];
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) bv[j] = V::load(b + p * NR + j * W);
#pragma GCC unroll 64
    for (int i = 0; i < MR; ++i) {
      const R av = V::bcast(a + p * MR + i);
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) acc[i][j] = V::fma(av, bv[j], acc[i][j]);
    }
  }

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

}  // namespace dlcore::cpu::simd
