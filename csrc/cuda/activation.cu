// CUDA activations, forward and backward, and softmax / log-softmax along an axis.
//
// Elementwise kernels: n contiguous elements, any shape flattened; the output may be the input
// (in place). Backward: dx = dy * f'(.) where the second operand z is the forward OUTPUT y for relu,
// sigmoid and tanh and the forward INPUT x for the others (the same contract as csrc/cpu/activation.h).
// The scalar math is csrc/common/scalar_math.h, shared with the CPU kernels.
//
// Launch shape: grid-stride loops, 256 threads. float32 takes 16-byte float4 accesses (4 elements
// per thread per trip) when every pointer is 16-byte aligned, then the < 4 element tail one by one.
//
// Softmax: the array is viewed as (outer, n, inner), normalized along n.
//   inner == 1 (the last axis): one warp per row; the lanes stride along the row (coalesced):
//     pass 1 the row maximum, pass 2 sum(exp(x - max)), pass 3 the outputs.
//   inner > 1: one thread per (outer, inner) column; consecutive threads read consecutive inner
//     elements, so each step along n is a coalesced row of the warp.
#include <type_traits>

#include "common/scalar_math.h"
#include "cuda/common.cuh"
#include "cuda/activation.cuh"

namespace dlcore::cuda {

namespace {

template <typename T>
__device__ __forceinline__ T act_forward(Activation act, T x, T p) {
  switch (act) {
    case Activation::relu: return math::relu(x);
    case Activation::leaky_relu: return math::leaky_relu(x, p);
    case Activation::elu: return math::elu(x, p);
    case Activation::gelu_erf: return math::gelu_erf(x);
    case Activation::gelu_tanh: return math::gelu_tanh(x);
    case Activation::sigmoid: return math::sigmoid(x);
    case Activation::tanh: return math::tanh(x);
    case Activation::softplus: return math::softplus(x);
    case Activation::silu: break;
  }
  return math::silu(x);
}

template <typename T>
__device__ __forceinline__ T act_backward(Activation act, T dy, T z, T p) {
  switch (act) {
    case Activation::relu: return math::relu_backward(dy, z);
    case Activation::leaky_relu: return dy * math::leaky_relu_grad(z, p);
    case Activation::elu: return dy * math::elu_grad(z, p);
    case Activation::gelu_erf: return dy * math::gelu_erf_grad(z);
    case Activation::gelu_tanh: return dy * math::gelu_tanh_grad(z);
    case Activation::sigmoid: return dy * math::sigmoid_grad_from_output(z);
    case Activation::tanh: return dy * math::tanh_grad_from_output(z);
    case Activation::softplus: return dy * math::softplus_grad(z);
    case Activation::silu: break;
  }
  return dy * math::silu_grad(z);
}

__device__ __forceinline__ bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

template <typename T>
__global__ void activation_forward_kernel(Activation act, const T* x, T* y, int64_t n, T p) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t i0 = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  int64_t done = 0;
  if constexpr (std::is_same_v<T, float>) {
    if (aligned16(x) && aligned16(y)) {
      const int64_t nv = n / 4;
      for (int64_t i = i0; i < nv; i += stride) {
        float4 v = reinterpret_cast<const float4*>(x)[i];
        v.x = act_forward(act, v.x, p), v.y = act_forward(act, v.y, p);
        v.z = act_forward(act, v.z, p), v.w = act_forward(act, v.w, p);
        reinterpret_cast<float4*>(y)[i] = v;
      }
      done = nv * 4;
    }
  }
  for (int64_t i = done + i0; i < n; i += stride) y[i] = act_forward(act, x[i], p);
}

template <typename T>
__global__ void activation_backward_kernel(Activation act, const T* dy, const T* z, T* dx, int64_t n, T p) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t i0 = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  int64_t done = 0;
  if constexpr (std::is_same_v<T, float>) {
    if (aligned16(dy) && aligned16(z) && aligned16(dx)) {
      const int64_t nv = n / 4;
      for (int64_t i = i0; i < nv; i += stride) {
        const float4 g = reinterpret_cast<const float4*>(dy)[i], v = reinterpret_cast<const float4*>(z)[i];
        float4 r;
        r.x = act_backward(act, g.x, v.x, p), r.y = act_backward(act, g.y, v.y, p);
        r.z = act_backward(act, g.z, v.z, p), r.w = act_backward(act, g.w, v.w, p);
        reinterpret_cast<float4*>(dx)[i] = r;
      }
      done = nv * 4;
    }
  }
  for (int64_t i = done + i0; i < n; i += stride) dx[i] = act_backward(act, dy[i], z[i], p);
}

