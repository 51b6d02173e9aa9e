// The float32 vector traits for AVX-512 (16 lanes), the V of cpu/simd_math.h. Include only from a
// translation unit compiled with the avx512 flags (a *_avx512.cpp file): the struct has internal
// linkage so that no other unit's copy can be merged with it.
//
// GCC 12's AVX-512 intrinsics build their results from _mm512_undefined_*() (a self-initialized
// variable), which -Wuninitialized reports as a false positive once inlined (GCC bug 105593, fixed
// in GCC 13); silenced in the units that include this header.
#pragma once
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

namespace dlcore::cpu {
namespace {

struct F32x16 {
  using R = __m512;
  using M = __mmask16;
  static constexpr int W = 16;
  static R set1(float x) { return _mm512_set1_ps(x); }
  static R loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, R v) { _mm512_storeu_ps(p, v); }
  static void stream(float* p, R v) { _mm512_stream_ps(p, v); }
  static void sfence() { _mm_sfence(); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R div(R a, R b) { return _mm512_div_ps(a, b); }
  static R rcp(R a) { return _mm512_rcp14_ps(a); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R fnma(R a, R b, R c) { return _mm512_fnmadd_ps(a, b, c); }
  static R max(R a, R b) { return _mm512_max_ps(a, b); }
  static R min(R a, R b) { return _mm512_min_ps(a, b); }
  static R abs(R a) { return _mm512_abs_ps(a); }
  static R round(R a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static R floor_half(R n) {
    return _mm512_roundscale_ps(_mm512_mul_ps(n, _mm512_set1_ps(0.5f)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  }
  static constexpr bool kScalef = true;
  static R scalef(R p, R n) { return _mm512_scalef_ps(p, n); }
  static R pow2(R n) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  static R frexp(R x, R& e) {
    const __m512i bits = _mm512_castps_si512(x);
    e = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(bits, 23), _mm512_set1_epi32(126)));
    const __m512i m = _mm512_or_si512(_mm512_and_si512(bits, _mm512_set1_epi32(0x007FFFFF)),
                                      _mm512_set1_epi32(0x3F000000));
    return _mm512_castsi512_ps(m);
  }
  static M gt(R a, R b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M ge(R a, R b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static M lt(R a, R b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M eq(R a, R b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static R sel(M m, R a, R b) { return _mm512_mask_blend_ps(m, b, a); }
  static R xorsign(R a, R x) {
    return _mm512_xor_ps(a, _mm512_and_ps(x, _mm512_castsi512_ps(_mm512_set1_epi32(int(0x80000000u)))));
  }
  static float hsum(R a) { return _mm512_reduce_add_ps(a); }
  static float hmax(R a) { return _mm512_reduce_max_ps(a); }
};

}  // namespace
}  // namespace dlcore::cpu
