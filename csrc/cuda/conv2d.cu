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
// A row is located once (its image and top-left corner); four consecutive columns are walked
// with carries (ci -> j -> i) instead of a division each.
template <typename T>
struct Im2ColLoad {
  const T* x;
  Conv2dGeometry g;
  struct Row {
    const T* img;   // x + n * H * W * Cin, or null past the last output pixel
    int64_t h0, w0;  // top-left corner of the window, in image coordinates (may be negative)
  };
  __device__ __forceinline__ Row row(int64_t r) const {
    if (r >= g.n * g.ho * g.wo) return {nullptr, 0, 0};
    const int64_t wo = r % g.wo, t = r / g.wo, ho = t % g.ho, n = t / g.ho;
    return {x + n * g.h * g.w * g.cin, ho * g.sh - g.pt, wo * g.sw - g.pl};
  }
  // Pointer to channel ci of tap (i, j), or null when the tap falls in the padding.
  __device__ __forceinline__ const T* tap(const Row& rw, int64_t i, int64_t j, int64_t ci) const {
    const int64_t h = rw.h0 + i * g.dh, w = rw.w0 + j * g.dw;
    if (h < 0 || h >= g.h || w < 0 || w >= g.w) return nullptr;
    return rw.img + (h * g.w + w) * g.cin + ci;
  }
  __device__ __forceinline__ void load4(const Row& rw, int64_t c, T v[4]) const {
    const int64_t K = g.kh * g.kw * g.cin;
    v[0] = v[1] = v[2] = v[3] = T(0);
    if (!rw.img || c >= K) return;
    int64_t ci = c % g.cin, t = c / g.cin, j = t % g.kw, i = t / g.kw;
    if (g.cin % 4 == 0 && c % 4 == 0) {  // 4 channels of one tap, contiguous in memory
      const T* p = tap(rw, i, j, ci);
      if (p && !try_load4(p, v)) v[0] = p[0], v[1] = p[1], v[2] = p[2], v[3] = p[3];
      return;
    }
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      if (c + q >= K) break;
      const T* p = tap(rw, i, j, ci);
      v[q] = p ? *p : T(0);
      if (++ci == g.cin) ci = 0, j = (j + 1 == g.kw) ? (++i, 0) : j + 1;
    }
  }
};

// X_col^T (K x P): row = (i, j, ci), column = output pixel. Used by backward-filter; the four
// pixels of a load are walked with carries (wo -> ho -> n).
template <typename T>
struct Im2ColTLoad {
  const T* x;
  Conv2dGeometry g;
  struct Row {
    int64_t di, dj, ci;  // the tap's offsets i*dh, j*dw and the channel
    bool ok;
  };
  __device__ __forceinline__ Row row(int64_t r) const {
    if (r >= g.kh * g.kw * g.cin) return {0, 0, 0, false};
    const int64_t ci = r % g.cin, t = r / g.cin, j = t % g.kw, i = t / g.kw;
    return {i * g.dh, j * g.dw, ci, true};
  }
  __device__ __forceinline__ void load4(const Row& rw, int64_t c, T v[4]) const {
    const int64_t P = g.n * g.ho * g.wo;
    v[0] = v[1] = v[2] = v[3] = T(0);
    if (!rw.ok || c >= P) return;
    int64_t wo = c % g.wo, t = c / g.wo, ho = t % g.ho, n = t / g.ho;
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      if (c + q >= P) break;
      const int64_t h = ho * g.sh - g.pt + rw.di, w = wo * g.sw - g.pl + rw.dj;
      if (h >= 0 && h < g.h && w >= 0 && w < g.w) v[q] = x[((n * g.h + h) * g.w + w) * g.cin + rw.ci];
      if (++wo == g.wo) wo = 0, ho = (ho + 1 == g.ho) ? (++n, 0) : ho + 1;
    }
  }
};

// DY_col (N*H*W x kh*kw*Cout): row = input pixel (n, h, w), column = (i, j, co), co fastest.
// Entry = dy[n, ho, wo, co] for the output pixel whose tap (i, j) reads (h, w), else 0.
template <typename T>
struct Col2ImLoad {
  const T* dy;
  Conv2dGeometry g;
  struct Row {
    const T* img;  // dy + n * Ho * Wo * Cout, or null past the last input pixel
    int64_t hp, wp;  // the pixel in padded coordinates, h + pt and w + pl
  };
  __device__ __forceinline__ Row row(int64_t r) const {
    if (r >= g.n * g.h * g.w) return {nullptr, 0, 0};
    const int64_t w = r % g.w, t = r / g.w, h = t % g.h, n = t / g.h;
    return {dy + n * g.ho * g.wo * g.cout, h + g.pt, w + g.pl};
  }
  // dy row of the output pixel that tap (i, j) maps onto this input pixel, or null.
  __device__ __forceinline__ const T* source(const Row& rw, int64_t i, int64_t j) const {
    const int64_t hn = rw.hp - i * g.dh, wn = rw.wp - j * g.dw;
    if (hn < 0 || wn < 0 || hn % g.sh != 0 || wn % g.sw != 0) return nullptr;
    const int64_t ho = hn / g.sh, wo = wn / g.sw;
    if (ho >= g.ho || wo >= g.wo) return nullptr;
    return rw.img + (ho * g.wo + wo) * g.cout;
  }
  __device__ __forceinline__ void load4(const Row& rw, int64_t c, T v[4]) const {
    const int64_t K = g.kh * g.kw * g.cout;
    v[0] = v[1] = v[2] = v[3] = T(0);
    if (!rw.img || c >= K) return;
    int64_t co = c % g.cout, t = c / g.cout, j = t % g.kw, i = t / g.kw;
    if (g.cout % 4 == 0 && c % 4 == 0) {  // 4 channels of one tap
      const T* p = source(rw, i, j);
      if (!p) return;
      p += co;
      if (!try_load4(p, v)) v[0] = p[0], v[1] = p[1], v[2] = p[2], v[3] = p[3];
      return;
    }
    const T* p = source(rw, i, j);
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      if (c + q >= K) break;
      v[q] = p ? p[co] : T(0);
      if (++co == g.cout) {
        co = 0;
        j = (j + 1 == g.kw) ? (++i, 0) : j + 1;
        if (q < 3) p = source(rw, i, j);
      }
    }
  }
};

