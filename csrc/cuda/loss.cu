// CUDA losses: the value and the gradient in one pass.
//
// Shapes: predictions (N, C) or (N, D) row-major; sparse labels int64 (N,); dense targets like the
// predictions; sample weights (N,) or null. Every kernel writes
//   loss[n] = weight[n] * loss_n                        (the caller sums: "mean" divides by N)
//   grad    = scale * weight[n] * d loss_n / d input    (scale = 1/N for "mean", else 1)
//
// softmax_cross_entropy (the fused one, from logits): one warp per row.
//   lse = max + log(sum(exp(x - max)))                  (no overflow)
//   sparse label y:  loss_n = lse - x[y],               d/dx = softmax(x) - onehot(y)
//   dense targets t: loss_n = sum_c t_c (lse - x_c),    d/dx = softmax(x) * sum(t) - t
// pointwise losses (PointwiseLoss, common/codes.h): one warp per row; per element a value and a
// derivative, the row's values averaged over D (summed for categorical cross-entropy, which is a
// sum over classes):
//   mse (p - t)^2 | mae |p - t| | binary_xent -(t log p + (1 - t) log(1 - p)), p clipped to
//   [eps, 1 - eps] (zero gradient where clipped, as Keras's clip) | binary_xent_logits
//   max(x, 0) - x t + log1p(exp(-|x|)), d/dx = sigmoid(x) - t | categorical_xent -t log p, p clipped |
//   sparse_categorical_xent -log p[y], p clipped.
#include "common/scalar_math.h"
#include "cuda/common.cuh"
#include "cuda/loss.cuh"

