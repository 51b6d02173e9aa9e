// The upsampling kernels (shapes, layouts and formulas: upsample2d.h).
//
// This file is included by upsample2d.cpp (portable build), upsample2d_avx2.cpp and
// upsample2d_avx512.cpp, each with DLCORE_UPSAMPLE_NS set to its own namespace: one source, one
// compiled copy per ISA. The inner loops run over the C contiguous channels of one pixel (`omp simd`);
// the per-axis tables come from upsample2d.cpp (UpsampleAxis), so nothing here but these loops is
// compiled for a wider ISA.
//   forward   threads split the N*Ho output rows; a row reads its (at most) two input rows;
//   backward  threads split the N*H input rows, each gathering the output rows that read it, so no
//             two threads write one dx pixel.
#include <cstring>

#include "cpu/parallel.h"
#include "cpu/upsample2d.h"

namespace dlcore::cpu::DLCORE_UPSAMPLE_NS {

// Nearest: output row (n, oh) is input row oh / fh with every pixel written fw times: plain copies.
template <typename T>
void nearest_fwd(const Upsample2dGeometry& s, const T* x, T* y) {
  const int64_t C = s.c, ho = s.ho(), in_row = s.w * C, out_row = s.wo() * C;
  const size_t bytes = size_t(C) * sizeof(T);
  parallel_rows(s.n * ho, out_row, [&](int64_t r) {
    const T* xr = x + (r / ho * s.h + r % ho / s.fh) * in_row;
    T* yp = y + r * out_row;
    for (int64_t iw = 0; iw < s.w; ++iw)
      for (int64_t k = 0; k < s.fw; ++k, yp += C) std::memcpy(yp, xr + iw * C, bytes);
  });
}

// Bilinear: y = a0 * (b0 * x00 + b1 * x01) + a1 * (b0 * x10 + b1 * x11) per channel, with the row
// taps (a) of the output row and the column taps (b) of each output pixel.
template <typename T>
void bilinear_fwd(const Upsample2dGeometry& s, const UpsampleAxis<T>& ah, const UpsampleAxis<T>& aw, const T* x,
                  T* y) {
  const int64_t C = s.c, ho = s.ho(), wo = s.wo(), in_row = s.w * C, out_row = wo * C;
  parallel_rows(s.n * ho, 4 * out_row, [&](int64_t r) {
    const int64_t n = r / ho, oh = r % ho;
    const T a0 = ah.w0[oh], a1 = ah.w1[oh];
    const T* r0 = x + (n * s.h + ah.i0[oh]) * in_row;
    const T* r1 = x + (n * s.h + ah.i1[oh]) * in_row;
    T* yr = y + r * out_row;
    for (int64_t ow = 0; ow < wo; ++ow) {
      const T b0 = aw.w0[ow], b1 = aw.w1[ow];
      const int64_t c0 = aw.i0[ow] * C, c1 = aw.i1[ow] * C;
      const T *p00 = r0 + c0, *p01 = r0 + c1, *p10 = r1 + c0, *p11 = r1 + c1;
      T* yp = yr + ow * C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) yp[c] = a0 * (b0 * p00[c] + b1 * p01[c]) + a1 * (b0 * p10[c] + b1 * p11[c]);
    }
  });
}

// dx row (n, h): for each output row that reads it (weight a) and each input column w, the output
// columns that read w (weight b): dx[h, w, :] += a * b * dy[oh, ow, :].
template <typename T>
void bwd(const Upsample2dGeometry& s, const UpsampleAxis<T>& ah, const UpsampleAxis<T>& aw, int64_t taps_per_output,
         const T* dy, T* dx) {
  const int64_t C = s.c, ho = s.ho(), in_row = s.w * C, out_row = s.wo() * C;
  parallel_rows(s.n * s.h, taps_per_output * s.fh * out_row, [&](int64_t r) {
    const int64_t n = r / s.h, ih = r % s.h;
    T* dxr = dx + r * in_row;
#pragma omp simd
    for (int64_t k = 0; k < in_row; ++k) dxr[k] = T(0);
    for (int64_t kh = ah.begin[ih]; kh < ah.begin[ih + 1]; ++kh) {
      const T a = ah.wt[kh];
      const T* gr = dy + (n * ho + ah.o[kh]) * out_row;
      for (int64_t iw = 0; iw < s.w; ++iw) {
        T* d = dxr + iw * C;
        for (int64_t kw = aw.begin[iw]; kw < aw.begin[iw + 1]; ++kw) {
          const T ab = a * aw.wt[kw];
          const T* g = gr + aw.o[kw] * C;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) d[c] += ab * g[c];
        }
      }
    }
  });
}

#define DLCORE_UPSAMPLE_INSTANTIATE(T)                                                                     \
  template void nearest_fwd<T>(const Upsample2dGeometry&, const T*, T*);                                   \
  template void bilinear_fwd<T>(const Upsample2dGeometry&, const UpsampleAxis<T>&, const UpsampleAxis<T>&, \
                                const T*, T*);                                                             \
  template void bwd<T>(const Upsample2dGeometry&, const UpsampleAxis<T>&, const UpsampleAxis<T>&, int64_t, \
                       const T*, T*);
DLCORE_UPSAMPLE_INSTANTIATE(float)
DLCORE_UPSAMPLE_INSTANTIATE(double)
#undef DLCORE_UPSAMPLE_INSTANTIATE

}  // namespace dlcore::cpu::DLCORE_UPSAMPLE_NS
