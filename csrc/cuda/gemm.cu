// CUDA GEMM:  C := act(alpha * op(A) @ op(B) + beta * C + bias)
//
// Shapes and layouts (the same contract as csrc/cpu/gemm/gemm.h):
//   op(A) m x k, element (i, p) at a[i * rs_a + p * cs_a]   (any strides: transposes are free)
//   op(B) k x n, element (p, j) at b[p * rs_b + j * cs_b]
//   C     m x n, row-major, row stride ldc, unit column stride; bias (n,) or null
//
// Two kernels:
//   1. gemm_tile_kernel (gemm_tile.cuh): exact float32 / float64 on CUDA cores. 128 x 128 tiles,
//      8 x 8 register blocks, float4 loads, double-buffered shared memory.
//   2. gemm_tf32_kernel (below): float32 on the tensor cores through WMMA, TF32 inputs (10-bit
//      mantissa), float32 accumulation. Selected by the `tf32` flag; about 1e-3 relative error.
//
// Then the launcher gemm<T>() that picks one.
#include <mma.h>

#include "cuda/gemm.cuh"
#include "cuda/gemm_tile.cuh"

namespace dlcore::cuda {

namespace wmma = nvcuda::wmma;

// ---- the TF32 tensor-core kernel ---------------------------------------------------------------
//
// block 256 threads = 8 warps, C tile 128 x 128, K step 16 (two 16x16x8 WMMA steps).
// The warps form a 2 x 4 grid; each owns a 64 x 32 piece of the tile = 4 x 2 accumulator
// fragments of 16 x 16. Staging is as in the SIMT kernel: A tile 128 x 16 (row-major, rows padded
// to 20 floats), B tile 16 x 128 (rows padded to 132), two buffers, next step prefetched into
// registers while the tensor cores work. Values are rounded to TF32 once, when staged.
// Epilogue: each warp parks one 16 x 16 accumulator at a time in its own shared scratch and the
// 32 lanes apply alpha, beta * C, bias and the activation with bounds checks.
constexpr int kTcM = 128, kTcN = 128, kTcK = 16, kTcThreads = 256;
constexpr int kTcLdA = kTcK + 4, kTcLdB = kTcN + 4;

__global__ void __launch_bounds__(kTcThreads)
    gemm_tf32_kernel(int64_t m, int64_t n, int64_t k, float alpha, MatrixLoad<float> A, MatrixLoad<float> B,
                     float beta, float* __restrict__ C, int64_t ldc, const float* __restrict__ bias, Epilogue act) {
  __shared__ __align__(32) float As[2][kTcM][kTcLdA];
  __shared__ __align__(32) float Bs[2][kTcK][kTcLdB];
  __shared__ __align__(32) float scratch[kTcThreads / 32][16 * 16];

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int warp_m = warp >> 2, warp_n = warp & 3;  // 2 x 4 warps
  const int64_t row0 = int64_t(blockIdx.y) * kTcM, col0 = int64_t(blockIdx.x) * kTcN;
  // Loads per thread: A rows a_r and a_r + 64 at k offset a_k; B k-rows b_k and b_k + 8 at column b_c.
  const int a_r = tid >> 2, a_k = (tid & 3) * 4;
  const int b_k = tid >> 5, b_c = (tid & 31) * 4;

  wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[4][2];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

  float ra[2][4], rb[2][4];
  const MatrixLoad<float>::Row a_row0 = A.row(row0 + a_r), a_row1 = A.row(row0 + a_r + 64);
  auto fetch = [&](int64_t kk) {
    A.load4(a_row0, kk + a_k, ra[0]);
    A.load4(a_row1, kk + a_k, ra[1]);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      B.load4(B.row(kk + b_k + 8 * h), col0 + b_c, rb[h]);
      if (kk + b_k + 8 * h >= k) rb[h][0] = rb[h][1] = rb[h][2] = rb[h][3] = 0.0f;
    }
  };
  auto stash = [&](int s) {
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        As[s][a_r + 64 * h][a_k + i] = wmma::__float_to_tf32(ra[h][i]);
        Bs[s][b_k + 8 * h][b_c + i] = wmma::__float_to_tf32(rb[h][i]);
      }
  };

  const int64_t ksteps = (k + kTcK - 1) / kTcK;
  int s = 0;
  if (ksteps > 0) {
    fetch(0);
    stash(0);
  }
  __syncthreads();
  for (int64_t step = 0; step < ksteps; ++step) {
    const bool more = step + 1 < ksteps;
    if (more) fetch((step + 1) * kTcK);
#pragma unroll
    for (int kk = 0; kk < kTcK; kk += 8) {
      wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fa[4];
      wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fb[2];
#pragma unroll
      for (int i = 0; i < 4; ++i) wmma::load_matrix_sync(fa[i], &As[s][warp_m * 64 + i * 16][kk], kTcLdA);
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(fb[j], &Bs[s][kk][warp_n * 32 + j * 16], kTcLdB);
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }
    if (more) stash(s ^ 1);
    __syncthreads();
    s ^= 1;
  }

  float* park = scratch[warp];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      wmma::store_matrix_sync(park, acc[i][j], 16, wmma::mem_row_major);
      __syncwarp();
      const int64_t fr = row0 + warp_m * 64 + i * 16, fc = col0 + warp_n * 32 + j * 16;
      for (int e = lane; e < 256; e += 32) {
        const int64_t r = fr + (e >> 4), c = fc + (e & 15);
        if (r < m && c < n) {
          float v = alpha * park[e];
          if (beta != 0.0f) v += beta * C[r * ldc + c];
          if (bias) v += bias[c];
          C[r * ldc + c] = apply_act(v, act);
        }
      }
      __syncwarp();
    }
}