namespace dlcore::cuda {

namespace {

constexpr int kThreads = 256, kWarps = kThreads / 32;

template <typename T>
__global__ void softmax_xent_kernel(const T* logits, const int64_t* labels, const T* targets, const T* weight,
                                    int64_t N, int64_t C, T scale, T* loss, T* grad) {
  const int lane = threadIdx.x & 31;
  const int64_t n = int64_t(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (n >= N) return;
  const T* x = logits + n * C;
  T* g = grad + n * C;
  T mx = -INFINITY;
  for (int64_t c = lane; c < C; c += 32) mx = max(mx, x[c]);
  mx = warp_max(mx);
  T sum = T(0);
  for (int64_t c = lane; c < C; c += 32) sum += exp(x[c] - mx);
  sum = warp_sum(sum);
  const T lse = mx + log(sum), inv = T(1) / sum;
  const T w = weight ? weight[n] : T(1), gs = scale * w;
  T value = T(0), tsum = T(1);
  if (labels) {
    const int64_t y = labels[n];  // validated in range by the caller
    value = lse - x[y];
  } else {
    const T* t = targets + n * C;
    T v = T(0), s = T(0);
    for (int64_t c = lane; c < C; c += 32) v += t[c] * (lse - x[c]), s += t[c];
    value = warp_sum(v);
    tsum = warp_sum(s);
  }
  for (int64_t c = lane; c < C; c += 32) {
    const T p = exp(x[c] - mx) * inv;
    const T t = labels ? (c == labels[n] ? T(1) : T(0)) : targets[n * C + c];
    g[c] = gs * (p * tsum - t);
  }
  if (lane == 0) loss[n] = w * value;
}

template <typename T>
__device__ __forceinline__ T clip(T p, T eps) {
  return p < eps ? eps : (p > T(1) - eps ? T(1) - eps : p);
}

template <typename T>
__global__ void pointwise_loss_kernel(PointwiseLoss code, const T* pred, const T* target, const int64_t* labels,
                                      const T* weight, int64_t N, int64_t D, T scale, T eps, T* loss, T* grad) {
  const int lane = threadIdx.x & 31;
  const int64_t n = int64_t(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (n >= N) return;
  const T w = weight ? weight[n] : T(1);
  const bool class_sum = code == PointwiseLoss::categorical_xent || code == PointwiseLoss::sparse_categorical_xent;
  const T per = class_sum ? T(1) : T(1) / T(D);  // mean over D, or the class sum
  const T gs = scale * w * per;
  T acc = T(0);
  for (int64_t d = lane; d < D; d += 32) {
    const int64_t i = n * D + d;
    const T p = pred[i];
    T v = T(0), dv = T(0);
    switch (code) {
      case PointwiseLoss::mse: {
        const T e = p - target[i];
        v = e * e, dv = T(2) * e;
        break;
      }
      case PointwiseLoss::mae: {
        const T e = p - target[i];
        v = fabs(e), dv = e > T(0) ? T(1) : (e < T(0) ? T(-1) : T(0));
        break;
      }
      case PointwiseLoss::binary_xent: {
        const T t = target[i], q = clip(p, eps);
        v = -(t * log(q) + (T(1) - t) * log(T(1) - q));
        dv = (p > eps && p < T(1) - eps) ? (q - t) / (q * (T(1) - q)) : T(0);
        break;
      }
      case PointwiseLoss::binary_xent_logits: {
        const T t = target[i];
        v = (p > T(0) ? p : T(0)) - p * t + log1p(exp(-fabs(p)));
        dv = math::sigmoid(p) - t;
        break;
      }
      case PointwiseLoss::categorical_xent: {
        const T t = target[i], q = clip(p, eps);
        v = -t * log(q);
        dv = (p > eps && p < T(1) - eps) ? -t / q : T(0);
        break;
      }
      case PointwiseLoss::sparse_categorical_xent: {  // from probabilities
        if (d == labels[n]) {
          const T q = clip(p, eps);
          v = -log(q);
          dv = (p > eps && p < T(1) - eps) ? T(-1) / q : T(0);
        }
        break;
      }
    }
    acc += v;
    grad[i] = gs * dv;
  }
  acc = warp_sum(acc);
  if (lane == 0) loss[n] = w * per * acc;
}

unsigned warp_rows_grid(int64_t N) {
  const int64_t blocks = (N + kWarps - 1) / kWarps;
  if (blocks > 2147483647) throw std::invalid_argument("loss: too many rows");
  return unsigned(blocks);
}

}  // namespace

template <typename T>
void softmax_cross_entropy(const T* logits, const int64_t* sparse_labels, const T* targets, const T* weight, int64_t N,
                           int64_t C, T scale, T* loss, T* grad, cudaStream_t s) {
  if (N <= 0) return;
  softmax_xent_kernel<T><<<warp_rows_grid(N), kThreads, 0, s>>>(logits, sparse_labels, targets, weight, N, C, scale,
                                                                 loss, grad);
  DLCORE_CUDA_CHECK_LAUNCH("softmax_xent_kernel");
}

template <typename T>
void pointwise_loss(PointwiseLoss code, const T* pred, const T* target, const int64_t* sparse_labels, const T* weight,
                    int64_t N, int64_t D, T scale, T eps, T* loss, T* grad, cudaStream_t s) {
  if (N <= 0) return;
  if (D <= 0) throw std::invalid_argument("pointwise_loss: empty rows");
  pointwise_loss_kernel<T><<<warp_rows_grid(N), kThreads, 0, s>>>(code, pred, target, sparse_labels, weight, N, D,
                                                                   scale, eps, loss, grad);
  DLCORE_CUDA_CHECK_LAUNCH("pointwise_loss_kernel");
}

#define DLCORE_LOSS_INSTANTIATE(T)                                                                                     \
  template void softmax_cross_entropy<T>(const T*, const int64_t*, const T*, const T*, int64_t, int64_t, T, T*, T*,    \
                                         cudaStream_t);                                                                \
  template void pointwise_loss<T>(PointwiseLoss, const T*, const T*, const int64_t*, const T*, int64_t, int64_t, T, T, \
                                  T*, T*, cudaStream_t);
DLCORE_LOSS_INSTANTIATE(float)
DLCORE_LOSS_INSTANTIATE(double)

}  // namespace dlcore::cuda
