// Portable C++ GEMM microkernel (the reference kernel of the contract in gemm.h): plain loops over
// a small register tile that any compiler vectorizes for the baseline instruction set.
#include "cpu/gemm/gemm.h"

namespace dlcore::cpu {
namespace {

// acc (MR x NR) += the K loop run by steps(acc), then the m x n corner of C is written.
template <typename T, int MR, int NR, class Steps>
void tile_generic(int64_t m, int64_t n, Steps steps, T* c, int64_t ldc, T alpha, T beta) {
  T acc[MR][NR] = {};
  steps(acc);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      T& cij = c[i * ldc + j];
      const T r = alpha * acc[i][j];
      cij = beta == T(0) ? r : r + beta * cij;  // beta == 0: C is never read
    }
}

template <typename T, int MR, int NR, class AAt>
void step_generic(T (&acc)[MR][NR], const T* brow, AAt a_at) {
  for (int i = 0; i < MR; ++i) {
    const T ai = a_at(i);
    for (int j = 0; j < NR; ++j) acc[i][j] += ai * brow[j];
  }
}

template <typename T, int MR, int NR>
void ukr_generic(int64_t m, int64_t n, int64_t k, const T* a, const T* b, int64_t ldb, T* c, int64_t ldc, T alpha, T beta) {
  tile_generic<T, MR, NR>(
      m, n,
      [&](T(&acc)[MR][NR]) {
        for (int64_t p = 0; p < k; ++p) step_generic<T, MR, NR>(acc, b + p * ldb, [&](int i) { return a[p * MR + i]; });
      },
      c, ldc, alpha, beta);
}

template <typename T, int MR, int NR>
void ukr_rows_generic(int64_t m, int64_t n, int64_t taps, int64_t k, const T* const* a, const T* b, int64_t ldb, T* c,
                      int64_t ldc, T alpha, T beta) {
  tile_generic<T, MR, NR>(
      m, n,
      [&](T(&acc)[MR][NR]) {
        for (int64_t t = 0; t < taps; ++t)
          for (int64_t p = 0; p < k; ++p)
            step_generic<T, MR, NR>(acc, b + (t * k + p) * ldb, [&](int i) { return a[t * MR + i][p]; });
      },
      c, ldc, alpha, beta);
}

}  // namespace

const GemmUkrInfo<float> gemm_ukr_generic_f32[1] = {
    {&ukr_generic<float, 4, 16>, &ukr_rows_generic<float, 4, 16>, 4, 16, "generic 4x16"}};
const GemmUkrInfo<double> gemm_ukr_generic_f64{&ukr_generic<double, 4, 8>, &ukr_rows_generic<double, 4, 8>, 4, 8,
                                               "generic 4x8"};

}  // namespace dlcore::cpu
