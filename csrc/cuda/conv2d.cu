// CUDA 2-D convolution, NHWC, as implicit GEMM: the im2col matrix is never written; the GEMM tile
// kernel (gemm_tile.cuh) reads its elements straight from the image through the loaders below.
//
// Shapes (Keras layouts):
//   x  (N, H, W, Cin)    w  (kh, kw, Cin, Cout)    bias (Cout,)    y, dy  (N, Ho, Wo, Cout)
//   Output pixel (ho, wo), tap (i, j) reads input pixel (ho*sh - pt + i*dh, wo*sw - pl + j*dw);
//   outside the image it reads zero (padding).
//
// The three products (P = N*Ho*Wo output pixels, K = kh*kw*Cin):
//   forward          y  [P, Cout]         = X_col [P, K]             @ W [K, Cout]
//   backward-data    dx [N*H*W, Cin]      = DY_col [N*H*W, kh*kw*Cout] @ W^T [kh*kw*Cout, Cin]
//                    (DY_col(pixel, (i,j,co)) = dy at the output pixel that tap (i, j) of it feeds,
//                     or 0 when the stride skips it: a gather, so no atomics)
//   backward-filter  dw [K, Cout]         = X_col^T [K, P]           @ DY [P, Cout]
//                    (K is small and P large: split-K over gridDim.z with atomicAdd into zeroed dw)
//
// Each loader fills 4 consecutive columns of its matrix. When 4 consecutive channels of one pixel
// are what is asked for (Cin or Cout a multiple of 4, float32, aligned), that is one float4 load.
#include "cuda/conv2d.cuh"
#include "cuda/gemm.cuh"
#include "cuda/gemm_tile.cuh"

namespace dlcore::cuda {

namespace {

template <typename T>
__device__ __forceinline__ bool try_load4(const T* p, T v[4]) {
  if constexpr (std::is_same_v<T, float>) {
    if ((reinterpret_cast<uintptr_t>(p) & 15) == 0) {
      const float4 q = *reinterpret_cast<const float4*>(p);
      v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
      return true;
    }
  }
  return false;
}

// X_col (P x K): row = output pixel (n, ho, wo), column = tap and channel (i, j, ci), ci fastest.
template <typename T>
struct Im2ColLoad {
  const T* x;
  ConvGeom g;
  __device__ __forceinline__ T at(int64_t n, int64_t ho, int64_t wo, int64_t col) const {
    const int64_t ci = col % g.Cin, t = col / g.Cin, j = t % g.kw, i = t / g.kw;
    const int64_t h = ho * g.sh - g.pt + i * g.dh, w = wo * g.sw - g.pl + j * g.dw;
    if (h < 0 || h >= g.H || w < 0 || w >= g.W) return T(0);
    return x[((n * g.H + h) * g.W + w) * g.Cin + ci];
  }
  __device__ __forceinline__ void load4(int64_t r, int64_t c, T v[4]) const {
    const int64_t K = g.kh * g.kw * g.Cin;
    if (r >= g.N * g.Ho * g.Wo) {
      v[0] = v[1] = v[2] = v[3] = T(0);
      return;
    }
    const int64_t wo = r % g.Wo, t = r / g.Wo, ho = t % g.Ho, n = t / g.Ho;
    if (g.Cin % 4 == 0 && c % 4 == 0 && c < K) {  // 4 channels of one tap: one pixel, contiguous
      const int64_t ci = c % g.Cin, tap = c / g.Cin, j = tap % g.kw, i = tap / g.kw;
      const int64_t h = ho * g.sh - g.pt + i * g.dh, w = wo * g.sw - g.pl + j * g.dw;
      if (h < 0 || h >= g.H || w < 0 || w >= g.W) {
        v[0] = v[1] = v[2] = v[3] = T(0);
        return;
      }
      const T* p = x + ((n * g.H + h) * g.W + w) * g.Cin + ci;
      if (try_load4(p, v)) return;
      v[0] = p[0], v[1] = p[1], v[2] = p[2], v[3] = p[3];
      return;
    }
#pragma unroll
    for (int q = 0; q < 4; ++q) v[q] = (c + q < K) ? at(n, ho, wo, c + q) : T(0);
  }
};

// X_col^T (K x P): row = (i, j, ci), column = output pixel. Used by backward-filter.
template <typename T>
struct Im2ColTLoad {
  Im2ColLoad<T> inner;
  __device__ __forceinline__ void load4(int64_t r, int64_t c, T v[4]) const {
    const ConvGeom& g = inner.g;
    const int64_t P = g.N * g.Ho * g.Wo;
    if (r >= g.kh * g.kw * g.Cin) {
      v[0] = v[1] = v[2] = v[3] = T(0);
      return;
    }
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int64_t p = c + q;
      if (p >= P) {
        v[q] = T(0);
        continue;
      }
      const int64_t wo = p % g.Wo, t = p / g.Wo, ho = t % g.Ho, n = t / g.Ho;
      v[q] = inner.at(n, ho, wo, r);
    }
  }
};

// DY_col (N*H*W x kh*kw*Cout): row = input pixel (n, h, w), column = (i, j, co), co fastest.
// Entry = dy[n, ho, wo, co] for the output pixel whose tap (i, j) reads (h, w), else 0.
template <typename T>
struct Col2ImLoad {
  const T* dy;
  ConvGeom g;
  __device__ __forceinline__ const T* source(int64_t n, int64_t h, int64_t w, int64_t tap) const {
    const int64_t j = tap % g.kw, i = tap / g.kw;
    const int64_t hn = h + g.pt - i * g.dh, wn = w + g.pl - j * g.dw;
    if (hn < 0 || wn < 0 || hn % g.sh != 0 || wn % g.sw != 0) return nullptr;
    const int64_t ho = hn / g.sh, wo = wn / g.sw;
    if (ho >= g.Ho || wo >= g.Wo) return nullptr;
    return dy + ((n * g.Ho + ho) * g.Wo + wo) * g.Cout;
  }
  __device__ __forceinline__ void load4(int64_t r, int64_t c, T v[4]) const {
    const int64_t K = g.kh * g.kw * g.Cout;
    if (r >= g.N * g.H * g.W) {
      v[0] = v[1] = v[2] = v[3] = T(0);
      return;
    }
    const int64_t w = r % g.W, t = r / g.W, h = t % g.H, n = t / g.H;
    if (g.Cout % 4 == 0 && c % 4 == 0 && c < K) {
      const T* p = source(n, h, w, c / g.Cout);
      if (!p) {
        v[0] = v[1] = v[2] = v[3] = T(0);
        return;
      }
      p += c % g.Cout;
      if (try_load4(p, v)) return;
      v[0] = p[0], v[1] = p[1], v[2] = p[2], v[3] = p[3];
      return;
    }
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int64_t col = c + q;
      const T* p = col < K ? source(n, h, w, col / g.Cout) : nullptr;
      v[q] = p ? p[col % g.Cout] : T(0);
    }
  }
};

