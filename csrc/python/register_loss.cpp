// dlcore._C losses: value and gradient in one pass (src/dlcore/kernels/loss.py validates and reduces).
#include "cpu/loss.h"
#include "python/bind_codes.h"
#include "python/bind_util.h"

namespace dlcore {
namespace py = pybind11;
using namespace py_util;
using bind_codes::code_arg;

namespace {

template <typename T>
T* flat(const py::array& arr, const std::string& what, int64_t size, bool writable = false) {
  auto v = view<T>(arr, what.c_str(), writable);
  require(v.size() == 0 || is_c_contiguous(v), what + ": must be C-contiguous");
  require(v.size() == size, what + ": wrong size");
  return v.data;
}

template <typename T>
void dense(int kind, const py::array& pred, const py::array& target, const std::optional<py::array>& weight,
           int64_t N, int64_t D, double gscale, double eps, const py::array& loss, const py::array& grad) {
  const Loss loss_kind = code_arg<Loss>(kind, "loss_dense: kind");
  const int64_t ND = checked::product({N, D}, "loss_dense: (N, D)");
  checked::mul(D, 8, "loss_dense: D");  // the kernel's cost estimate per row
  const T* p = flat<T>(pred, "loss_dense: pred", ND);
  const T* t = flat<T>(target, "loss_dense: target", ND);
  const T* w = weight ? flat<T>(*weight, "loss_dense: sample_weight", N) : nullptr;
  T* l = flat<T>(loss, "loss_dense: loss", N, true);
  T* g = flat<T>(grad, "loss_dense: grad", ND, true);
  py::gil_scoped_release nogil;
  cpu::loss_dense<T>(loss_kind, p, t, w, N, D, T(gscale), T(eps), l, g);
}

template <typename T>
void sparse(int kind, const py::array& pred, const py::array& labels, const std::optional<py::array>& weight,
            int64_t N, int64_t C, double gscale, double eps, const py::array& loss, const py::array& grad) {
  const Loss loss_kind = code_arg<Loss>(kind, "loss_sparse: kind");
  require(loss_kind == Loss::softmax_xent_dense || loss_kind == Loss::categorical_xent,
          "loss_sparse: kind must be 0 (softmax cross-entropy) or 1 (categorical)");
  const int64_t NC = checked::product({N, C}, "loss_sparse: (N, C)");
  checked::mul(C, 8, "loss_sparse: C");  // the kernel's cost estimate per row
  const T* p = flat<T>(pred, "loss_sparse: pred", NC);
  const int64_t* y = flat<int64_t>(labels, "loss_sparse: labels", N);
  for (int64_t i = 0; i < N; ++i)
    require(y[i] >= 0 && y[i] < C, "loss_sparse: label " + std::to_string(y[i]) + " out of range for " +
                                       std::to_string(C) + " classes");
  const T* w = weight ? flat<T>(*weight, "loss_sparse: sample_weight", N) : nullptr;
  T* l = flat<T>(loss, "loss_sparse: loss", N, true);
  T* g = flat<T>(grad, "loss_sparse: grad", NC, true);
  py::gil_scoped_release nogil;
  cpu::loss_sparse<T>(loss_kind, p, y, w, N, C, T(gscale), T(eps), l, g);
}

}  // namespace

void register_loss(py::module_& m) {
  m.def("loss_dense", [](int kind, const py::array& pred, const py::array& target,
                         const std::optional<py::array>& weight, int64_t N, int64_t D, double gscale, double eps,
                         const py::array& loss, const py::array& grad) {
    dispatch_float(grad, "loss_dense: grad", [&](auto zero) {
      dense<decltype(zero)>(kind, pred, target, weight, N, D, gscale, eps, loss, grad);
    });
  }, py::arg("kind"), py::arg("pred"), py::arg("target"), py::arg("weight"), py::arg("N"), py::arg("D"),
     py::arg("gscale"), py::arg("eps"), py::arg("loss"), py::arg("grad"),
     "Per-sample losses (N,) and gradient (N, D) against a dense target; codes in csrc/cpu/loss.h.");
  m.def("loss_sparse", [](int kind, const py::array& pred, const py::array& labels,
                          const std::optional<py::array>& weight, int64_t N, int64_t C, double gscale, double eps,
                          const py::array& loss, const py::array& grad) {
    dispatch_float(grad, "loss_sparse: grad", [&](auto zero) {
      sparse<decltype(zero)>(kind, pred, labels, weight, N, C, gscale, eps, loss, grad);
    });
  }, py::arg("kind"), py::arg("pred"), py::arg("labels"), py::arg("weight"), py::arg("N"), py::arg("C"),
     py::arg("gscale"), py::arg("eps"), py::arg("loss"), py::arg("grad"),
     "Per-sample losses (N,) and gradient (N, C) against int64 labels (N,).");
}

}  // namespace dlcore
