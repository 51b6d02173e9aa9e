// dlcore._C depthwise_conv2d_*: NHWC depthwise convolution (one filter per channel) forward and
// backward on C-contiguous float32 or float64 arrays. The Keras-quality validation (padding modes,
// depth multiplier, shapes, messages) is in src/dlcore/kernels/depthwise_conv2d.py; the checks here
// only keep a direct call with bad arguments from touching memory it should not.
#include <array>
#include <optional>

#include "cpu/depthwise_conv2d.h"
#include "python/bind_util.h"

namespace dlcore {
namespace py = pybind11;
using namespace py_util;

namespace {

using Geometry = std::array<int64_t, 8>;  // sh, sw, pt, pb, pl, pr, dh, dw (as conv2d's)

// The Conv2dGeometry (cin = cout = C) of x (N, H, W, C) and w (kh, kw, C), checked.
Conv2dGeometry depthwise_shape(const std::vector<int64_t>& xs, const std::vector<int64_t>& ws, const Geometry& g,
                               const std::string& op) {
  require(xs.size() == 4 && ws.size() == 3, op + ": x must be 4-D and w 3-D");
  Conv2dGeometry s;
  s.n = xs[0], s.h = xs[1], s.w = xs[2], s.cin = s.cout = xs[3];
  s.kh = ws[0], s.kw = ws[1];
  s.sh = g[0], s.sw = g[1], s.pt = g[2], s.pb = g[3], s.pl = g[4], s.pr = g[5], s.dh = g[6], s.dw = g[7];
  require(ws[2] == s.cin, op + ": channel mismatch between x and w");
  require(s.kh >= 1 && s.kw >= 1 && s.sh >= 1 && s.sw >= 1 && s.dh >= 1 && s.dw >= 1,
          op + ": window, strides and dilation must be >= 1");
  require(s.pt >= 0 && s.pb >= 0 && s.pl >= 0 && s.pr >= 0, op + ": padding must be >= 0");
  const std::string what = op + ": geometry";
  const char* w = what.c_str();
  // finish() forms the dilated window and the padded size; the kernels index up to both
  checked::add(checked::mul(s.kh - 1, s.dh, w), 1, w);
  checked::add(checked::mul(s.kw - 1, s.dw, w), 1, w);
  checked::add(checked::add(s.h, s.pt, w), s.pb, w);
  checked::add(checked::add(s.w, s.pl, w), s.pr, w);
  require(s.finish(), op + ": the filter is larger than the padded input");
  checked::product({s.n, s.ho, s.wo, s.cin, s.kh, s.kw, 2}, w);  // the kernels' flop count
  return s;
}

template <typename T>
View<T> contiguous(const py::array& a, const std::string& what, bool writable = false) {
  auto v = view<T>(a, what.c_str(), writable);
  require(v.size() == 0 || is_c_contiguous(v), what + ": must be C-contiguous");
  return v;
}

void require_shape(const std::vector<int64_t>& got, const std::vector<int64_t>& want, const std::string& what) {
  require(got == want, what + ": wrong shape");
}

template <typename T>
void forward(const py::array& xa, const py::array& wa, const std::optional<py::array>& ba, const py::array& ya,
             const Geometry& g) {
  const std::string op = "depthwise_conv2d_forward";
  auto x = contiguous<T>(xa, op + ": x"), w = contiguous<T>(wa, op + ": w");
  auto y = contiguous<T>(ya, op + ": out", true);
  const Conv2dGeometry s = depthwise_shape(x.shape, w.shape, g, op);
  require_shape(y.shape, {s.n, s.ho, s.wo, s.cin}, op + ": out");
  const T* bias = nullptr;
  if (ba) {
    auto b = contiguous<T>(*ba, op + ": bias");
    require_shape(b.shape, {s.cin}, op + ": bias");
    bias = b.data;
  }
  py::gil_scoped_release nogil;
  cpu::depthwise_conv2d_forward<T>(s, x.data, w.data, bias, y.data);
}

template <typename T>
void backward_data(const py::array& dya, const py::array& wa, const py::array& dxa, const Geometry& g) {
  const std::string op = "depthwise_conv2d_backward_data";
  auto dy = contiguous<T>(dya, op + ": dy"), w = contiguous<T>(wa, op + ": w");
  auto dx = contiguous<T>(dxa, op + ": dx", true);
  const Conv2dGeometry s = depthwise_shape(dx.shape, w.shape, g, op);
  require_shape(dy.shape, {s.n, s.ho, s.wo, s.cin}, op + ": dy");
  py::gil_scoped_release nogil;
  cpu::depthwise_conv2d_backward_data<T>(s, dy.data, w.data, dx.data);
}

template <typename T>
void backward_filter(const py::array& dya, const py::array& xa, const py::array& dwa, const Geometry& g) {
  const std::string op = "depthwise_conv2d_backward_filter";
  auto dy = contiguous<T>(dya, op + ": dy"), x = contiguous<T>(xa, op + ": x");
  auto dw = contiguous<T>(dwa, op + ": dw", true);
  const Conv2dGeometry s = depthwise_shape(x.shape, dw.shape, g, op);
  require_shape(dy.shape, {s.n, s.ho, s.wo, s.cin}, op + ": dy");
  py::gil_scoped_release nogil;
  cpu::depthwise_conv2d_backward_filter<T>(s, dy.data, x.data, dw.data);
}

}  // namespace

void register_depthwise_conv2d(py::module_& m) {
  const char* geo = "geometry = (sh, sw, pad_top, pad_bottom, pad_left, pad_right, dh, dw); w (kh, kw, C)";
  m.def("depthwise_conv2d_forward", [](const py::array& x, const py::array& w, const std::optional<py::array>& bias,
                                       const py::array& out, const Geometry& g) {
    dispatch_float(out, "depthwise_conv2d_forward: out", [&](auto zero) {
      forward<decltype(zero)>(x, w, bias, out, g);
    });
  }, py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("out"), py::arg("geometry"), geo);
  m.def("depthwise_conv2d_backward_data", [](const py::array& dy, const py::array& w, const py::array& dx,
                                             const Geometry& g) {
    dispatch_float(dx, "depthwise_conv2d_backward_data: dx", [&](auto zero) {
      backward_data<decltype(zero)>(dy, w, dx, g);
    });
  }, py::arg("dy"), py::arg("w"), py::arg("dx"), py::arg("geometry"), geo);
  m.def("depthwise_conv2d_backward_filter", [](const py::array& dy, const py::array& x, const py::array& dw,
                                               const Geometry& g) {
    dispatch_float(dw, "depthwise_conv2d_backward_filter: dw", [&](auto zero) {
      backward_filter<decltype(zero)>(dy, x, dw, g);
    });
  }, py::arg("dy"), py::arg("x"), py::arg("dw"), py::arg("geometry"), geo);
}

}  // namespace dlcore
