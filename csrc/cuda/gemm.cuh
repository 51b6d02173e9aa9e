// The CUDA GEMM, callable from the other kernel files (rnn.cu uses it for the recurrent product).
//
//   C := act(alpha * op(A) @ op(B) + beta * C + bias)
//
// op(A) is m x k with element (i, p) at a[i * rs_a + p * cs_a]; op(B) is k x n with element (p, j)
// at b[p * rs_b + j * cs_b] (transposes and strided views are just strides). C is row-major with row
// stride ldc. bias: n values or nullptr. act: common/codes.h's Epilogue. beta == 0 never
// reads C. All pointers are device pointers; the work is queued on `stream`.
//
// float32: `tf32` picks the tensor-core kernel (TF32 inputs, float32 accumulation: ~1e-3 relative
// error, like cuBLAS's CUBLAS_COMPUTE_32F_FAST_TF32); otherwise the exact SIMT kernel.
// float64: the SIMT kernel (tf32 is ignored).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "common/codes.h"  // enum class Epilogue

namespace dlcore::cuda {

template <typename T>
void gemm(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rs_a, int64_t cs_a, const T* b,
          int64_t rs_b, int64_t cs_b, T beta, T* c, int64_t ldc, const T* bias, Epilogue act, bool tf32,
          cudaStream_t stream);

}  // namespace dlcore::cuda

namespace dlcore::cuda {

// out[j] (+)= sum_i x[i * cols + j] for a row-major rows x cols matrix: the bias gradient of a
// Dense / conv / recurrent layer. accumulate = false overwrites out.
template <typename T>
void column_sum(int64_t rows, int64_t cols, const T* x, T* out, bool accumulate, cudaStream_t stream);

// Multiprocessors of the current device (cached), for sizing grids.
int device_sm_count();

}  // namespace dlcore::cuda
