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
#include <algorithm>
#include <cstring>

#include "cpu/parallel.h"
#include "cpu/scratch.h"
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

// out[0:len] := sum over q < m of wt(q) * src(q)[0:len]: up to 4 terms in one pass, more added on.
template <typename T, class Src, class Wt>
inline void weighted_sum(T* out, int64_t len, int64_t m, Src src, Wt wt) {
  if (m == 0) {
#pragma omp simd
    for (int64_t k = 0; k < len; ++k) out[k] = T(0);
    return;
  }
  const T* p0 = src(0);
  const T w0 = wt(0);
  switch (std::min<int64_t>(m, 4)) {
    case 1: {
#pragma omp simd
      for (int64_t k = 0; k < len; ++k) out[k] = w0 * p0[k];
      break;
    }
    case 2: {
      const T *p1 = src(1), w1 = wt(1);
#pragma omp simd
      for (int64_t k = 0; k < len; ++k) out[k] = w0 * p0[k] + w1 * p1[k];
      break;
    }
    case 3: {
      const T *p1 = src(1), *p2 = src(2), w1 = wt(1), w2 = wt(2);
#pragma omp simd
      for (int64_t k = 0; k < len; ++k) out[k] = w0 * p0[k] + w1 * p1[k] + w2 * p2[k];
      break;
    }
    default: {
      const T *p1 = src(1), *p2 = src(2), *p3 = src(3), w1 = wt(1), w2 = wt(2), w3 = wt(3);
#pragma omp simd
      for (int64_t k = 0; k < len; ++k) out[k] = w0 * p0[k] + w1 * p1[k] + w2 * p2[k] + w3 * p3[k];
    }
  }
  for (int64_t q = 4; q < m; ++q) {
    const T* p = src(q);
    const T w = wt(q);
#pragma omp simd
    for (int64_t k = 0; k < len; ++k) out[k] += w * p[k];
  }
}

// dx row (n, h), in two passes, as the forward is separable: first the output rows that read input
// row h, each with its weight a, summed over the whole row (t = sum a * dy[oh, :, :], long contiguous
// loops; one row with weight 1 is read in place), then each input column w from the columns of t that
// read it, each with its weight b: dx[h, w, :] = sum b * t[ow, :]. (Adding a * b * dy[oh, ow, :] into
// dx tap by tap ran at 17 GB/s for nearest and 12 GB/s for bilinear on one core of an AMD EPYC,
// Zen 5, 32x28x28x64 x2.)
template <typename T>
void bwd(const Upsample2dGeometry& s, const UpsampleAxis<T>& ah, const UpsampleAxis<T>& aw, int64_t taps_per_output,
         const T* dy, T* dx) {
  const int64_t C = s.c, ho = s.ho(), in_row = s.w * C, out_row = s.wo() * C;
  parallel_rows(s.n * s.h, taps_per_output * s.fh * out_row, [&](int64_t r) {
    const int64_t n = r / s.h, ih = r % s.h;
    T* dxr = dx + r * in_row;
    const int64_t k0 = ah.begin[ih], k1 = ah.begin[ih + 1];
    auto row = [&](int64_t kh) { return dy + (n * ho + ah.o[kh]) * out_row; };
    if (k1 == k0) {  // no output row reads this input row
#pragma omp simd
      for (int64_t k = 0; k < in_row; ++k) dxr[k] = T(0);
      return;
    }
    const T* t;
    if (k1 - k0 == 1 && ah.wt[k0] == T(1)) {
      t = row(k0);
    } else {
      T* tt = scratch<T, Slot::upsample_rows>(out_row);
      weighted_sum(tt, out_row, k1 - k0, [&](int64_t q) { return row(k0 + q); },
                   [&](int64_t q) { return ah.wt[k0 + q]; });
      t = tt;
    }
    for (int64_t iw = 0; iw < s.w; ++iw) {
      const int64_t j0 = aw.begin[iw];
      weighted_sum(dxr + iw * C, C, aw.begin[iw + 1] - j0, [&](int64_t q) { return t + aw.o[j0 + q] * C; },
                   [&](int64_t q) { return aw.wt[j0 + q]; });
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
