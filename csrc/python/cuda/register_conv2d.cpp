// dlcore._cuda.conv2d_*: geometry as a list of 15 ints (N, H, W, Cin, Ho, Wo, Cout, kh, kw, sh, sw,
// dh, dw, pt, pl), read into a Conv2dGeometry (common/geometry.h); `act` is an Epilogue code.
#include <vector>

#include "cuda/conv2d.cuh"
#include "python/bind_codes.h"
#include "python/cuda/bind_cuda.h"

namespace dlcore {
using namespace cuda_bind;
using bind_codes::code_arg;

namespace {

// The bottom (right) padding that the last output row (column) reaches: implied by ho (wo), which
// Python passes instead. geom() has checked that these sums and products fit in int64.
int64_t implied_padding(int64_t out, int64_t stride, int64_t k, int64_t dilation, int64_t in, int64_t pad_before) {
  const int64_t end = (out - 1) * stride - pad_before + (k - 1) * dilation + 1;  // one past the last row read
  return out > 0 && end > in ? end - in : 0;
}

// The geometry and the element counts of x, w and y, every product checked (python/checked.h).
struct Geo {
  Conv2dGeometry g;
  int64_t x, w, y;
};

Geo geom(const std::vector<int64_t>& v) {
  require(v.size() == 15, "conv2d: geometry must have 15 entries");
  for (auto d : v) require(d >= 0, "conv2d: negative geometry entry");
  Conv2dGeometry g;
  g.n = v[0], g.h = v[1], g.w = v[2], g.cin = v[3], g.ho = v[4], g.wo = v[5], g.cout = v[6];
  g.kh = v[7], g.kw = v[8], g.sh = v[9], g.sw = v[10], g.dh = v[11], g.dw = v[12], g.pt = v[13], g.pl = v[14];
  require(g.sh >= 1 && g.sw >= 1 && g.dh >= 1 && g.dw >= 1, "conv2d: strides and dilation must be >= 1");
  const char* what = "conv2d: geometry";
  // the kernels index up to ho * sh + kh * dh rows (and columns alike) and count n*ho*wo*cout*k flops
  checked::add(checked::mul(g.ho, g.sh, what), checked::mul(g.kh, g.dh, what), what);
  checked::add(checked::mul(g.wo, g.sw, what), checked::mul(g.kw, g.dw, what), what);
  checked::product({g.n, g.ho, g.wo, g.cout, g.kh, g.kw, g.cin, 2}, what);
  // Any Ho, Wo, pt, pl is memory-safe: the loaders bounds-check every image position they read.
  g.pb = implied_padding(g.ho, g.sh, g.kh, g.dh, g.h, g.pt);
  g.pr = implied_padding(g.wo, g.sw, g.kw, g.dw, g.w, g.pl);
  return {g, checked::product({g.n, g.h, g.w, g.cin}, what), checked::product({g.kh, g.kw, g.cin, g.cout}, what),
          checked::product({g.n, g.ho, g.wo, g.cout}, what)};
}

}  // namespace

void register_cuda_conv2d(py::module_& m) {
  m.def("conv2d_forward", [](const std::vector<int64_t>& gv, Ptr x, Ptr w, Ptr bias, int act, Ptr y, bool f64, Ptr s) {
    const Geo geo = geom(gv);
    const Conv2dGeometry& g = geo.g;
    const Epilogue epilogue = code_arg<Epilogue>(act, "conv2d_forward: act");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::conv2d_forward<T>(g, data<const T>(x, geo.x, "conv2d_forward: x"),
                              data<const T>(w, geo.w, "conv2d_forward: w"), ptr<const T>(bias),
                              epilogue, data<T>(y, geo.y, "conv2d_forward: y"), stream(s));
    });
  });
  m.def("conv2d_backward_data", [](const std::vector<int64_t>& gv, Ptr dy, Ptr w, Ptr dx, bool f64, Ptr s) {
    const Geo geo = geom(gv);
    const Conv2dGeometry& g = geo.g;
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::conv2d_backward_data<T>(g, data<const T>(dy, geo.y, "conv2d_backward_data: dy"),
                                    data<const T>(w, geo.w, "conv2d_backward_data: w"),
                                    data<T>(dx, geo.x, "conv2d_backward_data: dx"), stream(s));
    });
  });
  m.def("conv2d_backward_filter", [](const std::vector<int64_t>& gv, Ptr dy, Ptr x, Ptr dw, bool f64, Ptr s) {
    const Geo geo = geom(gv);
    const Conv2dGeometry& g = geo.g;
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::conv2d_backward_filter<T>(g, data<const T>(dy, geo.y, "conv2d_backward_filter: dy"),
                                      data<const T>(x, geo.x, "conv2d_backward_filter: x"),
                                      data<T>(dw, geo.w, "conv2d_backward_filter: dw"),
                                      stream(s));
    });
  });
}

}  // namespace dlcore
