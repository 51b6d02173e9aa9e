// What every CUDA kernel file shares: launch checking, grid sizing, block reductions.
//
// Conventions of csrc/cuda/ (the GPU twin of csrc/cpu/):
//   - Kernels take raw device pointers, shapes and a cudaStream_t; they never allocate. Outputs are
//     preallocated by the Python side (CuPy's memory pool) and passed in.
//   - Every launch is followed by DLCORE_CUDA_CHECK_LAUNCH("kernel_name"), which turns a launch
//     error into std::runtime_error naming the kernel (pybind11 raises it as RuntimeError).
//   - Index arithmetic is int64_t: N*H*W*C passes 2^31 on real workloads.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace dlcore::cuda {

inline void check_launch(const char* kernel) {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("dlcore._cuda: launch of ") + kernel + " failed: " + cudaGetErrorString(err));
}

inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw std::runtime_error(std::string("dlcore._cuda: ") + what + ": " + cudaGetErrorString(err));
}

#define DLCORE_CUDA_CHECK_LAUNCH(name) ::dlcore::cuda::check_launch(name)

// Blocks for a grid-stride loop over n items: enough to fill the GPU, never more than needed.
inline unsigned grid_for(int64_t n, int threads, int64_t max_blocks = 4096) {
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  if (blocks > max_blocks) blocks = max_blocks;
  return unsigned(blocks);
}

#if defined(__CUDACC__)
// Launch a grid-stride kernel over n items (nothing when n <= 0) and check the launch:
// kernel<<<grid_for(n, threads), threads, 0, stream>>>(args...).
template <class Kernel, class... Args>
void launch_over(int64_t n, const char* name, cudaStream_t stream, Kernel kernel, Args... args) {
  constexpr int threads = 256;
  if (n <= 0) return;
  kernel<<<grid_for(n, threads), threads, 0, stream>>>(args...);
  check_launch(name);
}

// Sum of v over the warp, result in every lane.
template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}
template <typename T>
__device__ __forceinline__ T warp_max(T v) {
  for (int off = 16; off > 0; off >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); result in every thread.
// `scratch` holds 32 values; the call ends with a barrier so scratch can be reused right after.
template <typename T>
__device__ T block_sum(T v, T* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  T total = lane < warps ? scratch[lane] : T(0);
  total = warp_sum(total);
  __syncthreads();
  return total;
}
template <typename T>
__device__ T block_max(T v, T* scratch, T lowest) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_max(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  T total = lane < warps ? scratch[lane] : lowest;
  total = warp_max(total);
  __syncthreads();
  return total;
}
#endif

}  // namespace dlcore::cuda
