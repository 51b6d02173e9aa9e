// AVX2 + FMA GEMM microkernels: f32 6 x 16 (12 ymm accumulators), f64 6 x 8.
#include <immintrin.h>

#include "cpu/gemm/gemm.h"
#include "cpu/gemm/gemm_ukr_simd.h"

namespace dlcore::cpu {
namespace {

struct F32x8 {
  using T = float;
  using R = __m256;
  using M = __m256i;
  static constexpr int W = 8;
  static R zero() { return _mm256_setzero_ps(); }
  static R set1(T x) { return _mm256_set1_ps(x); }
  static R load(const T* p) { return _mm256_load_ps(p); }
  static R loadu(const T* p) { return _mm256_loadu_ps(p); }
  static void storeu(T* p, R v) { _mm256_storeu_ps(p, v); }
  static R bcast(const T* p) { return _mm256_broadcast_ss(p); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static M mask(int64_t n) {
    const int v = n >= W ? W : n <= 0 ? 0 : int(n);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(v), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static R loadm(const T* p, M m) { return _mm256_maskload_ps(p, m); }
  static void storem(T* p, R v, M m) { _mm256_maskstore_ps(p, m, v); }
};

struct F64x4 {
  using T = double;
  using R = __m256d;
  using M = __m256i;
  static constexpr int W = 4;
  static R zero() { return _mm256_setzero_pd(); }
  static R set1(T x) { return _mm256_set1_pd(x); }
  static R load(const T* p) { return _mm256_load_pd(p); }
  static R loadu(const T* p) { return _mm256_loadu_pd(p); }
  static void storeu(T* p, R v) { _mm256_storeu_pd(p, v); }
  static R bcast(const T* p) { return _mm256_broadcast_sd(p); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_pd(a, b, c); }
  static R mul(R a, R b) { return _mm256_mul_pd(a, b); }
  static M mask(int64_t n) {
    const long long v = n >= W ? W : n <= 0 ? 0 : n;
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(v), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static R loadm(const T* p, M m) { return _mm256_maskload_pd(p, m); }
  static void storem(T* p, R v, M m) { _mm256_maskstore_pd(p, m, v); }
};

}  // namespace

const GemmUkrInfo<float> gemm_ukr_avx2_f32{&simd::gemm_ukr<F32x8, 6, 2>, 6, 16, "avx2 6x16"};
const GemmUkrInfo<double> gemm_ukr_avx2_f64{&simd::gemm_ukr<F64x4, 6, 2>, 6, 8, "avx2 6x8"};

}  // namespace dlcore::cpu
