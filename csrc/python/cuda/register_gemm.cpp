// dlcore._cuda.gemm and column_sum.
#include "cuda/gemm.cuh"
#include "python/bind_codes.h"
#include "python/cuda/bind_cuda.h"

namespace dlcore {
using namespace cuda_bind;
using bind_codes::code_arg;

void register_cuda_gemm(py::module_& m) {
  m.def(
      "gemm",
      [](int64_t M, int64_t N, int64_t K, double alpha, Ptr a, int64_t rs_a, int64_t cs_a, Ptr b, int64_t rs_b,
         int64_t cs_b, double beta, Ptr c, int64_t ldc, Ptr bias, int act, bool tf32, bool f64, Ptr s) {
        require(M >= 0 && N >= 0 && K >= 0, "gemm: negative size");
        require(ldc >= N || M <= 1, "gemm: ldc < n");
        const Epilogue epilogue = code_arg<Epilogue>(act, "gemm: act");
        checked::product({M, N, K, 2}, "gemm: (m, n, k)");  // the flop count the kernel forms
        checked::mul(M, ldc, "gemm: (m, ldc)");
        const int64_t mk = checked::mul(M, K, "gemm: (m, k)"), kn = checked::mul(K, N, "gemm: (k, n)");
        require((mk == 0 || a) && (kn == 0 || b) && (checked::mul(M, N, "gemm: (m, n)") == 0 || c),
                "gemm: null device pointer");
        py::gil_scoped_release nogil;
        dispatch_float(f64, [&](auto zero) {
          using T = decltype(zero);
          cuda::gemm<T>(M, N, K, T(alpha), ptr<const T>(a), rs_a, cs_a, ptr<const T>(b), rs_b, cs_b, T(beta),
                        ptr<T>(c), ldc, ptr<const T>(bias), epilogue, tf32, stream(s));
        });
      },
      py::arg("m"), py::arg("n"), py::arg("k"), py::arg("alpha"), py::arg("a"), py::arg("rs_a"), py::arg("cs_a"),
      py::arg("b"), py::arg("rs_b"), py::arg("cs_b"), py::arg("beta"), py::arg("c"), py::arg("ldc"), py::arg("bias"),
      py::arg("act"), py::arg("tf32"), py::arg("f64"), py::arg("stream"),
      "C := act(alpha * op(A) @ op(B) + beta * C + bias) on device pointers (see csrc/cuda/gemm.cuh).");
  m.def(
      "column_sum",
      [](int64_t rows, int64_t cols, Ptr x, Ptr out, bool accumulate, bool f64, Ptr s) {
        dispatch_float(f64, [&](auto zero) {
          using T = decltype(zero);
          cuda::column_sum<T>(rows, cols, data<const T>(x, checked::mul(rows, cols, "column_sum: (rows, cols)"), "column_sum: x"), data<T>(out, cols, "column_sum: out"),
                              accumulate, stream(s));
        });
      },
      py::arg("rows"), py::arg("cols"), py::arg("x"), py::arg("out"), py::arg("accumulate"), py::arg("f64"),
      py::arg("stream"));
}

}  // namespace dlcore
