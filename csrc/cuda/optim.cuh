// CUDA optimizer updates over flat buffers, the global norm and scaling (see optim.cu).
// All pointers are device pointers of contiguous arrays; every launcher queues its work on `s` and returns.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace dlcore::cuda {

template <typename T>
void sgd_update(T* p, const T* g, int64_t n, T lr, T momentum, T* velocity, bool nesterov, T weight_decay,
                cudaStream_t s);
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

}  // namespace dlcore::cuda
