// CUDA 2-D upsampling by integer factors (nearest / bilinear) on NHWC images, forward and backward.
//
// Shapes: x, dx (N, H, W, C); y, dy (N, Ho = H*fh, Wo = W*fw, C). Which inputs an output reads and
// with which weights is common/upsample.h, the same definition as the CPU kernels:
//   y[n, oh, ow, c] = sum over the taps (ha, a) of oh and (wb, b) of ow of a * b * x[n, ha, wb, c].
//
// Forward: one thread per output element, grid-stride; consecutive threads take consecutive
// channels, so every load and store of a warp is one coalesced run of C values.
// Backward: one thread per INPUT element, gathering over the outputs that read it
// (upsample_readers, each weight from upsample_weight): no atomics, deterministic.
#include "common/upsample.h"
#include "cuda/common.cuh"
#include "cuda/upsample2d.cuh"

namespace dlcore::cuda {

namespace {

template <typename T>
__global__ void upsample_forward_kernel(Upsample2dGeometry g, Interpolation mode, const T* x, T* y) {
  const int64_t ho = g.ho(), wo = g.wo();
  const int64_t total = g.n * ho * wo * g.c, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += stride) {
    const int64_t c = o % g.c, t = o / g.c, ow = t % wo, t2 = t / wo, oh = t2 % ho, n = t2 / ho;
    const UpsampleTaps th = upsample_taps(oh, g.fh, g.h, mode), tw = upsample_taps(ow, g.fw, g.w, mode);
    const T* xn = x + n * g.h * g.w * g.c + c;
    const T a1 = T(th.w1), a0 = T(1) - a1, b1 = T(tw.w1), b0 = T(1) - b1;
    const T top = b0 * xn[(th.i0 * g.w + tw.i0) * g.c] + b1 * xn[(th.i0 * g.w + tw.i1) * g.c];
    const T bottom = b0 * xn[(th.i1 * g.w + tw.i0) * g.c] + b1 * xn[(th.i1 * g.w + tw.i1) * g.c];
    y[o] = a0 * top + a1 * bottom;
  }
}

template <typename T>
__global__ void upsample_backward_kernel(Upsample2dGeometry g, Interpolation mode, const T* dy, T* dx) {
  const int64_t ho = g.ho(), wo = g.wo();
  const int64_t total = g.n * g.h * g.w * g.c, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int64_t c = idx % g.c, t = idx / g.c, iw = t % g.w, t2 = t / g.w, ih = t2 % g.h, n = t2 / g.h;
    int64_t oh0, oh1, ow0, ow1;
    upsample_readers(ih, g.fh, g.h, mode, &oh0, &oh1);
    upsample_readers(iw, g.fw, g.w, mode, &ow0, &ow1);
    T sum = T(0);
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      const T a = T(upsample_weight(ih, oh, g.fh, g.h, mode));
      if (a == T(0)) continue;
      const T* row = dy + (n * ho + oh) * wo * g.c + c;
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        const T b = T(upsample_weight(iw, ow, g.fw, g.w, mode));
        if (b != T(0)) sum += a * b * row[ow * g.c];
      }
    }
    dx[idx] = sum;
  }
}

}  // namespace

template <typename T>
void upsample2d_forward(const Upsample2dGeometry& g, Interpolation mode, const T* x, T* y, cudaStream_t s) {
  launch_over(g.n * g.ho() * g.wo() * g.c, "upsample_forward_kernel", s, upsample_forward_kernel<T>, g, mode, x, y);
}
template <typename T>
void upsample2d_backward(const Upsample2dGeometry& g, Interpolation mode, const T* dy, T* dx, cudaStream_t s) {
  launch_over(g.n * g.h * g.w * g.c, "upsample_backward_kernel", s, upsample_backward_kernel<T>, g, mode, dy, dx);
}

#define DLCORE_UPSAMPLE_INSTANTIATE(T)                                                                       \
  template void upsample2d_forward<T>(const Upsample2dGeometry&, Interpolation, const T*, T*, cudaStream_t); \
  template void upsample2d_backward<T>(const Upsample2dGeometry&, Interpolation, const T*, T*, cudaStream_t);
DLCORE_UPSAMPLE_INSTANTIATE(float)
DLCORE_UPSAMPLE_INSTANTIATE(double)

}  // namespace dlcore::cuda
