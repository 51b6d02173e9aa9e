// dlcore._cuda losses: per-sample values and the gradient in one pass (csrc/cuda/loss.cu).
#include "cuda/loss.cuh"
#include "python/bind_codes.h"
#include "python/cuda/bind_cuda.h"

namespace dlcore {
using namespace cuda_bind;
using bind_codes::code_arg;

void register_cuda_loss(py::module_& m) {
  m.def("softmax_cross_entropy", [](Ptr logits, Ptr labels, Ptr targets, Ptr weight, int64_t N, int64_t C,
                                    double scale, Ptr loss, Ptr grad, bool f64, Ptr s) {
    const int64_t NC = checked::product({N, C}, "softmax_cross_entropy: (N, C)");
    require(N == 0 || C > 0, "softmax_cross_entropy: no classes");
    require(N == 0 || (labels != 0) != (targets != 0), "softmax_cross_entropy: give labels or targets");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::softmax_cross_entropy<T>(data<const T>(logits, NC, "softmax_cross_entropy: logits"),
                                     ptr<const int64_t>(labels), ptr<const T>(targets), ptr<const T>(weight), N, C,
                                     T(scale), data<T>(loss, N, "softmax_cross_entropy: loss"),
                                     data<T>(grad, NC, "softmax_cross_entropy: grad"), stream(s));
    });
  });
  m.def("pointwise_loss", [](int code, Ptr pred, Ptr target, Ptr labels, Ptr weight, int64_t N, int64_t D,
                             double scale, double eps, Ptr loss, Ptr grad, bool f64, Ptr s) {
    const PointwiseLoss kind = code_arg<PointwiseLoss>(code, "pointwise_loss: code");
    const int64_t ND = checked::product({N, D}, "pointwise_loss: (N, D)");
    const bool sparse = kind == PointwiseLoss::sparse_categorical_xent;
    require(N == 0 || (sparse ? labels != 0 : target != 0), "pointwise_loss: missing targets");
    py::gil_scoped_release nogil;
    dispatch_float(f64, [&](auto zero) {
      using T = decltype(zero);
      cuda::pointwise_loss<T>(kind, data<const T>(pred, ND, "pointwise_loss: pred"), ptr<const T>(target),
                              ptr<const int64_t>(labels), ptr<const T>(weight), N, D, T(scale), T(eps),
                              data<T>(loss, N, "pointwise_loss: loss"), data<T>(grad, ND, "pointwise_loss: grad"),
                              stream(s));
    });
  });
}

}  // namespace dlcore
