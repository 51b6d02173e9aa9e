// CUDA optimizer updates over flat buffers (PyTorch's formulas), the global norm and scaling.
//
// Every update is one grid-stride pass over n elements of the parameter p, its gradient g and the
// optimizer state (all contiguous, same dtype); each thread reads and writes each array once, so
// these kernels run at memory bandwidth. Weight decay: coupled (g += wd * p) unless said otherwise.
//
//   sgd       b = mu b + g;  step = nesterov ? g + mu b : b;  p -= lr step      (b only when mu != 0)
//   adagrad   s += g^2;  p -= lr g / (sqrt(s) + eps)
//   rmsprop   v = rho v + (1 - rho) g^2;  centered: a = rho a + (1 - rho) g, d = sqrt(v - a^2) + eps,
//             else d = sqrt(v) + eps;  momentum: b = mu b + g / d, p -= lr b;  else p -= lr g / d
//   adam      decoupled (AdamW): p *= 1 - lr wd.  m, v moments;  v_hat = amsgrad ? (vmax = max(vmax, v)) : v
//             p -= (lr / c1) m / (sqrt(v_hat) / sqrt(c2) + eps),  c1 = 1 - b1^t, c2 = 1 - b2^t
//
// sum_squares: block sums in double, one atomicAdd per block into one double (the global norm's
// square, accumulated over every array of a model before one host read).
#include "common/scalar_math.h"
#include "cuda/common.cuh"
#include "cuda/optim.cuh"

namespace dlcore::cuda {

namespace {

constexpr int kThreads = 256;

#define DLCORE_GRID_STRIDE(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

template <typename T>
__global__ void sgd_kernel(T* p, const T* g, int64_t n, T lr, T mu, T* b, bool nesterov, T wd) {
  DLCORE_GRID_STRIDE(i, n) {
    T grad = g[i] + wd * p[i];
    if (b) {
      const T buf = mu * b[i] + grad;
      b[i] = buf;
      grad = nesterov ? grad + mu * buf : buf;
    }
    p[i] -= lr * grad;
  }
}

template <typename T>
__global__ void adagrad_kernel(T* p, const T* g, T* s, int64_t n, T lr, T eps, T wd) {
  DLCORE_GRID_STRIDE(i, n) {
    const T grad = g[i] + wd * p[i];
    const T acc = s[i] + grad * grad;
    s[i] = acc;
    p[i] -= lr * grad / (sqrt(acc) + eps);
  }
}

template <typename T>
__global__ void rmsprop_kernel(T* p, const T* g, T* v, int64_t n, T lr, T rho, T eps, T mu, T* b, T* a, T wd) {
  DLCORE_GRID_STRIDE(i, n) {
    const T grad = g[i] + wd * p[i];
    const T sq = rho * v[i] + (T(1) - rho) * grad * grad;
    v[i] = sq;
    T denom;
    if (a) {
      const T avg = rho * a[i] + (T(1) - rho) * grad;
      a[i] = avg;
      denom = sqrt(sq - avg * avg) + eps;
    } else {
      denom = sqrt(sq) + eps;
    }
    if (b) {
      const T buf = mu * b[i] + grad / denom;
      b[i] = buf;
      p[i] -= lr * buf;
    } else {
      p[i] -= lr * grad / denom;
    }
  }
}

template <typename T>
__global__ void adam_kernel(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, T lr, T b1, T b2, T eps, T wd,
                            bool decoupled, T c1, T c2) {
  const T step_size = lr / c1, inv_sqrt_c2 = T(1) / sqrt(c2);
  DLCORE_GRID_STRIDE(i, n) {
    T param = p[i], grad = g[i];
    if (decoupled)
      param *= T(1) - lr * wd;
    else
      grad += wd * param;
    T mi = m[i], vi = v[i];
    math::adam_moments(grad, mi, vi, b1, b2);
    m[i] = mi, v[i] = vi;
    T vh = vi;
    if (vmax) {
      vh = max(vmax[i], vi);
      vmax[i] = vh;
    }
    p[i] = param - step_size * mi / (sqrt(vh) * inv_sqrt_c2 + eps);
  }
}

template <typename T>
__global__ void sum_squares_kernel(const T* x, int64_t n, double* acc) {
  __shared__ double scratch[32];
  double s = 0.0;
  DLCORE_GRID_STRIDE(i, n) {
    const double v = double(x[i]);
    s += v * v;
  }
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) atomicAdd(acc, s);
}

template <typename T>
__global__ void scale_kernel(T* x, int64_t n, T f) {
  DLCORE_GRID_STRIDE(i, n) x[i] *= f;
}

}  // namespace

