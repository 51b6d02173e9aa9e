// The depthwise convolution kernels (shapes, layouts and formulas: depthwise_conv2d.h).
//
// This file is included by depthwise_conv2d.cpp (portable build), depthwise_conv2d_avx2.cpp and
// depthwise_conv2d_avx512.cpp, each with DLCORE_DEPTHWISE_NS set to its own namespace: one source,
// one compiled copy per ISA. Every inner loop runs over the C contiguous channels of one pixel
// (`omp simd`): a channel's value times its own filter tap, added to its own output.
#include <omp.h>

#include "cpu/depthwise_conv2d.h"
#include "cpu/parallel.h"

namespace dlcore::cpu::DLCORE_DEPTHWISE_NS {

// Output row (n, oh): every pixel starts from the bias (or zero) and adds its taps inside the image,
// pixel by pixel, so that the pixel's C outputs stay in registers / L1 while its taps stream in.
// (Sweeping the whole row once per tap instead was slower: a row of y and the kh rows of x it reads
// no longer fit in L1 at 56 x 64 channels.) The geometry is copied into locals (captured by value)
// so that the compiler keeps it in registers across the stores through y.
template <typename T>
void fwd(const Conv2dGeometry& s, const T* x, const T* w, const T* bias, T* y) {
  const int64_t C = s.cin, H = s.h, W = s.w, Ho = s.ho, Wo = s.wo, kh = s.kh, kw = s.kw;
  const int64_t sh = s.sh, sw = s.sw, dh = s.dh, dw = s.dw, pt = s.pt, pl = s.pl;
  parallel_rows(s.n * Ho, 2 * Wo * kh * kw * C, [=](int64_t r) {
    const int64_t n = r / Ho, oh = r % Ho;
    for (int64_t ow = 0; ow < Wo; ++ow) {
      T* __restrict yp = y + (r * Wo + ow) * C;
      if (bias) {
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) yp[c] = bias[c];
      } else {
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) yp[c] = T(0);
      }
      for (int64_t i = 0; i < kh; ++i) {
        const int64_t ih = oh * sh + i * dh - pt;
        if (ih < 0 || ih >= H) continue;
        const T* xrow = x + (n * H + ih) * W * C;
        for (int64_t j = 0; j < kw; ++j) {
          const int64_t iw = ow * sw + j * dw - pl;
          if (iw < 0 || iw >= W) continue;
          const T* __restrict xp = xrow + iw * C;
          const T* __restrict wp = w + (i * kw + j) * C;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) yp[c] += xp[c] * wp[c];
        }
      }
    }
  });
}

// Input row (n, ih): tap (i, j) of output (oh, ow) reads it when oh*sh + i*dh - pt = ih and
// ow*sw + j*dw - pl = iw; every such output adds dy * w[i, j] to the input pixel.
template <typename T>
void bwd_data(const Conv2dGeometry& s, const T* dy, const T* w, T* dx) {
  const int64_t C = s.cin;
  parallel_rows(s.n * s.h, 2 * s.w * s.kh * s.kw * C, [&](int64_t r) {
    const int64_t n = r / s.h, ih = r % s.h;
    T* dxr = dx + r * s.w * C;
#pragma omp simd
    for (int64_t k = 0; k < s.w * C; ++k) dxr[k] = T(0);
    for (int64_t i = 0; i < s.kh; ++i) {
      const int64_t t = ih + s.pt - i * s.dh;
      if (t < 0 || t % s.sh != 0 || t / s.sh >= s.ho) continue;
      const T* dyrow = dy + (n * s.ho + t / s.sh) * s.wo * C;
      for (int64_t iw = 0; iw < s.w; ++iw) {
        T* d = dxr + iw * C;
        for (int64_t j = 0; j < s.kw; ++j) {
          const int64_t u = iw + s.pl - j * s.dw;
          if (u < 0 || u % s.sw != 0 || u / s.sw >= s.wo) continue;
          const T* g = dyrow + (u / s.sw) * C;
          const T* wp = w + (i * s.kw + j) * C;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) d[c] += g[c] * wp[c];
        }
      }
    }
  });
}

// dw[i, j, c] = sum over every output pixel of x (at tap (i, j)) * dy: threads split the output
// rows, each summing into its own kh*kw*C slice of `scratch` (nt slices, zeroed by the caller, so a
// team smaller than nt leaves zeros), and the slices are added at the end.
template <typename T>
void bwd_filter(const Conv2dGeometry& s, const T* dy, const T* x, int nt, T* scratch, T* dw) {
  const int64_t C = s.cin, taps = s.kh * s.kw * C, rows = s.n * s.ho;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    T* acc = scratch + int64_t(omp_get_thread_num()) * taps;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n = r / s.ho, oh = r % s.ho;
      for (int64_t ow = 0; ow < s.wo; ++ow) {
        const T* g = dy + (r * s.wo + ow) * C;
        for (int64_t i = 0; i < s.kh; ++i) {
          const int64_t ih = oh * s.sh + i * s.dh - s.pt;
          if (ih < 0 || ih >= s.h) continue;
          const T* xrow = x + (n * s.h + ih) * s.w * C;
          for (int64_t j = 0; j < s.kw; ++j) {
            const int64_t iw = ow * s.sw + j * s.dw - s.pl;
            if (iw < 0 || iw >= s.w) continue;
            const T* xp = xrow + iw * C;
            T* a = acc + (i * s.kw + j) * C;
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) a[c] += xp[c] * g[c];
          }
        }
      }
    }
  }
#pragma omp simd
  for (int64_t k = 0; k < taps; ++k) dw[k] = scratch[k];
  for (int t = 1; t < nt; ++t) {
    const T* part = scratch + int64_t(t) * taps;
#pragma omp simd
    for (int64_t k = 0; k < taps; ++k) dw[k] += part[k];
  }
}

#define DLCORE_DEPTHWISE_INSTANTIATE(T)                                                 \
  template void fwd<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*);        \
  template void bwd_data<T>(const Conv2dGeometry&, const T*, const T*, T*);             \
  template void bwd_filter<T>(const Conv2dGeometry&, const T*, const T*, int, T*, T*);
DLCORE_DEPTHWISE_INSTANTIATE(float)
DLCORE_DEPTHWISE_INSTANTIATE(double)
#undef DLCORE_DEPTHWISE_INSTANTIATE

}  // namespace dlcore::cpu::DLCORE_DEPTHWISE_NS
