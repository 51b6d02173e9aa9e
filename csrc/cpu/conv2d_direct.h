// Direct convolution kernels for one input channel (Cin = 1), the first layer of an image network.
//
// There K = kh*kw (9 for a 3x3 filter) is far too small for a GEMM to pay off: packing would cost
// as much as the multiply. Instead every output pixel loops over its window and accumulates
// x * w[tap, :] into a vector of Cout outputs; the innermost loops run over Cout, which is
// contiguous in w, y and dy (NHWC), so they vectorize.
//
// This file is included by conv2d.cpp (portable build), conv2d_avx2.cpp and conv2d_avx512.cpp, each
// with DLCORE_CONV_NS set to its own namespace, so one source gives one compiled copy per ISA.
// Shapes and layouts: see conv2d.h.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "cpu/conv2d.h"
#include "cpu/cpu.h"

namespace dlcore::cpu::DLCORE_CONV_NS {

namespace {

// The taps of output pixel (n, oh, ow) that fall inside the image: their index i*kw + j in the
// filter and their offset in x. Returns how many.
inline int64_t window_taps(const Conv2dShape& s, int64_t oh, int64_t ow, int64_t* tap, int64_t* off) {
  int64_t cnt = 0;
  for (int64_t i = 0; i < s.kh; ++i) {
    const int64_t ih = oh * s.sh + i * s.dh - s.pt;
    if (ih < 0 || ih >= s.h) continue;
    for (int64_t j = 0; j < s.kw; ++j) {
      const int64_t iw = ow * s.sw + j * s.dw - s.pl;
      if (iw < 0 || iw >= s.w) continue;
      tap[cnt] = i * s.kw + j;
      off[cnt] = ih * s.w + iw;
      ++cnt;
    }
  }
  return cnt;
}

}  // namespace

// y[n, oh, ow, :] = act(bias + sum over the window of x[...] * w[tap, :]), threads over N*Ho rows.
template <typename T>
void conv_cin1_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, Activation act, T* y) {
  const int64_t rows = s.n * s.ho, C = s.cout, taps = s.kh * s.kw;
  constexpr int64_t CB = 256 / sizeof(T);  // a block of Cout that stays in registers / L1
  const int nt = std::min<int64_t>(threads_for(2 * rows * s.wo * taps * C), std::max<int64_t>(rows, 1));
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    std::vector<int64_t> tap(static_cast<size_t>(taps)), off(static_cast<size_t>(taps));
    std::vector<T> xv(static_cast<size_t>(taps));
    alignas(64) T acc[CB];
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n = r / s.ho, oh = r % s.ho;
      const T* xn = x + n * s.h * s.w;
      T* yrow = y + r * s.wo * C;
      for (int64_t ow = 0; ow < s.wo; ++ow) {
        const int64_t cnt = window_taps(s, oh, ow, tap.data(), off.data());
        for (int64_t t = 0; t < cnt; ++t) xv[size_t(t)] = xn[off[size_t(t)]];
        T* yp = yrow + ow * C;
        for (int64_t c0 = 0; c0 < C; c0 += CB) {
          const int64_t cb = std::min(CB, C - c0);
          if (bias) {
            for (int64_t c = 0; c < cb; ++c) acc[c] = bias[c0 + c];
          } else {
            for (int64_t c = 0; c < cb; ++c) acc[c] = T(0);
          }
          for (int64_t t = 0; t < cnt; ++t) {
            const T xt = xv[size_t(t)];
            const T* wt = w + tap[size_t(t)] * C + c0;
#pragma omp simd
            for (int64_t c = 0; c < cb; ++c) acc[c] += xt * wt[c];
          }
          for (int64_t c = 0; c < cb; ++c) yp[c0 + c] = acc[c];
        }
      }
      apply_epilogue<T>(yrow, C, s.wo, C, GemmEpilogue<T>{nullptr, act});
    }
  }
}

