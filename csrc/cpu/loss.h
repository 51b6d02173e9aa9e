// CPU losses: value and gradient in one pass over (N, D) predictions (D = C classes, or the
// flattened features of one sample).
//
// Every kernel writes the per-sample losses loss[i] = w_i * l_i (w = sample weights, all 1 when
// `weight` is null) and the gradient grad[i, :] = gscale * w_i * d l_i / d pred[i, :]. The caller
// picks gscale for the reduction: 1/N for Keras's "sum over batch size" mean, 1 for "sum" and
// "none" (the gradient of the sum of the per-sample losses), and sums `loss` itself.
// Predictions, targets and grad are contiguous; labels are int64 in [0, C) (checked by the caller).
#pragma once
#include <cstdint>

#include "common/codes.h"  // enum class Loss: the codes and their formulas

namespace dlcore::cpu {

// Losses against a dense target of the prediction's shape. `eps` is the clipping of the
// probability losses (Keras: 1e-7).
template <typename T>
void loss_dense(Loss kind, const T* pred, const T* target, const T* weight, int64_t N, int64_t D, T gscale, T eps,
                T* loss, T* grad);

// Losses against integer labels (N,): kind softmax_xent_dense (logits, l = lse - x_label) or
// categorical_xent (probabilities, Keras's sparse categorical cross-entropy).
template <typename T>
void loss_sparse(Loss kind, const T* pred, const int64_t* labels, const T* weight, int64_t N, int64_t C, T gscale,
                 T eps, T* loss, T* grad);

}  // namespace dlcore::cpu
