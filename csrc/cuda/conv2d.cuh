// CUDA 2-D convolution on NHWC images, as implicit GEMM (see conv2d.cu).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace dlcore::cuda {

// Geometry of one convolution. x (N, H, W, Cin), w (kh, kw, Cin, Cout), y (N, Ho, Wo, Cout);
// pt / pl: zero padding at the top / left (the bottom / right padding is implied by Ho / Wo).
struct ConvGeom {
  int64_t N, H, W, Cin, Ho, Wo, Cout, kh, kw, sh, sw, dh, dw, pt, pl;
};

// y := act(conv(x, w) + bias)                               bias (Cout,) or null
template <typename T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, const T* bias, int act, T* y, cudaStream_t stream);
// dx := d(sum dy * y)/dx                                    dy (N, Ho, Wo, Cout) -> dx (N, H, W, Cin)
template <typename T>
void conv2d_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx, cudaStream_t stream);
// dw := d(sum dy * y)/dw                                    -> dw (kh, kw, Cin, Cout)
template <typename T>
void conv2d_backward_filter(const ConvGeom& g, const T* dy, const T* x, T* dw, cudaStream_t stream);

}  // namespace dlcore::cuda