// W^T as (kh*kw*Cout x Cin): row = (i, j, co), column = ci; element w[i, j, ci, co].
template <typename T>
struct WeightTLoad {
  const T* w;
  Conv2dGeometry g;
  struct Row {
    const T* p;  // &w[i, j, 0, co], or null past the last row
  };
  __device__ __forceinline__ Row row(int64_t r) const {
    if (r >= g.kh * g.kw * g.cout) return {nullptr};
    return {w + (r / g.cout) * g.cin * g.cout + r % g.cout};
  }
  __device__ __forceinline__ void load4(const Row& rw, int64_t c, T v[4]) const {
#pragma unroll
    for (int q = 0; q < 4; ++q) v[q] = (rw.p && c + q < g.cin) ? rw.p[(c + q) * g.cout] : T(0);
  }
};

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, Epilogue act, T* y,
                    cudaStream_t stream) {
  const int64_t P = g.n * g.ho * g.wo, K = g.kh * g.kw * g.cin;
  Im2ColLoad<T> A{x, g};
  MatrixLoad<T> B{w, g.cout, 1, K, g.cout};
  launch_gemm_tile<T>(P, g.cout, K, T(1), A, B, T(0), y, g.cout, bias, act, stream, 1,
                      "conv2d_forward (gemm_tile_kernel)");
}

template <typename T>
void conv2d_backward_data(const Conv2dGeometry& g, const T* dy, const T* w, T* dx, cudaStream_t stream) {
  const int64_t rows = g.n * g.h * g.w, K = g.kh * g.kw * g.cout;
  Col2ImLoad<T> A{dy, g};
  WeightTLoad<T> B{w, g};
  launch_gemm_tile<T>(rows, g.cin, K, T(1), A, B, T(0), dx, g.cin, nullptr, Epilogue::none, stream, 1,
                      "conv2d_backward_data (gemm_tile_kernel)");
}

template <typename T>
void conv2d_backward_filter(const Conv2dGeometry& g, const T* dy, const T* x, T* dw, cudaStream_t stream) {
  const int64_t K = g.kh * g.kw * g.cin, P = g.n * g.ho * g.wo;
  if (K <= 0 || g.cout <= 0) return;
  // Enough K slices that the grid covers the GPU about twice, each slice at least 16 K steps long.
  const int64_t tiles = ((K + kTileM - 1) / kTileM) * ((g.cout + kTileN - 1) / kTileN);
  const int64_t ksteps = (P + kTileK - 1) / kTileK;
  int64_t splits = (2 * int64_t(device_sm_count()) + tiles - 1) / tiles;
  if (splits > ksteps / 16) splits = ksteps / 16;
  if (splits < 1) splits = 1;
  if (splits > 1)
    check(cudaMemsetAsync(dw, 0, size_t(K * g.cout) * sizeof(T), stream), "conv2d_backward_filter: memset");
  Im2ColTLoad<T> A{x, g};
  MatrixLoad<T> B{dy, g.cout, 1, P, g.cout};
  launch_gemm_tile<T>(K, g.cout, P, T(1), A, B, T(0), dw, g.cout, nullptr, Epilogue::none, stream, int(splits),
                      "conv2d_backward_filter (gemm_tile_kernel)");
}

#define DLCORE_CONV_INSTANTIATE(T)                                                                                  \
  template void conv2d_forward<T>(const Conv2dGeometry&, const T*, const T*, const T*, Epilogue, T*, cudaStream_t); \
  template void conv2d_backward_data<T>(const Conv2dGeometry&, const T*, const T*, T*, cudaStream_t);               \
  template void conv2d_backward_filter<T>(const Conv2dGeometry&, const T*, const T*, T*, cudaStream_t);
DLCORE_CONV_INSTANTIATE(float)
DLCORE_CONV_INSTANTIATE(double)

}  // namespace dlcore::cuda
