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

template <typename T>
void depthwise_conv2d_backward_data(const Conv2dGeometry& s, const T* dy, const T* w, T* dx) {
  if (s.n * s.h * s.w * s.cin == 0) return;
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
