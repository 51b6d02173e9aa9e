// dlcore._cuda.depthwise_conv2d_*: geometry as conv2d's 15 ints (N, H, W, C, Ho, Wo, C, kh, kw, sh, sw,
// dh, dw, pt, pl), read into a Conv2dGeometry with cin = cout = C (common/geometry.h); w (kh, kw, C).
#include <vector>

#include "cuda/depthwise_conv2d.cuh"
#include "python/cuda/bind_cuda.h"

namespace dlcore {
using namespace cuda_bind;

namespace {

Conv2dGeometry geom(const std::vector<int64_t>& v) {
  require(v.size() == 15, "depthwise_conv2d: geometry must have 15 entries");
  for (auto d : v) require(d >= 0, "depthwise_conv2d: negative geometry entry");
  Conv2dGeometry g;
  g.n = v[0], g.h = v[1], g.w = v[2], g.cin = v[3], g.ho = v[4], g.wo = v[5], g.cout = v[6];
  g.kh = v[7], g.kw = v[8], g.sh = v[9], g.sw = v[10], g.dh = v[11], g.dw = v[12], g.pt = v[13], g.pl = v[14];
  require(g.cin == g.cout, "depthwise_conv2d: C_in and C_out must be equal");
  require(g.sh >= 1 && g.sw >= 1 && g.dh >= 1 && g.dw >= 1, "depthwise_conv2d: strides and dilation must be >= 1");
  // Any Ho, Wo, pt, pl is memory-safe: the kernels bounds-check every image position they read. The
  // products they form while indexing must fit in int64 (python/checked.h).
  const char* what = "depthwise_conv2d: geometry";
  checked::add(checked::mul(g.ho, g.sh, what), checked::mul(g.kh, g.dh, what), what);
  checked::add(checked::mul(g.wo, g.sw, what), checked::mul(g.kw, g.dw, what), what);
  checked::product({g.n, g.h, g.w, g.cin}, what);
  checked::product({g.n, g.ho, g.wo, g.cin, g.kh, g.kw, 2}, what);
  return g;
}
// (geom() has checked these products)
int64_t in_size(const Conv2dGeometry& g) { return g.n * g.h * g.w * g.cin; }
int64_t out_size(const Conv2dGeometry& g) { return g.n * g.ho * g.wo * g.cin; }
int64_t filter_size(const Conv2dGeometry& g) { return g.kh * g.kw * g.cin; }

}  // namespace

void register_cuda_depthwise_conv2d(py::module_& m) {
  m.def("depthwise_conv2d_forward", [](const std::vector<int64_t>& gv, Ptr x, Ptr w, Ptr bias, Ptr y, bool f64,
                                       Ptr s) {
    const auto g = geom(gv);
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::depthwise_conv2d_forward<T>(g, data<const T>(x, in_size(g), "depthwise_conv2d_forward: x"),
                                        data<const T>(w, filter_size(g), "depthwise_conv2d_forward: w"),
                                        ptr<const T>(bias), data<T>(y, out_size(g), "depthwise_conv2d_forward: y"),
                                        stream(s));
    });
  });
  m.def("depthwise_conv2d_backward_data", [](const std::vector<int64_t>& gv, Ptr dy, Ptr w, Ptr dx, bool f64, Ptr s) {
    const auto g = geom(gv);
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::depthwise_conv2d_backward_data<T>(g, data<const T>(dy, out_size(g), "depthwise_conv2d_backward_data: dy"),
                                              data<const T>(w, filter_size(g), "depthwise_conv2d_backward_data: w"),
                                              data<T>(dx, in_size(g), "depthwise_conv2d_backward_data: dx"),
                                              stream(s));
    });
  });
  m.def("depthwise_conv2d_backward_filter", [](const std::vector<int64_t>& gv, Ptr dy, Ptr x, int64_t parts,
                                               Ptr partial, Ptr dw, bool f64, Ptr s) {
    const auto g = geom(gv);
    require(parts >= 1, "depthwise_conv2d_backward_filter: parts must be >= 1");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      const char* op = "depthwise_conv2d_backward_filter";
      cuda::depthwise_conv2d_backward_filter<T>(g, data<const T>(dy, out_size(g), op), data<const T>(x, in_size(g), op),
                                                parts, data<T>(partial, checked::mul(parts, filter_size(g), op), op),
                                                data<T>(dw, filter_size(g), op), stream(s));
    });
  });
}

}  // namespace dlcore
