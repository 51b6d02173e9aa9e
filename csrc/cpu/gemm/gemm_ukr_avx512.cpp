// AVX-512 GEMM microkernels: f32 8 x 32 (16 zmm accumulators), f64 8 x 16.
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
  static M mask(int64_t n) { return lanes16(n); }
  static R loadm(const T* p, M m) { return _mm512_maskz_loadu_ps(m, p); }
  static void storem(T* p, R v, M m) { _mm512_mask_storeu_ps(p, m, v); }
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
  static M mask(int64_t n) { return lanes8(n); }
  static R loadm(const T* p, M m) { return _mm512_maskz_loadu_pd(m, p); }
  static void storem(T* p, R v, M m) { _mm512_mask_storeu_pd(p, m, v); }
};

}  // namespace

const GemmUkrInfo<float> gemm_ukr_avx512_f32{&simd::gemm_ukr<F32x16, 8, 2>, 8, 32, "avx512 8x32"};
const GemmUkrInfo<double> gemm_ukr_avx512_f64{&simd::gemm_ukr<F64x8, 8, 2>, 8, 16, "avx512 8x16"};

}  // namespace dlcore::cpu
