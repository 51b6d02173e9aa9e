// The SIMD activation kernels (float32), shared by the AVX2 and AVX-512 translation units: each
// defines a vector-traits struct V for its instruction set, includes this header and is compiled
// with that ISA's flags. Nothing here is called unless cpu::active_isa() allows it.
//
// V provides: R (register), M (lane mask), W (lanes); set1, loadu, storeu, stream (aligned
// non-temporal store) and sfence; rcp (reciprocal estimate, 12 bits or better); add, sub, mul, div,
// fma(a, b, c) = a*b + c, fnma(a, b, c) = c - a*b; max/min (NaN in the SECOND operand is returned),
// abs, round (to nearest even); gt, ge, lt (-> M), sel(m, a, b) = m ? a : b; pow2(n) = 2^n for
// integral n in [-126, 127]; frexp(x, &e) -> mantissa in [0.5, 1) and exponent (x > 0 normal);
// hsum, hmax (horizontal sum / max of the lanes); xorsign(a, x) = a with the sign of x flipped when
// x is negative.
//
// ---- The vector math and its accuracy -------------------------------------------------------------
// exp:  Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, Cephes' degree-6 polynomial for e^r, then
//       2^n applied as two factors 2^(n/2) so that gradual underflow and x up to ln(FLT_MAX) work.
//       x > 88.7228 -> inf, x < -103.98 -> 0, NaN -> NaN.
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

#include "common/scalar_math.h"
#include "cpu/activation.h"

