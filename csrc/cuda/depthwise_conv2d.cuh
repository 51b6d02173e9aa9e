// CUDA depthwise 2-D convolution on NHWC images, forward and backward (see depthwise_conv2d.cu).
// x, dx (N, H, W, C); w, dw (kh, kw, C); y, dy (N, Ho, Wo, C); the geometry is a Conv2dGeometry with
// cin = cout = C (common/geometry.h), shared with the CPU kernels. The kernels read pt / pl and
// ho / wo. All pointers are device pointers of contiguous arrays; every launcher queues its work on
// `stream`.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "common/geometry.h"  // Conv2dGeometry

namespace dlcore::cuda {

// y := depthwise(x, w) + bias                                bias (C,) or null
template <typename T>
void depthwise_conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y,
                              cudaStream_t stream);
// dx := d(sum dy * y)/dx
template <typename T>
void depthwise_conv2d_backward_data(const Conv2dGeometry& g, const T* dy, const T* w, T* dx, cudaStream_t stream);
// dw := d(sum dy * y)/dw, through `parts` partial sums over slices of the output pixels:
// partial (parts, kh*kw*C) is scratch, then summed into dw.
template <typename T>
void depthwise_conv2d_backward_filter(const Conv2dGeometry& g, const T* dy, const T* x, int64_t parts, T* partial,
                                      T* dw, cudaStream_t stream);

}  // namespace dlcore::cuda
