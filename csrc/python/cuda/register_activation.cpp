// dlcore._cuda activations and softmax (csrc/cuda/activation.cu); `act` is an Activation code.
#include "cuda/activation.cuh"
#include "python/bind_codes.h"
#include "python/cuda/bind_cuda.h"

namespace dlcore {
using namespace cuda_bind;
using bind_codes::code_arg;

void register_cuda_activation(py::module_& m) {
  m.def("activation_forward", [](int act, Ptr x, Ptr y, int64_t n, double param, bool f64, Ptr s) {
    const Activation a = code_arg<Activation>(act, "activation_forward: act");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::activation_forward<T>(a, data<const T>(x, n, "activation_forward: x"),
                                  data<T>(y, n, "activation_forward: y"), n, T(param), stream(s));
    });
  });
  m.def("activation_backward", [](int act, Ptr dy, Ptr z, Ptr dx, int64_t n, double param, bool f64, Ptr s) {
    const Activation a = code_arg<Activation>(act, "activation_backward: act");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::activation_backward<T>(a, data<const T>(dy, n, "activation_backward: dy"),
                                   data<const T>(z, n, "activation_backward: z"),
                                   data<T>(dx, n, "activation_backward: dx"), n, T(param), stream(s));
    });
  });
  m.def("softmax_forward", [](Ptr x, Ptr y, int64_t outer, int64_t n, int64_t inner, bool log, bool f64, Ptr s) {
    const int64_t total = checked::product({outer, n, inner}, "softmax_forward: (outer, n, inner)");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::softmax_forward<T>(data<const T>(x, total, "softmax_forward: x"), data<T>(y, total, "softmax_forward: y"),
                               outer, n, inner, log, stream(s));
    });
  });
  m.def("softmax_backward",
        [](Ptr dy, Ptr y, Ptr dx, int64_t outer, int64_t n, int64_t inner, bool log, bool f64, Ptr s) {
          const int64_t total = checked::product({outer, n, inner}, "softmax_backward: (outer, n, inner)");
          py::gil_scoped_release nogil;
          dispatch_float(f64, [&](auto zero) {
            using T = decltype(zero);
            cuda::softmax_backward<T>(data<const T>(dy, total, "softmax_backward: dy"),
                                      data<const T>(y, total, "softmax_backward: y"),
                                      data<T>(dx, total, "softmax_backward: dx"), outer, n, inner, log, stream(s));
          });
        });
}

}  // namespace dlcore
