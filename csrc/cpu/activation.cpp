// CPU activations, forward and backward, and softmax / log-softmax along any axis.
// The contract (shapes, which backward takes x and which y) is in activation.h; the SIMD float32
// kernels are in activation_simd.h. This file holds the portable kernels (float64 always, float32
// when the ISA is "generic"), the dispatch to the active ISA's table, and the threading.
#include "cpu/activation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/scalar_math.h"
#include "cpu/cpu.h"
#include "cpu/parallel.h"

namespace dlcore::cpu {
namespace {

// ---- portable kernels: the scalar math of common/scalar_math.h in plain loops --------------------

template <typename T>
void forward_portable(Activation act, const T* x, T* y, int64_t n, T p) {
  switch (act) {
    case Activation::relu: for (int64_t i = 0; i < n; ++i) y[i] = math::relu(x[i]); break;
    case Activation::leaky_relu: for (int64_t i = 0; i < n; ++i) y[i] = math::leaky_relu(x[i], p); break;
    case Activation::elu: for (int64_t i = 0; i < n; ++i) y[i] = math::elu(x[i], p); break;
    case Activation::gelu_erf: for (int64_t i = 0; i < n; ++i) y[i] = math::gelu_erf(x[i]); break;
    case Activation::gelu_tanh: for (int64_t i = 0; i < n; ++i) y[i] = math::gelu_tanh(x[i]); break;
    case Activation::sigmoid: for (int64_t i = 0; i < n; ++i) y[i] = math::sigmoid(x[i]); break;
    case Activation::tanh: for (int64_t i = 0; i < n; ++i) y[i] = math::tanh(x[i]); break;
    case Activation::softplus: for (int64_t i = 0; i < n; ++i) y[i] = math::softplus(x[i]); break;
    case Activation::silu: for (int64_t i = 0; i < n; ++i) y[i] = math::silu(x[i]); break;
  }
}

template <typename T>
void backward_portable(Activation act, const T* dy, const T* z, T* dx, int64_t n, T p) {
  switch (act) {
    case Activation::relu: for (int64_t i = 0; i < n; ++i) dx[i] = math::relu_backward(dy[i], z[i]); break;
    case Activation::leaky_relu: for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * math::leaky_relu_grad(z[i], p); break;
    case Activation::elu: for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * math::elu_grad(z[i], p); break;
    case Activation::gelu_erf: for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * math::gelu_erf_grad(z[i]); break;
    case Activation::gelu_tanh: for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * math::gelu_tanh_grad(z[i]); break;
    case Activation::sigmoid:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * math::sigmoid_grad_from_output(z[i]);
      break;
    case Activation::tanh: for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * math::tanh_grad_from_output(z[i]); break;
    case Activation::softplus: for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * math::softplus_grad(z[i]); break;
    case Activation::silu: for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * math::silu_grad(z[i]); break;
  }
}

// One softmax row: y = exp(x - max) / sum, or log_softmax y = (x - max) - log(sum): x - max is exact
// near the maximum, and subtracting max + log(sum) instead would round that sum to max's ulp (a
// relative error of ~4e-5 at logits near 1000 in float32).
template <typename T>
void softmax_row_portable(const T* x, T* y, int64_t n, bool log) {
  if (n == 0) return;
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  if (std::isinf(m) && m < 0) m = T(0);  // a row of -inf: exp(-inf) = 0 everywhere, sum 0 -> NaN like the formula
  T s = 0;
  if (log) {
    for (int64_t i = 0; i < n; ++i) s += std::exp(x[i] - m);
    const T ls = std::log(s);
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - ls;
  } else {
    for (int64_t i = 0; i < n; ++i) s += (y[i] = std::exp(x[i] - m));
    const T r = T(1) / s;
    for (int64_t i = 0; i < n; ++i) y[i] *= r;
  }
}

template <typename T>
void softmax_backward_row_portable(const T* dy, const T* y, T* dx, int64_t n, bool log) {
  T s = 0;
  if (log) {
    for (int64_t i = 0; i < n; ++i) s += dy[i];
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] - std::exp(y[i]) * s;
  } else {
    for (int64_t i = 0; i < n; ++i) s += dy[i] * y[i];
    for (int64_t i = 0; i < n; ++i) dx[i] = y[i] * (dy[i] - s);
  }
}

template <typename T>
T xent_row_portable(const T* x, T* g, int64_t n, T scale, T* shift) {
  *shift = T(0);
  if (n == 0) return -std::numeric_limits<T>::infinity();
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  if (std::isinf(m) && m < 0) m = T(0);
  T s = 0;
  for (int64_t i = 0; i < n; ++i) s += (g[i] = std::exp(x[i] - m));
  const T r = scale / s;
  for (int64_t i = 0; i < n; ++i) g[i] *= r;
  *shift = m;
  return std::log(s);
}

void math_portable(int fn, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    switch (fn) {
      case 0: y[i] = std::exp(x[i]); break;
      case 1: y[i] = std::expm1(x[i]); break;
      case 2: y[i] = std::tanh(x[i]); break;
      case 3: y[i] = std::log1p(x[i]); break;
      case 4: y[i] = std::erfc(x[i]); break;
      default: y[i] = x[i];
    }
  }
}