namespace dlcore::cpu::simd {

// ---- vector math ----------------------------------------------------------------------------------

// The shared core of vexp and vexp_nonpositive: for a clamped x, n = round(x / ln2) and the
// polynomial p(r) ~ e^r on r = x - n ln2, so that e^x = p * 2^n.
template <class V>
inline typename V::R vexp_reduced(typename V::R xc, typename V::R& n) {
  using R = typename V::R;
  n = V::round(V::mul(xc, V::set1(1.44269504088896341f)));
  // r = x - n ln2, ln2 split in a part exact in float and the rest (Cody and Waite)
  R r = V::fnma(n, V::set1(0.693359375f), xc);
  r = V::fnma(n, V::set1(-2.12194440e-4f), r);
  R p = V::set1(1.9875691500e-4f);
  p = V::fma(p, r, V::set1(1.3981999507e-3f));
  p = V::fma(p, r, V::set1(8.3334519073e-3f));
  p = V::fma(p, r, V::set1(4.1665795894e-2f));
  p = V::fma(p, r, V::set1(1.6666665459e-1f));
  p = V::fma(p, r, V::set1(5.0000001201e-1f));
  return V::fma(p, V::mul(r, r), V::add(r, V::set1(1.0f)));
}

template <class V>
inline typename V::R vexp(typename V::R x) {
  using R = typename V::R;
  const R hi = V::set1(88.7228391f), lo = V::set1(-104.0f);
  const R xc = V::min(hi, V::max(lo, x));  // NaN passes through both (second operand)
  R n;
  const R p = vexp_reduced<V>(xc, n);
  // 2^n as 2^(n1) * 2^(n - n1), n1 = floor(n / 2): both factors stay normal for n in [-150, 128]
  const R n1 = V::floor_half(n), n2 = V::sub(n, n1);
  const R y = V::mul(V::mul(p, V::pow2(n1)), V::pow2(n2));
  return V::sel(V::gt(x, hi), V::set1(std::numeric_limits<float>::infinity()), y);
}

// exp(x) for x <= 0 only, the argument of every logistic function below (e^-|x|): no overflow
// to handle, and results under FLT_MIN (x < -87.34) flush to 0, so 2^n is one factor. Same
// polynomial and accuracy as vexp in the normal range; about a third fewer instructions.
template <class V>
inline typename V::R vexp_nonpositive(typename V::R x) {
  using R = typename V::R;
  const R lo = V::set1(-87.3365447f);  // ln(FLT_MIN)
  const R xc = V::max(lo, x);          // NaN passes through
  R n;
  const R p = vexp_reduced<V>(xc, n);
  return V::sel(V::lt(x, lo), V::set1(0.0f), V::mul(p, V::pow2(n)));
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
  const R e = vexp_nonpositive<V>(V::sub(V::set1(0.0f), V::add(ax, ax)));
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

// ---- loops with their tails -------------------------------------------------------------------------
// The last n % W elements go through a W-wide stack buffer padded with `pad`, so every function
// below runs the same vector code on every element.
//
// Streaming stores: an output of kStreamMin elements or more is far larger than the caches, so
// it is written with non-temporal stores that bypass them. A normal store first reads the line it
// writes (write-allocate): 12 bytes of traffic per float instead of 8 for y = f(x). The first
// elements, up to the vector alignment of y, go through the buffer path.
constexpr int64_t kStreamMin = int64_t(1) << 21;  // 8 MB of float32 output per call (per thread)

template <class V, class F>
inline void map1_part(const float* x, float* y, int64_t n, F f, float pad) {  // n < W
  alignas(64) float bx[V::W], by[V::W];
  for (int j = 0; j < V::W; ++j) bx[j] = j < n ? x[j] : pad;
  V::storeu(by, f(V::loadu(bx)));
  for (int j = 0; j < n; ++j) y[j] = by[j];
}

template <class V, class F>
inline void map2_part(const float* a, const float* b, float* y, int64_t n, F f) {  // n < W
  alignas(64) float ba[V::W], bb[V::W], by[V::W];
  for (int j = 0; j < V::W; ++j) {
    ba[j] = j < n ? a[j] : 0.0f;
    bb[j] = j < n ? b[j] : 0.0f;
  }
  V::storeu(by, f(V::loadu(ba), V::loadu(bb)));
  for (int j = 0; j < n; ++j) y[j] = by[j];
}

// Elements before y + i is aligned to a whole vector (0 when streaming is off or impossible).
template <class V>
inline int64_t stream_head(const float* y, int64_t n) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(y), bytes = sizeof(float) * V::W;
  if (n < kStreamMin || a % sizeof(float) != 0) return -1;
  return int64_t(((bytes - a % bytes) % bytes) / sizeof(float));
}

template <class V, class F>
inline void map1(const float* x, float* y, int64_t n, F f, float pad = 0.0f) {
  constexpr int W = V::W;
  int64_t i = 0;
  if (const int64_t head = stream_head<V>(y, n); head >= 0) {
    if (head) map1_part<V>(x, y, head, f, pad);
    for (i = head; i + W <= n; i += W) V::stream(y + i, f(V::loadu(x + i)));
    V::sfence();
  }
  for (; i + 2 * W <= n; i += 2 * W) {  // two vectors per step: independent chains for the FMA pipes
    const typename V::R a = f(V::loadu(x + i)), b = f(V::loadu(x + i + W));
    V::storeu(y + i, a);
    V::storeu(y + i + W, b);
  }
  for (; i + W <= n; i += W) V::storeu(y + i, f(V::loadu(x + i)));
  if (i < n) map1_part<V>(x + i, y + i, n - i, f, pad);
}

template <class V, class F>
inline void map2(const float* a, const float* b, float* y, int64_t n, F f) {
  constexpr int W = V::W;
  int64_t i = 0;
  if (const int64_t head = stream_head<V>(y, n); head >= 0) {
    if (head) map2_part<V>(a, b, y, head, f);
    for (i = head; i + W <= n; i += W) V::stream(y + i, f(V::loadu(a + i), V::loadu(b + i)));
    V::sfence();
  }
  for (; i + W <= n; i += W) V::storeu(y + i, f(V::loadu(a + i), V::loadu(b + i)));
  if (i < n) map2_part<V>(a + i, b + i, y + i, n - i, f);
}

// ---- the activations ------------------------------------------------------------------------------

template <class V>
void forward(Activation act, const float* x, float* y, int64_t n, float param) {
  using R = typename V::R;
  const R zero = V::set1(0.0f), p = V::set1(param);
  switch (act) {
    case Activation::relu:
      return map1<V>(x, y, n, [&](R v) { return V::max(zero, v); });
    case Activation::leaky_relu:
      return map1<V>(x, y, n, [&](R v) { return V::sel(V::gt(v, zero), v, V::mul(p, v)); });
    case Activation::elu:
      return map1<V>(x, y, n, [&](R v) { return V::sel(V::gt(v, zero), v, V::mul(p, vexpm1<V>(V::min(zero, v)))); });
    case Activation::gelu_erf:
      return map1<V>(x, y, n, [&](R v) { return V::mul(v, vnormal_cdf<V>(v)); });
    case Activation::gelu_tanh:
      return map1<V>(x, y, n, [&](R v) {
        const R u = V::mul(V::set1(float(math::kGeluTanhC)), V::fma(V::mul(V::set1(float(math::kGeluTanhA)), v), V::mul(v, v), v));
        return V::mul(v, vsigmoid<V>(V::add(u, u)));
      });
    case Activation::sigmoid:
      return map1<V>(x, y, n, [&](R v) { return vsigmoid<V>(v); });
    case Activation::tanh:
      return map1<V>(x, y, n, [&](R v) { return vtanh<V>(v); });
    case Activation::softplus:
      return map1<V>(x, y, n, [&](R v) {
        return V::add(V::max(zero, v), vlog1p01<V>(vexp<V>(V::sub(zero, V::abs(v)))));
      });
    case Activation::silu:
      return map1<V>(x, y, n, [&](R v) { return V::mul(v, vsigmoid<V>(v)); });
  }
}

template <class V>
void backward(Activation act, const float* dy, const float* z, float* dx, int64_t n, float param) {
  using R = typename V::R;
  const R zero = V::set1(0.0f), one = V::set1(1.0f), p = V::set1(param);
  switch (act) {
    case Activation::relu:  // z = y
      return map2<V>(dy, z, dx, n, [&](R g, R y) { return V::sel(V::gt(y, zero), g, zero); });
    case Activation::leaky_relu:
      return map2<V>(dy, z, dx, n, [&](R g, R x) { return V::sel(V::gt(x, zero), g, V::mul(p, g)); });
    case Activation::elu:
      return map2<V>(dy, z, dx, n, [&](R g, R x) {
        return V::sel(V::gt(x, zero), g, V::mul(g, V::mul(p, vexp<V>(V::min(zero, x)))));
      });
    case Activation::gelu_erf:
      return map2<V>(dy, z, dx, n, [&](R g, R x) {
        return V::mul(g, V::fma(x, vnormal_pdf<V>(x), vnormal_cdf<V>(x)));
      });
    case Activation::gelu_tanh:
      return map2<V>(dy, z, dx, n, [&](R g, R xin) {
        const R x = V::min(V::set1(50.0f), V::max(V::set1(-50.0f), xin));  // as math::gelu_tanh_grad
        const R x2 = V::mul(x, x);
        const R u = V::mul(V::set1(float(math::kGeluTanhC)), V::fma(V::mul(V::set1(float(math::kGeluTanhA)), x), x2, x));
        const R du = V::mul(V::set1(float(math::kGeluTanhC)), V::fma(V::set1(float(3 * math::kGeluTanhA)), x2, one));
        R s, sc;
        vsigmoid_pair<V>(V::add(u, u), s, sc);
        // s + x s (1 - s) 2 u'
        const R d = V::fma(V::mul(V::mul(x, s), sc), V::add(du, du), s);
        return V::mul(g, d);
      });
    case Activation::sigmoid:  // z = y
      return map2<V>(dy, z, dx, n, [&](R g, R y) { return V::mul(g, V::mul(y, V::sub(one, y))); });
    case Activation::tanh:  // z = y
      return map2<V>(dy, z, dx, n, [&](R g, R y) { return V::mul(g, V::fnma(y, y, one)); });
    case Activation::softplus:
      return map2<V>(dy, z, dx, n, [&](R g, R x) { return V::mul(g, vsigmoid<V>(x)); });
    case Activation::silu:
      return map2<V>(dy, z, dx, n, [&](R g, R x) {
        R s, sc;
        vsigmoid_pair<V>(x, s, sc);
        return V::mul(g, V::mul(s, V::fma(x, sc, one)));
      });
  }
}

// ---- softmax rows -----------------------------------------------------------------------------------

template <class V>
float row_max(const float* x, int64_t n) {
  constexpr int W = V::W;
  const float ninf = -std::numeric_limits<float>::infinity();
  typename V::R m = V::set1(ninf);
  int64_t i = 0;
  for (; i + W <= n; i += W) m = V::max(m, V::loadu(x + i));
  float r = V::hmax(m);
  for (; i < n; ++i) r = x[i] > r ? x[i] : r;
  return r;
}

// y = exp(x - shift) (stored when y != nullptr), returns the sum; shift is the row maximum, so every
// argument is <= 0
template <class V>
float exp_shift_sum(const float* x, float* y, int64_t n, float shift) {
  constexpr int W = V::W;
  using R = typename V::R;
  const R sh = V::set1(shift);
  R s0 = V::set1(0.0f), s1 = V::set1(0.0f);
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const R a = vexp_nonpositive<V>(V::sub(V::loadu(x + i), sh));
    const R b = vexp_nonpositive<V>(V::sub(V::loadu(x + i + W), sh));
    if (y) {
      V::storeu(y + i, a);
      V::storeu(y + i + W, b);
    }
    s0 = V::add(s0, a);
    s1 = V::add(s1, b);
  }
  for (; i + W <= n; i += W) {
    const R a = vexp_nonpositive<V>(V::sub(V::loadu(x + i), sh));
    if (y) V::storeu(y + i, a);
    s0 = V::add(s0, a);
  }
  float s = V::hsum(V::add(s0, s1));
  if (i < n) {
    alignas(64) float bx[W], by[W];
    for (int j = 0; j < W; ++j) bx[j] = i + j < n ? x[i + j] : shift;
    V::storeu(by, vexp_nonpositive<V>(V::sub(V::loadu(bx), sh)));
    for (int j = 0; i + j < n; ++j) {
      if (y) y[i + j] = by[j];
      s += by[j];
    }
  }
  return s;
}

