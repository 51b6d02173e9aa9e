// dlcore._cuda pooling: geometry as 12 ints (N, H, W, C, Ho, Wo, kh, kw, sh, sw, pt, pl), read into
// a Pool2dGeometry (common/geometry.h).
#include <vector>

#include "cuda/pool2d.cuh"
#include "python/cuda/bind_cuda.h"

namespace dlcore {
using namespace cuda_bind;

namespace {
// The geometry and the element counts of the input and the output, checked as the CPU binding
// checks them (python/register_pool2d.cpp): windows start inside the image, and every index and
// size the kernels form fits in int64 (python/checked.h).
struct Geo {
  Pool2dGeometry g;
  int64_t in, out;
};

Geo geom(const std::vector<int64_t>& v) {
  require(v.size() == 12, "pool2d: geometry must have 12 entries");
  for (auto d : v) require(d >= 0, "pool2d: negative geometry entry");
  Pool2dGeometry g;
  g.n = v[0], g.h = v[1], g.w = v[2], g.c = v[3], g.ho = v[4], g.wo = v[5];
  g.kh = v[6], g.kw = v[7], g.sh = v[8], g.sw = v[9], g.pt = v[10], g.pl = v[11];
  require(g.kh >= 1 && g.kw >= 1 && g.sh >= 1 && g.sw >= 1, "pool2d: pool size and strides must be >= 1");
  require(g.pt < g.kh && g.pl < g.kw, "pool2d: padding must be in [0, pool size)");
  const char* what = "pool2d: geometry";
  checked::add(checked::mul(g.ho, g.sh, what), g.kh, what);  // the kernels index up to ho * sh + kh rows
  checked::add(checked::mul(g.wo, g.sw, what), g.kw, what);  // and wo * sw + kw columns
  if (g.ho > 0) require(g.h > 0 && (g.ho - 1) * g.sh - g.pt < g.h, "pool2d: output rows outside the input");
  if (g.wo > 0) require(g.w > 0 && (g.wo - 1) * g.sw - g.pl < g.w, "pool2d: output columns outside the input");
  return {g, checked::product({g.n, g.h, g.w, g.c}, what), checked::product({g.n, g.ho, g.wo, g.c}, what)};
}
}  // namespace

void register_cuda_pool2d(py::module_& m) {
  m.def("max_pool2d_forward", [](const std::vector<int64_t>& gv, Ptr x, Ptr y, bool f64, Ptr s) {
    const Geo geo = geom(gv);
    const Pool2dGeometry& g = geo.g;
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::max_pool2d_forward<T>(g, data<const T>(x, geo.in, "max_pool2d_forward: x"),
                                  data<T>(y, geo.out, "max_pool2d_forward: y"), stream(s));
    });
  });
  m.def("max_pool2d_backward", [](const std::vector<int64_t>& gv, Ptr dy, Ptr x, Ptr dx, bool f64, Ptr s) {
    const Geo geo = geom(gv);
    const Pool2dGeometry& g = geo.g;
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::max_pool2d_backward<T>(g, data<const T>(dy, geo.out, "max_pool2d_backward: dy"),
                                   data<const T>(x, geo.in, "max_pool2d_backward: x"),
                                   data<T>(dx, geo.in, "max_pool2d_backward: dx"), stream(s));
    });
  });
  m.def("avg_pool2d_forward", [](const std::vector<int64_t>& gv, Ptr x, Ptr y, bool f64, Ptr s) {
    const Geo geo = geom(gv);
    const Pool2dGeometry& g = geo.g;
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::avg_pool2d_forward<T>(g, data<const T>(x, geo.in, "avg_pool2d_forward: x"),
                                  data<T>(y, geo.out, "avg_pool2d_forward: y"), stream(s));
    });
  });
  m.def("avg_pool2d_backward", [](const std::vector<int64_t>& gv, Ptr dy, Ptr dx, bool f64, Ptr s) {
    const Geo geo = geom(gv);
    const Pool2dGeometry& g = geo.g;
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::avg_pool2d_backward<T>(g, data<const T>(dy, geo.out, "avg_pool2d_backward: dy"),
                                   data<T>(dx, geo.in, "avg_pool2d_backward: dx"), stream(s));
    });
  });
  m.def("global_avg_pool2d_forward", [](int64_t N, int64_t HW, int64_t C, Ptr x, Ptr y, bool f64, Ptr s) {
    const int64_t in = checked::product({N, HW, C}, "global_avg_pool2d_forward: (N, HW, C)");
    const int64_t out = checked::mul(N, C, "global_avg_pool2d_forward: (N, C)");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::global_avg_pool2d_forward<T>(N, HW, C, data<const T>(x, in, "global_avg_pool2d_forward: x"),
                                         data<T>(y, out, "global_avg_pool2d_forward: y"), stream(s));
    });
  });
  m.def("global_avg_pool2d_backward", [](int64_t N, int64_t HW, int64_t C, Ptr dy, Ptr dx, bool f64, Ptr s) {
    const int64_t in = checked::mul(N, C, "global_avg_pool2d_backward: (N, C)");
    const int64_t out = checked::product({N, HW, C}, "global_avg_pool2d_backward: (N, HW, C)");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::global_avg_pool2d_backward<T>(N, HW, C, data<const T>(dy, in, "global_avg_pool2d_backward: dy"),
                                          data<T>(dx, out, "global_avg_pool2d_backward: dx"), stream(s));
    });
  });
}

}  // namespace dlcore
