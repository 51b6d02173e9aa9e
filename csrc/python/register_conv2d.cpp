// dlcore._C conv2d_*: NHWC convolution forward / backward on C-contiguous float32 or float64 arrays.
// The Keras-quality validation (padding modes, shapes, messages) is in src/dlcore/kernels/conv.py; the
// checks here only keep a direct call with bad arguments from touching memory it should not.
#include <array>
#include <optional>

#include "cpu/conv2d.h"
#include "python/bind_codes.h"
#include "python/bind_util.h"

namespace dlcore {
namespace py = pybind11;
using namespace py_util;
using bind_codes::code_arg;

namespace {

using Geometry = std::array<int64_t, 8>;  // sh, sw, pt, pb, pl, pr, dh, dw

// The Conv2dGeometry of x (N, H, W, Cin) and w (kh, kw, Cin, Cout) shapes, checked.
Conv2dGeometry conv_shape(const std::vector<int64_t>& xs, const std::vector<int64_t>& ws, const Geometry& g,
                            const char* op) {
  require(xs.size() == 4 && ws.size() == 4, std::string(op) + ": x and w must be 4-D");
  Conv2dGeometry s;
  s.n = xs[0], s.h = xs[1], s.w = xs[2], s.cin = xs[3];
  s.kh = ws[0], s.kw = ws[1], s.cout = ws[3];
  s.sh = g[0], s.sw = g[1], s.pt = g[2], s.pb = g[3], s.pl = g[4], s.pr = g[5], s.dh = g[6], s.dw = g[7];
  require(ws[2] == s.cin, std::string(op) + ": channel mismatch between x and w");
  require(s.kh >= 1 && s.kw >= 1 && s.sh >= 1 && s.sw >= 1 && s.dh >= 1 && s.dw >= 1,
          std::string(op) + ": window, strides and dilation must be >= 1");
  require(s.pt >= 0 && s.pb >= 0 && s.pl >= 0 && s.pr >= 0, std::string(op) + ": padding must be >= 0");
  const std::string what = std::string(op) + ": geometry";
  const char* w = what.c_str();
  // finish() forms the dilated window and the padded size; the kernels index up to both
  checked::add(checked::mul(s.kh - 1, s.dh, w), 1, w);
  checked::add(checked::mul(s.kw - 1, s.dw, w), 1, w);
  checked::add(checked::add(s.h, s.pt, w), s.pb, w);
  checked::add(checked::add(s.w, s.pl, w), s.pr, w);
  require(s.finish(), std::string(op) + ": the filter is larger than the padded input");
  checked::product({s.n, s.ho, s.wo, s.cout, s.kh, s.kw, s.cin, 2}, w);  // the kernels' flop count
  return s;
}

template <typename T>
View<T> contiguous(const py::array& a, const char* what, bool writable = false) {
  auto v = view<T>(a, what, writable);
  require(v.size() == 0 || is_c_contiguous(v), std::string(what) + ": must be C-contiguous");
  return v;
}

void require_shape(const std::vector<int64_t>& got, const std::vector<int64_t>& want, const std::string& what) {
  require(got == want, what + ": wrong shape");
}

template <typename T>
void forward(const py::array& xa, const py::array& wa, const std::optional<py::array>& ba, const py::array& ya,
             const Geometry& g, int act) {
  auto x = contiguous<T>(xa, "conv2d_forward: x"), w = contiguous<T>(wa, "conv2d_forward: w");
  auto y = contiguous<T>(ya, "conv2d_forward: out", true);
  const Conv2dGeometry s = conv_shape(x.shape, w.shape, g, "conv2d_forward");
  require_shape(y.shape, {s.n, s.ho, s.wo, s.cout}, "conv2d_forward: out");
  const Epilogue epilogue = code_arg<Epilogue>(act, "conv2d_forward: act");
  const T* bias = nullptr;
  if (ba) {
    auto b = contiguous<T>(*ba, "conv2d_forward: bias");
    require_shape(b.shape, {s.cout}, "conv2d_forward: bias");
    bias = b.data;
  }
  py::gil_scoped_release nogil;
  cpu::conv2d_forward<T>(s, x.data, w.data, bias, epilogue, y.data);
}

template <typename T>
void backward_data(const py::array& dya, const py::array& wa, const py::array& dxa, const Geometry& g) {
  auto dy = contiguous<T>(dya, "conv2d_backward_data: dy"), w = contiguous<T>(wa, "conv2d_backward_data: w");
  auto dx = contiguous<T>(dxa, "conv2d_backward_data: dx", true);
  const Conv2dGeometry s = conv_shape(dx.shape, w.shape, g, "conv2d_backward_data");
  require_shape(dy.shape, {s.n, s.ho, s.wo, s.cout}, "conv2d_backward_data: dy");
  py::gil_scoped_release nogil;
  cpu::conv2d_backward_data<T>(s, dy.data, w.data, dx.data);
}

template <typename T>
void backward_filter(const py::array& dya, const py::array& xa, const py::array& dwa, const Geometry& g) {
  auto dy = contiguous<T>(dya, "conv2d_backward_filter: dy"), x = contiguous<T>(xa, "conv2d_backward_filter: x");
  auto dw = contiguous<T>(dwa, "conv2d_backward_filter: dw", true);
  const Conv2dGeometry s = conv_shape(x.shape, dw.shape, g, "conv2d_backward_filter");
  require_shape(dy.shape, {s.n, s.ho, s.wo, s.cout}, "conv2d_backward_filter: dy");
  py::gil_scoped_release nogil;
  cpu::conv2d_backward_filter<T>(s, dy.data, x.data, dw.data);
}

template <typename T>
void backward_bias(const py::array& dya, const py::array& dba) {
  auto dy = contiguous<T>(dya, "conv2d_backward_bias: dy"), db = contiguous<T>(dba, "conv2d_backward_bias: db", true);
  require(dy.ndim() >= 1 && db.ndim() == 1 && db.dim(0) == dy.dim(dy.ndim() - 1),
          "conv2d_backward_bias: db must have shape (C,) for dy (..., C)");
  const int64_t c = db.dim(0), m = c ? dy.size() / c : 0;
  py::gil_scoped_release nogil;
  cpu::conv2d_backward_bias<T>(m, c, dy.data, db.data);
}

}  // namespace

void register_conv2d(py::module_& m) {
  m.def("conv2d_forward",
        [](const py::array& x, const py::array& w, const std::optional<py::array>& bias, const py::array& out,
           const Geometry& g, int act) {
          dispatch_float(out, "conv2d_forward: out",
                         [&](auto zero) { forward<decltype(zero)>(x, w, bias, out, g, act); });
        },
        py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("out"), py::arg("geometry"), py::arg("act") = 0,
        "out := act(conv2d(x, w) + bias); geometry = (sh, sw, pt, pb, pl, pr, dh, dw).");
  m.def("conv2d_backward_data",
        [](const py::array& dy, const py::array& w, const py::array& dx, const Geometry& g) {
          dispatch_float(dx, "conv2d_backward_data: dx",
                         [&](auto zero) { backward_data<decltype(zero)>(dy, w, dx, g); });
        },
        py::arg("dy"), py::arg("w"), py::arg("dx"), py::arg("geometry"));
  m.def("conv2d_backward_filter",
        [](const py::array& dy, const py::array& x, const py::array& dw, const Geometry& g) {
          dispatch_float(dw, "conv2d_backward_filter: dw",
                         [&](auto zero) { backward_filter<decltype(zero)>(dy, x, dw, g); });
        },
        py::arg("dy"), py::arg("x"), py::arg("dw"), py::arg("geometry"));
  m.def("conv2d_backward_bias",
        [](const py::array& dy, const py::array& db) {
          dispatch_float(db, "conv2d_backward_bias: db", [&](auto zero) { backward_bias<decltype(zero)>(dy, db); });
        },
        py::arg("dy"), py::arg("db"));
}

}  // namespace dlcore
