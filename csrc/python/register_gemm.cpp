// dlcore._C.gemm: out := alpha * op(a) @ op(b) + beta * out, then act(out + bias).
#include <optional>

#include "cpu/gemm/gemm.h"
#include "python/bind_codes.h"
#include "python/bind_util.h"

namespace dlcore {
namespace py = pybind11;
using namespace py_util;
using bind_codes::code_arg;

namespace {

template <typename T>
void gemm_impl(const py::array& a_arr, const py::array& b_arr, const py::array& out_arr, bool trans_a,
               bool trans_b, double alpha, double beta, const std::optional<py::array>& bias_arr, int act) {
  auto a = view<T>(a_arr, "gemm: a"), b = view<T>(b_arr, "gemm: b");
  auto c = view<T>(out_arr, "gemm: out", /*writable=*/true);
  require(a.ndim() == 2 && b.ndim() == 2 && c.ndim() == 2, "gemm: a, b and out must be 2-D");
  const int ia = trans_a ? 1 : 0, ib = trans_b ? 1 : 0;
  const int64_t m = a.dim(ia), k = a.dim(1 - ia), n = b.dim(1 - ib);
  require(b.dim(ib) == k, "gemm: inner dimensions differ");
  require(c.dim(0) == m && c.dim(1) == n, "gemm: out has the wrong shape");
  require(c.stride(1) == 1 || n <= 1 || m == 0, "gemm: out must have unit column stride");
  const Epilogue epilogue = code_arg<Epilogue>(act, "gemm: act");
  const T* bias = nullptr;
  if (bias_arr) {
    auto bv = view<T>(*bias_arr, "gemm: bias");
    require(bv.ndim() == 1 && bv.dim(0) == n && (bv.stride(0) == 1 || n <= 1), "gemm: bias must be contiguous (n,)");
    bias = bv.data;
  }
  const int64_t rs_a = trans_a ? a.stride(1) : a.stride(0), cs_a = trans_a ? a.stride(0) : a.stride(1);
  const int64_t rs_b = trans_b ? b.stride(1) : b.stride(0), cs_b = trans_b ? b.stride(0) : b.stride(1);
  cpu::GemmEpilogue<T> ep{bias, epilogue};
  py::gil_scoped_release nogil;
  cpu::gemm<T>(m, n, k, T(alpha), a.data, rs_a, cs_a, b.data, rs_b, cs_b, T(beta), c.data, c.stride(0), ep);
}

}  // namespace

void register_gemm(py::module_& m) {
  m.def(
      "gemm",
      [](const py::array& a, const py::array& b, const py::array& out, bool trans_a, bool trans_b, double alpha,
         double beta, const std::optional<py::array>& bias, int act) {
        dispatch_float(out, "gemm: out", [&](auto zero) {
          gemm_impl<decltype(zero)>(a, b, out, trans_a, trans_b, alpha, beta, bias, act);
        });
      },
      py::arg("a"), py::arg("b"), py::arg("out"), py::arg("trans_a") = false, py::arg("trans_b") = false,
      py::arg("alpha") = 1.0, py::arg("beta") = 0.0, py::arg("bias") = py::none(), py::arg("act") = 0,
      "out := act(alpha * op(a) @ op(b) + beta * out + bias); float32 or float64, arrays of one dtype.");
  m.def("gemm_kernel_name", [](const std::string& dtype) {
    return std::string(dtype == "float64" ? cpu::gemm_ukr<double>().name : cpu::gemm_ukr<float>().name);
  });
}

}  // namespace dlcore
