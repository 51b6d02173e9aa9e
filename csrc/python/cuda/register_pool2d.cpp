// dlcore._cuda pooling: geometry as 12 ints (N, H, W, C, Ho, Wo, kh, kw, sh, sw, pt, pl), read into
// a Pool2dGeometry (common/geometry.h).
#include <vector>

#include "cuda/pool2d.cuh"
#include "python/cuda/bind_cuda.h"

namespace dlcore {
using namespace cuda_bind;

namespace {
Pool2dGeometry geom(const std::vector<int64_t>& v) {
  require(v.size() == 12, "pool2d: geometry must have 12 entries");
  for (auto d : v) require(d >= 0, "pool2d: negative geometry entry");
  Pool2dGeometry g;
  g.n = v[0], g.h = v[1], g.w = v[2], g.c = v[3], g.ho = v[4], g.wo = v[5];
  g.kh = v[6], g.kw = v[7], g.sh = v[8], g.sw = v[9], g.pt = v[10], g.pl = v[11];
  require(g.kh >= 1 && g.kw >= 1 && g.sh >= 1 && g.sw >= 1, "pool2d: pool size and strides must be >= 1");
  return g;
}
int64_t in_size(const Pool2dGeometry& g) { return g.n * g.h * g.w * g.c; }
int64_t out_size(const Pool2dGeometry& g) { return g.n * g.ho * g.wo * g.c; }
}  // namespace

void register_cuda_pool2d(py::module_& m) {
  m.def("max_pool2d_forward", [](const std::vector<int64_t>& gv, Ptr x, Ptr y, bool f64, Ptr s) {
    const auto g = geom(gv);
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::max_pool2d_forward<T>(g, data<const T>(x, in_size(g), "max_pool2d_forward: x"),
                                  data<T>(y, out_size(g), "max_pool2d_forward: y"), stream(s));
    });
  });
  m.def("max_pool2d_backward", [](const std::vector<int64_t>& gv, Ptr dy, Ptr x, Ptr dx, bool f64, Ptr s) {
    const auto g = geom(gv);
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::max_pool2d_backward<T>(g, data<const T>(dy, out_size(g), "max_pool2d_backward: dy"),
                                   data<const T>(x, in_size(g), "max_pool2d_backward: x"),
                                   data<T>(dx, in_size(g), "max_pool2d_backward: dx"), stream(s));
    });
  });
  m.def("avg_pool2d_forward", [](const std::vector<int64_t>& gv, Ptr x, Ptr y, bool f64, Ptr s) {
    const auto g = geom(gv);
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::avg_pool2d_forward<T>(g, data<const T>(x, in_size(g), "avg_pool2d_forward: x"),
                                  data<T>(y, out_size(g), "avg_pool2d_forward: y"), stream(s));
    });
  });
  m.def("avg_pool2d_backward", [](const std::vector<int64_t>& gv, Ptr dy, Ptr dx, bool f64, Ptr s) {
    const auto g = geom(gv);
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::avg_pool2d_backward<T>(g, data<const T>(dy, out_size(g), "avg_pool2d_backward: dy"),
                                   data<T>(dx, in_size(g), "avg_pool2d_backward: dx"), stream(s));
    });
  });
  m.def("global_avg_pool2d_forward", [](int64_t N, int64_t HW, int64_t C, Ptr x, Ptr y, bool f64, Ptr s) {
    require(N >= 0 && HW >= 0 && C >= 0, "global_avg_pool2d_forward: negative size");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::global_avg_pool2d_forward<T>(N, HW, C, data<const T>(x, N * HW * C, "global_avg_pool2d_forward: x"),
                                         data<T>(y, N * C, "global_avg_pool2d_forward: y"), stream(s));
    });
  });
  m.def("global_avg_pool2d_backward", [](int64_t N, int64_t HW, int64_t C, Ptr dy, Ptr dx, bool f64, Ptr s) {
    require(N >= 0 && HW >= 0 && C >= 0, "global_avg_pool2d_backward: negative size");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::global_avg_pool2d_backward<T>(N, HW, C, data<const T>(dy, N * C, "global_avg_pool2d_backward: dy"),
                                          data<T>(dx, N * HW * C, "global_avg_pool2d_backward: dx"), stream(s));
    });
  });
}

}  // namespace dlcore
