// dlcore._C activations: elementwise forward/backward and softmax / log-softmax along an axis.
// src/dlcore/kernels/activation.py validates and makes inputs contiguous; the checks here are the
// safety net for direct calls (wrong dtype, size or layout -> ValueError, never a bad memory access).
#include "cpu/activation.h"
#include "python/bind_codes.h"
#include "python/bind_util.h"

namespace dlcore {
namespace py = pybind11;
using namespace py_util;
using bind_codes::code_arg;

namespace {

// A C-contiguous array of T: pointer and element count.
template <typename T>
std::pair<T*, int64_t> flat(const py::array& arr, const std::string& what, bool writable = false) {
  auto v = view<T>(arr, what.c_str(), writable);
  require(v.size() == 0 || is_c_contiguous(v), what + ": must be C-contiguous");
  return {v.data, v.size()};
}

template <typename T>
void act_forward(int act, const py::array& x, const py::array& out, double param) {
  auto [px, n] = flat<T>(x, "activation_forward: x");
  auto [py_, m] = flat<T>(out, "activation_forward: out", true);
  require(n == m, "activation_forward: x and out differ in size");
  const Activation a = code_arg<Activation>(act, "activation_forward: act");
  py::gil_scoped_release nogil;
  cpu::activation_forward<T>(a, px, py_, n, T(param));
}

template <typename T>
void act_backward(int act, const py::array& dy, const py::array& z, const py::array& out, double param) {
  auto [pdy, n] = flat<T>(dy, "activation_backward: dy");
  auto [pz, nz] = flat<T>(z, "activation_backward: x/y");
  auto [pdx, m] = flat<T>(out, "activation_backward: out", true);
  require(n == nz && n == m, "activation_backward: dy, x/y and out differ in size");
  const Activation a = code_arg<Activation>(act, "activation_backward: act");
  py::gil_scoped_release nogil;
  cpu::activation_backward<T>(a, pdy, pz, pdx, n, T(param));
}

void check_dims(int64_t size, int64_t outer, int64_t n, int64_t inner, const char* op) {
  require(outer >= 0 && n >= 0 && inner >= 0, std::string(op) + ": (outer, n, inner) must be >= 0");
  const std::string what = std::string(op) + ": (outer, n, inner)";
  require(checked::product({outer, n, inner}, what.c_str()) == size,
          std::string(op) + ": (outer, n, inner) does not match the array size");
}

template <typename T>
void sm_forward(const py::array& x, const py::array& out, int64_t outer, int64_t n, int64_t inner, bool log) {
  auto [px, s] = flat<T>(x, "softmax_forward: x");
  auto [py_, so] = flat<T>(out, "softmax_forward: out", true);
  require(s == so, "softmax_forward: x and out differ in size");
  check_dims(s, outer, n, inner, "softmax_forward");
  py::gil_scoped_release nogil;
  cpu::softmax_forward<T>(px, py_, outer, n, inner, log);
}

template <typename T>
void sm_backward(const py::array& dy, const py::array& y, const py::array& out, int64_t outer, int64_t n,
                 int64_t inner, bool log) {
  auto [pdy, s] = flat<T>(dy, "softmax_backward: dy");
  auto [pyv, sy] = flat<T>(y, "softmax_backward: y");
  auto [pdx, so] = flat<T>(out, "softmax_backward: out", true);
  require(s == sy && s == so, "softmax_backward: dy, y and out differ in size");
  check_dims(s, outer, n, inner, "softmax_backward");
  py::gil_scoped_release nogil;
  cpu::softmax_backward<T>(pdy, pyv, pdx, outer, n, inner, log);
}

}  // namespace

void register_activation(py::module_& m) {
  m.def("activation_forward", [](int act, const py::array& x, const py::array& out, double param) {
    dispatch_float(out, "activation_forward: out", [&](auto zero) { act_forward<decltype(zero)>(act, x, out, param); });
  }, py::arg("act"), py::arg("x"), py::arg("out"), py::arg("param") = 0.0,
     "out := f(x) elementwise; contiguous arrays of one dtype; out may be x.");
  m.def("activation_backward", [](int act, const py::array& dy, const py::array& z, const py::array& out,
                                  double param) {
    dispatch_float(out, "activation_backward: out",
                   [&](auto zero) { act_backward<decltype(zero)>(act, dy, z, out, param); });
  }, py::arg("act"), py::arg("dy"), py::arg("z"), py::arg("out"), py::arg("param") = 0.0,
     "out := dy * f'(.) with z the forward output (relu, sigmoid, tanh) or input (the others).");
  m.def("softmax_forward", [](const py::array& x, const py::array& out, int64_t outer, int64_t n, int64_t inner,
                              bool log) {
    dispatch_float(out, "softmax_forward: out",
                   [&](auto zero) { sm_forward<decltype(zero)>(x, out, outer, n, inner, log); });
  }, py::arg("x"), py::arg("out"), py::arg("outer"), py::arg("n"), py::arg("inner"), py::arg("log") = false);
  m.def("softmax_backward", [](const py::array& dy, const py::array& y, const py::array& out, int64_t outer,
                               int64_t n, int64_t inner, bool log) {
    dispatch_float(out, "softmax_backward: out",
                   [&](auto zero) { sm_backward<decltype(zero)>(dy, y, out, outer, n, inner, log); });
  }, py::arg("dy"), py::arg("y"), py::arg("out"), py::arg("outer"), py::arg("n"), py::arg("inner"),
     py::arg("log") = false);
  m.def("vector_math_f32", [](int fn, const py::array& x, const py::array& out) {
    auto [px, n] = flat<float>(x, "vector_math_f32: x");
    auto [po, no] = flat<float>(out, "vector_math_f32: out", true);
    require(n == no, "vector_math_f32: x and out differ in size");
    require(fn >= 0 && fn <= 4, "vector_math_f32: fn must be 0 exp, 1 expm1, 2 tanh, 3 log1p, 4 erfc");
    py::gil_scoped_release nogil;
    cpu::act_kernels_f32().math(fn, px, po, n);
  }, py::arg("fn"), py::arg("x"), py::arg("out"),
     "The active ISA's float32 vector math (0 exp, 1 expm1, 2 tanh, 3 log1p on [0,1], 4 erfc on [0,inf)), "
     "single-threaded; for measuring its error.");
  m.def("activation_kernel_name", [] { return std::string(cpu::act_kernels_f32().name); });
}

}  // namespace dlcore
