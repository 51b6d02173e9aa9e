// Depthwise 2-D convolution on the CPU (NHWC), forward and backward. Shapes and formulas:
// depthwise_conv2d.h. The kernels themselves: depthwise_conv2d_kernels.h, compiled here for the
// portable path and in depthwise_conv2d_avx2.cpp / _avx512.cpp for those ISAs; this file picks one
// (and owns the backward-filter's per-thread scratch).
#include "cpu/depthwise_conv2d.h"

#include <algorithm>
#include <vector>

#include "cpu/cpu.h"

#define DLCORE_DEPTHWISE_NS depthwise_generic
#define DLCORE_DEPTHWISE_VEC_BYTES 16
#include "cpu/depthwise_conv2d_kernels.h"
#undef DLCORE_DEPTHWISE_NS
#undef DLCORE_DEPTHWISE_VEC_BYTES

namespace dlcore::cpu {

#define DLCORE_DEPTHWISE_DISPATCH(fn, ...)                         \
  switch (active_isa()) {                                          \
    case Isa::avx512: return depthwise_avx512::fn<T>(__VA_ARGS__); \
    case Isa::avx2: return depthwise_avx2::fn<T>(__VA_ARGS__);     \
    default: return depthwise_generic::fn<T>(__VA_ARGS__);         \
  }

template <typename T>
void depthwise_conv2d_forward(const Conv2dGeometry& s, const T* x, const T* w, const T* bias, T* y) {
  if (s.n * s.ho * s.wo * s.cin == 0) return;
  DLCORE_DEPTHWISE_DISPATCH(fwd, s, x, w, bias, y)
}

// With stride 1, dx is the forward convolution of dy with the filter turned by 180 degrees, padded by
// the window's extent less the forward padding: dx[ih, iw] = sum_ij dy[ih + pt - i dh, iw + pl - j dw]
// w[i, j]. The forward pass's loops (registers per pixel, no bounds checks inside the image) ran it
// 2-3x faster than listing the taps that reach each input pixel (32x56x56x64 3x3 on one core of an
// AMD EPYC, Zen 5). A padding wider than the window (a negative one here) keeps the listed taps.
template <typename T>
void depthwise_conv2d_backward_data(const Conv2dGeometry& s, const T* dy, const T* w, T* dx) {
  if (s.n * s.h * s.w * s.cin == 0) return;
  Conv2dGeometry t = s;
  t.h = s.ho, t.w = s.wo, t.ho = s.h, t.wo = s.w;
  t.pt = (s.kh - 1) * s.dh - s.pt, t.pl = (s.kw - 1) * s.dw - s.pl;
  t.pb = (s.kh - 1) * s.dh - s.pb, t.pr = (s.kw - 1) * s.dw - s.pr;
  if (s.sh == 1 && s.sw == 1 && t.pt >= 0 && t.pl >= 0) {
    const int64_t C = s.cin, kh = s.kh, kw = s.kw;
    std::vector<T> turned(size_t(kh * kw * C));
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j)
        std::copy(w + ((kh - 1 - i) * kw + (kw - 1 - j)) * C, w + ((kh - 1 - i) * kw + (kw - j)) * C,
                  turned.begin() + (i * kw + j) * C);
    const T* wt = turned.data();
    const T* no_bias = nullptr;
    DLCORE_DEPTHWISE_DISPATCH(fwd, t, dy, wt, no_bias, dx)
  }
  DLCORE_DEPTHWISE_DISPATCH(bwd_data, s, dy, w, dx)
}

template <typename T>
void depthwise_conv2d_backward_filter(const Conv2dGeometry& s, const T* dy, const T* x, T* dw) {
  const int64_t taps = s.kh * s.kw * s.cin, rows = s.n * s.ho;
  if (taps == 0) return;
  if (rows * s.wo == 0) {
    std::fill(dw, dw + taps, T(0));
    return;
  }
  const int nt = int(std::min<int64_t>(threads_for(2 * rows * s.wo * taps), rows));
  std::vector<T> scratch(size_t(nt) * size_t(taps));  // zeros: one dw per thread
  DLCORE_DEPTHWISE_DISPATCH(bwd_filter, s, dy, x, nt, scratch.data(), dw)
}
#undef DLCORE_DEPTHWISE_DISPATCH

#define DLCORE_DEPTHWISE_INSTANTIATE(T)                                                                  \
  template void depthwise_conv2d_forward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*); \
  template void depthwise_conv2d_backward_data<T>(const Conv2dGeometry&, const T*, const T*, T*);     \
  template void depthwise_conv2d_backward_filter<T>(const Conv2dGeometry&, const T*, const T*, T*);
DLCORE_DEPTHWISE_INSTANTIATE(float)
DLCORE_DEPTHWISE_INSTANTIATE(double)
#undef DLCORE_DEPTHWISE_INSTANTIATE

}  // namespace dlcore::cpu
