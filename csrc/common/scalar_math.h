// Scalar math shared by the CPU kernels and the CUDA kernels: activations and their derivatives,
// written once. On the CPU these are the reference for the SIMD versions and handle the tails;
// in CUDA they are the kernels' inner expressions.
#pragma once
#include <cmath>

#include "common/host_device.h"

namespace dlcore::math {

// NaN propagates (NaN < 0 is false), as in the standalone SIMD relu and in NumPy/PyTorch.
template <typename T> DLCORE_HD T relu(T x) { return x < T(0) ? T(0) : x; }

// Stable for large |x|: exp() only ever sees a non-positive argument.
template <typename T> DLCORE_HD T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

template <typename T> DLCORE_HD T tanh(T x) { return std::tanh(x); }

// Derivatives written in terms of the output y = f(x), which is what a layer keeps.
// dy * relu'(.) as a select, not a product: where y <= 0 the gradient is 0 even for a NaN or infinite
// dy (PyTorch's threshold_backward; the SIMD kernels and the fallback select too).
template <typename T> DLCORE_HD T relu_backward(T dy, T y) { return y > T(0) ? dy : T(0); }
template <typename T> DLCORE_HD T sigmoid_grad_from_output(T y) { return y * (T(1) - y); }
template <typename T> DLCORE_HD T tanh_grad_from_output(T y) { return T(1) - y * y; }

// ---- the rest of the activations (forward from x, derivative from x unless said otherwise) ------
//
// Each derivative below is d f / d x, so the backward kernels compute dx = dy * f'(x).

template <typename T> DLCORE_HD T leaky_relu(T x, T slope) { return x > T(0) ? x : slope * x; }
template <typename T> DLCORE_HD T leaky_relu_grad(T x, T slope) { return x > T(0) ? T(1) : slope; }

// elu(x) = x for x > 0, alpha * (e^x - 1) otherwise. expm1 keeps small negative x accurate.
template <typename T> DLCORE_HD T elu(T x, T alpha) { return x > T(0) ? x : alpha * std::expm1(x); }
template <typename T> DLCORE_HD T elu_grad(T x, T alpha) { return x > T(0) ? T(1) : alpha * std::exp(x); }

// Both halves of the logistic function from one exp that never overflows: e = exp(-|x|) <= 1,
// sigmoid(x) and 1 - sigmoid(x) = sigmoid(-x), each computed without cancellation.
template <typename T> DLCORE_HD void sigmoid_pair(T x, T& s, T& s_complement) {
  const T e = std::exp(-std::fabs(x)), d = T(1) / (T(1) + e);
  s = x >= T(0) ? d : e * d;
  s_complement = x >= T(0) ? e * d : d;
}

// softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|): exact for large |x| (softplus(100) = 100).
template <typename T> DLCORE_HD T softplus(T x) {
  return (x > T(0) ? x : T(0)) + std::log1p(std::exp(-std::fabs(x)));
}
template <typename T> DLCORE_HD T softplus_grad(T x) { return sigmoid(x); }

// silu(x) = swish(x) = x * sigmoid(x);  silu'(x) = s * (1 + x * (1 - s)).
template <typename T> DLCORE_HD T silu(T x) { return x * sigmoid(x); }
template <typename T> DLCORE_HD T silu_grad(T x) {
  T s, sc;
  sigmoid_pair(x, s, sc);
  return s * (T(1) + x * sc);
}

// gelu, exact form: x * Phi(x), Phi the standard normal CDF = erfc(-x / sqrt 2) / 2.
// gelu'(x) = Phi(x) + x * phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
template <typename T> DLCORE_HD T normal_cdf(T x) { return T(0.5) * std::erfc(-x * T(0.70710678118654752440)); }
template <typename T> DLCORE_HD T normal_pdf(T x) { return T(0.39894228040143267794) * std::exp(T(-0.5) * x * x); }
template <typename T> DLCORE_HD T gelu_erf(T x) { return x * normal_cdf(x); }
template <typename T> DLCORE_HD T gelu_erf_grad(T x) { return normal_cdf(x) + x * normal_pdf(x); }

// gelu, tanh form: x/2 * (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3). Since
// (1 + tanh(u)) / 2 = sigmoid(2u), it is x * sigmoid(2u), which has no cancellation for x << 0.
// Derivative: s + x * s * (1 - s) * 2u',  u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2).
constexpr double kGeluTanhC = 0.79788456080286535588;  // sqrt(2 / pi)
constexpr double kGeluTanhA = 0.044715;
template <typename T> DLCORE_HD T gelu_tanh(T x) {
  const T u = T(kGeluTanhC) * (x + T(kGeluTanhA) * x * x * x);
  return x * sigmoid(T(2) * u);
}
template <typename T> DLCORE_HD T gelu_tanh_grad(T x) {
  // beyond |x| = 50 the derivative is exactly 1 or 0; clamping keeps x^3 finite (no 0 * inf)
  x = x > T(50) ? T(50) : x < T(-50) ? T(-50) : x;
  const T u = T(kGeluTanhC) * (x + T(kGeluTanhA) * x * x * x);
  const T du = T(kGeluTanhC) * (T(1) + T(3 * kGeluTanhA) * x * x);
  T s, sc;
  sigmoid_pair(T(2) * u, s, sc);
  return s + x * s * sc * T(2) * du;
}

// ---- optimizer updates, one parameter element at a time (PyTorch's formulas) ---------------------
//
// The CPU kernels run these in vectorized loops over flat buffers; the CUDA kernels one per thread.
// `g` is the gradient with weight decay already folded in where the optimizer couples it.

// SGD with momentum:  b = mu * b + g  (b = g on the first step),  step = nesterov ? g + mu * b : b.
template <typename T> DLCORE_HD T sgd_momentum_step(T g, T& buf, T mu, bool nesterov, bool first) {
  buf = first ? g : mu * buf + g;
  return nesterov ? g + mu * buf : buf;
}

// Adam moments: m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2.
template <typename T> DLCORE_HD void adam_moments(T g, T& m, T& v, T b1, T b2) {
  m = b1 * m + (T(1) - b1) * g;
  v = b2 * v + (T(1) - b2) * g * g;
}

}  // namespace dlcore::math
