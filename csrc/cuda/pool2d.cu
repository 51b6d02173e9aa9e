// CUDA 2-D max and average pooling on NHWC images, forward and backward; global average pooling.
//
// Shapes: x, dx (N, H, W, C); y, dy (N, Ho, Wo, C). Window (kh, kw), strides (sh, sw), zero-size
// padding pt (top) / pl (left) as computed by the Python side from Keras's "valid"/"same"
// (bottom/right padding implied by Ho/Wo). Output (ho, wo) covers input rows
// ho*sh - pt .. ho*sh - pt + kh - 1 and the matching columns; positions outside the image are
// skipped: never the max, not counted in the average (Keras).
//
// Forward: one thread per output element, grid-stride; consecutive threads take consecutive
// channels, so every load of a warp is one coalesced run of C values.
// Backward: one thread per INPUT element, gathering from every window that contains it (no
// atomics, deterministic). Max pooling recomputes each window's first argmax (row-major order,
// as the CPU kernel; the first NaN when the window holds one, whose maximum is then NaN) from x and
// takes dy only where that argmax is this element.
// Global average: one thread per (n, c), summing over H*W (coalesced across c).
#include <cfloat>

#include "cuda/common.cuh"
#include "cuda/pool2d.cuh"

namespace dlcore::cuda {

namespace {

// The range of outputs [lo, hi) along one axis whose windows contain input position `pos`.
__device__ __forceinline__ void covering(int64_t pos, int64_t pad, int64_t k, int64_t s, int64_t out, int64_t& lo,
                                         int64_t& hi) {
  const int64_t p = pos + pad;                      // position in padded coordinates
  lo = p - k + 1 <= 0 ? 0 : (p - k + 1 + s - 1) / s;  // first window start >= p - k + 1
  hi = p / s + 1;
  if (hi > out) hi = out;
}

template <typename T>
__device__ __forceinline__ int64_t window_argmax(const Pool2dGeometry& g, const T* x, int64_t n, int64_t ho, int64_t wo,
                                                 int64_t c, T* best_out) {
  int64_t best_i = -1;
  T best = T(0);
  for (int64_t i = 0; i < g.kh; ++i) {
    const int64_t h = ho * g.sh - g.pt + i;
    if (h < 0 || h >= g.h) continue;
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t w = wo * g.sw - g.pl + j;
      if (w < 0 || w >= g.w) continue;
      const int64_t idx = ((n * g.h + h) * g.w + w) * g.c + c;
      const T v = x[idx];
      // the first maximum, or the first NaN: a NaN in the window makes the maximum NaN (NumPy, PyTorch)
      if (best_i < 0 || (best == best && (v > best || v != v))) best = v, best_i = idx;
    }
  }
  if (best_out) *best_out = best;
  return best_i;
}

template <typename T>
__global__ void max_pool_forward_kernel(Pool2dGeometry g, const T* x, T* y) {
  const int64_t total = g.n * g.ho * g.wo * g.c, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += stride) {
    const int64_t c = o % g.c, t = o / g.c, wo = t % g.wo, t2 = t / g.wo, ho = t2 % g.ho, n = t2 / g.ho;
    T best = T(0);
    const int64_t at = window_argmax(g, x, n, ho, wo, c, &best);
    y[o] = at >= 0 ? best : T(0);  // a window entirely in the padding (cannot happen with "same")
  }
}

template <typename T>
__global__ void max_pool_backward_kernel(Pool2dGeometry g, const T* dy, const T* x, T* dx) {
  const int64_t total = g.n * g.h * g.w * g.c, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int64_t c = idx % g.c, t = idx / g.c, w = t % g.w, t2 = t / g.w, h = t2 % g.h, n = t2 / g.h;
    int64_t ho0, ho1, wo0, wo1;
    covering(h, g.pt, g.kh, g.sh, g.ho, ho0, ho1);
    covering(w, g.pl, g.kw, g.sw, g.wo, wo0, wo1);
    T sum = T(0);
    for (int64_t ho = ho0; ho < ho1; ++ho)
      for (int64_t wo = wo0; wo < wo1; ++wo)
        if (window_argmax(g, x, n, ho, wo, c, static_cast<T*>(nullptr)) == idx)
          sum += dy[((n * g.ho + ho) * g.wo + wo) * g.c + c];
    dx[idx] = sum;
  }
}

// Number of window positions inside the image (the divisor of the average).
__device__ __forceinline__ int64_t window_count(const Pool2dGeometry& g, int64_t ho, int64_t wo) {
  const int64_t h0 = max(ho * g.sh - g.pt, int64_t(0)), h1 = min(ho * g.sh - g.pt + g.kh, g.h);
  const int64_t w0 = max(wo * g.sw - g.pl, int64_t(0)), w1 = min(wo * g.sw - g.pl + g.kw, g.w);
  return max(h1 - h0, int64_t(0)) * max(w1 - w0, int64_t(0));
}

