// The float32 vector math shared by the SIMD kernels (activations, softmax, the recurrent gate
// passes): written once against a vector-traits struct V (cpu/simd_f32_avx2.h, cpu/simd_f32_avx512.h)
// and compiled in each translation unit that includes it with that ISA's flags.
//
// V provides: R (register), M (lane mask), W (lanes); set1, loadu, storeu, stream (aligned
// non-temporal store) and sfence; rcp (reciprocal estimate, 12 bits or better); add, sub, mul, div,
// fma(a, b, c) = a*b + c, fnma(a, b, c) = c - a*b; max/min (NaN in the SECOND operand is returned),
// abs, round (to nearest even); gt, ge, lt (-> M), sel(m, a, b) = m ? a : b; pow2(n) = 2^n for
// integral n in [-126, 127]; kScalef, true when scalef(p, n) = p * 2^n (n integral) is one
// instruction with IEEE overflow and gradual underflow; frexp(x, &e) -> mantissa in [0.5, 1) and
// exponent (x > 0 normal); hsum, hmax (horizontal sum / max of the lanes); xorsign(a, x) = a with
// the sign of x flipped when x is negative.
//
// ---- The vector math and its accuracy -------------------------------------------------------------
// exp:  Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, a degree-6 minimax polynomial for e^r,
//       then 2^n (scalef, or two factors 2^(n/2)) so that gradual underflow and x up to
//       ln(FLT_MAX) work. x > 88.7228 -> inf, x < -103.98 -> 0, NaN -> NaN.
//       Measured max relative error (tests/test_activation.py::test_vector_math_error, dense grid of
//       2^22 points on [-87, 88] vs float64): 1.19e-7 (AVX2 and AVX-512 alike); asserted <= 2.5e-7.
// tanh: |x| < 0.625: Cephes' odd polynomial x + x^3 P(x^2); else sign(x) (1 - e) / (1 + e), e = e^{-2|x|}.
//       Measured max relative error on a dense grid over [-12, 12] and tiny |x|: 1.79e-7; asserted
//       <= 2.5e-7.
// expm1 (elu): degree-8 Taylor polynomial for |x| < 0.5, e^x - 1 beyond (cancellation <= 2.6x).
//       Measured 2.34e-7 on [-0.9, 0.9]; asserted <= 4e-7.
// log1p on [0, 1] (softplus): Cephes' log polynomial with Kahan's correction log(u) * e / (u - 1).
//       Measured 1.58e-7; asserted <= 4e-7.
// sigmoid (also in silu, gelu-tanh, softplus'): e = exp(-|x|) by vexp_nonpositive, 1 / (1 + e) by
//       vrecip_1_2; measured 2.1e-7 (AVX-512), 2.5e-7 (AVX2) max relative error above FLT_MIN.
// erfc on [0, inf) (exact gelu): Numerical Recipes' erfcc, t exp(-z^2 + P(t)), t = 1 / (1 + z/2)
//       (fractional error 1.2e-7 in exact arithmetic). Measured 4.26e-7 on [0, 9]; asserted <= 6e-7.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