// ---- dispatch: float32 through the active ISA's table, float64 through the portable kernels -------

template <typename T>
struct Kernels;

template <>
struct Kernels<float> {
  static const ActKernelsF32& k() { return act_kernels_f32(); }
  static void forward(Activation a, const float* x, float* y, int64_t n, float p) { k().forward(a, x, y, n, p); }
  static void backward(Activation a, const float* dy, const float* z, float* dx, int64_t n, float p) {
    k().backward(a, dy, z, dx, n, p);
  }
  static void softmax_row(const float* x, float* y, int64_t n, bool log) { k().softmax_row(x, y, n, log); }
  static void softmax_backward_row(const float* dy, const float* y, float* dx, int64_t n, bool log) {
    k().softmax_backward_row(dy, y, dx, n, log);
  }
  static float xent_row(const float* x, float* g, int64_t n, float s, float* shift) {
    return k().xent_row(x, g, n, s, shift);
  }
  static void exp_inplace(float* y, int64_t n) { k().math(0, y, y, n); }
};

template <>
struct Kernels<double> {
  static void forward(Activation a, const double* x, double* y, int64_t n, double p) {
    forward_portable(a, x, y, n, p);
  }
  static void backward(Activation a, const double* dy, const double* z, double* dx, int64_t n, double p) {
    backward_portable(a, dy, z, dx, n, p);
  }
  static void softmax_row(const double* x, double* y, int64_t n, bool log) { softmax_row_portable(x, y, n, log); }
  static void softmax_backward_row(const double* dy, const double* y, double* dx, int64_t n, bool log) {
    softmax_backward_row_portable(dy, y, dx, n, log);
  }
  static double xent_row(const double* x, double* g, int64_t n, double s, double* shift) {
    return xent_row_portable(x, g, n, s, shift);
  }
  static void exp_inplace(double* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = std::exp(y[i]);
  }
};

// ---- softmax along an inner axis (inner > 1): vectorized across the contiguous inner dimension ----
//
// For one outer index and a block of inner columns [j0, j1): m_j = max_k x[k, j]; y[k, j] = x[k, j] - m_j,
// exponentiated in place one contiguous segment at a time; s_j = sum_k y[k, j]; then normalize.
constexpr int64_t kInnerBlock = 512;

template <typename T>
void softmax_inner_block(const T* x, T* y, int64_t n, int64_t inner, int64_t j0, int64_t j1, bool log) {
  const int64_t w = j1 - j0;
  T m[kInnerBlock], s[kInnerBlock];
  for (int64_t j = 0; j < w; ++j) m[j] = -std::numeric_limits<T>::infinity(), s[j] = T(0);
  for (int64_t k = 0; k < n; ++k)
    for (int64_t j = 0; j < w; ++j) m[j] = std::max(m[j], x[k * inner + j0 + j]);
  for (int64_t j = 0; j < w; ++j)
    if (std::isinf(m[j]) && m[j] < 0) m[j] = T(0);
  for (int64_t k = 0; k < n; ++k) {
    T* yk = y + k * inner + j0;
    const T* xk = x + k * inner + j0;
    if (log) {
      // keep x - m in y; the exp goes to a scratch row
      T e[kInnerBlock];
      for (int64_t j = 0; j < w; ++j) e[j] = yk[j] = xk[j] - m[j];
      Kernels<T>::exp_inplace(e, w);
      for (int64_t j = 0; j < w; ++j) s[j] += e[j];
    } else {
      for (int64_t j = 0; j < w; ++j) yk[j] = xk[j] - m[j];
      Kernels<T>::exp_inplace(yk, w);
      for (int64_t j = 0; j < w; ++j) s[j] += yk[j];
    }
  }
  for (int64_t j = 0; j < w; ++j) s[j] = log ? std::log(s[j]) : T(1) / s[j];
  for (int64_t k = 0; k < n; ++k) {
    T* yk = y + k * inner + j0;
    if (log)
      for (int64_t j = 0; j < w; ++j) yk[j] -= s[j];
    else
      for (int64_t j = 0; j < w; ++j) yk[j] *= s[j];
  }
}

