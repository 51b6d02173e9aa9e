// AVX2 + FMA GEMM microkernels: f32 6 x 16 (12 ymm accumulators), f64 6 x 8; narrow 12 x 8 and
// 12 x 4 (12 accumulators of one vector each); dot kernels 2 x 4.
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
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static M mask(int64_t n) {
    const int v = n >= W ? W : n <= 0 ? 0 : int(n);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(v), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static R loadm(const T* p, M m) { return _mm256_maskload_ps(p, m); }
  static void storem(T* p, R v, M m) { _mm256_maskstore_ps(p, m, v); }
  static void sum4(R r0, R r1, R r2, R r3, T* out) {
    // a horizontal-add tree: after the third hadd each 128-bit half holds one partial sum of each input
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(r0, r1), _mm256_hadd_ps(r2, r3));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
  }
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
  static R add(R a, R b) { return _mm256_add_pd(a, b); }
  static M mask(int64_t n) {
    const long long v = n >= W ? W : n <= 0 ? 0 : n;
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(v), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static R loadm(const T* p, M m) { return _mm256_maskload_pd(p, m); }
  static void storem(T* p, R v, M m) { _mm256_maskstore_pd(p, m, v); }
  static void sum4(R r0, R r1, R r2, R r3, T* out) {
    const __m256d h01 = _mm256_hadd_pd(r0, r1), h23 = _mm256_hadd_pd(r2, r3);
    _mm256_storeu_pd(out, _mm256_add_pd(_mm256_permute2f128_pd(h01, h23, 0x20), _mm256_permute2f128_pd(h01, h23, 0x31)));
  }
};

}  // namespace

static constexpr GemmUkrInfo<float> narrow_f32 = simd::ukr_info<F32x8, 12, 1>("avx2 12x8");
static constexpr GemmUkrInfo<double> narrow_f64 = simd::ukr_info<F64x4, 12, 1>("avx2 12x4");
constexpr GemmUkrInfo<float> gemm_ukr_avx2_f32[1] = {
    simd::ukr_info_with_dot<F32x8, 6, 2, 2>("avx2 6x16", &narrow_f32),  // 12 of the 16 ymm registers
};
constexpr GemmUkrInfo<double> gemm_ukr_avx2_f64 =
    simd::ukr_info_with_dot<F64x4, 6, 2, 2>("avx2 6x8", &narrow_f64);

}  // namespace dlcore::cpu
