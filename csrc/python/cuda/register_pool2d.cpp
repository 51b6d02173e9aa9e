// dlcore._cuda pooling: geometry as 12 ints (N, H, W, C, Ho, Wo, kh, kw, sh, sw, pt, pl).
#include <vector>

#include "cuda/kernels.cuh"
#include "python/cuda/bind_cuda.h"

namespace dlcore {
using namespace cuda_bind;

namespace {
cuda::PoolGeom geom(const std::vector<int64_t>& v) {
  require(v.size() == 12, "pool2d: geometry must have 12 entries");
  for (auto d : v) require(d >= 0, "pool2d: negative geometry entry");
  cuda::PoolGeom g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]};
  require(g.kh >= 1 && g.kw >= 1 && g.sh >= 1 && g.sw >= 1, "pool2d: pool size and strides must be >= 1");
  return g;
}
int64_t in_size(const cuda::PoolGeom& g) { return g.N * g.H * g.W * g.C; }
int64_t out_size(const cuda::PoolGeom& g) { return g.N * g.Ho * g.Wo * g.C; }
}  // namespace

void register_cuda_pool2d(py::module_& m) {
  m.def("max_pool2d_forward", [](const std::vector<int64_t>& gv, Ptr x, Ptr y, bool f64, Ptr s) {
    const auto g = geom(gv);
    py::gil_scoped_release nogil;
    by_dtype(f64, [&](auto tag) {
      using T = decltype(tag);
      cuda::max_pool2d_forward<T>(g, data<const T>(x, in_size(g), "max_pool2d_forward: x"),
                                  data<T>(y, out_size(g), "max_pool2d_forward: y"), stream(s));
    });
  });
  m.def("max_pool2d_backward", [](const std::vector<int64_t>& gv, Ptr dy, Ptr x, Ptr dx, bool f64, Ptr s) {
    const auto g = geom(gv);
    py::gil_scoped_release nogil;
    by_dtype(f64, [&](auto tag) {
      using T = decltype(tag);
      cuda::max_pool2d_backward<T>(g, data<const T>(dy, out_size(g), "max_pool2d_backward: dy"),
                                   data<const T>(x, in_size(g), "max_pool2d_backward: x"),
                                   data<T>(dx, in_size(g), "max_pool2d_backward: dx"), stream(s));
    });
  });
  m.def("avg_pool2d_forward", [](const std::vector<int64_t>& gv, Ptr x, Ptr y, bool f64, Ptr s) {
    const auto g = geom(gv);
    py::gil_scoped_release nogil;
    by_dtype(f64, [&](auto tag) {
      using T = decltype(tag);
      cuda::avg_pool2d_forward<T>(g, data<const T>(x, in_size(g), "avg_pool2d_forward: x"),
                                  data<T>(y, out_size(g), "avg_pool2d_forward: y"), stream(s));
    });
  });
  m.def("avg_pool2d_backward", [](const std::vector<int64_t>& gv, Ptr dy, Ptr dx, bool f64, Ptr s) {
    const auto g = geom(gv);
    py::gil_scoped_release nogil;
    by_dtype(f64, [&](auto tag) {
      using T = decltype(tag);
      cuda::avg_pool2d_backward<T>(g, data<const T>(dy, out_size(g), "avg_pool2d_backward: dy"),
                                   data<T>(dx, in_size(g), "avg_pool2d_backward: dx"), stream(s));
    });
  });
  m.def("global_avg_pool2d_forward", [](int64_t N, int64_t HW, int64_t C, Ptr x, Ptr y, bool f64, Ptr s) {
    require(N >= 0 && HW >= 0 && C >= 0, "global_avg_pool2d_forward: negative size");
    py::gil_scoped_release nogil;
    by_dtype(f64, [&](auto tag) {
      using T = decltype(tag);
      cuda::global_avg_pool2d_forward<T>(N, HW, C, data<const T>(x, N * HW * C, "global_avg_pool2d_forward: x"),
                                         data<T>(y, N * C, "global_avg_pool2d_forward: y"), stream(s));
    });
  });
  m.def("global_avg_pool2d_backward", [](int64_t N, int64_t HW, int64_t C, Ptr dy, Ptr dx, bool f64, Ptr s) {
    require(N >= 0 && HW >= 0 && C >= 0, "global_avg_pool2d_backward: negative size");
    py::gil_scoped_release nogil;
    by_dtype(f64, [&](auto tag) {
      using T = decltype(tag);
      cuda::global_avg_pool2d_backward<T>(N, HW, C, data<const T>(dy, N * C, "global_avg_pool2d_backward: dy"),
                                          data<T>(dx, N * HW * C, "global_avg_pool2d_backward: dx"), stream(s));
    });
  });
}

}  // namespace dlcore
