// 2-D convolution on the CPU, NHWC (Keras's layout), forward and backward.
//
//   x  (N, H, W, Cin)        input images, channels last (contiguous)
//   w  (kh, kw, Cin, Cout)   filters; seen as a (K, Cout) matrix with K = kh*kw*Cin
//   y  (N, Ho, Wo, Cout)     output; seen as an (N*Ho*Wo, Cout) matrix
//
//   y[n, ho, wo, co] = act(bias[co] + sum_{i, j, c} x[n, ho*sh + i*dh - pt, wo*sw + j*dw - pl, c] * w[i, j, c, co])
//
// with x read as zero outside the image (padding pt/pb rows at the top/bottom, pl/pr columns on the
// left/right), and Ho = (H + pt + pb - ((kh-1)*dh + 1)) / sh + 1 (Wo likewise).
//
// Every function takes C-contiguous arrays and trusts its preconditions (shapes are validated in
// Python, src/dlcore/kernels/conv.py, and again cheaply in the binding). conv1d is conv2d with H = kh = 1.
#pragma once
#include <cstdint>

#include "common/geometry.h"  // Conv2dGeometry
#include "cpu/gemm/gemm.h"

namespace dlcore::cpu {

// y := act(conv(x, w) + bias). bias may be nullptr.
template <typename T>
void conv2d_forward(const Conv2dGeometry& s, const T* x, const T* w, const T* bias, Epilogue act, T* y);

// dx := d(sum(y * dy)) / dx for y = conv(x, w) (no activation): the transposed convolution of dy.
template <typename T>
void conv2d_backward_data(const Conv2dGeometry& s, const T* dy, const T* w, T* dx);

// dw := d(sum(y * dy)) / dw = im2col(x)^T @ dy.
template <typename T>
void conv2d_backward_filter(const Conv2dGeometry& s, const T* dy, const T* x, T* dw);

// db[co] := sum over the m rows of dy (m x cout, row-major).
template <typename T>
void conv2d_backward_bias(int64_t m, int64_t cout, const T* dy, T* db);

// ---- the kernels compiled once per ISA (conv2d_kernels.h) ---------------------------------------
// The direct kernels for few input channels (the first layer of an image network; backward-data for
// Cin = 1 only): K = kh*kw*Cin is tiny there, so a GEMM would do little per call; these loop over
// the window and vectorize over Cout instead.
// And the Winograd F(2x2, 3x3) tile transforms (conv2d.cpp, forward_winograd), vectorized over
// channels: input, src[a * 4 + b] = the Cin channels of input pixel (a, b) of the 4x4 tile, into
// v[xi * vs + c] = (B^T d B)[xi]; output, m[xi * ms + o] into dst[a * 2 + b][o] = (A^T m A)[a][b];
// output gradient, src[a * 2 + b] = dy of output pixel (a, b) into z[xi * zs + o] = (A dY A^T)[xi].
#define DLCORE_CONV_DIRECT_DECLARE(ns)                                                                        \
  namespace ns {                                                                                              \
  template <typename T>                                                                                       \
  void conv_direct_forward(const Conv2dGeometry& s, const T* x, const T* w, const T* bias, Epilogue act, T* y); \
  template <typename T>                                                                                       \
  void conv_direct_backward_filter(const Conv2dGeometry& s, const T* dy, const T* x, T* dw);                  \
  template <typename T>                                                                                       \
  bool conv_direct_backward_data(const Conv2dGeometry& s, const T* dy, const T* w, T* dx);                    \
  template <typename T>                                                                                       \
  void winograd_input_tile(const T* const* src, int64_t ci, T* v, int64_t vs);                                \
  template <typename T>                                                                                       \
  void winograd_output_tile(const T* m, int64_t ms, int64_t co, T* const* dst);                               \
  template <typename T>                                                                                       \
  void winograd_grad_tile(const T* const* src, int64_t co, T* z, int64_t zs);                                 \
  template <typename T>                                                                                       \
  void col2im_add(const Conv2dGeometry& s, const T* dcol, int64_t r0, int64_t r1, T* dx);                     \
  }
DLCORE_CONV_DIRECT_DECLARE(conv_generic)
DLCORE_CONV_DIRECT_DECLARE(conv_avx2)
DLCORE_CONV_DIRECT_DECLARE(conv_avx512)
#undef DLCORE_CONV_DIRECT_DECLARE

}  // namespace dlcore::cpu