template <typename T>
__global__ void avg_pool_forward_kernel(Pool2dGeometry g, const T* x, T* y) {
  const int64_t total = g.n * g.ho * g.wo * g.c, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += stride) {
    const int64_t c = o % g.c, t = o / g.c, wo = t % g.wo, t2 = t / g.wo, ho = t2 % g.ho, n = t2 / g.ho;
    T sum = T(0);
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t h = ho * g.sh - g.pt + i;
      if (h < 0 || h >= g.h) continue;
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t w = wo * g.sw - g.pl + j;
        if (w >= 0 && w < g.w) sum += x[((n * g.h + h) * g.w + w) * g.c + c];
      }
    }
    const int64_t cnt = window_count(g, ho, wo);
    y[o] = cnt > 0 ? sum / T(cnt) : T(0);
  }
}

template <typename T>
__global__ void avg_pool_backward_kernel(Pool2dGeometry g, const T* dy, T* dx) {
  const int64_t total = g.n * g.h * g.w * g.c, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int64_t c = idx % g.c, t = idx / g.c, w = t % g.w, t2 = t / g.w, h = t2 % g.h, n = t2 / g.h;
    int64_t ho0, ho1, wo0, wo1;
    covering(h, g.pt, g.kh, g.sh, g.ho, ho0, ho1);
    covering(w, g.pl, g.kw, g.sw, g.wo, wo0, wo1);
    T sum = T(0);
    for (int64_t ho = ho0; ho < ho1; ++ho)
      for (int64_t wo = wo0; wo < wo1; ++wo)
        sum += dy[((n * g.ho + ho) * g.wo + wo) * g.c + c] / T(window_count(g, ho, wo));
    dx[idx] = sum;
  }
}

template <typename T>
__global__ void global_avg_forward_kernel(int64_t N, int64_t HW, int64_t C, const T* x, T* y) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < N * C; o += stride) {
    const int64_t n = o / C, c = o % C;
    const T* p = x + n * HW * C + c;
    T sum = T(0);
    for (int64_t i = 0; i < HW; ++i) sum += p[i * C];
    y[o] = sum / T(HW);
  }
}

template <typename T>
__global__ void global_avg_backward_kernel(int64_t N, int64_t HW, int64_t C, const T* dy, T* dx) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x, total = N * HW * C;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t c = i % C, n = i / (HW * C);
    dx[i] = dy[n * C + c] / T(HW);
  }
}

}  // namespace

template <typename T>
void max_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y, cudaStream_t s) {
  launch_over(g.n * g.ho * g.wo * g.c, "max_pool_forward_kernel", s, max_pool_forward_kernel<T>, g, x, y);
}
template <typename T>
void max_pool2d_backward(const Pool2dGeometry& g, const T* dy, const T* x, T* dx, cudaStream_t s) {
  launch_over(g.n * g.h * g.w * g.c, "max_pool_backward_kernel", s, max_pool_backward_kernel<T>, g, dy, x, dx);
}
template <typename T>
void avg_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y, cudaStream_t s) {
  launch_over(g.n * g.ho * g.wo * g.c, "avg_pool_forward_kernel", s, avg_pool_forward_kernel<T>, g, x, y);
}
template <typename T>
void avg_pool2d_backward(const Pool2dGeometry& g, const T* dy, T* dx, cudaStream_t s) {
  launch_over(g.n * g.h * g.w * g.c, "avg_pool_backward_kernel", s, avg_pool_backward_kernel<T>, g, dy, dx);
}
template <typename T>
void global_avg_pool2d_forward(int64_t N, int64_t HW, int64_t C, const T* x, T* y, cudaStream_t s) {
  if (N * C <= 0) return;
  if (HW <= 0) throw std::invalid_argument("global_avg_pool2d_forward: empty image");
  launch_over(N * C, "global_avg_forward_kernel", s, global_avg_forward_kernel<T>, N, HW, C, x, y);
}
template <typename T>
void global_avg_pool2d_backward(int64_t N, int64_t HW, int64_t C, const T* dy, T* dx, cudaStream_t s) {
  launch_over(N * HW * C, "global_avg_backward_kernel", s, global_avg_backward_kernel<T>, N, HW, C, dy, dx);
}

#define DLCORE_POOL_INSTANTIATE(T)                                                                   \
  template void max_pool2d_forward<T>(const Pool2dGeometry&, const T*, T*, cudaStream_t);            \
  template void max_pool2d_backward<T>(const Pool2dGeometry&, const T*, const T*, T*, cudaStream_t); \
  template void avg_pool2d_forward<T>(const Pool2dGeometry&, const T*, T*, cudaStream_t);            \
  template void avg_pool2d_backward<T>(const Pool2dGeometry&, const T*, T*, cudaStream_t);           \
  template void global_avg_pool2d_forward<T>(int64_t, int64_t, int64_t, const T*, T*, cudaStream_t); \
  template void global_avg_pool2d_backward<T>(int64_t, int64_t, int64_t, const T*, T*, cudaStream_t);
DLCORE_POOL_INSTANTIATE(float)
DLCORE_POOL_INSTANTIATE(double)

}  // namespace dlcore::cuda