template <class V>
void scale_add(float* y, int64_t n, float a, float b) {  // y = a * y + b
  using R = typename V::R;
  const R va = V::set1(a), vb = V::set1(b);
  map1<V>(y, y, n, [&](R v) { return V::fma(va, v, vb); });
}

template <class V>
void softmax_row(const float* x, float* y, int64_t n, bool log) {
  if (n == 0) return;
  const float m = row_max<V>(x, n);
  if (std::isinf(m)) {  // all -inf, or a +inf: defer to the scalar definition, element by element
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += std::exp(x[i] - m);
    for (int64_t i = 0; i < n; ++i) y[i] = log ? x[i] - m - std::log(s) : std::exp(x[i] - m) / s;
    return;
  }
  if (log) {  // (x - m) - log(sum): exact near the maximum (m + log(sum) would round to m's ulp)
    const float ls = std::log(exp_shift_sum<V>(x, nullptr, n, m));
    using R = typename V::R;
    const R vm = V::set1(m), vls = V::set1(ls);
    map1<V>(x, y, n, [&](R v) { return V::sub(V::sub(v, vm), vls); });
  } else {
    const float s = exp_shift_sum<V>(x, y, n, m);
    scale_add<V>(y, n, 1.0f / s, 0.0f);
  }
}

