// The tiled SIMT GEMM kernel shared by gemm.cu and conv2d.cu (implicit GEMM).
//
//   C[m x n] := act(alpha * op(A)[m x k] @ op(B)[k x n] + beta * C + bias)       (C row-major, ldc)
//
// A and B are not pointers but *loaders*: small structs with
//
//   struct Row;                                                  // what one row costs to locate
//   __device__ Row row(int64_t r) const;                         // computed once per row
//   __device__ void load4(const Row& row, int64_t col, T v[4]) const;  // v[i] = X(r, col + i), 0 outside
//
// so the same kernel multiplies plain strided matrices (MatrixLoad below) and, in conv2d.cu,
// matrices that exist only as index arithmetic over an NHWC image (im2col that is never written).
// A thread loads the same row of A at every K step, so it locates that row once, before the K loop
// (for convolution that is three 64-bit divisions saved per step); B's row changes every step.
//
// Blocking (float32 and float64 alike; one template, instantiated a handful of times):
//
//   grid  (ceil(n / 128), ceil(m / 128), splits)    block 256 threads, 128 x 128 tile of C
//   per K step of 8: the block stages an A tile 128 x 8 and a B tile 8 x 128 in shared memory,
//   each thread loads 4 A values and 4 B values (one float4 each when the memory allows),
//   then every thread multiplies an 8 x 8 register block: 8 A values x 8 B values = 64 FMAs
//   for 16 shared-memory reads.
//   Double buffering: while the block computes on shared buffer s, each thread has already issued
//   the global loads of the next K step into registers; they are written to buffer s ^ 1 before
//   the single barrier of the iteration, so global latency hides behind the FMAs.
//   A thread's 8 x 8 block is split into 4 x 4 quarters 64 apart (rows ty*4 and 64 + ty*4, the
//   same for columns), so a quarter-warp reading its float4s from shared memory touches 128
//   consecutive bytes: no bank conflicts.
//   Split-K (gridDim.z > 1): slice z handles K steps z, z + splits, ... and adds alpha * partial
//   into C with atomicAdd; C must hold zeros and there is no epilogue (conv backward-filter uses it,
//   where m and n are small and K = N*Ho*Wo is huge).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "common/codes.h"  // enum class Epilogue
#include "common/scalar_math.h"
#include "cuda/common.cuh"

namespace dlcore::cuda {

// The activation of the epilogue, after alpha, beta * C and the bias.
template <typename T>
__device__ __forceinline__ T apply_act(T v, Epilogue act) {
  switch (act) {
    case Epilogue::relu: return math::relu(v);
    case Epilogue::sigmoid: return math::sigmoid(v);
    case Epilogue::tanh: return math::tanh(v);
    case Epilogue::none: break;
  }
  return v;
}

// A plain matrix: element (r, c) at p[r * rs + c * cs], `rows` x `cols`.
template <typename T>
struct MatrixLoad {
  const T* p;
  int64_t rs, cs, rows, cols;

  struct Row {
    const T* p;  // null past the last row
  };
  __device__ __forceinline__ Row row(int64_t r) const { return {r < rows ? p + r * rs : nullptr}; }

