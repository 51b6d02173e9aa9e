// Declarations of the CUDA kernel launchers of every family except GEMM and convolution (gemm.cuh,
// conv2d.cuh): what the pybind11 bindings in csrc/python/cuda/ call. All pointers are device
// pointers of contiguous arrays; every launcher queues its work on `stream` and returns.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace dlcore::cuda {

// ---- activation.cu -------------------------------------------------------------------------------
// Activation codes (as cpu::Act): 0 relu, 1 leaky_relu, 2 elu, 3 gelu (erf), 4 gelu (tanh),
// 5 sigmoid, 6 tanh, 7 softplus, 8 silu. `param`: negative_slope (leaky_relu) or alpha (elu).
// backward: dx = dy * f'(.) with z the forward output y for relu/sigmoid/tanh, the input x otherwise.
template <typename T> void activation_forward(int act, const T* x, T* y, int64_t n, T param, cudaStream_t s);
template <typename T> void activation_backward(int act, const T* dy, const T* z, T* dx, int64_t n, T param, cudaStream_t s);
// Softmax / log-softmax of an array viewed as (outer, n, inner) along the middle axis.
template <typename T> void softmax_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log, cudaStream_t s);
template <typename T> void softmax_backward(const T* dy, const T* y, T* dx, int64_t outer, int64_t n, int64_t inner, bool log, cudaStream_t s);

// ---- pool2d.cu -----------------------------------------------------------------------------------
struct PoolGeom {
  int64_t N, H, W, C, Ho, Wo, kh, kw, sh, sw, pt, pl;
};
template <typename T> void max_pool2d_forward(const PoolGeom& g, const T* x, T* y, cudaStream_t s);
template <typename T> void max_pool2d_backward(const PoolGeom& g, const T* dy, const T* x, T* dx, cudaStream_t s);
template <typename T> void avg_pool2d_forward(const PoolGeom& g, const T* x, T* y, cudaStream_t s);
template <typename T> void avg_pool2d_backward(const PoolGeom& g, const T* dy, T* dx, cudaStream_t s);
template <typename T> void global_avg_pool2d_forward(int64_t N, int64_t HW, int64_t C, const T* x, T* y, cudaStream_t s);
template <typename T> void global_avg_pool2d_backward(int64_t N, int64_t HW, int64_t C, const T* dy, T* dx, cudaStream_t s);

// ---- loss.cu -------------------------------------------------------------------------------------
// Per-sample losses loss[N] (already multiplied by weight[n] when weight is not null) and the
// gradient grad = scale * weight[n] * d loss_n / d input. The caller reduces loss (sum / N).
// softmax_cross_entropy: logits (N, C); labels int64 (N,) when `sparse_labels`, else targets (N, C).
template <typename T>
void softmax_cross_entropy(const T* logits, const int64_t* sparse_labels, const T* targets, const T* weight, int64_t N,
                           int64_t C, T scale, T* loss, T* grad, cudaStream_t s);
// Elementwise losses on (N, D), per sample the mean over D (cce: the sum over D).
// code: 0 mse, 1 mae, 2 binary cross-entropy (probabilities, clipped), 3 bce with logits,
//       4 categorical cross-entropy (probabilities, clipped), 5 sparse categorical (probabilities
//       (N, D), labels int64 (N,) in `sparse_labels`).
template <typename T>
void pointwise_loss(int code, const T* pred, const T* target, const int64_t* sparse_labels, const T* weight, int64_t N,
                    int64_t D, T scale, T eps, T* loss, T* grad, cudaStream_t s);

// ---- optim.cu ------------------------------------------------------------------------------------
template <typename T>
void sgd_update(T* p, const T* g, int64_t n, T lr, T momentum, T* velocity, bool nesterov, T weight_decay, cudaStream_t s);
template <typename T>
void adagrad_update(T* p, const T* g, T* accum, int64_t n, T lr, T eps, T weight_decay, cudaStream_t s);
template <typename T>
void rmsprop_update(T* p, const T* g, T* sq_avg, int64_t n, T lr, T rho, T eps, T momentum, T* mom_buf, T* grad_avg,
                    T weight_decay, cudaStream_t s);
// bias_c1 = 1 - beta1^step, bias_c2 = 1 - beta2^step (computed on the host in double).
template <typename T>
void adam_update(T* p, const T* g, T* m, T* v, T* v_max, int64_t n, T lr, T beta1, T beta2, T eps, T weight_decay,
                 bool decoupled, T bias_c1, T bias_c2, cudaStream_t s);
// *acc (one double in device memory) += sum(x^2).
template <typename T> void sum_squares(const T* x, int64_t n, double* acc, cudaStream_t s);
template <typename T> void scale_inplace(T* x, int64_t n, T factor, cudaStream_t s);

// ---- rnn.cu --------------------------------------------------------------------------------------
// Whole-sequence recurrent layers; the shapes and the cache layout are in rnn.cu's header comment.
template <typename T>
void lstm_forward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* c0, const T* W,
                  const T* U, const T* bias, T* hs, T* gates, T* cs, cudaStream_t s);
template <typename T>
void lstm_backward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* c0, const T* W,
                   const T* U, const T* gates, const T* cs, const T* hs, const T* dhs, T* dh, T* dc, T* dz, T* dx,
                   T* dW, T* dU, T* db, cudaStream_t s);
template <typename T>
void gru_forward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* W, const T* U,
                 const T* bias, T* hs, T* gates, T* hzh, T* work, cudaStream_t s);
template <typename T>
void gru_backward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* W, const T* U,
                  const T* gates, const T* hzh, const T* hs, const T* dhs, T* dh, T* dxz, T* dhz, T* dx, T* dW,
                  T* dU, T* db, cudaStream_t s);
template <typename T>
void simple_rnn_forward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* W, const T* U,
                        const T* bias, T* hs, cudaStream_t s);
template <typename T>
void simple_rnn_backward(int64_t B, int64_t Tn, int64_t I, int64_t H, const T* x, const T* h0, const T* W,
                         const T* U, const T* hs, const T* dhs, T* dh, T* dz, T* dx, T* dW, T* dU, T* db,
                         cudaStream_t s);

}  // namespace dlcore::cuda