template <typename T>
void softmax_backward_inner_block(const T* dy, const T* y, T* dx, int64_t n, int64_t inner, int64_t j0,
                                  int64_t j1, bool log) {
  const int64_t w = j1 - j0;
  T s[kInnerBlock];
  for (int64_t j = 0; j < w; ++j) s[j] = T(0);
  for (int64_t k = 0; k < n; ++k) {
    const T *dyk = dy + k * inner + j0, *yk = y + k * inner + j0;
    if (log)
      for (int64_t j = 0; j < w; ++j) s[j] += dyk[j];
    else
      for (int64_t j = 0; j < w; ++j) s[j] += dyk[j] * yk[j];
  }
  for (int64_t k = 0; k < n; ++k) {
    const T *dyk = dy + k * inner + j0, *yk = y + k * inner + j0;
    T* dxk = dx + k * inner + j0;
    if (log) {
      T e[kInnerBlock];
      for (int64_t j = 0; j < w; ++j) e[j] = yk[j];
      Kernels<T>::exp_inplace(e, w);
      for (int64_t j = 0; j < w; ++j) dxk[j] = dyk[j] - e[j] * s[j];
    } else {
      for (int64_t j = 0; j < w; ++j) dxk[j] = yk[j] * (dyk[j] - s[j]);
    }
  }
}

}  // namespace

const ActKernelsF32 act_kernels_generic_f32{&forward_portable<float>, &backward_portable<float>,
                                            &softmax_row_portable<float>, &softmax_backward_row_portable<float>,
                                            &xent_row_portable<float>, &math_portable, "generic"};

const ActKernelsF32& act_kernels_f32() {
  switch (active_isa()) {
    case Isa::avx512: return act_kernels_avx512_f32;
    case Isa::avx2: return act_kernels_avx2_f32;
    default: return act_kernels_generic_f32;
  }
}

template <typename T>
void activation_forward(Activation act, const T* x, T* y, int64_t n, T param) {
  parallel_chunks(n, [&](int64_t b, int64_t e) { Kernels<T>::forward(act, x + b, y + b, e - b, param); });
}

template <typename T>
void activation_backward(Activation act, const T* dy, const T* z, T* dx, int64_t n, T param) {
  parallel_chunks(n, [&](int64_t b, int64_t e) { Kernels<T>::backward(act, dy + b, z + b, dx + b, e - b, param); });
}

template <typename T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  if (outer == 0 || n == 0 || inner == 0) return;
  if (inner == 1) {
    parallel_rows(outer, n, [&](int64_t r) { Kernels<T>::softmax_row(x + r * n, y + r * n, n, log); });
    return;
  }
  const int64_t blocks = (inner + kInnerBlock - 1) / kInnerBlock;
  parallel_rows(outer * blocks, n * std::min(inner, kInnerBlock), [&](int64_t t) {
    const int64_t o = t / blocks, j0 = (t % blocks) * kInnerBlock, j1 = std::min(inner, j0 + kInnerBlock);
    softmax_inner_block(x + o * n * inner, y + o * n * inner, n, inner, j0, j1, log);
  });
}

template <typename T>
void softmax_backward(const T* dy, const T* y, T* dx, int64_t outer, int64_t n, int64_t inner, bool log) {
  if (outer == 0 || n == 0 || inner == 0) return;
  if (inner == 1) {
    parallel_rows(outer, n, [&](int64_t r) {
      Kernels<T>::softmax_backward_row(dy + r * n, y + r * n, dx + r * n, n, log);
    });
    return;
  }
  const int64_t blocks = (inner + kInnerBlock - 1) / kInnerBlock;
  parallel_rows(outer * blocks, n * std::min(inner, kInnerBlock), [&](int64_t t) {
    const int64_t o = t / blocks, j0 = (t % blocks) * kInnerBlock, j1 = std::min(inner, j0 + kInnerBlock);
    const int64_t off = o * n * inner;
    softmax_backward_inner_block(dy + off, y + off, dx + off, n, inner, j0, j1, log);
  });
}

template <typename T>
T softmax_xent_row(const T* x, T* g, int64_t n, T scale, T* shift) {
  return Kernels<T>::xent_row(x, g, n, scale, shift);
}

#define DLCORE_INSTANTIATE(T)                                                                 \
  template void activation_forward<T>(Activation, const T*, T*, int64_t, T);                  \
  template void activation_backward<T>(Activation, const T*, const T*, T*, int64_t, T);       \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t, int64_t, bool);            \
  template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t, bool); \
  template T softmax_xent_row<T>(const T*, T*, int64_t, T, T*);
DLCORE_INSTANTIATE(float)
DLCORE_INSTANTIATE(double)
#undef DLCORE_INSTANTIATE

}  // namespace dlcore::cpu