template <class V>
float row_dot(const float* a, const float* b, int64_t n) {
  constexpr int W = V::W;
  typename V::R s = V::set1(0.0f);
  int64_t i = 0;
  for (; i + W <= n; i += W) s = V::fma(V::loadu(a + i), b ? V::loadu(b + i) : V::set1(1.0f), s);
  float r = V::hsum(s);
  for (; i < n; ++i) r += a[i] * (b ? b[i] : 1.0f);
  return r;
}

template <class V>
void softmax_backward_row(const float* dy, const float* y, float* dx, int64_t n, bool log) {
  using R = typename V::R;
  if (log) {  // dx = dy - exp(y) * sum(dy)
    const R s = V::set1(row_dot<V>(dy, nullptr, n));
    map2<V>(dy, y, dx, n, [&](R g, R v) { return V::fnma(vexp_nonpositive<V>(v), s, g); });  // y <= 0
  } else {  // dx = y * (dy - sum(dy * y))
    const R s = V::set1(row_dot<V>(dy, y, n));
    map2<V>(dy, y, dx, n, [&](R g, R v) { return V::mul(v, V::sub(g, s)); });
  }
}

// g = scale * softmax(x); *shift = max(x); returns log(sum(exp(x - max))) (activation.h).
template <class V>
float xent_row(const float* x, float* g, int64_t n, float scale, float* shift) {
  *shift = 0.0f;
  if (n == 0) return -std::numeric_limits<float>::infinity();
  const float m = row_max<V>(x, n);
  *shift = m;
  if (std::isinf(m)) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += std::exp(x[i] - m);
    for (int64_t i = 0; i < n; ++i) g[i] = scale * std::exp(x[i] - m) / s;
    return std::log(s);
  }
  const float s = exp_shift_sum<V>(x, g, n, m);
  scale_add<V>(g, n, scale / s, 0.0f);
  return std::log(s);
}

template <class V>
void math_fn(int fn, const float* x, float* y, int64_t n) {
  using R = typename V::R;
  switch (fn) {
    case 0: return map1<V>(x, y, n, [](R v) { return vexp<V>(v); });
    case 1: return map1<V>(x, y, n, [](R v) { return vexpm1<V>(v); });
    case 2: return map1<V>(x, y, n, [](R v) { return vtanh<V>(v); });
    case 3: return map1<V>(x, y, n, [](R v) { return vlog1p01<V>(v); });
    case 4: return map1<V>(x, y, n, [](R v) { return verfc<V>(v); });
    default: return;
  }
}

template <class V>
constexpr ActKernelsF32 make_table(const char* name) {
  return ActKernelsF32{&forward<V>, &backward<V>, &softmax_row<V>, &softmax_backward_row<V>,
                       &xent_row<V>, &math_fn<V>, name};
}

}  // namespace dlcore::cpu::simd
