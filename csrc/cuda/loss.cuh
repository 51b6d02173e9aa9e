// CUDA losses: per-sample values and the gradient in one pass (see loss.cu).
// All pointers are device pointers of contiguous arrays; every launcher queues its work on `s` and returns.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "common/codes.h"  // enum class PointwiseLoss

namespace dlcore::cuda {

// Per-sample losses loss[N] (already multiplied by weight[n] when weight is not null) and the
// gradient grad = scale * weight[n] * d loss_n / d input. The caller reduces loss (sum / N).
// softmax_cross_entropy: logits (N, C); labels int64 (N,) when `sparse_labels`, else targets (N, C).
template <typename T>
void softmax_cross_entropy(const T* logits, const int64_t* sparse_labels, const T* targets, const T* weight, int64_t N,
                           int64_t C, T scale, T* loss, T* grad, cudaStream_t s);
// Elementwise losses on (N, D), per sample the mean over D (categorical: the sum over D); `code`
// as in common/codes.h. sparse_categorical_xent reads its int64 labels (N,) from `sparse_labels`.
template <typename T>
void pointwise_loss(PointwiseLoss code, const T* pred, const T* target, const int64_t* sparse_labels, const T* weight,
                    int64_t N, int64_t D, T scale, T eps, T* loss, T* grad, cudaStream_t s);

}  // namespace dlcore::cuda
