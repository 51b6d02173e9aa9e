// CUDA 2-D convolution on NHWC images, as implicit GEMM (see conv2d.cu).
// x (N, H, W, Cin), w (kh, kw, Cin, Cout), y and dy (N, Ho, Wo, Cout); the geometry, padding and
// output size included, is a Conv2dGeometry (common/geometry.h), shared with the CPU kernels. The
// kernels read pt / pl and ho / wo; the bottom / right padding is implied by them.
// All pointers are device pointers of contiguous arrays; every launcher queues its work on `stream`.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "common/codes.h"     // enum class Epilogue
#include "common/geometry.h"  // Conv2dGeometry

namespace dlcore::cuda {

// y := act(conv(x, w) + bias)                               bias (Cout,) or null
template <typename T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, Epilogue act, T* y,
                    cudaStream_t stream);
// dx := d(sum dy * y)/dx                                    dy (N, Ho, Wo, Cout) -> dx (N, H, W, Cin)
template <typename T>
void conv2d_backward_data(const Conv2dGeometry& g, const T* dy, const T* w, T* dx, cudaStream_t stream);
// dw := d(sum dy * y)/dw                                    -> dw (kh, kw, Cin, Cout)
template <typename T>
void conv2d_backward_filter(const Conv2dGeometry& g, const T* dy, const T* x, T* dw, cudaStream_t stream);

}  // namespace dlcore::cuda
