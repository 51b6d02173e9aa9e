// CUDA losses: the value and the gradient in one pass.
//
// Shapes: predictions (N, C) or (N, D) row-major; sparse labels int64 (N,); dense targets like the
// predictions; sample weights (N,) or null. Every kernel writes
//   loss[n] = weight[n] * loss_n                        (the caller sums: "mean" divides by N)
//   grad    = scale * weight[n] * d loss_n / d input    (scale = 1/N for "mean", else 1)
//
// softmax_cross_entropy (the fused one, from logits): one warp per row.
//   lse - x_c = (max - x_c) + log(sum(exp(x - max)))   (no overflow; max - x_c is exact near the
//                                                        maximum, so large logits keep full precision)
//   sparse label y:  loss_n = lse - x[y],               d/dx = softmax(x) - onehot(y)
//   dense targets t: loss_n = sum_c t_c (lse - x_c),    d/dx = softmax(x) * sum(t) - t
// pointwise losses (PointwiseLoss, common/codes.h): one warp per row; per element a value and a
// derivative, the row's values averaged over D:
//   mse (p - t)^2 | mae |p - t| | binary_xent -(t log p + (1 - t) log(1 - p)), p clipped to
//   [eps, 1 - eps] (zero gradient where clipped, as Keras's clip) | binary_xent_logits
//   max(x, 0) - x t + log1p(exp(-|x|)), d/dx = sigmoid(x) - t.
// categorical cross-entropies (Keras's, as csrc/cpu/loss.cpp): one warp per row, probabilities
// normalised by their sum first: S = sum p, q = p / S, r = clip(q, eps, 1 - eps),
//   categorical_xent -sum_c t_c log r_c | sparse_categorical_xent -log r[y];
//   d/dp_j = (dq_j - sum_c dq_c q_c) / S with dq_c = -t_c / r_c inside the clip range, 0 outside.
// A NaN input gives a NaN value and a NaN gradient, never a silent zero.
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
  const T ls = log(sum), inv = T(1) / sum;
  const T w = weight ? weight[n] : T(1), gs = scale * w;
  T value = T(0), tsum = T(1);
  if (labels) {
    const int64_t y = labels[n];  // validated in range by the caller
    value = (mx - x[y]) + ls;
  } else {
    const T* t = targets + n * C;
    T v = T(0), s = T(0);
    for (int64_t c = lane; c < C; c += 32) v += t[c] * ((mx - x[c]) + ls), s += t[c];
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

// clip(p, eps, 1 - eps); a NaN stays NaN.
template <typename T>
__device__ __forceinline__ T clip(T p, T eps) {
  return p < eps ? eps : (p > T(1) - eps ? T(1) - eps : p);
}

// Whether p lies strictly inside the clip range, or is NaN (so that a NaN's gradient is NaN, not 0).
template <typename T>
__device__ __forceinline__ bool unclipped(T p, T eps) {
  return !(p <= eps || p >= T(1) - eps);
}

template <typename T>
__global__ void pointwise_loss_kernel(PointwiseLoss code, const T* pred, const T* target, const int64_t* labels,
                                      const T* weight, int64_t N, int64_t D, T scale, T eps, T* loss, T* grad) {
  const int lane = threadIdx.x & 31;
  const int64_t n = int64_t(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (n >= N) return;
  const T w = weight ? weight[n] : T(1);
  const T per = T(1) / T(D);  // the mean over D
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
        v = fabs(e), dv = e > T(0) ? T(1) : (e < T(0) ? T(-1) : e);  // sign(e): 0 at 0, NaN at NaN
        break;
      }
      case PointwiseLoss::binary_xent: {
        const T t = target[i], q = clip(p, eps);
        v = -(t * log(q) + (T(1) - t) * log(T(1) - q));
        dv = unclipped(p, eps) ? (q - t) / (q * (T(1) - q)) : T(0);
        break;
      }
      case PointwiseLoss::binary_xent_logits: {
        const T t = target[i];
        v = (p > T(0) ? p : T(0)) - p * t + log1p(exp(-fabs(p)));
        dv = math::sigmoid(p) - t;
        break;
      }
      case PointwiseLoss::categorical_xent:
      case PointwiseLoss::sparse_categorical_xent:
        break;  // categorical_xent_kernel
    }
    acc += v;
    grad[i] = gs * dv;
  }
  acc = warp_sum(acc);
  if (lane == 0) loss[n] = w * per * acc;
}

// Keras's categorical cross-entropy on probabilities, one warp per row: normalise by the row's sum,
// clip, and take the gradient through the normalisation (formulas at the top of this file). The
// targets are the dense row `target` (categorical_xent) or one-hot(labels[n]) (sparse).
template <typename T>
__global__ void categorical_xent_kernel(const T* pred, const T* target, const int64_t* labels, const T* weight,
                                        int64_t N, int64_t C, T scale, T eps, T* loss, T* grad) {
  const int lane = threadIdx.x & 31;
  const int64_t n = int64_t(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (n >= N) return;
  const T* p = pred + n * C;
  T* g = grad + n * C;
  const int64_t y = labels ? labels[n] : -1;  // validated in range by the caller
  T S = T(0);
  for (int64_t c = lane; c < C; c += 32) S += p[c];
  S = warp_sum(S);
  const T invS = T(1) / S;
  T l = T(0), dot = T(0);
  for (int64_t c = lane; c < C; c += 32) {
    const T q = p[c] * invS, r = clip(q, eps);
    const T t = labels ? (c == y ? T(1) : T(0)) : target[n * C + c];
    const T dq = unclipped(q, eps) ? -t / r : T(0);
    if (t != T(0)) l -= t * log(r);
    g[c] = dq;  // finished below, once the row's dot product is known
    dot += dq * q;
  }
  l = warp_sum(l);
  dot = warp_sum(dot);
  const T w = weight ? weight[n] : T(1), gs = scale * w;
  for (int64_t c = lane; c < C; c += 32) g[c] = gs * (g[c] - dot) * invS;
  if (lane == 0) loss[n] = w * l;
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
  if (code == PointwiseLoss::categorical_xent || code == PointwiseLoss::sparse_categorical_xent) {
    const int64_t* labels = code == PointwiseLoss::sparse_categorical_xent ? sparse_labels : nullptr;
    categorical_xent_kernel<T><<<warp_rows_grid(N), kThreads, 0, s>>>(pred, target, labels, weight, N, D, scale, eps,
                                                                       loss, grad);
    DLCORE_CUDA_CHECK_LAUNCH("categorical_xent_kernel");
    return;
  }
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
