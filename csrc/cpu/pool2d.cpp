// 2-D max / average / global-average pooling on the CPU (NHWC), forward and backward.
// Shapes and formulas: pool2d.h. The kernels themselves: pool2d_kernels.h, compiled here for the
// portable path and in pool2d_avx2.cpp / pool2d_avx512.cpp for those ISAs; this file picks one.
#include "cpu/pool2d.h"

#include "cpu/cpu.h"

#define DLCORE_POOL_NS pool_generic
#define DLCORE_POOL_VEC_BYTES 16
#include "cpu/pool2d_kernels.h"
#undef DLCORE_POOL_NS
#undef DLCORE_POOL_VEC_BYTES

namespace dlcore::cpu {

// Calls `fn` of the namespace for the active ISA with the given arguments.
#define DLCORE_POOL_DISPATCH(fn, ...)                         \
  switch (active_isa()) {                                     \
    case Isa::avx512: return pool_avx512::fn<T>(__VA_ARGS__); \
    case Isa::avx2: return pool_avx2::fn<T>(__VA_ARGS__);     \
    default: return pool_generic::fn<T>(__VA_ARGS__);         \
  }

template <typename T>
void max_pool2d_forward(const Pool2dGeometry& s, const T* x, T* y) {
  if (s.n * s.ho * s.wo * s.c == 0) return;
  DLCORE_POOL_DISPATCH(max_fwd, s, x, y)
}
template <typename T>
void max_pool2d_backward(const Pool2dGeometry& s, const T* dy, const T* x, T* dx) {
  if (s.n * s.h * s.w * s.c == 0) return;
  DLCORE_POOL_DISPATCH(max_bwd, s, dy, x, dx)
}
template <typename T>
void avg_pool2d_forward(const Pool2dGeometry& s, const T* x, T* y) {
  if (s.n * s.ho * s.wo * s.c == 0) return;
  DLCORE_POOL_DISPATCH(avg_fwd, s, x, y)
}
template <typename T>
void avg_pool2d_backward(const Pool2dGeometry& s, const T* dy, T* dx) {
  if (s.n * s.h * s.w * s.c == 0) return;
  DLCORE_POOL_DISPATCH(avg_bwd, s, dy, dx)
}
template <typename T>
void global_avg_pool2d_forward(int64_t n, int64_t hw, int64_t c, const T* x, T* y) {
  if (n * c == 0) return;
  DLCORE_POOL_DISPATCH(gavg_fwd, n, hw, c, x, y)
}
template <typename T>
void global_avg_pool2d_backward(int64_t n, int64_t hw, int64_t c, const T* dy, T* dx) {
  if (n * hw * c == 0) return;
  DLCORE_POOL_DISPATCH(gavg_bwd, n, hw, c, dy, dx)
}
#undef DLCORE_POOL_DISPATCH

#define DLCORE_POOL_INSTANTIATE(T)                                                     \
  template void max_pool2d_forward<T>(const Pool2dGeometry&, const T*, T*);            \
  template void max_pool2d_backward<T>(const Pool2dGeometry&, const T*, const T*, T*); \
  template void avg_pool2d_forward<T>(const Pool2dGeometry&, const T*, T*);            \
  template void avg_pool2d_backward<T>(const Pool2dGeometry&, const T*, T*);           \
  template void global_avg_pool2d_forward<T>(int64_t, int64_t, int64_t, const T*, T*); \
  template void global_avg_pool2d_backward<T>(int64_t, int64_t, int64_t, const T*, T*);
DLCORE_POOL_INSTANTIATE(float)
DLCORE_POOL_INSTANTIATE(double)
#undef DLCORE_POOL_INSTANTIATE

}  // namespace dlcore::cpu
