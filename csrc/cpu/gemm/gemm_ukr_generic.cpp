// Portable C++ GEMM microkernel (the reference kernel of the contract in gemm.h): plain loops over
// a small register tile that any compiler vectorizes for the baseline instruction set.
#include "cpu/gemm/gemm.h"

namespace dlcore::cpu {
namespace {

template <typename T, int MR, int NR>
void ukr_generic(int64_t m, int64_t n, int64_t k, const T* a, const T* b, int64_t ldb, T* c, int64_t ldc, T alpha, T beta) {
  T acc[MR][NR] = {};
  for (int64_t p = 0; p < k; ++p)
    for (int i = 0; i < MR; ++i) {
      const T ai = a[p * MR + i];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[p * ldb + j];
    }
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      T& cij = c[i * ldc + j];
      const T r = alpha * acc[i][j];
      cij = beta == T(0) ? r : r + beta * cij;  // beta == 0: C is never read
    }
}

}  // namespace

const GemmUkrInfo<float> gemm_ukr_generic_f32{&ukr_generic<float, 4, 16>, 4, 16, "generic 4x16"};
const GemmUkrInfo<double> gemm_ukr_generic_f64{&ukr_generic<double, 4, 8>, 4, 8, "generic 4x8"};

}  // namespace dlcore::cpu
