// The integer codes that Python passes to the kernels, one enum per kind, shared by csrc/cpu and
// csrc/cuda. csrc/python/bind_codes.h exports them as dlcore._C.<Enum> (and dlcore._cuda.<Enum>):
// Activation, Epilogue, Loss, PointwiseLoss and Interpolation. The values are part of the binding
// contract (the tables in src/dlcore/kernels/ hold the same numbers; tests/test_codes.py checks that
// they agree):
// never renumber; add a new value at the end, raise the count beside its enum and export it in
// bind_codes.h (tests/test_codes.py checks the exported values against the binding's range check).
#pragma once

namespace dlcore {

// Elementwise activations: activation_forward / activation_backward on the CPU and on the GPU.
// leaky_relu takes negative_slope and elu takes alpha as `param`. The backward pass takes the forward
// OUTPUT y for relu, sigmoid and tanh (what a layer keeps) and the forward INPUT x for the others.
// Formulas: csrc/common/scalar_math.h.
enum class Activation : int {
  relu = 0,
  leaky_relu = 1,
  elu = 2,
  gelu_erf = 3,   // x * Phi(x), Phi the normal CDF
  gelu_tanh = 4,  // the tanh approximation (approximate=True)
  sigmoid = 5,
  tanh = 6,
  softplus = 7,
  silu = 8,
};
constexpr int kActivationCount = 9;

// The activation that GEMM and convolution fuse into their epilogue, after alpha, beta and the bias:
// C := act(alpha * A @ B + beta * C + bias). Each derivative is a function of the output alone, which
// is what the Dense and Conv layers keep for their backward pass.
enum class Epilogue : int { none = 0, relu = 1, sigmoid = 2, tanh = 3 };
constexpr int kEpilogueCount = 4;

// CPU losses (loss_dense, and loss_sparse with the first two; csrc/cpu/loss.h). Per sample, c over
// classes, d over the flattened features, eps the clipping of probabilities:
enum class Loss : int {
  softmax_xent_dense = 0,  // logits, targets (N, C) one-hot or soft: l = sum_c t_c (lse - x_c)
  categorical_xent = 1,    // probs (N, C): q = clip(p / sum p, eps, 1 - eps), l = -sum_c t_c log q_c
  binary_xent = 2,         // probs: q = clip(p, eps, 1 - eps), l = mean_d -(t log q + (1 - t) log(1 - q))
  binary_xent_logits = 3,  // l = mean_d max(x, 0) - x t + log(1 + exp(-|x|))
  mse = 4,                 // l = mean_d (p - t)^2
  mae = 5,                 // l = mean_d |p - t|
};
constexpr int kLossCount = 6;

// CUDA losses (pointwise_loss; formulas in csrc/cuda/loss.cu). Numbered apart from Loss because the
// CUDA kernels split the losses differently: softmax cross-entropy is a kernel of its own there, and
// sparse categorical cross-entropy is a code here (an entry point on the CPU, loss_sparse). The
// categorical codes normalise the probabilities by their sum first, as Keras and the CPU kernel do.
enum class PointwiseLoss : int {
  mse = 0,
  mae = 1,
  binary_xent = 2,
  binary_xent_logits = 3,
  categorical_xent = 4,         // -sum_c t_c log clip(p_c / sum p)
  sparse_categorical_xent = 5,  // -log clip(p_label / sum p), probs (N, D), int64 labels (N,)
};
constexpr int kPointwiseLossCount = 6;

// How upsample2d_forward / upsample2d_backward compute an output pixel from the input (the taps of
// csrc/common/upsample.h): nearest repeats each pixel (Keras's UpSampling2D "nearest", ops.repeat);
// bilinear interpolates between the two nearest input pixels per axis with half-pixel centers
// (Keras's "bilinear", tf.image.resize / torch interpolate with align_corners=False).
enum class Interpolation : int { nearest = 0, bilinear = 1 };
constexpr int kInterpolationCount = 2;

}  // namespace dlcore
