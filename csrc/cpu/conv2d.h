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

#include "cpu/gemm/gemm.h"

namespace dlcore::cpu {

struct Conv2dShape {
  int64_t n = 0, h = 0, w = 0, cin = 0, cout = 0;  // input and filter sizes
  int64_t kh = 1, kw = 1;                           // filter window
  int64_t sh = 1, sw = 1;                           // strides
  int64_t dh = 1, dw = 1;                           // dilation
  int64_t pt = 0, pb = 0, pl = 0, pr = 0;           // zero padding: top, bottom, left, right
  int64_t ho = 0, wo = 0;                           // output size (filled by finish())

  // Computes ho and wo; returns false when the dilated window does not fit the padded input.
  bool finish() {
    const int64_t ekh = (kh - 1) * dh + 1, ekw = (kw - 1) * dw + 1;
    if (h + pt + pb < ekh || w + pl + pr < ekw) return false;
    ho = (h + pt + pb - ekh) / sh + 1;
    wo = (w + pl + pr - ekw) / sw + 1;
    return true;
  }
  int64_t k() const { return kh * kw * cin; }  // the GEMM's inner dimension
};

// y := act(conv(x, w) + bias). bias may be nullptr.
template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, Activation act, T* y);

// dx := d(sum(y * dy)) / dx for y = conv(x, w) (no activation): the transposed convolution of dy.
template <typename T>
void conv2d_backward_data(const Conv2dShape& s, const T* dy, const T* w, T* dx);

// dw := d(sum(y * dy)) / dw = im2col(x)^T @ dy.
template <typename T>
void conv2d_backward_filter(const Conv2dShape& s, const T* dy, const T* x, T* dw);

// db[co] := sum over the m rows of dy (m x cout, row-major).
template <typename T>
void conv2d_backward_bias(int64_t m, int64_t cout, const T* dy, T* db);

// ---- the kernels compiled once per ISA (conv2d_kernels.h) ---------------------------------------
// The direct kernels for Cin = 1 (the first layer of an image network): K = kh*kw is tiny there, so
// a GEMM would spend its time packing; these loop over the window and vectorize over Cout instead.
// And the Winograd F(2x2, 3x3) tile transforms (conv2d.cpp, forward_winograd), vectorized over
// channels: input, src[a * 4 + b] = the Cin channels of input pixel (a, b) of the 4x4 tile, into
// v[xi * vs + c] = (B^T d B)[xi]; output, m[xi * ms + o] into dst[a * 2 + b][o] = (A^T m A)[a][b];
// output gradient, src[a * 2 + b] = dy of output pixel (a, b) into z[xi * zs + o] = (A dY A^T)[xi].
#define DLCORE_CONV_DIRECT_DECLARE(ns)                                                                     \
  namespace ns {                                                                                        \
  template <typename T>                                                                                 \
  void conv_cin1_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, Activation act, T* y); \
  template <typename T>                                                                                 \
  void conv_cin1_backward_filter(const Conv2dShape& s, const T* dy, const T* x, T* dw);                 \
  template <typename T>                                                                                 \
  void conv_cin1_backward_data(const Conv2dShape& s, const T* dy, const T* w, T* dx);                   \
  template <typename T>                                                                                 \
  void winograd_input_tile(const T* const* src, int64_t ci, T* v, int64_t vs);                          \
  template <typename T>                                                                                 \
  void winograd_output_tile(const T* m, int64_t ms, int64_t co, T* const* dst);                         \
  template <typename T>                                                                                 \
  void winograd_grad_tile(const T* const* src, int64_t co, T* z, int64_t zs);                           \
  }
DLCORE_CONV_DIRECT_DECLARE(conv_generic)
DLCORE_CONV_DIRECT_DECLARE(conv_avx2)
DLCORE_CONV_DIRECT_DECLARE(conv_avx512)
#undef DLCORE_CONV_DIRECT_DECLARE

}  // namespace dlcore::cpu
