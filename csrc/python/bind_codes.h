// The codes of csrc/common/codes.h as Python enums, for dlcore._C and dlcore._cuda alike, and the
// check that turns an int from Python into one of them.
//
// The binding functions keep taking plain ints (the Python tables in src/dlcore/kernels/ pass ints);
// a member such as dlcore._C.Activation.relu is accepted there too (int(member) is its code).
// Each module registers its own copy of the enum types (py::module_local), so dlcore._C.Activation
// and dlcore._cuda.Activation can both exist in one process.
#pragma once
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "common/codes.h"

namespace dlcore::bind_codes {
namespace py = pybind11;

// How many values each enum has (0 to count - 1) and its Python name, for code_arg's check and message.
constexpr int count_of(Activation) { return kActivationCount; }
constexpr int count_of(Epilogue) { return kEpilogueCount; }
constexpr int count_of(Loss) { return kLossCount; }
constexpr int count_of(PointwiseLoss) { return kPointwiseLossCount; }
constexpr int count_of(Interpolation) { return kInterpolationCount; }
constexpr const char* name_of(Activation) { return "Activation"; }
constexpr const char* name_of(Epilogue) { return "Epilogue"; }
constexpr const char* name_of(Loss) { return "Loss"; }
constexpr const char* name_of(PointwiseLoss) { return "PointwiseLoss"; }
constexpr const char* name_of(Interpolation) { return "Interpolation"; }

// `code` as the enum Code, or ValueError naming `what` (the op and the argument) when it is none of
// Code's values.
template <class Code>
Code code_arg(int code, const char* what) {
  const int n = count_of(Code{});
  if (code < 0 || code >= n)
    throw std::invalid_argument(std::string(what) + ": unknown " + name_of(Code{}) + " code " + std::to_string(code) +
                                ", expected 0 to " + std::to_string(n - 1));
  return Code(code);
}

inline void export_codes(py::module_& m) {
  py::enum_<Activation>(m, "Activation", py::module_local(),
                        "Codes of the elementwise activations (activation_forward / activation_backward).")
      .value("relu", Activation::relu)
      .value("leaky_relu", Activation::leaky_relu)
      .value("elu", Activation::elu)
      .value("gelu_erf", Activation::gelu_erf)
      .value("gelu_tanh", Activation::gelu_tanh)
      .value("sigmoid", Activation::sigmoid)
      .value("tanh", Activation::tanh)
      .value("softplus", Activation::softplus)
      .value("silu", Activation::silu);
  py::enum_<Epilogue>(m, "Epilogue", py::module_local(),
                      "Codes of the activation fused into the GEMM and convolution epilogue (the `act` argument).")
      .value("none", Epilogue::none)
      .value("relu", Epilogue::relu)
      .value("sigmoid", Epilogue::sigmoid)
      .value("tanh", Epilogue::tanh);
  py::enum_<Loss>(m, "Loss", py::module_local(), "Codes of the CPU losses (loss_dense / loss_sparse `kind`).")
      .value("softmax_xent_dense", Loss::softmax_xent_dense)
      .value("categorical_xent", Loss::categorical_xent)
      .value("binary_xent", Loss::binary_xent)
      .value("binary_xent_logits", Loss::binary_xent_logits)
      .value("mse", Loss::mse)
      .value("mae", Loss::mae);
  py::enum_<PointwiseLoss>(m, "PointwiseLoss", py::module_local(),
                           "Codes of the CUDA elementwise losses (dlcore._cuda.pointwise_loss `code`).")
      .value("mse", PointwiseLoss::mse)
      .value("mae", PointwiseLoss::mae)
      .value("binary_xent", PointwiseLoss::binary_xent)
      .value("binary_xent_logits", PointwiseLoss::binary_xent_logits)
      .value("categorical_xent", PointwiseLoss::categorical_xent)
      .value("sparse_categorical_xent", PointwiseLoss::sparse_categorical_xent);
  py::enum_<Interpolation>(m, "Interpolation", py::module_local(),
                           "Codes of the upsampling interpolations (upsample2d_forward / _backward `mode`).")
      .value("nearest", Interpolation::nearest)
      .value("bilinear", Interpolation::bilinear);
}

}  // namespace dlcore::bind_codes
