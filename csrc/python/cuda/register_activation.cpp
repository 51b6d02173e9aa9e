// dlcore._cuda activations and softmax. Activation codes as cpu::Act (see csrc/cuda/kernels.cuh).
#include "cuda/kernels.cuh"
#include "python/cuda/bind_cuda.h"

namespace dlcore {
using namespace cuda_bind;

void register_cuda_activation(py::module_& m) {
  m.def("activation_forward", [](int act, Ptr x, Ptr y, int64_t n, double param, bool f64, Ptr s) {
    require(act >= 0 && act <= 8, "activation_forward: unknown activation code");
    py::gil_scoped_release nogil;
    by_dtype(f64, [&](auto tag) {
      using T = decltype(tag);
      cuda::activation_forward<T>(act, data<const T>(x, n, "activation_forward: x"), data<T>(y, n, "activation_forward: y"),
                                  n, T(param), stream(s));
    });
  });
  m.def("activation_backward", [](int act, Ptr dy, Ptr z, Ptr dx, int64_t n, double param, bool f64, Ptr s) {
    require(act >= 0 && act <= 8, "activation_backward: unknown activation code");
    py::gil_scoped_release nogil;
    by_dtype(f64, [&](auto tag) {
      using T = decltype(tag);
      cuda::activation_backward<T>(act, data<const T>(dy, n, "activation_backward: dy"),
                                   data<const T>(z, n, "activation_backward: z"),
                                   data<T>(dx, n, "activation_backward: dx"), n, T(param), stream(s));
    });
  });
  m.def("softmax_forward", [](Ptr x, Ptr y, int64_t outer, int64_t n, int64_t inner, bool log, bool f64, Ptr s) {
    require(outer >= 0 && n >= 0 && inner >= 0, "softmax_forward: negative size");
    const int64_t total = outer * n * inner;
    py::gil_scoped_release nogil;
    by_dtype(f64, [&](auto tag) {
      using T = decltype(tag);
      cuda::softmax_forward<T>(data<const T>(x, total, "softmax_forward: x"), data<T>(y, total, "softmax_forward: y"),
                               outer, n, inner, log, stream(s));
    });
  });
  m.def("softmax_backward",
        [](Ptr dy, Ptr y, Ptr dx, int64_t outer, int64_t n, int64_t inner, bool log, bool f64, Ptr s) {
          require(outer >= 0 && n >= 0 && inner >= 0, "softmax_backward: negative size");
          const int64_t total = outer * n * inner;
          py::gil_scoped_release nogil;
          by_dtype(f64, [&](auto tag) {
            using T = decltype(tag);
            cuda::softmax_backward<T>(data<const T>(dy, total, "softmax_backward: dy"),
                                      data<const T>(y, total, "softmax_backward: y"),
                                      data<T>(dx, total, "softmax_backward: dx"), outer, n, inner, log, stream(s));
          });
        });
}

}  // namespace dlcore
