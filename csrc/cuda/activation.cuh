// CUDA activations, forward and backward, and softmax / log-softmax along an axis (see activation.cu).
// All pointers are device pointers of contiguous arrays; every launcher queues its work on `s` and returns.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "common/codes.h"  // enum class Activation

namespace dlcore::cuda {

// y = f(x) over n elements; y may be x. `param`: negative_slope (leaky_relu) or alpha (elu).
template <typename T>
void activation_forward(Activation act, const T* x, T* y, int64_t n, T param, cudaStream_t s);
// dx = dy * f'(.) with z the forward output y for relu / sigmoid / tanh, the input x otherwise.
template <typename T>
void activation_backward(Activation act, const T* dy, const T* z, T* dx, int64_t n, T param, cudaStream_t s);

// Softmax / log-softmax of an array viewed as (outer, n, inner) along the middle axis.
template <typename T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log, cudaStream_t s);
template <typename T>
void softmax_backward(const T* dy, const T* y, T* dx, int64_t outer, int64_t n, int64_t inner, bool log,
                      cudaStream_t s);

}  // namespace dlcore::cuda
