// 2-D upsampling on the CPU (NHWC), forward and backward. Shapes and formulas: upsample2d.h. The
// kernels themselves: upsample2d_kernels.h, compiled here for the portable path and in
// upsample2d_avx2.cpp / upsample2d_avx512.cpp for those ISAs; this file tabulates the two axes
// (upsample2d.h, UpsampleAxis) and picks the kernels of the active ISA.
#include "cpu/upsample2d.h"

#include <vector>

#include "common/upsample.h"
#include "cpu/cpu.h"

#define DLCORE_UPSAMPLE_NS upsample_generic
#include "cpu/upsample2d_kernels.h"
#undef DLCORE_UPSAMPLE_NS

namespace dlcore::cpu {
namespace {

// The tables of one axis of `len` inputs upsampled by `f` (a few hundred entries).
template <typename T>
struct AxisTables {
  std::vector<int64_t> i0, i1, begin, o;
  std::vector<T> w0, w1, wt;

  AxisTables(int64_t len, int64_t f, Interpolation mode) {
    const int64_t out = len * f;
    for (int64_t q = 0; q < out; ++q) {
      const UpsampleTaps t = upsample_taps(q, f, len, mode);
      i0.push_back(t.i0), i1.push_back(t.i1), w0.push_back(T(1.0 - t.w1)), w1.push_back(T(t.w1));
    }
    begin.push_back(0);
    for (int64_t i = 0; i < len; ++i) {
      int64_t lo, hi;
      upsample_readers(i, f, len, mode, &lo, &hi);
      for (int64_t q = lo; q < hi; ++q) {
        const double w = upsample_weight(i, q, f, len, mode);
        if (w != 0.0) o.push_back(q), wt.push_back(T(w));
      }
      begin.push_back(int64_t(o.size()));
    }
  }
  UpsampleAxis<T> view() const {
    return {i0.data(), i1.data(), w0.data(), w1.data(), begin.data(), o.data(), wt.data()};
  }
};

}  // namespace

#define DLCORE_UPSAMPLE_DISPATCH(fn, ...)                         \
  switch (active_isa()) {                                         \
    case Isa::avx512: return upsample_avx512::fn<T>(__VA_ARGS__); \
    case Isa::avx2: return upsample_avx2::fn<T>(__VA_ARGS__);     \
    default: return upsample_generic::fn<T>(__VA_ARGS__);         \
  }

template <typename T>
void upsample2d_forward(const Upsample2dGeometry& s, Interpolation mode, const T* x, T* y) {
  if (s.n * s.h * s.w * s.c == 0) return;
  if (mode == Interpolation::nearest) {
    DLCORE_UPSAMPLE_DISPATCH(nearest_fwd, s, x, y)
  }
  const AxisTables<T> th(s.h, s.fh, mode), tw(s.w, s.fw, mode);
  DLCORE_UPSAMPLE_DISPATCH(bilinear_fwd, s, th.view(), tw.view(), x, y)
}

template <typename T>
void upsample2d_backward(const Upsample2dGeometry& s, Interpolation mode, const T* dy, T* dx) {
  if (s.n * s.h * s.w * s.c == 0) return;
  const AxisTables<T> th(s.h, s.fh, mode), tw(s.w, s.fw, mode);
  const int64_t taps = mode == Interpolation::nearest ? 1 : 4;  // input values per output value
  DLCORE_UPSAMPLE_DISPATCH(bwd, s, th.view(), tw.view(), taps, dy, dx)
}
#undef DLCORE_UPSAMPLE_DISPATCH

#define DLCORE_UPSAMPLE_INSTANTIATE(T)                                                         \
  template void upsample2d_forward<T>(const Upsample2dGeometry&, Interpolation, const T*, T*); \
  template void upsample2d_backward<T>(const Upsample2dGeometry&, Interpolation, const T*, T*);
DLCORE_UPSAMPLE_INSTANTIATE(float)
DLCORE_UPSAMPLE_INSTANTIATE(double)
#undef DLCORE_UPSAMPLE_INSTANTIATE

}  // namespace dlcore::cpu
