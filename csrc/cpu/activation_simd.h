// The SIMD activation kernels (float32), shared by the AVX2 and AVX-512 translation units: each
// includes its ISA's vector traits (cpu/simd_f32_<isa>.h) and this header, and is compiled with that
// ISA's flags. Nothing here is called unless cpu::active_isa() allows it. The vector math (exp, tanh,
// sigmoid, ... and their measured accuracy) is in cpu/simd_math.h.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#include "common/scalar_math.h"
#include "cpu/activation.h"
#include "cpu/simd_math.h"

namespace dlcore::cpu::simd {

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