namespace dlcore::cpu::simd {

// ---- vector math ----------------------------------------------------------------------------------

// The shared core of vexp and vexp_nonpositive: for a clamped x, n = round(x / ln2) and the
// polynomial p(r) ~ e^r on r = x - n ln2, so that e^x = p * 2^n. The polynomial is 1 + r + r^2 P(r),
// P of degree 4 fitted for the least maximum relative error on |r| <= ln2/2 (Lawson's iteration on
// Chebyshev points): 3.1e-9 in exact arithmetic, far below float32 rounding, so its
// float32 error (1.18e-7) is the same as Cephes' degree-5 P's, one FMA cheaper.
template <class V>
inline typename V::R vexp_reduced(typename V::R xc, typename V::R& n) {
  using R = typename V::R;
  n = V::round(V::mul(xc, V::set1(1.44269504088896341f)));
  // r = x - n ln2, ln2 split in a part exact in float and the rest (Cody and Waite)
  R r = V::fnma(n, V::set1(0.693359375f), xc);
  r = V::fnma(n, V::set1(-2.12194440e-4f), r);
  R p = V::set1(1.38145383e-3f);
  p = V::fma(p, r, V::set1(8.36874545e-3f));
  p = V::fma(p, r, V::set1(4.16683890e-2f));
  p = V::fma(p, r, V::set1(1.66665211e-1f));
  p = V::fma(p, r, V::set1(4.99999940e-1f));
  return V::fma(p, V::mul(r, r), V::add(r, V::set1(1.0f)));
}

// e^x on every float. Where V has scalef (AVX-512: p * 2^n in one instruction, with overflow to inf
// and gradual underflow done by the hardware) that is the whole of it; otherwise 2^n is applied as
// two factors 2^(n/2) so that gradual underflow and x up to ln(FLT_MAX) work, and overflow is a
// select. x > 88.7228 -> inf, x < -103.98 -> 0, NaN -> NaN.
template <class V>
inline typename V::R vexp(typename V::R x) {
  using R = typename V::R;
  const R lo = V::set1(-104.0f);
  if constexpr (V::kScalef) {
    const R xc = V::min(V::set1(89.0f), V::max(lo, x));  // NaN passes through both (second operand)
    R n;
    const R p = vexp_reduced<V>(xc, n);
    return V::scalef(p, n);
  } else {
    const R hi = V::set1(88.7228391f);
    const R xc = V::min(hi, V::max(lo, x));
    R n;
    const R p = vexp_reduced<V>(xc, n);
    // 2^n as 2^(n1) * 2^(n - n1), n1 = floor(n / 2): both factors stay normal for n in [-150, 128]
    const R n1 = V::floor_half(n), n2 = V::sub(n, n1);
    const R y = V::mul(V::mul(p, V::pow2(n1)), V::pow2(n2));
    return V::sel(V::gt(x, hi), V::set1(std::numeric_limits<float>::infinity()), y);
  }
}

// exp(x) for x <= 0 only, the argument of every logistic function below (e^-|x|): no overflow to
// handle. With scalef, results under FLT_MIN are the hardware's gradual underflow; without it they
// flush to 0 (x < -87.34), so that 2^n is one factor. Same polynomial and accuracy as vexp in the
// normal range, with fewer instructions.
template <class V>
inline typename V::R vexp_nonpositive(typename V::R x) {
  using R = typename V::R;
  if constexpr (V::kScalef) {
    const R xc = V::max(V::set1(-105.0f), x);  // NaN passes through; e^-105 rounds to 0
    R n;
    const R p = vexp_reduced<V>(xc, n);
    return V::scalef(p, n);
  } else {
    const R lo = V::set1(-87.3365447f);  // ln(FLT_MIN)
    const R xc = V::max(lo, x);
    R n;
    const R p = vexp_reduced<V>(xc, n);
    return V::sel(V::lt(x, lo), V::set1(0.0f), V::mul(p, V::pow2(n)));
  }
}

// 1 / d for d in [1, 2]: the hardware reciprocal estimate refined by one Newton step,
// r' = r + r (1 - d r): error (estimate error)^2, under 1 ulp after rounding; cheaper than a divide.
// AVX-512's estimate has 14 bits (1/1 comes out exactly 1); AVX2's V::rcp is a true division.
template <class V>
inline typename V::R vrecip_1_2(typename V::R d) {
  const typename V::R r = V::rcp(d);
  return V::fma(r, V::fnma(d, r, V::set1(1.0f)), r);
}

template <class V>
inline typename V::R vexpm1(typename V::R x) {
  using R = typename V::R;
  R p = V::set1(1.0f / 40320);
  p = V::fma(p, x, V::set1(1.0f / 5040));
  p = V::fma(p, x, V::set1(1.0f / 720));
  p = V::fma(p, x, V::set1(1.0f / 120));
  p = V::fma(p, x, V::set1(1.0f / 24));
  p = V::fma(p, x, V::set1(1.0f / 6));
  p = V::fma(p, x, V::set1(0.5f));
  p = V::fma(p, x, V::set1(1.0f));
  p = V::mul(p, x);
  const R big = V::sub(vexp<V>(x), V::set1(1.0f));
  return V::sel(V::lt(V::abs(x), V::set1(0.5f)), p, big);
}

template <class V>
inline typename V::R vtanh(typename V::R x) {
  using R = typename V::R;
  const R ax = V::abs(x);
  // small |x|: x + x^3 P(x^2)
  const R z = V::mul(x, x);
  R p = V::set1(-5.70498872745e-3f);
  p = V::fma(p, z, V::set1(2.06390887954e-2f));
  p = V::fma(p, z, V::set1(-5.37397155531e-2f));
  p = V::fma(p, z, V::set1(1.33314422036e-1f));
  p = V::fma(p, z, V::set1(-3.33332819422e-1f));
  const R small = V::fma(V::mul(p, z), x, x);
  // large |x|: (1 - e) / (1 + e), e = exp(-2|x|) <= 0.29 (no cancellation; e = 0 gives exactly 1)
  const R e = vexp_nonpositive<V>(V::mul(ax, V::set1(-2.0f)));
  const R large = V::mul(V::sub(V::set1(1.0f), e), vrecip_1_2<V>(V::add(V::set1(1.0f), e)));
  return V::sel(V::lt(ax, V::set1(0.625f)), small, V::xorsign(large, x));
}

// natural log of u > 0 (normal, finite)
template <class V>
inline typename V::R vlog(typename V::R u) {
  using R = typename V::R;
  R e;
  R m = V::frexp(u, e);  // u = m 2^e, m in [0.5, 1)
  const auto below = V::lt(m, V::set1(0.707106781186547524f));
  e = V::sel(below, V::sub(e, V::set1(1.0f)), e);
  m = V::sel(below, V::sub(V::add(m, m), V::set1(1.0f)), V::sub(m, V::set1(1.0f)));
  const R z = V::mul(m, m);
  R p = V::set1(7.0376836292e-2f);
  p = V::fma(p, m, V::set1(-1.1514610310e-1f));
  p = V::fma(p, m, V::set1(1.1676998740e-1f));
  p = V::fma(p, m, V::set1(-1.2420140846e-1f));
  p = V::fma(p, m, V::set1(1.4249322787e-1f));
  p = V::fma(p, m, V::set1(-1.6668057665e-1f));
  p = V::fma(p, m, V::set1(2.0000714765e-1f));
  p = V::fma(p, m, V::set1(-2.4999993993e-1f));
  p = V::fma(p, m, V::set1(3.3333331174e-1f));
  R y = V::mul(V::mul(p, m), z);
  y = V::fma(e, V::set1(-2.12194440e-4f), y);
  y = V::fnma(V::set1(0.5f), z, y);
  R r = V::add(m, y);
  return V::fma(e, V::set1(0.693359375f), r);
}

// log(1 + e) for e in [0, 1]: log(u) * e / (u - 1), u = 1 + e rounded (Kahan), exact e when u == 1
template <class V>
inline typename V::R vlog1p01(typename V::R e) {
  using R = typename V::R;
  const R u = V::add(V::set1(1.0f), e);
  const R d = V::sub(u, V::set1(1.0f));
  const auto exact = V::eq(d, V::set1(0.0f));
  const R safe_d = V::sel(exact, V::set1(1.0f), d);
  const R r = V::mul(vlog<V>(u), V::div(e, safe_d));
  return V::sel(exact, e, r);
}

// erfc(z) for z >= 0
template <class V>
inline typename V::R verfc(typename V::R zin) {
  using R = typename V::R;
  const R z = V::min(V::set1(10.0f), zin);  // erfc(10) = 2e-45 underflows anyway; keeps z^2 finite
  const R t = V::div(V::set1(1.0f), V::fma(V::set1(0.5f), z, V::set1(1.0f)));
  R p = V::set1(0.17087277f);
  p = V::fma(p, t, V::set1(-0.82215223f));
  p = V::fma(p, t, V::set1(1.48851587f));
  p = V::fma(p, t, V::set1(-1.13520398f));
  p = V::fma(p, t, V::set1(0.27886807f));
  p = V::fma(p, t, V::set1(-0.18628806f));
  p = V::fma(p, t, V::set1(0.09678418f));
  p = V::fma(p, t, V::set1(0.37409196f));
  p = V::fma(p, t, V::set1(1.00002368f));
  p = V::fma(p, t, V::set1(-1.26551223f));
  // exp(P - z^2): an error d in the argument is a relative error d in the result, and rounding
  // z^2 ~ 81 to float alone costs 4e-6. So carry the argument as a float plus its rounding error:
  // z^2 = hi + lo exactly (fma), P - hi = s + e exactly (Knuth's TwoSum), exp(s) * (1 + e - lo).
  const R hi = V::mul(z, z), lo = V::fma(z, z, V::sub(V::set1(0.0f), hi));
  const R nhi = V::sub(V::set1(0.0f), hi);
  const R s = V::add(p, nhi), bb = V::sub(s, p);
  const R e = V::add(V::sub(p, V::sub(s, bb)), V::sub(nhi, bb));
  const R r = V::mul(V::mul(t, vexp<V>(s)), V::add(V::set1(1.0f), V::sub(e, lo)));
  // beyond the clamp erfc is below half the smallest float: 0, not erfc(10) (gelu(-1e30) is -0, not
  // -1e-15, and gelu(-inf) is NaN as on every other path, not -inf)
  return V::sel(V::gt(zin, V::set1(10.0f)), V::set1(0.0f), r);
}

// sigmoid(x) and 1 - sigmoid(x) from e = exp(-|x|) <= 1 (no overflow, no cancellation)
template <class V>
inline void vsigmoid_pair(typename V::R x, typename V::R& s, typename V::R& sc) {
  using R = typename V::R;
  const R e = vexp_nonpositive<V>(V::sub(V::set1(0.0f), V::abs(x)));
  const R d = vrecip_1_2<V>(V::add(V::set1(1.0f), e));
  const R ed = V::mul(e, d);
  const auto pos = V::ge(x, V::set1(0.0f));
  s = V::sel(pos, d, ed);
  sc = V::sel(pos, ed, d);
}

template <class V>
inline typename V::R vsigmoid(typename V::R x) {
  typename V::R s, sc;
  vsigmoid_pair<V>(x, s, sc);
  return s;
}

// Phi(x), the standard normal CDF, and phi(x) its density
template <class V>
inline typename V::R vnormal_cdf(typename V::R x) {
  using R = typename V::R;
  const R c = V::mul(V::set1(0.5f), verfc<V>(V::mul(V::abs(x), V::set1(0.70710678118654752f))));
  return V::sel(V::ge(x, V::set1(0.0f)), V::sub(V::set1(1.0f), c), c);
}
template <class V>
inline typename V::R vnormal_pdf(typename V::R x) {
  return V::mul(V::set1(0.39894228040143267794f), vexp<V>(V::mul(V::set1(-0.5f), V::mul(x, x))));
}

}  // namespace dlcore::cpu::simd