// dw[tap, :] = sum over output pixels of x[pixel's tap] * dy[pixel, :]. Each thread sums its rows
// into a private (taps x Cout) buffer; the buffers are added at the end.
template <typename T>
void conv_cin1_backward_filter(const Conv2dShape& s, const T* dy, const T* x, T* dw) {
  const int64_t rows = s.n * s.ho, C = s.cout, taps = s.kh * s.kw;
  const int nt = std::min<int64_t>(threads_for(2 * rows * s.wo * taps * C), std::max<int64_t>(rows, 1));
  std::vector<T> partial(size_t(std::max(nt - 1, 0)) * size_t(taps * C));
  std::fill(dw, dw + taps * C, T(0));
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int tid = omp_get_thread_num();
    T* acc = tid == 0 ? dw : partial.data() + size_t(tid - 1) * size_t(taps * C);
    if (tid > 0) std::fill(acc, acc + taps * C, T(0));
    std::vector<int64_t> tap(static_cast<size_t>(taps)), off(static_cast<size_t>(taps));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n = r / s.ho, oh = r % s.ho;
      const T* xn = x + n * s.h * s.w;
      for (int64_t ow = 0; ow < s.wo; ++ow) {
        const int64_t cnt = window_taps(s, oh, ow, tap.data(), off.data());
        const T* g = dy + (r * s.wo + ow) * C;
        for (int64_t t = 0; t < cnt; ++t) {
          const T xt = xn[off[size_t(t)]];
          T* a = acc + tap[size_t(t)] * C;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) a[c] += xt * g[c];
        }
      }
    }
  }
  for (int t = 1; t < nt; ++t) {
    const T* p = partial.data() + size_t(t - 1) * size_t(taps * C);
    for (int64_t i = 0; i < taps * C; ++i) dw[i] += p[i];
  }
}

// dx[n, ih, iw] = sum over the output pixels whose window covers (ih, iw), through tap (i, j), of
// dot(dy[pixel, :], w[i, j, :]). Written as a gather over dx so that threads never share an output.
template <typename T>
void conv_cin1_backward_data(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  const int64_t rows = s.n * s.h, C = s.cout;
  const int nt = std::min<int64_t>(threads_for(2 * s.n * s.ho * s.wo * s.kh * s.kw * C), std::max<int64_t>(rows, 1));
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / s.h, ih = r % s.h;
    T* dxrow = dx + r * s.w;
    for (int64_t iw = 0; iw < s.w; ++iw) dxrow[iw] = T(0);
    for (int64_t i = 0; i < s.kh; ++i) {
      const int64_t th = ih + s.pt - i * s.dh;  // = oh * sh
      if (th < 0 || th % s.sh) continue;
      const int64_t oh = th / s.sh;
      if (oh >= s.ho) continue;
      for (int64_t j = 0; j < s.kw; ++j) {
        const T* wt = w + (i * s.kw + j) * C;
        for (int64_t iw = 0; iw < s.w; ++iw) {
          const int64_t tw = iw + s.pl - j * s.dw;
          if (tw < 0 || tw % s.sw) continue;
          const int64_t ow = tw / s.sw;
          if (ow >= s.wo) continue;
          const T* g = dy + ((n * s.ho + oh) * s.wo + ow) * C;
          T sum = T(0);
#pragma omp simd reduction(+ : sum)
          for (int64_t c = 0; c < C; ++c) sum += g[c] * wt[c];
          dxrow[iw] += sum;
        }
      }
    }
  }
}

template void conv_cin1_forward<float>(const Conv2dShape&, const float*, const float*, const float*, Activation, float*);
template void conv_cin1_forward<double>(const Conv2dShape&, const double*, const double*, const double*, Activation,
                                        double*);
template void conv_cin1_backward_filter<float>(const Conv2dShape&, const float*, const float*, float*);
template void conv_cin1_backward_filter<double>(const Conv2dShape&, const double*, const double*, double*);
template void conv_cin1_backward_data<float>(const Conv2dShape&, const float*, const float*, float*);
template void conv_cin1_backward_data<double>(const Conv2dShape&, const double*, const double*, double*);

}  // namespace dlcore::cpu::DLCORE_CONV_NS
