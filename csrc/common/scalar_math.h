// Scalar math shared by the CPU kernels and the CUDA kernels: activations and their derivatives,
// written once. On the CPU these are the reference for the SIMD versions and handle the tails;
// in CUDA they are the kernels' inner expressions.
#pragma once
#include <cmath>

#if defined(__CUDACC__)
#define DLCORE_HD __host__ __device__ __forceinline__
#else
#define DLCORE_HD inline
#endif

namespace dlcore::math {

template <typename T> DLCORE_HD T relu(T x) { return x > T(0) ? x : T(0); }

// Stable for large |x|: exp() only ever sees a non-positive argument.
template <typename T> DLCORE_HD T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

template <typename T> DLCORE_HD T tanh(T x) { return std::tanh(x); }

// Derivatives written in terms of the output y = f(x), which is what a layer keeps.
template <typename T> DLCORE_HD T relu_grad_from_output(T y) { return y > T(0) ? T(1) : T(0); }
template <typename T> DLCORE_HD T sigmoid_grad_from_output(T y) { return y * (T(1) - y); }
template <typename T> DLCORE_HD T tanh_grad_from_output(T y) { return T(1) - y * y; }

}  // namespace dlcore::math
