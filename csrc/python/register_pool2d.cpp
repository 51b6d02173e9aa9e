// dlcore._C *_pool2d_*: NHWC max / average / global-average pooling on C-contiguous float32 or
// float64 arrays. Validation with Keras-quality messages is in src/dlcore/kernels/pool.py; the checks
// here only keep a direct call with bad arguments from touching memory it should not.
#include <array>

#include "cpu/pool2d.h"
#include "python/bind_util.h"

namespace dlcore {
namespace py = pybind11;
using namespace py_util;

namespace {

using Geometry = std::array<int64_t, 6>;  // kh, kw, sh, sw, pt, pl

template <typename T>
View<T> contiguous(const py::array& a, const std::string& what, bool writable = false) {
  auto v = view<T>(a, what.c_str(), writable);
  require(v.size() == 0 || is_c_contiguous(v), what + ": must be C-contiguous");
  return v;
}

// The pooling shape of an input (N, H, W, C) and output (N, Ho, Wo, C), checked: every window must
// start inside the image and cover at least one pixel of it, and every index the kernels form
// (oh * sh + kh, the work estimate n * ho * wo * c * kh * kw) must fit in int64 (checked.h).
Pool2dGeometry pool_shape(const std::vector<int64_t>& xs, const std::vector<int64_t>& ys,
                            const Geometry& g, const std::string& op) {
  require(xs.size() == 4 && ys.size() == 4, op + ": arrays must be 4-D");
  Pool2dGeometry s;
  s.n = xs[0], s.h = xs[1], s.w = xs[2], s.c = xs[3];
  s.kh = g[0], s.kw = g[1], s.sh = g[2], s.sw = g[3], s.pt = g[4], s.pl = g[5];
  s.ho = ys[1], s.wo = ys[2];
  require(ys[0] == s.n && ys[3] == s.c, op + ": batch or channels differ between input and output");
  require(s.kh >= 1 && s.kw >= 1 && s.sh >= 1 && s.sw >= 1, op + ": pool size and strides must be >= 1");
  require(s.pt >= 0 && s.pl >= 0 && s.pt < s.kh && s.pl < s.kw, op + ": padding must be in [0, pool size)");
  require(s.ho >= 0 && s.wo >= 0, op + ": bad output size");
  const std::string what = op + ": geometry";
  const char* w = what.c_str();
  checked::add(checked::mul(s.ho, s.sh, w), s.kh, w);  // the kernels index up to ho * sh + kh rows
  checked::add(checked::mul(s.wo, s.sw, w), s.kw, w);  // and wo * sw + kw columns
  if (s.ho > 0) require(s.h > 0 && (s.ho - 1) * s.sh - s.pt < s.h, op + ": output rows outside the input");
  if (s.wo > 0) require(s.w > 0 && (s.wo - 1) * s.sw - s.pl < s.w, op + ": output columns outside the input");
  checked::product({s.n, s.ho, s.wo, s.c, s.kh, s.kw, 3}, w);  // the kernels' work estimate
  return s;
}

template <typename T>
void pool_fwd(const py::array& xa, const py::array& ya, const Geometry& g, bool is_max) {
  const std::string op = is_max ? "max_pool2d_forward" : "avg_pool2d_forward";
  auto x = contiguous<T>(xa, op + ": x"), y = contiguous<T>(ya, op + ": out", true);
  const Pool2dGeometry s = pool_shape(x.shape, y.shape, g, op);
  py::gil_scoped_release nogil;
  if (is_max) cpu::max_pool2d_forward<T>(s, x.data, y.data);
  else cpu::avg_pool2d_forward<T>(s, x.data, y.data);
}

template <typename T>
void pool_bwd(const py::array& dya, const py::array* xa, const py::array& dxa, const Geometry& g) {
  const std::string op = xa ? "max_pool2d_backward" : "avg_pool2d_backward";
  auto dy = contiguous<T>(dya, op + ": dy"), dx = contiguous<T>(dxa, op + ": dx", true);
  const Pool2dGeometry s = pool_shape(dx.shape, dy.shape, g, op);
  if (xa) {
    auto x = contiguous<T>(*xa, op + ": x");
    require(x.shape == dx.shape, op + ": x and dx differ in shape");
    py::gil_scoped_release nogil;
    cpu::max_pool2d_backward<T>(s, dy.data, x.data, dx.data);
  } else {
    py::gil_scoped_release nogil;
    cpu::avg_pool2d_backward<T>(s, dy.data, dx.data);
  }
}

template <typename T>
void gavg(const py::array& ina, const py::array& outa, bool forward) {
  const std::string op = forward ? "global_avg_pool2d_forward" : "global_avg_pool2d_backward";
  auto in = contiguous<T>(ina, op + ": input"), out = contiguous<T>(outa, op + ": output", true);
  const View<T>& img = forward ? in : out;  // the (N, H, W, C) side
  const View<T>& vec = forward ? out : in;  // the (N, C) side
  require(img.ndim() == 4 && vec.ndim() == 2 && vec.dim(0) == img.dim(0) && vec.dim(1) == img.dim(3),
          op + ": shapes must be (N, H, W, C) and (N, C)");
  const int64_t n = img.dim(0), hw = checked::mul(img.dim(1), img.dim(2), (op + ": H*W").c_str()), c = img.dim(3);
  require(hw > 0 || n == 0 || c == 0, op + ": H*W must be > 0");
  py::gil_scoped_release nogil;
  if (forward) cpu::global_avg_pool2d_forward<T>(n, hw, c, in.data, out.data);
  else cpu::global_avg_pool2d_backward<T>(n, hw, c, in.data, out.data);
}

}  // namespace

void register_pool2d(py::module_& m) {
  const char* geo = "geometry = (kh, kw, sh, sw, pad_top, pad_left)";
  m.def("max_pool2d_forward", [](const py::array& x, const py::array& out, const Geometry& g) {
    dispatch_float(out, "max_pool2d_forward: out", [&](auto zero) { pool_fwd<decltype(zero)>(x, out, g, true); });
  }, py::arg("x"), py::arg("out"), py::arg("geometry"), geo);
  m.def("avg_pool2d_forward", [](const py::array& x, const py::array& out, const Geometry& g) {
    dispatch_float(out, "avg_pool2d_forward: out", [&](auto zero) { pool_fwd<decltype(zero)>(x, out, g, false); });
  }, py::arg("x"), py::arg("out"), py::arg("geometry"), geo);
  m.def("max_pool2d_backward", [](const py::array& dy, const py::array& x, const py::array& dx, const Geometry& g) {
    dispatch_float(dx, "max_pool2d_backward: dx", [&](auto zero) { pool_bwd<decltype(zero)>(dy, &x, dx, g); });
  }, py::arg("dy"), py::arg("x"), py::arg("dx"), py::arg("geometry"), geo);
  m.def("avg_pool2d_backward", [](const py::array& dy, const py::array& dx, const Geometry& g) {
    dispatch_float(dx, "avg_pool2d_backward: dx", [&](auto zero) { pool_bwd<decltype(zero)>(dy, nullptr, dx, g); });
  }, py::arg("dy"), py::arg("dx"), py::arg("geometry"), geo);
  m.def("global_avg_pool2d_forward", [](const py::array& x, const py::array& out) {
    dispatch_float(out, "global_avg_pool2d_forward: out", [&](auto zero) { gavg<decltype(zero)>(x, out, true); });
  }, py::arg("x"), py::arg("out"));
  m.def("global_avg_pool2d_backward", [](const py::array& dy, const py::array& dx) {
    dispatch_float(dx, "global_avg_pool2d_backward: dx", [&](auto zero) { gavg<decltype(zero)>(dy, dx, false); });
  }, py::arg("dy"), py::arg("dx"));
}

}  // namespace dlcore
