// dlcore._C: the CPU kernels. One register_<op>.cpp per kernel family, and the kernel codes as
// enums (Activation, Epilogue, Loss, PointwiseLoss, Interpolation; python/bind_codes.h).
#include <pybind11/pybind11.h>

#include "python/bind_codes.h"

namespace py = pybind11;

namespace dlcore {
void register_system(py::module_& m);
void register_gemm(py::module_& m);
void register_conv2d(py::module_& m);
void register_pool2d(py::module_& m);
void register_activation(py::module_& m);
void register_loss(py::module_& m);
void register_optim(py::module_& m);
void register_rnn(py::module_& m);
void register_upsample2d(py::module_& m);
void register_depthwise_conv2d(py::module_& m);
}  // namespace dlcore

PYBIND11_MODULE(_C, m) {
  m.doc() = "dlcore CPU kernels (C++ SIMD + a thread pool)";
  dlcore::bind_codes::export_codes(m);
  dlcore::register_system(m);
  dlcore::register_gemm(m);
  dlcore::register_conv2d(m);
  dlcore::register_pool2d(m);
  dlcore::register_activation(m);
  dlcore::register_loss(m);
  dlcore::register_optim(m);
  dlcore::register_rnn(m);
  dlcore::register_upsample2d(m);
  dlcore::register_depthwise_conv2d(m);
}
