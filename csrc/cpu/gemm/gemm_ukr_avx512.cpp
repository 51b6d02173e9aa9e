// AVX-512 GEMM microkernels: f32 8 x 32, 12 x 32 or 14 x 32 (16, 24 or 28 zmm accumulators; the
// tuning pass picks one), f64 8 x 16; narrow 16 x 16 and 16 x 8 (16 accumulators of one vector
// each); dot kernels 4 x 4.
#include <immintrin.h>

#include "cpu/gemm/gemm.h"
#include "cpu/gemm/gemm_ukr_simd.h"

namespace dlcore::cpu {
namespace {

inline __mmask16 lanes16(int64_t n) { return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? 0 : __mmask16((1u << n) - 1); }
inline __mmask8 lanes8(int64_t n) { return n >= 8 ? __mmask8(0xFF) : n <= 0 ? 0 : __mmask8((1u << n) - 1); }

struct F32x16 {
  using T = float;
  using R = __m512;
  using M = __mmask16;
  static constexpr int W = 16;
  static R zero() { return _mm512_setzero_ps(); }
  static R set1(T x) { return _mm512_set1_ps(x); }
  static R load(const T* p) { return _mm512_load_ps(p); }
  static R loadu(const T* p) { return _mm512_loadu_ps(p); }
  static void storeu(T* p, R v) { _mm512_storeu_ps(p, v); }
  static R bcast(const T* p) { return _mm512_set1_ps(*p); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static M mask(int64_t n) { return lanes16(n); }
  static R loadm(const T* p, M m) { return _mm512_maskz_loadu_ps(m, p); }
  static void storem(T* p, R v, M m) { _mm512_mask_storeu_ps(p, m, v); }
  static void sum4(R r0, R r1, R r2, R r3, T* out) {
    // 16 -> 8 lanes (add the 256-bit halves), then a horizontal-add tree: after the third hadd,
    // each 128-bit half holds one partial sum of each of the four inputs
    auto half = [](R r) { return _mm256_add_ps(_mm512_castps512_ps256(r), _mm512_extractf32x8_ps(r, 1)); };
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(half(r0), half(r1)), _mm256_hadd_ps(half(r2), half(r3)));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
  }
};

struct F64x8 {
  using T = double;
  using R = __m512d;
  using M = __mmask8;
  static constexpr int W = 8;
  static R zero() { return _mm512_setzero_pd(); }
  static R set1(T x) { return _mm512_set1_pd(x); }
  static R load(const T* p) { return _mm512_load_pd(p); }
  static R loadu(const T* p) { return _mm512_loadu_pd(p); }
  static void storeu(T* p, R v) { _mm512_storeu_pd(p, v); }
  static R bcast(const T* p) { return _mm512_set1_pd(*p); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_pd(a, b, c); }
  static R mul(R a, R b) { return _mm512_mul_pd(a, b); }
  static R add(R a, R b) { return _mm512_add_pd(a, b); }
  static M mask(int64_t n) { return lanes8(n); }
  static R loadm(const T* p, M m) { return _mm512_maskz_loadu_pd(m, p); }
  static void storem(T* p, R v, M m) { _mm512_mask_storeu_pd(p, m, v); }
  static void sum4(R r0, R r1, R r2, R r3, T* out) {
    auto half = [](R r) { return _mm256_add_pd(_mm512_castpd512_pd256(r), _mm512_extractf64x4_pd(r, 1)); };
    const __m256d h01 = _mm256_hadd_pd(half(r0), half(r1)), h23 = _mm256_hadd_pd(half(r2), half(r3));
    _mm256_storeu_pd(out, _mm256_add_pd(_mm256_permute2f128_pd(h01, h23, 0x20), _mm256_permute2f128_pd(h01, h23, 0x31)));
  }
};

}  // namespace

static constexpr GemmUkrInfo<float> narrow_f32 = simd::ukr_info<F32x16, 16, 1>("avx512 16x16");
static constexpr GemmUkrInfo<double> narrow_f64 = simd::ukr_info<F64x8, 16, 1>("avx512 16x8");
constexpr GemmUkrInfo<float> gemm_ukr_avx512_f32[3] = {
    simd::ukr_info_with_dot<F32x16, 8, 2, 4>("avx512 8x32", &narrow_f32),    // 16 accumulators
    simd::ukr_info_with_dot<F32x16, 12, 2, 4>("avx512 12x32", &narrow_f32),  // 24
    simd::ukr_info_with_dot<F32x16, 14, 2, 4>("avx512 14x32", &narrow_f32),  // 28 (+ 2 B + 1 broadcast = 31 zmm)
};
constexpr GemmUkrInfo<double> gemm_ukr_avx512_f64 =
    simd::ukr_info_with_dot<F64x8, 8, 2, 4>("avx512 8x16", &narrow_f64);

}  // namespace dlcore::cpu
