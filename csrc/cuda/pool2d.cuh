// CUDA 2-D max / average pooling on NHWC images and global average pooling (see pool2d.cu).
// All pointers are device pointers of contiguous arrays; every launcher queues its work on `s` and returns.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "common/geometry.h"  // Pool2dGeometry

namespace dlcore::cuda {

template <typename T> void max_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y, cudaStream_t s);
template <typename T> void max_pool2d_backward(const Pool2dGeometry& g, const T* dy, const T* x, T* dx, cudaStream_t s);
template <typename T> void avg_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y, cudaStream_t s);
template <typename T> void avg_pool2d_backward(const Pool2dGeometry& g, const T* dy, T* dx, cudaStream_t s);
// x (N, HW, C) -> y (N, C) the mean over HW, and back.
template <typename T>
void global_avg_pool2d_forward(int64_t N, int64_t HW, int64_t C, const T* x, T* y, cudaStream_t s);
template <typename T>
void global_avg_pool2d_backward(int64_t N, int64_t HW, int64_t C, const T* dy, T* dx, cudaStream_t s);

}  // namespace dlcore::cuda