template <typename T>
void sgd_update(T* p, const T* g, int64_t n, T lr, T momentum, T* velocity, bool nesterov, T weight_decay, cudaStream_t s) {
  if (n <= 0) return;
  sgd_kernel<T><<<grid_for(n, kThreads), kThreads, 0, s>>>(p, g, n, lr, momentum, momentum != T(0) ? velocity : nullptr,
                                                            nesterov, weight_decay);
  DLCORE_CUDA_CHECK_LAUNCH("sgd_kernel");
}

template <typename T>
void adagrad_update(T* p, const T* g, T* accum, int64_t n, T lr, T eps, T weight_decay, cudaStream_t s) {
  if (n <= 0) return;
  adagrad_kernel<T><<<grid_for(n, kThreads), kThreads, 0, s>>>(p, g, accum, n, lr, eps, weight_decay);
  DLCORE_CUDA_CHECK_LAUNCH("adagrad_kernel");
}

template <typename T>
void rmsprop_update(T* p, const T* g, T* sq_avg, int64_t n, T lr, T rho, T eps, T momentum, T* mom_buf, T* grad_avg,
                    T weight_decay, cudaStream_t s) {
  if (n <= 0) return;
  rmsprop_kernel<T><<<grid_for(n, kThreads), kThreads, 0, s>>>(p, g, sq_avg, n, lr, rho, eps, momentum,
                                                                momentum != T(0) ? mom_buf : nullptr, grad_avg,
                                                                weight_decay);
  DLCORE_CUDA_CHECK_LAUNCH("rmsprop_kernel");
}

template <typename T>
void adam_update(T* p, const T* g, T* m, T* v, T* v_max, int64_t n, T lr, T beta1, T beta2, T eps, T weight_decay,
                 bool decoupled, T bias_c1, T bias_c2, cudaStream_t s) {
  if (n <= 0) return;
  adam_kernel<T><<<grid_for(n, kThreads), kThreads, 0, s>>>(p, g, m, v, v_max, n, lr, beta1, beta2, eps, weight_decay,
                                                             decoupled, bias_c1, bias_c2);
  DLCORE_CUDA_CHECK_LAUNCH("adam_kernel");
}

template <typename T>
void sum_squares(const T* x, int64_t n, double* acc, cudaStream_t s) {
  if (n <= 0) return;
  sum_squares_kernel<T><<<grid_for(n, kThreads, 1024), kThreads, 0, s>>>(x, n, acc);
  DLCORE_CUDA_CHECK_LAUNCH("sum_squares_kernel");
}

template <typename T>
void scale_inplace(T* x, int64_t n, T factor, cudaStream_t s) {
  if (n <= 0) return;
  scale_kernel<T><<<grid_for(n, kThreads), kThreads, 0, s>>>(x, n, factor);
  DLCORE_CUDA_CHECK_LAUNCH("scale_kernel");
}

#define DLCORE_OPTIM_INSTANTIATE(T)                                                                             \
  template void sgd_update<T>(T*, const T*, int64_t, T, T, T*, bool, T, cudaStream_t);                          \
  template void adagrad_update<T>(T*, const T*, T*, int64_t, T, T, T, cudaStream_t);                            \
  template void rmsprop_update<T>(T*, const T*, T*, int64_t, T, T, T, T, T*, T*, T, cudaStream_t);              \
  template void adam_update<T>(T*, const T*, T*, T*, T*, int64_t, T, T, T, T, T, bool, T, T, cudaStream_t);     \
  template void sum_squares<T>(const T*, int64_t, double*, cudaStream_t);                                       \
  template void scale_inplace<T>(T*, int64_t, T, cudaStream_t);
DLCORE_OPTIM_INSTANTIATE(float)
DLCORE_OPTIM_INSTANTIATE(double)

}  // namespace dlcore::cuda
