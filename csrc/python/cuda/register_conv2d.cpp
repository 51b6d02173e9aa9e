// dlcore._cuda.conv2d_*: geometry as a list of 15 ints (N, H, W, Cin, Ho, Wo, Cout, kh, kw, sh, sw,
// dh, dw, pt, pl) — the order of cuda::ConvGeom.
#include <vector>

#include "cuda/conv2d.cuh"
#include "python/cuda/bind_cuda.h"

namespace dlcore {
using namespace cuda_bind;

namespace {
cuda::ConvGeom geom(const std::vector<int64_t>& v) {
  require(v.size() == 15, "conv2d: geometry must have 15 entries");
  for (auto d : v) require(d >= 0, "conv2d: negative geometry entry");
  cuda::ConvGeom g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  require(g.sh >= 1 && g.sw >= 1 && g.dh >= 1 && g.dw >= 1, "conv2d: strides and dilation must be >= 1");
  // Any Ho, Wo, pt, pl is memory-safe: the loaders bounds-check every image position they read.
  return g;
}
}  // namespace

void register_cuda_conv2d(py::module_& m) {
  m.def("conv2d_forward", [](const std::vector<int64_t>& gv, Ptr x, Ptr w, Ptr bias, int act, Ptr y, bool f64, Ptr s) {
    const auto g = geom(gv);
    require(act >= 0 && act <= 3, "conv2d_forward: unknown activation code");
    py::gil_scoped_release nogil;
    by_dtype(f64, [&](auto tag) {
      using T = decltype(tag);
      cuda::conv2d_forward<T>(g, data<const T>(x, g.N * g.H * g.W * g.Cin, "conv2d_forward: x"),
                              data<const T>(w, g.kh * g.kw * g.Cin * g.Cout, "conv2d_forward: w"), ptr<const T>(bias),
                              act, data<T>(y, g.N * g.Ho * g.Wo * g.Cout, "conv2d_forward: y"), stream(s));
    });
  });
  m.def("conv2d_backward_data", [](const std::vector<int64_t>& gv, Ptr dy, Ptr w, Ptr dx, bool f64, Ptr s) {
    const auto g = geom(gv);
    py::gil_scoped_release nogil;
    by_dtype(f64, [&](auto tag) {
      using T = decltype(tag);
      cuda::conv2d_backward_data<T>(g, data<const T>(dy, g.N * g.Ho * g.Wo * g.Cout, "conv2d_backward_data: dy"),
                                    data<const T>(w, g.kh * g.kw * g.Cin * g.Cout, "conv2d_backward_data: w"),
                                    data<T>(dx, g.N * g.H * g.W * g.Cin, "conv2d_backward_data: dx"), stream(s));
    });
  });
  m.def("conv2d_backward_filter", [](const std::vector<int64_t>& gv, Ptr dy, Ptr x, Ptr dw, bool f64, Ptr s) {
    const auto g = geom(gv);
    py::gil_scoped_release nogil;
    by_dtype(f64, [&](auto tag) {
      using T = decltype(tag);
      cuda::conv2d_backward_filter<T>(g, data<const T>(dy, g.N * g.Ho * g.Wo * g.Cout, "conv2d_backward_filter: dy"),
                                      data<const T>(x, g.N * g.H * g.W * g.Cin, "conv2d_backward_filter: x"),
                                      data<T>(dw, g.kh * g.kw * g.Cin * g.Cout, "conv2d_backward_filter: dw"), stream(s));
    });
  });
}

}  // namespace dlcore
