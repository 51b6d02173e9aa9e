// CUDA 2-D upsampling by integer factors on NHWC images, forward and backward (see upsample2d.cu).
// x, dx (N, H, W, C); y, dy (N, H*fh, W*fw, C); the geometry is an Upsample2dGeometry and the
// interpolation an Interpolation code (common/geometry.h, common/codes.h), shared with the CPU kernels.
// All pointers are device pointers of contiguous arrays; every launcher queues its work on `s`.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "common/codes.h"     // Interpolation
#include "common/geometry.h"  // Upsample2dGeometry

namespace dlcore::cuda {

template <typename T>
void upsample2d_forward(const Upsample2dGeometry& g, Interpolation mode, const T* x, T* y, cudaStream_t s);
template <typename T>
void upsample2d_backward(const Upsample2dGeometry& g, Interpolation mode, const T* dy, T* dx, cudaStream_t s);

}  // namespace dlcore::cuda
