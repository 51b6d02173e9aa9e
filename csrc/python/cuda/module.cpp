// dlcore._cuda: the CUDA kernels. One register_<op>.cpp per kernel family, as in dlcore._C, and the
// same kernel codes as enums (python/bind_codes.h).
// Importing this module needs no GPU and no driver (the CUDA runtime is linked statically and only
// touched by a call); dlcore imports it lazily, the first time a CuPy array reaches a kernel.
#include <cuda_runtime.h>
#include <pybind11/pybind11.h>

#include "python/bind_codes.h"

namespace py = pybind11;

namespace dlcore {
void register_cuda_gemm(py::module_& m);
void register_cuda_conv2d(py::module_& m);
void register_cuda_pool2d(py::module_& m);
void register_cuda_activation(py::module_& m);
void register_cuda_loss(py::module_& m);
void register_cuda_optim(py::module_& m);
void register_cuda_rnn(py::module_& m);
void register_cuda_upsample2d(py::module_& m);
void register_cuda_depthwise_conv2d(py::module_& m);
}  // namespace dlcore

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "dlcore CUDA kernels (take device pointers from CuPy arrays; see src/dlcore/kernels/_gpu)";
  dlcore::bind_codes::export_codes(m);
  m.def("device_count", []() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky "no driver" error
      return 0;
    }
    return n;
  }, "Number of CUDA devices the runtime sees (0 when there is no driver or GPU).");
  m.def("runtime_version", []() {
    int v = 0;
    cudaRuntimeGetVersion(&v);
    return v;
  });
  dlcore::register_cuda_gemm(m);
  dlcore::register_cuda_conv2d(m);
  dlcore::register_cuda_pool2d(m);
  dlcore::register_cuda_activation(m);
  dlcore::register_cuda_loss(m);
  dlcore::register_cuda_optim(m);
  dlcore::register_cuda_rnn(m);
  dlcore::register_cuda_upsample2d(m);
  dlcore::register_cuda_depthwise_conv2d(m);
}
