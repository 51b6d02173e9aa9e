// 2-D pooling on the CPU, NHWC (Keras's layout), forward and backward.
//
//   x  (N, H, W, C)      input, channels last (contiguous)
//   y  (N, Ho, Wo, C)    output
//
// Output pixel (oh, ow) pools the window of rows [oh*sh - pt, oh*sh - pt + kh) and columns
// [ow*sw - pl, ow*sw - pl + kw), clipped to the image: padding never takes part, neither in the
// max nor in the average's count (Keras's "same" pooling).
//
//   max:  y = max over the window (NaN when the window holds a NaN, as NumPy and PyTorch);  dx gets
//         each dy at the FIRST position (row-major order within the window) holding the maximum --
//         the first NaN when there is one -- recomputed from x (no argmax array is stored).
//   avg:  y = sum over the window / (number of window pixels inside the image);
//         dx gets dy / count at every window pixel.
//   global average:  y (N, C) = mean over H*W;  dx = dy / (H*W) everywhere.
//
// Channels are contiguous, so every inner loop runs over C and vectorizes; threads split the
// N*Ho output rows (or the N images when windows overlap across rows in the backward pass).
// Kernels trust their preconditions; validation lives in src/dlcore/kernels/pool.py and the binding.
#pragma once
#include <cstdint>

#include "common/geometry.h"  // Pool2dGeometry

namespace dlcore::cpu {

template <typename T> void max_pool2d_forward(const Pool2dGeometry& s, const T* x, T* y);
template <typename T> void max_pool2d_backward(const Pool2dGeometry& s, const T* dy, const T* x, T* dx);
template <typename T> void avg_pool2d_forward(const Pool2dGeometry& s, const T* x, T* y);
template <typename T> void avg_pool2d_backward(const Pool2dGeometry& s, const T* dy, T* dx);
template <typename T> void global_avg_pool2d_forward(int64_t n, int64_t hw, int64_t c, const T* x, T* y);
template <typename T> void global_avg_pool2d_backward(int64_t n, int64_t hw, int64_t c, const T* dy, T* dx);

// One compiled copy of the kernels per ISA (pool2d_kernels.h, built by pool2d.cpp,
// pool2d_avx2.cpp and pool2d_avx512.cpp); the functions above pick one with active_isa().
#define DLCORE_POOL_DECLARE(ns)                                                                \
  namespace ns {                                                                               \
  template <typename T> void max_fwd(const Pool2dGeometry& s, const T* x, T* y);               \
  template <typename T> void max_bwd(const Pool2dGeometry& s, const T* dy, const T* x, T* dx); \
  template <typename T> void avg_fwd(const Pool2dGeometry& s, const T* x, T* y);               \
  template <typename T> void avg_bwd(const Pool2dGeometry& s, const T* dy, T* dx);             \
  template <typename T> void gavg_fwd(int64_t n, int64_t hw, int64_t c, const T* x, T* y);     \
  template <typename T> void gavg_bwd(int64_t n, int64_t hw, int64_t c, const T* dy, T* dx);   \
  }
DLCORE_POOL_DECLARE(pool_generic)
DLCORE_POOL_DECLARE(pool_avx2)
DLCORE_POOL_DECLARE(pool_avx512)
#undef DLCORE_POOL_DECLARE

}  // namespace dlcore::cpu