// One warp per row of length n (inner == 1).
template <typename T>
__global__ void softmax_rows_kernel(const T* x, T* y, int64_t rows, int64_t n, bool log) {
  const int lane = threadIdx.x & 31;
  const int64_t row = int64_t(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
  if (row >= rows) return;
  const T* xr = x + row * n;
  T* yr = y + row * n;
  T mx = -INFINITY;
  for (int64_t j = lane; j < n; j += 32) mx = max(mx, xr[j]);
  mx = warp_max(mx);
  T sum = T(0);
  for (int64_t j = lane; j < n; j += 32) sum += exp(xr[j] - mx);
  sum = warp_sum(sum);
  if (log) {  // (x - max) - log(sum): x - max is exact near the maximum, max + log(sum) would round
    const T ls = std::log(sum);
    for (int64_t j = lane; j < n; j += 32) yr[j] = (xr[j] - mx) - ls;
  } else {
    const T inv = T(1) / sum;
    for (int64_t j = lane; j < n; j += 32) yr[j] = exp(xr[j] - mx) * inv;
  }
}

// One thread per (outer, inner) column, walking the n axis with stride inner.
template <typename T>
__global__ void softmax_columns_kernel(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t col = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; col < outer * inner; col += stride) {
    const int64_t o = col / inner, in = col % inner;
    const T* xc = x + o * n * inner + in;
    T* yc = y + o * n * inner + in;
    T mx = -INFINITY;
    for (int64_t j = 0; j < n; ++j) mx = max(mx, xc[j * inner]);
    T sum = T(0);
    for (int64_t j = 0; j < n; ++j) sum += exp(xc[j * inner] - mx);
    if (log) {
      const T ls = std::log(sum);
      for (int64_t j = 0; j < n; ++j) yc[j * inner] = (xc[j * inner] - mx) - ls;
    } else {
      const T inv = T(1) / sum;
      for (int64_t j = 0; j < n; ++j) yc[j * inner] = exp(xc[j * inner] - mx) * inv;
    }
  }
}

// softmax:     dx = y * (dy - sum(dy * y));  log_softmax: dx = dy - exp(y) * sum(dy).
template <typename T>
__global__ void softmax_backward_rows_kernel(const T* dy, const T* y, T* dx, int64_t rows, int64_t n, bool log) {
  const int lane = threadIdx.x & 31;
  const int64_t row = int64_t(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
  if (row >= rows) return;
  const T *g = dy + row * n, *yr = y + row * n;
  T* d = dx + row * n;
  T dot = T(0);
  for (int64_t j = lane; j < n; j += 32) dot += log ? g[j] : g[j] * yr[j];
  dot = warp_sum(dot);
  for (int64_t j = lane; j < n; j += 32) d[j] = log ? g[j] - exp(yr[j]) * dot : yr[j] * (g[j] - dot);
}

template <typename T>
__global__ void softmax_backward_columns_kernel(const T* dy, const T* y, T* dx, int64_t outer, int64_t n,
                                                int64_t inner, bool log) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t col = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; col < outer * inner; col += stride) {
    const int64_t base = (col / inner) * n * inner + col % inner;
    T dot = T(0);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t k = base + j * inner;
      dot += log ? dy[k] : dy[k] * y[k];
    }
    for (int64_t j = 0; j < n; ++j) {
      const int64_t k = base + j * inner;
      dx[k] = log ? dy[k] - exp(y[k]) * dot : y[k] * (dy[k] - dot);
    }
  }
}

constexpr int kThreads = 256;

}  // namespace

template <typename T>
void activation_forward(Activation act, const T* x, T* y, int64_t n, T param, cudaStream_t s) {
  if (n <= 0) return;
  activation_forward_kernel<T><<<grid_for((n + 3) / 4, kThreads, 8192), kThreads, 0, s>>>(act, x, y, n, param);
  DLCORE_CUDA_CHECK_LAUNCH("activation_forward_kernel");
}

template <typename T>
void activation_backward(Activation act, const T* dy, const T* z, T* dx, int64_t n, T param, cudaStream_t s) {
  if (n <= 0) return;
  activation_backward_kernel<T><<<grid_for((n + 3) / 4, kThreads, 8192), kThreads, 0, s>>>(act, dy, z, dx, n, param);
  DLCORE_CUDA_CHECK_LAUNCH("activation_backward_kernel");
}

template <typename T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log, cudaStream_t s) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  if (inner == 1) {
    const int64_t warps = kThreads / 32, blocks = (outer + warps - 1) / warps;
    if (blocks > 2147483647) throw std::invalid_argument("softmax_forward: too many rows");
    softmax_rows_kernel<T><<<unsigned(blocks), kThreads, 0, s>>>(x, y, outer, n, log);
    DLCORE_CUDA_CHECK_LAUNCH("softmax_rows_kernel");
  } else {
    softmax_columns_kernel<T><<<grid_for(outer * inner, kThreads), kThreads, 0, s>>>(x, y, outer, n, inner, log);
    DLCORE_CUDA_CHECK_LAUNCH("softmax_columns_kernel");
  }
}

template <typename T>
void softmax_backward(const T* dy, const T* y, T* dx, int64_t outer, int64_t n, int64_t inner, bool log, cudaStream_t s) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  if (inner == 1) {
    const int64_t warps = kThreads / 32, blocks = (outer + warps - 1) / warps;
    if (blocks > 2147483647) throw std::invalid_argument("softmax_backward: too many rows");
    softmax_backward_rows_kernel<T><<<unsigned(blocks), kThreads, 0, s>>>(dy, y, dx, outer, n, log);
    DLCORE_CUDA_CHECK_LAUNCH("softmax_backward_rows_kernel");
  } else {
    softmax_backward_columns_kernel<T><<<grid_for(outer * inner, kThreads), kThreads, 0, s>>>(dy, y, dx, outer, n, inner, log);
    DLCORE_CUDA_CHECK_LAUNCH("softmax_backward_columns_kernel");
  }
}

#define DLCORE_ACT_INSTANTIATE(T)                                                                     \
  template void activation_forward<T>(Activation, const T*, T*, int64_t, T, cudaStream_t);            \
  template void activation_backward<T>(Activation, const T*, const T*, T*, int64_t, T, cudaStream_t); \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t, int64_t, bool, cudaStream_t);      \
  template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t, bool, cudaStream_t);
DLCORE_ACT_INSTANTIATE(float)
DLCORE_ACT_INSTANTIATE(double)

}  // namespace dlcore::cuda
