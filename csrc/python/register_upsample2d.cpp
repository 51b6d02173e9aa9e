// dlcore._C upsample2d_*: NHWC upsampling by integer factors (nearest / bilinear) on C-contiguous
// float32 or float64 arrays. Validation with Keras-quality messages is in
// src/dlcore/kernels/upsample2d.py; the checks here only keep a direct call with bad arguments from
// touching memory it should not.
#include <array>

#include "cpu/upsample2d.h"
#include "python/bind_codes.h"
#include "python/bind_util.h"

namespace dlcore {
namespace py = pybind11;
using namespace py_util;

namespace {

using Factors = std::array<int64_t, 2>;  // fh, fw

// The geometry of an input (N, H, W, C) and its output (N, H*fh, W*fw, C), checked.
Upsample2dGeometry geometry(const std::vector<int64_t>& xs, const std::vector<int64_t>& ys, const Factors& f,
                            const std::string& op) {
  require(xs.size() == 4 && ys.size() == 4, op + ": arrays must be 4-D");
  require(f[0] >= 1 && f[1] >= 1, op + ": the factors must be >= 1");
  Upsample2dGeometry s;
  s.n = xs[0], s.h = xs[1], s.w = xs[2], s.c = xs[3], s.fh = f[0], s.fw = f[1];
  const std::string what = op + ": (N, H*fh, W*fw, C)";
  checked::product({s.n, s.h, s.fh, s.w, s.fw, s.c}, what.c_str());  // ho(), wo() and the output's size
  require(ys[0] == s.n && ys[1] == s.ho() && ys[2] == s.wo() && ys[3] == s.c,
          op + ": the output must be (N, H*fh, W*fw, C) for the input (N, H, W, C)");
  return s;
}

template <typename T>
View<T> contiguous(const py::array& a, const std::string& what, bool writable = false) {
  auto v = view<T>(a, what.c_str(), writable);
  require(v.size() == 0 || is_c_contiguous(v), what + ": must be C-contiguous");
  return v;
}

template <typename T>
void run(const py::array& ina, const py::array& outa, const Factors& f, int mode, bool forward) {
  const std::string op = forward ? "upsample2d_forward" : "upsample2d_backward";
  const Interpolation m = bind_codes::code_arg<Interpolation>(mode, (op + ": mode").c_str());
  auto in = contiguous<T>(ina, op + (forward ? ": x" : ": dy"));
  auto out = contiguous<T>(outa, op + (forward ? ": out" : ": dx"), true);
  const Upsample2dGeometry s = forward ? geometry(in.shape, out.shape, f, op) : geometry(out.shape, in.shape, f, op);
  py::gil_scoped_release nogil;
  if (forward)
    cpu::upsample2d_forward<T>(s, m, in.data, out.data);
  else
    cpu::upsample2d_backward<T>(s, m, in.data, out.data);
}

}  // namespace

void register_upsample2d(py::module_& m) {
  m.def("upsample2d_forward", [](const py::array& x, const py::array& out, const Factors& f, int mode) {
    dispatch_float(out, "upsample2d_forward: out", [&](auto zero) { run<decltype(zero)>(x, out, f, mode, true); });
  }, py::arg("x"), py::arg("out"), py::arg("factors"), py::arg("mode"),
        "out (N, H*fh, W*fw, C) := x (N, H, W, C) upsampled; factors = (fh, fw), mode an Interpolation code");
  m.def("upsample2d_backward", [](const py::array& dy, const py::array& dx, const Factors& f, int mode) {
    dispatch_float(dx, "upsample2d_backward: dx", [&](auto zero) { run<decltype(zero)>(dy, dx, f, mode, false); });
  }, py::arg("dy"), py::arg("dx"), py::arg("factors"), py::arg("mode"),
        "dx (N, H, W, C) := the gradient of upsample2d_forward for dy (N, H*fh, W*fw, C)");
}

}  // namespace dlcore
