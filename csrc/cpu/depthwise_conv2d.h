// Depthwise 2-D convolution on the CPU, NHWC (Keras's layout), forward and backward: every channel
// convolved with its own filter (depth multiplier 1; the kernel API repeats the input channels for a
// larger multiplier).
//
//   x  (N, H, W, C)       input, channels last (contiguous)
//   w  (kh, kw, C)        one kh x kw filter per channel
//   y  (N, Ho, Wo, C)     output
//
//   y[n, oh, ow, c] = bias[c] + sum_{i, j} x[n, oh*sh + i*dh - pt, ow*sw + j*dw - pl, c] * w[i, j, c]
//
// with x read as zero outside the image; the geometry (strides, dilation, padding, output size) is a
// Conv2dGeometry with cin = cout = C. A grouped convolution with one input channel per group
// (Keras's DepthwiseConv2D, or groups = C_in) is this; as a GEMM per group it would run C tiny GEMMs.
//
//   forward          threads split the N*Ho output rows; each output pixel accumulates its taps in
//                    place, SIMD over the C contiguous channels;
//   backward-data    threads split the N*H input rows, each gathering the taps that read it (so no
//                    two threads write one dx pixel);
//   backward-filter  threads split the output rows and sum into private copies of dw (`scratch`,
//                    nt * kh*kw*C values), added at the end.
// Kernels trust their preconditions; validation lives in src/dlcore/kernels/depthwise_conv2d.py and
// the binding.
#pragma once
#include <cstdint>

#include "common/geometry.h"  // Conv2dGeometry

namespace dlcore::cpu {

// y := depthwise(x, w) + bias. bias may be nullptr.
template <typename T>
void depthwise_conv2d_forward(const Conv2dGeometry& s, const T* x, const T* w, const T* bias, T* y);
// dx := d(sum(y * dy)) / dx.
template <typename T>
void depthwise_conv2d_backward_data(const Conv2dGeometry& s, const T* dy, const T* w, T* dx);
// dw := d(sum(y * dy)) / dw.
template <typename T>
void depthwise_conv2d_backward_filter(const Conv2dGeometry& s, const T* dy, const T* x, T* dw);

// One compiled copy of the kernels per ISA (depthwise_conv2d_kernels.h, built by
// depthwise_conv2d.cpp, depthwise_conv2d_avx2.cpp and depthwise_conv2d_avx512.cpp); the functions
// above pick one with active_isa().
#define DLCORE_DEPTHWISE_DECLARE(ns)                                                                 \
  namespace ns {                                                                                     \
  template <typename T>                                                                              \
  void fwd(const Conv2dGeometry& s, const T* x, const T* w, const T* bias, T* y);                    \
  template <typename T>                                                                              \
  void bwd_data(const Conv2dGeometry& s, const T* dy, const T* w, T* dx);                            \
  template <typename T>                                                                              \
  void bwd_filter(const Conv2dGeometry& s, const T* dy, const T* x, int nt, T* scratch, T* dw);      \
  }
DLCORE_DEPTHWISE_DECLARE(depthwise_generic)
DLCORE_DEPTHWISE_DECLARE(depthwise_avx2)
DLCORE_DEPTHWISE_DECLARE(depthwise_avx512)
#undef DLCORE_DEPTHWISE_DECLARE

}  // namespace dlcore::cpu