  __device__ __forceinline__ void load4(const Row& rw, int64_t c, T v[4]) const {
    if (!rw.p) {
      v[0] = v[1] = v[2] = v[3] = T(0);
      return;
    }
    const T* row = rw.p;
    if constexpr (std::is_same_v<T, float>) {
      // One 16-byte load when the four values are consecutive, in range and aligned.
      if (cs == 1 && c + 3 < cols && (reinterpret_cast<uintptr_t>(row + c) & 15) == 0) {
        const float4 q = *reinterpret_cast<const float4*>(row + c);
        v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
        return;
      }
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) v[i] = (c + i < cols) ? row[(c + i) * cs] : T(0);
  }
};

constexpr int kTileM = 128, kTileN = 128, kTileK = 8, kTileThreads = 256;

template <typename T, class LoadA, class LoadB>
__global__ void __launch_bounds__(kTileThreads)
    gemm_tile_kernel(int64_t m, int64_t n, int64_t k, T alpha, LoadA A, LoadB B, T beta, T* __restrict__ C,
                     int64_t ldc, const T* __restrict__ bias, Epilogue act) {
  // As is stored k-major (As[k][row]) so that a thread's 4 rows are one float4 read.
  __shared__ __align__(16) T As[2][kTileK][kTileM];
  __shared__ __align__(16) T Bs[2][kTileK][kTileN];

  const int tid = threadIdx.x;
  const int64_t row0 = int64_t(blockIdx.y) * kTileM, col0 = int64_t(blockIdx.x) * kTileN;
  // Which part of the tiles this thread loads: A row a_r, k offset a_k (4 values along k);
  // B k-row b_k, column offset b_c (4 values along n).
  const int a_r = tid >> 1, a_k = (tid & 1) * 4;
  const int b_k = tid >> 5, b_c = (tid & 31) * 4;
  // Which outputs this thread computes: rows ty*4 + {0..3} and 64 + ty*4 + {0..3}, same for columns.
  const int ty = tid >> 4, tx = tid & 15;

  const int64_t ksteps = (k + kTileK - 1) / kTileK;
  const int64_t splits = gridDim.z, first = blockIdx.z;

  T acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = T(0);

  T ra[4], rb[4];  // the next K step's values, in flight in registers
  const typename LoadA::Row a_row = A.row(row0 + a_r);
  auto fetch = [&](int64_t step) {
    const int64_t kk = step * kTileK;
    A.load4(a_row, kk + a_k, ra);
    B.load4(B.row(kk + b_k), col0 + b_c, rb);
    // load4 zero-fills columns >= its own `cols`; B's rows past k must be zero too.
    if (kk + b_k >= k) rb[0] = rb[1] = rb[2] = rb[3] = T(0);
  };
  auto stash = [&](int s) {
#pragma unroll
    for (int i = 0; i < 4; ++i) As[s][a_k + i][a_r] = ra[i];
#pragma unroll
    for (int i = 0; i < 4; ++i) Bs[s][b_k][b_c + i] = rb[i];
  };

  int s = 0;
  if (first < ksteps) {
    fetch(first);
    stash(0);
  }
  __syncthreads();
  for (int64_t step = first; step < ksteps; step += splits) {
    const bool more = step + splits < ksteps;
    if (more) fetch(step + splits);  // global loads of the next step start now ...
#pragma unroll
    for (int kk = 0; kk < kTileK; ++kk) {  // ... and hide behind these 8 x 64 FMAs
      T a[8], b[8];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        a[i] = As[s][kk][ty * 4 + i];
        a[4 + i] = As[s][kk][64 + ty * 4 + i];
        b[i] = Bs[s][kk][tx * 4 + i];
        b[4 + i] = Bs[s][kk][64 + tx * 4 + i];
      }
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] += a[i] * b[j];
    }
    if (more) stash(s ^ 1);  // the other buffer: nobody reads it during this step
    __syncthreads();
    s ^= 1;
  }

  // Epilogue: alpha, beta * C, bias, activation; or the split-K atomic accumulation.
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int64_t r = row0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
    if (r >= m) continue;
    T* crow = C + r * ldc;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int64_t c = col0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + (j - 4));
      if (c >= n) continue;
      if (splits > 1) {
        atomicAdd(crow + c, alpha * acc[i][j]);
        continue;
      }
      T v = alpha * acc[i][j];
      if (beta != T(0)) v += beta * crow[c];  // beta == 0: C is never read (it may hold NaN)
      if (bias) v += bias[c];
      crow[c] = apply_act(v, act);
    }
  }
}

// Launch the tile kernel: `splits` > 1 only with C zeroed, beta == 0, no bias and no activation.
template <typename T, class LoadA, class LoadB>
void launch_gemm_tile(int64_t m, int64_t n, int64_t k, T alpha, const LoadA& A, const LoadB& B, T beta, T* C,
                      int64_t ldc, const T* bias, Epilogue act, cudaStream_t stream, int splits, const char* name) {
  if (m <= 0 || n <= 0) return;
  if ((m + kTileM - 1) / kTileM > 65535) throw std::invalid_argument(std::string(name) + ": too many rows for one launch");
  dim3 grid(unsigned((n + kTileN - 1) / kTileN), unsigned((m + kTileM - 1) / kTileM), unsigned(splits));
  gemm_tile_kernel<T, LoadA, LoadB><<<grid, kTileThreads, 0, stream>>>(m, n, k, alpha, A, B, beta, C, ldc, bias, act);
  DLCORE_CUDA_CHECK_LAUNCH(name);
}

}  // namespace dlcore::cuda