// W^T as (kh*kw*Cout x Cin): row = (i, j, co), column = ci; element w[i, j, ci, co].
template <typename T>
struct WeightTLoad {
  const T* w;
  ConvGeom g;
  __device__ __forceinline__ void load4(int64_t r, int64_t c, T v[4]) const {
    if (r >= g.kh * g.kw * g.Cout) {
      v[0] = v[1] = v[2] = v[3] = T(0);
      return;
    }
    const int64_t co = r % g.Cout, tap = r / g.Cout;
    const T* base = w + tap * g.Cin * g.Cout + co;
#pragma unroll
    for (int q = 0; q < 4; ++q) v[q] = (c + q < g.Cin) ? base[(c + q) * g.Cout] : T(0);
  }
};

}  // namespace

template <typename T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, const T* bias, int act, T* y, cudaStream_t stream) {
  const int64_t P = g.N * g.Ho * g.Wo, K = g.kh * g.kw * g.Cin;
  Im2ColLoad<T> A{x, g};
  MatrixLoad<T> B{w, g.Cout, 1, K, g.Cout};
  launch_gemm_tile<T>(P, g.Cout, K, T(1), A, B, T(0), y, g.Cout, bias, act, stream, 1, "conv2d_forward (gemm_tile_kernel)");
}

template <typename T>
void conv2d_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx, cudaStream_t stream) {
  const int64_t rows = g.N * g.H * g.W, K = g.kh * g.kw * g.Cout;
  Col2ImLoad<T> A{dy, g};
  WeightTLoad<T> B{w, g};
  launch_gemm_tile<T>(rows, g.Cin, K, T(1), A, B, T(0), dx, g.Cin, nullptr, kActNone, stream, 1,
                      "conv2d_backward_data (gemm_tile_kernel)");
}

template <typename T>
void conv2d_backward_filter(const ConvGeom& g, const T* dy, const T* x, T* dw, cudaStream_t stream) {
  const int64_t K = g.kh * g.kw * g.Cin, P = g.N * g.Ho * g.Wo;
  if (K <= 0 || g.Cout <= 0) return;
  // Enough K slices that the grid covers the GPU about twice, each slice at least 16 K steps long.
  const int64_t tiles = ((K + kTileM - 1) / kTileM) * ((g.Cout + kTileN - 1) / kTileN);
  const int64_t ksteps = (P + kTileK - 1) / kTileK;
  int64_t splits = (2 * int64_t(device_sm_count()) + tiles - 1) / tiles;
  if (splits > ksteps / 16) splits = ksteps / 16;
  if (splits < 1) splits = 1;
  if (splits > 1) check(cudaMemsetAsync(dw, 0, size_t(K * g.Cout) * sizeof(T), stream), "conv2d_backward_filter: memset");
  Im2ColTLoad<T> A{{x, g}};
  MatrixLoad<T> B{dy, g.Cout, 1, P, g.Cout};
  launch_gemm_tile<T>(K, g.Cout, P, T(1), A, B, T(0), dw, g.Cout, nullptr, kActNone, stream, int(splits),
                      "conv2d_backward_filter (gemm_tile_kernel)");
}

#define DLCORE_CONV_INSTANTIATE(T)                                                                           \
  template void conv2d_forward<T>(const ConvGeom&, const T*, const T*, const T*, int, T*, cudaStream_t);   \
  template void conv2d_backward_data<T>(const ConvGeom&, const T*, const T*, T*, cudaStream_t);            \
  template void conv2d_backward_filter<T>(const ConvGeom&, const T*, const T*, T*, cudaStream_t);
DLCORE_CONV_INSTANTIATE(float)
DLCORE_CONV_INSTANTIATE(double)

}  // namespace dlcore::cuda
