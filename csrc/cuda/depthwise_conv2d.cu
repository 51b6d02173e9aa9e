// CUDA depthwise 2-D convolution (one filter per channel) on NHWC images, forward and backward.
//
//   y[n, oh, ow, c] = bias[c] + sum_{i, j} x[n, oh*sh + i*dh - pt, ow*sw + j*dw - pl, c] * w[i, j, c]
//
// Forward: one thread per output element, grid-stride; consecutive threads take consecutive
// channels, so the loads of x and w and the store of y are coalesced runs of C values.
// Backward-data: one thread per INPUT element, gathering the taps that read it (tap (i, j) of output
// (oh, ow) reads input (ih, iw) when oh*sh + i*dh - pt = ih and ow*sw + j*dw - pl = iw): no atomics,
// deterministic.
// Backward-filter: dw[t, c] (t = i*kw + j) is a sum over all N*Ho*Wo output pixels. Blocks of 32 x 8
// threads: blockIdx.x a run of 32 channels (coalesced), blockIdx.y one of `parts` slices of the
// pixels, blockIdx.z the tap; the 8 thread rows stride over the slice, sum in registers, then in
// shared memory; each block writes partial[part][t][c], and column_sum (gemm.cu) adds the parts.
#include "cuda/common.cuh"
#include "cuda/depthwise_conv2d.cuh"
#include "cuda/gemm.cuh"  // column_sum

namespace dlcore::cuda {

namespace {

template <typename T>
__global__ void depthwise_forward_kernel(Conv2dGeometry g, const T* x, const T* w, const T* bias, T* y) {
  const int64_t C = g.cin, total = g.n * g.ho * g.wo * C, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += stride) {
    const int64_t c = o % C, t = o / C, ow = t % g.wo, t2 = t / g.wo, oh = t2 % g.ho, n = t2 / g.ho;
    y[o] = depthwise_channel_sum(g, x + n * g.h * g.w * C, w, bias ? bias[c] : T(0), oh, ow, c);
  }
}

template <typename T>
__global__ void depthwise_backward_data_kernel(Conv2dGeometry g, const T* dy, const T* w, T* dx) {
  const int64_t C = g.cin, total = g.n * g.h * g.w * C, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int64_t c = idx % C, t = idx / C, iw = t % g.w, t2 = t / g.w, ih = t2 % g.h, n = t2 / g.h;
    T sum = T(0);
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t p = ih + g.pt - i * g.dh;
      if (p < 0 || p % g.sh != 0 || p / g.sh >= g.ho) continue;
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t q = iw + g.pl - j * g.dw;
        if (q < 0 || q % g.sw != 0 || q / g.sw >= g.wo) continue;
        sum += dy[((n * g.ho + p / g.sh) * g.wo + q / g.sw) * C + c] * w[(i * g.kw + j) * C + c];
      }
    }
    dx[idx] = sum;
  }
}

constexpr int kLanes = 32, kRows = 8;

template <typename T>
__global__ void depthwise_filter_partial_kernel(Conv2dGeometry g, const T* dy, const T* x, int64_t parts,
                                                T* partial) {
  __shared__ T red[kRows][kLanes + 1];
  const int64_t C = g.cin, c = int64_t(blockIdx.x) * kLanes + threadIdx.x;
  const int64_t part = blockIdx.y, tap = blockIdx.z, i = tap / g.kw, j = tap % g.kw;
  const int64_t pixels = g.n * g.ho * g.wo, per = (pixels + parts - 1) / parts;
  const int64_t m0 = part * per, m1 = m0 + per < pixels ? m0 + per : pixels;
  T sum = T(0);
  if (c < C) {
    for (int64_t m = m0 + threadIdx.y; m < m1; m += kRows) {
      const int64_t ow = m % g.wo, t = m / g.wo, oh = t % g.ho, n = t / g.ho;
      const int64_t ih = oh * g.sh + i * g.dh - g.pt, iw = ow * g.sw + j * g.dw - g.pl;
      if (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w) sum += x[((n * g.h + ih) * g.w + iw) * C + c] * dy[m * C + c];
    }
  }
  red[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    for (int r = 1; r < kRows; ++r) sum += red[r][threadIdx.x];
    partial[(part * g.kh * g.kw + tap) * C + c] = sum;
  }
}

}  // namespace

template <typename T>
void depthwise_conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y,
                              cudaStream_t stream) {
  launch_over(g.n * g.ho * g.wo * g.cin, "depthwise_forward_kernel", stream, depthwise_forward_kernel<T>, g, x, w,
              bias, y);
}

template <typename T>
void depthwise_conv2d_backward_data(const Conv2dGeometry& g, const T* dy, const T* w, T* dx, cudaStream_t stream) {
  launch_over(g.n * g.h * g.w * g.cin, "depthwise_backward_data_kernel", stream, depthwise_backward_data_kernel<T>, g,
              dy, w, dx);
}

template <typename T>
void depthwise_conv2d_backward_filter(const Conv2dGeometry& g, const T* dy, const T* x, int64_t parts, T* partial,
                                      T* dw, cudaStream_t stream) {
  const int64_t taps = g.kh * g.kw * g.cin;
  if (taps <= 0) return;
  if (parts < 1 || g.n * g.ho * g.wo == 0) {  // no output pixel: dw is zero
    check(cudaMemsetAsync(dw, 0, size_t(taps) * sizeof(T), stream), "depthwise_conv2d_backward_filter: memset");
    return;
  }
  const dim3 grid(unsigned((g.cin + kLanes - 1) / kLanes), unsigned(parts), unsigned(g.kh * g.kw));
  depthwise_filter_partial_kernel<T><<<grid, dim3(kLanes, kRows), 0, stream>>>(g, dy, x, parts, partial);
  DLCORE_CUDA_CHECK_LAUNCH("depthwise_filter_partial_kernel");
  column_sum<T>(parts, taps, partial, dw, false, stream);
}

#define DLCORE_DEPTHWISE_INSTANTIATE(T)                                                                           \
  template void depthwise_conv2d_forward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*, cudaStream_t); \
  template void depthwise_conv2d_backward_data<T>(const Conv2dGeometry&, const T*, const T*, T*, cudaStream_t);      \
  template void depthwise_conv2d_backward_filter<T>(const Conv2dGeometry&, const T*, const T*, int64_t, T*, T*,      \
                                                    cudaStream_t);
DLCORE_DEPTHWISE_INSTANTIATE(float)
DLCORE_DEPTHWISE_INSTANTIATE(double)

}  // namespace dlcore::cuda
