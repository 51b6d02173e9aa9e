// dlcore._cuda upsample2d_*: geometry as 6 ints (N, H, W, C, fh, fw), read into an
// Upsample2dGeometry (common/geometry.h); `mode` an Interpolation code.
#include <vector>

#include "cuda/upsample2d.cuh"
#include "python/bind_codes.h"
#include "python/cuda/bind_cuda.h"

namespace dlcore {
using namespace cuda_bind;
using bind_codes::code_arg;

namespace {
Upsample2dGeometry geom(const std::vector<int64_t>& v) {
  require(v.size() == 6, "upsample2d: geometry must have 6 entries");
  for (auto d : v) require(d >= 0, "upsample2d: negative geometry entry");
  Upsample2dGeometry g;
  g.n = v[0], g.h = v[1], g.w = v[2], g.c = v[3], g.fh = v[4], g.fw = v[5];
  require(g.fh >= 1 && g.fw >= 1, "upsample2d: the factors must be >= 1");
  checked::product({g.n, g.h, g.fh, g.w, g.fw, g.c}, "upsample2d: (N, H*fh, W*fw, C)");  // ho(), wo(), sizes
  return g;
}
// (geom() has checked these products)
int64_t in_size(const Upsample2dGeometry& g) { return g.n * g.h * g.w * g.c; }
int64_t out_size(const Upsample2dGeometry& g) { return g.n * g.ho() * g.wo() * g.c; }
}  // namespace

void register_cuda_upsample2d(py::module_& m) {
  m.def("upsample2d_forward", [](const std::vector<int64_t>& gv, int mode, Ptr x, Ptr y, bool f64, Ptr s) {
    const auto g = geom(gv);
    const Interpolation m = code_arg<Interpolation>(mode, "upsample2d_forward: mode");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::upsample2d_forward<T>(g, m, data<const T>(x, in_size(g), "upsample2d_forward: x"),
                                  data<T>(y, out_size(g), "upsample2d_forward: y"), stream(s));
    });
  });
  m.def("upsample2d_backward", [](const std::vector<int64_t>& gv, int mode, Ptr dy, Ptr dx, bool f64, Ptr s) {
    const auto g = geom(gv);
    const Interpolation m = code_arg<Interpolation>(mode, "upsample2d_backward: mode");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::upsample2d_backward<T>(g, m, data<const T>(dy, out_size(g), "upsample2d_backward: dy"),
                                   data<T>(dx, in_size(g), "upsample2d_backward: dx"), stream(s));
    });
  });
}

}  // namespace dlcore