// ---- launcher ----------------------------------------------------------------------------------

template <typename T>
void gemm(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rs_a, int64_t cs_a, const T* b,
          int64_t rs_b, int64_t cs_b, T beta, T* c, int64_t ldc, const T* bias, Epilogue act, bool tf32,
          cudaStream_t stream) {
  if (m <= 0 || n <= 0) return;
  MatrixLoad<T> A{a, rs_a, cs_a, m, k}, B{b, rs_b, cs_b, k, n};
  if constexpr (std::is_same_v<T, float>) {
    if (tf32) {
      if ((m + kTcM - 1) / kTcM > 65535) throw std::invalid_argument("gemm_tf32: too many rows for one launch");
      dim3 grid(unsigned((n + kTcN - 1) / kTcN), unsigned((m + kTcM - 1) / kTcM));
      gemm_tf32_kernel<<<grid, kTcThreads, 0, stream>>>(m, n, k, alpha, A, B, beta, c, ldc, bias, act);
      DLCORE_CUDA_CHECK_LAUNCH("gemm_tf32_kernel");
      return;
    }
  }
  launch_gemm_tile<T>(m, n, k, alpha, A, B, beta, c, ldc, bias, act, stream, 1, "gemm_tile_kernel");
}

template void gemm<float>(int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t, const float*, int64_t,
                          int64_t, float, float*, int64_t, const float*, Epilogue, bool, cudaStream_t);
template void gemm<double>(int64_t, int64_t, int64_t, double, const double*, int64_t, int64_t, const double*,
                           int64_t, int64_t, double, double*, int64_t, const double*, Epilogue, bool, cudaStream_t);

// ---- column sums (bias gradients) --------------------------------------------------------------
//
// block 32 x 8: threadIdx.x picks the column (32 consecutive columns: coalesced rows), threadIdx.y
// and blockIdx.y stride over the rows. The 8 partial sums of a column meet in shared memory and one
// atomicAdd per block and column lands in out (zeroed first unless accumulating).
template <typename T>
__global__ void column_sum_kernel(int64_t rows, int64_t cols, const T* __restrict__ x, T* __restrict__ out) {
  __shared__ T part[8][33];
  const int64_t c = int64_t(blockIdx.x) * 32 + threadIdx.x;
  T s = T(0);
  if (c < cols)
    for (int64_t r = int64_t(blockIdx.y) * 8 + threadIdx.y; r < rows; r += int64_t(gridDim.y) * 8) s += x[r * cols + c];
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    T total = T(0);
#pragma unroll
    for (int i = 0; i < 8; ++i) total += part[i][threadIdx.x];
    atomicAdd(out + c, total);
  }
}

template <typename T>
void column_sum(int64_t rows, int64_t cols, const T* x, T* out, bool accumulate, cudaStream_t stream) {
  if (cols <= 0) return;
  if (!accumulate) check(cudaMemsetAsync(out, 0, size_t(cols) * sizeof(T), stream), "column_sum: memset");
  if (rows <= 0) return;
  int64_t ysplit = (rows + 255) / 256;
  if (ysplit > 128) ysplit = 128;
  dim3 grid(unsigned((cols + 31) / 32), unsigned(ysplit));
  column_sum_kernel<T><<<grid, dim3(32, 8), 0, stream>>>(rows, cols, x, out);
  DLCORE_CUDA_CHECK_LAUNCH("column_sum_kernel");
}
template void column_sum<float>(int64_t, int64_t, const float*, float*, bool, cudaStream_t);
template void column_sum<double>(int64_t, int64_t, const double*, double*, bool, cudaStream_t);

int device_sm_count() {
  static int cached[64] = {0};
  int dev = 0;
  check(cudaGetDevice(&dev), "cudaGetDevice");
  if (dev < 0 || dev >= 64) return 132;
  if (cached[dev] == 0) check(cudaDeviceGetAttribute(&cached[dev], cudaDevAttrMultiProcessorCount, dev), "SM count");
  return cached[dev];
}

}  // namespace dlcore::cuda
